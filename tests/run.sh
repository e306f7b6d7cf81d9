#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: sets up what the tests need (a Python venv with
# Flask for the runtime tests, tmux for the terminal tests, Chromium for the report screenshot
# test), then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
# Install a Debian package when its command is missing (best effort: the tests that need it
# say they were skipped when it could not be installed).
ensure() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || { echo "tests/run.sh: no $cmd and no apt-get" >&2; return 0; }
  echo "tests/run.sh: installing $pkg" >&2
  if [ "$apt_updated" = 0 ]; then
    apt-get update -q >/dev/null 2>&1 || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >/dev/null 2>&1 \
    || echo "tests/run.sh: could not install $pkg; the tests that need it will be skipped" >&2
}
ensure tmux tmux
ensure chromium chromium

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
  # The packaging tests build the wheel and install it with pip, pipx, uv and pre-commit.
  pkg_venv=.venv-packaging
  if [ ! -x "$pkg_venv/bin/python" ] || ! cmp -s tests/requirements-packaging.txt "$pkg_venv/.requirements"; then
    echo "tests/run.sh: creating $pkg_venv" >&2
    rm -rf "$pkg_venv"
    if python3 -m venv "$pkg_venv" && "$pkg_venv/bin/python" -m pip install -q --disable-pip-version-check \
        -r tests/requirements-packaging.txt; then
      cp tests/requirements-packaging.txt "$pkg_venv/.requirements"
    else
      echo "tests/run.sh: could not install tests/requirements-packaging.txt; the packaging tests will be skipped" >&2
    fi
  fi
  if [ -f "$pkg_venv/.requirements" ]; then
    FLASK_HARDEN_PACKAGING_VENV="$(pwd)/$pkg_venv"
    export FLASK_HARDEN_PACKAGING_VENV
  fi
else
  echo "tests/run.sh: python3 not found; tests that compile or run Python will say so" >&2
fi

# Dependency fixes consult the package index and a resolver when they can; the tests that
# mean to (tests/deps.rs, online_*) lift this for their own runs, the others stay deterministic.
export FLASK_HARDEN_OFFLINE=1

# The fuzz run over the Python and template front ends (tests/hostile_fuzz.rs) takes this long.
export FLASK_HARDEN_FUZZ_SECS="${FLASK_HARDEN_FUZZ_SECS:-5}"

cargo test --locked "$@"
