/*-------------------------------------------------------------------------
 *
 * encode_datetime.c
 *		Dates, times and intervals as ISO 8601 JSON strings.
 *
 * Formatted from the stored integers, never through the text output
 * functions, so neither DateStyle, IntervalStyle nor TimeZone matters.
 * Elasticsearch's default date format (strict_date_optional_time) takes
 * exactly four year digits and a 'T' separator, and has no BC or infinity:
 * such values are written as null (see encode.c for the full table).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "encode_internal.h"

/* Longest text: sign, 7 year digits, date, time, fraction, zone, quotes */
#define ISO_DATETIME_MAXLEN 48

static char *put_digits(char *p, int64 value, int width);
static int	digit_count(int64 value, int min);
static char *put_fraction(char *p, int64 usec);
static char *put_time(char *p, int64 time);
static bool append_iso_datetime(StringInfo out, int32 days, int64 time,
								const char *zone, bool id_form);
static void split_timestamp(Timestamp ts, int32 *days, int64 *time);
static void append_timestamp_json(StringInfo out, Timestamp ts,
								  const char *zone);
static void append_duration_part(StringInfo out, int64 value, char unit);
static void append_iso_duration(StringInfo out, const Interval *iv);
static bool append_infinity_id_text(StringInfo out, bool is_infinite,
									bool negative);

/*
 * Writes value (>= 0) as exactly width digits, the most significant ones
 * dropped if it has more.  Returns the position after them.
 */
static char *
put_digits(char *p, int64 value, int width)
{
	char	   *q = p + width;

	while (q > p)
	{
		*--q = '0' + value % 10;
		value /= 10;
	}
	return p + width;
}

/*
 * Returns how many digits value (>= 0) has, at least min.
 */
static int
digit_count(int64 value, int min)
{
	int			n = 1;

	while (value >= 10)
	{
		value /= 10;
		n++;
	}
	return Max(n, min);
}

/*
 * Writes "." and usec (0 to 999999 microseconds) as up to six fraction
 * digits without trailing zeros; nothing when usec is 0.
 */
static char *
put_fraction(char *p, int64 usec)
{
	int			width = 6;

	if (usec == 0)
		return p;
	while (usec % 10 == 0)
	{
		usec /= 10;
		width--;
	}
	*p++ = '.';
	return put_digits(p, usec, width);
}

/*
 * Writes "HH:MM:SS" and the fraction of the second, if any.  time is
 * microseconds since midnight (at most 24:00:00).
 */
static char *
put_time(char *p, int64 time)
{
	p = put_digits(p, time / USECS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, time / USECS_PER_MINUTE % MINS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, time / USECS_PER_SEC % SECS_PER_MINUTE, 2);
	return put_fraction(p, time % USECS_PER_SEC);
}

/*
 * Appends the date days (since 2000-01-01) and, when time >= 0, "T" and the
 * time of day, then zone (or nothing when NULL).  As JSON (id_form false):
 * quoted, and only for years 1 to 9999, else nothing is written and the
 * result is false.  As _id text (id_form true): unquoted, any year, written
 * with a sign when it is not positive (astronomical numbering: 0 = 1 BC) and
 * at least four digits.
 */
static bool
append_iso_datetime(StringInfo out, int32 days, int64 time,
					const char *zone, bool id_form)
{
	char		buf[ISO_DATETIME_MAXLEN];
	char	   *p = buf;
	int			year;
	int			month;
	int			day;

	j2date(days + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (!id_form && (year < 1 || year > 9999))
		return false;
	if (!id_form)
		*p++ = '"';
	if (year < 0)
		*p++ = '-';
	p = put_digits(p, abs(year), digit_count(abs(year), 4));
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	if (time >= 0)
	{
		*p++ = 'T';
		p = put_time(p, time);
	}
	if (zone != NULL)
		*p++ = *zone;
	if (!id_form)
		*p++ = '"';
	appendBinaryStringInfo(out, buf, p - buf);
	return true;
}

/*
 * Splits a finite timestamp into days since 2000-01-01 and microseconds
 * since that day's midnight (never negative, unlike plain division).
 */
static void
split_timestamp(Timestamp ts, int32 *days, int64 *time)
{
	int64		d = ts / USECS_PER_DAY;
	int64		t = ts - d * USECS_PER_DAY;

	if (t < 0)
	{
		t += USECS_PER_DAY;
		d--;
	}
	*days = (int32) d;
	*time = t;
}

/*
 * Appends the JSON form of timestamp ts, then zone (or nothing when NULL):
 * null when it is infinite or outside years 1 to 9999.
 */
static void
append_timestamp_json(StringInfo out, Timestamp ts, const char *zone)
{
	int32		days;
	int64		time;

	if (TIMESTAMP_NOT_FINITE(ts))
	{
		appendBinaryStringInfo(out, "null", 4);
		return;
	}
	split_timestamp(ts, &days, &time);
	if (!append_iso_datetime(out, days, time, zone, false))
		appendBinaryStringInfo(out, "null", 4);
}

/*
 * date, timestamp, timestamptz and time: EncodeFuncs (contract in encode.h)
 * writing the forms listed at the top of encode.c.
 */
void
encode_date(StringInfo out, Datum value, const ValueEncoder *enc)
{
	DateADT		d = DatumGetDateADT(value);

	if (DATE_NOT_FINITE(d) || !append_iso_datetime(out, d, -1, NULL, false))
		appendBinaryStringInfo(out, "null", 4);
}

void
encode_timestamp(StringInfo out, Datum value, const ValueEncoder *enc)
{
	append_timestamp_json(out, DatumGetTimestamp(value), NULL);
}

/* timestamptz is stored in UTC: the same digits as timestamp, then Z */
void
encode_timestamptz(StringInfo out, Datum value, const ValueEncoder *enc)
{
	append_timestamp_json(out, DatumGetTimestampTz(value), "Z");
}

void
encode_time(StringInfo out, Datum value, const ValueEncoder *enc)
{
	char		buf[ISO_DATETIME_MAXLEN];
	char	   *p = buf;

	*p++ = '"';
	p = put_time(p, DatumGetTimeADT(value));
	*p++ = '"';
	appendBinaryStringInfo(out, buf, p - buf);
}

/*
 * timetz: the stored local time and its UTC offset, "+HH:MM", with ":SS"
 * only for offsets with seconds (the stored zone is seconds west of UTC).
 */
void
encode_timetz(StringInfo out, Datum value, const ValueEncoder *enc)
{
	TimeTzADT  *t = DatumGetTimeTzADTP(value);
	int			east = -t->zone;
	int			offset = abs(east);
	char		buf[ISO_DATETIME_MAXLEN];
	char	   *p = buf;

	*p++ = '"';
	p = put_time(p, t->time);
	*p++ = east < 0 ? '-' : '+';
	p = put_digits(p, offset / SECS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, offset / SECS_PER_MINUTE % MINS_PER_HOUR, 2);
	if (offset % SECS_PER_MINUTE != 0)
	{
		*p++ = ':';
		p = put_digits(p, offset % SECS_PER_MINUTE, 2);
	}
	*p++ = '"';
	appendBinaryStringInfo(out, buf, p - buf);
}

/*
 * Appends one signed duration part ("-3D"), nothing when it is zero.
 */
static void
append_duration_part(StringInfo out, int64 value, char unit)
{
	if (value == 0)
		return;
	json_append_int64(out, value);
	appendStringInfoChar(out, unit);
}

/*
 * Appends iv as an ISO 8601 duration without quotes, like IntervalStyle
 * iso_8601: months as years and months, days, then the time split into
 * hours, minutes and seconds, each part carrying its own sign.
 */
static void
append_iso_duration(StringInfo out, const Interval *iv)
{
	int64		t = iv->time;
	int64		hours = t / USECS_PER_HOUR;
	int64		minutes;
	char		buf[ISO_DATETIME_MAXLEN];
	char	   *p = buf;

	if (iv->month == 0 && iv->day == 0 && t == 0)
	{
		appendStringInfoString(out, "PT0S");
		return;
	}
	appendStringInfoChar(out, 'P');
	append_duration_part(out, iv->month / MONTHS_PER_YEAR, 'Y');
	append_duration_part(out, iv->month % MONTHS_PER_YEAR, 'M');
	append_duration_part(out, iv->day, 'D');
	if (t == 0)
		return;
	appendStringInfoChar(out, 'T');
	t -= hours * USECS_PER_HOUR;
	minutes = t / USECS_PER_MINUTE;
	t -= minutes * USECS_PER_MINUTE;
	append_duration_part(out, hours, 'H');
	append_duration_part(out, minutes, 'M');
	if (t == 0)
		return;
	if (t < 0)
	{
		*p++ = '-';
		t = -t;
	}
	p = put_digits(p, t / USECS_PER_SEC, digit_count(t / USECS_PER_SEC, 1));
	p = put_fraction(p, t % USECS_PER_SEC);
	*p++ = 'S';
	appendBinaryStringInfo(out, buf, p - buf);
}

/* interval: the ISO 8601 duration; infinite ones (17 and later): null */
void
encode_interval(StringInfo out, Datum value, const ValueEncoder *enc)
{
	Interval   *iv = DatumGetIntervalP(value);

#ifdef INTERVAL_NOT_FINITE
	if (INTERVAL_NOT_FINITE(iv))
	{
		appendBinaryStringInfo(out, "null", 4);
		return;
	}
#endif
	appendStringInfoChar(out, '"');
	append_iso_duration(out, iv);
	appendStringInfoChar(out, '"');
}

/*
 * Appends "infinity" or "-infinity" for is_infinite values and returns
 * true; returns false otherwise.
 */
static bool
append_infinity_id_text(StringInfo out, bool is_infinite, bool negative)
{
	if (!is_infinite)
		return false;
	appendStringInfoString(out, negative ? "-infinity" : "infinity");
	return true;
}

/*
 * See encode_internal.h: the _id texts of date, timestamp and timestamptz
 * values, for which JSON has only null outside years 1 to 9999, and of
 * intervals, which are infinite too from PostgreSQL 17 on.
 */
void
id_text_date(StringInfo out, Datum value, const ValueEncoder *enc)
{
	DateADT		d = DatumGetDateADT(value);

	if (!append_infinity_id_text(out, DATE_NOT_FINITE(d), DATE_IS_NOBEGIN(d)))
		append_iso_datetime(out, d, -1, NULL, true);
}

/* timestamp and timestamptz (then Z: it is stored in UTC) */
void
id_text_timestamp(StringInfo out, Datum value, const ValueEncoder *enc)
{
	Timestamp	ts = DatumGetTimestamp(value);
	int32		days;
	int64		time;

	if (append_infinity_id_text(out, TIMESTAMP_NOT_FINITE(ts),
								TIMESTAMP_IS_NOBEGIN(ts)))
		return;
	split_timestamp(ts, &days, &time);
	append_iso_datetime(out, days, time,
						enc->basetypid == TIMESTAMPTZOID ? "Z" : NULL, true);
}

void
id_text_interval(StringInfo out, Datum value, const ValueEncoder *enc)
{
#ifdef INTERVAL_NOT_FINITE
	Interval   *iv = DatumGetIntervalP(value);

	if (append_infinity_id_text(out, INTERVAL_NOT_FINITE(iv),
								INTERVAL_IS_NOBEGIN(iv)))
		return;
#endif
	id_text_unquoted(out, value, enc);
}
