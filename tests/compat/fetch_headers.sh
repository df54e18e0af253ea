#!/usr/bin/env bash
# Fetches the server headers of the other PostgreSQL majors Debian has
# (postgresql-server-dev-13 from bullseye, -17 from trixie) and unpacks
# them under $PG2ES_HEADERS (default /var/cache/pg2es/pg-headers/MAJOR),
# for `make -C decoder compat-check`.  Nothing is installed: the packages
# are downloaded with a private apt state and only unpacked.  Run as root
# (bootstrap.sh does); a major already unpacked is not fetched again.
set -euo pipefail

dest=${PG2ES_HEADERS:-/var/cache/pg2es/pg-headers}
# major:suite pairs; a suite Debian has retired is looked for on its archive
majors=(13:bullseye 17:trixie)
mirrors=(http://deb.debian.org/debian http://archive.debian.org/debian)

# fetch MAJOR SUITE: unpack postgresql-server-dev-MAJOR into $dest/MAJOR.
fetch() {
	local major=$1 suite=$2 work mirror
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial"
	chmod -R a+rwx "$work"
	for mirror in "${mirrors[@]}"; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
			>"$work/sources.list"
		local apt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
			-o "Dir::State=$work/state" -o "Dir::Cache=$work/cache"
			-o Acquire::Check-Valid-Until=false)
		if apt-get "${apt[@]}" update -qq >/dev/null 2>&1 &&
			(cd "$work" && apt-get "${apt[@]}" download -qq "postgresql-server-dev-$major" \
				>/dev/null 2>&1); then
			# (set -e does not apply inside a function called with ||)
			rm -rf "$dest/$major.new" "$dest/$major" &&
				mkdir -p "$dest/$major.new" &&
				dpkg-deb -x "$work"/postgresql-server-dev-"$major"_*.deb "$work/root" &&
				mv "$work/root/usr/include/postgresql/$major/server" "$dest/$major.new/server" &&
				basename "$work"/postgresql-server-dev-"$major"_*.deb >"$dest/$major.new/PACKAGE" &&
				mv "$dest/$major.new" "$dest/$major" || return 1
			echo "compat: PostgreSQL $major server headers from $(cat "$dest/$major/PACKAGE")"
			return 0
		fi
	done
	echo "compat: could not download postgresql-server-dev-$major ($suite) from ${mirrors[*]}" >&2
	return 1
}

status=0
for pair in "${majors[@]}"; do
	major=${pair%%:*}
	[ -f "$dest/$major/PACKAGE" ] || fetch "$major" "${pair#*:}" || status=1
done
chmod -R a+rX "$dest" 2>/dev/null || true
exit $status
