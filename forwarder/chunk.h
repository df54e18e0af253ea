/*
 * chunk.h
 *		Splitting a table's heap into block ranges for the initial load.
 *
 * Pure: no I/O. A table of P pages (8 kB blocks, from pg_relation_size) is
 * copied as ctid ranges [first, end) of a fixed number of pages, so several
 * connections can copy one large table at once; the last range is
 * open-ended, so rows stored past P while the load runs (in blocks the
 * snapshot can see) are still copied.
 */
#ifndef PG2ES_CHUNK_H
#define PG2ES_CHUNK_H

#include "common.h"

/* smallest and largest chunk, in pages (2 MB and 1 GB of 8 kB blocks) */
#define CHUNK_MIN_PAGES 256
#define CHUNK_MAX_PAGES 131072

/* heap block numbers are 32-bit */
#define CHUNK_BLOCK_LIMIT UINT64_C(4294967295)

typedef struct ChunkRange
{
	uint64_t	first_block;	/* ctid >= (first_block,0) */
	uint64_t	end_block;		/* ctid < (end_block,0); unused when open */
	bool		open_end;		/* the last range: no upper bound */
} ChunkRange;

extern uint64_t chunk_pages(uint64_t pages, int jobs);
extern uint32_t chunk_count(uint64_t pages, uint64_t per_chunk);
extern ChunkRange chunk_range(uint64_t per_chunk, uint32_t i, uint32_t count);

#endif							/* PG2ES_CHUNK_H */
