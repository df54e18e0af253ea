/*
 * log.h
 *		One line per event on stderr, as text or JSON.
 */
#ifndef PG2ES_LOG_H
#define PG2ES_LOG_H

#include "common.h"

typedef enum LogLevel
{
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR
} LogLevel;

typedef enum LogFormat
{
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON
} LogFormat;

/*
 * A state that is logged only when it changes, so a retry loop running for an
 * hour writes one line when the outage starts and one when it ends.
 */
typedef struct LogState
{
	int			current;		/* last state logged; 0 before the first */
} LogState;

extern void log_configure(LogFormat format, LogLevel min_level);
extern void log_partial_line(bool partial);
extern void log_end_partial_line(void);
extern void log_msg(LogLevel level, const char *fmt,...) PG2ES_PRINTF(2, 3);
extern void log_state(LogState *state, int value, LogLevel level,
					  const char *fmt,...) PG2ES_PRINTF(4, 5);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif							/* PG2ES_LOG_H */
