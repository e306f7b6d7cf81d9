#!/usr/bin/env bash
# Make the README's screenshots from real renders: run flask-harden in tmux at 120x35 on the
# example_app fixture (copied into a temporary git repository), capture the screens with their
# colours (tmux capture-pane -e) and draw them to PNG (Python + Pillow, in screenshots/.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "make.sh: tmux is needed" >&2; exit 1; }

venv=screenshots/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "pillow==12.*"
fi
cargo build -q
tmp="$(mktemp -d)"
# A copy, so that another build into the same target folder cannot swap it mid-run.
cp "${CARGO_TARGET_DIR:-$(pwd)/target}/debug/flask-harden" "$tmp/flask-harden"
bin="$tmp/flask-harden"

repo="$tmp/bookclub"
mkdir "$repo"
socket="flask-harden-shots-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
cp -R tests/fixtures/example_app/. "$repo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=Example -c user.email=example@example.com commit -q -m initial

tmux -L "$socket" new-session -d -s shots -x 120 -y 35 -c "$repo" \
  -e TERM=xterm-256color -e NO_COLOR= "$bin"

wait_for() {
  for _ in $(seq 1 300); do
    if tmux -L "$socket" capture-pane -t shots -p | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "make.sh: the screen never showed: $1" >&2
  tmux -L "$socket" capture-pane -t shots -p >&2
  exit 1
}
wait_gone() {
  for _ in $(seq 1 600); do
    if ! tmux -L "$socket" capture-pane -t shots -p | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "make.sh: the screen kept showing: $1" >&2
  exit 1
}
keys() { for k in "$@"; do tmux -L "$socket" send-keys -t shots "$k"; sleep 0.2; done; }
shot() {
  sleep 0.3
  tmux -L "$socket" capture-pane -t shots -e -p > "screenshots/$1.ans"
  "$venv/bin/python" screenshots/ansi2png.py "screenshots/$1.ans" "screenshots/$1.png"
  rm "screenshots/$1.ans"
  echo "screenshots/$1.png"
}

wait_for "[ ] ✗ fail  H  3 debug"
# Every item's fix is ready when the title no longer counts them.
wait_gone " fixes "
keys j
shot checklist
keys Tab Tab
wait_for "▶ Fix"
shot diff
# One finding's fix only: the item is marked [~] with the findings it covers.
keys j Space
wait_for "[~]"
shot finding
# The checklist hidden (+), the diff side by side.
keys + v
wait_for "side by side (old"
shot diff-side-by-side
keys v _ Tab c
wait_for "Commit the accepted fixes"
shot commit
keys Escape '?'
wait_for "undo the last choice"
shot help
keys Escape q y
