/*
 * common.h
 *		Definitions shared by every forwarder module: the WAL position and
 *		its text form, the clocks, and the big-endian integers of
 *		PostgreSQL's wire formats (one copy each).
 */
#ifndef PG2ES_COMMON_H
#define PG2ES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fallible function's status must be looked at (pgbouncer's _MUSTCHECK). */
#define PG2ES_MUSTCHECK __attribute__((warn_unused_result))

/* printf-style argument checking for our logging helpers. */
#define PG2ES_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* A WAL position, as PostgreSQL's XLogRecPtr. */
typedef uint64_t Lsn;

/* Its text form, as the server's pg_lsn ("16/B374D848"); lsn_parse reads it. */
#define LSN_FORMAT "%X/%X"
#define LSN_ARGS(lsn) ((unsigned int) ((lsn) >> 32)), ((unsigned int) (lsn))

extern size_t lsn_scan(const char *text, Lsn *lsn);
extern PG2ES_MUSTCHECK bool lsn_parse(const char *text, Lsn *lsn);

/* Monotonic clock in microseconds, for deadlines and latencies. */
extern int64_t pg2es_now_us(void);

/* Wall clock in microseconds since the Unix epoch, for timestamps. */
extern int64_t pg2es_wall_us(void);
extern int64_t pg2es_pg_timestamp(int64_t unix_us);

/*
 * Big-endian (network order) integers at p, which needs no alignment, as
 * PostgreSQL's protocol and binary COPY carry them. Inline: the initial
 * load reads two for every field it copies.
 */
static inline uint16_t
read_be16(const char *p)
{
	return (uint16_t) (((unsigned) (unsigned char) p[0] << 8) | (unsigned char) p[1]);
}

static inline uint32_t
read_be32(const char *p)
{
	return ((uint32_t) read_be16(p) << 16) | read_be16(p + 2);
}

static inline uint64_t
read_be64(const char *p)
{
	return ((uint64_t) read_be32(p) << 32) | read_be32(p + 4);
}

static inline void
write_be64(char *p, uint64_t v)
{
	int			i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char) (v & 0xff);
}

#endif							/* PG2ES_COMMON_H */
