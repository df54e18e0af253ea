/*-------------------------------------------------------------------------
 *
 * pg2es_protocol.h
 *		The framed wire format between the pg2es output plugin (decoder/,
 *		which writes it) and the pg2es forwarder (forwarder/, which reads
 *		it): the one description of its layout, and its constants.
 *
 * Plain C with no includes at all, so that the plugin (built against the
 * server's headers) and the forwarder (a client program) both include it
 * as it is.  A change to the format is a change to this file, which both
 * programs are built against; docs/design.md only gives an overview.
 *
 * The format is chosen by the plugin option framing=msgpack (FRAMING_OPTION
 * = FRAMING_MSGPACK), which the forwarder always passes; the plugin then
 * declares binary output.  Without it the plugin writes plain NDJSON, one
 * message per change, with no frames at all.
 *
 * Messages
 * --------
 * Each message the plugin writes (the payload of a CopyData 'w' message of
 * the replication stream) is a sequence of one or more whole frames; the
 * one exception is a continued CHANGE (FRAME_FLAG_CONTINUED, below).  A
 * transaction that produces frames ends with its COMMIT frame, the last
 * frame of its last message, so that message's LSN is the end of the
 * commit record; a transaction that produces nothing writes nothing.  The
 * plugin gathers a transaction's frames into messages of about 64 kB; a
 * reader must take a message of any size.
 *
 * Frames
 * ------
 * Every frame starts with its header: a msgpack array whose first element
 * is the frame kind (enum FrameKind) and whose length, the kind included,
 * is that kind's FRAME_<KIND>_FIELDS.  Integers are msgpack unsigned ints
 * in their shortest form (a reader also takes a signed encoding of a
 * non-negative value, as msgpack-c reads it); strings are msgpack str,
 * never empty; "x" | nil is a string or msgpack nil.  Only a CHANGE frame
 * has bytes after its header.  Per kind:
 *
 *	CHANGE    [1, flags, nitems, len]
 *		followed by len bytes of NDJSON: nitems bulk items (1 to
 *		FRAME_MAX_ITEMS), every line ending in "\n".  A delete item is one
 *		line (its action line), any other item an action line and a
 *		source line.  Two items are a key change: the removal of the old
 *		_id (its delete, or under delete-mode=soft its index as a deleted
 *		row), then the write of the new one.  flags: FRAME_FLAG_* below.
 *
 *	COMMIT    [2, xid, commit_lsn, end_lsn, commit_time]
 *		ends the frames of transaction xid.  commit_lsn is the start of
 *		its commit record (the version V of its items); end_lsn its end,
 *		which the forwarder confirms once every item of the transaction is
 *		stored; commit_time is in microseconds since the Unix epoch.
 *
 *	TRUNCATE  [3, ["index", ...], version]
 *		the transaction truncated tables whose documents are in these
 *		indexes (at least one name).  version is its commit LSN, 0 under
 *		versioning=off.
 *
 *	RELATION  [4, relid, "index"]
 *		changes of relation relid (the relation they come for: a
 *		partition, not its root) go to index.  Written before the first
 *		CHANGE of relid after the plugin's cache entry for it was (re)built.
 *
 *	REQUEST   [5, id, "kind", relid, "state", "target_index" | nil,
 *			   keep_old, "index" | nil]
 *		an INSERT or UPDATE of this slot's row of pg2es.requests, before
 *		the COMMIT frame of its transaction: id (> 0), kind (one of
 *		FRAME_REQUEST_KINDS), relid, state (one of FRAME_REQUEST_STATES)
 *		and target_index (nil for NULL) are the row's; keep_old is a
 *		msgpack boolean; index is the name the stream's options give relid,
 *		nil when they do not cover it.  While a reindex row of a table is
 *		copying or switching with its target_index, every CHANGE frame of
 *		that table is followed by a second one, same flags, whose items
 *		differ only in _index = target_index, and its TRUNCATE frames name
 *		both indexes.
 *
 *	COVERED   [6, relid, "index", "table"]
 *		(option publications) a publication change in this transaction
 *		made table relid covered, so its existing rows are not in index;
 *		table is quote_ident(schema).quote_ident(name) of the table the
 *		index is named after (the root under partition-index=root).
 *		Before the COMMIT frame.
 *
 * A reader stops at anything else (an unknown kind, a header of another
 * length or with a field of another type, a CHANGE whose items do not fill
 * its len bytes exactly): it never guesses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG2ES_PROTOCOL_H
#define PG2ES_PROTOCOL_H

/* The plugin option that selects this format, and its value. */
#define FRAMING_OPTION "framing"
#define FRAMING_MSGPACK "msgpack"

/* The first element of every frame header; new kinds go at the end. */
typedef enum FrameKind
{
	FRAME_CHANGE = 1,
	FRAME_COMMIT = 2,
	FRAME_TRUNCATE = 3,
	FRAME_RELATION = 4,
	FRAME_REQUEST = 5,
	FRAME_COVERED = 6
} FrameKind;

/* Elements of each kind's header array, the kind included. */
#define FRAME_CHANGE_FIELDS 4
#define FRAME_COMMIT_FIELDS 5
#define FRAME_TRUNCATE_FIELDS 3
#define FRAME_RELATION_FIELDS 3
#define FRAME_REQUEST_FIELDS 8
#define FRAME_COVERED_FIELDS 4

/* The most bulk items one CHANGE frame holds (a key change's two). */
#define FRAME_MAX_ITEMS 2

/*
 * CHANGE flag: the frame holds an unversioned item (a partial update): the
 * forwarder must not let any other request for this stream be in flight
 * while it is.
 */
#define FRAME_FLAG_UNVERSIONED 0x01

/*
 * CHANGE flag: its partial update follows a key change in the same change
 * (the removal of the old _id, then an update of the new one, under
 * replica identity DEFAULT), so the document it updates was never created and the
 * unchanged TOASTed value is not in the WAL: a 404 for it means lost
 * columns.  Without the flag, a 404 on a partial update only means that the
 * row was deleted later and this is a replay.
 */
#define FRAME_FLAG_MISSING_IS_LOSS 0x02

/*
 * CHANGE flag: the NDJSON may run past the message's end.  The plugin sets
 * it on a change of more than FRAME_PIECE_BYTES of NDJSON: its CHANGE frame
 * is then the last of its message, which holds the header and the first
 * NDJSON bytes, at most FRAME_PIECE_BYTES in all, and each following
 * message holds nothing but the next bytes of that NDJSON, at most
 * FRAME_PIECE_BYTES, until len are there.  So the forwarder's libpq never
 * holds more than one such piece of a large row at once, nor the
 * walsender's output buffer a second copy of the whole.  The next frame
 * starts a new message.
 */
#define FRAME_FLAG_CONTINUED 0x04

/*
 * The largest message a continued CHANGE is split into (and the largest
 * value pg2es.bulk_item_parts returns, for the same reason, in the initial
 * load).
 */
#define FRAME_PIECE_BYTES (1024 * 1024)

/*
 * The kind and state words a REQUEST frame carries (pg2es.requests' own
 * values), as initializers: the plugin writes no other, the forwarder reads
 * them in this order (its RequestKind and RequestState).
 */
#define FRAME_REQUEST_KINDS "reindex", "backfill"
#define FRAME_REQUEST_STATES "requested", "copying", "switching", "done", "failed"

#endif							/* PG2ES_PROTOCOL_H */
