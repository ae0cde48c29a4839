#!/usr/bin/env bash
# `make bench`: runs every benchmark program (build/bench/bench_*) and prints its figures beside
# the reference figures from ../shared/docs.  Nothing here is asserted.  BENCH=pattern filters;
# each program reads its own size knobs from the environment (see its header comment).
set -u
cd "$(dirname "$0")/.."
B=${STRATA_BUILD:-build}
echo "Strata benchmarks  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m))"
for b in "$B"/bench/bench_*; do
  [ -x "$b" ] || continue
  [ -n "${BENCH:-}" ] && [[ "$b" != *$BENCH* ]] && continue
  echo
  echo "=== $(basename "$b")"
  "$b" || echo "  (exited with status $?)"
done
for s in bench/*.lua; do
  [ -f "$s" ] || continue
  [ -n "${BENCH:-}" ] && [[ "$s" != *$BENCH* ]] && continue
  echo
  echo "=== $(basename "$s")"
  bin/strata "$s" || echo "  (exited with status $?)"
done
