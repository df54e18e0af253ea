/*
 * main.c
 *		pg2es: stream a logical replication slot to Elasticsearch _bulk.
 *
 * Wiring only: configuration, signals, the reconnect loop, and the streaming
 * loop modelled on pg_recvlogical's StreamLogicalLog.
 */
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "http.h"
#include "load.h"
#include "log.h"
#include "mapping.h"
#include "reindex.h"
#include "repl.h"
#include "reqtable.h"
#include "slot.h"
#include "sync.h"
#include "verify.h"
#include "wait.h"

/* how long SIGTERM waits for buffered changes to be acknowledged */
#define SHUTDOWN_GRACE_US (20 * 1000000)
/*
 * While data keeps coming, the next read waits this long (serving curl
 * meanwhile), so that one wakeup takes many messages: waking for every
 * small transaction cost more CPU than handling it. At most this much is
 * added to a change's latency, which the batch linger (--bulk-linger-ms)
 * dwarfs anyway.
 */
#define READ_COALESCE_MS 1
/* run_sync's status when the slot was lost: start over with a new one */
#define EXIT_START_OVER (-1)
/* PostgreSQL reconnect backoff: 1 s doubling to 30 s */
#define RECONNECT_MIN_US 1000000
#define RECONNECT_MAX_US (30 * 1000000)

static volatile sig_atomic_t stop_requested = 0;

/* Why a streaming session ended. */
typedef enum StreamEnd
{
	STREAM_CONTINUE,			/* not ended */
	STREAM_DONE,				/* shutdown or --endpos: exit 0 */
	STREAM_LOST,				/* PostgreSQL went away: reconnect */
	STREAM_PAUSED,				/* Elasticsearch stalled: let PostgreSQL go */
	STREAM_FATAL				/* exit 1 */
} StreamEnd;

/* State of one streaming session. */
typedef struct Stream
{
	const Config *cfg;
	Repl	   *repl;
	Sync	   *sync;
	Http	   *http;
	Metrics    *metrics;
	Lsn			received;		/* newest WAL position the server reported */
	Lsn			reported;		/* flush position last sent */
	int64_t		next_status_us;
	bool		reply_now;
	bool		got_data;		/* the last read returned data messages */
	bool		draining;		/* stop reading; finish what is buffered */
	int64_t		drain_deadline_us;
	SlotMonitor *slot_monitor;	/* retained WAL, for /metrics (slot.h) */
} Stream;

static void on_stop_signal(int signo);
static PG2ES_MUSTCHECK bool install_signals(void);
static bool send_feedback_if_due(Stream *s, int64_t now);
static StreamEnd read_messages(Stream *s, int64_t now);
static bool wait_for_io(Stream *s, int64_t now, bool reading);
static bool finished(Stream *s, int64_t now);
static StreamEnd stream(Stream *s);
static bool wait_serving(Sync *sync, Http *http, const Metrics *metrics, int timeout_ms);
static bool sleep_interruptibly(Sync *sync, Http *http, const Metrics *metrics, int64_t us);
static bool wait_out_stall(Sync *sync, Http *http, const Metrics *metrics);
static int	slot_was_lost(const Config *cfg, Repl *repl, Metrics *metrics, Lsn *must_pass);
static bool wait_wal_past(const Config *cfg, Sync *sync, Http *http, const Metrics *metrics, Lsn lsn);
static int	stream_sessions(const Config *cfg, Sync *sync, Http *http, Metrics *metrics,
							SlotMonitor *monitor, Lsn *must_pass);
static int	run_sync(const Config *cfg, Sync *sync, Http *http, Metrics *metrics);
static void serve_refreshes(const Config *cfg, Http *http, Refresher *refresher);
static int	run_with_reindex(const Config *cfg, Sync *sync, Http *http, Metrics *metrics);
static int	run_forwarder(Config *cfg);

/*
 * on_stop_signal: SIGTERM/SIGINT handler; only sets the flag.
 */
static void
on_stop_signal(int signo)
{
	stop_requested = 1;
}

/*
 * install_signals: stop on SIGTERM and SIGINT, ignore SIGPIPE (a closed
 * socket is reported by the call that wrote to it). Returns false (logged)
 * when one cannot be set: a forwarder that a SIGTERM would kill mid-batch,
 * or a SIGPIPE end silently, must not start.
 */
static PG2ES_MUSTCHECK bool
install_signals(void)
{
	struct sigaction sa;
	struct sigaction ignore;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	if (sigemptyset(&sa.sa_mask) != 0 || sigemptyset(&ignore.sa_mask) != 0 ||
		sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
		sigaction(SIGPIPE, &ignore, NULL) != 0)
	{
		log_error("could not install the signal handlers: %m");
		return false;
	}
	return true;
}

/*
 * send_feedback_if_due: status update when the interval has passed, the
 * server asked for one, or there is a newer position to confirm.
 */
static bool
send_feedback_if_due(Stream *s, int64_t now)
{
	Lsn			flush = s->sync->ack.confirmed;

	if (!s->reply_now && now < s->next_status_us && flush == s->reported)
		return true;
	if (repl_send_feedback(s->repl, s->received > flush ? s->received : flush, flush,
						   false) != REPL_OK)
		return false;
	log_debug("confirmed " LSN_FORMAT, LSN_ARGS(flush));
	s->reported = flush;
	s->reply_now = false;
	s->next_status_us = now + (int64_t) s->cfg->status_interval_ms * 1000;
	return true;
}

/*
 * read_messages: drain what the server has sent, until the socket would
 * block or the buffered bytes reach --max-memory (backpressure: PostgreSQL
 * keeps the WAL meanwhile).
 */
static StreamEnd
read_messages(Stream *s, int64_t now)
{
	ReplMsg		msg;

	s->got_data = false;
	while (sync_buffered_bytes(s->sync) < s->cfg->max_memory)
	{
		ReplStatus	rs = repl_read(s->repl, &msg);

		if (rs != REPL_OK)
			return rs == REPL_FATAL ? STREAM_FATAL : STREAM_LOST;
		if (msg.kind == REPL_MSG_NONE)
			break;
		if (msg.kind == REPL_MSG_END)
			return STREAM_LOST;
		if (msg.wal_end > s->received)
			s->received = msg.wal_end;
		if (msg.kind == REPL_MSG_KEEPALIVE)
		{
			sync_keepalive(s->sync, msg.wal_end);
			s->reply_now |= msg.reply_requested;
			continue;
		}
		/* the sync takes the message's block: a large item is not copied */
		switch (sync_add_owned_message(s->sync, repl_take_message(s->repl), msg.data, msg.len,
									   now))
		{
			case SYNC_OK:
				break;
			case SYNC_RECONNECT:
				return STREAM_LOST;
			case SYNC_FATAL:
				return STREAM_FATAL;
		}
		s->got_data = true;
	}
	return STREAM_CONTINUE;
}

/*
 * wait_for_io: sleep until the replication socket, curl, or the metrics
 * socket needs us, or the earliest deadline. Right after a read that
 * returned data the replication socket is left out for READ_COALESCE_MS
 * (see there).
 */
static bool
wait_for_io(Stream *s, int64_t now, bool reading)
{
	struct curl_waitfd fds[2];
	unsigned int nfds = 0;
	int64_t		deadline = sync_deadline(s->sync, now);
	int64_t		timeout;

	if (s->next_status_us < deadline)
		deadline = s->next_status_us;
	timeout = (deadline - now) / 1000 + 1;
	if (timeout > 1000 || s->draining)
		timeout = s->draining ? 100 : 1000;
	if (reading && s->got_data && !s->repl->flush_pending)
	{
		reading = false;
		if (timeout > READ_COALESCE_MS)
			timeout = READ_COALESCE_MS;
	}
	fds[nfds].fd = repl_socket(s->repl);
	fds[nfds].events = (short) ((reading ? POLLIN : 0) | (s->repl->flush_pending ? POLLOUT : 0));
	fds[nfds++].revents = 0;
	return http_wait(s->http, s->metrics, sync_es(s->sync), fds, nfds, (int) timeout);
}

/*
 * finished: whether the session should end now: after SIGTERM once
 * everything is acknowledged (or the grace time is over), or at --endpos.
 */
static bool
finished(Stream *s, int64_t now)
{
	if (stop_requested && !s->draining)
	{
		log_info("stopping: sending what is buffered");
		s->draining = true;
		s->drain_deadline_us = now + SHUTDOWN_GRACE_US;
		sync_flush_now(s->sync);
	}
	if (s->cfg->endpos && s->sync->ack.confirmed >= s->cfg->endpos)
		return true;
	if (!s->draining)
		return false;
	if (sync_idle(s->sync))
		return true;
	if (now >= s->drain_deadline_us)
	{
		log_warning("Elasticsearch did not take everything in time; the rest will be sent again at the next start");
		return true;
	}
	return false;
}

/*
 * stream: one session on a started replication connection.
 */
static StreamEnd
stream(Stream *s)
{
	StreamEnd	end;

	for (;;)
	{
		int64_t		now = pg2es_now_us();
		bool		reading = !s->draining && sync_buffered_bytes(s->sync) < s->cfg->max_memory;

		if (finished(s, now))
		{
			repl_finish(s->repl, s->received, s->sync->ack.confirmed);
			return STREAM_DONE;
		}
		if (!s->draining && sync_stalled(s->sync, now))
			return STREAM_PAUSED;
		slot_monitor_poll(s->slot_monitor, s->metrics, now);
		if (s->sync->reindex)
			reindex_poll(s->sync->reindex, s->metrics);
		if (!send_feedback_if_due(s, now) ||
			(s->repl->flush_pending && repl_flush(s->repl) != REPL_OK))
			return STREAM_LOST;
		if (reading && (end = read_messages(s, now)) != STREAM_CONTINUE)
			return end;
		if (sync_run(s->sync, now) != SYNC_OK)
			return STREAM_FATAL;
		if (!send_feedback_if_due(s, pg2es_now_us()))
			return STREAM_LOST;
		reading = !s->draining && sync_buffered_bytes(s->sync) < s->cfg->max_memory;
		if (!wait_for_io(s, pg2es_now_us(), reading))
			return STREAM_FATAL;
	}
}

/*
 * wait_serving: wait up to timeout_ms for curl's sockets or the metrics
 * endpoint, serving the latter. Returns false on a client failure (logged).
 */
static bool
wait_serving(Sync *sync, Http *http, const Metrics *metrics, int timeout_ms)
{
	struct curl_waitfd fd;

	return http_wait(http, metrics, sync_es(sync), &fd, 0, timeout_ms);
}

/*
 * sleep_interruptibly: wait up to us microseconds (serving the metrics
 * endpoint meanwhile); returns early on a stop signal.
 */
static bool
sleep_interruptibly(Sync *sync, Http *http, const Metrics *metrics, int64_t us)
{
	int64_t		until = pg2es_now_us() + us;

	while (!stop_requested && pg2es_now_us() < until)
		if (!wait_serving(sync, http, metrics, 200))
			return false;
	return true;
}

/*
 * wait_out_stall: with the replication connection closed, go on sending
 * what is buffered until Elasticsearch has taken all of it, or a stop
 * signal comes (what is left is then decoded again at the next start).
 */
static bool
wait_out_stall(Sync *sync, Http *http, const Metrics *metrics)
{
	while (!stop_requested && !sync_idle(sync))
	{
		int64_t		now = pg2es_now_us();
		int64_t		wait_ms;

		if (sync_run(sync, now) != SYNC_OK)
			return false;
		wait_ms = (sync_deadline(sync, now) - now) / 1000 + 1;
		if (!wait_serving(sync, http, metrics,
						  wait_ms > 200 || wait_ms < 0 ? 200 : (int) wait_ms))
			return false;
	}
	return true;
}

/*
 * slot_was_lost: repl_connect found the slot lost (slot.h): count it, say
 * so, and with --create-slot (and a load allowed) drop what is left of it
 * and return EXIT_START_OVER (a new slot and a new initial load); else 1.
 */
static int
slot_was_lost(const Config *cfg, Repl *repl, Metrics *metrics, Lsn *must_pass)
{
	metrics->slot_lost++;
	slot_report_lost(cfg, repl_lost_reason(repl));
	*must_pass = repl_diverged_from(repl);
	if (!cfg->create_slot || cfg->no_initial_load)
	{
		repl_close(repl);
		return 1;
	}
	return repl_drop_lost_slot(repl) ? EXIT_START_OVER : 1;
}

/*
 * wait_wal_past: before the new slot of a start-over after a promotion
 * that lost what Elasticsearch holds up to lsn, wait until the server's
 * WAL is past it, so that the new load's version is above every version
 * Elasticsearch holds (slot.h), serving the metrics endpoint meanwhile.
 * Returns false when stopped or the server cannot be asked (logged).
 */
static bool
wait_wal_past(const Config *cfg, Sync *sync, Http *http, const Metrics *metrics, Lsn lsn)
{
	bool		passed = false;

	if (lsn == 0)
		return true;
	log_info("waiting for the server's WAL to pass " LSN_FORMAT
			 " (what Elasticsearch holds) before creating the new slot", LSN_ARGS(lsn));
	while (!stop_requested && slot_wal_passed(cfg, lsn, &passed) && !passed)
		if (!sleep_interruptibly(sync, http, metrics, RECONNECT_MIN_US))
			return false;
	return passed;
}

/*
 * stream_sessions: connect, stream, and reconnect with backoff when
 * PostgreSQL goes away, until stopped. Returns the exit status, or
 * EXIT_START_OVER.
 */
static int
stream_sessions(const Config *cfg, Sync *sync, Http *http, Metrics *metrics,
				SlotMonitor *monitor, Lsn *must_pass)
{
	ReplOptions ropt = {cfg->conninfo, cfg->slot, cfg->create_slot,
	(const char *const *) cfg->opt_names, (const char *const *) cfg->opt_values, cfg->nopts};
	Repl		repl;
	LogState	pg_state = {0};
	int64_t		backoff = RECONNECT_MIN_US;

	repl_init(&repl, &ropt);
	while (!stop_requested)
	{
		Stream		s = {cfg, &repl, sync, http, metrics, 0, 0, 0, false, false, false, 0, monitor};
		ReplStatus	rs = repl_connect(&repl, sync->ack.confirmed);

		if (rs == REPL_FATAL)
			return 1;
		if (rs == REPL_SLOT_LOST)
			return slot_was_lost(cfg, &repl, metrics, must_pass);
		if (rs == REPL_OK)
		{
			StreamEnd	end;

			log_state(&pg_state, 1, LOG_LEVEL_INFO, "streaming slot \"%s\"", cfg->slot);
			metrics->pg_connected = true;
			backoff = RECONNECT_MIN_US;
			sync_reset(sync);
			end = stream(&s);
			metrics->pg_connected = false;
			repl_close(&repl);
			if (end == STREAM_DONE)
				return 0;
			if (end == STREAM_FATAL)
				return 1;
			if (end == STREAM_PAUSED)
			{
				metrics->pauses++;
				log_state(&pg_state, 3, LOG_LEVEL_WARNING,
						  "Elasticsearch has taken nothing for %d s: replication connection closed until it takes what is buffered (PostgreSQL keeps the WAL)",
						  cfg->pause_after_ms / 1000);
				if (!wait_out_stall(sync, http, metrics))
					return 1;
				continue;
			}
		}
		log_state(&pg_state, 2, LOG_LEVEL_WARNING,
				  "PostgreSQL connection lost or refused; reconnecting with backoff");
		if (!sleep_interruptibly(sync, http, metrics, backoff))
			return 1;
		backoff = backoff * 2 > RECONNECT_MAX_US ? RECONNECT_MAX_US : backoff * 2;
	}
	return 0;
}

/*
 * run_sync: stream_sessions with the slot monitor, until stopped; after a
 * lost slot with --create-slot, again from the indexes and a new initial
 * load (load.h) with a new pipeline, whose positions belong to the old
 * slot. Returns the exit status.
 */
static int
run_sync(const Config *cfg, Sync *sync, Http *http, Metrics *metrics)
{
	SlotMonitor monitor;
	int			status;
	Lsn			must_pass = 0;

	slot_monitor_init(&monitor, cfg);
	status = stream_sessions(cfg, sync, http, metrics, &monitor, &must_pass);
	while (status == EXIT_START_OVER && !stop_requested)
	{
		MappingCache *mappings = sync->mappings;
		struct Reindexer *reindex = sync->reindex;
		LoadStatus	ls;

		if (!wait_wal_past(cfg, sync, http, metrics, must_pass))
		{
			status = stop_requested ? 0 : 1;
			break;
		}
		sync_free(sync);
		if (!sync_init(sync, cfg, metrics))
			return 1;
		sync->mappings = mappings;
		sync->reindex = reindex;
		ls = load_prepare(cfg, metrics, http, &stop_requested, mappings);
		status = ls == LOAD_OK ? stream_sessions(cfg, sync, http, metrics, &monitor, &must_pass)
			: ls == LOAD_STOPPED ? 0 : 1;
	}
	slot_monitor_free(&monitor);
	return status == EXIT_START_OVER ? 0 : status;
}

/*
 * serve_refreshes: with the metrics endpoint on, a refresher of the
 * covered tables' indexes for GET /wait?searchable=1 (refresh.h), which
 * answers 503 without one (logged). refresher is freed by the caller.
 */
static void
serve_refreshes(const Config *cfg, Http *http, Refresher *refresher)
{
	if (cfg->metrics_port == 0)
		return;
	if (refresh_init(refresher, cfg))
		http_serve_refreshes(http, refresher);
	else
		log_warning("GET /wait?searchable=1 is off (the indexes to refresh are not known)");
}

/*
 * run_with_reindex: run_sync with the online reindex worker's side
 * (reindex.h) told of requests and polled by the streaming loop.
 */
static int
run_with_reindex(const Config *cfg, Sync *sync, Http *http, Metrics *metrics)
{
	Reindexer	rx;
	int			status;

	if (!reindex_init(&rx, cfg, &stop_requested))
		return 1;
	sync->reindex = &rx;
	status = run_sync(cfg, sync, http, metrics);
	sync->reindex = NULL;
	reindex_free(&rx);
	return status;
}

/*
 * run_forwarder: the forwarder proper (curl initialized): indexes and the
 * initial load, then the stream until a stop. Returns the exit status.
 */
static int
run_forwarder(Config *cfg)
{
	Metrics		metrics;
	Sync		sync;
	MappingCache mappings;
	Http		http = {-1, NULL, NULL};
	Refresher	refresher;
	int			status = 1;

	memset(&metrics, 0, sizeof(metrics));
	memset(&refresher, 0, sizeof(refresher));
	mapping_cache_init(&mappings, cfg);
	if (sync_init(&sync, cfg, &metrics))
	{
		sync.mappings = &mappings;
		if (http_open(&http, cfg->metrics_address, cfg->metrics_port))
		{
			/* indexes and the initial load come before the stream (load.h) */
			LoadStatus	ls;

			serve_refreshes(cfg, &http, &refresher);
			ls = load_prepare(cfg, &metrics, &http, &stop_requested, &mappings);
			status = ls == LOAD_OK ? run_with_reindex(cfg, &sync, &http, &metrics)
				: ls == LOAD_STOPPED ? 0 : 1;
		}
		http_close(&http);
		refresh_free(&refresher);
	}
	sync_free(&sync);
	mapping_cache_free(&mappings);
	if (status == 0)
		log_info("stopped");
	return status;
}

int
main(int argc, char **argv)
{
	Config		cfg;
	int			status = 1;

	cfg_parse(&cfg, argc, argv);
	log_configure(cfg.log_format, cfg.log_level);
	if (cfg.command == COMMAND_PRINT_MAPPINGS || cfg.command == COMMAND_REINDEX)
		status = cfg.command == COMMAND_REINDEX ? reqtable_reindex_run(&cfg) : mapping_print(&cfg);
	else if (!install_signals())
		status = 1;
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		log_error("could not initialize libcurl");
		/* verify and wait end with 2 when they could not compare or wait */
		status = cfg.command == COMMAND_VERIFY || cfg.command == COMMAND_WAIT ? 2 : 1;
	}
	else
	{
		status = cfg.command == COMMAND_VERIFY ? verify_run(&cfg, &stop_requested)
			: cfg.command == COMMAND_WAIT ? wait_run(&cfg, &stop_requested)
			: run_forwarder(&cfg);
		curl_global_cleanup();
	}
	cfg_free(&cfg);
	return status;
}
