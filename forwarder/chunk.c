/*
 * chunk.c
 *		Splitting a table's heap into block ranges (see chunk.h).
 */
#include "chunk.h"

/* chunks per load connection a large table is cut into */
#define CHUNKS_PER_JOB 4

/*
 * chunk_pages: pages per chunk for a table of pages copied by jobs
 * connections: enough chunks that every connection gets several (so one
 * slow range does not leave the others idle at the end), none smaller than
 * CHUNK_MIN_PAGES (a query per chunk costs a scan start) or larger than
 * CHUNK_MAX_PAGES.
 */
uint64_t
chunk_pages(uint64_t pages, int jobs)
{
	uint64_t	n = (uint64_t) (jobs > 0 ? jobs : 1) * CHUNKS_PER_JOB;
	uint64_t	per = (pages + n - 1) / n;

	if (per < CHUNK_MIN_PAGES)
		per = CHUNK_MIN_PAGES;
	if (per > CHUNK_MAX_PAGES)
		per = CHUNK_MAX_PAGES;
	return per;
}

/*
 * chunk_count: how many ranges of per_chunk pages cover pages (at least
 * one, so an empty table is still read once: it may have grown).
 */
uint32_t
chunk_count(uint64_t pages, uint64_t per_chunk)
{
	uint64_t	n;

	if (per_chunk == 0)
		return 1;
	if (pages > CHUNK_BLOCK_LIMIT)
		pages = CHUNK_BLOCK_LIMIT;
	n = (pages + per_chunk - 1) / per_chunk;
	return n == 0 ? 1 : (uint32_t) n;
}

/*
 * chunk_range: range number i of count (from chunk_count with the same
 * per_chunk); the last one is open-ended.
 */
ChunkRange
chunk_range(uint64_t per_chunk, uint32_t i, uint32_t count)
{
	ChunkRange	r;

	r.first_block = (uint64_t) i * per_chunk;
	r.end_block = r.first_block + per_chunk;
	r.open_end = i + 1 >= count;
	if (r.end_block > CHUNK_BLOCK_LIMIT)
		r.end_block = CHUNK_BLOCK_LIMIT;
	return r;
}
