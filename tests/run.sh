#!/usr/bin/env bash
# Runs the whole suite and ends with "N passed, N failed" (non-zero exit on any failure):
#   1. C unit tests (build/tests/test_*), TAP output;
#   2. busted specs inside the host (bin/strata) -- tests/lua/*_spec.lua;
#   3. the FFI specs under stock luajit -- tests/ffi/*_spec.lua;
#   4. smoke runs of every recipe and example (tests/smoke.sh).
# STRATA_BUILD selects the build tree (build-asan for `make asan`).  TESTS=pattern filters.
set -u
cd "$(dirname "$0")/.."
B=${STRATA_BUILD:-build}
export STRATA_BIN=${STRATA_BIN:-bin/strata}
# An AddressSanitizer build loaded into stock luajit needs the ASan runtime first.
FFI_PRELOAD=""
# (libstdc++ too, so ASan can intercept the C++ exceptions libxgboost throws internally.)
if nm -D "$B/libstrata.so" 2>/dev/null | grep -q __asan_init; then
  FFI_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so.6)"
fi
pass=0; fail=0; skip=0; failed_names=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
filter=${TESTS:-}

count_tap() { # file, suite label
  local f=$1 label=$2 p f_ s
  p=$(grep -cE '^ok [0-9]+' "$f"); f_=$(grep -cE '^not ok [0-9]+' "$f")
  s=$(grep -cE '^ok [0-9]+.*# ?(SKIP|skip)' "$f")
  pass=$((pass + p - s)); fail=$((fail + f_)); skip=$((skip + s))
  while IFS= read -r line; do failed_names+=("$label: $line"); done < <(grep -E '^not ok' "$f")
  grep -E '# ?(SKIP|skip)' "$f" | sed "s|^|  [$label] |" >&2 || true
}

run_suite() { # label, command...
  local label=$1; shift
  local out="$log/$(echo "$label" | tr '/ ' '__').tap"
  "$@" > "$out" 2> "$out.err"; local rc=$?
  count_tap "$out" "$label"
  local n=$(grep -cE '^(not )?ok [0-9]+' "$out")
  if [ $rc -ne 0 ] && ! grep -qE '^not ok' "$out"; then
    fail=$((fail + 1)); failed_names+=("$label: exited $rc with no failing test (crash?)")
    tail -20 "$out.err" | sed 's/^/    /' >&2
  fi
  if grep -qE '^not ok' "$out"; then
    echo "---- $label" >&2; grep -vE '^ok ' "$out" | head -60 >&2; tail -20 "$out.err" >&2
  fi
  printf '%-40s %4d tests\n' "$label" "$n"
}

echo "== C unit tests"
for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  [ -n "$filter" ] && [[ "$t" != *$filter* ]] && continue
  run_suite "c/$(basename "$t")" "$t"
done

echo "== Lua specs (busted inside bin/strata)"
if ls tests/lua/*_spec.lua >/dev/null 2>&1; then
  for s in tests/lua/*_spec.lua; do
    [ -n "$filter" ] && [[ "$s" != *$filter* ]] && continue
    run_suite "lua/$(basename "$s" .lua)" "$STRATA_BIN" tests/run_busted.lua -o TAP "$s"
  done
fi

echo "== FFI specs (busted under luajit)"
if ls tests/ffi/*_spec.lua >/dev/null 2>&1; then
  for s in tests/ffi/*_spec.lua; do
    [ -n "$filter" ] && [[ "$s" != *$filter* ]] && continue
    run_suite "ffi/$(basename "$s" .lua)" env STRATA_BUILD="$B" LD_PRELOAD="$FFI_PRELOAD" luajit tests/run_busted.lua -o TAP "$s"
  done
fi

echo "== smoke runs of recipes and examples"
if [ -x tests/smoke.sh ] && [ -z "$filter" -o "$filter" = smoke ]; then
  run_suite "smoke" tests/smoke.sh
fi

if [ ${#failed_names[@]} -gt 0 ]; then
  echo "Failures:"; printf '  %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
