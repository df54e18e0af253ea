/*-------------------------------------------------------------------------
 *
 * options.h
 *		The plugin options (docs/design.md, "Plugin options"), parsed once
 *		for the output plugin and for the extension's SQL functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_OPTIONS_H
#define PG2ES_OPTIONS_H

#include "nodes/pg_list.h"

/* Fields add-fields can add to every document. */
#define ADD_FIELD_TABLE			0x01	/* "__table": "schema.table" */
#define ADD_FIELD_LSN			0x02	/* "__lsn": commit LSN as X/X */
#define ADD_FIELD_COMMIT_TIME	0x04	/* "__ts_ms": commit time in ms */
#define ADD_FIELD_OP			0x08	/* "__op": c, u or r */

/*
 * One part of a name pattern.  An unquoted part may hold "*" wildcards; a
 * part written in SQL double quotes is matched literally.
 */
typedef struct NamePattern
{
	char	   *text;
	bool		quoted;
} NamePattern;

typedef struct TablePattern
{
	NamePattern schema;
	NamePattern table;
} TablePattern;

typedef struct ColumnPattern
{
	TablePattern table;
	NamePattern column;
} ColumnPattern;

/*
 * index-names: tables matching the pattern go to index.  This and
 * IdColumnsOverride begin with their TablePattern, so that a list of them
 * is searched like a list of patterns (options.c, first_table_match).
 */
typedef struct IndexOverride
{
	TablePattern table;
	char	   *index;
} IndexOverride;

/* id-columns: tables matching the pattern take their _id from columns. */
typedef struct IdColumnsOverride
{
	TablePattern table;
	List	   *columns;		/* column names (char *), in _id order */
} IdColumnsOverride;

typedef struct Pg2esOptions
{
	List	   *include_tables; /* TablePattern *; NIL = every table */
	List	   *exclude_tables; /* TablePattern * */
	List	   *exclude_columns;	/* ColumnPattern * */
	char	   *index_prefix;	/* lower case, validated; "" when unset */
	List	   *index_names;	/* IndexOverride * */
	List	   *id_columns;		/* IdColumnsOverride * */
	int			add_fields;		/* ADD_FIELD_* bits */
	bool		versioning;
	bool		partition_leaf; /* index per partition, not per root */
	bool		framed;			/* framing=msgpack */
	List	   *publications;	/* publication names (char *); NIL: none */
	bool		soft_delete;	/* delete-mode=soft: "__deleted": true */
} Pg2esOptions;

extern void options_parse(Pg2esOptions *opts, List *defels);
extern bool options_table_covered(const Pg2esOptions *opts,
								  const char *schema, const char *table);
extern bool options_column_excluded(const Pg2esOptions *opts,
									const char *schema, const char *table,
									const char *column);
extern const char *options_index_override(const Pg2esOptions *opts,
										  const char *schema,
										  const char *table);
extern List *options_id_columns(const Pg2esOptions *opts,
								const char *schema, const char *table);

#endif							/* PG2ES_OPTIONS_H */
