#!/usr/bin/env bash
# Makes the server run this tree's plugin, once the caller has built it: as
# root, installs it (make -C decoder install: pg2es.so and the extension);
# as anyone else, checks that the server's pg2es.so is this build and, when
# it is not, prints the command to run and fails. check.sh, the demo and the
# soak run share it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pkglibdir=$(pg_config --pkglibdir)
if [ "$(id -u)" -eq 0 ]; then
	make -s -C "$root/decoder" install >/dev/null
elif ! cmp -s "$root/decoder/pg2es.so" "$pkglibdir/pg2es.so"; then
	echo "pg2es: the server's $pkglibdir/pg2es.so is missing or older than this build." >&2
	echo "Install it with:" >&2
	echo "  sudo make -C $root/decoder install" >&2
	exit 1
fi
