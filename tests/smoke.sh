#!/usr/bin/env bash
# Smoke runs: every recipe answers --help, runs on tiny data where it declares a smoke command,
# and every example runs.  TAP output (counted by tests/run.sh).
set -u
cd "$(dirname "$0")/.."
S=${STRATA_BIN:-bin/strata}
n=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; sed 's/^/# /' "$out/log" | tail -15; fi; }

for r in recipes/*.lua; do
  name=$(basename "$r" .lua)
  "$S" "$name" --help > "$out/log" 2>&1; rc=$?
  [ $rc = 0 ] && grep -qi "usage" "$out/log"; tap $? "recipe $name --help"
  # A recipe may declare its smoke run in a line:  -- smoke: <args>   ($OUT is a scratch dir)
  smoke=$(grep -m1 '^-- smoke:' "$r" | sed 's/^-- smoke: *//')
  if [ -n "$smoke" ]; then
    mkdir -p "$out/$name"
    (OUT="$out/$name"; eval "\"$S\" $name $smoke") > "$out/log" 2>&1; tap $? "recipe $name smoke run"
  fi
done

root=$(pwd)
for e in examples/*.lua; do
  [ -f "$e" ] || continue
  grep -q '^-- smoke: skip' "$e" && continue
  (mkdir -p "$out/ex" && cd "$out/ex" && "$root/$S" "$root/$e") > "$out/log" 2>&1; tap $? "example $(basename "$e")"
done
echo "1..$n"
