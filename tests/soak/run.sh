#!/usr/bin/env bash
# `make soak`: the torture test (tests/e2e/t/300_torture.pl) run much longer
# than in `make check`, in several rounds with fresh seeds, then the replay
# test.  Prepares like tests/check.sh (bootstrap, build, install the plugin
# as root) and runs the rounds as the unprivileged test user in a copy of
# the tree, because initdb refuses root.
#
#   PG2ES_SOAK_SECONDS  seconds of faults per round (default 1800)
#   PG2ES_SOAK_ROUNDS   rounds (default 2), each with its own seed
#   PG2ES_SEED          replay one seed in every round
#   PG2ES_TORTURE_TRUNCATE=0  leave TRUNCATE out of the mix
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
test_user=${PG2ES_TEST_USER:-pg2es-test}

bash "$root/tests/bootstrap.sh"
make -s -C "$root" all

bash "$root/tests/install-plugin.sh"

work=$(mktemp -d /tmp/pg2es-soak.XXXXXX)
tar -C "$root" --exclude=.git -cf - . | tar -C "$work" --one-top-level=src -xf -
echo "soak: a failed round keeps its logs in $work/src/tests/tmp_check.roundN"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$test_user" "$work"
	chmod 755 "$work"
	runuser -u "$test_user" -- env \
		PG2ES_SOAK_SECONDS="${PG2ES_SOAK_SECONDS:-}" \
		PG2ES_SOAK_ROUNDS="${PG2ES_SOAK_ROUNDS:-}" \
		PG2ES_SEED="${PG2ES_SEED:-}" \
		PG2ES_TORTURE_TRUNCATE="${PG2ES_TORTURE_TRUNCATE:-}" \
		bash "$work/src/tests/soak/rounds.sh"
else
	bash "$work/src/tests/soak/rounds.sh"
fi
