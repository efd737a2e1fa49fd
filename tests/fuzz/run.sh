#!/bin/sh
# Fuzz the dataset and embeddings parsers (verify/svm_io) with libFuzzer.
#
#   tests/fuzz/run.sh SECONDS
#
# Builds tests/fuzz/fuzz_{data,emb}.c with clang -fsanitize=fuzzer,address,
# undefined into build-fuzz/, then runs each target for SECONDS/2 from the
# seeds in tests/fuzz/seeds/{data,emb}/ (the grown corpus goes to
# tests/fuzz/corpus-{data,emb}/, kept between runs, not committed).  A crash,
# leak, timeout or broken invariant is saved under tests/fuzz/findings/ and
# makes the script exit non-zero; turn each finding into a regression test in
# tests/test_svm_io.c.  Needs clang and libclang-rt-14-dev (make fuzz installs
# them).  Run from anywhere; paths are relative to the repository root.
set -eu

secs=${1:?usage: tests/fuzz/run.sh SECONDS}
case $secs in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;;
esac
half=$((secs / 2))
[ "$half" -ge 1 ] || half=1

cd "$(dirname "$0")/../.."
CC=${CC_FUZZ:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "run.sh: $CC not found (install clang and libclang-rt-14-dev)" >&2
    exit 2
fi

out=build-fuzz
mkdir -p "$out" tests/fuzz/findings
base="-std=c11 -D_POSIX_C_SOURCE=200809L -I. -g -O1 -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined"
flags="$base -fsanitize=fuzzer,address,undefined"
# The parsers need solvers/status.c and, for ac_tpg_data_check, theory/tpg.c,
# which links the graph, QP and linear-algebra solvers.  Only the parser is
# instrumented for coverage: the rest is built with the sanitizers alone.
lib="solvers/status.c verify/svm_io.c"
libs="-llapacke -lopenblas -lgsl -lm"
for f in theory/tpg.c solvers/graph.c solvers/qp.c solvers/linalg.c; do
    # shellcheck disable=SC2086
    $CC $base -fsanitize=address,undefined -c "$f" -o "$out/$(basename "$f" .c).o"
done
objs="$out/tpg.o $out/graph.o $out/qp.o $out/linalg.o"

status=0
for t in data emb; do
    echo "== building fuzz_$t"
    # shellcheck disable=SC2086
    $CC $flags -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" $lib $objs $libs
    mkdir -p "tests/fuzz/corpus-$t"
    echo "== fuzzing fuzz_$t for ${half}s"
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$out/fuzz_$t" -max_total_time="$half" -rss_limit_mb=2048 -timeout=20 \
        -dict="tests/fuzz/$t.dict" -artifact_prefix="tests/fuzz/findings/$t-" \
        -print_final_stats=1 "tests/fuzz/corpus-$t" "tests/fuzz/seeds/$t"; then
        echo "run.sh: fuzz_$t found a failure; inputs saved:" >&2
        ls -l tests/fuzz/findings/"$t"-* >&2 || true
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "== no findings"
exit "$status"
