#!/usr/bin/env bash
# tests/majors/build-root.sh MAJOR: builds the root that carries PostgreSQL
# MAJOR (13, 17, 18) under /var/cache/pg2es/roots/MAJOR, from the Debian
# suite that has it and the machine's own Debian mirror and keyring (read
# from its apt configuration).  Run as root; a root already built is left
# alone, so a second run costs nothing.
#
# The root is a debootstrap minbase with postgresql-MAJOR,
# postgresql-server-dev-MAJOR and what building the plugin needs (gcc, make,
# pkgconf, msgpack, and libssl-dev: 13's sha2.h includes OpenSSL's).  Its
# PostgreSQL programs are then made runnable on the host, by anyone,
# without entering the root: patchelf gives each one the
# root's dynamic loader and a DT_RPATH with the root's library directories
# (PostgreSQL finds its share/ and lib/ relative to its own binary).  A link
# ROOT/ROOT -> / makes those absolute paths valid inside the root too, where
# the plugin is compiled (chroot).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

major=${1:?usage: build-root.sh MAJOR}
[ "$(id -u)" -eq 0 ] || { echo "build-root: run as root" >&2; exit 1; }
suites=$(majors_suites "$major") || { echo "build-root: no Debian suite carries PostgreSQL $major" >&2; exit 1; }
root=$(majors_root "$major")
[ ! -f "$root/.pg2es-root" ] || exit 0

# One build of a root at a time; a second caller waits and finds it built.
mkdir -p "$MAJORS_CACHE"
exec 9>"$MAJORS_CACHE/$major.lock"
flock 9
[ ! -f "$root/.pg2es-root" ] || exit 0

read -r mirror keyring < <(majors_apt_source) ||
	{ echo "build-root: no Debian archive in the machine's apt configuration" >&2; exit 1; }
majors_apt_install debootstrap patchelf

new="$root.new"
cleanup() {
	umount "$new/proc" 2>/dev/null || true
}
trap cleanup EXIT

# in_root COMMAND...: runs COMMAND inside the root being built.
in_root() {
	chroot "$new" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# bootstrap SUITE: a minbase of SUITE in $new, its apt pointed at the
# machine's mirror.  Fails when the suite is not there.
bootstrap() {
	local suite=$1 script=/usr/share/debootstrap/scripts/$1
	[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
	rm -rf "$new"
	mkdir -p "$(dirname "$new")"
	echo "build-root: debootstrap $suite for PostgreSQL $major"
	debootstrap --variant=minbase --keyring="$keyring" "$suite" "$new" "$mirror" "$script" \
		>"$new.log" 2>&1 || { tail -n 5 "$new.log" >&2; return 1; }
	mkdir -p "$new/etc/apt/keyrings"
	cp "$keyring" "$new/etc/apt/keyrings/pg2es-host.gpg"
	echo "deb [signed-by=/etc/apt/keyrings/pg2es-host.gpg] $mirror $suite main" \
		>"$new/etc/apt/sources.list"
	cp /etc/resolv.conf "$new/etc/resolv.conf"
	# No service starts and no cluster is created inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
	chmod 755 "$new/usr/sbin/policy-rc.d"
	mkdir -p "$new/etc/postgresql-common/createcluster.d"
	echo "create_main_cluster = false" >"$new/etc/postgresql-common/createcluster.d/pg2es.conf"
}

# install_packages: the server, its headers and the plugin's build needs.
install_packages() {
	local msgpack=libmsgpack-c-dev
	mount -t proc proc "$new/proc"
	in_root apt-get -o Acquire::Check-Valid-Until=false update -qq
	in_root apt-cache show "$msgpack" >/dev/null 2>&1 || msgpack=libmsgpack-dev
	in_root apt-get install -y -qq --no-install-recommends \
		"postgresql-$major" "postgresql-server-dev-$major" gcc make pkgconf "$msgpack" libssl-dev \
		>>"$new.log" 2>&1 || { tail -n 5 "$new.log" >&2; return 1; }
	in_root apt-get clean
	umount "$new/proc"
}

# make_runnable: patchelf every PostgreSQL program of the root (bindir and
# the test drivers in pgxs) to the root's loader and libraries.
make_runnable() {
	local loader rpath f
	loader=$new$(in_root readlink -f /lib64/ld-linux-x86-64.so.2)
	loader=$root${loader#"$new"}
	rpath="$root/usr/lib/postgresql/$major/lib:$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
	for f in "$new/usr/lib/postgresql/$major/bin/"* \
		"$new/usr/lib/postgresql/$major/lib/pgxs/src/test/regress/pg_regress" \
		"$new/usr/lib/postgresql/$major/lib/pgxs/src/test/isolation/"*; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		patchelf --print-interpreter "$f" >/dev/null 2>&1 || continue
		patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$rpath" "$f"
	done
	mkdir -p "$new$(dirname "$root")"
	ln -sfn / "$new$root"
}

status=1
for suite in $suites; do
	if bootstrap "$suite" && install_packages; then
		status=0
		break
	fi
	echo "build-root: PostgreSQL $major is not to be had from $suite" >&2
	umount "$new/proc" 2>/dev/null || true
done
[ $status -eq 0 ] || { rm -rf "$new"; exit 1; }
make_runnable
in_root dpkg-query -W -f='${Package} ${Version}\n' "postgresql-$major" >"$new/.pg2es-root"
echo "$suite" >>"$new/.pg2es-root"
rm -rf "$root"
mv "$new" "$root"
mv "$new.log" "$root.log"
chmod 755 "$MAJORS_CACHE"
echo "build-root: PostgreSQL $major root ready in $root ($(head -n 1 "$root/.pg2es-root"), $suite)"
