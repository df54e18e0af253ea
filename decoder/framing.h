/*-------------------------------------------------------------------------
 *
 * framing.h
 *		The msgpack frames of framing=msgpack, whose layout and constants
 *		are protocol/pg2es_protocol.h's.  Each function appends one frame
 *		header to a StringInfo.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_FRAMING_H
#define PG2ES_FRAMING_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "pg2es_protocol.h"

/*
 * Frames are gathered into messages of about this size: fewer, larger
 * messages cost the walsender less, and the forwarder takes any size.
 */
#define FRAME_MESSAGE_TARGET (64 * 1024)

extern void framing_relation(StringInfo out, Oid relid, const char *index);
extern void framing_change(StringInfo out, int flags, int nitems,
						   const char *ndjson, int len);
extern void framing_change_header(StringInfo out, int flags, int nitems,
								  int len);
extern void framing_truncate(StringInfo out, List *indexes,
							 XLogRecPtr version);
extern void framing_request(StringInfo out, int64 id, const char *kind,
							Oid relid, const char *state,
							const char *target_index, bool keep_old,
							const char *index);
extern void framing_covered(StringInfo out, Oid relid, const char *index,
							const char *table_name);
extern void framing_commit(StringInfo out, TransactionId xid,
						   XLogRecPtr commit_lsn, XLogRecPtr end_lsn,
						   TimestampTz commit_time);

#endif							/* PG2ES_FRAMING_H */
