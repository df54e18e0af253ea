/*
 * common.c
 *		Helpers shared by every forwarder module.
 */
#include "common.h"

#include <time.h>

/*
 * pg2es_now_us: CLOCK_MONOTONIC in microseconds; deadlines and latencies
 * must not jump with the wall clock.
 */
int64_t
pg2es_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
