/*-------------------------------------------------------------------------
 *
 * relcache.h
 *		Everything the decoder needs per table, computed once per table and
 *		kept until an invalidation says the table (or a type, or a schema)
 *		changed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_RELCACHE_H
#define PG2ES_RELCACHE_H

#include "access/tupdesc.h"
#include "utils/rel.h"

#include "encode.h"
#include "options.h"

/* One attribute of the table, by attnum - 1. */
typedef struct RelColumn
{
	bool		included;		/* in documents: not dropped, not excluded */
	bool		varlena;		/* may hold an on-disk TOAST pointer */
	char	   *key;			/* ,"name": with the name JSON-escaped */
	int			keylen;
	ValueEncoder enc;			/* set only when included or a key column */
} RelColumn;

typedef struct RelEntry
{
	Oid			relid;			/* hash key: the relation changes come for */
	bool		valid;			/* false once an invalidation hit it */
	bool		warned;			/* the "cannot address rows" WARNING was
								 * given (kept across rebuilds: once per
								 * table per session) */
	bool		announced;		/* framed: RELATION frame written since the
								 * entry was last built */
	bool		covered;		/* the options cover the table */
	MemoryContext cxt;			/* everything below lives here */

	Oid			index_relid;	/* relation naming the index: the partition
								 * root, or relid itself */
	Oid			reltype;		/* the table's row type */
	char	   *qualified_name; /* quoted schema.table, for messages */
	char	   *index_name;		/* raw, for RELATION and TRUNCATE frames */
	char	   *index_action;	/* {"index":{"_index":"IDX","_id": */
	int			index_action_len;
	char	   *delete_action;	/* {"delete":{"_index":"IDX","_id": */
	int			delete_action_len;
	char	   *update_action;	/* {"update":{"_index":"IDX","_id": */
	int			update_action_len;
	char	   *table_field;	/* ,"__table":"schema.table" */
	int			table_field_len;

	TupleDesc	desc;			/* copy of the table's, with missing values */
	RelColumn  *cols;			/* desc->natts of them */
	int			ncolumns;		/* document columns, in document order: */
	int		   *columns;		/* indexes into cols (attnum - 1) */
	int			nkeys;			/* 0: rows cannot be addressed */
	AttrNumber *keys;			/* _id columns (attnums), in _id order */
	bool		old_row_whole;	/* REPLICA IDENTITY FULL: an old tuple holds
								 * every column, not only the key */
	List	   *row_types;		/* relids of the composite types the
								 * encoders go through, at any depth */
	List	   *type_hashes;	/* TYPEOID syscache hash values of every
								 * type the encoders go through */

	/* Scratch space for deformed tuples, desc->natts each. */
	Datum	   *values;
	bool	   *nulls;
	Datum	   *oldvalues;
	bool	   *oldnulls;
} RelEntry;

typedef struct RelCache RelCache;

extern RelCache *relcache_create(MemoryContext parent,
								 const Pg2esOptions *opts);
extern void relcache_destroy(RelCache *cache);
extern RelEntry *relcache_lookup(RelCache *cache, Oid relid);
extern RelEntry *relcache_entry_for(RelCache *cache, Relation rel);

#endif							/* PG2ES_RELCACHE_H */
