/*
 * repl.h
 *		The logical replication connection to PostgreSQL (libpq).
 */
#ifndef PG2ES_REPL_H
#define PG2ES_REPL_H

#include <libpq-fe.h>

#include "common.h"

typedef struct ReplOptions
{
	const char *conninfo;		/* -d value, or NULL for the PG* variables */
	const char *slot;
	bool		create_slot;
	const char *const *opt_names;	/* plugin options from -o */
	const char *const *opt_values;	/* NULL = bare option */
	size_t		nopts;
} ReplOptions;

typedef enum ReplStatus
{
	REPL_OK,
	REPL_RETRY,					/* PostgreSQL unreachable or gone: try later */
	REPL_FATAL,					/* a setting is wrong: retrying cannot help */
	REPL_SLOT_LOST				/* the slot cannot be streamed
								 * (repl_lost_reason) */
} ReplStatus;

typedef enum ReplMsgKind
{
	REPL_MSG_NONE,				/* nothing buffered: wait for the socket */
	REPL_MSG_DATA,				/* 'w' XLogData */
	REPL_MSG_KEEPALIVE,			/* 'k' primary keepalive */
	REPL_MSG_END				/* the server ended the stream */
} ReplMsgKind;

typedef struct ReplMsg
{
	ReplMsgKind kind;
	Lsn			data_start;		/* 'w' */
	Lsn			wal_end;		/* 'w' and 'k' */
	bool		reply_requested;	/* 'k' */
	const char *data;			/* 'w' payload, valid until the next read */
	size_t		len;
} ReplMsg;

typedef struct Repl
{
	ReplOptions opt;
	PGconn	   *conn;
	char	   *copybuf;		/* from PQgetCopyData, freed on the next read */
	bool		flush_pending;	/* libpq holds unsent output */
	char		last_failure[512];	/* last connection failure logged */
	bool		streamed;		/* streaming started once: the slot was there */
	uint32_t	timeline;		/* the server's, at the last start */
	char		lost_reason[256];	/* why, after REPL_SLOT_LOST */
	Lsn			diverged_from;	/* lost at a timeline that ended before this
								 * confirmed position; else 0 */
} Repl;

extern void repl_init(Repl *repl, const ReplOptions *opt);
extern PG2ES_MUSTCHECK ReplStatus repl_connect(Repl *repl, Lsn start);
extern PG2ES_MUSTCHECK ReplStatus repl_read(Repl *repl, ReplMsg *msg);
extern void *repl_take_message(Repl *repl);
extern PG2ES_MUSTCHECK ReplStatus repl_send_feedback(Repl *repl, Lsn written, Lsn flushed,
													 bool reply_requested);
extern PG2ES_MUSTCHECK ReplStatus repl_flush(Repl *repl);
extern int	repl_socket(const Repl *repl);
extern void repl_finish(Repl *repl, Lsn written, Lsn flushed);
extern void repl_close(Repl *repl);
extern void repl_explain_refusal(PGconn *conn, const char *message);
extern const char *repl_lost_reason(const Repl *repl);
extern Lsn	repl_diverged_from(const Repl *repl);
extern PG2ES_MUSTCHECK bool repl_drop_lost_slot(Repl *repl);

#endif							/* PG2ES_REPL_H */
