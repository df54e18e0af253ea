/*
 * log.c
 *		One line per event on stderr, as text or JSON.
 *
 * Text: "2024-05-01T10:00:00.123Z pg2es: LEVEL: message".
 * JSON: {"ts":"...","level":"...","msg":"..."}; the message is escaped so each
 * event stays one line whatever it contains.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"

static LogFormat log_format = LOG_FORMAT_TEXT;
static LogLevel log_min_level = LOG_LEVEL_INFO;
static bool partial_line = false;	/* stderr holds an unfinished line */

static const char *const level_names[] = {"debug", "info", "warning", "error"};

/*
 * log_configure: set the output format and the lowest level written.
 */
void
log_configure(LogFormat format, LogLevel min_level)
{
	log_format = format;
	log_min_level = min_level;
}

/*
 * format_timestamp: UTC wall clock with milliseconds into out (>= 32 bytes).
 */
static void
format_timestamp(char *out, size_t outlen)
{
	int64_t		us = pg2es_wall_us();
	time_t		secs = (time_t) (us / 1000000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&secs, &tm);
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, outlen - n, ".%03dZ", (int) (us % 1000000 / 1000));
}

/*
 * write_json_string: write s as a JSON string body (no quotes) to f.
 */
static void
write_json_string(FILE *f, const char *s)
{
	char		esc[7];
	size_t		n;

	for (; *s; s++)
	{
		if ((n = json_escape_byte((unsigned char) *s, esc)) > 0)
			fwrite(esc, 1, n, f);
		else
			fputc(*s, f);
	}
}

/*
 * log_partial_line: whether the last thing written to stderr is a line
 * left unfinished on purpose (the load's progress, rewritten in place on a
 * terminal); the next event line erases it first.
 */
void
log_partial_line(bool partial)
{
	partial_line = partial;
}

/*
 * log_end_partial_line: erase an unfinished line (see log_partial_line).
 */
void
log_end_partial_line(void)
{
	if (partial_line)
		fputs("\r\033[K", stderr);
	partial_line = false;
}

/*
 * log_write: write one event line; the message is truncated at 2 kB.
 */
static void
log_write(LogLevel level, const char *fmt, va_list ap)
{
	char		msg[2048];
	char		ts[40];
	char	   *nl;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	format_timestamp(ts, sizeof(ts));
	log_end_partial_line();
	if (log_format == LOG_FORMAT_JSON)
	{
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
				level_names[level]);
		write_json_string(stderr, msg);
		fputs("\"}\n", stderr);
		return;
	}
	/* text mode: keep the event on one line even if a server message has \n */
	while ((nl = strchr(msg, '\n')) != NULL)
		*nl = ' ';
	fprintf(stderr, "%s pg2es: %s: %s\n", ts, level_names[level], msg);
}

/*
 * log_msg: write one event at level if it is not filtered out.
 */
void
log_msg(LogLevel level, const char *fmt,...)
{
	va_list		ap;

	if (level < log_min_level)
		return;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

/*
 * log_state: write the event only if value differs from the state last
 * logged through this LogState, then remember value.
 */
void
log_state(LogState *state, int value, LogLevel level, const char *fmt,...)
{
	va_list		ap;

	if (state->current == value)
		return;
	state->current = value;
	if (level < log_min_level)
		return;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}
