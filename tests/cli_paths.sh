#!/bin/sh
# Command-line checks of attncheck paths (solve, sample, generate): every
# command on the hand-written example and on a generated task, each ending
# (converged, step limit, not mixed), and every kind of bad input, each with
# its message checked to name the file and the key, and nothing left behind.
# The bit-for-bit comparison of a generated task with the claims' in-memory
# solve is tests/test_paths_io.c (markov_task_through_the_cli_...).
. "$(dirname "$0")/clilib.sh"
EX=$(cd "$(dirname "$0")/../examples" && pwd)
TASK=$EX/paths-task.json
PY=${PYTHON:-python3}

# --- help ---------------------------------------------------------------------
expect 0 "paths --help" -- "$BIN" paths --help
grep_in out "solve" "paths usage lists solve"
expect 2 "paths without a command" -- "$BIN" paths
expect 2 "paths unknown command" -- "$BIN" paths fit
for c in solve sample generate; do
    expect 0 "paths $c --help" -- "$BIN" paths $c --help
    grep_in out "usage: attncheck paths $c" "paths $c usage"
done
for c in solve sample; do
    "$BIN" paths $c --help >"$T/out" 2>&1
    grep_in out "more than 4.29 GB or 30 minutes" "paths $c --help states the memory and time bounds"
done
"$BIN" --help >"$T/out" 2>&1
grep_in out "paths" "the top-level usage lists paths"

# --- solve on the hand-written example ---------------------------------------
expect 0 "solve the example" -- "$BIN" paths solve --task "$TASK"
grep_in out "minimiser: converged" "solve prints the ending"
grep_in out "U_1 (4 x 4" "solve prints U_1"
grep_in out "U_2 (2 x 2" "solve prints U_2"
grep_in out "head scores" "solve prints head scores"
grep_in out "accuracy 1.0000" "the example is learnt"
expect 0 "solve json to a file" -- "$BIN" paths solve --task "$TASK" --format json --out "$T/sol.json"
check "solve --out leaves stdout empty" [ ! -s "$T/out" ]
for k in version command outcome iterations grad_norm eps_grad S U_a U head_scores mean variance variance_mean accuracy gp_accuracy mse settings; do
    grep -q "\"$k\"" "$T/sol.json" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: solve json lacks key $k"; }
done
check "solve json is JSON" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["outcome"] == "converged" and len(d["U"]) == 2 and len(d["test"]["mean"]) == 4' "$T/sol.json"

# the step-limit ending: the result is written, a warning, exit 1
expect 1 "solve stopped by --max-iter" -- "$BIN" paths solve --task "$TASK" --max-iter 1 --format json --out "$T/lim.json"
grep_in err "warning: the minimiser ended with 'iteration limit reached'" "step-limit warning"
grep_in err "paths-task.json" "step-limit warning names the task"
check "step-limit result written whole" "$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["outcome"] == "iteration limit reached"' "$T/lim.json"
expect 2 "solve --max-iter -1" -- "$BIN" paths solve --task "$TASK" --max-iter -1
expect 2 "solve --eps-grad x" -- "$BIN" paths solve --task "$TASK" --eps-grad x
expect 2 "solve --format csv" -- "$BIN" paths solve --task "$TASK" --format csv
expect 2 "solve without --task" -- "$BIN" paths solve
expect 2 "solve with a stray argument" -- "$BIN" paths solve --task "$TASK" extra
expect 2 "solve --out a directory" -- "$BIN" paths solve --task "$TASK" --out "$T"

# --- sample ---------------------------------------------------------------------
expect 0 "sample the example (defaults: mixed)" -- "$BIN" paths sample --task "$TASK" --seed 3
grep_in out "mixed (every R-hat" "sample prints the verdict"
grep_in out "R-hat" "sample prints R-hat"
grep_in out "ESS" "sample prints ESS"
expect 0 "sample json" -- "$BIN" paths sample --task "$TASK" --format json --out "$T/smp.json"
check "sample json holds a diagnostic beside each number" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["test"]
assert len(t["mean"]) == len(t["rhat"]) == len(t["ess"]) == 4
for k in ("accuracy", "variance_mean"):
    assert set(("value", "rhat", "ess", "mixed")) <= set(t[k])
u = d["U_1"]
assert len(u["value"]) == len(u["rhat"]) == len(u["ess"]) == 4
assert d["mixed"] is True' "$T/smp.json"
expect 0 "sample replays from its seed" -- "$BIN" paths sample --task "$TASK" --format json --out "$T/smp2.json"
check "same seed, same numbers (but the time and the command line)" sh -c "grep -v -e '\"seconds\"' -e '\"command\"' '$T/smp.json' >'$T/a'; grep -v -e '\"seconds\"' -e '\"command\"' '$T/smp2.json' >'$T/b'; cmp -s '$T/a' '$T/b'"
expect 1 "sample too short to mix" -- "$BIN" paths sample --task "$TASK" --chains 2 --burn 0 --sweeps 4
grep_in err "have not mixed" "not-mixed warning"
grep_in out "NOT MIXED" "not-mixed numbers are marked"
expect 2 "sample --sweeps 3" -- "$BIN" paths sample --task "$TASK" --sweeps 3
expect 2 "sample --chains 0" -- "$BIN" paths sample --task "$TASK" --chains 0
sed 's/"N": 8,/"N": 8.5,/' "$TASK" >"$T/frac.json"
expect 0 "solve takes a real width" -- "$BIN" paths solve --task "$T/frac.json"
expect 2 "sample refuses a real width" -- "$BIN" paths sample --task "$T/frac.json" --out "$T/frac.out"
grep_in err "frac.json: N:" "real width message names the file and the key"
absent "$T/frac.out" "refused sample"

# --- generate -------------------------------------------------------------------
expect 0 "generate markov (small)" -- "$BIN" paths generate --task markov --train 20 --test 10 --width 30 --out "$T/mk.json"
expect 0 "solve the generated task" -- "$BIN" paths solve --task "$T/mk.json" --format json --out "$T/mks.json"
check "generated task: 4 paths, width 30" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["settings"]
assert s["paths"] == 4 and s["N"] == [30, 30, 30] and s["P"] == 20 and s["Pt"] == 10 and s["N0"] == 231 and s["ntok"] == 31
assert d["test"]["accuracy"] is not None' "$T/mks.json"
expect 0 "generate again, same seed" -- "$BIN" paths generate --task markov --train 20 --test 10 --width 30 --out "$T/mk2.json"
check "generate is deterministic" cmp -s "$T/mk.json" "$T/mk2.json"
expect 0 "generate another seed" -- "$BIN" paths generate --task markov --train 20 --test 10 --seed 28 --out "$T/mk3.json"
check "another seed, another task" sh -c "! cmp -s '$T/mk.json' '$T/mk3.json'"
expect 1 "sample the generated task briefly (not mixed)" -- "$BIN" paths sample --task "$T/mk.json" --chains 2 --burn 2 --sweeps 4
expect 2 "generate an unknown task" -- "$BIN" paths generate --task omniglot --out "$T/g.json"
grep_in err "'omniglot' is not a task" "unknown task message"
expect 2 "generate without --out" -- "$BIN" paths generate --task markov
expect 2 "generate --seed 0" -- "$BIN" paths generate --task markov --seed 0 --out "$T/g.json"
expect 2 "generate --train 3 (odd)" -- "$BIN" paths generate --task markov --train 3 --out "$T/g.json"
grep_in err "even" "odd size message"
expect 2 "generate --width 0" -- "$BIN" paths generate --task markov --width 0 --out "$T/g.json"
expect 2 "generate into a missing directory" -- "$BIN" paths generate --task markov --train 2 --test 2 --out "$T/no/such/g.json"
absent "$T/g.json" "refused generate"

# --- bad task files: each refused with exit 2, naming the file and the key -------
# One Python run writes every bad file: NAME, the key its message must name,
# and the edit of d (the parsed example) that makes it (Python starts slowly
# on a loaded machine, so once).
cat >"$T/bad.py" <<'PYEOF'
import json, sys
task, out = sys.argv[1], sys.argv[2]
n = 3  # tokens per example in the example task
A = [[0.5 if t == 0 else 0.25 for t in range(n)] for s in range(n)]  # rows sum to 1, columns do not
def matrices(d):
    d["L"] = 1; d["H"] = [1]; d["N"] = 8
    d["attention"] = {"kind": "matrices", "train": [[[A]] for _ in d["train"]["x"]],
                      "test": [[[A]] for _ in d["test"]["x"]]}
def npd(d):
    d["T"] = 1e-300
    d["train"]["x"][1] = d["train"]["x"][0]
cases = [
    ("t-zero", "T: temperature 0", lambda d: d.update(T=0)),
    ("t-negative", "T: temperature -1", lambda d: d.update(T=-1)),
    ("t-nan", ":1:", lambda d: d.update(T=float("nan"))),
    ("x-inf", ":1:", lambda d: d["train"]["x"][0][0].__setitem__(0, float("inf"))),
    ("no-T", 'missing key "T"', lambda d: d.pop("T")),
    ("no-attention", 'missing key "attention"', lambda d: d.pop("attention")),
    ("h-length", "H: expected an array of L = 2", lambda d: d.update(H=[2])),
    ("too-many-paths", "exceeds 4096", lambda d: d.update(L=3, H=[20, 20, 20], N=8)),
    ("width-zero", "N: width n_2 = 0", lambda d: d.update(N=[8, 8, 0])),
    ("ragged-token", r"train.x\[2\]\[1\]: 3 numbers, expected 4",
     lambda d: d["train"]["x"][2].__setitem__(1, [1, 0, 1])),
    ("short-example", r"test.x\[1\]: 2 rows, expected 3",
     lambda d: d["test"]["x"].__setitem__(1, d["test"]["x"][1][:2])),
    ("labels", "train.y: 5 numbers, expected 6", lambda d: d["train"].update(y=d["train"]["y"][:5])),
    ("q-width", r"attention.heads\[1\]\[1\].Q\[0\]: 3 numbers, expected 4",
     lambda d: d["attention"]["heads"][1][1].update(Q=[[0, 1, 1]])),
    ("k-rows", r"attention.heads\[0\]\[1\].K: 1 rows, expected 2",
     lambda d: d["attention"]["heads"][0][1].update(K=[[1, 0, 0, 0]])),
    ("kind", 'attention.kind: expected "qk"', lambda d: d["attention"].update(kind="softmax")),
    ("unknown-key", 'unknown key "temperature"', lambda d: d.update(temperature=1)),
    ("readout", "readout: readout token 3 is outside 0..2", lambda d: d.update(readout=3)),
    ("string-number", r"train.y\[0\]: expected a number", lambda d: d["train"]["y"].__setitem__(0, "1")),
    ("transposed", "is the matrix transposed", matrices),
    ("npd", "T: K + T I", npd),
]
with open(out, "w") as f:
    for name, key, edit in cases:
        d = json.load(open(task))
        edit(d)
        json.dump(d, open(sys.argv[3] + "/" + name + ".json", "w"), allow_nan=True)
        f.write(name + "\t" + key + "\n")
PYEOF
"$PY" "$T/bad.py" "$TASK" "$T/bad.list" "$T"
while IFS='	' read -r name key; do
    for c in solve sample; do
        [ "$name" = npd ] && [ "$c" = sample ] && continue # the sampler's T is fine there
        expect 2 "$c: $name" -- "$BIN" paths $c --task "$T/$name.json" --out "$T/$name.out"
        grep_in err "$name.json" "$c: $name: message names the file"
        grep_in err "$key" "$c: $name: message names the key"
        absent "$T/$name.out" "$c: $name"
    done
done <"$T/bad.list"
grep_in err "not positive definite" "non-PD message says what failed"
printf '{"L": 1, "H": [1], "N": 4, "T": 0.1, ' >"$T/trunc.json"
for c in solve sample; do
    expect 2 "$c: truncated JSON" -- "$BIN" paths $c --task "$T/trunc.json"
    grep_in err "trunc.json:1:" "$c: truncated JSON: file:line:column"
done
expect 2 "solve: missing file" -- "$BIN" paths solve --task "$T/none.json"
grep_in err "none.json: cannot open" "missing file message"
expect 2 "solve: a directory as task" -- "$BIN" paths solve --task "$T"

# --- signalled while writing: the old output intact, no temporary left --------
mkdir -p "$T/k"
echo old >"$T/k/sol.json"
echo old >"$T/k/task.json"
for cmd in solve generate; do
    if [ $cmd = solve ]; then
        file=sol.json
        term_when "$T/k/.attncheck-tmp.*" $cmd -- "$BIN" paths solve --task "$TASK" --format json --out "$T/k/sol.json"
    else
        file=task.json
        term_when "$T/k/.attncheck-tmp.*" $cmd -- "$BIN" paths generate --task markov --train 2 --test 2 --out "$T/k/task.json"
    fi
    check "$cmd killed by SIGTERM: exit $st, not 143" [ $st -eq 143 ]
    check "$cmd killed: the old $file intact" grep -qx old "$T/k/$file"
    check "$cmd killed: no temporary left" [ -z "$(ls -A "$T/k" | grep -v -x -e sol.json -e task.json)" ]
done

# nothing half-written anywhere: no temporaries in the output directory
check "no temporary files left" sh -c "! ls -a '$T/k' | grep -q 'attncheck-tmp'"

# MEMCAP keeps a regression from taking the machine's memory (2 GB of
# address space); not under AddressSanitizer, which reserves terabytes.
if ldd "$BIN" 2>/dev/null | grep -q libasan; then MEMCAP=; else MEMCAP="ulimit -v 2000000;"; fi
# --- sizes that the file does not pay for, and an --out refused up front ---------
# qk attention is computed, one example at a time, as nheads x ntok x ntok
# numbers from a few per token: 20000 one-feature tokens (a 200 kB file) would
# ask for 3.2 GB.  Refused at once with the bound (timeout: before the bound
# the run took minutes).
awk 'BEGIN { printf "{\"L\": 1, \"H\": [1], \"N\": 10, \"T\": 0.1, \"train\": {\"x\": [";
             for (e = 0; e < 2; e++) { printf "%s[", e ? "," : ""; for (i = 0; i < 20000; i++) printf "%s[1]", i ? "," : ""; printf "]" }
             printf "], \"y\": [1, -1]}, \"attention\": {\"kind\": \"qk\", \"heads\": [[{\"Q\": [[1]], \"K\": [[1]]}]]}}\n" }' >"$T/longseq.json"
expect 2 "20000 tokens: attention beyond its bound" -- timeout 20 "$BIN" paths solve --task "$T/longseq.json"
grep_in err "longseq.json: train.x\[0\]: 20000 tokens: .*AC_PATHS_IO_MAX_OMEGA" "the long sequence: file, key, bound"
# An --out in a missing directory is refused before sampling, not after (a
# run of 10^6 sweeps would otherwise take minutes to say so).
expect 2 "sample --out in a missing directory, refused at once" -- \
    timeout 10 "$BIN" paths sample --task "$TASK" --sweeps 1000000 --out "$T/no/such/dir/s.json"
grep_in err "s.json: cannot create a temporary file beside it" "the missing directory named"
absent "$T/no" "a refused --out"

# The task is parsed as it is read, so an endless stream that is not JSON
# stops at its first byte (the reader used to read the whole stream first,
# growing its buffer until memory ran out).  ulimit keeps a regression from
# taking the machine's memory.
expect 2 "a task from /dev/zero" -- sh -c "$MEMCAP exec timeout 30 \"$BIN\" paths solve --task /dev/zero"
grep_in err "/dev/zero: a NUL byte: not a JSON text file" "the endless input: file and cause"
# a NUL byte inside a task: named as such (jansson took it for the end of the
# file: "invalid token near end of file"), also in a merge's records
printf '{"L": 1,\n "H": \000 2}\n' >"$T/nul.json"
expect 2 "a task with a NUL byte" -- "$BIN" paths solve --task "$T/nul.json"
grep_in err "nul.json: a NUL byte: not a JSON text file" "the NUL named"
expect 2 "records with a NUL byte" -- "$BIN" merge "$T/nul.json"
grep_in err "nul.json: a NUL byte: not a JSON text file" "the NUL named by merge"
# A UTF-8 byte-order mark (Windows editors write one) is skipped, as RFC 8259
# allows, and as the joma readers do.
printf '\357\273\277' | cat - "$TASK" >"$T/bom.json"
expect 0 "a task with a byte-order mark" -- "$BIN" paths solve --task "$T/bom.json"

# generate refuses a task larger than the reader takes back (4633 Markov
# examples of 231 x 31 numbers within AC_PATHS_IO_MAX_VALUES), before drawing
# it (it used to try to allocate 60 GB for --test 1048576).
expect 2 "generate more test examples than solve reads" -- \
    sh -c "$MEMCAP exec timeout 30 \"$BIN\" paths generate --task markov --test 1048576 --out \"$T/huge.json\""
grep_in err "markov task: --train 100 and --test 1048576 examples make a file of .* JSON values, over .*AC_PATHS_IO_MAX_VALUES.*at most 4633 examples in all" "the task's size and the bound"
absent "$T/huge.json" "a refused generate"
expect 2 "generate one Markov example more than solve reads" -- \
    sh -c "$MEMCAP exec timeout 30 \"$BIN\" paths generate --task markov --train 2 --test 4632 --out \"$T/huge.json\""
absent "$T/huge.json" "a refused generate"
# The reader counts the JSON values as it reads and stops past
# AC_PATHS_IO_MAX_VALUES, before jansson holds them (each 24 to 100 bytes:
# a 600 MB file of one-number examples took 30 GB).  Counted from above, so
# 2^25 commas in a string trip it at once.
{ printf '{"description": "'; head -c 33554432 /dev/zero | tr '\0' ','; printf '"}\n'; } >"$T/values.json"
expect 2 "a task of more JSON values than AC_PATHS_IO_MAX_VALUES" -- sh -c "$MEMCAP exec timeout 30 \"$BIN\" paths solve --task \"$T/values.json\""
grep_in err "values.json: more than 33554432 JSON values .* by byte .*AC_PATHS_IO_MAX_VALUES" "too many values: file, count, bound"
expect 2 "the same through a pipe" -- sh -c "$MEMCAP cat \"$T/values.json\" | timeout 30 \"$BIN\" paths solve --task /dev/stdin"
grep_in err "/dev/stdin: more than 33554432 JSON values (numbers, arrays, objects): " "too many values in a pipe: no byte offset"
rm -f "$T/values.json"
expect 0 "a task through a pipe (/dev/stdin)" -- sh -c "cat \"$TASK\" | \"$BIN\" paths solve --task /dev/stdin"

# A singular kernel: two equal examples and T = 1e-320.  solve refuses at
# the GP start (exit 2, naming T); sample's first Cholesky fails, so it
# stops with exit 1 naming the sweep, and writes nothing (docs/paths.md).
cat >"$T/singular.json" <<'EOF'
{"L": 1, "H": [1], "N": 10, "T": 1e-320,
 "train": {"x": [[[1, 0]], [[1, 0]]], "y": [1, -1]},
 "test": {"x": [[[0, 1]]], "y": [1]},
 "attention": {"kind": "qk", "heads": [[{"Q": [[1, 0]], "K": [[1, 0]]}]]}}
EOF
expect 2 "solve on a singular kernel" -- "$BIN" paths solve --task "$T/singular.json" --out "$T/sing.out"
grep_in err "singular.json: T: K + T I (2 x 2, T = .*) is not positive definite.*too small against K's smallest eigenvalue.*raise T" \
    "the singular kernel: file, key, T"
expect 1 "sample on a singular kernel" -- "$BIN" paths sample --task "$T/singular.json" --out "$T/sing.out"
grep_in err "singular.json: the sampler diverged after 1 sweeps" "the divergence: file, sweep"
absent "$T/sing.out" "a diverged sample"

# The JSON keys docs/paths.md lists are exactly those of a real output, both
# ways (tests/doc_keys.py), so the docs cannot drift from the writer.
DOCS=$(cd "$(dirname "$0")/../docs" && pwd)
"$BIN" paths solve --task "$TASK" --format json --out "$T/keys-solve.json" 2>/dev/null
check "solve's JSON keys are the documented ones" \
    $PY "$(dirname "$0")/doc_keys.py" table "$DOCS/paths.md" 'paths solve' "$T/keys-solve.json"
"$BIN" paths sample --task "$TASK" --sweeps 20 --burn 5 --format json --out "$T/keys-sample.json" 2>/dev/null
check "sample's JSON keys are the documented ones" \
    $PY "$(dirname "$0")/doc_keys.py" table "$DOCS/paths.md" 'paths sample' "$T/keys-sample.json"

# The digits task is the claim's (tests/test_paths_export.c checks its path
# tensors); here only that generate offers it and refuses other sizes.
expect 0 "generate --help lists digits" -- "$BIN" paths generate --help
grep_in out "digits" "generate's help names the digits task"
expect 2 "digits with --train" -- "$BIN" paths generate --task digits --train 10 --out "$T/dg.json"
grep_in err "claim's" "the message says the sizes are the claim's"
absent "$T/dg.json" "a refused digits export"

# --out naming the task file (or a link to it) is refused: it would replace the input.
cp "$EX/paths-task.json" "$T/own-task.json"
ln -s own-task.json "$T/own-task-link.json"
for cmd in solve sample; do
    for o in own-task.json own-task-link.json; do
        expect 2 "paths $cmd --out onto its task $o" -- "$BIN" paths $cmd --task "$T/own-task.json" --out "$T/$o"
        grep_in err "is the input file" "paths $cmd: the clash with $o named"
    done
done
check "the task file is untouched" cmp -s "$EX/paths-task.json" "$T/own-task.json"

# --- a hostile tryout (2026-12-02): each check below failed before its fix -----
# Scales that overflow: the minimiser used to stop with "the objective failed
# at the start point", naming neither key nor quantity; the attention of huge
# inputs, with "path tensor: an attention matrix holds a non-finite value".
cat >"$T/scale.py" <<'PYEOF'
import json, sys
task, out = sys.argv[1], sys.argv[2]
def edit(name, f):
    d = json.load(open(task)); f(d); json.dump(d, open(out + "/" + name + ".json", "w"))
edit("sa-huge", lambda d: d.update(sigma2_a=1e300))
edit("y-huge", lambda d: d["train"]["y"].__setitem__(0, 1e300))
edit("x-huge", lambda d: d["train"]["x"][0][0].__setitem__(0, 1e308))
edit("sa-huge-notest", lambda d: (d.update(sigma2_a=1e300), d.pop("test")))
edit("many-paths", lambda d: d.update(H=[32, 64], attention={"kind": "qk", "heads": [[{"Q": [[1, 0, 0, 0]], "K": [[1, 0, 0, 0]]}] * 32, [{"Q": [[1, 0, 0, 0]], "K": [[1, 0, 0, 0]]}] * 64]}))
edit("wide", lambda d: d.update(N=100000))
edit("s2-huge", lambda d: d.update(sigma2=1e300))
edit("s2-tiny", lambda d: d.update(sigma2=1e-300))
PYEOF
"$PY" "$T/scale.py" "$TASK" "$T"
expect 2 "solve: sigma2_a = 1e300 overflows the action" -- "$BIN" paths solve --task "$T/sa-huge.json" --out "$T/sa.out"
grep_in err "sa-huge.json: train.y, train.x, sigma2, sigma2_a: the action at the GP start is not finite.*sigma2_a 1e+300" "the overflow: file, keys, the scale"
absent "$T/sa.out" "an overflowing solve"
# A start that cannot be factored names the prior variances when they are the
# cause (it said "T: ...: raise T or rescale the inputs" for these too): GP
# values sigma2_a prod sigma2 past the doubles, both ways.
for s2 in huge tiny; do
    expect 2 "solve: sigma2 ($s2) puts the GP start out of range" -- "$BIN" paths solve --task "$T/s2-$s2.json"
    grep_in err "s2-$s2.json: sigma2, sigma2_a: the GP order parameters sigma2_a prod sigma2 lie in .*rescale the prior variances" \
        "sigma2 $s2: file, keys, the range"
done
expect 2 "solve: a label of 1e300" -- "$BIN" paths solve --task "$T/y-huge.json"
grep_in err "y-huge.json: train.y.*largest |y| = 1e+300" "the huge label: file, key, its size"
expect 2 "solve: an input of 1e308 (attention scores overflow)" -- "$BIN" paths solve --task "$T/x-huge.json"
grep_in err "x-huge.json: train.x\[0\]: the attention of layer 1, head 2 (attention.heads\[0\]\[1\]) is not finite" "the overflowing attention: file, example, head"
# A trace that overflows has a NaN R-hat; the largest R-hat dropped it (fmax),
# so that every U_1 entry's R-hat was NaN and the run said "mixed", exit 0.
expect 1 "sample: U_1's traces overflow (NaN R-hat): not mixed" -- "$BIN" paths sample --task "$T/sa-huge-notest.json" --format json --out "$T/san.json"
check "sample: a NaN R-hat is not mixed" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mixed"] is False and d["U_1"]["rhat_max"] is None' "$T/san.json"

# One chain: split R-hat compares its halves only; said beside the verdict.
printf '{"L": 1, "H": [1], "N": 4, "T": 0.1, "train": {"x": [[[1]]], "y": [1]}, "attention": {"kind": "qk", "heads": [[{"Q": [[1]], "K": [[1]]}]]}}\n' >"$T/tiny.json"
expect 0 "sample one chain of the one-example task" -- "$BIN" paths sample --task "$T/tiny.json" --chains 1
grep_in err "tiny.json: note: one chain: its split R-hat compares the chain's two halves only" "one chain: what its R-hat can say"
# Without a test set the not-mixed warning quoted "R-hat max nan over the test means".
expect 1 "sample the task without a test set, too short" -- "$BIN" paths sample --task "$T/tiny.json" --sweeps 4
grep_in err "have not mixed (R-hat max .*, ESS min .* over U_1" "no test set: the warning quotes U_1"
check "no test set: no test means quoted" sh -c "! grep -q 'test means' '$T/err'"
# An empty test set is refused with the way to say "none".
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["test"]={"x": [], "y": []}; json.dump(d, open(sys.argv[2], "w"))' "$TASK" "$T/test-empty.json"
expect 2 "solve: an empty test set" -- "$BIN" paths solve --task "$T/test-empty.json"
grep_in err 'test-empty.json: test.x: 0 examples, expected 1 to .* (leave "test" out for no test set)' "the empty test set: how to say none"

# A list of the wrong length says its length (it said "of another length").
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
A = [[1 / 3] * 3 for _ in range(3)]
d["attention"] = {"kind": "matrices", "train": [[[A, A], [A, A]] for _ in d["train"]["x"]],
                  "test": [[[A, A], [A, A]] for _ in d["test"]["x"]][:3]}
json.dump(d, open(sys.argv[2], "w"))' "$TASK" "$T/mat-short.json"
expect 2 "solve: attention matrices for 3 of the 4 test examples" -- "$BIN" paths solve --task "$T/mat-short.json"
grep_in err "mat-short.json: attention.test: expected an array of 4 examples (one per test.x), found an array of 3 entries" "the short list: its length"

# A head count written as a real (numpy's floats) is named as such.
sed 's/"H": \[2, 2\]/"H": [2.0, 2]/' "$TASK" >"$T/h-real.json"
expect 2 "solve: H written as 2.0" -- "$BIN" paths solve --task "$T/h-real.json"
grep_in err "h-real.json: H\[0\]: expected an integer (heads), found the real number 2.0: write it without a decimal point" "a real where an integer belongs"

# Memory and time from the sizes, refused before any work with the key, the
# estimate and the bound's name (verify/paths_io.h).  24000 one-number
# examples (a 240 kB file) make K + T I 4.6 GB; 4096 paths make
# every evaluation minutes long; a width of 100000 makes V_l 80 GB.
# one_number_task P FILE: a task of P one-number examples (one layer, one
# head), a few bytes an example, for the size bounds below.
one_number_task() {
    awk -v P="$1" 'BEGIN { printf "{\"L\": 1, \"H\": [1], \"N\": 10, \"T\": 0.1, \"train\": {\"x\": [";
        for (e = 0; e < P; e++) printf "%s[[%d]]", e ? "," : "", e % 7;
        printf "], \"y\": ["; for (e = 0; e < P; e++) printf "%s%d", e ? "," : "", e % 2 ? 1 : -1;
        printf "]}, \"attention\": {\"kind\": \"qk\", \"heads\": [[{\"Q\": [[1]], \"K\": [[1]]}]]}}\n" }' >"$2"
}
one_number_task 24000 "$T/p24000.json"
expect 2 "solve: P = 24000, over the memory bound" -- sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths solve --task \"$T/p24000.json\""
grep_in err "p24000.json: train.x: paths solve would hold about 4.* GB of memory (P = 24000 .*AC_PATHS_IO_BYTES_MAX" "P over the memory bound: file, key, estimate, bound"
expect 2 "solve: 2048 paths, over the time bound" -- sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths solve --task \"$T/many-paths.json\""
grep_in err "many-paths.json: H: paths solve would take about .* evaluations of the action .*2048 paths.*AC_PATHS_IO_SECONDS_MAX" "paths over the time bound: file, key, estimate, bound"
# The path tensors count too, in time and memory: a qk head's scores take
# 2 G n (n + 2) flops an example and 2 G n doubles of work, which the
# estimates had left out (the solve ran, or failed for memory as "path
# tensor: out of memory").  P examples of n tokens, one qk head of G rows.
qk_wide_task() {
    awk -v P="$1" -v n="$2" -v G="$3" 'BEGIN { printf "{\"L\": 1, \"H\": [1], \"N\": 10, \"T\": 0.1, \"train\": {\"x\": [";
        for (e = 0; e < P; e++) { printf "%s[", e ? "," : ""; for (s = 0; s < n; s++) printf "%s[%d]", s ? "," : "", (e + s) % 3; printf "]" }
        printf "], \"y\": ["; for (e = 0; e < P; e++) printf "%s%d", e ? "," : "", e % 2 ? 1 : -1;
        printf "]}, \"attention\": {\"kind\": \"qk\", \"heads\": [[{\"Q\": [";
        for (g = 0; g < G; g++) printf "%s[0]", g ? "," : "";
        printf "], \"K\": ["; for (g = 0; g < G; g++) printf "%s[0]", g ? "," : "";
        printf "]}]]}}\n" }' >"$4"
}
# 140 examples of 256 tokens, G = 2^19: some 4 minutes on 2 cores
# (estimated 32 min at the estimates' 5 GFLOP/s), 2.1 GB of work.
qk_wide_task 140 256 524288 "$T/wide-heads.json"
expect 2 "solve: a qk head of 2^19 rows, the path tensors over the time bound" -- \
    sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths solve --task \"$T/wide-heads.json\""
grep_in err "wide-heads.json: attention: paths solve would take about .*: the path tensors .* s, then .*AC_PATHS_IO_SECONDS_MAX" \
    "the path tensors over the time bound: file, key, estimate, bound"
# 2 examples of 512 tokens, G = 2^20: 8.6 GB of work.
qk_wide_task 2 512 1048576 "$T/wide-heads.json"
expect 2 "sample: a qk head of 2^20 rows, the path tensors over the memory bound" -- \
    sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths sample --task \"$T/wide-heads.json\""
grep_in err "wide-heads.json: attention: paths sample would hold about 8.* GB of memory" \
    "the path tensors over the memory bound: file, key, estimate"
# One row past the bound of a head's rows is named as such (it said "expected
# an array of G >= 1 rows of N0 = 1 numbers, found an array").
qk_wide_task 2 4 1048577 "$T/wide-heads.json"
expect 2 "a qk head of 2^20 + 1 rows" -- $BIN paths solve --task "$T/wide-heads.json"
grep_in err "wide-heads.json: attention.heads\[0\]\[0\].Q: 1048577 rows: a head has at most G = 2^20" "the rows and their bound"
rm -f "$T/wide-heads.json"
expect 2 "sample: width 100000, over the memory bound" -- sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths sample --task \"$T/wide.json\""
grep_in err "wide.json: N: paths sample would hold about .*widths up to 100000.*AC_PATHS_IO_BYTES_MAX" "the width over the memory bound: file, key"
expect 2 "sample: 10^8 kept sweeps, over the memory bound" -- sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths sample --task \"$TASK\" --sweeps 100000000"
grep_in err "paths-task.json: --sweeps: paths sample would hold about" "the sweeps over the memory bound: the option named"
expect 2 "sample: 10^8 burn-in sweeps of 16 chains, over the time bound" -- sh -c "$MEMCAP exec timeout 20 \"$BIN\" paths sample --task \"$TASK\" --burn 100000000 --chains 16"
grep_in err "paths-task.json: --chains, --burn, --sweeps: paths sample would take about .* sweeps (all chains) .*AC_PATHS_IO_SECONDS_MAX" "the burn-in over the time bound: the options named"
# LAPACKE_dpotrf's row-major copy of K + T I failing for memory used to be
# reported as "not positive definite (leading minor -1011)": raise T.  K is
# now factored where it lies (theory/paths.c factor: no copy), so 750 MB of
# address space, which hold K at 7000 examples (392 MB) but not a copy as
# well, run the solve (to its iteration limit, 0: exit 1); 400 MB do not
# hold K and its workspace, and say so.
if [ -n "$MEMCAP" ]; then
    one_number_task 7000 "$T/p7000.json"
    expect 1 "solve: K factored without a copy fits in 750 MB" -- sh -c "ulimit -v 750000; OPENBLAS_NUM_THREADS=1 exec timeout 60 \"$BIN\" paths solve --task \"$T/p7000.json\" --max-iter 0"
    grep_in err "p7000.json: warning: the minimiser ended with 'iteration limit reached' after 0 iterations" "P = 7000 within 750 MB: the solve ran"
    expect 2 "solve: no memory for K" -- sh -c "ulimit -v 400000; OPENBLAS_NUM_THREADS=1 exec timeout 60 \"$BIN\" paths solve --task \"$T/p7000.json\" --max-iter 0"
    grep_in err "p7000.json: paths solve: out of memory" "out of memory is not 'not positive definite'"
fi

# a full device: every writer names the file and the reason (generate said
# "task writer: write failed", solve "write failed" with no reason)
FULL=/dev/full
mknod "$T/full" c 1 7 2>/dev/null && FULL="$T/full"
for cmd in "generate --task markov --train 2 --test 2" "solve --task $TASK" "solve --task $TASK --format json"; do
    expect 2 "paths $cmd --out a full device" -- "$BIN" paths $cmd --out "$FULL"
    grep_in err "^attncheck: $FULL: write failed: No space left on device" "paths $cmd: file and reason"
done

# head-pruning's Markov half draws from seeds up to 247 + seed + trial: a
# seed that passes 2^32 - 1 there is a claim error, not another run's draws
expect 1 "head-pruning with seeds past 2^32-1" -- "$BIN" run paths.head-pruning --size quick --seed 4294967100 --quiet
grep_in err "run with a seed at most 4294967048 minus the trial" "the message gives the largest seed"

cli_summary cli_paths
