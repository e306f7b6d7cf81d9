#!/usr/bin/env bash
# Fetch every app of eval/corpus.toml at its pinned commit into eval/corpus/<name>/.
#
#   eval/fetch.sh                          # clone from GitHub
#   eval/fetch.sh --mirror /path/mirrors   # clone from local mirrors: <dir>/<owner>+<name>, holding
#                                          # a git dir (bare, or with .git, or under repo/)
#   eval/fetch.sh --only NAME [--only ...] # some apps only
#   eval/fetch.sh --dest DIR               # somewhere else than eval/corpus
#
# An app already present at the right commit is left as it is. Each checkout is verified: HEAD
# must be the pinned commit, or the script stops with an error. Needs git and python3 (3.9+).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/corpus"
mirror=""
only=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mirror) mirror="$2"; shift 2 ;;
        --dest) dest="$2"; shift 2 ;;
        --only) only+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fetch.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

# name, url and commit of each app, one app a line, from corpus.toml.
apps="$(python3 "$here/score.py" --list-corpus)"

mirror_gitdir() {
    # $1 = owner+name folder: the git dir inside it, or nothing.
    local base="$1"
    for cand in "$base" "$base/.git" "$base/repo" "$base/repo/.git"; do
        if [[ -d "$cand" ]] && git --git-dir="$cand" rev-parse --git-dir >/dev/null 2>&1; then
            if [[ -f "$cand/HEAD" ]]; then
                echo "$cand"
                return
            fi
        fi
    done
}

mkdir -p "$dest"
failed=0
while read -r name url commit; do
    [[ -z "$name" ]] && continue
    if [[ ${#only[@]} -gt 0 ]]; then
        keep=0
        for o in "${only[@]}"; do [[ "$o" == "$name" ]] && keep=1; done
        [[ $keep -eq 1 ]] || continue
    fi
    target="$dest/$name"
    if [[ -d "$target/.git" ]] && [[ "$(git -C "$target" rev-parse HEAD 2>/dev/null)" == "$commit" ]]; then
        echo "ok      $name (already at ${commit:0:12})"
        continue
    fi
    rm -rf "$target"
    source="$url"
    if [[ -n "$mirror" ]]; then
        slug="${url#https://github.com/}"
        gitdir="$(mirror_gitdir "$mirror/${slug/\//+}")"
        if [[ -z "$gitdir" ]]; then
            echo "missing $name: no mirror under $mirror/${slug/\//+}" >&2
            failed=1
            continue
        fi
        source="$gitdir"
    fi
    if ! git clone --quiet --no-checkout "$source" "$target" 2>/dev/null; then
        echo "failed  $name: git clone $source" >&2
        failed=1
        continue
    fi
    if ! git -C "$target" -c advice.detachedHead=false checkout --quiet "$commit" 2>/dev/null; then
        # A shallow or partial source: ask for the commit itself.
        git -C "$target" fetch --quiet origin "$commit" 2>/dev/null || true
        git -C "$target" -c advice.detachedHead=false checkout --quiet "$commit" 2>/dev/null || true
    fi
    head="$(git -C "$target" rev-parse HEAD 2>/dev/null || echo none)"
    if [[ "$head" != "$commit" ]]; then
        echo "failed  $name: HEAD is $head, pinned $commit" >&2
        failed=1
        continue
    fi
    echo "fetched $name at ${commit:0:12}"
done <<< "$apps"
exit $failed
