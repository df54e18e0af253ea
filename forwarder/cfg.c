/*
 * cfg.c
 *		Command line and environment configuration (see cfg.h).
 *
 * Like pg_recvlogical: getopt_long, a grouped --help, and combinations
 * checked after parsing; a bad setting stops the program at once with one
 * line naming it and a hint to run --help.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "es.h"
#include "pg2es_protocol.h"

#define PG2ES_VERSION "0.1.0"

/* option codes for long options without a short form */
enum
{
	OPT_CREATE_SLOT = 256,
	OPT_ES_URL,
	OPT_ES_USER,
	OPT_ES_PASSWORD_FILE,
	OPT_ES_API_KEY_FILE,
	OPT_ES_CACERT,
	OPT_ES_GZIP,
	OPT_ES_TIMEOUT,
	OPT_BULK_MAX_BYTES,
	OPT_BULK_MAX_ITEMS,
	OPT_BULK_LINGER_MS,
	OPT_MAX_MEMORY,
	OPT_LANES,
	OPT_ES_MAX_CONTENT_LENGTH,
	OPT_PAUSE_AFTER,
	OPT_ON_ITEM_ERROR,
	OPT_DEAD_LETTER_FILE,
	OPT_SNAPSHOT,
	OPT_NO_INITIAL_LOAD,
	OPT_LOAD_JOBS,
	OPT_MAPPINGS,
	OPT_PRINT_MAPPINGS,
	OPT_METRICS_ADDRESS,
	OPT_METRICS_PORT,
	OPT_LOG_FORMAT,
	OPT_REPAIR,
	OPT_LSN,
	OPT_TIMEOUT,
	OPT_SEARCHABLE,
	OPT_BACKFILL,
	OPT_KEEP_OLD
};

static const struct option long_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"slot", required_argument, NULL, 'S'},
	{"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
	{"option", required_argument, NULL, 'o'},
	{"status-interval", required_argument, NULL, 's'},
	{"endpos", required_argument, NULL, 'E'},
	{"es-url", required_argument, NULL, OPT_ES_URL},
	{"es-user", required_argument, NULL, OPT_ES_USER},
	{"es-password-file", required_argument, NULL, OPT_ES_PASSWORD_FILE},
	{"es-api-key-file", required_argument, NULL, OPT_ES_API_KEY_FILE},
	{"es-cacert", required_argument, NULL, OPT_ES_CACERT},
	{"es-gzip", no_argument, NULL, OPT_ES_GZIP},
	{"es-timeout", required_argument, NULL, OPT_ES_TIMEOUT},
	{"bulk-max-bytes", required_argument, NULL, OPT_BULK_MAX_BYTES},
	{"bulk-max-items", required_argument, NULL, OPT_BULK_MAX_ITEMS},
	{"bulk-linger-ms", required_argument, NULL, OPT_BULK_LINGER_MS},
	{"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
	{"lanes", required_argument, NULL, OPT_LANES},
	{"es-max-content-length", required_argument, NULL, OPT_ES_MAX_CONTENT_LENGTH},
	{"pause-after", required_argument, NULL, OPT_PAUSE_AFTER},
	{"on-item-error", required_argument, NULL, OPT_ON_ITEM_ERROR},
	{"dead-letter-file", required_argument, NULL, OPT_DEAD_LETTER_FILE},
	{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	{"no-initial-load", no_argument, NULL, OPT_NO_INITIAL_LOAD},
	{"load-jobs", required_argument, NULL, OPT_LOAD_JOBS},
	{"mappings", required_argument, NULL, OPT_MAPPINGS},
	{"print-mappings", no_argument, NULL, OPT_PRINT_MAPPINGS},
	{"metrics-address", required_argument, NULL, OPT_METRICS_ADDRESS},
	{"metrics-port", required_argument, NULL, OPT_METRICS_PORT},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"repair", no_argument, NULL, OPT_REPAIR},
	{"verbose", no_argument, NULL, 'v'},
	{"lsn", required_argument, NULL, OPT_LSN},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"searchable", no_argument, NULL, OPT_SEARCHABLE},
	{"backfill", no_argument, NULL, OPT_BACKFILL},
	{"keep-old", no_argument, NULL, OPT_KEEP_OLD},
	{NULL, 0, NULL, 0}
};

/* hard limit of Elasticsearch's http.max_content_length default */
#define MAX_REQUEST_BYTES ((size_t) 100 * 1024 * 1024)

static void usage_rest(void);

/*
 * usage: the --help text, grouped like pg_recvlogical's.
 */
static void
usage(void)
{
	printf("pg2es streams a PostgreSQL logical replication slot to Elasticsearch _bulk.\n\n"
		   "Usage:\n"
		   "  pg2es [OPTION]...                 run the sync\n"
		   "  pg2es verify [OPTION]... [TABLE]...  compare indexes with tables\n"
		   "  pg2es wait [OPTION]...            wait until the running forwarder has stored\n"
		   "                                    everything up to an LSN\n"
		   "  pg2es reindex -d CONNSTR -S SLOT [--backfill] [--keep-old] TABLE...\n"
		   "                                    ask the slot's forwarder to rebuild the\n"
		   "                                    tables' indexes while it streams\n\n"
		   "Action:\n"
		   "      --create-slot          create the slot (plugin pg2es) if it does not exist\n"
		   "\nPostgreSQL options:\n"
		   "  -d, --dbname=CONNSTR       connection string (replication=database is added)\n"
		   "  -S, --slot=SLOTNAME        logical replication slot to stream\n"
		   "  -o, --option=NAME[=VALUE]  pass option NAME with optional VALUE to the plugin\n"
		   "                             (env PG2ES_OPTION: NAME=VALUE;NAME=VALUE...)\n"
		   "  -s, --status-interval=SECS time between status updates to the server\n"
		   "                             (default: 10)\n"
		   "  -E, --endpos=LSN           exit once everything up to LSN is acknowledged\n"
		   "\nElasticsearch options:\n"
		   "      --es-url=URL[,URL...]  node URLs, used round-robin with failover\n"
		   "      --es-user=USER         basic authentication user; the password comes from\n"
		   "                             PG2ES_ES_PASSWORD or --es-password-file\n"
		   "      --es-password-file=FILE  read the basic authentication password from FILE\n"
		   "      --es-api-key-file=FILE read an API key (base64 id:key) from FILE; or set\n"
		   "                             PG2ES_ES_API_KEY\n"
		   "      --es-cacert=FILE       CA certificates to verify HTTPS nodes (verification\n"
		   "                             is always on)\n"
		   "      --es-gzip              gzip request bodies\n"
		   "      --es-timeout=SECS      give up on a request after SECS and send it again\n"
		   "                             (default: 120)\n"
		   "\nBatching:\n"
		   "      --bulk-max-bytes=SIZE  send a request at this body size (default: 5MB,\n"
		   "                             at most 100MB)\n"
		   "      --bulk-max-items=N     send a request at this many items (default: 5000)\n"
		   "      --bulk-linger-ms=MS    send a request this long after its first item\n"
		   "                             (default: 100)\n"
		   "      --max-memory=SIZE      stop reading from PostgreSQL while this much is\n"
		   "                             buffered (default: 32MB)\n"
		   "      --lanes=N              _bulk requests in flight at once, each document\n"
		   "                             always in the same one (1..64, default: %d;\n"
		   "                             1 under -o versioning=off)\n"
		   "      --es-max-content-length=SIZE  the cluster's http.max_content_length:\n"
		   "                             a larger item is dead-lettered (default: 100MB)\n"
		   "      --pause-after=SECS     when Elasticsearch has taken nothing for SECS while\n"
		   "                             changes wait, close the replication connection\n"
		   "                             until it has taken them (default: 15)\n",
		   CFG_DEFAULT_LANES);
	usage_rest();
}

/*
 * usage_rest: the --help text after the batching options.
 */
static void
usage_rest(void)
{
	fputs("\nItem errors:\n"
		  "      --on-item-error=dead-letter|stop  what to do with an item Elasticsearch\n"
		  "                             refuses for good (default: dead-letter)\n"
		  "      --dead-letter-file=PATH  refused items, replayable with curl _bulk; their\n"
		  "                             errors go to PATH.errors\n"
		  "                             (default: pg2es-dead-letter.ndjson)\n"
		  "\nInitial load:\n"
		  "      --snapshot=TABLES      load the existing rows of TABLES (patterns as in\n"
		  "                             the include-tables plugin option)\n"
		  "      --no-initial-load      do not load existing rows when creating the slot\n"
		  "      --load-jobs=N          connections used by the initial load (default: 2)\n"
		  "\nIndex mappings:\n"
		  "      --mappings=schema|dynamic  create missing indexes with a mapping derived\n"
		  "                             from the table (schema, the default), or leave\n"
		  "                             them to dynamic mapping and index templates\n"
		  "      --print-mappings       print the derived mappings and exit\n"
		  "\nVerify:\n"
		  "      --repair               send the missing and different documents, delete\n"
		  "                             the extra ones, then verify again\n"
		  "\nWait (pg2es wait; exit 0 reached, 1 timed out, 2 error):\n"
		  "      --lsn=LSN              the position to wait for (default: the server's\n"
		  "                             current WAL position)\n"
		  "      --timeout=SECS         give up after SECS, 0 = never (default: 60)\n"
		  "      --searchable           then refresh the slot's indexes, so that a search\n"
		  "                             finds what was stored\n"
		  "\nReindex:\n"
		  "      --backfill             copy the tables into their current indexes and\n"
		  "                             remove documents whose rows are gone, instead\n"
		  "      --keep-old             keep the old index once the alias has moved\n"
		  "\nObservability:\n"
		  "      --metrics-port=PORT    serve /metrics and /healthz on PORT (default: off)\n"
		  "      --metrics-address=ADDR address for --metrics-port (default: 127.0.0.1)\n"
		  "      --log-format=text|json log line format (default: text)\n"
		  "  -v, --verbose              log more (debug)\n"
		  "\nOther options:\n"
		  "  -V, --version              output version information, then exit\n"
		  "  -?, --help                 show this help, then exit\n"
		  "\nEvery option can be set in the environment as PG2ES_ and its long name in\n"
		  "upper case with underscores (PG2ES_ES_URL, PG2ES_SLOT, ...); options on the\n"
		  "command line win. SIZE takes a kB, MB or GB suffix.\n", stdout);
}

/*
 * The exit status of a bad setting: 1, but 2 under pg2es wait, whose 1
 * means "timed out" (wait.h).
 */
static int	fail_status = 1;

/*
 * fail: report a bad setting in one line and exit, as pg_recvlogical does.
 */
static void fail(const char *fmt,...) PG2ES_PRINTF(1, 2);
static void
fail(const char *fmt,...)
{
	va_list		ap;

	fputs("pg2es: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\npg2es: hint: Try \"pg2es --help\" for more information.\n", stderr);
	exit(fail_status);
}

/*
 * xstrdup: strdup that exits when memory is exhausted (start-up only).
 */
static char *
xstrdup(const char *s)
{
	char	   *copy = strdup(s);

	if (copy == NULL)
	{
		fputs("pg2es: error: out of memory\n", stderr);
		exit(1);
	}
	return copy;
}

/*
 * replace_string: set *field to a copy of value, freeing the old one.
 */
static void
replace_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/*
 * parse_int: value as an integer in [min, max], or fail naming the option.
 */
static long
parse_int(const char *name, const char *value, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		fail("invalid value \"%s\" for %s (an integer from %ld to %ld)",
			 value, name, min, max);
	return v;
}

/*
 * parse_size: a byte count with an optional kB/MB/GB suffix, at least min.
 */
static size_t
parse_size(const char *name, const char *value, size_t min)
{
	char	   *end;
	unsigned long long v;
	unsigned long long mult = 1;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno == 0 && end != value && value[0] != '-')
	{
		if (strcasecmp(end, "kB") == 0 || strcasecmp(end, "k") == 0)
			mult = 1024;
		else if (strcasecmp(end, "MB") == 0 || strcasecmp(end, "M") == 0)
			mult = 1024 * 1024;
		else if (strcasecmp(end, "GB") == 0 || strcasecmp(end, "G") == 0)
			mult = 1024 * 1024 * 1024;
		else if (*end != '\0')
			mult = 0;
		if (mult != 0 && v <= SIZE_MAX / mult && v * mult >= min)
			return (size_t) (v * mult);
	}
	fail("invalid value \"%s\" for %s (a size of at least %zu bytes, e.g. 5MB)",
		 value, name, min);
	return 0;
}

/*
 * parse_choice: 0 if value is first, 1 if it is second, else fail naming
 * the option and both choices.
 */
static int
parse_choice(const char *name, const char *value, const char *first, const char *second)
{
	if (strcmp(value, first) == 0)
		return 0;
	if (strcmp(value, second) != 0)
		fail("invalid value \"%s\" for %s (%s or %s)", value, name, first, second);
	return 1;
}

/*
 * parse_bool: an environment variable's boolean value.
 */
static bool
parse_bool(const char *name, const char *value)
{
	if (strcasecmp(value, "1") == 0 || strcasecmp(value, "true") == 0 ||
		strcasecmp(value, "on") == 0 || strcasecmp(value, "yes") == 0)
		return true;
	if (strcasecmp(value, "0") == 0 || strcasecmp(value, "false") == 0 ||
		strcasecmp(value, "off") == 0 || strcasecmp(value, "no") == 0)
		return false;
	fail("invalid boolean value \"%s\" for %s", value, name);
	return false;
}

/*
 * cfg_versioning_off: whether the plugin options (-o) turn versioning off:
 * the last -o versioning wins, and its value is false as PostgreSQL's
 * parse_bool reads it (false, no, off, 0, or a unique prefix of them; a
 * bare option means true). Items then carry no version.
 */
bool
cfg_versioning_off(const Config *cfg)
{
	static const char *const falses[] = {"false", "no", "off", "0"};
	bool		off = false;
	size_t		i;
	size_t		f;

	for (i = 0; i < cfg->nopts; i++)
	{
		const char *v = cfg->opt_values[i];
		size_t		n = v ? strlen(v) : 0;

		if (strcmp(cfg->opt_names[i], "versioning") != 0)
			continue;
		off = false;
		for (f = 0; n > 0 && f < sizeof(falses) / sizeof(falses[0]); f++)
			if (strncasecmp(v, falses[f], n) == 0 && n <= strlen(falses[f]) &&
				(f != 2 || n >= 2))
				off = true;
	}
	return off;
}

/*
 * cfg_soft_deletes: whether the plugin options (-o) say delete-mode=soft
 * (the last -o delete-mode wins): deleted rows' documents are kept with
 * "__deleted": true.
 */
bool
cfg_soft_deletes(const Config *cfg)
{
	bool		soft = false;
	size_t		i;

	for (i = 0; i < cfg->nopts; i++)
		if (strcmp(cfg->opt_names[i], "delete-mode") == 0)
			soft = cfg->opt_values[i] != NULL && strcmp(cfg->opt_values[i], "soft") == 0;
	return soft;
}

/*
 * subcommand: the command a first argument names (verify, wait, reindex),
 * or COMMAND_SYNC when it names none.
 */
static Command
subcommand(const char *arg)
{
	if (strcmp(arg, "verify") == 0)
		return COMMAND_VERIFY;
	if (strcmp(arg, "wait") == 0)
		return COMMAND_WAIT;
	if (strcmp(arg, "reindex") == 0)
		return COMMAND_REINDEX;
	return COMMAND_SYNC;
}

/*
 * parse_lsn_option: the LSN value arg of option name into *lsn, or fail.
 */
static void
parse_lsn_option(const char *name, const char *arg, Lsn *lsn)
{
	if (!lsn_parse(arg, lsn))
		fail("invalid value \"%s\" for %s (an LSN such as 0/16B3748)", arg, name);
}

/*
 * read_secret_file: the first line of path, without its newline.
 */
static char *
read_secret_file(const char *option, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	size_t		n;

	if (f == NULL)
		fail("could not open file \"%s\" given to %s: %s", path, option, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0)
		fail("file \"%s\" given to %s is empty", path, option);
	return xstrdup(line);
}

/*
 * add_plugin_option: record "-o NAME[=VALUE]".
 */
static void
add_plugin_option(Config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t		n = cfg->nopts + 1;

	cfg->opt_names = realloc(cfg->opt_names, n * sizeof(char *));
	cfg->opt_values = realloc(cfg->opt_values, n * sizeof(char *));
	if (cfg->opt_names == NULL || cfg->opt_values == NULL)
		fail("out of memory");
	cfg->opt_names[cfg->nopts] = xstrdup(arg);
	cfg->opt_values[cfg->nopts] = eq ? xstrdup(eq + 1) : NULL;
	if (eq)
		cfg->opt_names[cfg->nopts][eq - arg] = '\0';
	if (cfg->opt_names[cfg->nopts][0] == '\0')
		fail("invalid plugin option \"%s\": the name is empty", arg);
	/* the forwarder reads frames: it must choose the framing itself */
	if (strcmp(cfg->opt_names[cfg->nopts], FRAMING_OPTION) == 0)
		fail("plugin option \"%s\" is set by pg2es and cannot be given", FRAMING_OPTION);
	cfg->nopts = n;
}

/*
 * split_list: replace *items with the sep-separated parts of text (empty
 * parts dropped).
 */
static void
split_list(char ***items, size_t *n, const char *text, char sep)
{
	const char *p = text;
	const char	seps[2] = {sep, '\0'};

	while (*n > 0)
		free((*items)[--*n]);
	while (*p)
	{
		size_t		len = strcspn(p, seps);

		if (len > 0)
		{
			*items = realloc(*items, (*n + 1) * sizeof(char *));
			if (*items == NULL)
				fail("out of memory");
			(*items)[*n] = xstrdup(p);
			(*items)[*n][len] = '\0';
			(*n)++;
		}
		p += len;
		if (*p)
			p++;
	}
}

/*
 * flag_value: a flag option's value: true on the command line (arg NULL),
 * the boolean text from the environment.
 */
static bool
flag_value(const char *name, const char *arg)
{
	return arg == NULL || parse_bool(name, arg);
}

/*
 * apply_other_option: set an option of observability or of one command
 * (wait, verify, reindex, --print-mappings) with code c from value arg, as
 * apply_option.
 */
static void
apply_other_option(Config *cfg, int c, const char *name, const char *arg)
{
	switch (c)
	{
		case OPT_METRICS_ADDRESS:
			replace_string(&cfg->metrics_address, arg);
			break;
		case OPT_METRICS_PORT:
			cfg->metrics_port = (int) parse_int(name, arg, 0, 65535);
			break;
		case OPT_LOG_FORMAT:
			cfg->log_format = parse_choice(name, arg, "text", "json") == 0
				? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
			break;
		case 'v':
			cfg->log_level = flag_value(name, arg) ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
			break;
		case OPT_LSN:
			parse_lsn_option(name, arg, &cfg->wait_lsn);
			cfg->wait_lsn_given = cfg->wait_options_given = true;
			break;
		case OPT_TIMEOUT:
			cfg->wait_timeout_ms = (int) parse_int(name, arg, 0, 86400) * 1000;
			cfg->wait_options_given = true;
			break;
		case OPT_SEARCHABLE:
			cfg->wait_searchable = flag_value(name, arg);
			cfg->wait_options_given = true;
			break;
		case OPT_PRINT_MAPPINGS:
			if (flag_value(name, arg) && cfg->command == COMMAND_SYNC)
				cfg->command = COMMAND_PRINT_MAPPINGS;
			break;
		case OPT_REPAIR:
			cfg->repair = flag_value(name, arg);
			break;
		case OPT_BACKFILL:
			cfg->reindex_backfill = flag_value(name, arg);
			break;
		case OPT_KEEP_OLD:
			cfg->reindex_keep_old = flag_value(name, arg);
			break;
	}
}

/*
 * apply_flow_option: set an option of batching, item errors, the initial
 * load or the mappings with code c from value arg, as apply_option.
 */
static void
apply_flow_option(Config *cfg, int c, const char *name, const char *arg)
{
	switch (c)
	{
		case OPT_BULK_MAX_BYTES:
			cfg->bulk_max_bytes = parse_size(name, arg, 1024);
			break;
		case OPT_BULK_MAX_ITEMS:
			cfg->bulk_max_items = (size_t) parse_int(name, arg, 1, 1000000);
			break;
		case OPT_BULK_LINGER_MS:
			cfg->bulk_linger_ms = (int) parse_int(name, arg, 0, 60000);
			break;
		case OPT_MAX_MEMORY:
			cfg->max_memory = parse_size(name, arg, 1024 * 1024);
			break;
		case OPT_LANES:
			cfg->lanes = (int) parse_int(name, arg, 1, 64);
			break;
		case OPT_ES_MAX_CONTENT_LENGTH:
			cfg->es_max_content_length = parse_size(name, arg, 1024);
			break;
		case OPT_PAUSE_AFTER:
			cfg->pause_after_ms = (int) parse_int(name, arg, 1, 86400) * 1000;
			break;
		case OPT_ON_ITEM_ERROR:
			cfg->on_item_error = parse_choice(name, arg, "dead-letter", "stop") == 0
				? ON_ITEM_ERROR_DEAD_LETTER : ON_ITEM_ERROR_STOP;
			break;
		case OPT_DEAD_LETTER_FILE:
			replace_string(&cfg->dead_letter_file, arg);
			break;
		case OPT_SNAPSHOT:
			replace_string(&cfg->snapshot_tables, arg);
			break;
		case OPT_NO_INITIAL_LOAD:
			cfg->no_initial_load = flag_value(name, arg);
			break;
		case OPT_LOAD_JOBS:
			cfg->load_jobs = (int) parse_int(name, arg, 1, 64);
			break;
		case OPT_MAPPINGS:
			cfg->mappings_dynamic = parse_choice(name, arg, "schema", "dynamic") == 1;
			break;
		default:
			apply_other_option(cfg, c, name, arg);
			break;
	}
}

/*
 * apply_option: set the option with code c from value arg (NULL for a flag
 * given on the command line; a flag from the environment passes its text).
 */
static void
apply_option(Config *cfg, int c, const char *name, const char *arg)
{
	switch (c)
	{
		case 'd':
			replace_string(&cfg->conninfo, arg);
			break;
		case 'S':
			replace_string(&cfg->slot, arg);
			break;
		case OPT_CREATE_SLOT:
			cfg->create_slot = flag_value(name, arg);
			break;
		case 'o':
			add_plugin_option(cfg, arg);
			break;
		case 's':
			cfg->status_interval_ms = (int) parse_int(name, arg, 1, 3600) * 1000;
			break;
		case 'E':
			parse_lsn_option(name, arg, &cfg->endpos);
			break;
		case OPT_ES_URL:
			split_list(&cfg->es_urls, &cfg->nes_urls, arg, ',');
			break;
		case OPT_ES_USER:
			replace_string(&cfg->es_user, arg);
			break;
		case OPT_ES_PASSWORD_FILE:
			free(cfg->es_password);
			cfg->es_password = read_secret_file(name, arg);
			break;
		case OPT_ES_API_KEY_FILE:
			free(cfg->es_api_key);
			cfg->es_api_key = read_secret_file(name, arg);
			break;
		case OPT_ES_CACERT:
			replace_string(&cfg->es_cacert, arg);
			break;
		case OPT_ES_GZIP:
			cfg->es_gzip = flag_value(name, arg);
			break;
		case OPT_ES_TIMEOUT:
			cfg->es_timeout_ms = (int) parse_int(name, arg, 1, 86400) * 1000;
			break;
		default:
			apply_flow_option(cfg, c, name, arg);
			break;
	}
}

/*
 * forget_secret_variable: remove variable name from the environment after
 * wiping its value in place: /proc/PID/environ shows the environment block
 * the process started with, which unsetenv alone leaves as it was.
 */
static void
forget_secret_variable(const char *name)
{
	char	   *value = getenv(name);

	if (value != NULL)
		memset(value, 0, strlen(value));
	unsetenv(name);
}

/*
 * apply_environment: every PG2ES_<LONG_NAME> variable that is set, then the
 * secrets, which exist only as variables (and are removed from the
 * environment once read, so child processes and /proc do not keep them).
 */
static void
apply_environment(Config *cfg)
{
	const struct option *o;
	char		var[64];
	const char *value;
	size_t		i;

	for (o = long_options; o->name; o++)
	{
		snprintf(var, sizeof(var), "PG2ES_%s", o->name);
		for (i = 6; var[i]; i++)
			var[i] = var[i] == '-' ? '_' : (char) toupper((unsigned char) var[i]);
		if ((value = getenv(var)) == NULL || *value == '\0')
			continue;
		if (o->val == 'o')
		{
			char	  **parts = NULL;
			size_t		n = 0;

			split_list(&parts, &n, value, ';');
			for (i = 0; i < n; i++)
				add_plugin_option(cfg, parts[i]);
			split_list(&parts, &n, "", ';');
			free(parts);
		}
		else
			apply_option(cfg, o->val, var, value);
	}
	if ((value = getenv("PG2ES_ES_PASSWORD")) != NULL && *value)
		replace_string(&cfg->es_password, value);
	if ((value = getenv("PG2ES_ES_API_KEY")) != NULL && *value)
		replace_string(&cfg->es_api_key, value);
	forget_secret_variable("PG2ES_ES_PASSWORD");
	forget_secret_variable("PG2ES_ES_API_KEY");
}

/*
 * append_conninfo_value: keyword='value' and a space to out, quoted as
 * libpq reads key=value strings (quotes and backslashes escaped).
 */
static bool
append_conninfo_value(Buf *out, const char *keyword, const char *value)
{
	const char *p;
	bool		good = buf_printf(out, "%s='", keyword);

	for (p = value; good && *p; p++)
		good = ((*p != '\'' && *p != '\\') || buf_append(out, "\\", 1)) && buf_append(out, p, 1);
	return good && buf_append_str(out, "' ");
}

/*
 * is_connection_string: whether libpq takes text, given as a dbname, for a
 * connection string (a URI, or anything with "=") rather than a name.
 */
static bool
is_connection_string(const char *text)
{
	return strncmp(text, "postgresql://", 13) == 0 || strncmp(text, "postgres://", 11) == 0 ||
		strchr(text, '=') != NULL;
}

/*
 * settle_connection_settings: replace cfg->conninfo (the -d text, NULL when
 * only the PG* variables apply) with a key=value string of the same
 * settings plus client_encoding=UTF8, and PGPASSWORD's password when -d
 * names none. Every connection passes it as its dbname (expanded), so each
 * one asks for UTF-8, whatever the database's encoding, -d or
 * PGCLIENTENCODING say: the _ids, documents and names pg2es sends to
 * Elasticsearch or prints must be UTF-8. PGPASSWORD is then wiped from the
 * environment (reconnections take the password from here).
 */
static void
settle_connection_settings(Config *cfg)
{
	PQconninfoOption *opts = NULL;
	PQconninfoOption *o;
	char	   *err = NULL;
	const char *password = getenv("PGPASSWORD");
	bool		has_password = false;
	bool		good = true;
	Buf			out;

	buf_init(&out);
	if (cfg->conninfo && is_connection_string(cfg->conninfo) &&
		(opts = PQconninfoParse(cfg->conninfo, &err)) == NULL)
		fail("invalid connection string given to --dbname: %.*s",
			 err ? (int) strcspn(err, "\n") : 13, err ? err : "out of memory");
	if (cfg->conninfo && opts == NULL)
		good = append_conninfo_value(&out, "dbname", cfg->conninfo);
	for (o = opts; good && o && o->keyword; o++)
	{
		if (o->val == NULL || strcmp(o->keyword, "client_encoding") == 0)
			continue;
		has_password |= strcmp(o->keyword, "password") == 0;
		good = append_conninfo_value(&out, o->keyword, o->val);
	}
	PQconninfoFree(opts);
	if (good && !has_password && password != NULL && *password != '\0')
		good = append_conninfo_value(&out, "password", password);
	if (!good || !buf_append_str(&out, "client_encoding='UTF8'"))
		fail("out of memory");
	forget_secret_variable("PGPASSWORD");
	if (cfg->conninfo)
		memset(cfg->conninfo, 0, strlen(cfg->conninfo));
	free(cfg->conninfo);
	cfg->conninfo = out.data;
}

/*
 * set_defaults: the documented defaults.
 */
static void
set_defaults(Config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->status_interval_ms = 10 * 1000;
	cfg->es_timeout_ms = 120 * 1000;
	cfg->bulk_max_bytes = 5 * 1024 * 1024;
	cfg->bulk_max_items = 5000;
	cfg->bulk_linger_ms = 100;
	cfg->max_memory = 32 * 1024 * 1024;
	cfg->lanes = CFG_DEFAULT_LANES;
	cfg->es_max_content_length = MAX_REQUEST_BYTES;
	cfg->pause_after_ms = 15 * 1000;
	cfg->on_item_error = ON_ITEM_ERROR_DEAD_LETTER;
	cfg->dead_letter_file = xstrdup("pg2es-dead-letter.ndjson");
	cfg->load_jobs = 2;
	cfg->metrics_address = xstrdup("127.0.0.1");
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->log_level = LOG_LEVEL_INFO;
}

/*
 * check_es_urls: every node URL is http:// or https:// with a host: curl
 * would otherwise speak other protocols (file:// reads local files), and a
 * typo would be retried forever.
 */
static void
check_es_urls(const Config *cfg)
{
	size_t		i;

	for (i = 0; i < cfg->nes_urls; i++)
	{
		const char *url = cfg->es_urls[i];
		size_t		n = strncasecmp(url, "http://", 7) == 0 ? 7
		: strncasecmp(url, "https://", 8) == 0 ? 8 : 0;

		if (n == 0 || strchr("/?#", url[n]) != NULL)
		{
			char	   *shown = es_redact_url(url);

			fail("invalid Elasticsearch URL \"%s\": only http:// and https:// URLs with a host are accepted",
				 shown ? shown : "(out of memory)");
		}
	}
}

/*
 * unwritable_reason: why path cannot be created or appended to, or NULL
 * when it can: its directory must exist and be writable, and path, if it
 * exists, must not be a directory and must be writable.
 */
static const char *
unwritable_reason(const char *path)
{
	struct stat st;
	char	   *dir = xstrdup(path);
	char	   *slash = strrchr(dir, '/');
	const char *why = NULL;

	if (slash == NULL)
		replace_string(&dir, ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) != 0)
		why = errno == ENOENT ? "its directory does not exist" : "its directory cannot be read";
	else if (!S_ISDIR(st.st_mode))
		why = "its directory is not a directory";
	else if (access(dir, W_OK | X_OK) != 0)
		why = "its directory is not writable";
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		why = "it is a directory";
	else if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
		why = "it is not writable";
	free(dir);
	return why;
}

/*
 * check_dead_letter_file: the sync writes refused items to the dead-letter
 * file and their errors to PATH.errors; both are created only at the first
 * refused item, so whether they can be is checked now rather than then.
 */
static void
check_dead_letter_file(const Config *cfg)
{
	size_t		n = strlen(cfg->dead_letter_file) + sizeof(".errors");
	char	   *errors = malloc(n);
	const char *why;

	if (errors == NULL)
		fail("out of memory");
	snprintf(errors, n, "%s.errors", cfg->dead_letter_file);
	if ((why = unwritable_reason(cfg->dead_letter_file)) != NULL)
		fail("cannot write the dead-letter file \"%s\" (--dead-letter-file): %s",
			 cfg->dead_letter_file, why);
	if ((why = unwritable_reason(errors)) != NULL)
		fail("cannot write the dead-letter errors file \"%s\" (--dead-letter-file): %s", errors, why);
	free(errors);
}

/*
 * check_combinations: settings that are wrong together, or missing.
 */
static void
check_combinations(const Config *cfg)
{
	if ((cfg->reindex_backfill || cfg->reindex_keep_old) && cfg->command != COMMAND_REINDEX)
		fail("--backfill and --keep-old can only be used with reindex");
	if (cfg->command == COMMAND_PRINT_MAPPINGS)
		return;					/* needs only -d and -o */
	if (cfg->command == COMMAND_REINDEX)
	{
		/* needs only -d, -S and the tables: the forwarder does the rest */
		if (cfg->slot == NULL)
			fail("no slot specified (-S/--slot or PG2ES_SLOT)");
		if (cfg->nverify_tables == 0)
			fail("reindex needs at least one table");
		if (cfg->reindex_backfill && cfg->reindex_keep_old)
			fail("--keep-old cannot be used with --backfill (a backfill keeps the index it fills)");
		return;
	}
	if (cfg->wait_options_given && cfg->command != COMMAND_WAIT)
		fail("--lsn, --timeout and --searchable belong to pg2es wait");
	if (cfg->command == COMMAND_WAIT && cfg->slot == NULL)
		fail("no slot specified (-S/--slot or PG2ES_SLOT)");
	if (cfg->command == COMMAND_WAIT && (cfg->create_slot || cfg->endpos))
		fail("--create-slot and --endpos cannot be used with wait");
	if (cfg->repair && cfg->command != COMMAND_VERIFY)
		fail("--repair is an option of pg2es verify");
	if (cfg->repair && cfg_versioning_off(cfg))
		fail("--repair needs versioned documents: with -o versioning=off a repair could overwrite"
			 " a newer change");
	if (cfg->command == COMMAND_WAIT && !cfg->wait_searchable)
		return;					/* Elasticsearch is not asked */
	if (cfg->nes_urls == 0)
		fail("no Elasticsearch URL given (--es-url or PG2ES_ES_URL)");
	check_es_urls(cfg);
	if (cfg->command == COMMAND_SYNC && cfg->slot == NULL)
		fail("no slot specified (-S/--slot or PG2ES_SLOT)");
	if (cfg->command == COMMAND_VERIFY && (cfg->create_slot || cfg->endpos))
		fail("--create-slot and --endpos cannot be used with verify");
	if (cfg->es_user && cfg->es_password == NULL)
		fail("--es-user needs a password: set PG2ES_ES_PASSWORD or --es-password-file");
	if (cfg->es_password && cfg->es_user == NULL)
		fail("an Elasticsearch password was given without --es-user");
	if (cfg->es_user && cfg->es_api_key)
		fail("cannot use both --es-user and an API key");
	if (cfg->bulk_max_bytes > MAX_REQUEST_BYTES)
		fail("--bulk-max-bytes cannot exceed 100MB (Elasticsearch's default request limit)");
	if (cfg->max_memory < 2 * cfg->bulk_max_bytes)
		fail("--max-memory must be at least twice --bulk-max-bytes");
	if (cfg->bulk_max_bytes > cfg->es_max_content_length)
		fail("--bulk-max-bytes cannot exceed --es-max-content-length");
	if (cfg->snapshot_tables && cfg->no_initial_load)
		fail("--snapshot and --no-initial-load cannot be used together");
	if (cfg->command == COMMAND_SYNC && cfg->on_item_error == ON_ITEM_ERROR_DEAD_LETTER)
		check_dead_letter_file(cfg);
}

/*
 * drop_environment_option: remove the first *nenv plugin options (those
 * from PG2ES_OPTION) named name, so that the command line wins over the
 * environment for that option; *nenv shrinks accordingly.
 */
static void
drop_environment_option(Config *cfg, const char *name, size_t *nenv)
{
	size_t		i = 0;

	while (i < *nenv)
	{
		if (strcmp(cfg->opt_names[i], name) != 0)
		{
			i++;
			continue;
		}
		free(cfg->opt_names[i]);
		free(cfg->opt_values[i]);
		memmove(&cfg->opt_names[i], &cfg->opt_names[i + 1], (cfg->nopts - i - 1) * sizeof(char *));
		memmove(&cfg->opt_values[i], &cfg->opt_values[i + 1], (cfg->nopts - i - 1) * sizeof(char *));
		cfg->nopts--;
		(*nenv)--;
	}
}

/*
 * parse_command_line: getopt_long over argv (after the subcommand, if any).
 * An -o option replaces the PG2ES_OPTION ones of the same name (the
 * environment gives defaults); repeated on the command line itself it is
 * passed on repeated, and the plugin refuses it.
 */
static void
parse_command_line(Config *cfg, int argc, char **argv)
{
	int			c;
	int			index;
	size_t		nenv = cfg->nopts;	/* options from PG2ES_OPTION come first */

	optind = 1;					/* a fresh scan, should we be called again */
	while ((c = getopt_long(argc, argv, "d:S:o:s:E:v", long_options, &index)) != -1)
	{
		char		name[64] = "";
		const struct option *o;

		/* name the option as the user wrote it, long form */
		for (o = long_options; o->name && name[0] == '\0'; o++)
			if (o->val == c)
				snprintf(name, sizeof(name), "--%s", o->name);
		if (c == '?')
		{
			/* getopt_long has named the bad option */
			fputs("pg2es: hint: Try \"pg2es --help\" for more information.\n", stderr);
			exit(1);
		}
		if (c == 'o')
		{
			add_plugin_option(cfg, optarg);
			drop_environment_option(cfg, cfg->opt_names[cfg->nopts - 1], &nenv);
			continue;
		}
		apply_option(cfg, c, name, c == OPT_CREATE_SLOT || c == OPT_ES_GZIP ||
					 c == OPT_NO_INITIAL_LOAD || c == OPT_PRINT_MAPPINGS || c == OPT_REPAIR ||
					 c == OPT_SEARCHABLE || c == OPT_BACKFILL || c == OPT_KEEP_OLD ||
					 c == 'v' ? NULL : optarg);
	}
}

/*
 * cfg_parse: fill cfg from the defaults, the environment and argv, in that
 * order (the command line wins), then settle the connection settings;
 * exits with a one-line error for anything wrong, or after --help and
 * --version.
 */
void
cfg_parse(Config *cfg, int argc, char **argv)
{
	int			i;

	set_defaults(cfg);
	fail_status = 1;
	if (argc > 1 && (cfg->command = subcommand(argv[1])) != COMMAND_SYNC)
	{
		cfg->wait_timeout_ms = 60 * 1000;
		if (cfg->command == COMMAND_WAIT)
			fail_status = 2;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0))
	{
		usage();
		exit(0);
	}
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
	{
		puts("pg2es " PG2ES_VERSION);
		exit(0);
	}
	apply_environment(cfg);
	parse_command_line(cfg, argc, argv);
	if (optind < argc && cfg->command != COMMAND_VERIFY && cfg->command != COMMAND_REINDEX)
		fail("too many command-line arguments (first is \"%s\")", argv[optind]);
	if (optind < argc)
	{
		cfg->verify_tables = calloc((size_t) (argc - optind), sizeof(char *));
		if (cfg->verify_tables == NULL)
			fail("out of memory");
		for (i = optind; i < argc; i++)
			cfg->verify_tables[cfg->nverify_tables++] = xstrdup(argv[i]);
	}
	settle_connection_settings(cfg);
	check_combinations(cfg);
}

/*
 * free_list: free n strings and the array holding them.
 */
static void
free_list(char **items, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/*
 * cfg_free: release everything cfg_parse allocated; secrets are wiped.
 */
void
cfg_free(Config *cfg)
{
	if (cfg->es_password)
		memset(cfg->es_password, 0, strlen(cfg->es_password));
	if (cfg->es_api_key)
		memset(cfg->es_api_key, 0, strlen(cfg->es_api_key));
	if (cfg->conninfo)			/* may hold PGPASSWORD's password */
		memset(cfg->conninfo, 0, strlen(cfg->conninfo));
	free(cfg->es_password);
	free(cfg->es_api_key);
	free(cfg->conninfo);
	free(cfg->slot);
	free_list(cfg->opt_names, cfg->nopts);
	free_list(cfg->opt_values, cfg->nopts);
	free_list(cfg->es_urls, cfg->nes_urls);
	free_list(cfg->verify_tables, cfg->nverify_tables);
	free(cfg->es_user);
	free(cfg->es_cacert);
	free(cfg->dead_letter_file);
	free(cfg->snapshot_tables);
	free(cfg->metrics_address);
	memset(cfg, 0, sizeof(*cfg));
}
