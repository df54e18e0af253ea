#!/usr/bin/env bash
# Runs every test suite of pg2es in this tree (a copy made by check.sh) as
# the current, unprivileged user, and ends with one summary line.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bindir=$(pg_config --bindir)
export PATH="$bindir:$PATH"
export PERL5LIB="$(pg_config --pkglibdir)/pgxs/src/test/perl:$root/tests/lib${PERL5LIB:+:$PERL5LIB}"
export PG_REGRESS="$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress"
export TESTDIR="$root/tests"
unset PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD
# Empty credentials passed down by check.sh mean "not set".
for v in ES_URL ES_USER ES_PASSWORD ES_API_KEY ES_CACERT; do
	[ -n "${!v:-}" ] || unset "$v"
done

passed=0
failed=0
failed_names=()

# run_suite NAME COMMAND...: runs one suite, counting it.
run_suite() {
	local name=$1
	shift
	if [ -n "${SUITES:-}" ] && [[ " $SUITES " != *" $name "* ]]; then
		return
	fi
	echo "=== suite $name: $*"
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "=== suite $name passed ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "=== suite $name FAILED ($((SECONDS - start)) s)"
	fi
}

prove_dir() {
	local files=()
	local d
	# E2E_FILES="170_x.pl 171_y.pl": run only those files of the directory
	if [ -n "${E2E_FILES:-}" ]; then
		for d in $E2E_FILES; do
			files+=("$1/$d")
		done
		prove --timer "${files[@]}"
		return
	fi
	for d in "$@"; do
		files+=("$d"/*.pl)
	done
	prove --timer "${files[@]}"
}

# e2e_suite: the end-to-end tests (E2E_FILES="110_forwarder_sync.pl ..."
# limits them to some files) against a real engine: the one ES_URL names,
# else OpenSearch started here once for the whole suite by
# tests/engines/start (E2E_ENGINE=opensearch by default; empty for none).
# The files that need the emulator's own behaviour (require_emulator) run
# against the emulator; without Java every file does, and it says so.
# One "=== e2e engine" line per engine tells what ran where.
e2e_suite() {
	local real=() emu=() f
	for f in tests/e2e/t/*.pl; do
		if [ -n "${E2E_FILES:-}" ] && [[ " $E2E_FILES " != *" $(basename "$f") "* ]]; then
			continue
		fi
		if grep -q 'require_emulator(' "$f"; then emu+=("$f"); else real+=("$f"); fi
	done
	if [ -n "${ES_URL:-}" ]; then
		e2e_prove "the cluster at ES_URL" "$ES_URL" "" "${real[@]}" "${emu[@]}"
		return
	fi
	local engine=${E2E_ENGINE-opensearch} port url="" rc=0 status=0
	if [ -n "$engine" ]; then
		port=${PG2ES_ENGINE_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
		url=$(PG2ES_ENGINE_WATCH_PID=$$ tests/engines/start "$engine" "$port") || rc=$?
		if [ $rc -eq 3 ]; then
			echo "=== e2e: no real $engine on this machine (above); every file runs against the emulator"
			emu=("${real[@]}" "${emu[@]}")
			real=()
		elif [ $rc -ne 0 ]; then
			echo "=== e2e engine $engine: did not start"
			return 1
		fi
	else
		emu=("${real[@]}" "${emu[@]}")
		real=()
	fi
	if [ ${#real[@]} -gt 0 ]; then
		local version
		version=$(curl -s "$url/" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n 1)
		e2e_prove "$engine $version" "$url" "$url" "${real[@]}" || status=1
		tests/engines/stop "$port"
	fi
	if [ ${#emu[@]} -gt 0 ]; then
		e2e_prove "the emulator" "" "" "${emu[@]}" || status=1
	fi
	return $status
}

# e2e_prove NAME URL OWNED FILE...: runs the files with ES_URL=URL (none:
# the emulator) and prints the engine's summary line.  OWNED=URL: the
# engine is the suite's own, each test file starts by deleting its indexes.
e2e_prove() {
	local name=$1 url=$2 owned=$3 start=$SECONDS rc=0
	shift 3
	[ $# -gt 0 ] || return 0
	echo "=== e2e against $name${url:+ ($url)}: $*"
	ES_URL=$url PG2ES_ENGINE_OWNED=$owned prove --timer "$@" || rc=$?
	echo "=== e2e engine $name: $# files, $([ $rc -eq 0 ] && echo passed || echo FAILED) ($((SECONDS - start)) s)"
	return $rc
}

# The C files' layout (pg_bsd_indent), after proving the check can fail.
run_suite format make -s format-check
run_suite unit make -s -C forwarder check
run_suite sanitize make -s -C forwarder sanitize-check
run_suite alloc-failure make -s -C forwarder alloc-failure-check
run_suite function-length bash tests/function-length.sh
run_suite emulator /usr/bin/python3 -m unittest discover -s tests/emulator
run_suite faultproxy /usr/bin/python3 -m unittest discover -s tests/faultproxy
run_suite conformance bash tests/conformance/run.sh
run_suite regress make -s -C decoder installcheck
run_suite valgrind make -s -C decoder valgrind-check
run_suite compat bash tests/compat/check_majors.sh
run_suite e2e e2e_suite
# OpenSearch 3 (Java 21+; skips with a line saying so without one):
# conformance and the sync, initial-load and mappings files.
run_suite opensearch-3 bash tests/engines/check-v3.sh
# Other PostgreSQL majors (tests/majors; "regress" and "e2e" above are the
# machine's 15): the decoder's regression suite on 17, 18 and 13 (when its
# root could be built), and streaming, the initial load with verify and the
# torture test (MAJORS_E2E_FILES) on 17 and 18, with this build's forwarder.
majors_roots=${PG2ES_ROOTS:-/var/cache/pg2es/roots}
for major in 17 18 13; do
	if [ "$major" = 13 ] && [ ! -f "$majors_roots/13/.pg2es-root" ]; then
		echo "=== suite regress-13: no PostgreSQL 13 root in $majors_roots, left out"
		continue
	fi
	run_suite "regress-$major" bash tests/majors/regress.sh "$major"
done
for major in 17 18; do
	run_suite "e2e-$major" env PG2ES_INSTALL_PATH="$majors_roots/$major/usr/lib/postgresql/$major" \
		prove --timer $(printf 'tests/e2e/t/%s ' ${MAJORS_E2E_FILES:-110_forwarder_sync.pl 200_initial_load.pl 300_torture.pl})
done
# Failovers and standbys (tests/e2e/t/4xx_*.pl, which "e2e" runs on 15) on
# 17 and 18; each file skips what its major lacks (E2E_FILES: only those).
# Each major keeps its clusters apart (TESTDIR), as a failed run leaves them.
for major in 17 18; do
	mkdir -p "$TESTDIR/ha-$major"
	run_suite "ha-$major" env TESTDIR="$TESTDIR/ha-$major" \
		PG2ES_INSTALL_PATH="$majors_roots/$major/usr/lib/postgresql/$major" \
		prove --timer $(printf 'tests/e2e/t/%s ' ${E2E_FILES:-$(cd tests/e2e/t && echo 4[0-9][0-9]_*.pl)})
done
run_suite fuzz make -s -C forwarder fuzz
run_suite decoder-fuzz prove --timer tests/fuzz/decoder_fuzz.pl
run_suite deploy bash tests/deploy/check_compose.sh
run_suite deploy-role prove --timer tests/deploy/role_test.pl
run_suite demo bash tests/demo/demo.sh
run_suite bench-smoke env BENCH_SMOKE=1 bash tests/bench/run.sh

echo
[ ${#failed_names[@]} -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
