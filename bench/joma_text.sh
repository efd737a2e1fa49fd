#!/bin/sh
# The text model's training step (verify/joma_text.h) against PyTorch
# (Debian python3-torch, float64), on the same weights and the same batches:
# bench/joma_text_step.c trains STEPS steps in C and writes theta0, the
# batches and theta after STEPS; bench/joma_text.py loads theta0 into
# PyTorch's own nn.TransformerEncoderLayer, runs the same STEPS steps
# (Adam, clip 0.5) and compares.  Printed per size: seconds per step on both
# sides (median of the steps, one warm-up step each), the ratio, the largest
# difference of the per-step losses and of the weights after STEPS steps,
# and the issue's target (C at least 3x faster than PyTorch on the CPU).
#
# usage: bench/joma_text.sh path/to/attncheck   (from the repository root;
#        bench/joma.sh calls it when it exists)
set -eu

BIN=${1:?usage: bench/joma_text.sh path/to/attncheck}
BUILD=$(dirname "$BIN")
PY=/usr/bin/python3   # Debian's python3-torch lives here
CC=${CC:-cc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

"$CC" -std=c11 -O2 -g -I"$ROOT" -D_POSIX_C_SOURCE=200809L "$BENCH/joma_text_step.c" \
    "$BUILD/libattncheck.a" -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lm -o "$T/joma_text_step"

echo "### JoMA text model: one training step (batch 20 x 35 tokens, Adam, clip 0.5), C vs PyTorch float64"
echo "    same theta0 and batches; PyTorch runs nn.TransformerEncoderLayer (dropout 0); threads: both sides the same"
echo

# text_size LABEL V D STEPS THREADS
text_size() {
    label=$1 V=$2 D=$3 steps=$4 th=$5
    p=$T/$label
    OPENBLAS_NUM_THREADS=$th "$T/joma_text_step" "$V" "$D" "$steps" 1 "$p" >"$p.c.json"
    "$PY" "$BENCH/joma_text.py" "$p" "$V" "$D" "$steps" 1e-4 "$th" >"$p.t.json"
    "$PY" - "$p.c.json" "$p.t.json" "$label" "$th" <<'EOF'
import json, sys
c, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
label, th = sys.argv[3], sys.argv[4]
cs, ts = c["seconds_per_step"], t["seconds_per_step"]
dl = max(abs(a - b) for a, b in zip(c["losses"], t["losses"]))
r = ts / cs
print(f"{label}: V={c['V']} d={c['d']} ({c['nparams']} parameters, {c['flops_per_step'] / 1e9:.3g} GFLOP per step), "
      f"{c['steps']} steps, {th} thread(s)")
print(f"   C      : {cs * 1e3:.3g} ms/step ({c['flops_per_step'] / cs / 1e9:.3g} GFLOP/s)")
print(f"   PyTorch: {ts * 1e3:.3g} ms/step (torch {t['torch']})")
print(f"   ratio  : PyTorch / C = {r:.3g}x (target >= 3x: {'met' if r >= 3 else 'MISSED'})")
print(f"   agree  : max |loss_C - loss_torch| over the steps = {dl:.3g}; after {c['steps']} steps "
      f"max |theta_C - theta_torch| = {t['max_abs_theta_diff']:.3g} (relative {t['max_rel_theta_diff']:.3g})")
EOF
    echo
}
text_size default 500 16 20 1
text_size default 500 16 20 2
text_size d64 2000 64 10 2
text_size paper 5000 200 5 2
