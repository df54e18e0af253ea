/*-------------------------------------------------------------------------
 *
 * framing.c
 *		msgpack frame headers for the forwarder.
 *
 * The layout of each frame, and the constants used here, are in
 * protocol/pg2es_protocol.h, the one description of the format.
 *
 * msgpack-c writes through a callback, here appending to a StringInfo, so
 * frames land directly in the caller's buffer (the transaction's pending
 * frames; see pg2es.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <msgpack.h>

#include "framing.h"

static int	append_to_stringinfo(void *data, const char *buf, size_t len);
static void begin_frame(msgpack_packer *pk, StringInfo out, FrameKind kind, int nfields);
static void pack_string(msgpack_packer *pk, const char *s);
static void pack_string_or_nil(msgpack_packer *pk, const char *s);

/* msgpack-c write callback: appends to the StringInfo in data. */
static int
append_to_stringinfo(void *data, const char *buf, size_t len)
{
	appendBinaryStringInfo((StringInfo) data, buf, len);
	return 0;
}

/*
 * Starts a frame in out: pk is set up to append there, and the frame's
 * array header (nfields elements, the kind included) and kind are packed.
 */
static void
begin_frame(msgpack_packer *pk, StringInfo out, FrameKind kind, int nfields)
{
	msgpack_packer_init(pk, out, append_to_stringinfo);
	msgpack_pack_array(pk, nfields);
	msgpack_pack_uint8(pk, kind);
}

/* Packs s as a msgpack string. */
static void
pack_string(msgpack_packer *pk, const char *s)
{
	size_t		len = strlen(s);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* Appends a RELATION frame: relid now writes to index. */
void
framing_relation(StringInfo out, Oid relid, const char *index)
{
	msgpack_packer pk;

	begin_frame(&pk, out, FRAME_RELATION, FRAME_RELATION_FIELDS);
	msgpack_pack_uint32(&pk, relid);
	pack_string(&pk, index);
}

/*
 * Appends a COVERED frame: a publication change made table relid (the
 * table its index is named after, table_name) covered, and its existing
 * rows are not in index.
 */
void
framing_covered(StringInfo out, Oid relid, const char *index,
				const char *table_name)
{
	msgpack_packer pk;

	begin_frame(&pk, out, FRAME_COVERED, FRAME_COVERED_FIELDS);
	msgpack_pack_uint32(&pk, relid);
	pack_string(&pk, index);
	pack_string(&pk, table_name);
}

/*
 * Appends a CHANGE frame's header alone, for len bytes of NDJSON that the
 * caller writes after it.
 */
void
framing_change_header(StringInfo out, int flags, int nitems, int len)
{
	msgpack_packer pk;

	begin_frame(&pk, out, FRAME_CHANGE, FRAME_CHANGE_FIELDS);
	msgpack_pack_uint32(&pk, flags);
	msgpack_pack_uint32(&pk, nitems);
	msgpack_pack_uint32(&pk, len);
}

/* Appends a CHANGE frame: its header, then the len bytes of ndjson. */
void
framing_change(StringInfo out, int flags, int nitems, const char *ndjson,
			   int len)
{
	framing_change_header(out, flags, nitems, len);
	appendBinaryStringInfo(out, ndjson, len);
}

/*
 * Appends a TRUNCATE frame naming indexes (a List of char *) and the
 * version (commit LSN) of its transaction, 0 when unversioned.
 */
void
framing_truncate(StringInfo out, List *indexes, XLogRecPtr version)
{
	msgpack_packer pk;
	ListCell   *lc;

	begin_frame(&pk, out, FRAME_TRUNCATE, FRAME_TRUNCATE_FIELDS);
	msgpack_pack_array(&pk, list_length(indexes));
	foreach(lc, indexes)
		pack_string(&pk, lfirst(lc));
	msgpack_pack_uint64(&pk, version);
}

/* Packs s as a msgpack string, or nil when s is NULL. */
static void
pack_string_or_nil(msgpack_packer *pk, const char *s)
{
	if (s == NULL)
		msgpack_pack_nil(pk);
	else
		pack_string(pk, s);
}

/*
 * Appends a REQUEST frame: a row of pg2es.requests of this slot as
 * inserted or updated (id is positive), with index, the index of relid
 * with the stream's options (NULL: the options do not cover relid).
 */
void
framing_request(StringInfo out, int64 id, const char *kind, Oid relid,
				const char *state, const char *target_index, bool keep_old,
				const char *index)
{
	msgpack_packer pk;

	begin_frame(&pk, out, FRAME_REQUEST, FRAME_REQUEST_FIELDS);
	msgpack_pack_uint64(&pk, (uint64) id);
	pack_string(&pk, kind);
	msgpack_pack_uint32(&pk, relid);
	pack_string(&pk, state);
	pack_string_or_nil(&pk, target_index);
	if (keep_old)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	pack_string_or_nil(&pk, index);
}

/* Appends the COMMIT frame that ends a transaction's frames. */
void
framing_commit(StringInfo out, TransactionId xid, XLogRecPtr commit_lsn,
			   XLogRecPtr end_lsn, TimestampTz commit_time)
{
	msgpack_packer pk;

	begin_frame(&pk, out, FRAME_COMMIT, FRAME_COMMIT_FIELDS);
	msgpack_pack_uint32(&pk, xid);
	msgpack_pack_uint64(&pk, commit_lsn);
	msgpack_pack_uint64(&pk, end_lsn);
	msgpack_pack_uint64(&pk, (uint64) (commit_time +
									   (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
									   USECS_PER_DAY));
}
