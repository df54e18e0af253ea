/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL version difference the decoder meets (13 .. 18).
 *
 * The rest of the decoder never tests PG_VERSION_NUM: it uses the macros
 * and inline functions defined here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_COMPAT_H
#define PG2ES_COMPAT_H

#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "replication/reorderbuffer.h"

#include "replication/snapbuild.h"

#if PG_VERSION_NUM >= 140000
#include "common/cryptohash.h"
#endif
#include "common/sha2.h"

/*
 * Tuples of a change: a ReorderBufferTupleBuf up to 16, a plain HeapTuple
 * from 17 on.  NULL when the tuple is absent.
 */
#if PG_VERSION_NUM >= 170000
#define PG2ES_CHANGE_NEWTUPLE(change) ((change)->data.tp.newtuple)
#define PG2ES_CHANGE_OLDTUPLE(change) ((change)->data.tp.oldtuple)
#else
#define PG2ES_CHANGE_NEWTUPLE(change) \
	((change)->data.tp.newtuple ? &(change)->data.tp.newtuple->tuple : NULL)
#define PG2ES_CHANGE_OLDTUPLE(change) \
	((change)->data.tp.oldtuple ? &(change)->data.tp.oldtuple->tuple : NULL)
#endif

/*
 * A virtual generated column (18): computed when read, never stored, so a
 * decoded tuple holds NULL where a query of the table shows the value.
 * Documents leave such a column out, in decoding and in the SQL functions
 * alike, as pgoutput never publishes one.  Stored generated columns are in
 * the tuple and are kept.
 */
#if PG_VERSION_NUM >= 180000
#define PG2ES_ATT_IS_VIRTUAL(att) \
	((att)->attgenerated == ATTRIBUTE_GENERATED_VIRTUAL)
#else
#define PG2ES_ATT_IS_VIRTUAL(att) false
#endif

/* Commit timestamp: moved into a union with the prepare time in 15. */
#if PG_VERSION_NUM >= 150000
#define PG2ES_TXN_COMMIT_TIME(txn) ((txn)->xact_time.commit_time)
#else
#define PG2ES_TXN_COMMIT_TIME(txn) ((txn)->commit_time)
#endif

/*
 * Reports progress for a transaction that produced no output, so that the
 * walsender can answer keepalives and move the slot on; 15 added the flag.
 */
#if PG_VERSION_NUM >= 150000
#define PG2ES_UPDATE_PROGRESS(ctx, skipped) \
	OutputPluginUpdateProgress((ctx), (skipped))
#else
#define PG2ES_UPDATE_PROGRESS(ctx, skipped) OutputPluginUpdateProgress((ctx))
#endif

/*
 * The snapshot builder's current historic snapshot: while a transaction is
 * replayed to the plugin, it sees every catalog change (user catalog
 * tables included) committed before that transaction's commit record.  16
 * dropped the unused xid argument.
 */
#if PG_VERSION_NUM >= 160000
#define PG2ES_BUILDER_SNAPSHOT(builder) SnapBuildGetOrBuildSnapshot(builder)
#else
#define PG2ES_BUILDER_SNAPSHOT(builder) \
	SnapBuildGetOrBuildSnapshot((builder), InvalidTransactionId)
#endif

/*
 * Before 16 the server did not report progress by itself inside a large
 * transaction whose changes are all filtered out; the plugin has to.
 */
#define PG2ES_PROGRESS_IN_CHANGES (PG_VERSION_NUM < 160000)

/*
 * Publications: row filters, column lists and FOR TABLES IN SCHEMA came in
 * 15; before, a publication names tables (or all of them) and actions.
 * 16 added build_attrmap_by_name's missing_ok; 18 the option
 * publish_generated_columns (before, pgoutput never publishes a generated
 * column).
 */
#define PG2ES_HAS_PUBLICATION_FILTERS (PG_VERSION_NUM >= 150000)

#if PG2ES_HAS_PUBLICATION_FILTERS
#define PG2ES_SCHEMA_IN_PUBLICATION(nspid, pubid) \
	SearchSysCacheExists2(PUBLICATIONNAMESPACEMAP, ObjectIdGetDatum(nspid), \
						  ObjectIdGetDatum(pubid))
#define PG2ES_REGISTER_SCHEMA_PUBLICATION_CALLBACK(func) \
	CacheRegisterSyscacheCallback(PUBLICATIONNAMESPACEMAP, (func), (Datum) 0)
#else
#define PG2ES_SCHEMA_IN_PUBLICATION(nspid, pubid) false
#define PG2ES_REGISTER_SCHEMA_PUBLICATION_CALLBACK(func) ((void) (func))
#endif

#if PG_VERSION_NUM >= 160000
#define PG2ES_BUILD_ATTRMAP_BY_NAME(indesc, outdesc) \
	build_attrmap_by_name((indesc), (outdesc), false)
#else
#define PG2ES_BUILD_ATTRMAP_BY_NAME(indesc, outdesc) \
	build_attrmap_by_name((indesc), (outdesc))
#endif

#if PG_VERSION_NUM >= 180000
#define PG2ES_PUB_PUBLISHES_STORED_GENERATED(pub) \
	((pub)->pubgencols_type == PUBLISH_GENCOLS_STORED)
#else
#define PG2ES_PUB_PUBLISHES_STORED_GENERATED(pub) false
#endif

/*
 * SHA-256 of len bytes into digest (PG2ES_SHA256_LENGTH bytes).  14 and
 * later go through the cryptohash API (which may use OpenSSL and therefore
 * needs a resource owner: call this only inside a transaction); 13 has the
 * built-in implementation only.
 */
#define PG2ES_SHA256_LENGTH 32

static inline void
pg2es_sha256(const char *data, size_t len, uint8 *digest)
{
#if PG_VERSION_NUM >= 140000
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);

	if (hash == NULL ||
		pg_cryptohash_init(hash) < 0 ||
		pg_cryptohash_update(hash, (const uint8 *) data, len) < 0 ||
#if PG_VERSION_NUM >= 150000
		pg_cryptohash_final(hash, digest, PG2ES_SHA256_LENGTH) < 0)
#else
		pg_cryptohash_final(hash, digest) < 0)
#endif
		elog(ERROR, "could not compute SHA-256 digest");
	pg_cryptohash_free(hash);
#else
	pg_sha256_ctx hash;

	pg_sha256_init(&hash);
	pg_sha256_update(&hash, (const uint8 *) data, len);
	pg_sha256_final(&hash, digest);
#endif
}

#endif							/* PG2ES_COMPAT_H */
