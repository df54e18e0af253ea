/*
 * test_cfg.c
 *		Unit tests for cfg.c: options, environment, and refused combinations.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

static bool conninfo_has(const char *conninfo, const char *keyword, const char *value);
static void test_connection_settings(void);
static void test_es_urls(void);
static void test_dead_letter_file(void);
static void test_plugin_options_override(void);
static void test_wait_options(void);

/* run cfg_parse in a child (it exits on errors); returns its exit status */
static int
parse_status(int argc, char **argv)
{
	pid_t		pid;
	int			st;

	fflush(stdout);				/* or the child prints it again */
	pid = fork();
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

/*
 * conninfo_has: whether libpq reads keyword = value (NULL: not set) from
 * conninfo as a connection's expanded dbname.
 */
static bool
conninfo_has(const char *conninfo, const char *keyword, const char *value)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	PQconninfoOption *o;
	bool		found = false;

	for (o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			found = value ? o->val && strcmp(o->val, value) == 0 : o->val == NULL;
	PQconninfoFree(opts);
	return found;
}

/*
 * test_connection_settings: every connection asks for UTF-8 whatever -d or
 * PGCLIENTENCODING say; PGPASSWORD moves into the connection settings and
 * out of the environment.
 */
static void
test_connection_settings(void)
{
	Config		cfg;

	setenv("PGCLIENTENCODING", "LATIN1", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-d",
						 "dbname=x host=/tmp client_encoding=LATIN1 application_name='a b'"));
	ok(conninfo_has(cfg.conninfo, "client_encoding", "UTF8") && conninfo_has(cfg.conninfo, "dbname", "x") &&
	   conninfo_has(cfg.conninfo, "host", "/tmp") && conninfo_has(cfg.conninfo, "application_name", "a b"),
	   "key=value -d: its settings kept, client_encoding UTF8");
	cfg_free(&cfg);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-d",
						 "postgresql://u@h:5433/d%20b?client_encoding=LATIN1&sslmode=disable"));
	ok(conninfo_has(cfg.conninfo, "client_encoding", "UTF8") && conninfo_has(cfg.conninfo, "dbname", "d b") &&
	   conninfo_has(cfg.conninfo, "user", "u") && conninfo_has(cfg.conninfo, "port", "5433") &&
	   conninfo_has(cfg.conninfo, "sslmode", "disable"), "URI -d: its settings kept, client_encoding UTF8");
	cfg_free(&cfg);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-d", "it's"));
	ok(conninfo_has(cfg.conninfo, "dbname", "it's") && conninfo_has(cfg.conninfo, "client_encoding", "UTF8"),
	   "a bare database name for -d");
	cfg_free(&cfg);
	setenv("PGPASSWORD", "pg'pw\\1", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x"));
	ok(cfg.conninfo && conninfo_has(cfg.conninfo, "client_encoding", "UTF8") &&
	   conninfo_has(cfg.conninfo, "dbname", NULL) && conninfo_has(cfg.conninfo, "password", "pg'pw\\1"),
	   "no -d: UTF8 and PGPASSWORD in the settings, the database from the PG* variables");
	ok(getenv("PGPASSWORD") == NULL, "PGPASSWORD removed from the environment");
	cfg_free(&cfg);
	setenv("PGPASSWORD", "envpw", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-d", "password=dpw"));
	ok(conninfo_has(cfg.conninfo, "password", "dpw") && getenv("PGPASSWORD") == NULL,
	   "a password in -d wins over PGPASSWORD, as in libpq");
	cfg_free(&cfg);
	unsetenv("PGCLIENTENCODING");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-d", "dbname='x")) == 1,
	   "an unterminated quote in -d is refused at start");
}

/*
 * test_es_urls: only http and https node URLs are accepted.
 */
static void
test_es_urls(void)
{
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "https://x:9200,HTTP://y")) == 0,
	   "http and https URLs accepted, the scheme in any case");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "ftp://x")) == 1, "ftp:// refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "file:///etc/passwd")) == 1, "file:// refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "notaurl")) == 1, "a URL without scheme refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://")) == 1, "a URL without host refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://a:9200,gopher://b")) == 1,
	   "one bad URL of a list refused");
	setenv("PG2ES_ES_URL", "file:///x", 1);
	ok(parse_status(ARGS("pg2es", "verify")) == 1, "PG2ES_ES_URL checked too, by verify too");
	unsetenv("PG2ES_ES_URL");
}

/*
 * test_dead_letter_file: a dead-letter file that cannot be written is
 * refused at start, not at the first refused item.
 */
static void
test_dead_letter_file(void)
{
	char		dir[] = "/tmp/pg2es-test-dlq-XXXXXX";
	char		path[128];

	ok(mkdtemp(dir) != NULL, "scratch directory");
	snprintf(path, sizeof(path), "%s/dl.ndjson", dir);
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--dead-letter-file", path)) == 0,
	   "a dead-letter file in a writable directory");
	snprintf(path, sizeof(path), "%s/missing/dl.ndjson", dir);
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--dead-letter-file", path)) == 1,
	   "a dead-letter file in a missing directory refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--dead-letter-file", dir)) == 1,
	   "a directory as the dead-letter file refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--on-item-error", "stop",
						 "--dead-letter-file", path)) == 0,
	   "no dead-letter file needed with --on-item-error=stop");
	ok(parse_status(ARGS("pg2es", "verify", "--es-url", "http://x", "--dead-letter-file", path)) == 0,
	   "verify writes no dead letters");
	rmdir(dir);
}

/*
 * test_plugin_options_override: an -o option replaces the PG2ES_OPTION
 * entry of the same name; repeats within one source stay repeats.
 */
static void
test_plugin_options_override(void)
{
	Config		cfg;

	setenv("PG2ES_OPTION", "versioning=off;include-tables=public.*;versioning=off", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-o", "versioning=on",
						 "-o", "bare"));
	ok(cfg.nopts == 3 && strcmp(cfg.opt_names[0], "include-tables") == 0 &&
	   strcmp(cfg.opt_names[1], "versioning") == 0 && strcmp(cfg.opt_values[1], "on") == 0 &&
	   strcmp(cfg.opt_names[2], "bare") == 0,
	   "-o versioning=on replaces PG2ES_OPTION's versioning=off");
	cfg_free(&cfg);
	cfg_parse(&cfg, ARGS("pg2es", "-S", "s", "--es-url", "http://x", "-o", "add-fields=lsn",
						 "-o", "add-fields=op"));
	ok(cfg.nopts == 5 && strcmp(cfg.opt_names[3], "add-fields") == 0 &&
	   strcmp(cfg.opt_names[4], "add-fields") == 0,
	   "an option repeated on the command line is passed on twice (the plugin refuses it)");
	cfg_free(&cfg);
	unsetenv("PG2ES_OPTION");
}

/*
 * test_wait_options: pg2es wait's options, its defaults (no Elasticsearch
 * needed unless --searchable), and its exit status 2 for bad settings (1
 * means "timed out" there).
 */
static void
test_wait_options(void)
{
	Config		cfg;

	cfg_parse(&cfg, ARGS("pg2es", "wait", "-d", "dbname=x", "-S", "s"));
	ok(cfg.command == COMMAND_WAIT && !cfg.wait_lsn_given && cfg.wait_timeout_ms == 60000 &&
	   !cfg.wait_searchable, "wait: defaults, no Elasticsearch URL needed");
	cfg_free(&cfg);
	cfg_parse(&cfg, ARGS("pg2es", "wait", "-S", "s", "--lsn", "16/B374D848", "--timeout", "0",
						 "--searchable", "--es-url", "http://x"));
	ok(cfg.wait_lsn_given && cfg.wait_lsn == ((Lsn) 0x16 << 32 | 0xB374D848) &&
	   cfg.wait_timeout_ms == 0 && cfg.wait_searchable, "wait: --lsn, --timeout 0, --searchable");
	cfg_free(&cfg);
	ok(parse_status(ARGS("pg2es", "wait", "-S", "s", "--lsn", "16/B374D848x")) == 2,
	   "wait: a bad LSN exits 2");
	ok(parse_status(ARGS("pg2es", "wait", "-S", "s", "--timeout", "-1")) == 2,
	   "wait: a bad timeout exits 2");
	ok(parse_status(ARGS("pg2es", "wait")) == 2, "wait: no slot exits 2");
	ok(parse_status(ARGS("pg2es", "wait", "-S", "s", "--searchable")) == 2,
	   "wait: --searchable needs an Elasticsearch URL");
	ok(parse_status(ARGS("pg2es", "wait", "-S", "s", "--create-slot")) == 2,
	   "wait: --create-slot refused");
	ok(parse_status(ARGS("pg2es", "-S", "s", "--es-url", "http://x", "--lsn", "0/1")) == 1,
	   "--lsn belongs to wait");
	ok(parse_status(ARGS("pg2es", "verify", "--es-url", "http://x", "--searchable")) == 1,
	   "--searchable belongs to wait");
}

int
main(void)
{
	Config		cfg;
	char		pwfile[] = "/tmp/pg2es-test-cfg-XXXXXX";
	int			fd;

	unsetenv("PG2ES_ES_URL");
	setenv("PG2ES_SLOT", "envslot", 1);
	setenv("PG2ES_BULK_MAX_ITEMS", "77", 1);
	setenv("PG2ES_ES_GZIP", "on", 1);
	setenv("PG2ES_OPTION", "include-tables=public.*;versioning=on", 1);
	setenv("PG2ES_ES_API_KEY", "c2VjcmV0", 1);
	cfg_parse(&cfg, ARGS("pg2es", "-d", "dbname=x", "--es-url", "http://a:9200,http://b:9200",
						 "-o", "add-fields=lsn", "-o", "bare", "--bulk-max-bytes", "2MB",
						 "--endpos", "0/10"));
	ok(cfg.command == COMMAND_SYNC && conninfo_has(cfg.conninfo, "dbname", "x"), "sync with -d");
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
	test_connection_settings();
	test_es_urls();
	test_dead_letter_file();
	test_plugin_options_override();
	test_wait_options();
	return done_testing();
}
