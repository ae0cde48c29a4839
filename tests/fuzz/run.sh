#!/usr/bin/env bash
# Fuzzes the readers with libFuzzer (`make fuzz`).  Builds the library sources directly with
# clang and -fsanitize=fuzzer,address,undefined into $FUZZ_BUILD (not the Makefile's build
# tree), then runs one binary per format for FUZZ_SECONDS (default 60) from the seed corpus
# tests/fuzz/corpus/<format>/ (new inputs go to $FUZZ_BUILD/corpus/<format>/, so the seeds stay
# small).  Any crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/regressions/<format>/, which tests/c/test_fuzz_regressions.c replays in `make test`.
#   FUZZ_SECONDS=300 FUZZ_FORMATS="cif vasprun" tests/fuzz/run.sh
# Exit status: 0 if nothing was found, 1 otherwise.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
FORMATS=${FUZZ_FORMATS:-"cif vasprun extxyz poscar lammps-dump"}
B=${FUZZ_BUILD:-build-fuzz}
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (apt-get install clang)"; exit 2; }
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fopenmp -Icsrc/include \
  $(pkg-config --cflags libxml-2.0) -fsanitize=address,undefined -fno-sanitize-recover=undefined"
LIBS="$(pkg-config --libs libxml-2.0) -lopenblas -lz -lm -fopenmp"
mkdir -p "$B/obj"
objs=()
for src in csrc/core/*.c csrc/io/*.c; do
  obj="$B/obj/$(echo "${src%.c}" | tr / _).o"
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find csrc/include csrc/core/internal.h csrc/io -name '*.h' -newer "$obj")" ]; then
    $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 2
  fi
  objs+=("$obj")
done
found=0
for fmt in $FORMATS; do
  bin="$B/fuzz_$fmt"
  $CC $CFLAGS -fsanitize=fuzzer -DFUZZ_FORMAT="\"$fmt\"" tests/fuzz/fuzz_reader.c "${objs[@]}" \
      -o "$bin" $LIBS || exit 2
  seeds="tests/fuzz/corpus/$fmt"
  mkdir -p "$seeds" "$B/corpus/$fmt" "$B/artifacts/$fmt"
  dict=()
  [ -f "tests/fuzz/dict/$fmt.dict" ] && dict=(-dict="tests/fuzz/dict/$fmt.dict")
  maxlen=8192
  [ "$fmt" = vasprun ] && maxlen=16384
  echo "== fuzzing $fmt for ${SECONDS_EACH}s (seeds: $(ls "$seeds" | wc -l))"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
      -print_final_stats=1 -artifact_prefix="$B/artifacts/$fmt/" "${dict[@]}" \
      "$B/corpus/$fmt" "$seeds" > "$B/fuzz_$fmt.log" 2>&1
  rc=$?
  tail -n 12 "$B/fuzz_$fmt.log" | grep -E "stat::|Done|ERROR|SUMMARY" || true
  shopt -s nullglob
  arts=("$B/artifacts/$fmt"/*)
  shopt -u nullglob
  if [ ${#arts[@]} -gt 0 ] || [ $rc -ne 0 ]; then
    found=1
    mkdir -p "tests/fuzz/regressions/$fmt"
    for a in "${arts[@]}"; do cp "$a" "tests/fuzz/regressions/$fmt/" && rm -f "$a"; done
    echo "!! $fmt: exit $rc, ${#arts[@]} input(s) copied to tests/fuzz/regressions/$fmt/ (log: $B/fuzz_$fmt.log)"
  fi
done
exit $found
