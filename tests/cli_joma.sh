#!/bin/sh
# Command-line checks of attncheck joma (integrate, train, generate): the
# hand-written examples of docs/joma.md, the exported claim inputs against the
# in-memory ones, every bad input with its message and exit status, and no
# output or temporary left behind by a failed run.  AC_BIN names the binary.
. "$(dirname "$0")/clilib.sh"

EX=examples
J="$BIN joma"
expect 2 "joma without a command" -- $J
expect 0 "joma --help" -- $J --help
for c in integrate train generate; do
    expect 0 "joma $c --help" -- $J $c --help
done

# ---- integrate: the hand-written drive ------------------------------------
expect 0 "integrate the example" -- $J integrate $EX/joma-mu.txt --t-end 20 --n-out 11
grep_in out "^# outcome: done" "the outcome heads the CSV"
grep_in out "^t,v_0,v_1,v_2,v_3,v_4,v_5,v_6,v_7,entropy,drift$" "CSV header: t, the 8 components, entropy, drift"
check "11 rows after the header" [ "$(grep -c '^[0-9]' "$T/out")" -eq 11 ]
expect 0 "integrate the example, json, implicit stepper" -- \
    $J integrate $EX/joma-mu.txt --method msbdf --t-end 20 --format json --out "$T/traj.json"
for k in '"outcome": "done"' '"t_star": null' '"drift_kind": "ratio_law"' '"entropy"' '"njev"'; do
    grep_in traj.json "$k" "integrate JSON has $k"
done
expect 0 "integrate a list, linear activation, exp attention" -- \
    $J integrate --mu 0.3,-0.2,0.1 --activation linear --attention exp --t-end 1 --format json
grep_in out '"drift_kind": "closed_form"' "exp/linear drift is the closed form's"
grep_in out '"t_star": [0-9]' "exp/linear reports the closed-form t*"
# The first integral holds to the integration's accuracy: the drift stays
# below 1e-8 (local tolerance 1e-10 per step over some tens of steps; a
# broken right-hand side gives O(1)).
"$BIN" joma integrate $EX/joma-mu.txt --attention exp --T 2 --t-end 0.05 --format json >"$T/exp.json"
check "exp/nonlinear drift below 1e-8" /usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["outcome"] == "done" and d["drift_max"] < 1e-8))' "$T/exp.json"

# The other two laws: the softmax ratio law (linear activation) and the
# linear-attention closed form (asinh), same bound and reason.
for kinds in "softmax --activation linear" "linear --activation linear --c 0.5"; do
    "$BIN" joma integrate $EX/joma-mu.txt --attention $kinds --t-end 0.5 --format json >"$T/law.json"
    check "drift of $kinds below 1e-8" /usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["outcome"] == "done" and d["drift_max"] < 1e-8))' "$T/law.json"
done
# Where no law is defined the drift is not measured: nan (CSV), null (JSON),
# never the 0 of a law held exactly.  A ratio law over one component always
# holds; a nonlinear component that starts at its mu has no F; Delta = 0 has
# no closed form.  (Each read 0.)
"$BIN" joma integrate --mu 1 --activation linear --n-out 3 --t-end 1 --format json >"$T/one.json"
check "softmax over one component: no drift" /usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["drift"] == [None] * 3 and d["drift_max"] is None))' "$T/one.json"
"$BIN" joma integrate --mu 1,2 --v0 1,2 --n-out 3 --t-end 1 >"$T/atmu.csv"
check "nonlinear, v0 = mu: drift nan in every row" awk -F, '/^[0-9]/ && $NF != "nan" { bad = 1 } END { exit bad }' "$T/atmu.csv"
"$BIN" joma integrate --mu 0,0 --activation linear --attention linear --n-out 3 --t-end 1 >"$T/zero.csv"
check "linear attention at z = 0: entropy and drift nan" awk -F, '/^[0-9]/ && !($(NF-1) == "nan" && $NF == "nan") { bad = 1 } END { exit bad }' "$T/zero.csv"
expect 2 "linear attention with c < 0" -- $J integrate $EX/joma-mu.txt --attention linear --c -1
grep_in err "c\[0\] = z^2 - v^2 >= 0, got -1" "c < 0: the quantity named"

# ---- generate, and integrate on what it wrote ------------------------------
expect 0 "generate toy" -- $J generate --task toy --out "$T/toy"
grep_in toy.mu "^# attncheck joma integrate FILE --activation nonlinear" "the toy file says how the claims integrate it"
TOYOPTS="--activation nonlinear --attention softmax --T 3 --v0 0.05 --t-end 100 --n-out 51"
$J integrate "$T/toy.mu" $TOYOPTS >"$T/file.csv"
$J integrate --builtin toy $TOYOPTS >"$T/mem.csv"
check "integrate on the exported toy mu = the in-memory mu, byte for byte" cmp -s "$T/file.csv" "$T/mem.csv"
# §3 item 2: the toy's entropy ends near 1.549 (Euler at eta 0.02 vs the
# flow: the difference is O(eta), 1e-2 allows it).
check "toy entropy at t = 100 near the reference 1.549" awk -F, '/^100,/ { e = $(NF-1) } END { exit !(e > 1.539 && e < 1.559) }' "$T/file.csv"
expect 2 "generate toy with another seed" -- $J generate --task toy --seed 3 --out "$T/toy3"
grep_in err "seed 0 only" "the toy exists for seed 0 only"
absent "$T/toy3.mu" "a refused generate"
expect 2 "generate an unknown task" -- $J generate --task nosuch --out "$T/x"
grep_in err "not one of: toy, synthetic" "the message lists the tasks"
expect 2 "generate without --out" -- $J generate --task toy
expect 0 "generate synthetic" -- $J generate --task synthetic --variant gaussian --seed 4 --out "$T/syn"
check "20 rows of 20 numbers and a label" [ "$(grep -c '| [0-9]*$' "$T/syn.data")" -eq 20 ]

# ---- train -------------------------------------------------------------------
expect 0 "train on the example tokens" -- $J train --tokens $EX/joma-tokens.txt --steps 200
grep_in out "M = 16 context tokens, K = 7 labels" "the sizes of the example"
grep_in out "H_train" "the theory-vs-training table"
expect 0 "train exp attention, csv" -- $J train --tokens $EX/joma-tokens.txt --attention exp --steps 100 --format csv
grep_in out "^step,t,loss,entropy_train,entropy_ode,invariant_drift_train,invariant_drift_ode," "train CSV header"
# Exp attention conserves I exactly along the flow: the ODE column stays at
# rounding (1e-10 allows rk8pd's local 1e-10 control), SGD drifts by O(lr).
check "exp: the flow's invariant drift below 1e-10" awk -F, 'NR > 1 && !($7 < 1e-10) { bad = 1 } END { exit bad }' "$T/out"
expect 0 "train on generated synthetic data, json" -- $J train --data "$T/syn.data" --steps 50 --format json --out "$T/tr.json"
grep_in tr.json '"entropy_ode"' "train JSON has the ODE column"
grep_in tr.json '"v_train"' "train JSON has the v components"
# Linear attention from a small start has b = x z < 0, so no entropy: the
# rows are still there, with null.
expect 0 "train linear attention, json" -- $J train --tokens $EX/joma-tokens.txt --attention linear --steps 20 --format json
grep_in out '"entropy_train": null' "a NaN entropy is null, and its row is kept"

# ---- bad input: message with file, line or quantity; exit 2; nothing written
printf '1\nnan\n2\n' >"$T/nan.mu"
expect 2 "mu with NaN" -- $J integrate "$T/nan.mu" --out "$T/o1.csv"
grep_in err "nan.mu:2: 'nan' is not a finite number" "NaN: file and line"
absent "$T/o1.csv" "a NaN mu"
expect 2 "mu of the wrong length" -- $J integrate $EX/joma-mu.txt --M 10 --out "$T/o2.csv"
grep_in err "joma-mu.txt: 8 values, but --M is 10" "wrong length names the file and both counts"
absent "$T/o2.csv" "a wrong length"
expect 2 "--v0 of the wrong length" -- $J integrate $EX/joma-mu.txt --v0 1,2,3
grep_in err "\-\-v0: 3 values, but the drive" "--v0 length"
expect 2 "a tolerance that cannot be met" -- $J integrate $EX/joma-mu.txt --rtol 1e-17 --out "$T/o3.csv"
grep_in err "rtol 1e-17 cannot be met in double precision" "the tolerance is named"
absent "$T/o3.csv" "an unmeetable tolerance"
expect 2 "a bad method" -- $J integrate $EX/joma-mu.txt --method euler
printf '1\n\377\n' >"$T/bin.mu"
expect 2 "mu not text" -- $J integrate "$T/bin.mu"
grep_in err "bin.mu:2: not a text file" "binary mu: file and line"
expect 2 "a missing mu file" -- $J integrate "$T/none.mu"
grep_in err "none.mu: No such file" "missing file named"

printf '1\n1\n' >"$T/two.mu"
expect 2 "softmax weights that sum to a subnormal" -- $J integrate "$T/two.mu" --x 0,1e-320
grep_in err "\-\-x: the weights sum to 9.99989e-321, outside the normal doubles" "the subnormal sum named"
expect 2 "weights that sum past the largest double" -- $J integrate "$T/two.mu" --x 1e308,1e308
grep_in err "\-\-x: the weights sum to inf" "the infinite sum named"

# ---- endings short of the end time: exit 1, the rows reached written whole
expect 1 "blow-up inside the span" -- $J integrate --mu 1,0.5 --activation linear --attention exp --t-end 2 --out "$T/blow.csv"
grep_in err "blow-up inside the requested span: closed-form t\* = 1.25331413731" "blow-up: t* named"
grep_in err "at t = 1.25331413" "blow-up: the time reached"
grep_in blow.csv "^# outcome: step_underflow" "the partial trajectory records its ending"
check "blow-up: rows only before t*" awk -F, '/^[0-9]/ && $1 > 1.2533141373 { bad = 1 } END { exit bad }' "$T/blow.csv"
expect 1 "step budget exhausted" -- $J integrate $EX/joma-mu.txt --max-steps 3 --format json --out "$T/budget.json"
grep_in err "step budget exhausted before the end time at t = " "budget: the time reached"
grep_in budget.json '"outcome": "max_steps"' "budget: the JSON records the ending"
# Stiff: lambda = 1e5 makes the explicit stepper's stable step 1e-5 or so.
expect 1 "a stiff system with an explicit stepper" -- $J integrate $EX/joma-mu.txt --lambda 1e5 --max-steps 2000 --t-end 5
grep_in err "may be stiff: try --method msbdf" "stiff: the message suggests an implicit stepper"
expect 0 "the stiff system with msbdf" -- $J integrate $EX/joma-mu.txt --lambda 1e5 --method msbdf --max-steps 2000 --t-end 5

# token files
: >"$T/empty.txt"
expect 2 "empty token file" -- $J train --tokens "$T/empty.txt" --out "$T/o4.txt"
grep_in err "empty.txt: empty file" "empty token file named"
absent "$T/o4.txt" "an empty token file"
printf 'a b c\n\n' >"$T/blank.txt"
expect 2 "empty line" -- $J train --tokens "$T/blank.txt"
grep_in err "blank.txt:2: empty line" "empty line: file and line"
printf 'a b c\nd\n' >"$T/one.txt"
expect 2 "one-token line" -- $J train --tokens "$T/one.txt"
grep_in err "one.txt:2: one token" "one-token line: file and line"
printf 'a b c\nd \303\050 e\n' >"$T/utf.txt"
expect 2 "invalid UTF-8" -- $J train --tokens "$T/utf.txt"
grep_in err "utf.txt:2: not a text file (byte 0xc3 at column 3)" "invalid UTF-8: file, line, column"
printf '0.5 0.5 | 0\n1 0 0 | 1\n' >"$T/ragged.data"
expect 2 "ragged data" -- $J train --data "$T/ragged.data"
grep_in err "ragged.data:2: 3 numbers, but the first row (line 1) has 2" "ragged: file and line"
expect 2 "train with both inputs" -- $J train --tokens $EX/joma-tokens.txt --data "$T/syn.data"
expect 1 "training that diverges" -- $J train --tokens $EX/joma-tokens.txt --lr 1000 --steps 50
grep_in err "training diverged" "divergence named"
# a loss that is not finite before any step is the start's overflow, not a
# divergence ("lower --lr" cured nothing): exit 2, nothing written
expect 2 "a start that overflows" -- $J train --tokens $EX/joma-tokens.txt --attention exp --init-scale 1e6 --out "$T/ovf.txt"
grep_in err "before any step: the exp attention model overflows at --init-scale 1e+06; lower --init-scale" "the start's overflow named"
absent "$T/ovf.txt" "an overflowing start"
# A finite but huge start (loss 3.8e37): the exp flow collapses at once; the
# message says why and what to change (it gave the ODE's words alone).
expect 1 "an exp flow that collapses at once" -- $J train --tokens $EX/joma-tokens.txt --attention exp --init-scale 30 --steps 50
grep_in err "the joint flow stopped before t = 0.1 (step 1): .*exp attention's flow blows up in finite time.*a smaller --init-scale or --attention softmax" \
    "the exp flow's collapse: cause and remedy"

# MEMCAP keeps a regression from taking the machine's memory (2 GB of
# address space); not under AddressSanitizer, which reserves terabytes.
if ldd "$BIN" 2>/dev/null | grep -q libasan; then MEMCAP=; else MEMCAP="ulimit -v 2000000;"; fi
# Memory follows the data, not its largest id: K is the number of distinct
# labels (class k the k-th smallest), so rows "1 | 4095" alone make K = 1
# and train at once, and the output names the label of each class (K was
# 1 + the largest label: 10000 such rows were refused as 41 million dense
# numbers, and one wide row asked for 4.5 GB).
awk 'BEGIN { for (i = 0; i < 10000; i++) print "1 | 4095" }' >"$T/tall.data"
expect 0 "many rows of one large label: K = 1" -- timeout 20 $J train --data "$T/tall.data" --steps 1
grep_in out "M = 1 context tokens, K = 1 labels" "one distinct label is one class"
grep_in out "^classes (output k: label): 0: 4095$" "class 0 is named by its label"
printf '0.25 0.75 | 9007199254740991\n1 0 | 7\n0 1 | 0007\n' >"$T/big-label.data"
expect 0 "labels up to 2^53 - 1, leading zeros" -- $J train --data "$T/big-label.data" --steps 2 --format json
check "JSON labels: the distinct labels, increasing" /usr/bin/python3 -c '
import json, sys; d = json.load(sys.stdin); sys.exit(not (d["K"] == 2 and d["labels"] == [7, 9007199254740991]))' <"$T/out"
printf '1 0 | 9007199254740992\n' >"$T/over.data"
expect 2 "a label past 2^53 - 1" -- $J train --data "$T/over.data"
grep_in err "over.data:1: label '9007199254740992' is not an integer from 0 to 9007199254740991" "the label and its range"
# The joint flow's unknowns M + K M + K stay bounded (2^20): 256 rows of
# 4096 numbers and 256 distinct labels are refused with the counts.
awk 'BEGIN { for (k = 0; k < 256; k++) { for (i = 0; i < 4095; i++) printf "0 "; print "1 | " 1000 * k } }' >"$T/wide.data"
expect 2 "wide rows and many labels" -- timeout 20 $J train --data "$T/wide.data" --steps 1
grep_in err "wide.data: M = 4096 numbers per row and K = 256 distinct labels .* 1052928 unknowns, more than 1048576" \
    "the joint flow's size: file, M, K, count, bound"
# The dense samples N (M + K) stay bounded (2^25): 2^20 rows over 33 labels.
awk 'BEGIN { for (i = 0; i < 1048576; i++) print "1 | " i % 33 }' >"$T/dense.data"
expect 2 "many rows over many labels" -- timeout 20 $J train --data "$T/dense.data" --steps 1
grep_in err "dense.data: N x (M + K) = 1048576 x (1 + 33) = 35651584 numbers held dense .*AC_JOMA_IO_MAX_DENSE" \
    "the dense samples' size: file, N, M, K, bound"
rm -f "$T/dense.data" "$T/wide.data"
# The cost of a training run is bounded before it starts: steps x N K (M+1)
# (SGD, 2^34) and N K M (one evaluation of the flow, 2^23), each refused
# with the counts (before, --steps 10^8 on the example ran for many minutes).
expect 2 "--steps beyond the cost bound" -- timeout 10 $J train --tokens $EX/joma-tokens.txt --steps 100000000
grep_in err "steps x N x K x (M + 1) = 100000000 x 12 x 7 x 17 = 142800000000 .* at most --steps 12030720" \
    "the SGD cost: steps, N, K, M + 1, bound, the largest allowed"
awk 'BEGIN { for (i = 0; i < 256; i++) print "c" i, "d" (i * 7) % 256, "l" i }' >"$T/flow.tok"
expect 2 "a flow beyond the cost bound" -- timeout 10 $J train --tokens "$T/flow.tok" --steps 1
grep_in err "flow.tok: N x K x M = 256 x 256 x 512 = 33554432, the cost of one evaluation of the joint flow, exceeds 8388608" \
    "the flow cost: N, K, M, bound"
# The whole flow is bounded too: its step budget is 10^6 steps, but at most
# 2^35 / (13 N K M) (it was 10^6 at every size: a day for a stiff flow at
# N K M = 2^23).  N K M = 128 x 64 x 128 = 2^20 here: floor(2^35 / 13 / 2^20).
awk 'BEGIN { for (i = 0; i < 128; i++) print "c" i, "c" (i * 7) % 128, "l" i % 64 }' >"$T/budget.tok"
expect 0 "a flow budget scaled by N K M" -- timeout 20 $J train --tokens "$T/budget.tok" --steps 1 --format json --out "$T/budget.json"
check "the flow's budget is 2^35 / (13 N K M)" /usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
sys.exit(not (d["M"] == 128 and d["K"] == 64 and d["ode_max_steps"] == 2**35 // (13 * 128 * 64 * 128)))' "$T/budget.json"
$J train --tokens $EX/joma-tokens.txt --steps 5 --format json --out "$T/small.json"
check "the default budget at a small N K M" /usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["ode_max_steps"] == 1000000 and 0 < d["ode_steps"] <= d["ode_nfev"]))' "$T/small.json"
# train --help states the bounds the run checks (2^34 SGD, 2^23 a flow evaluation, 2^20 unknowns).
expect 0 "train --help" -- $J train --help
grep_in out "steps x N K (M + 1) <= 2^34" "train's help: the SGD cost bound"
grep_in out "N K M <= 2^23 a flow evaluation" "train's help: the flow cost bound"
grep_in out "M + K M + K <= 2^20 flow unknowns" "train's help: the flow size bound"
# integrate: the implicit steppers' dense Jacobian (M^2, M^3) is bounded up
# front (M = 4000 with msbdf ran for minutes), and the default step budget
# shrinks with M (2^29 component-steps), reported in the output.
awk 'BEGIN { for (i = 0; i < 4000; i++) print 1 + i % 7 }' >"$T/m4000.mu"
expect 2 "an implicit stepper on a large drive" -- timeout 10 $J integrate "$T/m4000.mu" --method msbdf
grep_in err "m4000.mu: M = 4000 components: --method msbdf factors a dense M x M Jacobian .* at most 2048" \
    "the implicit stepper's size: file, M, bound"
awk 'BEGIN { for (i = 0; i < 1048576; i++) print 1 }' >"$T/m1M.mu"
expect 0 "the default budget at M = 2^20" -- timeout 20 $J integrate "$T/m1M.mu" --t-end 0 --n-out 1 --out "$T/m1M.csv"
grep_in m1M.csv "^# max_steps: 512$" "the default budget is 2^29 / M steps"
rm -f "$T/m1M.mu" "$T/m1M.csv"
expect 0 "the full default budget at small M" -- $J integrate $EX/joma-mu.txt --t-end 1 --n-out 2
grep_in out "^# max_steps: 1000000$" "the default budget at M = 8"
# Spans: one that is not a finite double is refused; one so long that the
# step floor (100 ulps of the span) is above any step ends at once, saying so.
expect 2 "a span that overflows" -- $J integrate --mu 1 --t0 -1e308 --t-end 1e308
grep_in err "the span t-end - t0 is not a finite double" "the overflowing span named"
expect 1 "a span too long for the step floor" -- $J integrate --mu 1 --t-end 1e300 --n-out 3
grep_in err "or a span too long: the step floor is 100 ulps of the span left, |t-end - t| = 1e+300" "the long span named"
# A tolerance too tight underflows at t0, in a span that ends before the exp
# blow-up (t* = sqrt(pi/2)): t* is named but not blamed (it said "the solution
# is singular at t*: shorten --t-end").
expect 1 "a tolerance too tight before t*" -- $J integrate --mu 1 --activation linear --attention exp --t-end 1.25 \
    --rtol 8.9e-16 --atol 1e-300 --method rk4imp --n-out 3
grep_in err "closed-form blow-up time t\* = [0-9.]*; a singularity, a tolerance too tight" "t* beyond the span: every cause"
check "t* beyond the span is not blamed" sh -c '! grep -q "singular at t" "$1"' sh "$T/err"
expect 1 "the exp blow-up inside the span" -- $J integrate --mu 1 --activation linear --attention exp --t-end 2 --n-out 3
grep_in err "blow-up inside the requested span: closed-form t\* = [0-9.]* < --t-end 2;.*singular at t\*: end --t-end before it" \
    "t* inside the span is blamed"
# The trajectory is held until the end: output times x M at most 2^27
# numbers, refused at once beyond (200 components x 10^6 times asked for
# 1.6 GB and a 5 GB CSV).
mu200=$(awk 'BEGIN { for (i = 0; i < 200; i++) printf "%s1", i ? "," : "" }')
expect 2 "a trajectory beyond its bound" -- \
    sh -c "$MEMCAP exec timeout 20 $BIN joma integrate --mu $mu200 --n-out 1000000 --t-end 1 --out \"$T/big.csv\""
grep_in err "1000000 output times x M = 200 components = 200000000 numbers exceed 134217728" "the trajectory's size and the bound"
absent "$T/big.csv" "a refused trajectory"
# An --out in a missing directory is refused before training, not after.
expect 2 "train --out in a missing directory, refused at once" -- \
    timeout 10 $J train --tokens $EX/joma-tokens.txt --steps 100000000 --out "$T/no/dir/t.json"
grep_in err "t.json: cannot create a temporary file beside it" "the missing directory named"
absent "$T/no" "a refused --out"

# Backwards in time the exp/linear system is the forward one with -Delta: at
# v0 = 0 its blow-up lies at exactly minus the forward t* (erf(0) = 0), and
# the message says the span holds it (t_star used to be inf backwards).
$J integrate --mu 1,0.5 --activation linear --attention exp --t-end 2 >"$T/fwd.csv" 2>/dev/null
expect 1 "a backward blow-up" -- $J integrate --mu 1,0.5 --activation linear --attention exp --t-end -2
fwd=$(sed -n 's/^# t_star: //p' "$T/fwd.csv")
check "backward t_star is minus the forward one ($fwd)" grep -qx -- "# t_star: -$fwd" "$T/out"
grep_in err "blow-up inside the requested span: closed-form t\* = -$fwd > --t-end -2" "the backward blow-up named"
# --times: the run ends at the last time (so a backward list is backward
# whatever --t-end says), and a list that turns back is refused by entry.
expect 1 "a backward --times list" -- $J integrate --mu 1,0.5 --activation linear --attention exp --times 0,-0.5,-2
check "--times backward: t_star is the backward one" grep -qx -- "# t_star: -$fwd" "$T/out"
expect 2 "--times that turn back" -- $J integrate --mu 1 --times 0,2,1
grep_in err "--times: entry 3 (1) goes back past entry 2 (2)" "the entry that turns back"
expect 2 "--times on both sides of t0" -- $J integrate --mu 1 --times -1,2
grep_in err "--times: entry 1 (-1) lies on the other side of --t0 = 0" "the entry on the wrong side"

# The JSON keys docs/joma.md lists are exactly those of real outputs, both
# ways (tests/doc_keys.py): integrate's object, train's object and its rows.
KEYS="/usr/bin/python3 $(dirname "$0")/doc_keys.py"
$J integrate $EX/joma-mu.txt --t-end 1 --n-out 3 --format json --out "$T/keys-int.json"
check "integrate's JSON keys are the documented ones" $KEYS prose docs/joma.md '**JSON output**' '\n\n' "$T/keys-int.json"
$J integrate $EX/joma-mu.txt --t-end 1 --n-out 3 --out "$T/keys-int.csv"
check "integrate's CSV comment keys are the documented ones" \
    $KEYS comments docs/joma.md '**CSV output**: comment lines' ' then the header' "$T/keys-int.csv"
$J train --tokens $EX/joma-tokens.txt --steps 5 --format json --out "$T/keys-train.json"
check "train's JSON keys are the documented ones" $KEYS prose docs/joma.md 'The JSON object also holds' '\n\n' "$T/keys-train.json"
check "train's row keys are the documented columns" $KEYS column docs/joma.md '`joma train`' "$T/keys-train.json" rows

# A signal while the output is written (the run stalls there, test hook):
# the temporary is removed, the old --out stays, the signal ends the run
# (before, the file was committed whole and then the process died).
signal_while_writing integrate "$T/sig/out.csv" -- $J integrate $EX/joma-mu.txt --out "$T/sig/out.csv"

check "no temporary left behind" [ -z "$(find "$T" -name '.attncheck-tmp.*' -o -name '.attncheck-set.*')" ]
# generate --task hblt writes the samples joma.hierarchy's trial draws: the
# siblings' pooled P(y_l = 1 | y_m = 1), recomputed here from the file, is the
# trial's recorded cond_sample[0] to the last bit (integer counts, one
# division).
expect 0 "generate hblt" -- $J generate --task hblt --variant quick --seed 3 --out "$T/tree"
expect 0 "the claim's trial 0 at seed 3" -- "$BIN" run joma.hierarchy --size quick --seed 3 --trials 0:1 --records "$T/tree.json"
rec=$(sed -n 's/.*"cond_sample": *\[\([^],]*\).*/\1/p' "$T/tree.json")
got=$(awk '!/^#/ { for (l = 1; l <= NF; l += 2) { b += $l * $(l + 1) }; for (l = 1; l <= NF; l++) g += $l }
           END { printf "%.17g", 2 * b / g }' "$T/tree.hblt")
check "hblt export is the claim's sample (file $got, record $rec)" awk -v a="$got" -v b="$rec" 'BEGIN { exit !(a + 0 == b + 0) }'
expect 2 "hblt: a bad size" -- $J generate --task hblt --variant huge --seed 3 --out "$T/tree2"
absent "$T/tree2.hblt" "a refused hblt export"

# --out naming the input (mu file, token file, or a link to one) is refused: it would replace it.
cp "$EX/joma-mu.txt" "$EX/joma-tokens.txt" "$T/"
ln -s joma-mu.txt "$T/mu-link.txt"
for o in joma-mu.txt mu-link.txt; do
    expect 2 "integrate --out onto its mu file $o" -- $J integrate "$T/joma-mu.txt" --out "$T/$o"
    grep_in err "is the input file" "integrate: the clash with $o named"
done
check "the mu file is untouched" cmp -s "$EX/joma-mu.txt" "$T/joma-mu.txt"
expect 2 "train --out onto its token file" -- $J train --tokens "$T/joma-tokens.txt" --out "$T/joma-tokens.txt"
grep_in err "is the input file" "train: the clash named"
check "the token file is untouched" cmp -s "$EX/joma-tokens.txt" "$T/joma-tokens.txt"

cli_summary cli_joma
