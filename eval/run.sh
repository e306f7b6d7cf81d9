#!/usr/bin/env bash
# Build the release binary, fetch the corpus at its pinned commits, score flask-harden.
#
#   eval/run.sh                          # fetch from GitHub
#   eval/run.sh --mirror /path/mirrors   # fetch from local mirrors (see fetch.sh)
#   eval/run.sh -- --details --json      # arguments after -- go to score.py
#
# CARGO_TARGET_DIR is respected. The binary is copied to eval/.out/ right after the build, so
# that the figures come from this tree even when the target dir is shared with other builds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
fetch_args=()
score_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --) shift; score_args=("$@"); break ;;
        *) fetch_args+=("$1"); shift ;;
    esac
done

target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release --quiet)
mkdir -p "$here/.out"
cp "$target/release/flask-harden" "$here/.out/flask-harden"
echo "flask-harden built from $(git -C "$root" rev-parse HEAD)" >&2

"$here/fetch.sh" ${fetch_args[@]+"${fetch_args[@]}"}
exec python3 "$here/score.py" --bin "$here/.out/flask-harden" ${score_args[@]+"${score_args[@]}"}
