/*
 * test_common.c
 *		Unit tests for common.c: the LSN text form, the big-endian codecs,
 *		the clocks and the PostgreSQL-epoch conversion.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tap.h"

/* format lsn with LSN_FORMAT and parse it back */
static bool
round_trips(Lsn lsn)
{
	char		text[32];
	Lsn			back = 0;

	snprintf(text, sizeof(text), LSN_FORMAT, LSN_ARGS(lsn));
	return lsn_parse(text, &back) && back == lsn;
}

static void
test_lsn(void)
{
	Lsn			lsn = 42;
	const char *const bad[] = {"", "16B374D848", "1/2x", "/1", "1/", "0x1/2", "1/0x2",
		"-1/2", "1/-2", "+1/2", " 1/2", "1 /2", "1/ 2", "1/2 ", "123456789/0", "0/123456789",
	"1//2", "g/1"};
	size_t		i;
	bool		all = true;

	ok(lsn_parse("16/B374D848", &lsn) && lsn == UINT64_C(0x16B374D848), "an LSN is parsed");
	ok(lsn_parse("ffffffff/FFFFFFFF", &lsn) && lsn == UINT64_MAX, "both cases of hex digits, to the top");
	ok(lsn_parse("00000000/00000001", &lsn) && lsn == 1, "eight digits with leading zeros");
	ok(round_trips(0) && round_trips(1) && round_trips(UINT64_C(0x16B374D848)) &&
	   round_trips(UINT64_C(0xFFFFFFFF)) && round_trips(UINT64_C(0x100000000)) &&
	   round_trips(UINT64_MAX), "LSN_FORMAT and lsn_parse round-trip");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		lsn = 42;
		if (lsn_parse(bad[i], &lsn) || lsn != 42)
		{
			all = false;
			printf("# accepted or touched: \"%s\"\n", bad[i]);
		}
	}
	ok(all, "what the server's pg_lsn refuses is refused, the value untouched");
	ok(lsn_scan("1/2\treason", &lsn) == 3 && lsn == UINT64_C(0x100000002),
	   "lsn_scan takes the LSN at the start and says how long it is");
	lsn = 42;
	ok(lsn_scan("x1/2", &lsn) == 0 && lsn == 42, "lsn_scan: 0 when text does not start with one");
}

static void
test_big_endian(void)
{
	const char	bytes[8] = {(char) 0x01, (char) 0x82, (char) 0x03, (char) 0xf4,
	(char) 0x05, (char) 0x06, (char) 0xa7, (char) 0xff};
	char		out[10];
	uint64_t	v = UINT64_C(0x0102030405060708);

	ok(read_be16(bytes) == 0x0182 && read_be16(bytes + 6) == 0xa7ff, "read_be16");
	ok(read_be32(bytes) == UINT32_C(0x018203f4) && read_be32(bytes + 4) == UINT32_C(0x0506a7ff),
	   "read_be32, bytes with the high bit set included");
	ok(read_be64(bytes) == UINT64_C(0x018203f40506a7ff), "read_be64");
	memset(out, 'x', sizeof(out));
	write_be64(out + 1, v);
	ok(memcmp(out + 1, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0 && out[0] == 'x' && out[9] == 'x',
	   "write_be64 writes eight bytes, most significant first, unaligned");
	write_be64(out + 1, UINT64_MAX - 1);
	ok(read_be64(out + 1) == UINT64_MAX - 1, "write_be64 and read_be64 round-trip");
	ok(read_be16(bytes + 1) == 0x8203 && read_be32(bytes + 3) == UINT32_C(0xf40506a7),
	   "reads at odd addresses");
}

static void
test_clocks(void)
{
	int64_t		a = pg2es_now_us();
	int64_t		b = pg2es_now_us();
	int64_t		wall = pg2es_wall_us();

	ok(b >= a, "the monotonic clock does not go back");

	/*
	 * 2020-01-01 and 2100-01-01 in Unix microseconds: the wall clock is in
	 * µs
	 */
	ok(wall > INT64_C(1577836800) * 1000000 && wall < INT64_C(4102444800) * 1000000,
	   "the wall clock counts microseconds since the Unix epoch");
	ok(pg2es_pg_timestamp(INT64_C(946684800) * 1000000) == 0,
	   "2000-01-01 00:00 UTC is PostgreSQL's epoch");
	ok(pg2es_pg_timestamp(0) == -INT64_C(946684800) * 1000000,
	   "the Unix epoch is 30 years before it");

	/*
	 * 2024-02-29 12:34:56.789012 UTC: Unix 1709210096789012, server
	 * 762525296789012
	 */
	ok(pg2es_pg_timestamp(INT64_C(1709210096789012)) == INT64_C(762525296789012),
	   "a time after a leap day keeps its microseconds");
}

int
main(void)
{
	test_lsn();
	test_big_endian();
	test_clocks();
	return done_testing();
}
