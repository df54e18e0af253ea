#!/usr/bin/env bash
# Compiles the decoder against the server headers of PostgreSQL 13 and 17
# (fetch_headers.sh unpacks them; bootstrap.sh runs it as root), so that
# the version guards in decoder/compat.h are compiled, not just written.
# 14 and 16 are not in any Debian suite; 15 is the build itself.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
headers=${PG2ES_HEADERS:-/var/cache/pg2es/pg-headers}
status=0
for major in 13 17; do
	if [ ! -f "$headers/$major/server/pg_config.h" ]; then
		echo "compat: no PostgreSQL $major headers in $headers/$major; fetch them with:" >&2
		echo "  sudo bash $root/tests/compat/fetch_headers.sh" >&2
		status=1
		continue
	fi
	make -s -C "$root/decoder" compat-check PG_SERVER_INCLUDE="$headers/$major/server" || status=1
done
exit $status
