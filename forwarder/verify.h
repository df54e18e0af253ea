/*
 * verify.h
 *		pg2es verify: does each index equal its table? With --repair, make
 *		it so, with versions that never overwrite a newer change.
 */
#ifndef PG2ES_VERIFY_H
#define PG2ES_VERIFY_H

#include <libpq-fe.h>
#include <signal.h>

#include "catalog.h"
#include "cfg.h"
#include "escall.h"

/* What a repair did. */
typedef struct VerifyRepairs
{
	uint64_t	missing_sent;	/* documents of rows the index lacked */
	uint64_t	different_sent; /* documents that differed from their row */
	uint64_t	extra_deleted;	/* documents of no row: deleted
								 * (delete-mode=soft: marked "__deleted":
								 * true), or already gone */
	uint64_t	superseded;		/* refused with 409: a newer change was stored */
	uint64_t	refused;		/* refused for another reason (logged) */
} VerifyRepairs;

/* What verify_index found. */
typedef struct VerifyCounts
{
	uint64_t	rows;			/* rows with an _id */
	uint64_t	missing;		/* and rows never synced (no key) */
	uint64_t	different;
	uint64_t	extra;
} VerifyCounts;

extern int	verify_run(const Config *cfg, volatile sig_atomic_t *stop);

/*
 * verify_index: the check of an online copy (reindex.c): compare table
 * with index (not necessarily its own) in the snapshot of the
 * repeatable-read transaction open on conn (left open; a temporary table
 * is created and dropped in it), leaving out the documents of a version
 * above newer_than (written by changes the snapshot does not see). Into
 * *out the counts; the first differing _ids are logged. Returns 0 equal,
 * 1 different, 2 error (logged).
 */
extern int	verify_index(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
						 const CatalogTable *table, const char *index, Lsn newer_than,
						 VerifyCounts *out);

/*
 * verify_delete_extras: delete from index (table's, or another one holding
 * its documents, such as a concrete generation behind its alias) every
 * document whose _id no row of table has, as conn sees the table; with
 * delete-mode=soft in cfg's plugin options the document is rewritten with
 * "__deleted": true instead. Each write carries version, external_gte:
 * a document a newer change wrote (a higher version) answers 409 and stays
 * (counted superseded). Soft-deleted documents are left alone.
 *
 * conn must be inside a read-write REPEATABLE READ transaction that
 * imported the snapshot whose consistent point is version (load.h,
 * load_export_snapshot); the caller ends it. A temporary table
 * pg2es_verify_ids is created and dropped in it. Adds to *repairs'
 * extra_deleted, superseded and refused. Returns false (logged) on an
 * error or with versioning=off (no versions: a delete could remove a
 * newer row's document).
 */
extern PG2ES_MUSTCHECK bool verify_delete_extras(PGconn *conn, EsCall *call, const Config *cfg,
												 const CatalogTable *table, const char *index,
												 Lsn version, VerifyRepairs *repairs);

#endif							/* PG2ES_VERIFY_H */
