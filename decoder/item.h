/*-------------------------------------------------------------------------
 *
 * item.h
 *		Elasticsearch _bulk items for rows: index, delete, partial update.
 *
 * Every item written here ends each of its lines with "\n"; plain mode
 * drops the last one (pg_recvlogical adds it back).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_ITEM_H
#define PG2ES_ITEM_H

#include "access/htup.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "options.h"
#include "relcache.h"

/*
 * What stays the same for every item of one transaction (or one SQL call),
 * rendered once, plus scratch buffers for _id texts, and the count of
 * versioned partial updates per document (see item.c).
 */
typedef struct ItemWriter
{
	int			add_fields;		/* ADD_FIELD_* bits */
	bool		versioning;		/* the versioning option */
	bool		soft_delete;	/* delete-mode=soft */
	bool		versioned;		/* this transaction's items carry version */
	uint64		version;		/* their version V */
	MemoryContext txn_cxt;		/* partials and its keys, reset per txn */
	HTAB	   *partials;		/* "index/_id" -> count, NULL while none */
	StringInfoData partial_key; /* scratch: the key looked up */
	StringInfoData version_suffix;	/* end of a versioned action line */
	StringInfoData guarded_head;	/* versioned partial update, up to doc */
	StringInfoData txn_fields;	/* ,"__lsn":...,"__ts_ms":... as asked */
	StringInfoData id_new;
	StringInfoData id_old;
	StringInfoData id_part;
} ItemWriter;

/* What a change turned into. */
typedef struct ItemResult
{
	int			nitems;			/* bulk items written (1 or 2) */
	bool		unversioned;	/* a partial update: cannot carry version */
	bool		missing_is_loss;	/* a partial update of a moved key */
} ItemResult;

extern void item_writer_init(ItemWriter *w, const Pg2esOptions *opts,
							 MemoryContext cxt);
extern void item_writer_begin(ItemWriter *w, bool have_version,
							  uint64 version, bool have_time,
							  TimestampTz commit_time);
extern void item_writer_end(ItemWriter *w);
extern bool item_write_insert(ItemWriter *w, StringInfo out, RelEntry *entry,
							  HeapTuple tuple, char op, ItemResult *result);
extern bool item_write_update(ItemWriter *w, StringInfo out, RelEntry *entry,
							  HeapTuple newtuple, HeapTuple oldtuple,
							  ItemResult *result);
extern bool item_write_delete(ItemWriter *w, StringInfo out, RelEntry *entry,
							  HeapTuple oldtuple, ItemResult *result);
extern const char *item_doc_id(ItemWriter *w, RelEntry *entry,
							   HeapTuple tuple);
extern void item_append_retargeted(StringInfo out, const RelEntry *entry,
								   const char *ndjson, int len);
extern bool item_append_source(ItemWriter *w, StringInfo out,
							   RelEntry *entry, HeapTuple tuple, char op);

#endif							/* PG2ES_ITEM_H */
