/*
 * common.h
 *		Definitions shared by every forwarder module.
 */
#ifndef PG2ES_COMMON_H
#define PG2ES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The contract of every *_init and its *_free (one for all modules): an
 * init that fails has released what it took before returning false, so a
 * failed init needs no free; and a *_free is harmless on a zeroed object,
 * on one whose init failed and on one already freed.  So a caller frees
 * after a success, or on one cleanup path whatever happened, never both
 * ways for the same object.
 */

/* A fallible function's status must be looked at (pgbouncer's _MUSTCHECK). */
#define PG2ES_MUSTCHECK __attribute__((warn_unused_result))

/* printf-style argument checking for our logging helpers. */
#define PG2ES_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* A WAL position, as PostgreSQL's XLogRecPtr. */
typedef uint64_t Lsn;

#define LSN_FORMAT "%X/%X"
#define LSN_ARGS(lsn) ((unsigned int) ((lsn) >> 32)), ((unsigned int) (lsn))

/* Monotonic clock in microseconds, for deadlines and latencies. */
extern int64_t pg2es_now_us(void);

#endif							/* PG2ES_COMMON_H */
