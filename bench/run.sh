#!/bin/sh
# Benchmarks against peers run in the same command (bench/README.md):
#   1. the Graph-SVM solve (attncheck svm solve) against cvxopt.solvers.qp;
#   2. a normalised gradient-descent step (verify/svm_model.h) against PyTorch.
# Speed is reported as ratios between the two sides, never judged by a timer.
#
# usage: bench/run.sh path/to/attncheck     (from the repository root; make bench)
# env:   BENCH_CVXOPT_LARGE=1  try cvxopt at K = d = 128 and 256 (under `timeout 60`)
#        even when its predicted time is above 60 s.
set -eu

BIN=${1:?usage: bench/run.sh path/to/attncheck}
BUILD=$(dirname "$BIN")
PY=/usr/bin/python3   # Debian's python3-numpy/scipy/cvxopt/torch live here
CC=${CC:-cc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# Same flags and libraries as the Makefile.
"$CC" -std=c11 -O2 -g -I"$ROOT" -D_POSIX_C_SOURCE=200809L "$BENCH/step_bench.c" \
    "$BUILD/libattncheck.a" -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lm -o "$T/step_bench"
"$CC" -std=c11 -O2 -g -I"$ROOT" -D_POSIX_C_SOURCE=200809L "$BENCH/solve_bench.c" \
    "$BUILD/libattncheck.a" -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lm -o "$T/solve_bench"

now() { date +%s.%N; }
# timed NAME WALLFILE OUT cmd...: run cmd once, stdout to OUT, append "NAME seconds" to WALLFILE.
timed() {
    name=$1 wall=$2 out=$3
    shift 3
    t0=$(now)
    "$@" >"$out"
    t1=$(now)
    echo "$name $(echo "$t1 $t0" | awk '{print $1 - $2}')" >>"$wall"
}
have_hyperfine() { command -v hyperfine >/dev/null 2>&1; }

echo "attncheck bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m)"
"$PY" -c 'import numpy, cvxopt, torch; print("peers: numpy", numpy.__version__, "| cvxopt", cvxopt.__version__, "| torch", torch.__version__)'
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (timings are only as quiet as the machine)"
echo

# svm_size LABEL MODE n T K d SEED OURS_RUNS CVX_REPEAT HYPERFINE_RUNS [TARGET_RATIO]
# BLAS threads: the same OPENBLAS_NUM_THREADS for both sides of a size (see
# the calls below).  At the paper's sizes the matrices are 6 x 6 to 8 x 8, and
# a second BLAS thread only costs (cvxopt calls BLAS and LAPACK too), so both
# sides run with one thread there.
svm_size() {
    label=$1 mode=$2 n=$3 len=$4 K=$5 d=$6 seed=$7 runs=$8 rep=$9 hf=${10}
    p=$T/$label
    echo "   (OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-default} for both sides)"
    "$BIN" svm generate --mode "$mode" --n "$n" --T "$len" --K "$K" --d "$d" --seed "$seed" --out "$p" >/dev/null
    # warm, in one process, median of $runs solves (as cvxopt's --repeat)
    "$T/solve_bench" "$p.data" "$p.emb" "$runs" >"$p.ours0.json"
    ours="$p.ours0.json"
    "$PY" "$BENCH/cvxopt_svm.py" "$p.data" "$p.emb" --repeat "$rep" --tol 1e-10 >"$p.cvx.json"
    if have_hyperfine; then
        hyperfine -N --style none --warmup 1 --runs "$hf" --export-json "$p.wall.json" \
            -n ours -n cvxopt \
            "$BIN svm solve $p.data --embeddings $p.emb --format json" \
            "$PY $BENCH/cvxopt_svm.py $p.data $p.emb --tol 1e-10" >/dev/null 2>"$p.hyperfine.err"
    else
        timed ours "$p.wall.json" /dev/null "$BIN" svm solve "$p.data" --embeddings "$p.emb" --format json
        timed cvxopt "$p.wall.json" /dev/null "$PY" "$BENCH/cvxopt_svm.py" "$p.data" "$p.emb" --tol 1e-10
    fi
    # shellcheck disable=SC2086
    "$PY" "$BENCH/report.py" svm "$label ($mode, seed $seed)" --ours $ours --cvxopt "$p.cvx.json" \
        --wall "$p.wall.json" --target-ratio 10
    echo
}

echo "### 1. Graph-SVM solve: attncheck (dual coordinate ascent) vs cvxopt.solvers.qp (interior point)"
echo "    time = in-process solve only on both sides (ours: svm_seconds; cvxopt: the qp() call)"
echo
OPENBLAS_NUM_THREADS=1 svm_size paper-cyclic cyclic 6 4 6 8 1 9 9 10
OPENBLAS_NUM_THREADS=1 svm_size paper-acyclic acyclic 4 6 8 8 1 9 9 10
svm_size K32 cyclic 200 8 32 32 1 5 3 3

# Large sizes, K = d = 128 (16384 variables, ~13800 constraints) and 256
# (65536, ~27800): ours once, against the issue's target of 0.5 s at K = 128
# (bench/README.md); K = 256 is reported against the same number for scale.
# cvxopt only if it can finish within about a minute (predicted from its K =
# 32 time), else skipped with the prediction.
svm_large() {
    K=$1 n=$2
    p=$T/K$K
    "$BIN" svm generate --mode cyclic --n "$n" --T 8 --K "$K" --d "$K" --seed 1 --out "$p" >/dev/null
    timed ours "$p.wall" "$p.ours.json" "$BIN" svm solve "$p.data" --embeddings "$p.emb" --format json
    pred=$("$PY" "$BENCH/report.py" predict "$T/K32.cvx.json" "$T/K32.ours0.json" "$p.ours.json")
    skip="predicted ${pred} s from its K=32 time scaled by n^2 m + n^3 (dense G^T D G per iteration) > 60 s"
    if awk "BEGIN{exit !($pred <= 60)}" || [ "${BENCH_CVXOPT_LARGE:-0}" = 1 ]; then
        if timeout 60 "$PY" "$BENCH/cvxopt_svm.py" "$p.data" "$p.emb" --tol 1e-10 >"$p.cvx.json"; then
            skip=""
        else
            skip="did not finish within 60 s (predicted ${pred} s)"
        fi
    fi
    if [ -n "$skip" ]; then
        "$PY" "$BENCH/report.py" svm "K$K (cyclic, seed 1)" --ours "$p.ours.json" --skip "$skip" \
            --wall "$p.wall" --target-seconds 0.5
    else
        "$PY" "$BENCH/report.py" svm "K$K (cyclic, seed 1)" --ours "$p.ours.json" --cvxopt "$p.cvx.json" \
            --wall "$p.wall" --target-seconds 0.5
    fi
    echo
}
svm_large 128 2000
svm_large 256 4000

echo "### 2. Normalised GD step, identity head: C (verify/svm_model.h) vs PyTorch float64 autograd"
echo
# step_size LABEL n T K d STEPS LR [INFO]: INFO given, the agreement is shown, not judged.
step_size() {
    label=$1 n=$2 len=$3 K=$4 d=$5 steps=$6 lr=$7 info=${8:-}
    p=$T/step-$label
    "$BIN" svm generate --mode cyclic --n "$n" --T "$len" --K "$K" --d "$d" --seed 1 --out "$p" >/dev/null
    timed C "$p.wall" "$p.c.json" "$T/step_bench" "$p.data" "$p.emb" 1 "$steps" "$lr" "$p.w0"
    timed torch "$p.wall" "$p.t.json" "$PY" "$BENCH/torch_step.py" "$p.data" "$p.emb" "$p.w0" "$steps" "$lr" 2
    "$PY" "$BENCH/torch_step.py" "$p.data" "$p.emb" "$p.w0" "$steps" "$lr" 1 >"$p.t1.json"
    "$PY" "$BENCH/report.py" step "$label (n=$n T=$len K=$K d=$d, lr $lr)" --c "$p.c.json" --torch "$p.t.json" \
        --torch1 "$p.t1.json" \
        --steps "$steps" --wall "$p.wall" ${info:+--info "$info"}
    step_bound "$p.c.json" "$label"
    echo
}
# step_bound C_JSON LABEL: the C step against the time its flops need at the
# DGEMM rate step_bench measured in the same process (bench/README.md §2).
# The target (issue 10 §4: within 3x) is judged at the large size only.
step_bound() {
    "$PY" -c '
import json, sys
c, label = json.load(open(sys.argv[1])), sys.argv[2]
t, R1, p, Q, V, ntok = (c[k] for k in ("seconds_per_step", "gemm_flops_per_s", "gemm_threads", "Q", "V", "ntok"))
Fp, Fb, R = c["flops_per_position"], c["flops_blocked"], R1 * p
us = lambda x: f"{x * 1e6:.3g} us"
r = t / (Fp / R)
verdict = " (target <= 3x: " + ("met" if r <= 3 else "MISSED") + ")" if label == "large" else ""
print(f"   DGEMM  : {R1 / 1e9:.3g} GFLOP/s on one thread (512^3, best of 7, measured in the same run); "
      f"machine rate R = {p} x that = {R / 1e9:.3g} GFLOP/s")
print(f"   bound  : 4 n d (d + T) = {Fp / 1e6:.3g} MFLOP / R = {us(Fp / R)}; C / bound = {r:.2g}x{verdict}")
print(f"            blocked products 4 Q d (d + V) = {Fb / 1e6:.3g} MFLOP (Q={Q}, V={V}) / R = {us(Fb / R)}: "
      f"C / that = {t / (Fb / R):.2g}x (the step is one thread and also takes exponentials for {ntok} positions)")
' "$1" "$2"
}
step_size paper 6 4 6 8 100 0.1
step_size large 512 32 64 64 50 0.1
# Past the bottom of the loss NGD oscillates and amplifies rounding (report.py).
step_size paper-long 6 4 6 8 200 0.1 "past step ~140 NGD oscillates with ||g|| ~ 5e-3 and rounding grows ~20x per step"

# Each paper module's own benchmarks: bench/<paper>.sh BIN, run in turn.
for b in "$BENCH"/paths.sh "$BENCH"/joma.sh "$BENCH"/moe.sh; do
    [ -x "$b" ] || continue
    echo
    "$b" "$BIN" || echo "bench: $(basename "$b") failed (status $?)"
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
