/*
 * common.h
 *		Definitions shared by every forwarder module.
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

#define LSN_FORMAT "%X/%X"
#define LSN_ARGS(lsn) ((unsigned int) ((lsn) >> 32)), ((unsigned int) (lsn))

/* Monotonic clock in microseconds, for deadlines and latencies. */
extern int64_t pg2es_now_us(void);

#endif							/* PG2ES_COMMON_H */
