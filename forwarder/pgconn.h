/*
 * pgconn.h
 *		The forwarder's PostgreSQL client, as streamutil.c is pg_recvlogical's:
 *		opening every connection the same way, the replication commands
 *		IDENTIFY_SYSTEM and CREATE_REPLICATION_SLOT, reading a timeline
 *		history, and what a failure's SQLSTATE means for the caller.
 */
#ifndef PG2ES_PGCONN_H
#define PG2ES_PGCONN_H

#include <libpq-fe.h>

#include "buf.h"
#include "common.h"

/* pgconn_open flags */
#define PGCONN_REPLICATION 0x1	/* a walsender: replication=database */
#define PGCONN_NONBLOCKING 0x2	/* started only: the caller drives
								 * PQconnectPoll */

/* What a failed command means for whoever sent it (pgconn_error_of). */
typedef enum PgconnError
{
	PGCONN_OK,					/* no failure */
	PGCONN_ERR_CONNECTION,		/* connection lost, or the server going away */
	PGCONN_ERR_TRANSIENT,		/* the server cannot now: try again later */
	PGCONN_ERR_REQUEST,			/* the request or its data is wrong */
	PGCONN_ERR_OTHER,			/* anything else: a setting to fix */
	PGCONN_ERR_ANSWER			/* succeeded, with an answer not as expected */
} PgconnError;

extern PGconn *pgconn_open(const char *conninfo, int flags);
extern PgconnError pgconn_error_of(const PGresult *res);
extern PgconnError pgconn_sqlstate_class(const char *state);
extern bool pgconn_sqlstate_is(const PGresult *res, const char *state);
extern PG2ES_MUSTCHECK bool pgconn_in_recovery(PGconn *conn, bool *in_recovery);
extern PG2ES_MUSTCHECK bool pgconn_append_quoted(Buf *cmd, const char *text, char quote);
extern PG2ES_MUSTCHECK PgconnError pgconn_identify_system(PGconn *conn, uint32_t *timeline);
extern PG2ES_MUSTCHECK bool pgconn_history_switchpoint(const char *history, uint32_t tli,
													   Lsn *switchpoint);
extern PGresult *pgconn_create_slot(PGconn *conn, const char *name, bool temporary,
									bool export_snapshot, bool *failover);

#endif							/* PG2ES_PGCONN_H */
