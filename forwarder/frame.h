/*
 * frame.h
 *		Reader for the decoder's framed output (framing=msgpack), whose
 *		layout and constants are protocol/pg2es_protocol.h's.
 *
 * Pure: no I/O, no global state.
 */
#ifndef PG2ES_FRAME_H
#define PG2ES_FRAME_H

#include "common.h"
#include "pg2es_protocol.h"
#include "request.h"

/* Bulk action of one item, read from its action line. */
typedef enum ItemAction
{
	ITEM_INDEX,
	ITEM_CREATE,
	ITEM_UPDATE,
	ITEM_DELETE,
	ITEM_UPDATE_MUST_EXIST		/* an update under FRAME_FLAG_MISSING_IS_LOSS */
} ItemAction;

/* One bulk item inside a CHANGE payload: its lines, each ending in \n. */
typedef struct FrameItem
{
	const char *data;			/* points into the message */
	size_t		len;
	ItemAction	action;
} FrameItem;

/*
 * One decoded frame. Pointers refer to the message bytes: valid as long as
 * the message is.
 */
typedef struct Frame
{
	FrameKind	kind;
	/* CHANGE */
	uint64_t	flags;
	size_t		nitems;
	FrameItem	items[FRAME_MAX_ITEMS];
	/* COMMIT */
	uint64_t	xid;
	Lsn			commit_lsn;
	Lsn			end_lsn;
	int64_t		commit_time;	/* microseconds since the Unix epoch */
	/* RELATION and COVERED */
	uint64_t	relid;
	const char *relation_index;
	size_t		relation_index_len;
	/* COVERED: the table's quoted schema.name, for the request and messages */
	const char *covered_table;
	size_t		covered_table_len;
	/* TRUNCATE: nindexes msgpack strings, back to back (frame_truncate_index) */
	Lsn			truncate_version;	/* commit LSN; 0 = unversioned */
	const char *indexes;
	size_t		indexes_len;
	size_t		nindexes;
	/* REQUEST */
	Request		request;
	/* FRAME_PARTIAL: the whole frame's bytes, header included */
	size_t		whole_len;
} Frame;

/* Walks the frames of one message. */
typedef struct FrameReader
{
	const char *data;			/* the message, owned by the caller */
	size_t		len;
	size_t		pos;
} FrameReader;

typedef enum FrameStatus
{
	FRAME_OK,					/* *frame holds the next frame */
	FRAME_END,					/* the message has no more frames */
	FRAME_ERROR,				/* malformed; errbuf says why */
	FRAME_PARTIAL				/* a CHANGE flagged FRAME_FLAG_CONTINUED whose
								 * payload runs past the message's end, the
								 * last frame of it: frame_reader_rest() is
								 * its beginning, frame->whole_len its size */
} FrameStatus;

extern void frame_reader_init(FrameReader *reader, const char *data, size_t len);
extern PG2ES_MUSTCHECK FrameStatus frame_reader_next(FrameReader *reader,
													 Frame *frame,
													 char *errbuf,
													 size_t errlen);
extern void frame_reader_rest(const FrameReader *reader, const char **data,
							  size_t *len);
extern void frame_truncate_index(const Frame *frame, size_t i,
								 const char **name, size_t *len);

#endif							/* PG2ES_FRAME_H */
