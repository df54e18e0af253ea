/*-------------------------------------------------------------------------
 *
 * requests.h
 *		The rows of pg2es.requests as the decoder reads them: from a decoded
 *		change (for the REQUEST frame) and from the table itself, in the
 *		decoding snapshot (for the dual writes of a reindex under way).
 *		docs/design.md, "Requests".
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_REQUESTS_H
#define PG2ES_REQUESTS_H

#include "access/htup.h"
#include "utils/rel.h"

struct SnapBuild;

/* One row of pg2es.requests; strings palloc'd in the caller's context. */
typedef struct RequestRow
{
	int64		id;
	char	   *slot_name;
	char	   *kind;			/* "reindex" or "backfill" */
	Oid			relid;
	char	   *state;			/* "requested" ... "failed" */
	char	   *target_index;	/* NULL when not set */
	bool		keep_old;
} RequestRow;

extern bool requests_is_table(const char *schema, const char *table);
extern bool requests_read_change(Relation rel, HeapTuple tuple,
								 RequestRow *row);
extern char *requests_dual_target(struct SnapBuild *builder,
								  const char *slot_name, Oid relid);

#endif							/* PG2ES_REQUESTS_H */
