/*-------------------------------------------------------------------------
 *
 * item.c
 *		Writes the _bulk items of row changes (docs/design.md, "Bulk items
 *		the plugin emits") and computes document _ids.
 *
 * Unchanged TOASTed values: an UPDATE's new tuple holds an on-disk TOAST
 * pointer for a large value the statement did not touch, and decoding
 * cannot read it.  The value is then taken from the old tuple when that
 * has it (REPLICA IDENTITY FULL logs old values inline); otherwise the
 * change becomes a partial "update" of the columns present, because an
 * "index" without the column would wipe it in Elasticsearch.
 *
 * Versions after a partial update: every versioned item of a transaction
 * carries its commit LSN V, but a guarded partial update that applies
 * raises the document's internal version by one.  An "index" at V, then a
 * partial update (the document is now at V+1), then a "delete" at V of
 * the same document in the same transaction would be refused as older
 * (409), and a stale document would stay.  So the k-th partial update of
 * a document in a transaction (k from 0) is guarded by V+k, and its later
 * items carry V+k+1: each matches the internal version the document has
 * reached, and a replay of the whole transaction stays harmless.  Only
 * documents that had a partial update are counted.
 *
 * Soft deletes (delete-mode=soft): a row's removal, by a DELETE or a key
 * change, writes its document again instead of deleting it, at the same
 * version a delete would carry, holding what the old tuple has (every
 * column under REPLICA IDENTITY FULL, else the key columns), the
 * add-fields (__op "d") and "__deleted": true, as Debezium's
 * delete.handling.mode=rewrite records a delete.  A later insert of the
 * same key replaces it whole.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "utils/memutils.h"

#include "item.h"
#include "naming.h"

#define SHA256_ID_PREFIX "#sha256:"
#define SHA256_ID_PREFIX_LEN 8

static const char op_field[] = ",\"__op\":\"";
static const char deleted_field[] = ",\"__deleted\":true";

/*
 * A versioned partial update is a script that applies the present columns
 * only while the document is not newer than this change.  Elasticsearch
 * refuses "version" on updates, and an unguarded update replayed after a
 * crash would overwrite newer values and bump the internal version past
 * the next versioned item (which then fails with 409).  putAll replaces
 * top-level fields whole, as an "index" would (a "doc" merge would keep
 * stale keys of jsonb objects).
 */
static const char guarded_update_source[] =
"if (ctx._version > params.v) { ctx.op = 'noop' } "
"else { ctx._source.putAll(params.doc) }";

/* One document's count of versioned partial updates in a transaction. */
typedef struct PartialCount
{
	char	   *key;			/* "index/_id" in txn_cxt: the hash key */
	uint32		count;
} PartialCount;

static void append_version_suffix(StringInfo out, uint64 version);
static void append_guarded_head(StringInfo out, uint64 v);
static uint32 partial_key_hash(const void *key, Size keysize);
static int	partial_key_compare(const void *key1, const void *key2,
								Size keysize);
static uint32 partial_updates_of(ItemWriter *w, RelEntry *entry, StringInfo id,
								 bool count_one);
static void deform(RelEntry *entry, HeapTuple tuple, Datum *values,
				   bool *nulls);
static inline bool is_unchanged_toast(RelEntry *entry, Datum *values,
									  bool *nulls, int i);
static bool resolve_unchanged_toast(RelEntry *entry, bool have_old);
static bool build_id(ItemWriter *w, RelEntry *entry, Datum *values,
					 bool *nulls, StringInfo id);
static bool skip_unaddressable(RelEntry *entry, bool has_key);
static void warn_partial_key_change(RelEntry *entry);
static void append_action(ItemWriter *w, StringInfo out, RelEntry *entry,
						  const char *prefix, int len, StringInfo id,
						  bool versioned);
static bool is_key_column(RelEntry *entry, int i);
static void append_doc(ItemWriter *w, StringInfo out, RelEntry *entry,
					   Datum *values, bool *nulls, char op);
static void append_removal(ItemWriter *w, StringInfo out, RelEntry *entry);
static void append_index_item(ItemWriter *w, StringInfo out, RelEntry *entry,
							  char op, ItemResult *result);
static void append_partial_update(ItemWriter *w, StringInfo out,
								  RelEntry *entry);
static bool append_delete_item(ItemWriter *w, StringInfo out, RelEntry *entry,
							   ItemResult *result);
static char filter_update(RelEntry *entry, bool have_old);
static bool replace_prefix(StringInfo out, const char *line, int len,
						   const char *prefix, int plen,
						   const char *replacement, int rlen);

/*
 * Prepares w: its buffers live in cxt.  item_writer_begin must be called
 * before the first item.
 */
void
item_writer_init(ItemWriter *w, const Pg2esOptions *opts, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

	w->add_fields = opts->add_fields;
	w->versioning = opts->versioning;
	w->soft_delete = opts->soft_delete;
	w->versioned = false;
	w->version = 0;
	w->txn_cxt = AllocSetContextCreate(cxt, "pg2es partial updates",
									   ALLOCSET_SMALL_SIZES);
	w->partials = NULL;
	initStringInfo(&w->partial_key);
	initStringInfo(&w->version_suffix);
	initStringInfo(&w->guarded_head);
	initStringInfo(&w->txn_fields);
	initStringInfo(&w->id_new);
	initStringInfo(&w->id_old);
	initStringInfo(&w->id_part);
	MemoryContextSwitchTo(oldcxt);
}

/* Appends the end of a versioned action line, at version. */
static void
append_version_suffix(StringInfo out, uint64 version)
{
	appendStringInfo(out,
					 ",\"version\":" UINT64_FORMAT ",\"version_type\":\"external_gte\"}}\n",
					 version);
}

/* Appends a versioned partial update's body up to its doc, guarded by v. */
static void
append_guarded_head(StringInfo out, uint64 v)
{
	appendStringInfo(out,
					 "{\"script\":{\"lang\":\"painless\",\"source\":\"%s\","
					 "\"params\":{\"v\":" UINT64_FORMAT ",\"doc\":",
					 guarded_update_source, v);
}

/*
 * Renders what every item of a transaction shares: the version (the commit
 * LSN; have_version false for an unversioned SQL call) and the __lsn and
 * __ts_ms fields (null when unknown).  Forgets the previous transaction's
 * partial updates.
 */
void
item_writer_begin(ItemWriter *w, bool have_version, uint64 version,
				  bool have_time, TimestampTz commit_time)
{
	item_writer_end(w);
	w->versioned = w->versioning && have_version;
	w->version = version;
	resetStringInfo(&w->version_suffix);
	append_version_suffix(&w->version_suffix, version);
	resetStringInfo(&w->guarded_head);
	append_guarded_head(&w->guarded_head, version);

	resetStringInfo(&w->txn_fields);
	if ((w->add_fields & ADD_FIELD_LSN) && have_version)
		appendStringInfo(&w->txn_fields, ",\"__lsn\":\"%X/%X\"",
						 (uint32) (version >> 32), (uint32) version);
	else if (w->add_fields & ADD_FIELD_LSN)
		appendStringInfoString(&w->txn_fields, ",\"__lsn\":null");
	if ((w->add_fields & ADD_FIELD_COMMIT_TIME) && have_time)
		appendStringInfo(&w->txn_fields, ",\"__ts_ms\":" INT64_FORMAT,
						 commit_time / 1000 +
						 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
						 SECS_PER_DAY * 1000);
	else if (w->add_fields & ADD_FIELD_COMMIT_TIME)
		appendStringInfoString(&w->txn_fields, ",\"__ts_ms\":null");
}

/*
 * Ends a transaction: frees its counts of partial updates (kept only
 * while it lasts).
 */
void
item_writer_end(ItemWriter *w)
{
	if (w->partials == NULL)
		return;
	MemoryContextReset(w->txn_cxt);
	w->partials = NULL;
}

/* Hashes a PartialCount key: the text its pointer points to. */
static uint32
partial_key_hash(const void *key, Size keysize)
{
	const char *k = *(char *const *) key;

	return hash_bytes((const unsigned char *) k, strlen(k));
}

/* Compares two PartialCount keys by their texts (0 when equal). */
static int
partial_key_compare(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/*
 * The number of versioned partial updates this transaction has written
 * for document id of entry's index (0 for almost every row, at the cost
 * of a NULL test); with count_one, one more is counted after answering.
 * Index names cannot contain "/", so "index/_id" names one document.
 */
static uint32
partial_updates_of(ItemWriter *w, RelEntry *entry, StringInfo id,
				   bool count_one)
{
	char	   *key;
	PartialCount *pc;
	bool		found;
	uint32		count;

	if (w->partials == NULL && !count_one)
		return 0;
	if (w->partials == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(PartialCount);
		ctl.hash = partial_key_hash;
		ctl.match = partial_key_compare;
		ctl.hcxt = w->txn_cxt;
		w->partials = hash_create("pg2es partial updates", 64, &ctl,
								  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
								  HASH_CONTEXT);
	}
	resetStringInfo(&w->partial_key);
	appendStringInfo(&w->partial_key, "%s/", entry->index_name);
	appendBinaryStringInfo(&w->partial_key, id->data, id->len);
	key = w->partial_key.data;
	pc = hash_search(w->partials, &key,
					 count_one ? HASH_ENTER : HASH_FIND, &found);
	if (!found && !count_one)
		return 0;
	if (!found)
	{
		pc->key = MemoryContextStrdup(w->txn_cxt, key);
		pc->count = 0;
	}
	count = pc->count;
	if (count_one)
		pc->count++;
	return count;
}

/*
 * Deforms tuple into values/nulls (entry->desc->natts each).  Attributes
 * added after the row was written come from the descriptor's missing
 * values, as heap_getattr would give them.
 */
static void
deform(RelEntry *entry, HeapTuple tuple, Datum *values, bool *nulls)
{
	int			present = HeapTupleHeaderGetNatts(tuple->t_data);
	int			i;

	heap_deform_tuple(tuple, entry->desc, values, nulls);
	for (i = present; i < entry->desc->natts; i++)
		values[i] = heap_getattr(tuple, i + 1, entry->desc, &nulls[i]);
}

/* Whether column i holds an on-disk TOAST pointer decoding cannot read. */
static inline bool
is_unchanged_toast(RelEntry *entry, Datum *values, bool *nulls, int i)
{
	return entry->cols[i].varlena && !nulls[i] &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(values[i]));
}

/*
 * Replaces unreadable TOAST pointers in entry->values by the old tuple's
 * values where it has them.  Returns true when some remain (the change
 * must be a partial update).
 */
static bool
resolve_unchanged_toast(RelEntry *entry, bool have_old)
{
	bool		partial = false;
	int			i;

	for (i = 0; i < entry->desc->natts; i++)
	{
		if (!is_unchanged_toast(entry, entry->values, entry->nulls, i))
			continue;
		if (have_old && !entry->oldnulls[i] &&
			!is_unchanged_toast(entry, entry->oldvalues, entry->oldnulls, i))
			entry->values[i] = entry->oldvalues[i];
		else
			partial = true;
	}
	return partial;
}

/*
 * Computes the _id text (UTF-8, unescaped) of a row into id: one key
 * column's text as it is, several joined with "|" after doubling "\" and
 * writing "|" as "\|".  Empty, over-long or "#sha256:"-looking texts are
 * replaced by "#sha256:" + the hex SHA-256 of the text, so no short key
 * can equal a hashed one.  Returns false when a key value is missing
 * (NULL, or unreadable TOAST).
 */
static bool
build_id(ItemWriter *w, RelEntry *entry, Datum *values, bool *nulls,
		 StringInfo id)
{
	int			k;

	resetStringInfo(id);
	for (k = 0; k < entry->nkeys; k++)
	{
		int			i = entry->keys[k] - 1;
		const char *p;

		if (nulls[i] || is_unchanged_toast(entry, values, nulls, i))
			return false;
		if (entry->nkeys == 1)
		{
			encoder_append_id_text(id, values[i], &entry->cols[i].enc);
			break;
		}
		if (k > 0)
			appendStringInfoChar(id, '|');
		resetStringInfo(&w->id_part);
		encoder_append_id_text(&w->id_part, values[i], &entry->cols[i].enc);
		for (p = w->id_part.data; p < w->id_part.data + w->id_part.len; p++)
		{
			if (*p == '\\' || *p == '|')
				appendStringInfoChar(id, '\\');
			appendStringInfoChar(id, *p);
		}
	}

	if (id->len == 0 || id->len > ES_MAX_ID ||
		(id->len >= SHA256_ID_PREFIX_LEN &&
		 memcmp(id->data, SHA256_ID_PREFIX, SHA256_ID_PREFIX_LEN) == 0))
	{
		resetStringInfo(&w->id_part);
		appendBinaryStringInfo(&w->id_part, id->data, id->len);
		resetStringInfo(id);
		appendStringInfoString(id, SHA256_ID_PREFIX);
		naming_append_sha256_hex(id, w->id_part.data, w->id_part.len, 64);
	}
	return true;
}

/*
 * Says once per table and session why its changes are skipped: it has no
 * key (!has_key), or a change lacks a key value (each its own WARNING);
 * returns false for the caller to pass on.
 */
static bool
skip_unaddressable(RelEntry *entry, bool has_key)
{
	if (!has_key && relentry_warn_first(entry, REL_WARNED_NO_KEY))
		ereport(WARNING,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("table %s has no primary key, replica identity index or id-columns: its changes are skipped",
					   entry->qualified_name),
				errhint("Add a primary key, or name the key with option \"id-columns\" and set REPLICA IDENTITY FULL."));
	else if (has_key && relentry_warn_first(entry, REL_WARNED_KEY_MISSING))
		ereport(WARNING,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("a change of table %s lacks a key value and is skipped",
					   entry->qualified_name),
				errdetail("Key columns must not be NULL, and deletes and key changes need the old key in the WAL."),
				errhint("Set REPLICA IDENTITY FULL on the table when option \"id-columns\" names its key."));
	return false;
}

/*
 * Says once per table and session that a key change met unreadable TOAST:
 * the new _id has no document yet, so its partial update fails
 * (document_missing) unless the consumer rebuilds the document from the
 * old one, as the pg2es forwarder does (forwarder/move.h); only the full
 * old row image would let the plugin write it whole.
 */
static void
warn_partial_key_change(RelEntry *entry)
{
	if (!relentry_warn_first(entry, REL_WARNED_PARTIAL_KEY_CHANGE))
		return;
	ereport(WARNING,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("a key change in table %s keeps TOASTed values the WAL does not hold",
				   entry->qualified_name),
			errdetail("The new document gets only the columns present; the pg2es forwarder rebuilds it from the old document, other consumers cannot."),
			errhint("Set REPLICA IDENTITY FULL on the table to send it whole."));
}

/*
 * Appends an action line of entry's index: prefix, the _id, and the
 * version if asked (V, plus the document's partial updates so far).
 */
static void
append_action(ItemWriter *w, StringInfo out, RelEntry *entry,
			  const char *prefix, int len, StringInfo id, bool versioned)
{
	uint32		partials;

	appendBinaryStringInfo(out, prefix, len);
	json_append_utf8_string(out, id->data, id->len);
	if (!versioned)
		appendBinaryStringInfo(out, "}}\n", 3);
	else if ((partials = partial_updates_of(w, entry, id, false)) == 0)
		appendBinaryStringInfo(out, w->version_suffix.data,
							   w->version_suffix.len);
	else
		append_version_suffix(out, w->version + partials);
}

/* Whether column i (attnum - 1) is one of entry's _id columns. */
static bool
is_key_column(RelEntry *entry, int i)
{
	int			k;

	for (k = 0; k < entry->nkeys; k++)
		if (entry->keys[k] == i + 1)
			return true;
	return false;
}

/*
 * Appends the row as a JSON object (no newline): the included columns
 * that are readable, in document order, then the add-fields.  op is the
 * __op letter.  A removed row ('d', delete-mode=soft) has only the
 * columns its old tuple holds, and "__deleted": true last.
 */
static void
append_doc(ItemWriter *w, StringInfo out, RelEntry *entry, Datum *values,
		   bool *nulls, char op)
{
	int			skip = 1;		/* the leading comma of the first member */
	int			n;
	bool		key_only = op == 'd' && !entry->old_row_whole;

	appendStringInfoChar(out, '{');
	for (n = 0; n < entry->ncolumns; n++)
	{
		int			i = entry->columns[n];
		RelColumn  *col = &entry->cols[i];

		if (is_unchanged_toast(entry, values, nulls, i) ||
			(key_only && !is_key_column(entry, i)))
			continue;
		appendBinaryStringInfo(out, col->key + skip, col->keylen - skip);
		skip = 0;
		if (nulls[i])
			appendBinaryStringInfo(out, "null", 4);
		else
			encoder_append_json(out, values[i], &col->enc);
	}
	if (w->add_fields & ADD_FIELD_TABLE)
	{
		appendBinaryStringInfo(out, entry->table_field + skip,
							   entry->table_field_len - skip);
		skip = 0;
	}
	if (w->txn_fields.len > 0)
	{
		appendBinaryStringInfo(out, w->txn_fields.data + skip,
							   w->txn_fields.len - skip);
		skip = 0;
	}
	if (w->add_fields & ADD_FIELD_OP)
	{
		appendBinaryStringInfo(out, op_field + skip, sizeof(op_field) - 1 - skip);
		appendStringInfoChar(out, op);
		appendStringInfoChar(out, '"');
		skip = 0;
	}
	if (op == 'd')
		appendBinaryStringInfo(out, deleted_field + skip,
							   sizeof(deleted_field) - 1 - skip);
	appendStringInfoChar(out, '}');
}

/*
 * Writes the removal of the document w->id_old of the old row values:
 * its "delete", or under delete-mode=soft its "index" as a deleted row
 * (see the top of this file); at the version a delete would have.
 */
static void
append_removal(ItemWriter *w, StringInfo out, RelEntry *entry)
{
	if (!w->soft_delete)
	{
		append_action(w, out, entry, entry->delete_action,
					  entry->delete_action_len, &w->id_old, w->versioned);
		return;
	}
	append_action(w, out, entry, entry->index_action,
				  entry->index_action_len, &w->id_old, w->versioned);
	append_doc(w, out, entry, entry->oldvalues, entry->oldnulls, 'd');
	appendStringInfoChar(out, '\n');
}

/*
 * Writes the "index" item of entry->values (deformed, its _id in
 * w->id_new) with __op letter op.
 */
static void
append_index_item(ItemWriter *w, StringInfo out, RelEntry *entry, char op,
				  ItemResult *result)
{
	append_action(w, out, entry, entry->index_action,
				  entry->index_action_len, &w->id_new, w->versioned);
	append_doc(w, out, entry, entry->values, entry->nulls, op);
	appendStringInfoChar(out, '\n');
	result->nitems = 1;
	result->unversioned = false;
	result->missing_is_loss = false;
}

/*
 * Writes the "index" item of tuple (op: 'c' for an INSERT, under the
 * publications' insert filter; 'r' for the initial load, under their copy
 * filter).  Returns false, writing nothing, when the row cannot be
 * addressed or the filter rejects it.
 */
bool
item_write_insert(ItemWriter *w, StringInfo out, RelEntry *entry,
				  HeapTuple tuple, char op, ItemResult *result)
{
	if (entry->nkeys == 0)
		return skip_unaddressable(entry, false);
	deform(entry, tuple, entry->values, entry->nulls);
	if (!publication_row_matches(&entry->pub, op == 'r' ? PUB_FILTER_COPY :
								 PUB_FILTER_INSERT,
								 entry->values, entry->nulls))
		return false;
	if (!build_id(w, entry, entry->values, entry->nulls, &w->id_new))
		return skip_unaddressable(entry, true);
	append_index_item(w, out, entry, op, result);
	return true;
}

/*
 * Writes the "update" item of the present columns of entry->values: a
 * guarded script when versioned (see guarded_update_source; counted, and
 * guarded by V plus the document's earlier partial updates), a plain
 * "doc" merge otherwise.  Elasticsearch refuses versions on updates.
 */
static void
append_partial_update(ItemWriter *w, StringInfo out, RelEntry *entry)
{
	uint32		partials;

	append_action(w, out, entry, entry->update_action,
				  entry->update_action_len, &w->id_new, false);
	if (w->versioned &&
		(partials = partial_updates_of(w, entry, &w->id_new, true)) == 0)
		appendBinaryStringInfo(out, w->guarded_head.data,
							   w->guarded_head.len);
	else if (w->versioned)
		append_guarded_head(out, w->version + partials);
	else
		appendBinaryStringInfo(out, "{\"doc\":", 7);
	append_doc(w, out, entry, entry->values, entry->nulls, 'u');
	if (w->versioned)
		appendBinaryStringInfo(out, "}}}\n", 4);
	else
		appendBinaryStringInfo(out, "}\n", 2);
}

/*
 * Writes the removal (append_removal) of the old key in entry->oldvalues (deformed).
 * Returns false, writing nothing, when that key is missing.
 */
static bool
append_delete_item(ItemWriter *w, StringInfo out, RelEntry *entry,
				   ItemResult *result)
{
	if (!build_id(w, entry, entry->oldvalues, entry->oldnulls, &w->id_old))
		return skip_unaddressable(entry, true);
	append_removal(w, out, entry);
	result->nitems = 1;
	result->unversioned = false;
	result->missing_is_loss = false;
	return true;
}

/*
 * Applies the publications' update filter to an UPDATE (entry->values and,
 * with have_old, entry->oldvalues deformed), as pgoutput does: without the
 * old row only the new one is tested.  Returns what the change becomes:
 * 'u' an update, 'c' an index of the new row alone (the old row did not
 * match, so no document of it exists), 'd' a delete of the old row (the
 * new one does not match), 0 nothing.
 */
static char
filter_update(RelEntry *entry, bool have_old)
{
	bool		new_matches;
	bool		old_matches;

	if (entry->pub.filters[PUB_FILTER_UPDATE] == NULL)
		return 'u';
	new_matches = publication_row_matches(&entry->pub, PUB_FILTER_UPDATE,
										  entry->values, entry->nulls);
	old_matches = !have_old ? new_matches :
		publication_row_matches(&entry->pub, PUB_FILTER_UPDATE,
								entry->oldvalues, entry->oldnulls);
	if (new_matches)
		return old_matches ? 'u' : 'c';
	return old_matches ? 'd' : 0;
}

/*
 * Writes the items of an UPDATE: the removal of the old _id first when the
 * key changed (append_removal), then an "index" of the new row, or a partial "update" when
 * some unchanged TOASTed value cannot be read.  oldtuple may be NULL.  An
 * update the publications' filter turns into an insert or a delete
 * (filter_update) writes that.  Returns false, writing nothing, when the
 * row cannot be addressed or the filter rejects both rows.
 */
bool
item_write_update(ItemWriter *w, StringInfo out, RelEntry *entry,
				  HeapTuple newtuple, HeapTuple oldtuple, ItemResult *result)
{
	bool		partial;
	char		becomes;

	if (entry->nkeys == 0)
		return skip_unaddressable(entry, false);
	deform(entry, newtuple, entry->values, entry->nulls);
	if (oldtuple)
		deform(entry, oldtuple, entry->oldvalues, entry->oldnulls);
	partial = resolve_unchanged_toast(entry, oldtuple != NULL);
	if ((becomes = filter_update(entry, oldtuple != NULL)) == 0)
		return false;
	if (becomes == 'd')
		return append_delete_item(w, out, entry, result);
	if (!build_id(w, entry, entry->values, entry->nulls, &w->id_new))
		return skip_unaddressable(entry, true);

	result->nitems = 0;
	if (oldtuple && becomes == 'u' &&
		build_id(w, entry, entry->oldvalues, entry->oldnulls, &w->id_old) &&
		(w->id_old.len != w->id_new.len ||
		 memcmp(w->id_old.data, w->id_new.data, w->id_new.len) != 0))
	{
		append_removal(w, out, entry);
		result->nitems++;
	}

	if (partial && result->nitems > 0)
		warn_partial_key_change(entry);
	if (partial)
		append_partial_update(w, out, entry);
	else
	{
		append_action(w, out, entry, entry->index_action,
					  entry->index_action_len, &w->id_new, w->versioned);
		append_doc(w, out, entry, entry->values, entry->nulls, 'u');
		appendStringInfoChar(out, '\n');
	}
	/* Only then does a missing document mean lost columns. */
	result->missing_is_loss = partial && result->nitems > 0;
	result->nitems++;
	result->unversioned = partial;
	return true;
}

/*
 * Writes the removal (append_removal) of the old key in oldtuple (NULL
 * when the WAL has no old key, as under REPLICA IDENTITY NOTHING).  Returns false,
 * writing nothing, when the row cannot be addressed or the publications'
 * delete filter rejects it.
 */
bool
item_write_delete(ItemWriter *w, StringInfo out, RelEntry *entry,
				  HeapTuple oldtuple, ItemResult *result)
{
	if (entry->nkeys == 0)
		return skip_unaddressable(entry, false);
	if (oldtuple == NULL)
		return skip_unaddressable(entry, true);
	deform(entry, oldtuple, entry->oldvalues, entry->oldnulls);
	if (!publication_row_matches(&entry->pub, PUB_FILTER_DELETE,
								 entry->oldvalues, entry->oldnulls))
		return false;
	return append_delete_item(w, out, entry, result);
}

/*
 * The _id of tuple (UTF-8, in w's scratch space until the next call), or
 * NULL when the row cannot be addressed or the publications' copy filter
 * rejects it (it has no document).
 */
const char *
item_doc_id(ItemWriter *w, RelEntry *entry, HeapTuple tuple)
{
	if (entry->nkeys == 0)
	{
		skip_unaddressable(entry, false);
		return NULL;
	}
	deform(entry, tuple, entry->values, entry->nulls);
	if (!publication_row_matches(&entry->pub, PUB_FILTER_COPY,
								 entry->values, entry->nulls))
		return NULL;
	if (!build_id(w, entry, entry->values, entry->nulls, &w->id_new))
	{
		skip_unaddressable(entry, true);
		return NULL;
	}
	return w->id_new.data;
}

/*
 * Appends tuple's document (the JSON object alone, no newline).  Returns
 * false, appending nothing, when the publications' copy filter rejects
 * the row.
 */
bool
item_append_source(ItemWriter *w, StringInfo out, RelEntry *entry,
				   HeapTuple tuple, char op)
{
	deform(entry, tuple, entry->values, entry->nulls);
	if (!publication_row_matches(&entry->pub, PUB_FILTER_COPY,
								 entry->values, entry->nulls))
		return false;
	append_doc(w, out, entry, entry->values, entry->nulls, op);
	return true;
}

/*
 * Whether line[0..len) starts with prefix[0..plen); if so, appends
 * replacement and the rest of the line to out.
 */
static bool
replace_prefix(StringInfo out, const char *line, int len, const char *prefix,
			   int plen, const char *replacement, int rlen)
{
	if (len < plen || memcmp(line, prefix, plen) != 0)
		return false;
	appendBinaryStringInfo(out, replacement, rlen);
	appendBinaryStringInfo(out, line + plen, len - plen);
	return true;
}

/*
 * Appends to out the items of ndjson[0..len), as item_write_* wrote them
 * for entry's index, again for entry->dual's index: each action line's
 * prefix replaced, the rest (_id, version, document) byte for byte.  A
 * delete item is one line, any other an action line and its source line,
 * which is never taken for an action line whatever it holds.
 */
void
item_append_retargeted(StringInfo out, const RelEntry *entry,
					   const char *ndjson, int len)
{
	const ActionPrefixes *to = &entry->dual->prefixes;
	int			pos = 0;

	while (pos < len)
	{
		const char *line = ndjson + pos;
		const char *nl = memchr(line, '\n', len - pos);
		int			linelen = nl ? (int) (nl - line) + 1 : len - pos;
		bool		single = false;

		if (replace_prefix(out, line, linelen, entry->delete_action,
						   entry->delete_action_len, to->delete_action,
						   to->delete_action_len))
			single = true;
		else if (!replace_prefix(out, line, linelen, entry->index_action,
								 entry->index_action_len, to->index_action,
								 to->index_action_len) &&
				 !replace_prefix(out, line, linelen, entry->update_action,
								 entry->update_action_len, to->update_action,
								 to->update_action_len))
			elog(ERROR, "bulk item of %s does not start with an action line",
				 entry->qualified_name);
		pos += linelen;
		if (single || pos >= len)
			continue;
		line = ndjson + pos;
		nl = memchr(line, '\n', len - pos);
		linelen = nl ? (int) (nl - line) + 1 : len - pos;
		appendBinaryStringInfo(out, line, linelen);
		pos += linelen;
	}
}
