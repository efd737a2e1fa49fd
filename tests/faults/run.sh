#!/bin/sh
# The fault-planting campaign (make faults; docs/faults.md): plant each fault
# of tests/faults/*.faults alone in a temporary copy of the tree, build, run
# the checks, revert, and write results/faults.md: CAUGHT (by which tests or
# regress rows), MISSED, INVALID (did not build) or STALE (its old text is
# not in its file exactly once).  The working tree is never touched.
#
#   tests/faults/run.sh
#
# Environment:
#   FAULTS=id1,id2      plant only these faults (default: all)
#   FAULTS_SCOPE=module the Criterion suite filtered to the fault's module plus
#                       the ground tests, then `attncheck regress` against the
#                       module's baseline (results/baseline/<module>.json; a
#                       ground fault: every paper's).  Default.
#   FAULTS_SCOPE=all    the whole suite, the CLI scripts (make test's checks),
#                       then the whole regress.
#   FAULTS_ALL_CHECKS=1 run every check even after one has caught the fault
#                       (default: stop at the first, so regress runs only
#                       for faults the tests missed).
#   FAULTS_TIMEOUT=S    limit of one check in seconds (default 900); a check
#                       that runs past it catches the fault, flagged timeout.
#   FAULTS_OUT=PATH     the report (default results/faults.md).
#   FAULTS_UPDATE=1     merge into the report there: rows of the faults run
#                       now replace theirs, the others are kept (a rerun of
#                       FAULTS=... after a fix), and the run is added to its
#                       list of runs.
#   FAULTS_JOBS=N       make and Criterion jobs (default 2).
# Needs git, make, timeout (coreutils), tar and /usr/bin/python3 (make deps).
# Exit status: 0 the campaign ran (whatever it found), 2 it could not run
# (bad usage, the unfaulted tree does not build or does not pass its checks).
set -eu

# The whole script is one function, read before it runs, so that editing
# this file during a campaign does not change the running one.
main() {

cd "$(dirname "$0")/../.."
root=$(pwd)
scope=${FAULTS_SCOPE:-module}
case $scope in
module | all) ;;
*) echo "run.sh: FAULTS_SCOPE must be module or all, not '$scope'" >&2; exit 2 ;;
esac
limit=${FAULTS_TIMEOUT:-900}
jobs=${FAULTS_JOBS:-2}
out=${FAULTS_OUT:-results/faults.md}
all_checks=${FAULTS_ALL_CHECKS:-0}
for v in "$limit" "$jobs"; do
    case $v in
    '' | *[!0-9]*) echo "run.sh: FAULTS_TIMEOUT and FAULTS_JOBS must be whole numbers" >&2; exit 2 ;;
    esac
done
helper="python3 $root/tests/faults/faults.py"
$helper list "${FAULTS:-}" >/dev/null || exit 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attncheck-faults.XXXXXX")
child=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$child" ]; then
        kill -TERM -- "-$child" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The copy: every file git tracks or would track (uncommitted edits
# included, ignored files not), with their times, and a copy of build/ so
# that each fault rebuilds one object and relinks.
src=$tmp/src
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$src"
if [ -d build ]; then
    cp -a build "$src/build"
fi
# from here on the copy's fault list and helper: editing the tree during a
# campaign changes nothing in it
helper="python3 $src/tests/faults/faults.py"
commit=$(git rev-parse --short=12 HEAD)
if git status --porcelain --untracked-files=normal | grep -qv "^...$out\$"; then
    commit="$commit plus uncommitted changes"
fi
bin=build/attncheck
tbin=build/attncheck-tests
for m in svm joma moe paths; do
    mkdir -p "$tmp/base-$m"
    cp "results/baseline/$m.json" "$tmp/base-$m/"
done
mkdir -p "$tmp/base-ground"
cp results/baseline/*.json "$tmp/base-ground/"

now() { date +%s; }

# run LOG CMD...: CMD in the copy under timeout, in its own process group so
# that an interrupt ends it whole; returns its status (124 past the limit).
run() {
    log=$1
    shift
    (cd "$src" && exec setsid timeout -k 10 "$limit" "$@") </dev/null >"$log" 2>&1 &
    child=$!
    st=0
    wait "$child" || st=$?
    child=
    return "$st"
}

build() {
    run "$tmp/build.log" make -j"$jobs" "$bin" "$tbin"
}

# The Criterion suites of each module and of the ground.
ground_suites='adam|atomic|claim|figure|json_array|linalg|minimize|newton|registry|regress|report|trial'
suites_of() {
    case $1 in
    svm) echo "tpg*|qp|graph|svm*" ;;
    joma) echo "joma*|ode*" ;;
    moe) echo "moe*" ;;
    paths) echo "paths*" ;;
    esac
}
# filter_of MODULE...: the Criterion pattern of their suites and the ground's.
filter_of() {
    p=$ground_suites
    for m in "$@"; do
        [ "$m" = ground ] || p="$(suites_of "$m")|$p"
    done
    echo "@($p)/*"
}

# check_tests MODULE...: 0 passed; else $caught names the failing tests.
check_tests() {
    rm -f "$tmp/tap"
    if [ "$scope" = all ]; then
        set -- --jobs "$jobs" --tap="$tmp/tap"
    else
        set -- --jobs "$jobs" --tap="$tmp/tap" --filter "$(filter_of "$@")"
    fi
    st=0
    run "$tmp/tests.log" env AC_BIN="$bin" "./$tbin" "$@" || st=$?
    [ "$st" -eq 0 ] && return 0
    if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
        caught="tests: timeout after ${limit} s"
        timed_out=1
        return 1
    fi
    names=$(sed -n 's/^not ok[ 0-9]*- \([^ ]*\).*/\1/p' "$tmp/tap" 2>/dev/null | sort -u)
    count=$(printf '%s\n' "$names" | grep -c . || true)
    names=$(printf '%s\n' "$names" | head -6 | tr '\n' ' ' | sed 's/ $//; s/ /, /g')
    [ "$count" -gt 6 ] && names="$names, ... ($count in all)"
    [ -n "$names" ] || names="the suite exited $st ($(tail -1 "$tmp/tests.log"))"
    caught="tests: $names"
    return 1
}

# check_cli: make test's CLI scripts (scope all).
check_cli() {
    for s in tests/cli.sh tests/cli_*.sh; do
        st=0
        run "$tmp/cli.log" env AC_BIN="$bin" "./$s" || st=$?
        if [ "$st" -ne 0 ]; then
            caught="cli: $s"
            if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
                caught="cli: $s timed out after ${limit} s"
                timed_out=1
            fi
            return 1
        fi
    done
    return 0
}

# check_regress MODULE...: 0 nothing moved; else $caught names the claims.
check_regress() {
    base=$tmp/base
    rm -rf "$base"
    mkdir -p "$base"
    for m in "$@"; do
        cp "$tmp/base-$m"/*.json "$base/"
    done
    [ "$scope" = all ] && cp "$tmp/base-ground"/*.json "$base/"
    st=0
    run "$tmp/regress.log" "$bin" regress --baseline "$base" || st=$?
    [ "$st" -eq 0 ] && return 0
    if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
        caught="regress: timeout after ${limit} s"
        timed_out=1
        return 1
    fi
    lines=$(grep -v '^regress\|^== ' "$tmp/regress.log" | grep -c ' | \|: ' || true)
    ids=$(grep -v '^regress\|^== ' "$tmp/regress.log" | sed -n 's/^\([a-z][a-z0-9_.-]*\)\( |\|:\).*/\1/p' |
        sort -u | tr '\n' ' ' | sed 's/ $//; s/ /, /g')
    [ -n "$ids" ] || ids="exit $st ($(tail -1 "$tmp/regress.log"))"
    caught="regress: $ids ($lines findings)"
    return 1
}

# checks MODULE...: 0 when every check passed (the fault went unseen); else
# $caught says which caught it.
checks() {
    caught=
    timed_out=0
    found=
    check_tests "$@" || { found="$caught"; [ "$all_checks" = 1 ] || return 1; }
    if [ "$scope" = all ]; then
        check_cli || { found="${found:+$found; }$caught"; [ "$all_checks" = 1 ] || { caught=$found; return 1; }; }
    fi
    check_regress "$@" || found="${found:+$found; }$caught"
    caught=$found
    [ -z "$found" ]
}

echo "run.sh: copy of the tree at $src ($commit); scope $scope" >&2
t0=$(now)
if ! build; then
    echo "run.sh: the unfaulted tree does not build:" >&2
    tail -20 "$tmp/build.log" >&2
    exit 2
fi

# The unfaulted tree must pass the checks of every module it will plant in,
# or a failure would be blamed on a fault: one run of their tests, one
# regress over their baselines.
# shellcheck disable=SC2046
set -- $($helper list "${FAULTS:-}" | cut -f2 | sort -u)
[ "$scope" = all ] && set -- ground
s=$(now)
all_checks=1
if ! checks "$@"; then
    echo "run.sh: the unfaulted tree fails the checks of $*; nothing can be blamed on a fault: $caught" >&2
    exit 2
fi
all_checks=${FAULTS_ALL_CHECKS:-0}
echo "run.sh: unfaulted checks of $* pass ($(($(now) - s)) s)" >&2

results=$tmp/results.tsv
: >"$results"
$helper list "${FAULTS:-}" >"$tmp/list"
n=$(wc -l <"$tmp/list")
i=0
while IFS="$(printf '\t')" read -r id module file; do
    i=$((i + 1))
    s=$(now)
    by=
    obj=build/${file%.c}.o
    check_module=$module
    [ "$scope" = all ] && check_module=ground
    cp -p "$src/$file" "$tmp/orig.src"
    [ -f "$src/$obj" ] && cp -p "$src/$obj" "$tmp/orig.o"
    why=$($helper apply "$src" "$id") && ast=0 || ast=$?
    if [ "$ast" -eq 3 ]; then
        verdict=STALE
        by=$why
    elif [ "$ast" -ne 0 ]; then
        echo "run.sh: faults.py apply $id failed ($ast): $why" >&2
        exit 2
    elif ! build; then
        verdict=INVALID
        by="does not build: $(grep -m1 'error' "$tmp/build.log" | sed 's/^[^ ]*: //' | cut -c1-160)"
    elif checks "$check_module"; then
        verdict=MISSED
    else
        verdict=CAUGHT
        [ "$timed_out" = 1 ] && verdict=CAUGHT-timeout
        by=$caught
    fi
    # revert: the file and its object as they were, the object newer than
    # the archive so that the next build re-archives it
    cp -p "$tmp/orig.src" "$src/$file"
    if [ -f "$tmp/orig.o" ]; then
        cp -p "$tmp/orig.o" "$src/$obj"
        touch "$src/$obj"
        rm -f "$tmp/orig.o"
    fi
    secs=$(($(now) - s))
    by=$(printf '%s' "$by" | tr '\t\n' '  ')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$verdict" "$module" "$file" "$by" "$secs" >>"$results"
    echo "run.sh: [$i/$n] $id: $verdict${by:+ ($by)} ${secs} s" >&2
done <"$tmp/list"

total=$(($(now) - t0))
mkdir -p "$(dirname "$out")"
title="$n fault(s)${FAULTS:+ ($FAULTS)} on commit $commit, $(date -u '+%Y-%m-%d %H:%M UTC'), scope $scope$([ "$all_checks" = 1 ] && echo ', every check' || echo ', first catching check'), ${total} s in all (build, unfaulted checks and faults) with $jobs jobs"
if [ "${FAULTS_UPDATE:-0}" = 1 ]; then
    $helper report "$results" "$out" "$title" --merge
else
    $helper report "$results" "$out" "$title"
fi
echo "run.sh: wrote $out ($total s)" >&2
}
main "$@"; exit $?
