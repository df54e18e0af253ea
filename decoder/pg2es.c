/*-------------------------------------------------------------------------
 *
 * pg2es.c
 *		The pg2es logical decoding output plugin: committed changes as
 *		Elasticsearch _bulk items.
 *
 * Plain mode writes one message per change, holding its bulk lines
 * without the final newline (pg_recvlogical adds one per message, so its
 * output is exact NDJSON).  BEGIN and COMMIT write nothing, so a
 * transaction that touches no covered table writes nothing at all.
 *
 * Framed mode (framing=msgpack) gathers the frames of a transaction and
 * writes them in messages of about 64 kB, the last one from the commit
 * callback ending with the COMMIT frame: that message's LSN is then the
 * end of the commit record, which is what the forwarder confirms.  Fewer,
 * larger messages cost the walsender much less than one per change.  A
 * change larger than FRAME_PIECE_BYTES is split over messages of that size
 * (write_split_change).
 *
 * Either way, transactions that produce nothing still report progress, so
 * that the walsender answers keepalives and the slot moves on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "compat.h"
#include "framing.h"
#include "item.h"
#include "options.h"
#include "publication.h"
#include "relcache.h"
#include "requests.h"

PG_MODULE_MAGIC;

/* Before 16, progress is reported every this many skipped changes. */
#define SKIPPED_CHANGES_PER_PROGRESS 100

typedef struct DecodeState
{
	Pg2esOptions opts;
	RelCache   *cache;
	ItemWriter	writer;
	MemoryContext change_cxt;	/* reset after every change */
	StringInfoData frames;		/* framed: frames not yet written */
	StringInfoData change;		/* framed: NDJSON of the current change */
	StringInfoData dual;		/* the same for the second index of a reindex
								 * under way */
	char	   *slot_name;		/* the slot decoded, whose requests count */
	bool		txn_written;	/* this transaction produced output */
	int			skipped_changes;	/* since progress was last reported */
	bool		covered_known;	/* framed, with publications: covered is set
								 * (from the first BEGIN on) */
	List	   *covered;		/* relids of the covered tables, in
								 * covered_cxt */
	uint64		publication_changes;	/* the cache's count when covered was
										 * read */
	MemoryContext covered_cxt;
} DecodeState;

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

static void check_publications(List *names);
static void pg2es_decode_startup(LogicalDecodingContext *ctx,
								 OutputPluginOptions *opt, bool is_init);
static void pg2es_decode_shutdown(LogicalDecodingContext *ctx);
static void read_covered(DecodeState *state);
static bool write_newly_covered(DecodeState *state);
static void pg2es_decode_begin(LogicalDecodingContext *ctx,
							   ReorderBufferTXN *txn);
static void flush_frames(LogicalDecodingContext *ctx, DecodeState *state);
static void write_split_change(LogicalDecodingContext *ctx, DecodeState *state,
							   int flags, int nitems, const char *ndjson,
							   int len);
static void write_change_frame(LogicalDecodingContext *ctx, DecodeState *state,
							   int flags, int nitems, const char *ndjson,
							   int len);
static bool write_change_items(DecodeState *state, StringInfo out,
							   RelEntry *entry, ReorderBufferChange *change,
							   ItemResult *result);
static void note_skipped_change(LogicalDecodingContext *ctx,
								DecodeState *state);
static void end_change(LogicalDecodingContext *ctx, DecodeState *state,
					   MemoryContext oldcxt, bool written);
static bool write_plain_change(LogicalDecodingContext *ctx, DecodeState *state,
							   RelEntry *entry, ReorderBufferChange *change);
static bool write_framed_change(LogicalDecodingContext *ctx,
								DecodeState *state, RelEntry *entry,
								ReorderBufferChange *change);
static bool write_request_change(LogicalDecodingContext *ctx,
								 DecodeState *state, Relation rel,
								 ReorderBufferChange *change);
static bool write_row_change(LogicalDecodingContext *ctx, DecodeState *state,
							 Relation rel, ReorderBufferChange *change);
static void pg2es_decode_change(LogicalDecodingContext *ctx,
								ReorderBufferTXN *txn, Relation rel,
								ReorderBufferChange *change);
static bool all_partitions_truncated(Oid rootid, int nrelations,
									 Relation relations[]);
static List *append_unique_name(List *names, char *name);
static void warn_partition_truncate(RelEntry *entry, Relation rel);
static bool write_truncate(DecodeState *state, ReorderBufferTXN *txn,
						   int nrelations, Relation relations[]);
static void note_requests_truncated(DecodeState *state, int nrelations,
									Relation relations[]);
static void pg2es_decode_truncate(LogicalDecodingContext *ctx,
								  ReorderBufferTXN *txn, int nrelations,
								  Relation relations[],
								  ReorderBufferChange *change);
static void pg2es_decode_commit(LogicalDecodingContext *ctx,
								ReorderBufferTXN *txn, XLogRecPtr commit_lsn);

/*
 * Checks at startup that the publications exist, with the catalog as it is
 * now, so that a misspelt name stops the start rather than a later
 * change.  The SQL interface calls this inside a transaction; the
 * walsender does not, and then one is started for the lookup.  (At a point
 * of the stream before its CREATE PUBLICATION, a publication simply
 * publishes nothing: see publication_load.)
 */
static void
check_publications(List *names)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (IsTransactionState())
	{
		publication_check_exist(names);
		return;
	}
	StartTransactionCommand();
	publication_check_exist(names);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/*
 * Startup: parse the options (ERROR on a bad one) and set up the contexts,
 * all under ctx->context.  At slot creation (is_init) there are no options
 * and the defaults apply.
 */
static void
pg2es_decode_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
					 bool is_init)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(ctx->context);
	DecodeState *state = palloc0(sizeof(DecodeState));

	options_parse(&state->opts, ctx->output_plugin_options);
	if (state->opts.publications != NIL && !is_init)
		check_publications(state->opts.publications);
	state->cache = relcache_create(ctx->context, &state->opts);
	state->covered_cxt = AllocSetContextCreate(ctx->context, "pg2es covered",
											   ALLOCSET_SMALL_SIZES);
	item_writer_init(&state->writer, &state->opts, ctx->context);
	state->change_cxt = AllocSetContextCreate(ctx->context, "pg2es change",
											  ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&state->frames);
	initStringInfo(&state->change);
	initStringInfo(&state->dual);
	state->slot_name = pstrdup(NameStr(ctx->slot->data.name));
	if (!is_init)
		relcache_follow_requests(state->cache, state->slot_name,
								 ctx->snapshot_builder);
	MemoryContextSwitchTo(oldcxt);

	opt->output_type = state->opts.framed ? OUTPUT_PLUGIN_BINARY_OUTPUT :
		OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;
	ctx->output_plugin_private = state;
}

/* Shutdown: drop the relation cache now rather than with the context. */
static void
pg2es_decode_shutdown(LogicalDecodingContext *ctx)
{
	DecodeState *state = ctx->output_plugin_private;

	relcache_destroy(state->cache);
	state->cache = NULL;
}

/*
 * Reads the covered tables into state->covered, as the decoding snapshot
 * shows them.  At a BEGIN the transaction's own catalog changes are not
 * visible yet; at its COMMIT they are.
 */
static void
read_covered(DecodeState *state)
{
	MemoryContext oldcxt;

	state->publication_changes = relcache_publication_changes(state->cache);
	MemoryContextReset(state->covered_cxt);
	state->covered = NIL;
	oldcxt = MemoryContextSwitchTo(state->covered_cxt);
	state->covered = relcache_covered_tables(state->cache);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Framed, with publications: writes a COVERED frame for each table that a
 * publication change in this transaction made covered, so that the
 * forwarder copies its existing rows; returns whether there was one.  The
 * tables are compared only when a publication callback ran since they
 * were last read (the transaction's own invalidations run before its
 * COMMIT callback, on every major).
 */
static bool
write_newly_covered(DecodeState *state)
{
	List	   *before;
	ListCell   *lc;
	bool		written = false;

	if (!state->covered_known || state->publication_changes ==
		relcache_publication_changes(state->cache))
		return false;
	before = list_copy(state->covered);
	read_covered(state);
	foreach(lc, state->covered)
	{
		Oid			relid = lfirst_oid(lc);
		Relation	rel;
		RelEntry   *entry;

		if (list_member_oid(before, relid))
			continue;
		rel = RelationIdGetRelation(relid);
		if (!RelationIsValid(rel))
			elog(ERROR, "could not open relation with OID %u", relid);
		entry = relcache_entry_for(state->cache, rel);
		framing_covered(&state->frames, relid, entry->index_name,
						entry->qualified_name);
		RelationClose(rel);
		written = true;
	}
	list_free(before);
	return written;
}

/*
 * BEGIN writes nothing; it renders what the transaction's items share.
 * The commit LSN is known here, since decoding starts at commit.
 */
static void
pg2es_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	DecodeState *state = ctx->output_plugin_private;

	item_writer_begin(&state->writer, true, txn->final_lsn, true,
					  PG2ES_TXN_COMMIT_TIME(txn));
	state->txn_written = false;
	resetStringInfo(&state->frames);
	if (state->opts.framed && state->opts.publications != NIL &&
		!state->covered_known)
	{
		read_covered(state);
		state->covered_known = true;
	}
}

/* Writes the gathered frames as one message. */
static void
flush_frames(LogicalDecodingContext *ctx, DecodeState *state)
{
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, state->frames.data, state->frames.len);
	OutputPluginWrite(ctx, true);
	resetStringInfo(&state->frames);
}

/*
 * Writes a change larger than FRAME_PIECE_BYTES in pieces: the pending
 * frames, then its CHANGE header flagged FRAME_FLAG_CONTINUED and its
 * first NDJSON bytes, up to FRAME_PIECE_BYTES in all, as one message; then
 * the rest of its NDJSON in messages of at most FRAME_PIECE_BYTES holding
 * nothing else.  The forwarder puts the pieces together in the block that
 * becomes the item's request body, so it holds the item's bytes once,
 * where one message would have cost it that message in libpq's receive
 * buffer too.  The pieces are written from ndjson directly, not copied
 * into the pending frames first.
 */
static void
write_split_change(LogicalDecodingContext *ctx, DecodeState *state,
				   int flags, int nitems, const char *ndjson, int len)
{
	const char *next = ndjson;
	int			left = len;
	int			n;

	framing_change_header(&state->frames, flags | FRAME_FLAG_CONTINUED,
						  nitems, left);
	n = Min(left, Max(FRAME_PIECE_BYTES - state->frames.len, 0));
	appendBinaryStringInfo(&state->frames, next, n);
	flush_frames(ctx, state);
	for (next += n, left -= n; left > 0; next += n, left -= n)
	{
		n = Min(left, FRAME_PIECE_BYTES);
		OutputPluginPrepareWrite(ctx, true);
		appendBinaryStringInfo(ctx->out, next, n);
		OutputPluginWrite(ctx, true);
	}
}

/*
 * Gathers a CHANGE frame for the len bytes of ndjson, written at once
 * when the pending frames reach FRAME_MESSAGE_TARGET, or split over
 * messages when ndjson is larger than FRAME_PIECE_BYTES.
 */
static void
write_change_frame(LogicalDecodingContext *ctx, DecodeState *state,
				   int flags, int nitems, const char *ndjson, int len)
{
	if (len > FRAME_PIECE_BYTES)
	{
		write_split_change(ctx, state, flags, nitems, ndjson, len);
		return;
	}
	framing_change(&state->frames, flags, nitems, ndjson, len);
	if (state->frames.len >= FRAME_MESSAGE_TARGET)
		flush_frames(ctx, state);
}

/*
 * Writes the items of one change to out.  Returns false when the change
 * produced nothing (the row cannot be addressed).
 */
static bool
write_change_items(DecodeState *state, StringInfo out, RelEntry *entry,
				   ReorderBufferChange *change, ItemResult *result)
{
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			return item_write_insert(&state->writer, out, entry,
									 PG2ES_CHANGE_NEWTUPLE(change), 'c',
									 result);
		case REORDER_BUFFER_CHANGE_UPDATE:
			return item_write_update(&state->writer, out, entry,
									 PG2ES_CHANGE_NEWTUPLE(change),
									 PG2ES_CHANGE_OLDTUPLE(change), result);
		case REORDER_BUFFER_CHANGE_DELETE:
			return item_write_delete(&state->writer, out, entry,
									 PG2ES_CHANGE_OLDTUPLE(change), result);
		default:
			elog(ERROR, "unexpected change action %d", (int) change->action);
	}
	pg_unreachable();
}

/* Reports progress now and then while changes are being skipped. */
static void
note_skipped_change(LogicalDecodingContext *ctx, DecodeState *state)
{
	if (PG2ES_PROGRESS_IN_CHANGES &&
		++state->skipped_changes >= SKIPPED_CHANGES_PER_PROGRESS)
	{
		PG2ES_UPDATE_PROGRESS(ctx, false);
		state->skipped_changes = 0;
	}
}

/*
 * Ends a change callback: a change that produced output marks the
 * transaction written, any other counts towards a progress report; then
 * back to oldcxt, freeing what the change allocated in the per-change
 * context.
 */
static void
end_change(LogicalDecodingContext *ctx, DecodeState *state,
		   MemoryContext oldcxt, bool written)
{
	if (written)
		state->txn_written = true;
	else
		note_skipped_change(ctx, state);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * Plain mode: writes the items of a row change straight into ctx->out,
 * then, for a reindex under way, the same items for its second index in
 * the same message.  Returns whether it produced output: a prepared write
 * that is not followed by OutputPluginWrite (a skipped row) is simply
 * discarded by the next one.
 */
static bool
write_plain_change(LogicalDecodingContext *ctx, DecodeState *state,
				   RelEntry *entry, ReorderBufferChange *change)
{
	ItemResult	result;
	int			start;

	OutputPluginPrepareWrite(ctx, true);
	start = ctx->out->len;
	if (!write_change_items(state, ctx->out, entry, change, &result))
		return false;
	if (entry->dual != NULL)
	{
		resetStringInfo(&state->dual);
		appendBinaryStringInfo(&state->dual, ctx->out->data + start,
							   ctx->out->len - start);
		item_append_retargeted(ctx->out, entry, state->dual.data,
							   state->dual.len);
	}
	/* The message does not end with a newline. */
	ctx->out->data[--ctx->out->len] = '\0';
	OutputPluginWrite(ctx, true);
	return true;
}

/*
 * Framed mode: gathers the CHANGE frame of a row change (after the
 * RELATION frame, the first time), and for a reindex under way a second
 * CHANGE frame, same flags, with the same items for its second index.
 * Returns whether it produced output.
 */
static bool
write_framed_change(LogicalDecodingContext *ctx, DecodeState *state,
					RelEntry *entry, ReorderBufferChange *change)
{
	ItemResult	result;
	int			flags;

	resetStringInfo(&state->change);
	if (!write_change_items(state, &state->change, entry, change, &result))
		return false;
	if (!entry->announced)
	{
		framing_relation(&state->frames, entry->relid, entry->index_name);
		entry->announced = true;
	}
	flags = (result.unversioned ? FRAME_FLAG_UNVERSIONED : 0) |
		(result.missing_is_loss ? FRAME_FLAG_MISSING_IS_LOSS : 0);
	write_change_frame(ctx, state, flags, result.nitems, state->change.data,
					   state->change.len);
	if (entry->dual != NULL)
	{
		resetStringInfo(&state->dual);
		item_append_retargeted(&state->dual, entry, state->change.data,
							   state->change.len);
		write_change_frame(ctx, state, flags, result.nitems,
						   state->dual.data, state->dual.len);
	}
	return true;
}

/*
 * A change of pg2es.requests: the entries whose dual writes it may start
 * or end are rebuilt at their next change (a delete, whose old row may
 * hold only the key, rebuilds them all), and in framed mode an INSERT or
 * UPDATE of a row of this slot gives a REQUEST frame.  Returns whether it
 * produced output.
 */
static bool
write_request_change(LogicalDecodingContext *ctx, DecodeState *state,
					 Relation rel, ReorderBufferChange *change)
{
	HeapTuple	tuple = PG2ES_CHANGE_NEWTUPLE(change);
	RequestRow	row;

	if (change->action == REORDER_BUFFER_CHANGE_DELETE || tuple == NULL)
	{
		relcache_invalidate_all(state->cache);
		return false;
	}
	if (!requests_read_change(rel, tuple, &row) ||
		strcmp(row.slot_name, state->slot_name) != 0)
		return false;
	relcache_invalidate_index_of(state->cache, row.relid);
	if (!state->opts.framed)
		return false;
	framing_request(&state->frames, row.id, row.kind, row.relid, row.state,
					row.target_index, row.keep_old,
					relcache_index_name(state->cache, row.relid));
	if (state->frames.len >= FRAME_MESSAGE_TARGET)
		flush_frames(ctx, state);
	return true;
}

/*
 * Writes a row change; returns whether it produced output.  The tables of
 * schema pg2es are never covered; pg2es.requests is read instead.
 */
static bool
write_row_change(LogicalDecodingContext *ctx, DecodeState *state,
				 Relation rel, ReorderBufferChange *change)
{
	RelEntry   *entry = relcache_entry_for(state->cache, rel);

	if (!entry->covered)
		return entry->is_requests &&
			write_request_change(ctx, state, rel, change);
	if (!publication_action_published(&entry->pub, change->action))
		return false;
	if (!state->opts.framed)
		return write_plain_change(ctx, state, entry, change);
	return write_framed_change(ctx, state, entry, change);
}

/* A row change: see write_row_change(), in the per-change context. */
static void
pg2es_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					Relation rel, ReorderBufferChange *change)
{
	DecodeState *state = ctx->output_plugin_private;
	MemoryContext oldcxt = MemoryContextSwitchTo(state->change_cxt);
	bool		written = write_row_change(ctx, state, rel, change);

	end_change(ctx, state, oldcxt, written);
}

/*
 * Whether every leaf partition of the partitioned table rootid is among
 * the truncated relations, so that clearing its whole index is right.
 */
static bool
all_partitions_truncated(Oid rootid, int nrelations, Relation relations[])
{
	List	   *members = find_all_inheritors(rootid, NoLock, NULL);
	ListCell   *lc;

	foreach(lc, members)
	{
		Oid			member = lfirst_oid(lc);
		bool		found = false;
		int			i;

		if (get_rel_relkind(member) != RELKIND_RELATION)
			continue;
		for (i = 0; i < nrelations && !found; i++)
			found = (RelationGetRelid(relations[i]) == member);
		if (!found)
			return false;
	}
	return true;
}

/* Appends name to names (a List of char *) unless it is there already. */
static List *
append_unique_name(List *names, char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return names;
	return lappend(names, name);
}

/*
 * Says once per partition and session that truncating partition rel
 * (entry) alone leaves its documents in the index it shares with the
 * other partitions of its root: they cannot be told apart there.
 */
static void
warn_partition_truncate(RelEntry *entry, Relation rel)
{
	char	   *schema;

	if (!relentry_warn_first(entry, REL_WARNED_PARTITION_TRUNCATE))
		return;
	schema = get_namespace_name(RelationGetNamespace(rel));
	ereport(WARNING,
			errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			errmsg("truncating partition %s of %s does not clear its index \"%s\"",
				   quote_qualified_identifier(schema,
											  RelationGetRelationName(rel)),
				   entry->qualified_name, entry->index_name),
			errdetail("The index holds the documents of every partition of %s; they stay.",
					  entry->qualified_name),
			errhint("Use option partition-index=leaf for one index per partition."));
}

/*
 * Writes a TRUNCATE; returns whether it produced output.  Framed mode
 * writes a TRUNCATE frame naming the indexes to clear and the version of
 * the transaction (0 with versioning off), so that the forwarder deletes
 * only documents not newer than the TRUNCATE and a replay spares rows
 * inserted after it; plain mode writes nothing (a _bulk body has no way to
 * say it).
 * Partitioned tables hold no rows (their partitions come in the list too),
 * and a partition truncated alone does not clear its root's shared index.
 * A table being reindexed names its second index too.
 */
static bool
write_truncate(DecodeState *state, ReorderBufferTXN *txn, int nrelations,
			   Relation relations[])
{
	List	   *indexes = NIL;
	int			i;

	if (!state->opts.framed)
		return false;
	for (i = 0; i < nrelations; i++)
	{
		RelEntry   *entry;

		if (relations[i]->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
			continue;
		entry = relcache_entry_for(state->cache, relations[i]);
		if (!entry->covered || !entry->pub.pubtruncate)
			continue;
		if (entry->index_relid != entry->relid &&
			!all_partitions_truncated(entry->index_relid, nrelations,
									  relations))
		{
			warn_partition_truncate(entry, relations[i]);
			continue;
		}
		/* copies: a later relation's entry may be rebuilt */
		indexes = append_unique_name(indexes, pstrdup(entry->index_name));
		if (entry->dual != NULL)
			indexes = append_unique_name(indexes,
										 pstrdup(entry->dual->index_name));
	}
	if (indexes == NIL)
		return false;
	framing_truncate(&state->frames, indexes,
					 state->opts.versioning ? txn->final_lsn : 0);
	return true;
}

/*
 * A TRUNCATE of pg2es.requests ends every dual write: the entries are
 * rebuilt at their next change.
 */
static void
note_requests_truncated(DecodeState *state, int nrelations,
						Relation relations[])
{
	int			i;

	for (i = 0; i < nrelations; i++)
		if (relations[i]->rd_rel->relkind == RELKIND_RELATION &&
			relcache_entry_for(state->cache, relations[i])->is_requests)
			relcache_invalidate_all(state->cache);
}

/* TRUNCATE: see write_truncate(), in the per-change context. */
static void
pg2es_decode_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					  int nrelations, Relation relations[],
					  ReorderBufferChange *change)
{
	DecodeState *state = ctx->output_plugin_private;
	MemoryContext oldcxt = MemoryContextSwitchTo(state->change_cxt);
	bool		written;

	note_requests_truncated(state, nrelations, relations);
	written = write_truncate(state, txn, nrelations, relations);

	end_change(ctx, state, oldcxt, written);
}

/*
 * COMMIT: framed mode writes the last message of a transaction that
 * produced frames, ending with the COMMIT frame.  Progress is reported
 * first, flagged as skipped when the transaction produced nothing.
 */
static void
pg2es_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					XLogRecPtr commit_lsn)
{
	DecodeState *state = ctx->output_plugin_private;
	MemoryContext oldcxt = MemoryContextSwitchTo(state->change_cxt);

	if (write_newly_covered(state))
		state->txn_written = true;
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
	PG2ES_UPDATE_PROGRESS(ctx, !state->txn_written);
	state->skipped_changes = 0;
	item_writer_end(&state->writer);
	if (!state->opts.framed || !state->txn_written)
		return;
	framing_commit(&state->frames, txn->xid, commit_lsn, txn->end_lsn,
				   PG2ES_TXN_COMMIT_TIME(txn));
	flush_frames(ctx, state);
}

/* The plugin's entry point: the callbacks it implements. */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = pg2es_decode_startup;
	cb->begin_cb = pg2es_decode_begin;
	cb->change_cb = pg2es_decode_change;
	cb->truncate_cb = pg2es_decode_truncate;
	cb->commit_cb = pg2es_decode_commit;
	cb->shutdown_cb = pg2es_decode_shutdown;
}
