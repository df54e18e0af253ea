/*
 * prune.h
 *		After the full initial load that replaces a lost slot: delete the
 *		documents the load did not write, those of rows deleted while no
 *		slot recorded the changes.
 *
 * The load indexed every row with the new slot's consistent point V as its
 * version (external_gte), so every document of an existing row has a
 * version of at least V; a document with a lower one is left from before
 * and has no row any more. Each document of the index is sent a delete
 * with version V - 1, external_gte: Elasticsearch applies it only to a
 * document whose version is at most V - 1 and refuses the others with 409,
 * which is what is wanted (where the search tells the versions, only the
 * older documents are sent). Streaming starts afterwards, so nothing newer
 * than V can be there yet. With versioning=off there are no versions to
 * tell the old documents by: nothing is deleted, and a warning says so.
 */
#ifndef PG2ES_PRUNE_H
#define PG2ES_PRUNE_H

#include <signal.h>

#include "catalog.h"
#include "cfg.h"
#include "http.h"

extern PG2ES_MUSTCHECK bool prune_older_documents(const Config *cfg, const CatalogTables *tables,
												  Lsn version, Http *http, const Metrics *metrics,
												  volatile sig_atomic_t *stop);

#endif							/* PG2ES_PRUNE_H */
