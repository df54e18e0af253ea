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
	libfuzzer-14-dev libclang-rt-14-dev valgrind pg-bsd-indent
	docker-compose
	openjdk-17-jdk-headless maven
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

# PostgreSQL 17 and 18 (and 13, while its suite can be had) for the suites
# of other majors and the compile checks against their headers
# (tests/compat): debootstrap roots from the machine's own Debian mirror,
# built once and cached in /var/cache/pg2es/roots (tests/majors).
if [ "$(id -u)" -eq 0 ]; then
	for major in 17 18; do
		bash "$(dirname "$0")/majors/build-root.sh" "$major"
	done
	bash "$(dirname "$0")/majors/build-root.sh" 13 ||
		echo "bootstrap: no PostgreSQL 13 root; its regression suite is left out" >&2
fi

if [ "$(id -u)" -eq 0 ] && ! id "$TEST_USER" >/dev/null 2>&1; then
	useradd --system --create-home --home-dir "/var/lib/$TEST_USER" \
		--shell /bin/bash "$TEST_USER"
	echo "bootstrap: created user $TEST_USER for the test clusters"
fi

# The launcher of real search engines (tests/engines/start): Maven fetches
# OpenSearch's artifacts into the local repository of whoever runs this
# (root in `make check`: /root/.m2/repository, so a second run downloads
# nothing) and copies the jars into tests/engines/target/lib, which
# check.sh's copy of the tree hands to the test user with the rest.
engines=$(cd "$(dirname "$0")" && pwd)/engines
if [ ! -f "$engines/target/built" ] ||
	[ -n "$(find "$engines/pom.xml" "$engines/src" -newer "$engines/target/built")" ]; then
	echo "bootstrap: building tests/engines (Maven; a first run downloads about 70 MB)"
	if ! log=$(mvn -B -Dstyle.color=never -f "$engines/pom.xml" package 2>&1); then
		printf '%s\n' "$log" | tail -n 40 >&2
		echo "bootstrap: building tests/engines failed" >&2
		exit 1
	fi
	touch "$engines/target/built"
fi
# ... and the one with the security plugin (tests/engines/start --security,
# OpenSearch 2.19.4: about 120 MB more on a first run).
secure=$engines/secure
if [ ! -f "$secure/target/built" ] ||
	[ -n "$(find "$secure/pom.xml" "$secure/src" -newer "$secure/target/built")" ]; then
	echo "bootstrap: building tests/engines/secure (Maven)"
	if ! log=$(mvn -B -Dstyle.color=never -f "$secure/pom.xml" package 2>&1); then
		printf '%s\n' "$log" | tail -n 40 >&2
		echo "bootstrap: building tests/engines/secure failed; the least-privilege test will fail or skip" >&2
	else
		touch "$secure/target/built"
	fi
fi
# ... and the OpenSearch 3 one (PG2ES_OPENSEARCH_VERSION=3, the suite
# opensearch-3: about 85 MB more on a first run), only where a JDK 21 or
# newer is (Maven runs on it); without one that suite skips.
v3=$engines/v3
if jdk21=$("$v3/find-java" --jdk 2>/dev/null); then
	if [ ! -f "$v3/target/built" ] ||
		[ -n "$(find "$v3/pom.xml" "$engines/src" -newer "$v3/target/built")" ]; then
		echo "bootstrap: building tests/engines/v3 (Maven, on $jdk21)"
		if ! log=$(JAVA_HOME=$jdk21 mvn -B -Dstyle.color=never -f "$v3/pom.xml" package 2>&1); then
			printf '%s\n' "$log" | tail -n 40 >&2
			echo "bootstrap: building tests/engines/v3 failed; the opensearch-3 suite will fail or skip" >&2
		else
			touch "$v3/target/built"
		fi
	fi
else
	echo "bootstrap: no JDK 21 or newer here; OpenSearch 3 (tests/engines/v3) not built, the opensearch-3 suite skips"
fi
