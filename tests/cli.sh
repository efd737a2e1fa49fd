#!/bin/sh
# End-to-end checks of the attncheck command line: exit statuses, messages
# naming file and line, outputs written whole or not at all, and the README
# example through every svm command.  AC_BIN names the binary.
set -u
BIN=${AC_BIN:-build/attncheck}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

# expect STATUS DESCRIPTION -- COMMAND...: run, compare the exit status.
expect() {
    want=$1; what=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what: exit $got, expected $want: $*"
        sed 's/^/    /' "$T/err" | head -5
    fi
}

# check DESCRIPTION COMMAND...: COMMAND's success is a pass.
check() {
    what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what"
    fi
}

# grep_in FILE PATTERN DESCRIPTION: PATTERN occurs in $T/FILE.
grep_in() {
    if grep -q -- "$2" "$T/$1"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $3: '$2' not in $1:"
        sed 's/^/    /' "$T/$1" | head -5
    fi
}

absent() {
    check "$2: $1 was left behind" [ ! -e "$1" ]
}

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
expect 0 "svm solve" -- "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb
grep_in out "status: solved" "solve reports its status"
expect 0 "svm solve json to a file" -- "$BIN" svm solve $EX/toy.data --embeddings $EX/toy.emb --format json --out "$T/sol.json"
grep_in sol.json '"W_svm"' "solve JSON has W_svm"
grep_in sol.json '"residuals"' "solve JSON has the residuals"
expect 0 "svm train" -- "$BIN" svm train $EX/toy.data --embeddings $EX/toy.emb --steps 200
expect 0 "svm train plain csv" -- "$BIN" svm train $EX/toy.data --embeddings $EX/toy.emb --plain --steps 100 --format csv
grep_in out "^step,loss" "csv header"
expect 0 "svm generate" -- "$BIN" svm generate --mode cyclic --seed 3 --out "$T/g"
expect 0 "svm solve on a generated instance" -- "$BIN" svm solve "$T/g.data" --embeddings "$T/g.emb"
expect 2 "svm generate without --out" -- "$BIN" svm generate --mode cyclic

# Bad input: FILE:LINE: reason, exit 2, nothing written.
printf '0 1 | 0\n1 2 0\n' >"$T/bad.data"
expect 2 "missing |" -- "$BIN" svm solve "$T/bad.data" --embeddings $EX/toy.emb --out "$T/x.json"
grep_in err "bad.data:2:" "the message names file and line"
absent "$T/x.json" "a failed solve"
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
# A moved number is caught: perturb one empirical value in the baseline.
sed 's/"empirical": 0\.9/"empirical": 0.8/' "$T/res/svm.json" >"$T/res/svm.json.new" && mv "$T/res/svm.json.new" "$T/res/svm.json"
expect 1 "regress catches a moved number" -- "$BIN" regress --baseline "$T/res"
grep_in out "MOVED" "regress says MOVED"
printf '{"meta": ' >"$T/res/svm.json"
expect 2 "malformed baseline" -- "$BIN" regress --baseline "$T/res"
grep_in err "svm.json:" "the message names the file"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
