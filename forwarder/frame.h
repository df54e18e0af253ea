/*
 * frame.h
 *		Reader for the decoder's framed output (framing=msgpack).
 *
 * Pure: no I/O, no global state. See docs/design.md "Framed mode".
 */
#ifndef PG2ES_FRAME_H
#define PG2ES_FRAME_H

#include "common.h"
#include "request.h"

typedef enum FrameKind
{
	FRAME_CHANGE = 1,
	FRAME_COMMIT = 2,
	FRAME_TRUNCATE = 3,
	FRAME_RELATION = 4,
	FRAME_REQUEST = 5,
	FRAME_COVERED = 6
} FrameKind;

/* CHANGE flag bit 0: the frame holds an unversioned (partial update) item */
#define FRAME_FLAG_UNVERSIONED 1
/*
 * CHANGE flag bit 1: its partial update follows a key change, so the
 * document it updates was never created: a 404 for it means lost columns
 */
#define FRAME_FLAG_MISSING_IS_LOSS 2

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

#define FRAME_MAX_ITEMS 2

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
	FRAME_ERROR					/* malformed; errbuf says why */
} FrameStatus;

extern void frame_reader_init(FrameReader *reader, const char *data, size_t len);
extern PG2ES_MUSTCHECK FrameStatus frame_reader_next(FrameReader *reader,
													 Frame *frame,
													 char *errbuf,
													 size_t errlen);
extern void frame_truncate_index(const Frame *frame, size_t i,
								 const char **name, size_t *len);

#endif							/* PG2ES_FRAME_H */
