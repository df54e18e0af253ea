/*
 * request.h
 *		A request of pg2es.requests as the stream delivers it (the REQUEST
 *		frame of protocol/pg2es_protocol.h), and the hook the forwarder
 *		acts on it through.
 *
 * `pg2es reindex` inserts a row into pg2es.requests; the forwarder updates
 * its state as it goes. The decoder turns every INSERT or UPDATE of a row
 * of this slot into a REQUEST frame in that transaction, so a request
 * reaches the forwarder in stream order, and the commits after a reindex
 * row's copying or switching frame are dual-written (the protocol header
 * says how).
 */
#ifndef PG2ES_REQUEST_H
#define PG2ES_REQUEST_H

#include "common.h"

struct Sync;

/* pg2es.requests.kind, in the order of FRAME_REQUEST_KINDS */
typedef enum RequestKind
{
	REQUEST_REINDEX,			/* a new generation, then the alias switch */
	REQUEST_BACKFILL			/* a copy into the current index */
} RequestKind;

/* pg2es.requests.state, in the order of FRAME_REQUEST_STATES */
typedef enum RequestState
{
	REQUEST_REQUESTED,
	REQUEST_COPYING,
	REQUEST_SWITCHING,
	REQUEST_DONE,
	REQUEST_FAILED
} RequestState;

/*
 * One row of pg2es.requests as of the change the frame came from. The
 * strings are not NUL-terminated and point into the message: valid as long
 * as the message is (copy what is kept).
 */
typedef struct Request
{
	uint64_t	id;
	RequestKind kind;
	uint64_t	relid;			/* the table whose index it is (the root under
								 * partition-index=root) */
	RequestState state;
	const char *target_index;	/* NULL: not set (nil) */
	size_t		target_index_len;
	bool		keep_old;
	const char *index;			/* the alias the decoder computes for relid
								 * with the stream's options; NULL: the
								 * options do not cover relid */
	size_t		index_len;
} Request;

/*
 * reindex_on_request: act on one REQUEST frame, in stream order (called by
 * the sync for each; frames of other states than the one awaited are for
 * the hook to ignore). Returns true to go on; false stops the sync (the
 * reason logged). Implemented by reindex.c.
 */
extern PG2ES_MUSTCHECK bool reindex_on_request(struct Sync *sync, const Request *request);

#endif							/* PG2ES_REQUEST_H */
