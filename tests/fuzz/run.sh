#!/bin/sh
# Fuzz with libFuzzer: the dataset and embeddings parsers (verify/svm_io:
# targets data, emb), graph building (theory/tpg: graph) and the one-call
# Graph-SVM solve (theory/tpg_solve: solve).
#
#   tests/fuzz/run.sh SECONDS [TARGET...]
#
# Builds tests/fuzz/fuzz_TARGET.c with clang -fsanitize=fuzzer,address,
# undefined into build-fuzz/, then runs each target (all four by default)
# for SECONDS divided by the number of targets, from the seeds in
# tests/fuzz/seeds/TARGET/ (the grown corpus goes to
# tests/fuzz/corpus-TARGET/, kept between runs, not committed).  A crash,
# leak, timeout or broken invariant is saved under tests/fuzz/findings/ and
# makes the script exit non-zero; turn each finding into a regression test
# (tests/test_svm_io.c for the parsers, tests/test_tpg*.c for the others).
# Needs clang and libclang-rt-14-dev (make fuzz installs them).  Run from
# anywhere; paths are relative to the repository root.
set -eu

secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
case $secs in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;;
esac
shift
targets=${*:-data emb graph solve}
for t in $targets; do
    case $t in
    data | emb | graph | solve) ;;
    *) echo "run.sh: unknown target '$t' (data, emb, graph, solve)" >&2; exit 2 ;;
    esac
done
# shellcheck disable=SC2086
set -- $targets
each=$((secs / $#))
[ "$each" -ge 1 ] || each=1

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
# which links the graph, QP and linear-algebra solvers: for them only the
# parser is instrumented for coverage, the rest is built with the sanitizers
# alone (out/plain/).  The graph and solve targets instrument theory/ and the
# solvers they reach (out/cov/).
libs="-llapacke -lopenblas -lgsl -lm"
theory="theory/tpg.c theory/tpg_loss.c theory/tpg_solve.c solvers/graph.c solvers/qp.c
        solvers/linalg.c solvers/newton.c solvers/status.c"
mkdir -p "$out/plain" "$out/cov"
for f in $theory; do
    o=$(basename "$f" .c).o
    # shellcheck disable=SC2086
    $CC $base -fsanitize=address,undefined -c "$f" -o "$out/plain/$o"
    # shellcheck disable=SC2086
    $CC $base -fsanitize=fuzzer-no-link,address,undefined -c "$f" -o "$out/cov/$o"
done
plain="$out/plain/tpg.o $out/plain/graph.o $out/plain/qp.o $out/plain/linalg.o"
cov="$out/cov/tpg.o $out/cov/tpg_loss.o $out/cov/tpg_solve.o $out/cov/graph.o $out/cov/qp.o
     $out/cov/linalg.o $out/cov/newton.o $out/cov/status.o"

status=0
for t in "$@"; do
    echo "== building fuzz_$t"
    case $t in
    data | emb) objs="solvers/status.c verify/svm_io.c verify/text.c $plain" ;;
    *) objs=$cov ;;
    esac
    dict=
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
    # shellcheck disable=SC2086
    $CC $flags -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" $objs $libs
    mkdir -p "tests/fuzz/corpus-$t"
    echo "== fuzzing fuzz_$t for ${each}s"
    # shellcheck disable=SC2086
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$out/fuzz_$t" -max_total_time="$each" -rss_limit_mb=2048 -timeout=20 \
        $dict -artifact_prefix="tests/fuzz/findings/$t-" \
        -print_final_stats=1 "tests/fuzz/corpus-$t" "tests/fuzz/seeds/$t"; then
        echo "run.sh: fuzz_$t found a failure; inputs saved:" >&2
        ls -l tests/fuzz/findings/"$t"-* >&2 || true
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "== no findings"
exit "$status"
