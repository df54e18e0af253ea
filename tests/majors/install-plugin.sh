#!/usr/bin/env bash
# tests/majors/install-plugin.sh MAJOR: makes PostgreSQL MAJOR run this
# tree's plugin.  For the machine's own major it is tests/install-plugin.sh.
# For a root's major, as root: compiles the decoder inside the root with the
# root's compiler and pg_config (PGXS) and installs pg2es.so and the
# extension there, unless the installed one already is this tree's build.
# As anyone else: checks that it is, and otherwise names the command to run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

major=${1:?usage: install-plugin.sh MAJOR}
if [ "$major" = "$MAJORS_HOST_MAJOR" ]; then
	[ "$(id -u)" -ne 0 ] || make -s -C "$tree/decoder" >/dev/null
	exec bash "$tree/tests/install-plugin.sh"
fi

root=$(majors_root "$major")
stamp="$root/usr/lib/postgresql/$major/lib/pg2es.source-id"
want=$(majors_source_id "$tree")
if [ ! -f "$root/.pg2es-root" ]; then
	echo "pg2es: no PostgreSQL $major root in $root. Build it with:" >&2
	echo "  sudo bash $here/build-root.sh $major" >&2
	exit 1
fi
[ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "pg2es: the PostgreSQL $major root's pg2es is missing or not this build. Install it with:" >&2
	echo "  sudo bash $here/install-plugin.sh $major" >&2
	exit 1
fi

# One build at a time in a root (two make checks may run at once).
exec 9>"$root/tmp/pg2es-build.lock"
flock 9
[ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || exit 0

# Only the sources go in: the tree may hold objects built for another major.
build="$root/tmp/pg2es-build"
rm -rf "$build"
mkdir -p "$build"
tar -C "$tree" --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=tmp_check --exclude=results --exclude=regress.conf \
	-cf - decoder protocol sql | tar -C "$build" -xf -
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp LC_ALL=C \
	make -s -C /tmp/pg2es-build/decoder PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" \
	install >"$build.log" 2>&1 || { cat "$build.log" >&2; exit 1; }
echo "$want" >"$stamp"
rm -rf "$build" "$build.log"
echo "install-plugin: pg2es built and installed for PostgreSQL $major in $root"
