/*
 * test_cfg.c
 *		Unit tests for cfg.c: options, environment, and refused combinations.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

/* run cfg_parse in a child (it exits on errors); returns its exit status */
static int
parse_status(int argc, char **argv)
{
	pid_t		pid = fork();
	int			st;

	if (pid == 0)
	{
		Config		cfg;

		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		cfg_parse(&cfg, argc, argv);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* argc and a NULL-terminated argv from a list of strings */
#define ARGS(...) (int) (sizeof((char *[]) {__VA_ARGS__, NULL}) / sizeof(char *) - 1), \
	(char *[]) {__VA_ARGS__, NULL}

int
main(void)
{
	Config		cfg;
	Lsn			lsn;
	char		pwfile[] = "/tmp/pg2es-test-cfg-XXXXXX";
	int			fd;

	ok(cfg_parse_lsn("16/B374D848", &lsn) && lsn == UINT64_C(0x16B374D848), "LSN parsing");
	ok(!cfg_parse_lsn("16B374D848", &lsn) && !cfg_parse_lsn("1/2x", &lsn), "bad LSNs refused");

	unsetenv("PG2ES_ES_URL");
	setenv("PG2ES_SLOT", "envslot", 1);
	setenv("PG2ES_BULK_MAX_ITEMS", "77", 1);
	setenv("PG2ES_ES_GZIP", "on", 1);
	setenv("PG2ES_OPTION", "include-tables=public.*;versioning=on", 1);
	setenv("PG2ES_ES_API_KEY", "c2VjcmV0", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-d", "dbname=x", "--es-url", "http://a:9200,http://b:9200",
						 "-o", "add-fields=lsn", "-o", "bare", "--bulk-max-bytes", "2MB",
						 "--endpos", "0/10"));
	ok(cfg.command == COMMAND_SYNC && strcmp(cfg.conninfo, "dbname=x") == 0, "sync with -d");
	ok(strcmp(cfg.slot, "envslot") == 0, "slot from PG2ES_SLOT");
	ok(cfg.nes_urls == 2 && strcmp(cfg.es_urls[1], "http://b:9200") == 0, "two node URLs");
	ok(cfg.bulk_max_items == 77 && cfg.es_gzip, "integer and boolean options from the environment");
	ok(cfg.bulk_max_bytes == 2 * 1024 * 1024, "size suffix");
	ok(cfg.nopts == 4 && strcmp(cfg.opt_names[0], "include-tables") == 0 &&
	   strcmp(cfg.opt_values[0], "public.*") == 0 && strcmp(cfg.opt_names[2], "add-fields") == 0 &&
	   cfg.opt_values[3] == NULL, "plugin options from the environment then -o; bare option");
	ok(cfg.es_api_key && strcmp(cfg.es_api_key, "c2VjcmV0") == 0 && getenv("PG2ES_ES_API_KEY") == NULL,
	   "API key from the environment, removed from it once read");
	ok(cfg.endpos == 0x10 && cfg.max_memory == 32 * 1024 * 1024 && cfg.bulk_linger_ms == 100 &&
	   cfg.pause_after_ms == 15000, "endpos and defaults");
	cfg_free(&cfg);
	unsetenv("PG2ES_SLOT");
	unsetenv("PG2ES_BULK_MAX_ITEMS");
	unsetenv("PG2ES_ES_GZIP");
	unsetenv("PG2ES_OPTION");

	fd = mkstemp(pwfile);
	ok(fd >= 0 && write(fd, "s3cret\n", 7) == 7, "password file written");
	close(fd);
	cfg_parse(&cfg, ARGS("pg2es", "verify", "--es-url=http://x", "--es-user=elastic",
						 "--es-password-file", pwfile, "public.t1", "public.t2"));
	ok(cfg.command == COMMAND_VERIFY && cfg.nverify_tables == 2 &&
	   strcmp(cfg.verify_tables[1], "public.t2") == 0, "verify with table arguments");
	ok(strcmp(cfg.es_password, "s3cret") == 0, "password read from a file, newline dropped");
	cfg_free(&cfg);

	ok(parse_status(ARGS("pg2es", "--help")) == 0, "--help exits 0");
	ok(parse_status(ARGS("pg2es", "--version")) == 0, "--version exits 0");
	ok(parse_status(ARGS("pg2es", "-S", "s")) == 1, "missing --es-url");
	ok(parse_status(ARGS("pg2es", "--es-url", "http://x")) == 1, "missing slot");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--bogus")) == 1, "unknown option");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "extra")) == 1, "extra argument");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-o", "framing=none")) == 1,
	   "framing cannot be overridden");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--bulk-max-items", "0")) == 1,
	   "out-of-range integer");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--max-memory", "12xB")) == 1,
	   "bad size suffix");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--pause-after", "0")) == 1,
	   "--pause-after below one second");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--es-user", "u")) == 1,
	   "user without password");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--bulk-max-bytes", "200MB")) == 1,
	   "request size over Elasticsearch's limit");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--snapshot", "public.*",
						 "--no-initial-load")) == 1, "--snapshot with --no-initial-load");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--es-password-file",
						 "/nonexistent/pw")) == 1, "unreadable password file");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--on-item-error", "ignore")) == 1,
	   "bad --on-item-error");
	unlink(pwfile);
	return done_testing();
}
