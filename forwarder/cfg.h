/*
 * cfg.h
 *		Command line and environment configuration.
 *
 * Every option can also come from the environment: --es-url from
 * PG2ES_ES_URL, --bulk-max-bytes from PG2ES_BULK_MAX_BYTES, and so on (the
 * long name upper-cased, dashes as underscores); the command line wins.
 * Secrets are read from the environment (PG2ES_ES_PASSWORD,
 * PG2ES_ES_API_KEY, PGPASSWORD: wiped from it once read) or from files,
 * never from arguments, which ps shows.
 */
#ifndef PG2ES_CFG_H
#define PG2ES_CFG_H

#include "common.h"
#include "log.h"

typedef enum Command
{
	COMMAND_SYNC,				/* stream the slot to Elasticsearch */
	COMMAND_VERIFY,				/* compare indexes with tables (verify.c) */
	COMMAND_WAIT,				/* wait until the slot's confirmation passes
								 * an LSN (wait.c) */
	COMMAND_PRINT_MAPPINGS,		/* print the derived mappings (mapping.c) */
	COMMAND_REINDEX				/* ask the forwarder to rebuild indexes
								 * (reqtable.c) */
} Command;

typedef enum OnItemError
{
	ON_ITEM_ERROR_DEAD_LETTER,
	ON_ITEM_ERROR_STOP
} OnItemError;

typedef struct Config
{
	Command		command;

	/* PostgreSQL */
	char	   *conninfo;		/* -d's settings as key=value, with
								 * client_encoding=UTF8 and PGPASSWORD's
								 * password; the PG* variables fill in the
								 * rest (cfg.c, settle_connection_settings) */
	char	   *slot;
	bool		create_slot;
	char	  **opt_names;		/* -o name[=value], in order */
	char	  **opt_values;		/* NULL for a bare option */
	size_t		nopts;
	int			status_interval_ms;
	Lsn			endpos;			/* 0 = run until stopped */

	/* Elasticsearch */
	char	  **es_urls;
	size_t		nes_urls;
	char	   *es_user;
	char	   *es_password;	/* from env or file only */
	char	   *es_api_key;		/* from env or file only */
	char	   *es_cacert;
	bool		es_gzip;
	int			es_timeout_ms;

	/* batching and memory */
	size_t		bulk_max_bytes;
	size_t		bulk_max_items;
	int			bulk_linger_ms;
	size_t		max_memory;
	int			lanes;			/* _bulk requests in flight (sync.c) */
	size_t		es_max_content_length;	/* larger items are dead-lettered */
	int			pause_after_ms; /* release PostgreSQL after this long stalled */

	/* errors */
	OnItemError on_item_error;
	char	   *dead_letter_file;

	/* initial load (load.c) */
	char	   *snapshot_tables;	/* --snapshot patterns, or NULL */
	bool		no_initial_load;
	int			load_jobs;

	/* index mappings (mapping.c): false = schema (derived), true = dynamic */
	bool		mappings_dynamic;

	/*
	 * The TABLE arguments: patterns for verify (verify.c), names for reindex
	 * (request.c)
	 */
	char	  **verify_tables;
	size_t		nverify_tables;
	bool		repair;			/* --repair: fix what differs, then verify
								 * again */

	/* wait (wait.c) */
	Lsn			wait_lsn;		/* valid when wait_lsn_given */
	bool		wait_lsn_given; /* else: the server's WAL position at the call */
	int			wait_timeout_ms;	/* 0 = no limit */
	bool		wait_searchable;	/* also refresh the slot's indexes */
	bool		wait_options_given; /* one of the three was set */

	/* reindex (request.c) */
	bool		reindex_backfill;	/* --backfill: into the current index */
	bool		reindex_keep_old;	/* --keep-old: keep the old generation */

	/* observability */
	char	   *metrics_address;
	int			metrics_port;	/* 0 = off */
	LogFormat	log_format;
	LogLevel	log_level;
} Config;

/* --lanes when not given (chosen by measurement: README "Lanes") */
#define CFG_DEFAULT_LANES 4

extern void cfg_parse(Config *cfg, int argc, char **argv);
extern void cfg_free(Config *cfg);
extern bool cfg_versioning_off(const Config *cfg);
extern bool cfg_soft_deletes(const Config *cfg);

#endif							/* PG2ES_CFG_H */
