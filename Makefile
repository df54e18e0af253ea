# pg2es: the top level only delegates to the two programs and holds the
# project-wide targets.

.PHONY: all decoder forwarder install check bench demo soak format format-check clean

all: decoder forwarder

decoder:
	$(MAKE) -C decoder

forwarder:
	$(MAKE) -C forwarder

# Installs the plugin and extension into the server found by pg_config
# (usually needs root) and the forwarder into $(PREFIX)/bin.
install: all
	$(MAKE) -C decoder install
	$(MAKE) -C forwarder install

# The one test command: installs what is missing (as root), builds, installs
# the plugin, and runs every suite as an unprivileged user.
check:
	bash tests/check.sh

# Lays out every C file in PostgreSQL's layout (pg_bsd_indent), in place.
format:
	python3 tests/format-check.py --fix

# Fails naming each C file that `make format` would change (the suite
# "format" of `make check`).
format-check:
	python3 tests/format-check.py

# Side-by-side benchmarks; never part of `make check`.
bench:
	bash tests/bench/run.sh

# The whole pipeline without Docker: PostgreSQL, the emulator, the forwarder.
demo: all
	bash tests/demo/demo.sh

# The torture test for much longer (PG2ES_SOAK_SECONDS, PG2ES_SOAK_ROUNDS);
# never part of `make check`.
soak: all
	bash tests/soak/run.sh

clean:
	$(MAKE) -C decoder clean
	$(MAKE) -C forwarder clean
