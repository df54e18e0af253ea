#!/usr/bin/env bash
# `make check`: installs what is missing, builds both programs, installs the
# plugin into the server, then runs every suite (tests/run-suites.sh) in a
# copy of the tree as an unprivileged user, because initdb refuses root.
#
# SUITES="unit regress" limits the run to some suites (names in run-suites.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
test_user=${PG2ES_TEST_USER:-pg2es-test}

# --bench: the smoke run of the benchmarks compares with wal2json,
# decoderbufs and the classic pipeline, so their packages are needed too.
bash "$root/tests/bootstrap.sh" --bench
make -s -C "$root" all

bash "$root/tests/install-plugin.sh"
# ... and into the roots of the other majors (tests/majors) that exist.
for major in 17 18 13; do
	[ ! -f "${PG2ES_ROOTS:-/var/cache/pg2es/roots}/$major/.pg2es-root" ] ||
		bash "$root/tests/majors/install-plugin.sh" "$major" ||
		echo "check: no plugin for PostgreSQL $major (above); its suites fail" >&2
done

work=$(mktemp -d /tmp/pg2es-check.XXXXXX)
cleanup() {
	status=$?
	if [ $status -eq 0 ]; then
		rm -rf "$work"
	else
		echo "check: logs and results kept in $work/src" >&2
	fi
}
trap cleanup EXIT

# The copy makes the suites independent of where the clone lives (its
# parents may not be readable by the test user) and keeps results out of it.
tar -C "$root" --exclude=.git -cf - . | tar -C "$work" --one-top-level=src -xf -
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$test_user" "$work"
	chmod 755 "$work"
	runuser -u "$test_user" -- env SUITES="${SUITES:-}" E2E_FILES="${E2E_FILES:-}" ES_URL="${ES_URL:-}" \
		ES_USER="${ES_USER:-}" ES_PASSWORD="${ES_PASSWORD:-}" \
		ES_API_KEY="${ES_API_KEY:-}" ES_CACERT="${ES_CACERT:-}" \
		bash "$work/src/tests/run-suites.sh"
else
	bash "$work/src/tests/run-suites.sh"
fi
