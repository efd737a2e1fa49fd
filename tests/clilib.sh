# Shared helpers of the command-line checks (sourced by tests/cli.sh and by
# each module's tests/cli_<paper>.sh): AC_BIN, a temporary directory $T removed
# on exit, the pass/fail counters and expect / check / grep_in / absent.
# A script that sources this ends with `cli_summary NAME`.
set -u
BIN=${AC_BIN:-build/attncheck}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
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

# signal_while_writing WHAT FILE -- COMMAND...: FILE (alone in its directory,
# holding "old") is COMMAND's --out; COMMAND runs with the test hook stalling
# it after the output is written to the temporary and is sent SIGTERM there:
# it must end by the signal (143), leave FILE as it was and no temporary
# (cli_write_file; a command once committed the file whole and then died).
signal_while_writing() {
    sig_what=$1 sig_file=$2; shift 3
    sig_dir=$(dirname "$sig_file")
    mkdir -p "$sig_dir"
    echo old >"$sig_file"
    AC_TEST_STALL_SECONDS=30 "$@" >/dev/null 2>&1 &
    sig_pid=$!
    i=0; while [ $i -lt 100 ] && ! ls -A "$sig_dir" | grep -q '^\.attncheck-tmp\.'; do sleep 0.1; i=$((i + 1)); done
    kill -TERM $sig_pid; wait $sig_pid 2>/dev/null; st=$?
    check "$sig_what killed by SIGTERM while writing: exit $st, 143" [ "$st" -eq 143 ]
    check "$sig_what: SIGTERM while writing: the old --out intact" [ "$(cat "$sig_file")" = old ]
    check "$sig_what: SIGTERM while writing: no temporary left" [ "$(ls -A "$sig_dir")" = "$(basename "$sig_file")" ]
}

# wait_for PATTERN: up to 20 s until a file matching PATTERN exists.  (The
# loop variable is not f or what: clilib's check and expect use those.)
wait_for() {
    i=0
    while [ $i -lt 200 ]; do
        for wf_path in $1; do [ -e "$wf_path" ] && return 0; done
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# term_when PATTERN WHAT -- COMMAND...: run COMMAND in the background with
# the test hook stalling it once its output is written (not yet committed),
# wait until a file matching PATTERN (its temporary or staging) exists, send
# SIGTERM and leave COMMAND's exit status in $st.
term_when() {
    tw_pattern=$1 tw_what=$2; shift 3
    AC_TEST_STALL_SECONDS=30 "$@" >/dev/null 2>&1 &
    tw_pid=$!
    if ! wait_for "$tw_pattern"; then
        fail=$((fail + 1))
        echo "FAIL: $tw_what: $tw_pattern did not appear"
    fi
    kill -TERM $tw_pid
    wait $tw_pid 2>/dev/null
    st=$?
}

# cli_summary NAME: print the counts; the script's exit status is 0 only when
# nothing failed.
cli_summary() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
