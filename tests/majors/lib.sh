# tests/majors/lib.sh: shared by the scripts in tests/majors (sourced, not
# run).  Knows which Debian suite carries each PostgreSQL major, where its
# root lives, and how to read the machine's own Debian mirror and keyring
# from its apt configuration.

# The machine's own PostgreSQL major: no root, the host's packages.
MAJORS_HOST_MAJOR=15
# Where the roots are cached: one directory per major.
MAJORS_CACHE=${PG2ES_ROOTS:-/var/cache/pg2es/roots}
# The unprivileged user the servers run as (initdb refuses root).
MAJORS_TEST_USER=${PG2ES_TEST_USER:-pg2es-test}

# majors_suites MAJOR: the Debian suites that may carry postgresql-MAJOR,
# the first that has it is used.  Fails for a major no suite carries.
majors_suites() {
	case $1 in
	13) echo bullseye ;;
	17) echo trixie ;;
	18) echo forky sid ;;
	*) return 1 ;;
	esac
}

# majors_root MAJOR: the root directory of MAJOR ("/" for the host's own).
majors_root() {
	if [ "$1" = "$MAJORS_HOST_MAJOR" ]; then
		echo /
	else
		echo "$MAJORS_CACHE/$1"
	fi
}

# majors_bindir MAJOR: the server's bindir, as the host sees it.
majors_bindir() {
	local root
	root=$(majors_root "$1")
	echo "${root%/}/usr/lib/postgresql/$1/bin"
}

# majors_apt_source: prints "URI KEYRING" of the machine's main Debian
# archive (not -security, not -updates), from the deb822 file
# /etc/apt/sources.list.d/debian.sources or else from /etc/apt/sources.list.
# Fails when neither names one.
majors_apt_source() {
	local deb822=/etc/apt/sources.list.d/debian.sources
	local found=
	if [ -f "$deb822" ]; then
		found=$(awk '
			function flush() {
				if (uri != "" && main) print uri, (key == "" ? "-" : key)
				uri = ""; key = ""; main = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uri = $2 }
			/^Signed-By:/ { key = $2 }
			/^Suites:/ {
				for (i = 2; i <= NF; i++)
					if ($i !~ /-(security|updates|backports)$/) main = 1
			}
			END { flush() }' "$deb822" | head -n 1)
	fi
	if [ -z "$found" ] && [ -f /etc/apt/sources.list ]; then
		found=$(awk '
			$1 == "deb" {
				key = "-"; i = 2
				if ($2 ~ /^\[/) {
					for (; i <= NF; i++) {
						if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
						if ($i ~ /\]$/) break
					}
					i++
				}
				if ($(i + 1) !~ /-(security|updates|backports)$/) { print $i, key; exit }
			}' /etc/apt/sources.list)
	fi
	[ -n "$found" ] || return 1
	local uri=${found% *} key=${found#* }
	[ "$key" != "-" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "$uri $key"
}

# majors_source_id TREE: a digest of the decoder's sources in TREE, stored
# next to a root's installed plugin to tell whether it is this build.
majors_source_id() {
	(cd "$1" && find decoder protocol sql -type f \( -name '*.c' -o -name '*.h' \
		-o -name Makefile -o -name '*.sql' -o -name '*.control' \) |
		LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

# majors_apt_install PACKAGE...: as root, installs those of the Debian
# packages that are missing (so that the scripts here work on a fresh
# machine without tests/bootstrap.sh).
majors_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "majors: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
}

# majors_test_user: as root, creates the unprivileged user the servers run
# as when it is missing, as tests/bootstrap.sh does.
majors_test_user() {
	id "$MAJORS_TEST_USER" >/dev/null 2>&1 ||
		useradd --system --create-home --home-dir "/var/lib/$MAJORS_TEST_USER" \
			--shell /bin/bash "$MAJORS_TEST_USER"
}
