/*
 * copyin.h
 *		Reader for PostgreSQL's binary COPY format (COPY ... TO STDOUT
 *		(FORMAT binary)), as the initial load receives it.
 *
 * Pure: no I/O. The server sends the stream in CopyData messages whose
 * boundaries need not match the format's units (the header travels with
 * the first tuple, the trailer may share a message), so the reader takes
 * any slices of the stream and carries an incomplete unit over to the
 * next call.
 */
#ifndef PG2ES_COPYIN_H
#define PG2ES_COPYIN_H

#include "buf.h"
#include "common.h"

/*
 * Called once per field of each tuple, in order: fieldno counts from 0
 * within the tuple, len is -1 for NULL (data then NULL). data is valid
 * only during the call. Returning false stops the reader (an error the
 * callback has reported).
 */
typedef bool (*CopyInFieldFn) (void *arg, int fieldno, const char *data, int32_t len);

typedef enum CopyInState
{
	COPYIN_HEADER,				/* before the signature */
	COPYIN_TUPLES,				/* between tuples */
	COPYIN_DONE					/* the trailer was read */
} CopyInState;

typedef struct CopyIn
{
	CopyInState state;
	Buf			carry;			/* owned; an incomplete unit from the last
								 * call */
	uint64_t	tuples;			/* tuples read so far */
} CopyIn;

extern void copyin_init(CopyIn *ci);
extern void copyin_free(CopyIn *ci);
extern PG2ES_MUSTCHECK bool copyin_feed(CopyIn *ci, const char *data, size_t len,
										CopyInFieldFn fn, void *arg,
										char *errbuf, size_t errlen);
extern PG2ES_MUSTCHECK bool copyin_finish(const CopyIn *ci, char *errbuf, size_t errlen);

/*
 * An item of pg2es.bulk_item_parts being put together. The function
 * returns an item as values of at most 1 MB (so that libpq's receive
 * buffer never holds a large row whole): the first begins with the item's
 * length, 4 bytes big-endian, the values after it carry the rest. A small
 * item is one value and is used where it lies; a large one is copied into
 * a block of its exact size, the one copy the forwarder keeps.
 */
typedef struct ItemParts
{
	char	   *block;			/* owned, len bytes; NULL between items */
	size_t		len;
	size_t		filled;
} ItemParts;

typedef enum ItemPartsStatus
{
	ITEMPARTS_ITEM,				/* an item is complete */
	ITEMPARTS_MORE,				/* the item goes on in the next value */
	ITEMPARTS_ERROR				/* errbuf says what is wrong */
} ItemPartsStatus;

extern void itemparts_init(ItemParts *parts);
extern void itemparts_free(ItemParts *parts);
extern PG2ES_MUSTCHECK ItemPartsStatus itemparts_feed(ItemParts *parts,
													  const char *data, size_t len,
													  const char **item, size_t *item_len,
													  char **block,
													  char *errbuf, size_t errlen);
extern PG2ES_MUSTCHECK bool itemparts_finish(const ItemParts *parts,
											 char *errbuf, size_t errlen);

#endif							/* PG2ES_COPYIN_H */
