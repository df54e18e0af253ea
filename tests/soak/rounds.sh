#!/usr/bin/env bash
# The soak rounds (see run.sh), as the unprivileged user, in a copy of the
# tree; the environment is the one tests/run-suites.sh gives the TAP suites.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH="$(pg_config --bindir):$PATH"
export PERL5LIB="$(pg_config --pkglibdir)/pgxs/src/test/perl:$root/tests/lib${PERL5LIB:+:$PERL5LIB}"
export PG_REGRESS="$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress"
export TESTDIR="$root/tests"
export PG2ES_TORTURE_SECONDS=${PG2ES_SOAK_SECONDS:-1800}
unset PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD ES_URL
# Empty values passed down by run.sh mean "not set".
for v in PG2ES_SEED PG2ES_TORTURE_TRUNCATE; do
	[ -n "${!v:-}" ] || unset "$v"
done

failed=0
rounds=${PG2ES_SOAK_ROUNDS:-2}
for round in $(seq 1 "$rounds"); do
	echo "=== soak round $round of $rounds: $PG2ES_TORTURE_SECONDS s of faults"
	# each round keeps its own logs (the TAP helpers reuse tmp_check)
	rm -rf tests/tmp_check
	if prove --timer --verbose tests/e2e/t/300_torture.pl; then
		echo "=== soak round $round passed"
	else
		failed=$((failed + 1))
		echo "=== soak round $round FAILED"
		mv tests/tmp_check "tests/tmp_check.round$round"
	fi
done
rm -rf tests/tmp_check
prove --timer tests/e2e/t/301_replay.pl || failed=$((failed + 1))
echo "soak: $rounds round(s), $failed failure(s)"
[ "$failed" -eq 0 ]
