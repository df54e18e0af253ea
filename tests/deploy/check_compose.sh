#!/usr/bin/env bash
# Checks the Docker deployment as far as a machine without a Docker engine
# can, printing TAP:
#
#  - docker-compose.yml parses (`docker-compose config -q`: Debian's
#    docker-compose reads the file without an engine) and has the services,
#    healthchecks, dependencies and profile the README describes;
#  - every image is pinned to an exact version (no latest, no bare major);
#  - the files the Dockerfiles COPY exist;
#  - the compile commands the Dockerfiles run succeed here, on a clean copy
#    of the tree with the local toolchain, and install what the images need;
#  - the build stages install the -dev package of every library the builds
#    use, and the runtime stages the package of every shared library the
#    binaries link;
#  - the README still shows the commands that
#    `make demo` runs.
#
# Runs as any user; exits non-zero when a check fails.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
facts="/usr/bin/python3 $root/tests/deploy/dockerfacts.py"
cd "$root"

test_no=0
failures=0

# ok CONDITION_STATUS NAME [DIAGNOSTIC]: one TAP line.
ok() {
	local status=$1 name=$2 diag=${3:-}
	test_no=$((test_no + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $test_no - $name"
	else
		failures=$((failures + 1))
		echo "not ok $test_no - $name"
		[ -z "$diag" ] || printf '%s\n' "$diag" | sed 's/^/#   /'
	fi
}

work=$(mktemp -d /tmp/pg2es-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- docker-compose.yml ------------------------------------------------------

if ! command -v docker-compose >/dev/null; then
	echo "Bail out! docker-compose is missing (apt-get install docker-compose)"
	exit 1
fi

out=$(docker-compose -f docker-compose.yml config -q 2>&1)
ok $? "docker-compose config -q accepts docker-compose.yml" "$out"

docker-compose -f docker-compose.yml --profile ui --profile opensearch config >"$work/config.yml" 2>"$work/config.err"
out=$($facts compose "$work/config.yml" forwarder 2>&1)
ok $? "services postgres, elasticsearch, pg2es (after both are healthy, with variables the forwarder reads), elasticvue under profile ui" "$out"

for var in $(sed -n 's/^ENV \(PG2ES_[A-Z_]*\)=.*/\1/p' forwarder/Dockerfile); do
	grep -qF "\"$(tr 'A-Z_' 'a-z-' <<<"${var#PG2ES_}")\"" forwarder/cfg.c
	ok $? "forwarder/Dockerfile's $var is an option of the forwarder"
done

# joined FILE: the file with continuation lines joined.
joined() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$1"
}

joined forwarder/Dockerfile | grep -q '^HEALTHCHECK .*CMD .*/healthz'
ok $? "the forwarder image has a HEALTHCHECK on /healthz"

grep -q '^USER [1-9]' forwarder/Dockerfile
ok $? "the forwarder image runs as a non-root numeric user"

# --- pinned images -----------------------------------------------------------

images=$($facts images "$work/config.yml" decoder/Dockerfile forwarder/Dockerfile | sort -u)
[ -n "$images" ]
ok $? "found the images of the stack"
while read -r origin image; do
	out=$($facts pinned "$image")
	ok $? "$origin: $image is pinned to an exact version" "$out"
done <<<"$images"

# --- what the Dockerfiles copy -----------------------------------------------

for f in decoder protocol/pg2es_protocol.h sql/pg2es.conf sql/todos.sql sql/role.sql sql/docker-initdb.sh forwarder; do
	[ -e "$f" ]
	ok $? "$f, copied into an image, exists"
done
[ -x sql/docker-initdb.sh ]
ok $? "sql/docker-initdb.sh is executable (the entrypoint runs it, not sources it)"
grep -qxF '#output_plugin_libraries = '"'"'pgoutput, test_decoding, pg2es'"'" sql/pg2es.conf &&
	grep -qF "sed -i '/, pg2es/s/^#output_plugin_libraries/output_plugin_libraries/'" decoder/Dockerfile &&
	grep -qF "postgres --describe-config | grep -q '^output_plugin_libraries'" decoder/Dockerfile
ok $? "the image enables output_plugin_libraries only when its server knows it"

# The image's configuration steps, replayed on this server's sample file.
sample=$(pg_config --sharedir)/postgresql.conf.sample
if [ -f "$sample" ]; then
	cp "$sample" "$work/postgresql.conf"
	cat sql/pg2es.conf >>"$work/postgresql.conf"
	if "$(pg_config --bindir)/postgres" --describe-config | grep '^output_plugin_libraries' >/dev/null; then
		sed -i '/, pg2es/s/^#output_plugin_libraries/output_plugin_libraries/' "$work/postgresql.conf"
		want="output_plugin_libraries = 'pgoutput, test_decoding, pg2es'"
		what="listing pg2es (this server has the setting)"
	else
		want=""
		what="left out (this server does not know it)"
	fi
	active=$(grep '^output_plugin_libraries' "$work/postgresql.conf")
	[ "$active" = "$want" ] && [ "$(grep -c '^wal_level = logical' "$work/postgresql.conf")" = 1 ]
	ok $? "replayed on this server's sample: wal_level=logical, output_plugin_libraries $what" \
		"active lines: $active"
fi

# --- the Dockerfiles' compile commands, on the local toolchain ---------------

# A clean copy of the sources: no build outputs of the shared tree, nothing
# written into it.
mkdir "$work/src"
tar -C "$root" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=forwarder/pg2es -cf - decoder forwarder protocol sql |
	tar -C "$work/src" -xf -

# has_command DOCKERFILE TEXT: does the Dockerfile run exactly TEXT?
has_command() {
	grep -qF -- "$2" "$1"
}

decoder_build='make -C decoder with_llvm=no'
decoder_install='make -C decoder install with_llvm=no DESTDIR=/out'
has_command decoder/Dockerfile "$decoder_build" && has_command decoder/Dockerfile "$decoder_install"
ok $? "decoder/Dockerfile runs '$decoder_build' and '$decoder_install'"

out=$(cd "$work/src" && $decoder_build 2>&1 && ${decoder_install%/out}"$work/out" 2>&1)
ok $? "the decoder builds and installs with the Dockerfile's commands" "$(tail -20 <<<"$out")"

so=$(find "$work/out" -name pg2es.so 2>/dev/null | head -1)
control=$(find "$work/out" -path '*/extension/pg2es.control' 2>/dev/null | head -1)
script=$(find "$work/out" -path '*/extension/pg2es--*.sql' 2>/dev/null | head -1)
[ -n "$so" ] && [ -n "$control" ] && [ -n "$script" ]
ok $? "the install holds pg2es.so, pg2es.control and the extension script" \
	"$(cd "$work/out" 2>/dev/null && find . -type f)"

forwarder_build='make -C forwarder pg2es'
has_command forwarder/Dockerfile "$forwarder_build"
ok $? "forwarder/Dockerfile runs '$forwarder_build'"

out=$(cd "$work/src" && $forwarder_build 2>&1)
ok $? "the forwarder builds with the Dockerfile's command" "$(tail -20 <<<"$out")"
bin=$work/src/forwarder/pg2es

# --- packages: -dev in the build stage, shared libraries in the runtime -------

# packages_of_libs FILE: the Debian packages of the shared libraries FILE
# links directly (its NEEDED entries; their own dependencies come with the
# packages), except libc and the toolchain's runtime, in every base image.
packages_of_libs() {
	local needed
	needed=$(objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }')
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
		while read -r name lib; do
			grep -qxF "$name" <<<"$needed" || continue
			dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null
		done | cut -d: -f1 | sort -u |
		grep -v -x -e libc6 -e libgcc-s1 -e libstdc++6
}

# packages_of_pc NAME...: the Debian packages holding the pkg-config files.
packages_of_pc() {
	local name dir
	for name in "$@"; do
		dir=$(pkg-config --variable=pcfiledir "$name") || continue
		dpkg -S "$dir/$name.pc" 2>/dev/null | cut -d: -f1
	done | sort -u
}

# check_packages DESCRIPTION NEEDED_LIST INSTALLED_LIST
check_packages() {
	local missing
	missing=$(comm -23 <(sort -u <<<"$2") <(sort -u <<<"$3"))
	[ -z "$missing" ]
	ok $? "$1" "missing: $(echo $missing)"
}

if [ -n "$so" ]; then
	check_packages "decoder runtime stage installs the libraries pg2es.so links" \
		"$(packages_of_libs "$so")" "$($facts apt decoder/Dockerfile -1)"
fi
check_packages "decoder build stage installs the msgpack-c headers" \
	"$(packages_of_pc msgpack)" "$($facts apt decoder/Dockerfile 0)"
if [ -x "$bin" ]; then
	check_packages "forwarder runtime stage installs every library pg2es links" \
		"$(packages_of_libs "$bin")" "$($facts apt forwarder/Dockerfile -1)"
fi
pkgs=$(sed -n 's/^PKGS *= *//p' forwarder/Makefile)
check_packages "forwarder build stage installs the -dev package of every library (${pkgs})" \
	"$(packages_of_pc $pkgs)" "$($facts apt forwarder/Dockerfile 0)"

# Every package the Dockerfiles install exists in this machine's Debian 12
# (the images' release), with PG_MAJOR as here: a typo would otherwise only
# show on a machine with Docker.  apt.postgresql.org's server headers have
# the same names as Debian's.
if apt-cache show libc6 >/dev/null 2>&1; then
	major=$(pg_config --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
	for spec in "decoder/Dockerfile 0" "decoder/Dockerfile -1" \
		"forwarder/Dockerfile 0" "forwarder/Dockerfile -1"; do
		missing=""
		for p in $($facts apt $spec); do
			p=${p//\$PG_MAJOR/$major}
			apt-cache show "$p" >/dev/null 2>&1 || missing="$missing $p"
		done
		[ -z "$missing" ]
		ok $? "${spec% *} stage ${spec#* }: every package it installs exists in Debian 12" \
			"unknown:$missing"
	done
else
	ok 0 "# SKIP no apt package lists here to check the Dockerfiles' package names"
fi

# --- the README shows what `make demo` runs -----------------------------------

source "$root/tests/demo/commands.sh"
for doc in README.md; do
	[ -f "$doc" ] || continue
	grep -qF -- "$TEST1_SQL" "$doc" && grep -qF -- "$TEST2_SQL" "$doc" &&
		grep -qF -- "curl -s 'http://localhost:9200$LOOK_PATH'" "$doc"
	ok $? "$doc shows the demo's INSERT, UPDATE and curl verbatim"
	out=$($facts docs "$doc" forwarder 2>&1)
	ok $? "$doc: YAML parses, PG2ES_* variables and metrics exist in the forwarder" "$out"
done

echo "1..$test_no"
if [ $failures -ne 0 ]; then
	echo "check_compose: FAIL ($failures of $test_no checks failed)"
	exit 1
fi
echo "check_compose: PASS ($test_no checks)"
