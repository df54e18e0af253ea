/*
 * allocfail.h
 *		What the allocation-failing allocator (allocfail.c) tells tap.h.
 */
#ifndef PG2ES_ALLOCFAIL_H
#define PG2ES_ALLOCFAIL_H

#include <stdbool.h>

/* whether the failure was injected since the last call (and forgets it) */
extern bool allocfail_take(void);

/* whether the failure was injected at all in this run */
extern bool allocfail_injected(void);

/* whether it fell inside a parse of input that does not parse anyway */
extern bool allocfail_absorbed(void);

/* allocations counted so far */
extern unsigned long allocfail_count(void);

/* PG2ES_ALLOC_FAIL: the allocation that fails (0: none) */
extern unsigned long allocfail_target(void);

#endif							/* PG2ES_ALLOCFAIL_H */
