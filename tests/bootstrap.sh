#!/usr/bin/env bash
# Installs what building and testing pg2es needs, from Debian's packages.
# As root: apt-get installs whatever is missing and creates the unprivileged
# user the test clusters run as (initdb refuses root).  As anyone else: when
# something is missing, prints the exact command to run and fails.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
TEST_USER=${PG2ES_TEST_USER:-pg2es-test}

packages=(
	build-essential pkg-config clang llvm
	"postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" postgresql-client-common libpq-dev
	libcurl4-openssl-dev libmsgpack-dev libjansson-dev zlib1g-dev
	libipc-run-perl libio-socket-ssl-perl python3 openssl curl
	libfuzzer-14-dev libclang-rt-14-dev valgrind
	docker-compose
	debootstrap patchelf
)
# Benchmarks compare with these; `make bench` installs them the same way.
if [ "${1:-}" = "--bench" ]; then
	packages+=("postgresql-$PG_MAJOR-wal2json" "postgresql-$PG_MAJOR-decoderbufs"
		nginx-light gnuplot-nox nodejs jq procps)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "pg2es: missing packages: ${missing[*]}" >&2
		echo "Install them with:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "bootstrap: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The decoder is also compiled against PostgreSQL 13's and 17's headers
# (tests/compat); they are downloaded and unpacked, not installed.
if [ "$(id -u)" -eq 0 ]; then
	bash "$(dirname "$0")/compat/fetch_headers.sh"
fi

if [ "$(id -u)" -eq 0 ] && ! id "$TEST_USER" >/dev/null 2>&1; then
	useradd --system --create-home --home-dir "/var/lib/$TEST_USER" \
		--shell /bin/bash "$TEST_USER"
	echo "bootstrap: created user $TEST_USER for the test clusters"
fi
