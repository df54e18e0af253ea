/*
 * verify.h
 *		pg2es verify: does each index equal its table?
 */
#ifndef PG2ES_VERIFY_H
#define PG2ES_VERIFY_H

#include <signal.h>

#include "catalog.h"
#include "cfg.h"
#include "escall.h"

/* What verify_index found. */
typedef struct VerifyCounts
{
	uint64_t	rows;			/* rows with an _id */
	uint64_t	missing;		/* and rows never synced (no key) */
	uint64_t	different;
	uint64_t	extra;
} VerifyCounts;

extern int	verify_run(const Config *cfg, volatile sig_atomic_t *stop);
extern int	verify_index(PGconn *conn, EsCall *call, const Config *cfg, const char *optlit,
						 const CatalogTable *table, const char *index, Lsn newer_than,
						 VerifyCounts *out);

#endif							/* PG2ES_VERIFY_H */
