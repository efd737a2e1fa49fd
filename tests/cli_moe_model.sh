#!/bin/sh
# Command-line checks of attncheck moe convert, check and generate's model
# tasks: the README's example model, exports that check back exactly, every
# refusal naming the file and key, and nothing half-written.
. "$(dirname "$0")/clilib.sh"

EX=examples
expect 0 "moe --help" -- "$BIN" moe --help
for c in convert check generate; do
    expect 0 "moe $c --help" -- "$BIN" moe $c --help
done

# The hand-written example of docs/moe.md.
expect 0 "check on the example model" -- "$BIN" moe check --model $EX/moe-model.json
grep_in out "the equivalence holds" "the example holds"
expect 0 "convert the example model" -- "$BIN" moe convert --model $EX/moe-model.json --out "$T/form.json"
check "convert wrote the form" grep -q '"format": "attncheck-moe-form-1"' "$T/form.json"
check "the form has gates" grep -q '"gamma": \[\[\[' "$T/form.json"

# Every variant of moe.equivalence exported (trial 0 at seed 5; the model is
# the claim's bit for bit, tests/test_moe_claims.c), then checked: in double
# and in MPFR it holds.
for v in one-head no-self biases residual heads heads-no-self two-layers two-layers-no-self; do
    expect 0 "generate $v" -- "$BIN" moe generate --task equivalence --variant $v --seed 5 --out "$T/$v"
    expect 0 "check $v" -- "$BIN" moe check --model "$T/$v.json" --sentences 4 --format json
    grep_in out '"holds": true' "check $v holds"
done
# The same seed writes the same model; another seed another.
expect 0 "generate again" -- "$BIN" moe generate --task equivalence --variant biases --seed 5 --out "$T/again"
check "generate replays from its seed" cmp -s "$T/biases.json" "$T/again.json"
expect 0 "generate seed 6" -- "$BIN" moe generate --task equivalence --variant biases --seed 6 --out "$T/six"
check "another seed, another model" sh -c "! cmp -s '$T/biases.json' '$T/six.json'"
expect 0 "generate trial 1" -- "$BIN" moe generate --task equivalence --variant biases --seed 5 --trial 1 --out "$T/t1"
check "trial 1 of seed 5 is not trial 0" sh -c "! cmp -s '$T/biases.json' '$T/t1.json'"
expect 0 "generate seed 4 trial 2" -- "$BIN" moe generate --task equivalence --variant biases --seed 4 --trial 2 --out "$T/s4t2"
expect 0 "generate seed 6 trial 0" -- "$BIN" moe generate --task equivalence --variant biases --seed 6 --trial 0 --out "$T/s6t0"
check "trial i of seed S is trial 0 of seed S + i" cmp -s "$T/s4t2.json" "$T/s6t0.json"

# A form that does not match its model fails (exit 1): the test hook adds δ
# to the form's c_0.  δ = 1e-6 is far above the double tolerance (~2e-12);
# δ = 1e-40 passes in double but leaves ~40 digits of agreement, under 50.
AC_TEST_MOE_CHECK_PERTURB=1e-6 expect 1 "a planted 1e-6 fails in double" -- "$BIN" moe check --model $EX/moe-model.json
grep_in out "does NOT hold" "the text says so"
AC_TEST_MOE_CHECK_PERTURB=1e-40 expect 1 "a planted 1e-40 fails in MPFR" -- "$BIN" moe check --model $EX/moe-model.json --format json
grep_in out '"holds_double": true' "1e-40 is below the double tolerance"
grep_in out '"holds_mpfr": false' "and caught by the MPFR row"
AC_TEST_MOE_CHECK_PERTURB=1e-70 expect 0 "a planted 1e-70 is below both" -- "$BIN" moe check --model $EX/moe-model.json
# A precision below the judged level makes the MPFR row INFO.
expect 0 "low precision is shown, not judged" -- "$BIN" moe check --model $EX/moe-model.json --prec 64
grep_in out "INFO" "the MPFR row at 64 bits is INFO"

# Refusals: file, key path, quantity; exit 2; no output file left.
sed 's/"Wq": \[\[\[ 1.0,  0.5, -0.5,  0.0\]/"Wq": [[[ 1.0,  0.5, -0.5]/' $EX/moe-model.json >"$T/shape.json"
expect 2 "an array of the wrong shape" -- "$BIN" moe convert --model "$T/shape.json" --out "$T/o.json"
grep_in err "shape.json: Wq\[0\]\[0\]: 3 entries, expected 4 (d)" "the message names the key path and the size"
absent "$T/o.json" "a refused convert's output"
sed 's/"c":  \[0.1, 0.0, -0.1\]/"c":  [0.1, NaN, -0.1]/' $EX/moe-model.json >"$T/nan.json"
expect 2 "NaN" -- "$BIN" moe check --model "$T/nan.json" --out "$T/o.json"
grep_in err "nan.json:21:" "NaN is refused at its line"
absent "$T/o.json" "a refused check's output"
sed 's/"c":/"cc":/' $EX/moe-model.json >"$T/key.json"
expect 2 "an unknown key" -- "$BIN" moe check --model "$T/key.json"
grep_in err "key.json: unknown key 'cc'" "the message names the key"
sed 's/"V": 3/"V": -3/' $EX/moe-model.json >"$T/size.json"
expect 2 "a size out of range" -- "$BIN" moe convert --model "$T/size.json"
grep_in err "size.json: sizes: V = -3, outside 1..4096" "the message names the size and its range"
printf '{"sizes": ' >"$T/trunc.json"
expect 2 "a truncated file" -- "$BIN" moe check --model "$T/trunc.json"
grep_in err "trunc.json:1:" "the message gives the line"
expect 2 "a missing file" -- "$BIN" moe check --model "$T/nosuch.json"
grep_in err "nosuch.json: cannot open" "the message names the file"
expect 2 "no --model" -- "$BIN" moe check
expect 2 "--sentences 0" -- "$BIN" moe check --model $EX/moe-model.json --sentences 0
expect 2 "an unknown variant" -- "$BIN" moe generate --task equivalence --variant nine-heads --out "$T/v"
absent "$T/v.json" "a refused generate's output"
expect 2 "an unknown task" -- "$BIN" moe generate --task nosuch --out "$T/v"
expect 2 "convert onto a directory" -- "$BIN" moe convert --model $EX/moe-model.json --out "$T"

cli_summary cli_moe_model
