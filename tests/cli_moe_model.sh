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
# a model path that is not UTF-8 cannot go into the JSON result: refused
# before the check (json_pack had failed after it, "out of memory")
NOTUTF=$(printf 'm\377.json')
cp $EX/moe-model.json "$T/$NOTUTF"
expect 2 "check --format json on a path that is not UTF-8" -- "$BIN" moe check --model "$T/$NOTUTF" --format json
grep_in err "^attncheck: --model: byte 0xff at position" "the byte and option named"
expect 0 "... which text output takes" -- "$BIN" moe check --model "$T/$NOTUTF"
grep_in out "the equivalence holds" "the example holds"
expect 0 "convert the example model" -- "$BIN" moe convert --model $EX/moe-model.json --out "$T/form.json"
check "convert wrote the form" grep -q '"format": "attncheck-moe-form-1"' "$T/form.json"
# entries near DBL_MAX overflow in the form: named, not "out of memory"
awk '/"E"/ { on = 1 } on { gsub(/-?[0-9]+\.[0-9]+/, "1.7e308") } { print }' $EX/moe-model.json >"$T/ovf.json"
expect 2 "convert of a model whose form overflows" -- "$BIN" moe convert --model "$T/ovf.json" --out "$T/ovf-form.json"
grep_in err "the form's gamma has inf at flat index 0: the model's entries overflow double" "the array, entry and cause named"
absent "$T/ovf-form.json" "an overflowing form"
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
# A NaN in the form (planted the same way) fails every judged row: the maxima
# keep a NaN (fmax dropped it, and the check passed).
AC_TEST_MOE_CHECK_PERTURB=nan expect 1 "a planted NaN fails" -- "$BIN" moe check --model $EX/moe-model.json --format json
grep_in out '"max_abs_dlogp": "nan"' "the NaN is shown"
grep_in out '"holds_mpfr": false' "and fails the MPFR row too"
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
# Sizes that ask for more than the file holds: refused at the short array,
# before the model is allocated from the sizes (H dk d = 2^36 numbers, 550 GB:
# it said "out of memory for the model").
sed 's/"sizes": {"V": 3, "L": 3, "d": 4, "dk": 2, "dv": 2, "H": 1,/"sizes": {"V": 3, "L": 3, "d": 4096, "dk": 4096, "dv": 1, "H": 4096,/' \
    $EX/moe-model.json >"$T/declared.json"
expect 2 "sizes far beyond the file" -- "$BIN" moe check --model "$T/declared.json"
grep_in err "declared.json: E\[0\]: 4 entries, expected 4096 (d)" "refused at the first short array, by key path"
# The same sizes with every array left out: refused at the first required one
# that is missing, before the model is allocated (it said "out of memory for
# the model", having asked for the 550 GB the sizes declare).
printf '{"sizes": {"V": 3, "L": 3, "d": 4096, "dk": 4096, "dv": 1, "H": 4096, "layers": 1, "self": 1, "residual": 0}}' \
    >"$T/noarrays.json"
expect 2 "sizes with no arrays" -- "$BIN" moe check --model "$T/noarrays.json"
grep_in err "noarrays.json: missing key 'E'" "refused at the first missing array, not out of memory"
expect 2 "a directory as the model" -- "$BIN" moe check --model "$T"
grep_in err "$T: is a directory, not a model file" "the message says what it is"
# A UTF-8 byte-order mark before the model (some editors write one) is skipped,
# through a pipe too (the reader takes the mark's three bytes whole).
{ printf '\357\273\277'; cat $EX/moe-model.json; } >"$T/bom.json"
expect 0 "a model after a byte-order mark" -- "$BIN" moe check --model "$T/bom.json" --sentences 1
{ printf '\357\273\277'; cat $EX/moe-model.json; } | "$BIN" moe check --model /dev/stdin --sentences 1 >"$T/bom-pipe" 2>&1
check "a model after a byte-order mark, through a pipe" grep -q "the equivalence holds" "$T/bom-pipe"
expect 2 "no --model" -- "$BIN" moe check
expect 2 "--sentences 0" -- "$BIN" moe check --model $EX/moe-model.json --sentences 0
expect 2 "an unknown variant" -- "$BIN" moe generate --task equivalence --variant nine-heads --out "$T/v"
absent "$T/v.json" "a refused generate's output"
expect 2 "an unknown task" -- "$BIN" moe generate --task nosuch --out "$T/v"
expect 2 "convert onto a directory" -- "$BIN" moe convert --model $EX/moe-model.json --out "$T"

# Standard output (no --out) is written through, never replaced: with a
# shell's redirection to a file, earlier and later lines of the same
# redirection stay (convert and check once renamed a new file over it).
{ echo before; "$BIN" moe convert --model $EX/moe-model.json; "$BIN" moe check --model $EX/moe-model.json \
    --sentences 1; echo after; } >"$T/group" 2>&1
check "convert and check to a redirected stdout keep the lines around them" \
    sh -c "grep -q '^before\$' '$T/group' && grep -q '^after\$' '$T/group' && grep -q attncheck-moe-form-1 '$T/group' \
           && grep -q 'the equivalence holds' '$T/group'"

# --out naming the input (or a link to it) is refused; the model is kept.
cp $EX/moe-model.json "$T/keep.json"
cp $EX/moe-model.json "$T/keep0.json"
ln -s keep.json "$T/keep-link.json"
for c in convert check; do
    expect 2 "$c --out the model itself" -- "$BIN" moe $c --model "$T/keep.json" --out "$T/keep.json"
    grep_in err "is the input file" "$c names the clash"
    expect 2 "$c --out a link to the model" -- "$BIN" moe $c --model "$T/keep.json" --out "$T/keep-link.json"
done
check "the model survives" cmp -s "$T/keep.json" "$T/keep0.json"
# An --out that cannot be written is refused before the work.
expect 2 "check --out in a missing directory" -- "$BIN" moe check --model $EX/moe-model.json --out "$T/no/dir/r.json"
grep_in err "$T/no/dir/r.json" "the message names the path"

# Cost bounds (docs/moe.md "Sizes and cost"): a 79 kB model with
# V = L = 4096 and d = 1 asks for a 16.8-million-entry form; convert and check
# refuse it from the sizes, before any of the work, naming the file, the sizes
# and the estimate, and saying how to get under.
# wide_model N: a one-head model with V = L = N and d = dk = dv = 1.
wide_model() {
    python3 -c "
import json
V = L = $1
print(json.dumps({'sizes': {'V': V, 'L': L, 'd': 1, 'dk': 1, 'dv': 1, 'H': 1, 'layers': 1, 'self': 1, 'residual': 0},
                  'E': [[0.5]] * (V + 1), 'Wq': [[[1.0]]], 'Wk': [[[1.0]]], 'Wv': [[[1.0]]], 'U': [[1.0]] * V}))
"
}
wide_model 4096 >"$T/wide.json"
expect 2 "convert refuses a form of 16.8 million numbers" -- "$BIN" moe convert --model "$T/wide.json" --out "$T/wide-form.json"
grep_in err "wide.json: the form of this model (V = 4096, L = 4096" "convert names the file and sizes"
grep_in err "over convert's limit" "convert names the limit"
absent "$T/wide-form.json" "a refused convert"
expect 2 "check refuses its memory" -- "$BIN" moe check --model "$T/wide.json"
grep_in err "wide.json: moe check of this model (V = 4096, L = 4096.* MB" "check names the file, sizes, memory"
# V = L = 1024: within memory, but 32 sentences are ~3e9 units (~8 minutes
# measured); the message says how many sentences fit; those run.
wide_model 1024 >"$T/long.json"
expect 2 "check refuses ~8 minutes of work" -- "$BIN" moe check --model "$T/long.json" --out "$T/long.out"
grep_in err "long.json: moe check of this model (V = 1024, L = 1024.*32 sentences at --prec 256.*work units" \
    "check names the file, sizes and estimate"
grep_in err "sentences [0-9] or fewer gets under it" "and how to get under it"
absent "$T/long.out" "a refused check"
expect 0 "convert of the same model fits" -- "$BIN" moe convert --model "$T/long.json" --out "$T/long-form.json"

# SIGTERM while convert writes an 80 MB form (V = L = 2048, 4.2 million
# numbers, about a second): the file is finished or absent, and no temporary
# file outlives the run (one was left behind).
python3 -c "
import json
V = L = 2048
print(json.dumps({'sizes': {'V': V, 'L': L, 'd': 1, 'dk': 1, 'dv': 1, 'H': 1, 'layers': 1, 'self': 1, 'residual': 0},
                  'E': [[0.5]] * (V + 1), 'Wq': [[[1.0]]], 'Wk': [[[1.0]]], 'Wv': [[[1.0]]], 'U': [[0.25]] * V}))
" >"$T/mid.json"
mkdir "$T/sig"
"$BIN" moe convert --model "$T/mid.json" --out "$T/sig/form.json" 2>/dev/null &
pid=$!
i=0
while [ $i -lt 200 ] && ! ls "$T/sig" | grep -q '^\.attncheck-tmp\.'; do sleep 0.02; i=$((i + 1)); done
kill -TERM $pid 2>/dev/null
{ wait $pid; } 2>/dev/null
check "a SIGTERM during convert's write leaves no temporary file" sh -c "! ls -a '$T/sig' | grep -q tmp"
rm -rf "$T/sig" "$T/mid.json"

# Entries so large that the double scores overflow: the rounding bound is
# inf, the double rows are INFO (never PASS against inf), a NaN is shown, the
# JSON writes them as strings; with nothing judged (--prec < 200) check
# refuses to run.
sed 's/"E":  \[\[ 1.0,/"E":  [[ 1e300,/' $EX/moe-model.json >"$T/huge.json"
expect 0 "huge entries: the MPFR row judges" -- "$BIN" moe check --model "$T/huge.json" --sentences 2
grep_in out "inf  INFO" "the double rows are INFO against an infinite bound"
expect 0 "huge entries, JSON" -- "$BIN" moe check --model "$T/huge.json" --sentences 2 --format json
grep_in out '"tolerance": "inf"' "inf as a string"
grep_in out '"double_judged": false' "the double rows are not judged"
expect 2 "huge entries at --prec 64 judge nothing" -- "$BIN" moe check --model "$T/huge.json" --prec 64
grep_in err "huge.json: the double rounding bound of this model is inf" "the message says why"

# A SIGTERM while convert writes its --out (held at the test hook, after the
# form is written to the temporary): the process ends by the signal, the old
# file stays as it was and no temporary is left (convert once committed the
# form whole and then died by the signal).
signal_while_writing convert "$T/sig/form.json" -- "$BIN" moe convert --model $EX/moe-model.json --out "$T/sig/form.json"

cli_summary cli_moe_model
