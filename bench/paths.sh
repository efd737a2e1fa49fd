#!/bin/sh
# Attention-paths benchmark (issue 11, "Speed"; bench/run.sh calls it):
# on the Markov task of spec attention_paths §4.1 with P = 100 ... 2000
# training examples (four paths, width 10, T = 0.01), in one command:
#   - the action and its gradient, and the whole solve, in C (theory/paths.c)
#     against a NumPy/SciPy implementation of the same formulas
#     (bench/paths_numpy.py), with the ratio and the agreement of S and U;
#   - the solve's time against the Cholesky factorisations it needs (one
#     P x P factor of K + T I per evaluation, counted);
#   - what those two targets can reach: the exact gradient's unavoidable
#     calls timed alone (the floor in Choleskies) and NumPy's time per
#     evaluation over that floor, with both sides' evaluation counts,
#     gradient norms and flops per evaluation;
#   - a Gibbs sweep (verify/paths_gibbs.c) against its own Choleskies (one per
#     block, L + 2), and what that target can reach: the sweep's unavoidable
#     work beyond them (draws, one forward pass, each block's J J^T at its
#     least, the solves and matrix-vector products) timed piece by piece.
# Both sides run with the same OPENBLAS_NUM_THREADS (1 unless set), so the
# ratios compare code, not thread counts.  Speed is a ratio of programs run
# in the same command; a slow run prints MISSED, it does not fail.
#
# usage: bench/paths.sh path/to/attncheck     (from the repository root)
# env:   BENCH_PATHS_P="100 500 1000 2000"  the sizes;  BENCH_PATHS_REPS=5
set -eu

BIN=${1:?usage: bench/paths.sh path/to/attncheck}
BUILD=$(dirname "$BIN")
PY=/usr/bin/python3   # Debian's python3-numpy/scipy live here
CC=${CC:-cc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
SIZES=${BENCH_PATHS_P:-100 500 1000 2000}
REPS=${BENCH_PATHS_REPS:-5}
WIDTH=10
EPS=1e-8        # the C solver's default stopping test (solvers/minimize.h)
MAXITER=10000

# Same flags and libraries as the Makefile.
"$CC" -std=c11 -O2 -g -I"$ROOT" -D_POSIX_C_SOURCE=200809L "$BENCH/paths_bench.c" \
    "$BUILD/libattncheck.a" -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lm -o "$T/paths_bench"

echo "### attention paths: C (theory/paths.c, verify/paths_gibbs.c) vs NumPy/SciPy (bench/paths_numpy.py)"
"$PY" -c 'import numpy, scipy; print("    peers: numpy", numpy.__version__, "| scipy", scipy.__version__)'
echo "    Markov task of spec 4.1, four paths, width $WIDTH, T = 0.01; OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS on both sides"
echo "    times: CPU seconds (one BLAS thread: the work done, not inflated by other load); action+gradient best of"
echo "    $REPS; dpotrf, the floors' pieces and the Gibbs sweep (after one warm-up) best of 25 up to P = 500, then of"
echo "    $REPS, $REPS and 3; solve from the GP values (stop at |grad S/n_max| <= $EPS) best of 3 up to P = 500, once above"
echo "    the Cholesky unit dpotrf(P): LAPACK dpotrf on the column-major lower triangle through LAPACKE's _work call (no"
echo "    copies, no NaN scan), as theory/paths.c and verify/paths_gibbs.c call it (a row-major LAPACKE_dpotrf takes 1.3-1.4x)"
echo "    floors: (a) one exact gradient's unavoidable calls (dpotrf, K from the pre-kernels, v and b = Phi^T v, the"
echo "    cheaper route's own calls), each timed alone, in Choleskies: the least solve/Choleskies of this method;"
echo "    (b) NumPy's time per evaluation over that floor: the most NumPy/C can reach at equal evaluation counts;"
echo "    (c) a Gibbs sweep's unavoidable work beyond its Choleskies (the same draws, one forward pass, each block's"
echo "    J J^T at its least, the triangular solves, J theta_0 and J^T alpha), each timed alone: the least sweep/Choleskies"
echo
for P in $SIZES; do
    d=$T/P$P
    mkdir -p "$d"
    sreps=$([ "$P" -le 500 ] && echo 3 || echo 1)   # whole solves: 3 runs up to P = 500, then 1
    "$T/paths_bench" "$P" "$WIDTH" "$REPS" "$sreps" "$d" >"$d/c.json"
    "$PY" "$BENCH/paths_numpy.py" "$d" "$P" 231 "$WIDTH" 0.01 2 2 2 "$REPS" "$sreps" "$EPS" "$MAXITER" >"$d/numpy.json"
    "$PY" "$BENCH/paths_report.py" "$d/c.json" "$d/numpy.json"
    echo
done
