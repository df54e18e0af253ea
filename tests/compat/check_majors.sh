#!/usr/bin/env bash
# Compiles the decoder, with the host's compiler and flags, against the
# server headers of PostgreSQL 13, 17 and 18 from the roots of
# tests/majors (bootstrap.sh builds them as root), so that the version
# guards in decoder/compat.h are compiled, not just written; the suites
# regress-MAJOR also build and run it inside each root.  14 and 16 are in
# no Debian suite; 15 is the build itself.  A missing 13 root (its suite
# gone from the mirror) is said, not failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/majors/lib.sh"
status=0
for major in 13 17 18; do
	headers="$(majors_root "$major")/usr/include/postgresql/$major/server"
	if [ ! -f "$headers/pg_config.h" ]; then
		echo "compat: no PostgreSQL $major headers in $headers; build its root with:" >&2
		echo "  sudo bash $root/tests/majors/build-root.sh $major" >&2
		[ "$major" = 13 ] || status=1
		continue
	fi
	make -s -C "$root/decoder" compat-check PG_SERVER_INCLUDE="$headers" || status=1
done
exit $status
