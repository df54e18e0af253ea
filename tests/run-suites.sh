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

run_suite unit make -s -C forwarder check
run_suite sanitize make -s -C forwarder sanitize-check
run_suite emulator /usr/bin/python3 -m unittest discover -s tests/emulator
run_suite faultproxy /usr/bin/python3 -m unittest discover -s tests/faultproxy
run_suite regress make -s -C decoder installcheck
run_suite valgrind make -s -C decoder valgrind-check
run_suite compat bash tests/compat/check_majors.sh
run_suite e2e prove_dir tests/e2e/t
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
for major in 17 18; do
	run_suite "ha-$major" env PG2ES_INSTALL_PATH="$majors_roots/$major/usr/lib/postgresql/$major" \
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
