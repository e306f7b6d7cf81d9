#!/usr/bin/env bash
# Benchmark flask-harden against ruff's S rules and bandit on real Flask applications.
#
#   bench/run.sh                 # everything: tools, corpus, build, timings, BENCHMARKS.md
#   bench/run.sh --runs 20       # more repetitions of the fast tools
#   bench/run.sh --bandit-runs 3 # bandit takes minutes per run; 1 by default
#   bench/run.sh --help          # all options
#
# Needs python3 (3.9+), cargo, and network access to PyPI for the first run. hyperfine and GNU
# time are used when installed (apt-get install -y hyperfine time); without hyperfine a small
# Python timer takes its place, without GNU time peak memory is read from getrusage.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

# Pinned so that reruns measure the same tools.
RUFF_VERSION=0.17.5
BANDIT_VERSION=1.9.4

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/ruff" --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION" \
    || ! "$venv/bin/bandit" --version 2>/dev/null | head -1 | grep -q "bandit $BANDIT_VERSION"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "ruff==$RUFF_VERSION" "bandit==$BANDIT_VERSION"
fi

exec "$venv/bin/python" "$here/bench.py" --root "$root" --venv "$venv" "$@"
