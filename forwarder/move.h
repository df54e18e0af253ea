/*
 * move.h
 *		Rebuilding a document whose key changed while a TOASTed value stayed.
 *
 * Under REPLICA IDENTITY DEFAULT an UPDATE that changes the key and leaves
 * a TOASTed column untouched reaches the plugin without that column's
 * value: the WAL holds neither it nor the old row. The plugin emits a
 * CHANGE frame flagged FRAME_FLAG_MISSING_IS_LOSS holding a delete of the
 * old _id and a partial update of the new one, which Elasticsearch does not
 * have. The value is still in the old document, though, and by the time
 * everything before this change is stored that document is exactly the
 * row before the change. So the forwarder reads it (GET /INDEX/_source/OLD)
 * and turns the pair into
 *
 *	 index NEW, version = the partial update's guard (V or V+k), source =
 *	 the old document with the update's fields put over it
 *	 delete OLD (the plugin's own item)
 *
 * in that order, so that a crash between the two leaves the old document
 * to read again. When the old document is missing, this is a replay of a
 * move already done, or a row Elasticsearch never had. If the new document
 * exists, the pair is sent as the plugin wrote it (its guarded update does
 * no harm). If it does not, a delete of it at the guard version tells the
 * two apart while Elasticsearch keeps its tombstones (index.gc_deletes): a
 * 409 means a later change removed it, and the move is moot; otherwise the
 * pair is sent, and its update's 404 reports the loss (dead letter).
 *
 * Pure: no I/O. The sources are spliced as text: a JSON library would
 * rewrite numbers (jansson reads them as double or refuses integers over
 * 64 bits), and a document must keep the plugin's exact encoding.
 */
#ifndef PG2ES_MOVE_H
#define PG2ES_MOVE_H

#include "buf.h"
#include "common.h"

/* The requests of a MOVE, in order. */
typedef enum MoveStep
{
	MOVE_READ_OLD,				/* GET /INDEX/_source/OLD */
	MOVE_READ_NEW,				/* old missing: GET /INDEX/_source/NEW */
	MOVE_PROBE_NEW				/* both missing: DELETE NEW at the guard */
} MoveStep;

/* What the flagged pair says, read from the plugin's two items. */
typedef struct MovePlan
{
	MoveStep	step;
	char	   *index;			/* decoded, owned */
	char	   *old_id;			/* decoded, owned */
	char	   *new_id;			/* decoded, owned */
	bool		versioned;		/* the update carries a guard version */
	uint64_t	version;		/* its params.v */
	const char *doc;			/* the update's fields: a JSON object, */
	size_t		doc_len;		/* borrowed from the update item */
} MovePlan;

extern PG2ES_MUSTCHECK bool move_plan(const char *del, size_t del_len, const char *upd,
									  size_t upd_len, MovePlan *plan);
extern void move_plan_free(MovePlan *plan);
extern PG2ES_MUSTCHECK bool move_index_item(const MovePlan *plan, const char *old_source,
											size_t old_len, Buf *out);

#endif							/* PG2ES_MOVE_H */
