#!/bin/sh
# End-to-end checks of the attncheck command line: exit statuses, messages
# naming file and line, outputs written whole or not at all, and the README
# example through every svm command.  AC_BIN names the binary.
. "$(dirname "$0")/clilib.sh"

EX=examples
expect 2 "no command" -- "$BIN"
expect 2 "unknown command" -- "$BIN" frobnicate
for c in list run regress svm; do
    expect 0 "$c --help" -- "$BIN" $c --help
done
for c in graph solve train generate; do
    expect 0 "svm $c --help" -- "$BIN" svm $c --help
done
expect 0 "list" -- "$BIN" list
grep_in out "^svm.structure " "list prints the id first"
expect 2 "run an unknown claim" -- "$BIN" run svm.nosuch
grep_in err "svm.nosuch" "the message names the claim"
expect 2 "bad --size" -- "$BIN" run svm --size huge
expect 2 "bad --seed" -- "$BIN" run svm --seed -3
expect 2 "bad --format" -- "$BIN" run svm --format xml
expect 2 "regress without a baseline" -- "$BIN" regress --baseline "$T/none"

# The README example through all four svm commands.
expect 0 "svm graph" -- "$BIN" svm graph $EX/toy.data
grep_in out "SCC" "graph lists SCCs"
expect 0 "svm graph dot" -- "$BIN" svm graph $EX/toy.data --format dot
grep_in out "subgraph cluster_k2" "dot has one cluster per graph"
if command -v dot >/dev/null 2>&1; then
    "$BIN" svm graph $EX/toy.data --format dot >"$T/g.dot"
    check "dot -Tsvg accepts our DOT" dot -Tsvg -o "$T/g.svg" "$T/g.dot"
fi
expect 0 "svm graph json" -- "$BIN" svm graph $EX/toy.data --format json
# memory follows the tokens a file has, not its largest id: 200 graphs over
# ids up to a million were 2 * 10^8 graph rows (refused; 100 of them took
# 1.3 GB); renumbered, a few MB.  The file's ids are printed, as before.
i=1; while [ $i -le 200 ]; do echo "$((i * 5000)) $((i * 5000 + 7)) | $((i * 5000))"; i=$((i + 1)); done >"$T/sparse.data"
# (400 MB and one OpenBLAS thread: under a smaller cap OpenBLAS's thread
# retries its 128 MB buffer for ever)
if ldd "$BIN" 2>/dev/null | grep -q libasan; then CAP=; else CAP="ulimit -v 400000;"; fi
expect 0 "svm graph: 200 graphs, ids to 10^6, in 400 MB" -- sh -c "$CAP OPENBLAS_NUM_THREADS=1 exec timeout 60 \"$BIN\" svm graph \"$T/sparse.data\" --format json"
grep_in out '"K": 1000008' "the vocabulary as the file's ids imply it"
grep_in out '"last": 1000007' "the last token by its id"
tr -d ' \n' <"$T/out" >"$T/sparse.json"
grep_in sparse.json '"edges":\[\[1000000,1000007\]\]' "an edge by the file's ids"
expect 0 "svm solve" -- "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb
grep_in out "status: solved" "solve reports its status"
expect 0 "svm solve json to a file" -- "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb --format json --out "$T/sol.json"
grep_in sol.json '"W_svm"' "solve JSON has W_svm"
grep_in sol.json '"residuals"' "solve JSON has the residuals"
expect 0 "svm train" -- "$BIN" svm train $EX/toy.data --embeddings $EX/toy.emb --steps 200
expect 0 "svm train plain csv" -- "$BIN" svm train $EX/toy.data --embeddings $EX/toy.emb --plain --steps 100 --format csv
grep_in out "^step,loss" "csv header"
# one SCC holds every token: W_svm = 0 and corr(W, W_svm) is NaN on every row;
# JSON gives it as null, and keeps the rows (json_pack had dropped each one)
printf '0 1 1 | 0\n1 0 1 | 1\n' >"$T/cyc.data"
printf '1 0\n0 1\n' >"$T/cyc.emb"
expect 0 "svm train with W_svm = 0, csv" -- "$BIN" svm train "$T/cyc.data" --embeddings "$T/cyc.emb" --steps 3 --format csv
csv_rows=$(($(wc -l <"$T/out") - 1))
expect 0 "svm train with W_svm = 0, json" -- "$BIN" svm train "$T/cyc.data" --embeddings "$T/cyc.emb" --steps 3 --format json
check "json has as many rows as csv ($csv_rows)" [ "$(grep -c '"step"' "$T/out")" -eq "$csv_rows" -a "$csv_rows" -gt 0 ]
grep_in out '"corr_W_svm": null' "the NaN correlation is null"
# a run that has converged at its start (one token: loss 0, gradient 0) shows
# step 0 once (the next checkpoint, taking no step, had repeated it)
printf '0 | 0\n' >"$T/one.data"
printf '1 0\n' >"$T/one.emb"
expect 0 "svm train converged at step 0" -- "$BIN" svm train "$T/one.data" --embeddings "$T/one.emb" --steps 10 --format csv
check "one row for step 0" [ "$(grep -c '^0,' "$T/out")" -eq 1 ]
expect 0 "svm generate" -- "$BIN" svm generate --mode cyclic --seed 3 --out "$T/g"
expect 0 "svm solve on a generated instance" -- "$BIN" svm solve "$T/g.data" --embeddings "$T/g.emb"
expect 2 "svm generate without --out" -- "$BIN" svm generate --mode cyclic

# Bad input: FILE:LINE: reason, exit 2, nothing written.
printf '0 1 | 0\n1 2 0\n' >"$T/bad.data"
expect 2 "missing |" -- "$BIN" svm solve "$T/bad.data" --embeddings $EX/toy.emb --out "$T/x.json"
grep_in err "bad.data:2:" "the message names file and line"
absent "$T/x.json" "a failed solve"
# a path of 3000 bytes and the reason after it, whole (messages were cut at 512 bytes)
LONGDIR=$T/$(printf 'd%.0s' $(seq 200)); for i in $(seq 14); do LONGDIR=$LONGDIR/$(printf 'd%.0s' $(seq 200)); done
mkdir -p "$LONGDIR" && printf '0 1 | 3\n' >"$LONGDIR/lab.data"
expect 2 "a bad file at a 3000-byte path" -- "$BIN" svm graph "$LONGDIR/lab.data"
grep_in err "lab.data:1: label 3 does not occur in its sequence" "the whole path, then line and reason"
rm -rf "$T/ddd"*
printf '0 1 | 3\n' >"$T/lab.data"
expect 2 "label absent from its sequence" -- "$BIN" svm graph "$T/lab.data"
grep_in err "lab.data:1:" "absent label: file and line"
printf '0 7 | 0\n' >"$T/big.data"
expect 2 "token without an embedding" -- "$BIN" svm solve "$T/big.data" --embeddings $EX/toy.emb
grep_in err "big.data:1:" "missing embedding: file and line"
printf '1 0 0\n0 1\n' >"$T/ragged.emb"
expect 2 "ragged embeddings" -- "$BIN" svm solve $EX/toy.data --embeddings "$T/ragged.emb"
grep_in err "ragged.emb:2:" "ragged: file and line"
printf '1 0\n0 1\n1 1\n0 0.5\n' >"$T/dep.emb"
expect 2 "dependent embeddings refused" -- "$BIN" svm solve $EX/toy.data --embeddings "$T/dep.emb"
grep_in err "rank" "the message says rank"
# Embeddings so large that W_svm and W_fin would leave double range: the
# embeddings file is named, with the data beside it (it named the data alone).
printf '1e150 0 0 0 1\n0 1e150 0 0 1\n0 0 1e150 0 0.25\n0.5 0 0 1e150 0\n' >"$T/huge.emb"
expect 2 "embeddings out of the solve's range" -- "$BIN" svm solve $EX/toy.data --embeddings "$T/huge.emb"
grep_in err "huge.emb: the largest embedding entry is in \[2^[0-9]*, 2^[0-9]*).*(the solve on examples/toy.data)" \
    "the embeddings named first"
# Infeasible by construction: e_1 = e_0 + e_2 and e_3 = 2 e_0 + e_2, so in
# the context of token 2 the SCC {0, 1} forces u_2 = 0, then 0 > 2 needs
# u_0 >= 1 while 2 > 3 needs u_0 <= -1/2.
printf '0 1 2 | 0\n1 0 2 | 1\n3 2 | 2\n' >"$T/inf.data"
printf '1 0\n1 1\n0 1\n2 1\n' >"$T/inf.emb"
expect 1 "infeasible Graph-SVM" -- "$BIN" svm solve "$T/inf.data" --embeddings "$T/inf.emb" --allow-dependent
grep_in out "infeasible" "reported as infeasible"
grep_in out "(e_2 - e_3)" "the certificate names the constraints"
expect 1 "infeasible JSON" -- "$BIN" svm solve "$T/inf.data" --embeddings "$T/inf.emb" --allow-dependent --format json
grep_in out '"infeasible_constraints"' "JSON lists them"
# Two tokens with one embedding: 0 must beat 1, which (e_0 - e_1) = 0 forbids.
printf '0 1 2 | 0\n' >"$T/same.data"
printf '1 0\n1 0\n0 1\n' >"$T/same.emb"
expect 1 "a vanishing inequality is infeasible" -- "$BIN" svm solve "$T/same.data" --embeddings "$T/same.emb" --allow-dependent
grep_in out "(e_0 - e_1)" "the certificate is that constraint"
: >"$T/empty.data"
expect 2 "empty data file" -- "$BIN" svm graph "$T/empty.data"
printf '0 1 \000| 0\n' >"$T/bin.data"
expect 2 "binary data file" -- "$BIN" svm graph "$T/bin.data"
expect 2 "missing file" -- "$BIN" svm graph "$T/nope.data"


# ---- Options: the whole value is the number, both ends of every range ----
# accepted_opt DESCRIPTION OPTION -- COMMAND...: the parser accepted the
# value when no message names the option (the run may fail later for
# another reason: a missing file is used to stop it cheaply).
accepted_opt() {
    what=$1; opt=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"
    if grep -q -- "^attncheck: --$opt:" "$T/err"; then
        fail=$((fail + 1))
        echo "FAIL: $what: --$opt refused:"
        sed 's/^/    /' "$T/err" | head -3
    else
        pass=$((pass + 1))
    fi
}
TR="$BIN svm train $EX/toy.data --embeddings $EX/toy.emb"
NF="$BIN svm train $T/missing.data --embeddings $EX/toy.emb"
for v in " 5" "5 " "" "5x" "-1" "100000001" "1e3"; do
    expect 2 "--steps '$v' refused" -- $TR --steps "$v"
done
grep_in err "^attncheck: --steps: '1e3'" "the message names the option and the value"
accepted_opt "--steps 0 (lower end)" steps -- $TR --steps 0
accepted_opt "--steps 100000000 (upper end)" steps -- $NF --steps 100000000
for v in " 0.1" "0.1 " "" "0" "9e-301" "1.1e300" "nan" "inf" "-0.1" "0x10" "0x1p-3" "infinity"; do
    expect 2 "--lr '$v' refused" -- $TR --lr "$v"
done
# the message says which: not a decimal number, or out of its range, in words
# for "> 0" (it read "'0' is not a number in [2.22507e-308, 1.79769e+308]")
expect 2 "--lr 0x10" -- $TR --lr 0x10
grep_in err "^attncheck: --lr: '0x10' is not a decimal number (it must be in \[1e-300, 1e+300\])$" "not a decimal number"
expect 2 "--lr 1.1e300" -- $TR --lr 1.1e300
grep_in err "^attncheck: --lr: '1.1e300' is out of range: it must be in \[1e-300, 1e+300\]$" "out of range"
expect 2 "joma integrate --T 0" -- "$BIN" joma integrate --mu 1 --T 0
grep_in err "^attncheck: --T: '0' is out of range: it must be > 0$" "> 0 in words"
accepted_opt "--lr 1e-300 (lower end)" lr -- $NF --lr 1e-300
accepted_opt "--lr 1e300 (upper end)" lr -- $NF --lr 1e300
# a subnormal is a value (strtod's ERANGE on underflow had refused it as out of [0, ...])
accepted_opt "joma integrate --atol 1e-310 (subnormal, in [0, DBL_MAX])" atol -- "$BIN" joma integrate --atol 1e-310
# seeds are 0 to 2^32 - 1: MT19937 keeps 32 bits of a seed, so 2^32 would
# draw seed 0's numbers (once accepted up to 2^62)
for v in "-1" "4294967296" " 1"; do
    expect 2 "train --seed '$v' refused" -- $TR --seed "$v"
done
accepted_opt "train --seed 0" seed -- $NF --seed 0
accepted_opt "train --seed 2^32-1" seed -- $NF --seed 4294967295
for o in n T K d; do
    expect 2 "generate --$o 0 refused" -- "$BIN" svm generate --mode any --$o 0 --out "$T/gs"
    expect 2 "generate --$o 100000001 refused" -- "$BIN" svm generate --mode any --$o 100000001 --out "$T/gs"
    grep_in err "^attncheck: --$o: '100000001'" "generate --$o: the parser refuses it"
done
expect 2 "generate --seed -1 refused" -- "$BIN" svm generate --mode any --seed -1 --out "$T/gs"
expect 2 "generate --seed 2^32 refused" -- "$BIN" svm generate --mode any --seed 4294967296 --out "$T/gs"
expect 0 "generate --seed 2^32-1 (upper end)" -- "$BIN" svm generate --mode any --seed 4294967295 --out "$T/gs"
expect 0 "generate --seed 0 (lower end)" -- "$BIN" svm generate --mode any --seed 0 --out "$T/gs"
accepted_opt "generate --n 100000000 (upper end; the generator's check refuses it)" n -- \
    "$BIN" svm generate --mode any --n 100000000 --out "$T/gs"
grep_in err "more than a data file holds" "generate --n 1e8: refused by the generator's check, not the parser"
expect 0 "generate --n 1 --T 1 --K 1 --d 1 (lower ends)" -- "$BIN" svm generate --mode any --n 1 --T 1 --K 1 --d 1 --out "$T/gs"
expect 2 "run --seed -1 refused" -- "$BIN" run svm.nosuch --seed -1
accepted_opt "run --seed 0" seed -- "$BIN" run svm.nosuch --seed 0
accepted_opt "run --seed 2^32-1" seed -- "$BIN" run svm.nosuch --seed 4294967295
expect 2 "run --seed 2^32 refused" -- "$BIN" run svm.nosuch --seed 4294967296
# trial i uses seed + i: the last trial's seed must stay within 2^32 - 1
expect 2 "run --seed whose last trial passes 2^32-1" -- "$BIN" run svm.direction-cyclic --size quick --seed 4294967294
grep_in err "give --seed 4294967293 or less" "the message gives the largest seed for this claim and size"
expect 0 "run --seed whose last trial is 2^32-1" -- "$BIN" run svm.direction-cyclic --size quick --seed 4294967293 --quiet
for c in "joma train --data $T/missing.data" "joma generate --task synthetic --out $T/gj" \
         "moe generate --task shift --out $T/gm" "paths sample --task $T/missing.json" "moe check --model $T/m.json"; do
    expect 2 "$c --seed 2^32 refused" -- $BIN $c --seed 4294967296
    grep_in err "^attncheck: --seed: '4294967296'" "$c: the parser refuses it"
done
# getopt's own messages carry the full command name
expect 2 "unknown option" -- "$BIN" svm train --bogus
grep_in err "^attncheck svm train: unrecognized option" "option errors name the full command"
expect 2 "unknown run option" -- "$BIN" run --bogus
grep_in err "^attncheck run: unrecognized option" "run's option errors name the command"

# ---- generate: sizes its help promises, prefixes that name files ---------
expect 0 "generate --T 10 --K 5 (spec 5: a permutation of the K tokens, then uniform draws)" -- \
    "$BIN" svm generate --mode any --T 10 --K 5 --out "$T/tk"
"$BIN" svm generate --help > "$T/gh"
grep_in gh "T - K uniform draws" "generate --help says what T > K draws"
expect 0 "generate --T 5 --K 5 (T = K allowed)" -- "$BIN" svm generate --mode any --T 5 --K 5 --out "$T/tk"
mkdir -p "$T/cwd" "$T/pd"
(cd "$T/cwd" && "$BIN" svm generate --mode cyclic --out "" >/dev/null 2>&1)
check "generate --out '': exit 2" [ $? -eq 2 ]
check "generate --out '' writes no hidden file" [ -z "$(ls -A "$T/cwd")" ]
expect 2 "generate --out DIR/ refused" -- "$BIN" svm generate --mode cyclic --out "$T/pd/"
check "generate --out DIR/ writes no hidden file" [ -z "$(ls -A "$T/pd")" ]

# ---- messages ----------------------------------------------------------------
: >"$T/afile"
expect 2 "an output under a regular file" -- "$BIN" svm generate --mode cyclic --out "$T/afile/x"
check "the path is printed once" [ "$(grep -o 'afile' "$T/err" | wc -l)" -eq 1 ]
expect 2 "a single output under a regular file" -- "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb --out "$T/afile/x.json"
check "the path is printed once" [ "$(grep -o 'afile' "$T/err" | wc -l)" -eq 1 ]
expect 2 "dependent embeddings" -- "$BIN" svm solve $EX/toy.data --embeddings "$T/dep.emb"
grep_in err "dep.emb:" "the rank message names the embeddings file"
grep_in err "\-\-allow-dependent" "the rank message names the option as typed"
expect 2 "dependent embeddings in train" -- "$BIN" svm train $EX/toy.data --embeddings "$T/dep.emb" --steps 1
grep_in err "dep.emb:" "train's rank message names the embeddings file"
expect 1 "infeasible, text" -- "$BIN" svm solve "$T/inf.data" --embeddings "$T/inf.emb" --allow-dependent
check "an infeasible report says nothing of Newton, which did not run" sh -c "! grep -q Newton '$T/err'"
expect 1 "svm train --lr 1e300 diverges" -- $TR --lr 1e300 --steps 50
grep_in err "diverged" "the outcome is named"
expect 1 "svm train --lr 1e300 --format json" -- $TR --lr 1e300 --steps 50 --format json
grep_in out '"outcome": "diverged"' "train's JSON names the outcome (diverged)"
expect 0 "svm train --steps 20 --format json" -- $TR --steps 20 --format json
grep_in out '"outcome": "step limit"' "train's JSON names the outcome (step limit)"

# ---- outputs onto links, devices, FIFOs, directories --------------------------
SOLVE="$BIN svm solve $EX/toy.data --embeddings $EX/toy.emb"
echo old >"$T/real.txt"
ln -s real.txt "$T/link.txt"
expect 0 "--out onto a symlink" -- $SOLVE --out "$T/link.txt"
check "the symlink stays a symlink" [ -L "$T/link.txt" ]
grep_in real.txt "status: solved" "the file the link names is written"
ln -s nowhere.txt "$T/dangling.txt"
expect 2 "--out onto a dangling symlink is refused" -- $SOLVE --out "$T/dangling.txt"
check "the dangling symlink stays" [ -L "$T/dangling.txt" ]
absent "$T/nowhere.txt" "a refused dangling link"
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.out" &
reader=$!
expect 0 "--out onto a FIFO" -- $SOLVE --out "$T/fifo"
i=0
while kill -0 $reader 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill $reader 2>/dev/null # the writer never opened the FIFO: the checks below fail
wait $reader
check "the FIFO stays a FIFO" [ -p "$T/fifo" ]
grep_in fifo.out "status: solved" "written through the FIFO"
# a FIFO nobody reads: refused after a 5 s wait (it had blocked in open with
# SIGINT and SIGTERM held, killable by SIGKILL alone); timeout's 124 marks a hang
expect 2 "--out onto a FIFO with no reader" -- timeout 60 $SOLVE --out "$T/fifo"
grep_in err "fifo: a FIFO that no process read in 5 s" "the message names the FIFO"
# a full device: our own node when we may make one (root: never risk
# /dev/full itself), else /dev/full
FULL=/dev/full
mknod "$T/full" c 1 7 2>/dev/null && FULL="$T/full"
expect 2 "--out onto a full device" -- $SOLVE --out "$FULL"
check "the device stays a device" [ -c "$FULL" ]
grep_in err "write failed: No space left on device" "the reason is given"
"$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb --out /dev/stdout | cat >"$T/piped"
grep_in piped "status: solved" "--out /dev/stdout into a pipe is written through"
expect 0 "--out /dev/stdout into a file" -- $SOLVE --out /dev/stdout
grep_in out "status: solved" "--out /dev/stdout into a file"
# ... and what the shell wrote into that file before and after stays: the file
# open as stdout is written through, never replaced by a rename.
{ echo before; "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb --out /dev/stdout; echo after; } >"$T/around" 2>/dev/null
check "--out /dev/stdout into a file keeps the line before it" [ "$(head -n 1 "$T/around")" = before ]
check "--out /dev/stdout into a file keeps the line after it" [ "$(tail -n 1 "$T/around")" = after ]
grep_in around "status: solved" "--out /dev/stdout into a file, between the shell's lines"
mkdir "$T/adir"
expect 2 "--out onto a directory" -- $SOLVE --out "$T/adir"
# --out naming an input (or a link to one) is refused: it would replace it.
cp $EX/toy.data $EX/toy.emb "$T/"
ln -s toy.emb "$T/emb-link"
for o in toy.data toy.emb emb-link; do
    expect 2 "--out onto the input $o" -- "$BIN" svm solve "$T/toy.data" --embeddings "$T/toy.emb" --out "$T/$o"
    grep_in err "is the input file" "the clash with $o named"
done
check "the inputs survive" sh -c "cmp -s '$T/toy.data' $EX/toy.data && cmp -s '$T/toy.emb' $EX/toy.emb"
expect 2 "--out in a missing directory" -- $SOLVE --out "$T/no/dir/sol"
grep_in err "$T/no/dir/sol: cannot create" "the path named"

# ---- killed runs: a set appears whole; temporaries go ---------------------------
mkdir -p "$T/k"
"$BIN" svm generate --mode cyclic --seed 1 --out "$T/k/inst" >/dev/null 2>&1
cksum "$T/k/inst.data" "$T/k/inst.emb" >"$T/k.sum"
# kill_generate SIGNAL: a generate over inst, signalled while it stalls
# between its two files; prints its exit status
kill_generate() {
    AC_TEST_STALL_SECONDS=30 $2 "$BIN" svm generate --mode cyclic --seed 2 --out "$T/k/inst" >/dev/null 2>&1 &
    p=$!
    wait_for "$T/k/.attncheck-set.*/inst.data" || echo "FAIL: no staging appeared" >&2
    kill -$1 $p
    wait $p 2>/dev/null
    echo $?
}
st=$(kill_generate TERM "")
check "generate killed by SIGTERM: exit $st, not 143" [ "$st" -eq 143 ]
check "SIGTERM: the old instance is intact" sh -c "cksum '$T/k/inst.data' '$T/k/inst.emb' | cmp -s - '$T/k.sum'"
check "SIGTERM: no staging left" [ -z "$(ls -A "$T/k" | grep -v -x -e inst.data -e inst.emb)" ]
if env --default-signal=INT true 2>/dev/null; then
    st=$(kill_generate INT "env --default-signal=INT")
    check "generate killed by SIGINT: exit $st, not 130" [ "$st" -eq 130 ]
    check "SIGINT: the old instance is intact" sh -c "cksum '$T/k/inst.data' '$T/k/inst.emb' | cmp -s - '$T/k.sum'"
    check "SIGINT: no staging left" [ -z "$(ls -A "$T/k" | grep -v -x -e inst.data -e inst.emb)" ]
fi
st=$(kill_generate KILL "")
check "SIGKILL: the old instance is intact" sh -c "cksum '$T/k/inst.data' '$T/k/inst.emb' | cmp -s - '$T/k.sum'"
check "SIGKILL leaves a staging (the next run clears it)" [ -n "$(ls -A "$T/k" | grep -v -x -e inst.data -e inst.emb)" ]
# a dead run's temporary file beside a single output, and a live one's
sh -c 'exit 0' &
dead=$!
wait $dead
: >"$T/k/.attncheck-tmp.$dead.abcdef"
: >"$T/k/.attncheck-tmp.$$.abcdef"
: >"$T/k/sol.json.tmp.$dead.abcdef" # a user's file in the old temporaries' pattern
expect 0 "the next run" -- "$BIN" svm generate --mode cyclic --seed 2 --out "$T/k/inst"
check "the next run cleared the killed run's staging" [ -z "$(ls -A "$T/k" | grep '^\.attncheck-set')" ]
expect 0 "a single output" -- $SOLVE --format json --out "$T/k/sol.json"
absent "$T/k/.attncheck-tmp.$dead.abcdef" "a dead run's temporary"
check "a live process's temporary is kept" [ -e "$T/k/.attncheck-tmp.$$.abcdef" ]
check "a user's file named like NAME.tmp.PID.XXXXXX is kept" [ -e "$T/k/sol.json.tmp.$dead.abcdef" ]
# a target whose name is near NAME_MAX still gets a temporary (once NAME.tmp.<pid>.XXXXXX, over 255 bytes)
long=$(printf 'n%.0s' $(seq 250)).json
expect 0 "--out a 255-byte name" -- $SOLVE --format json --out "$T/k/$long"
check "the 255-byte name written" [ -s "$T/k/$long" ]
check "the new instance replaced the old" sh -c "! cksum '$T/k/inst.data' '$T/k/inst.emb' | cmp -s - '$T/k.sum'"

# A partial baseline: regress reruns its claims and flags the ones it lacks.
expect 0 "run two quick claims" -- "$BIN" run svm.structure svm.high-precision --size quick --quiet --out "$T/part"
expect 1 "regress flags claims without a baseline" -- "$BIN" regress --baseline "$T/part"
grep_in out "added (no baseline yet" "regress names them"
# A full quick run writes every format and the index (exit 0 or 1: a claim
# may fail honestly), and regress agrees with it.
"$BIN" run svm --size quick --quiet --out "$T/res" >/dev/null 2>"$T/err"
st=$?
check "run svm quick: exit $st, not 0 or 1" [ $st -le 1 ]
for f in md csv json tex; do
    check "$T/res/svm.$f written" [ -s "$T/res/svm.$f" ]
done
check "index written" [ -s "$T/res/README.md" ]
expect 0 "regress against the run just made" -- "$BIN" regress --baseline "$T/res"
# Reports and regress name the code: the library source that ran the claims,
# the one attncheck --version prints (reports named none).
src=$("$BIN" --version | sed 's/.*library source \([0-9a-f]*\)).*/\1/')
grep_in out "^== svm: baseline seed 1, size quick, written .* by library source $src (this build: $src)$" "regress names both sources"
check "the Markdown report names the library source" grep -q "^Paper .svm.. attncheck .* (library source $src), seed 1, size quick," "$T/res/svm.md"
check "the JSON report carries the source" grep -q "\"source\": \"$src\"" "$T/res/svm.json"
# A moved number is caught: perturb one empirical value in the baseline.
sed 's/"empirical": 0\.9/"empirical": 0.8/' "$T/res/svm.json" >"$T/res/svm.json.new" && mv "$T/res/svm.json.new" "$T/res/svm.json"
expect 1 "regress catches a moved number" -- "$BIN" regress --baseline "$T/res"
grep_in out "MOVED" "regress says MOVED"
printf '{"meta": ' >"$T/res/svm.json"
expect 2 "malformed baseline" -- "$BIN" regress --baseline "$T/res"
grep_in err "svm.json:" "the message names the file"
# A baseline run cannot have written is refused, naming the file and key,
# before any claim reruns: an unknown size (it reran at the default size and
# reported every number moved), a seed beyond run's, a claim listed twice or
# one of another paper (each reported as a missing claim), another paper's
# file; a FIFO (the read blocked) and a dangling link are not absent files.
"$BIN" run svm.structure svm.retrieval --size quick --format json --quiet --out "$T/rb0" 2>"$T/err"
bad_baseline() { # NAME SED-SCRIPT MESSAGE
    mkdir -p "$T/rb-$1"
    sed "$2" "$T/rb0/svm.json" >"$T/rb-$1/svm.json"
    expect 2 "regress refuses a baseline with $1" -- "$BIN" regress --baseline "$T/rb-$1"
    grep_in err "rb-$1/svm.json: $3" "the message names the file and key ($1)"
    check "a refused baseline reruns nothing ($1)" [ ! -s "$T/out" ]
}
bad_baseline size 's/"size": "quick"/"size": "huge"/' "meta.size: 'huge' is not"
bad_baseline seed 's/"seed": 1,/"seed": 4611686018427387904,/' "meta.seed: 4611686018427387904 is beyond"
bad_baseline dup 's/"id": "svm.retrieval"/"id": "svm.structure"/' "claims\[1\].id: svm.structure is also claims\[0\]"
bad_baseline other-claim 's/"id": "svm.retrieval"/"id": "moe.equivalence"/' "claims\[1\]: moe.equivalence is a claim of moe"
bad_baseline id-newline 's/"id": "svm.retrieval"/"id": "svm.x\\n== forged"/' "claims\\[1\\].id: 'svm.x"
bad_baseline quantity-newline '0,/"quantity": "/s//"quantity": "\\n== forged /' "claims\\[0\\].rows\\[0\\].quantity: a control character (byte 10) at 0"
bad_baseline other-paper 's/"name": "svm"/"name": "moe"/' "paper.name: 'moe', but the file is the baseline of svm"
# every baseline is checked before any claim reruns: a bad later paper's
# file is refused without svm's rerun first
mkdir -p "$T/rb-later"
cp "$T/rb0/svm.json" "$T/rb-later/svm.json"
printf '{"meta": ' >"$T/rb-later/moe.json"
expect 2 "regress refuses a bad second baseline" -- "$BIN" regress --baseline "$T/rb-later"
grep_in err "rb-later/moe.json:1:" "the message names the file"
check "a refused baseline set reruns nothing" [ ! -s "$T/out" ]
# a NAME.json of no paper (misnamed, or a paper removed) is not skipped in silence
"$BIN" run svm --size quick --format json --quiet --out "$T/rb-unknown" 2>"$T/err"
expect 0 "regress against a whole svm baseline" -- "$BIN" regress --baseline "$T/rb-unknown"
cp "$T/rb-unknown/svm.json" "$T/rb-unknown/svm-old.json"
expect 1 "regress counts a baseline of no paper as missing" -- "$BIN" regress --baseline "$T/rb-unknown"
grep_in out "rb-unknown/svm-old.json: no paper named 'svm-old'" "the line names the file"
mkdir -p "$T/rb-fifo" "$T/rb-link"
mkfifo "$T/rb-fifo/svm.json"
expect 2 "regress refuses a FIFO baseline" -- timeout 20 "$BIN" regress --baseline "$T/rb-fifo"
grep_in err "rb-fifo/svm.json: not a regular file" "the message names the FIFO"
ln -s nowhere.json "$T/rb-link/svm.json"
expect 2 "regress refuses a dangling baseline link" -- "$BIN" regress --baseline "$T/rb-link"
grep_in err "rb-link/svm.json: cannot open" "the message names the link"
expect 2 "regress refuses an empty --baseline" -- "$BIN" regress --baseline ""
grep_in err "empty directory name" "the message says so"
# An --out that cannot be written is refused before the claims run (moe at
# the default size takes a minute; the timeout bounds a regression's cost).
: >"$T/regular"
expect 2 "run --out a regular file, refused before the run" -- timeout 10 "$BIN" run moe --quiet --out "$T/regular"
grep_in err "out .*regular: .*regular is not a directory" "the message names the option and path"
ln -s "$T/nowhere" "$T/dangling-out"
expect 2 "run --out a dangling link, refused before the run" -- timeout 10 "$BIN" run moe --quiet --out "$T/dangling-out"
grep_in err "dangling-out is a link to nothing" "the message says what the path is"
absent "$T/nowhere" "a directory created through a dangling link"
expect 2 "run --out below a regular file" -- timeout 10 "$BIN" run moe --quiet --out "$T/regular/sub"
grep_in err "regular/sub: Not a directory" "the message names the path and reason"
expect 2 "run --out ''" -- "$BIN" run svm.structure --size quick --quiet --out ""


# run --out writes a set: the figures directory is replaced whole, and a run
# signalled while it writes leaves the old set.
mkdir -p "$T/part/figures"
: >"$T/part/figures/stale.png"
expect 0 "rerun into the same directory" -- "$BIN" run svm.structure svm.high-precision --size quick --quiet --out "$T/part"
absent "$T/part/figures/stale.png" "a figure of an older run"
cksum "$T/part"/*.md "$T/part"/*.json >"$T/part.sum"
term_when "$T/part/.attncheck-set.*/svm.md" "run --out" -- "$BIN" run svm.structure --size quick --seed 9 --quiet --out "$T/part"
check "run --out killed by SIGTERM: exit $st, not 143" [ $st -eq 143 ]
check "SIGTERM: the old tables and index are intact" sh -c "cksum '$T/part'/*.md '$T/part'/*.json | cmp -s - '$T/part.sum'"
check "SIGTERM: no staging left" [ -z "$(ls -A "$T/part" | grep '^\.')" ]
# ... and into a directory it had to create, it leaves no directory
term_when "$T/fresh/sub/.attncheck-set.*/svm.md" "run --out NEW/DIR" -- "$BIN" run svm.structure --size quick --seed 9 --quiet --out "$T/fresh/sub"
check "run --out NEW/DIR killed by SIGTERM: exit $st, not 143" [ $st -eq 143 ]
absent "$T/fresh" "the directories a killed run created"

# ---- a sweep split over machines: run --trials/--records, then merge ------
# The merged table is the full run's, bit for bit (JSON carries every double
# to 17 digits), once the wall-clock seconds, date and command line are gone.
expect 0 "merge --help" -- "$BIN" merge --help
C=svm.direction-cyclic
mkdir -p "$T/sw"
untimed() { grep -v -e '_seconds"' -e '"date"' -e '"command_line"' "$1"; }
"$BIN" run $C --size quick --seed 3 --format json >"$T/sw/full.json" 2>"$T/err"
full_st=$?
expect 0 "run trials 0:1 into records" -- "$BIN" run $C --size quick --seed 3 --trials 0:1 --records "$T/sw/a.json"
check "a partial run prints no table" [ ! -s "$T/out" ]
expect 0 "run trials 1: (to the last) into records" -- "$BIN" run $C --size quick --seed 3 --trials 1: --records "$T/sw/b.json"
"$BIN" merge "$T/sw/b.json" "$T/sw/a.json" --format json >"$T/sw/merged.json" 2>"$T/err"
st=$?
check "merge exits as the full run ($st, $full_st)" [ $st -eq $full_st ]
untimed "$T/sw/full.json" >"$T/sw/full.cut"
untimed "$T/sw/merged.json" >"$T/sw/merged.cut"
check "merged records give the full run's table" cmp -s "$T/sw/full.cut" "$T/sw/merged.cut"
check "the compared table has rows" grep -q '"quantity"' "$T/sw/full.cut"
# all trials into one records file: the table is printed too, and merges alone
"$BIN" run $C --size quick --seed 3 --records "$T/sw/all.json" --format json >"$T/sw/all.out" 2>"$T/err"
untimed "$T/sw/all.out" >"$T/sw/all.cut"
check "run --records without --trials prints the full table" cmp -s "$T/sw/full.cut" "$T/sw/all.cut"
"$BIN" merge "$T/sw/all.json" --format json >"$T/sw/one.json" 2>"$T/err"
untimed "$T/sw/one.json" >"$T/sw/one.cut"
check "one complete records file merges alone" cmp -s "$T/sw/full.cut" "$T/sw/one.cut"
# refusals name the file
"$BIN" run $C --size quick --seed 4 --trials 1:3 --records "$T/sw/seed4.json" 2>/dev/null
"$BIN" run $C --size default --seed 3 --trials 1:2 --records "$T/sw/default.json" 2>/dev/null
"$BIN" run svm.structure --size quick --seed 3 --trials 1:2 --records "$T/sw/other.json" 2>/dev/null
expect 2 "merge refuses an overlap" -- "$BIN" merge "$T/sw/a.json" "$T/sw/all.json"
grep_in err "all.json: trial 0 is also in .*a.json" "the overlap names both files and the trial"
expect 2 "merge refuses another seed" -- "$BIN" merge "$T/sw/a.json" "$T/sw/seed4.json"
grep_in err "seed4.json: .*seed 4.*a.json" "the seed clash names both files"
expect 2 "merge refuses another size" -- "$BIN" merge "$T/sw/a.json" "$T/sw/default.json"
grep_in err "default.json: .*size default" "the size clash names the file"
expect 2 "merge refuses another claim" -- "$BIN" merge "$T/sw/a.json" "$T/sw/other.json"
grep_in err "other.json: records of svm.structure" "the claim clash names the file"
expect 2 "merge refuses missing trials" -- "$BIN" merge "$T/sw/a.json"
grep_in err "1 of its 3 trials; missing: --trials 1:3" "the message says which trials are missing"
check "a refused merge prints no table" [ ! -s "$T/out" ]
# Records of a claim this version lacks (another version's file: resealed, as
# that version would have written them).
sed 's/"id":"svm.direction-cyclic"/"id":"svm.nosuch"/' "$T/sw/a.json" >"$T/sw/edited.json"
/usr/bin/python3 tests/records_reseal.py "$T/sw/edited.json" "$T/sw/unknown.json"
expect 2 "merge refuses records of an unknown claim" -- "$BIN" merge "$T/sw/unknown.json"
grep_in err "unknown.json: no claim named 'svm.nosuch'" "the message names the file and the claim"
# A record changed after run wrote it is refused, naming the file, record and
# trial: each record carries a digest of its run, index and vectors.  Before,
# a record with a vector dropped was passed over by the statistics: the claim
# was judged on fewer trials, and merge printed a table.
expect 2 "merge refuses a record moved to another claim" -- "$BIN" merge "$T/sw/edited.json"
grep_in err "edited.json: trial record 0 (trial 0): its digest does not match its contents" "a changed id is caught"
/usr/bin/python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
del run["records"][0]["vectors"][next(iter(run["records"][0]["vectors"]))]
json.dump(run, open(sys.argv[2], "w"))' "$T/sw/b.json" "$T/sw/dropped.json"
expect 2 "merge refuses a record with a vector dropped" -- "$BIN" merge "$T/sw/a.json" "$T/sw/dropped.json"
grep_in err "dropped.json: trial record 0 (trial 1): its digest does not match its contents" "a dropped vector is caught"
check "a refused merge prints no table" [ ! -s "$T/out" ]
/usr/bin/python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
v = run["records"][-1]["vectors"]; k = next(iter(v)); v[k][0] = 1.0 if v[k][0] != 1.0 else 2.0
json.dump(run, open(sys.argv[2], "w"))' "$T/sw/b.json" "$T/sw/value.json"
expect 2 "merge refuses a record with a value changed" -- "$BIN" merge "$T/sw/a.json" "$T/sw/value.json"
grep_in err "value.json: trial record 1 (trial 2): its digest does not match" "a changed value is caught"
# Records of another build (its library source, attncheck --version) are
# another code's numbers: refused by merge, naming the file and both sources
# (before, records carried no build, and a derivation changed between the
# parts was merged into one table).
sed 's/"source":"[0-9a-f]*"/"source":"0123456789abcdef"/' "$T/sw/b.json" >"$T/sw/edited.json"
/usr/bin/python3 tests/records_reseal.py "$T/sw/edited.json" "$T/sw/build.json"
expect 2 "merge refuses records of another build" -- "$BIN" merge "$T/sw/a.json" "$T/sw/build.json"
grep_in err "build.json: records of the build with source 0123456789abcdef; this build's is [0-9a-f]\{16\}" \
    "another build's records: the file and both sources"
expect 0 "--version names the library source" -- "$BIN" --version
grep_in out "^attncheck [0-9.]* (library source [0-9a-f]\{16\})$" "the version line with its source"
sed 's/"digest":"[0-9a-f]*",//' "$T/sw/b.json" >"$T/sw/nodigest.json"
expect 2 "merge refuses a record without a digest" -- "$BIN" merge "$T/sw/a.json" "$T/sw/nodigest.json"
grep_in err "nodigest.json: trial record 0 (trial 1): no \"digest\"" "a missing digest is named"
printf '{"id": "%s",\n "seed": }' $C >"$T/sw/bad.json"
expect 2 "merge refuses a malformed file" -- "$BIN" merge "$T/sw/a.json" "$T/sw/bad.json"
grep_in err "bad.json:2:" "the message names the file and line"
# records that are not records: each once crashed merge (a double free)
for rec in 7 '{"index": 0.0, "vectors": {}}' '{"index": -1, "vectors": {}}' '{"vectors": {}}' '{"index": 0}'; do
    printf '{"id": "%s", "source": "%s", "seed": 3, "size": "quick", "ntrials": 3, "records": [%s]}\n' $C "$("$BIN" --version | sed "s/.*source \(.*\))/\1/")" "$rec" >"$T/sw/rec.json"
    expect 2 "merge refuses the record $rec" -- "$BIN" merge "$T/sw/rec.json"
    grep_in err "rec.json: trial record 0:" "the message names the file and the record"
done
expect 2 "merge refuses a missing file" -- "$BIN" merge "$T/sw/nosuch.json"
grep_in err "nosuch.json: cannot open" "the message names the file"
expect 2 "merge needs a file" -- "$BIN" merge
# --out is checked before the records are read: with a malformed records
# file too, the message is about --out
expect 2 "merge --out a regular file, refused before merging" -- "$BIN" merge "$T/sw/bad.json" --out "$T/regular"
grep_in err "regular is not a directory" "the message names --out's path"
# an --out whose set would replace the records read (or written): refused
# before any work, the records untouched (the set once wrote the table over them)
cp "$T/sw/all.json" "$T/sw/svm.json"
cksum "$T/sw/svm.json" >"$T/sw/svm.sum"
expect 2 "merge --out onto its own records" -- "$BIN" merge "$T/sw/svm.json" --out "$T/sw"
grep_in err "would replace $T/sw/svm.json" "the message names the records"
expect 2 "merge --out onto its records, spelt otherwise" -- "$BIN" merge "$T/sw/../sw/svm.json" --out "$T/sw/"
ln "$T/sw/svm.json" "$T/sw/hard.json"
expect 2 "merge --out onto a hard link of its records" -- "$BIN" merge "$T/sw/hard.json" --out "$T/sw" --format json
mkdir -p "$T/sw/figures"
cp "$T/sw/all.json" "$T/sw/figures/r.json"
expect 2 "merge --out whose figures/ holds its records" -- "$BIN" merge "$T/sw/figures/r.json" --out "$T/sw"
grep_in err "lies in it" "the message says the records lie in figures/"
expect 2 "run --records inside its own --out set" -- "$BIN" run $C --size quick --seed 3 --records "$T/sw/svm.csv" --out "$T/sw"
check "the records survived every refusal" sh -c "cksum '$T/sw/svm.json' | cmp -s - '$T/sw/svm.sum'"
check "no table was written over them" [ ! -e "$T/sw/svm.md" -a ! -e "$T/sw/svm.csv" ]
rm -rf "$T/sw/svm.json" "$T/sw/hard.json" "$T/sw/figures"
expect 2 "--trials without --records" -- "$BIN" run $C --size quick --trials 0:1
expect 2 "--trials past the last trial" -- "$BIN" run $C --size quick --trials 2:4 --records "$T/sw/x.json"
grep_in err "has 3 trials at size quick" "the message gives the number of trials"
expect 2 "--trials empty range" -- "$BIN" run $C --size quick --trials 1:1 --records "$T/sw/x.json"
expect 2 "--trials not a range" -- "$BIN" run $C --size quick --trials 1-2 --records "$T/sw/x.json"
expect 2 "--records of a paper" -- "$BIN" run svm --size quick --trials 0:1 --records "$T/sw/x.json"
expect 2 "--trials with --out" -- "$BIN" run $C --size quick --trials 0:1 --records "$T/sw/x.json" --out "$T/sw/o"
absent "$T/sw/x.json" "a refused run's records file"
expect 2 "--records onto a directory" -- "$BIN" run $C --size quick --trials 0:1 --records "$T/sw"
# refused before the trials run (this claim takes minutes at the default size;
# the timeout bounds a regression's cost)
expect 2 "--records in a missing directory, refused before the run" -- timeout 10 "$BIN" run paths.theory-vs-samples --quiet --records "$T/sw/missing/x.json"
grep_in err "missing/x.json: cannot create a temporary file" "the message names the file"

# An option given twice is refused (cli_getopt), in every command's option
# loop: an option of the command twice, then --help, which would otherwise
# print the help and succeed (list has no option but --help); and a run whose
# two seeds would otherwise leave the first unread, writing nothing.
for case in "run --format md" "merge --format md" "regress --baseline x" \
    "svm graph --format text" "svm solve --format text" "svm train --format text" \
    "svm generate --seed 1" "joma integrate --format csv" "joma train --format text" \
    "joma generate --seed 1" "paths solve --format text" "paths sample --format text" \
    "paths generate --seed 1" "moe convert --model x" "moe check --format text" \
    "moe tabular --format text" "moe generate --seed 1"; do
    cmd=${case% --*}
    opt=${case#"$cmd "}
    # shellcheck disable=SC2086 # the words of the command and the option
    expect 2 "$cmd: $opt given twice" -- "$BIN" $cmd $opt $opt --help
    grep_in err "option '${opt% *}' given twice" "$cmd: the message names the option"
done
expect 2 "a seed given twice" -- "$BIN" paths generate --task markov --seed 1 --seed=2 --out "$T/twice.json"
grep_in err "paths generate: option '--seed' given twice" "the message names the command and the option"
absent "$T/twice.json" "a refused run's output"
expect 2 "an abbreviated option given twice" -- "$BIN" paths generate --task markov --se 1 --seed 2 --out "$T/twice.json"

cli_summary cli
