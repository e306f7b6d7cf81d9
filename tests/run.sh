#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: sets up what the tests need (a Python venv with
# Flask for the runtime tests, tmux for the terminal tests), then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_tmux=1
if ! command -v tmux >/dev/null 2>&1 && [ "$need_tmux" = 1 ]; then
  echo "tests/run.sh: installing tmux" >&2
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -q tmux >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q tmux >/dev/null; }) \
      || echo "tests/run.sh: could not install tmux; terminal tests will be skipped" >&2
  fi
fi

venv=.venv-tests
stamp="$venv/.requirements"
if command -v python3 >/dev/null 2>&1; then
  if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/requirements-runtime.txt "$stamp"; then
    echo "tests/run.sh: creating $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements-runtime.txt
    cp tests/requirements-runtime.txt "$stamp"
  fi
  FLASK_HARDEN_TEST_PYTHON="$(pwd)/$venv/bin/python"
  export FLASK_HARDEN_TEST_PYTHON
else
  echo "tests/run.sh: python3 not found; tests that compile or run Python will say so" >&2
fi

cargo test --locked "$@"
