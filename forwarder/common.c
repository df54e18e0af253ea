/*
 * common.c
 *		Helpers shared by every forwarder module (see common.h).
 */
#include "common.h"

#include <string.h>
#include <time.h>

/* seconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC) */
#define PG_EPOCH_OFFSET_SECS INT64_C(946684800)

/* at most 8 hex digits on each side of the slash, as the server's pg_lsn */
#define LSN_HALF_MAX_DIGITS 8

/*
 * scan_lsn_half: the 1 to LSN_HALF_MAX_DIGITS hex digits at text into
 * *half; returns how many there are, 0 when that is not 1 to 8.
 */
static size_t
scan_lsn_half(const char *text, uint32_t *half)
{
	size_t		n = strspn(text, "0123456789abcdefABCDEF");
	size_t		i;

	if (n == 0 || n > LSN_HALF_MAX_DIGITS)
		return 0;
	*half = 0;
	for (i = 0; i < n; i++)
		*half = (*half << 4) | (uint32_t) (text[i] <= '9' ? text[i] - '0'
										   : (text[i] | 0x20) - 'a' + 10);
	return n;
}

/*
 * lsn_scan: the LSN in LSN_FORMAT at the start of text into *lsn. Returns
 * the number of characters it took, 0 (and *lsn untouched) when text does
 * not start with one. Strict like the server's pg_lsn input: no sign, no
 * "0x", no blanks, so that a mistyped position is refused, not misread.
 */
size_t
lsn_scan(const char *text, Lsn *lsn)
{
	uint32_t	hi;
	uint32_t	lo;
	size_t		nhi = scan_lsn_half(text, &hi);
	size_t		nlo;

	if (nhi == 0 || text[nhi] != '/' || (nlo = scan_lsn_half(text + nhi + 1, &lo)) == 0)
		return 0;
	*lsn = ((Lsn) hi << 32) | lo;
	return nhi + 1 + nlo;
}

/*
 * lsn_parse: text is exactly one LSN, into *lsn; false when it is not.
 */
bool
lsn_parse(const char *text, Lsn *lsn)
{
	Lsn			v;
	size_t		n = lsn_scan(text, &v);

	if (n == 0 || text[n] != '\0')
		return false;
	*lsn = v;
	return true;
}

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

/*
 * pg2es_wall_us: CLOCK_REALTIME in microseconds since the Unix epoch: what
 * is compared with commit times or shown to people and servers.
 */
int64_t
pg2es_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * pg2es_pg_timestamp: the Unix-epoch time unix_us (microseconds) as the
 * server counts time on the wire (TimestampTz: microseconds since
 * 2000-01-01 UTC), e.g. the send time of a standby status update.
 */
int64_t
pg2es_pg_timestamp(int64_t unix_us)
{
	return unix_us - PG_EPOCH_OFFSET_SECS * 1000000;
}
