#!/bin/sh
# The library as a user links it (docs/library.md): every public header
# compiles alone, and each program of examples/lib/ compiles with the link
# line the guide gives, runs clean, and prints the numbers the command line
# prints for the same input.  Sourced helpers: tests/clilib.sh.
#
# Every comparison is bit for bit: each example makes the same library calls,
# in the same order, with the same settings, as the command it is compared
# with (svm solve, paths solve, joma integrate --n-out 11, moe convert and
# the double half of moe check), so no tolerance is needed and none is
# allowed.  A %.17g number read back by Python is the same double.
. "$(dirname "$0")/clilib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EX=$ROOT/examples
PY=${PYTHON:-python3}
CC=${CC:-cc}
# The library next to the binary under test: build/ or, under SANITIZE=1,
# build-san/.
LIB=$(dirname "$BIN")/libattncheck.a

# --- the documented link line -------------------------------------------------
# The libraries are the Makefile's LIBS (what build/attncheck links), and the
# guide must give them in the same order: a link line that drifts from the
# Makefile fails here, not in a user's hands.
LIBS=$(sed -n 's/^LIBS *= *//p' "$ROOT/Makefile")
check "the Makefile defines LIBS" [ -n "$LIBS" ]
# Every link line of the guide (a line with "libattncheck.a -l") must list
# exactly LIBS after the archive.
awk '/libattncheck\.a -l/ { sub(/.*libattncheck\.a /, ""); sub(/ -o .*/, ""); print }' \
    "$ROOT/docs/library.md" >"$T/links" 2>/dev/null
check "docs/library.md gives link lines" [ -s "$T/links" ]
while IFS= read -r l; do
    check "docs/library.md links '$l', the Makefile '$LIBS'" [ "$l" = "$LIBS" ]
done <"$T/links"
check "the library $LIB exists (make lib)" [ -f "$LIB" ]
# A sanitized library (make SANITIZE=1) needs the sanitizers' runtimes at link
# time; the examples are then built with them and leaks fail the run.
SAN=
if nm "$LIB" 2>/dev/null | grep -q __asan_; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
fi

# --- every public header compiles alone --------------------------------------
# So a user may include any one of them first: each brings what it uses.
# Strict C11 without _POSIX_C_SOURCE, as a user's file may be.
nh=0
for h in "$ROOT"/theory/*.h "$ROOT"/solvers/*.h "$ROOT"/verify/*.h; do
    rel=${h#"$ROOT"/}
    nh=$((nh + 1))
    if printf '#include "%s"\n' "$rel" |
        "$CC" -std=c11 -Wall -Wextra -I"$ROOT" -fsyntax-only -x c - 2>"$T/herr"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $rel does not compile alone:"
        sed 's/^/    /' "$T/herr" | head -5
    fi
done
check "headers found under theory/, solvers/, verify/ ($nh)" [ "$nh" -gt 20 ]

# --- the examples ---------------------------------------------------------------
# build_file NAME SOURCE LABEL: compile SOURCE into $T/NAME with the
# documented line (warnings are errors: an example is code to copy); build
# NAME does examples/lib/NAME.c.
build_file() {
    # shellcheck disable=SC2086 # LIBS and SAN are word lists
    if "$CC" -std=c11 -Wall -Wextra -Werror $SAN -I"$ROOT" "$2" "$LIB" $LIBS \
        -o "$T/$1" 2>"$T/cerr"; then
        pass=$((pass + 1))
        return 0
    fi
    fail=$((fail + 1))
    echo "FAIL: $3 does not compile with the documented line:"
    sed 's/^/    /' "$T/cerr" | head -10
    return 1
}
build() {
    build_file "$1" "$EX/lib/$1.c" "examples/lib/$1.c"
}
EX_SHAPE=$T/shape.c

# The comparison: every "KEY VALUE" line of the example against the CLI's
# JSON (KEY a path: a.b[i][j]); and every leaf under each required key printed
# (so an example that drops a row is caught).  Numbers compared as doubles,
# bit for bit (float.hex: -0 differs from 0); strings and booleans as text.
cat >"$T/compare.py" <<'PY'
import json, re, sys
ex, js, required = sys.argv[1], sys.argv[2], sys.argv[3].split()
doc = json.load(open(js))
got, bad = {}, []
for n, line in enumerate(open(ex), 1):
    key, _, val = line.rstrip("\n").partition(" ")
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*|\[\d+\])*", key) or not val:
        bad.append("line %d: not KEY VALUE: %r" % (n, line))
        continue
    got[key] = val
def leaves(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + "." + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, "%s[%d]" % (path, i))
    else:
        yield path, node
def lookup(key):
    node = doc
    for name, idx in re.findall(r"(\w+)|\[(\d+)\]", key):
        node = node[name] if name else node[int(idx)]
    return node
def same(text, want):
    if isinstance(want, bool):
        return text == ("true" if want else "false")
    if isinstance(want, (int, float)):
        return float(text).hex() == float(want).hex()
    return text == want
for key, text in got.items():
    try:
        want = lookup(key)
    except (KeyError, IndexError, TypeError):
        bad.append("%s: not in the CLI's JSON" % key)
        continue
    if isinstance(want, (dict, list)) or not same(text, want):
        bad.append("%s: example %s, CLI %r" % (key, text, want))
for r in required:
    for path, _ in leaves(lookup(r), r):
        if path not in got:
            bad.append("%s: in the CLI's JSON, not printed by the example" % path)
for b in bad[:10]:
    print("    " + b)
print("    %d values compared, %d problems" % (len(got), len(bad)))
sys.exit(1 if bad or not got else 0)
PY

# same NAME CLI_JSON REQUIRED_KEYS: the example's output ($T/NAME.out) against
# the CLI's JSON.
same() {
    if "$PY" "$T/compare.py" "$T/$1.out" "$2" "$3" >"$T/cmp" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: examples/lib/$1 and the command line differ:"
        cat "$T/cmp"
    fi
}

# run NAME ARGS...: the example exits 0, prints to $T/NAME.out, nothing on
# stderr.
run() {
    name=$1
    shift
    expect 0 "examples/lib/$name runs" -- "$T/$name" "$@"
    cp "$T/out" "$T/$name.out"
    check "examples/lib/$name is silent on stderr" [ ! -s "$T/err" ]
}

# refuses NAME ARGS...: a missing input is refused with exit 2 and the
# library's message naming the file.
refuses() {
    name=$1
    shift
    expect 2 "examples/lib/$name refuses a missing file" -- "$T/$name" "$@"
    grep_in err "$T/missing" "examples/lib/$name names the missing file"
}

# The guide's first C block, "A program's shape", is a whole program too.
awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' "$ROOT/docs/library.md" >"$EX_SHAPE" 2>/dev/null
check "docs/library.md has a C block" [ -s "$EX_SHAPE" ]
if build_file shape "$EX_SHAPE" "the C block of docs/library.md"; then
    expect 0 "the guide's program reads the paths task" -- "$T/shape" "$EX/paths-task.json"
    expect 2 "the guide's program refuses a missing file" -- "$T/shape" "$T/missing"
    grep_in err "$T/missing" "the guide's program prints the library's message"
fi

if build svm_solve; then
    run svm_solve "$EX/toy.data" "$EX/toy.emb"
    "$BIN" svm solve "$EX/toy.data" --embeddings "$EX/toy.emb" --format json --out "$T/svm.json"
    same svm_solve "$T/svm.json" "status norm_W_svm W_svm W_fin residuals W_fin_grad_norm newton.status"
    refuses svm_solve "$T/missing" "$EX/toy.emb"
fi

if build paths_solve; then
    run paths_solve "$EX/paths-task.json"
    "$BIN" paths solve --task "$EX/paths-task.json" --format json --out "$T/paths.json"
    same paths_solve "$T/paths.json" "outcome iterations grad_norm S U_a U head_scores test.mean test.variance"
    refuses paths_solve "$T/missing"
fi

if build joma_integrate; then
    run joma_integrate "$EX/joma-mu.txt"
    "$BIN" joma integrate "$EX/joma-mu.txt" --n-out 11 --format json --out "$T/joma.json"
    same joma_integrate "$T/joma.json" "outcome steps t v entropy"
    refuses joma_integrate "$T/missing"
fi

if build moe_check; then
    run moe_check "$EX/moe-model.json" "$T/form.json"
    "$BIN" moe check --model "$EX/moe-model.json" --format json --out "$T/moe.json"
    same moe_check "$T/moe.json" "tolerance max_abs_dlogp max_abs_dp holds_double mpfr_max_rel_dlogp mpfr_digits holds_mpfr double_vs_mpfr"
    "$BIN" moe convert --model "$EX/moe-model.json" --out "$T/form_cli.json"
    check "examples/lib/moe_check writes moe convert's form byte for byte" cmp "$T/form.json" "$T/form_cli.json"
    refuses moe_check "$T/missing"
fi

# --- under valgrind, when it is there and the build is not sanitized ---------
# (make test-valgrind installs it; a sanitized build checks leaks itself.)
# vg NAME ARGS...: no memory error and no definite leak, on success and on a
# refused input alike.
vg() {
    name=$1
    shift
    [ -x "$T/$name" ] || return 0
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$T/$name" "$@" >/dev/null 2>"$T/vg"
    st=$?
    check "$name $* is valgrind clean (exit $st)" [ "$st" -ne 99 ]
    [ "$st" -ne 99 ] || sed 's/^/    /' "$T/vg" | head -10
}
if [ -z "$SAN" ] && command -v valgrind >/dev/null 2>&1; then
    vg shape "$EX/paths-task.json"
    vg svm_solve "$EX/toy.data" "$EX/toy.emb"
    vg svm_solve "$T/missing" "$EX/toy.emb"
    vg paths_solve "$EX/paths-task.json"
    vg paths_solve "$T/missing"
    vg joma_integrate "$EX/joma-mu.txt"
    vg moe_check "$EX/moe-model.json" "$T/form2.json"
    vg moe_check "$T/missing"
elif [ -n "$SAN" ]; then
    echo "cli_library: sanitized build: the sanitizers checked the examples, not valgrind"
else
    echo "cli_library: valgrind is not installed: the examples were not run under it"
fi

cli_summary cli_library
