#!/usr/bin/env bash
# tests/engines/check-v3.sh: pg2es against OpenSearch 3 (the suite
# opensearch-3 of tests/run-suites.sh).  Starts one OpenSearch 3.x node
# once (tests/engines/start with PG2ES_OPENSEARCH_VERSION=3), holds the
# emulator to it with the conformance test, then runs the end-to-end files
# OS3_E2E_FILES (default: sync, initial load, mappings) against it.
# Without a Java 21 or newer (or without the 3.x launcher and Maven) it
# prints why and passes as skipped: OpenSearch 3 is not available here.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! tests/engines/v3/find-java >/dev/null; then
	echo "=== opensearch-3: skipped, no Java 21 or newer on this machine (OpenSearch 3 needs one)"
	exit 0
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
url=$(PG2ES_OPENSEARCH_VERSION=3 PG2ES_ENGINE_WATCH_PID=$$ tests/engines/start opensearch "$port") || rc=$?
if [ $rc -eq 3 ]; then
	echo "=== opensearch-3: skipped, OpenSearch 3 is not available on this machine (above)"
	exit 0
elif [ $rc -ne 0 ]; then
	echo "=== opensearch-3: OpenSearch 3 did not start"
	exit 1
fi
trap 'tests/engines/stop "$port"' EXIT
version=$(curl -s "$url/" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n 1)
case $version in
3.*) ;;
*)
	echo "=== opensearch-3: the engine at $url answers version \"$version\", not 3.x"
	exit 1
	;;
esac

status=0
echo "=== opensearch-3: conformance against opensearch $version ($url)"
python3 tests/conformance/conformance.py --engine "opensearch-$version=$url" || status=1
# Each file starts by deleting the indexes of the engine it owns.
files=$(printf 'tests/e2e/t/%s ' ${OS3_E2E_FILES:-110_forwarder_sync.pl 200_initial_load.pl 220_mappings.pl})
echo "=== opensearch-3: e2e against opensearch $version ($url): $files"
# shellcheck disable=SC2086
ES_URL=$url PG2ES_ENGINE_OWNED=$url prove --timer $files || status=1
echo "=== opensearch-3: opensearch $version, conformance and e2e $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
