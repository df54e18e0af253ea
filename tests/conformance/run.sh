#!/usr/bin/env bash
# The conformance suite: holds the emulator to each real engine available,
# the cluster ES_URL names or, without it, OpenSearch started here by
# tests/engines/start.  Without any real engine (no Java) it says so and
# fails, since it would compare nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

engine_name() {
	curl -s "$1/" | python3 -c '
import json, sys
v = json.load(sys.stdin)["version"]
print("%s-%s" % (v.get("distribution", "elasticsearch"), v["number"]))'
}

if [ -n "${ES_URL:-}" ]; then
	exec python3 tests/conformance/conformance.py --engine "$(engine_name "$ES_URL")=$ES_URL"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
url=$(PG2ES_ENGINE_WATCH_PID=$$ tests/engines/start opensearch "$port") || rc=$?
if [ $rc -ne 0 ]; then
	echo "conformance: no real engine to compare the emulator with (tests/engines/start exited $rc)" >&2
	exit 1
fi
trap 'tests/engines/stop "$port"' EXIT
python3 tests/conformance/conformance.py --engine "$(engine_name "$url")=$url"
