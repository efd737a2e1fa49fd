#!/bin/sh
# JoMA benchmarks (issue 12, "Speed"), run by bench/run.sh after the common ones:
#   1. the reduced ODE solve (solvers/ode.h, GSL rk8pd, HERMITE rows) against
#      scipy's solve_ivp (DOP853) on the same system, tolerance, span and output
#      times, M = 10, 100, 1000: ratio, the largest trajectory difference and
#      each side's error against the closed form; and the ceiling of the
#      ratio (each side's right-hand side timed alone on its own solve's
#      states), which says whether 20x is reachable;
#   2. the same solve against SUNDIALS CVODE at equal accuracy (error against
#      the closed form of the exp/linear system);
#   3. one SGD step of the one-layer block (verify/joma_model.h) against
#      PyTorch float64 autograd, same weights and batch;
#   then bench/joma_text.sh (the text model's step) when it exists.
# Every time is thread CPU seconds of the timed call alone, the fastest (ODE)
# or the median (steps) of repeated runs: the machine is shared, and wall
# time would measure the neighbours.
#
# usage: bench/joma.sh path/to/attncheck     (from bench/run.sh or by hand)
#   JOMA_BENCH_ONLY=ode runs parts 1 and 2 alone; JOMA_BENCH_REPS (5) repeats.
set -eu

BIN=${1:?usage: bench/joma.sh path/to/attncheck}
BUILD=$(dirname "$BIN")
PY=/usr/bin/python3   # Debian's python3-scipy / python3-torch
CC=${CC:-cc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# The library as the Makefile builds it, plus CVODE (libsundials-dev).
"$CC" -std=c11 -O2 -g -I"$ROOT" -D_POSIX_C_SOURCE=200809L "$BENCH/joma_bench.c" "$BUILD/libattncheck.a" \
    -lsundials_cvode -lsundials_nvecserial -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lm \
    -o "$T/joma_bench"
"$PY" -c 'import scipy, torch; print("JoMA peers: scipy", scipy.__version__, "| torch", torch.__version__)'
grep -m1 SUNDIALS_VERSION /usr/include/sundials/sundials_config.h | sed 's/^#define /      /'

# One BLAS thread on both sides: the thread CPU clock counts the calling
# thread alone, so work handed to an OpenBLAS worker thread would go unseen
# (joma_model's step calls DGEMM; PyTorch's set_num_threads(1) does the same
# for its side).
export OPENBLAS_NUM_THREADS=1

REPS=${JOMA_BENCH_REPS:-5}
echo
echo "### JoMA 1. reduced ODE: attncheck (GSL rk8pd, automatic first step, HERMITE rows) vs scipy solve_ivp (DOP853),"
echo "    rtol 1e-10, atol 1e-12"
echo "    explin: exp attention, linear activation, T = 2, v(0) = 0, t to 0.9 t* (closed form exact);"
echo "    softnl: softmax attention, nonlinear activation (the 4.2 toy's shape), T = 3, v(0) = 0.05, t to 100."
echo "    101 times: the trajectory, interpolated on both sides (ours: degree-9 Hermite between steps that its"
echo "    error estimate caps, a side step where the estimate fails; solve_ivp: DOP853's dense output, t_eval);"
echo "    beside it, not judged, ours stepping onto each time (LAND, solvers/ode.h's default);"
echo "    2 times: the end point only (both take their natural steps)."
echo "    ceiling: solve_ivp's time over our right-hand side alone (replayed on our solve's states, same clock): the"
echo "    best ratio a stepper of ours could reach at our f count; then with an RK8 step's least arithmetic added."
for kind in explin softnl; do
    for M in 10 100 1000; do
        for nt in 101 2; do
            d=$T/$kind-$M-$nt
            mkdir -p "$d"
            "$T/joma_bench" ode "$kind" "$M" "$REPS" "$d" "$nt" >"$d/c.json"
            "$PY" "$BENCH/joma_scipy.py" "$d" 1e-10 1e-12 "$REPS" >"$d/p.json"
            "$PY" "$BENCH/joma_report.py" scipy "$d/c.json" "$d/p.json"
        done
    done
done

echo
echo "### JoMA 2. the same solve vs SUNDIALS CVODE at equal accuracy (explin, error against the closed form;"
echo "    both sides swept over rtol 1e-6 .. 1e-13 with atol = rtol / 100; both interpolate onto output times)"
for nt in 101 2; do
    echo "   -- $nt output times"
    for M in 10 100 1000; do
        "$PY" "$BENCH/joma_report.py" cvode "$T/explin-$M-$nt/c.json"
    done
done

[ "${JOMA_BENCH_ONLY:-}" = ode ] && exit 0

echo
echo "### JoMA 3. one SGD step of the block (softmax attention, T 0.5, CE, full batch, lr 0.1; 4.1 run):"
echo "    C (verify/joma_model.h) vs PyTorch float64 autograd, one thread each"
step_size() {
    d=$T/step-$1-$2-$3-$4
    mkdir -p "$d"
    "$T/joma_bench" step "$1" "$2" "$3" "$4" "$5" "$d" >"$d/c.json"
    "$PY" "$BENCH/joma_torch.py" "$d" "$5" >"$d/p.json"
    "$PY" "$BENCH/joma_report.py" step "$d/c.json" "$d/p.json"
}
step_size 20 20 30 20 400      # the paper's 4.1 sizes: M = 20 tokens, K = 20 classes, d = 30
step_size 100 50 128 200 40    # larger, for scale

if [ -x "$BENCH/joma_text.sh" ]; then
    echo
    "$BENCH/joma_text.sh" "$BIN" || echo "bench: joma_text.sh failed (status $?)"
fi
