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
#include "publication.h"

/* One attribute of the table, by attnum - 1. */
typedef struct RelColumn
{
	bool		included;		/* in documents: not dropped, not excluded */
	bool		varlena;		/* may hold an on-disk TOAST pointer */
	char	   *key;			/* ,"name": with the name JSON-escaped */
	int			keylen;
	ValueEncoder enc;			/* set only when included or a key column */
} RelColumn;

/*
 * The action-line prefixes of one index: {"index":{"_index":"IDX","_id":
 * and the like.
 */
typedef struct ActionPrefixes
{
	char	   *index_action;
	int			index_action_len;
	char	   *delete_action;
	int			delete_action_len;
	char	   *update_action;
	int			update_action_len;
} ActionPrefixes;

/*
 * The second index of a table whose reindex is copying or switching
 * (pg2es.requests): every item goes there too.
 */
typedef struct DualTarget
{
	char	   *index_name;
	ActionPrefixes prefixes;
} DualTarget;

typedef struct RelEntry
{
	Oid			relid;			/* hash key: the relation changes come for */
	bool		valid;			/* false once an invalidation hit it */
	uint32		warned;			/* RelWarning bits of the WARNINGs given (kept
								 * across rebuilds: once per table per
								 * session) */
	bool		announced;		/* framed: RELATION frame written since the
								 * entry was last built */
	bool		covered;		/* the options cover the table */
	bool		is_requests;	/* the table is pg2es.requests */
	MemoryContext cxt;			/* everything below lives here */

	PubRelInfo	pub;			/* what option "publications" says */

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
	DualTarget *dual;			/* NULL unless a reindex is under way */

	TupleDesc	desc;			/* copy of the table's, with missing values */
	RelColumn  *cols;			/* desc->natts of them */
	int			ncolumns;		/* document columns, in document order: */
	int		   *columns;		/* indexes into cols (attnum - 1) */
	int			nkeys;			/* 0: rows cannot be addressed */
	AttrNumber *keys;			/* _id columns (attnums), in _id order */
	bool		old_row_whole;	/* REPLICA IDENTITY FULL: an old tuple holds
								 * every column, not only the key */
	List	   *row_types;		/* relids of the composite types the encoders
								 * go through, at any depth */
	List	   *type_hashes;	/* TYPEOID syscache hash values of every type
								 * the encoders go through */

	/* Scratch space for deformed tuples, desc->natts each. */
	Datum	   *values;
	bool	   *nulls;
	Datum	   *oldvalues;
	bool	   *oldnulls;
} RelEntry;

/*
 * The WARNINGs given at most once per table and decoding session, each on
 * its own so that none silences another.
 */
typedef enum RelWarning
{
	REL_WARNED_NO_KEY = 1 << 0, /* no key: every change is skipped */
	REL_WARNED_KEY_MISSING = 1 << 1,	/* a change lacks a key value */
	REL_WARNED_KEYS_NOT_IN_IDENTITY = 1 << 2,	/* old keys not in the WAL */
	REL_WARNED_PARTIAL_KEY_CHANGE = 1 << 3, /* key change with unread TOAST */
	REL_WARNED_PARTITION_TRUNCATE = 1 << 4	/* a partition truncated alone */
} RelWarning;

/*
 * Whether WARNING warning is yet to be given for entry's table: true the
 * first time only.
 */
static inline bool
relentry_warn_first(RelEntry *entry, RelWarning warning)
{
	if (entry->warned & warning)
		return false;
	entry->warned |= warning;
	return true;
}

typedef struct RelCache RelCache;

struct SnapBuild;

extern RelCache *relcache_create(MemoryContext parent,
								 const Pg2esOptions *opts);
extern void relcache_destroy(RelCache *cache);
extern RelEntry *relcache_lookup(RelCache *cache, Oid relid);
extern RelEntry *relcache_entry_for(RelCache *cache, Relation rel);
extern uint64 relcache_publication_changes(RelCache *cache);
extern List *relcache_covered_tables(RelCache *cache);
extern void relcache_follow_requests(RelCache *cache, const char *slot_name,
									 struct SnapBuild *builder);
extern char *relcache_index_name(RelCache *cache, Oid relid);
extern void relcache_invalidate_index_of(RelCache *cache, Oid relid);
extern void relcache_invalidate_all(RelCache *cache);

#endif							/* PG2ES_RELCACHE_H */
