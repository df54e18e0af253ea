#!/usr/bin/env bash
# alloc-failure.sh TEST...: the allocation-failure runs (curl's torture
# tests): runs each unit-test binary built with allocfail.c (make -C
# forwarder alloc-failure-check) with PG2ES_ALLOC_FAIL=N for N = 1, 2, ...
# until a run ends with no allocation failed.  Every run must end in its
# "# alloc-fail:" line (no crash), with status 0 (tap.h: the failure was
# reported, not swallowed; the last run: every check passed) and no
# sanitizer report (a leak on an error path, a use of the NULL).
# A failing run is shown with the command that repeats it.
#
# --expect-failure TEST...: the runner's own test: each TEST is broken on
# purpose (tests/unit/test_allocfail.c) and must make the loop fail.
set -uo pipefail

expect_failure=false
if [ "${1:-}" = --expect-failure ]; then
	expect_failure=true
	shift
fi
# ASan's and UBSan's reports end the run with a status of their own.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0
# Stale copies of a leaked pointer on the stack would hide it: every test
# frees what it holds before it ends, so only globals count as holding.
export LSAN_OPTIONS=use_stacks=0:use_registers=0
export UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# torture TEST: the loop for one binary; 0 when every run was right
torture() {
	local test=$1 n=1 status verdict
	while :; do
		PG2ES_ALLOC_FAIL=$n "$test" >"$log" 2>&1
		status=$?
		verdict=$(sed -n 's/^# alloc-fail: //p' "$log")
		if [ $status -ne 0 ] || [ -z "$verdict" ] ||
			grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error:)' "$log"; then
			echo "# $test: allocation $n: status $status, ${verdict:-no verdict (crashed)}"
			echo "# repeat: PG2ES_ALLOC_FAIL=$n $test"
			grep -E 'alloc-fail|not ok|failed at|ERROR|SUMMARY|runtime error|^    #[0-9]' "$log" | head -30
			return 1
		fi
		case $verdict in
		"not reached"*)
			echo "# $test: $((n - 1)) allocations failed in turn, each reported; $verdict"
			return 0
			;;
		esac
		n=$((n + 1))
	done
}

failed=0
for t in "$@"; do
	if $expect_failure; then
		if torture "$t"; then
			echo "not ok - $t: broken on purpose, yet every run passed"
			failed=1
		else
			echo "ok - $t: broken on purpose, and the runs above said so"
		fi
	elif ! torture "$t"; then
		failed=1
	fi
done
exit $failed
