/* sched: the daemon.  Sleeps until the next due instant, starts each due
 * run under the supervisor (supervise.h: a child process with its timeout,
 * output capture and recorded ending), keeps the concurrency bound,
 * reloads conf.d on SIGHUP and stops cleanly on SIGTERM/SIGINT.
 *
 * The parent never runs plugin code.  It claims the ticks due at an
 * instant in the database, in one statement over the session it keeps
 * (so that a tick runs once across hosts, and a fleet of daemons pays one
 * new session per tick run, its run's), and starts only the runs it won.
 * A child runs one tick of one job through the runner, which takes over
 * the claimed history row (or claims the tick itself when the daemon's
 * session is down) and takes the job's advisory lock. */
#include "sched.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abandon.h"
#include "api.h"
#include "auditstore.h"
#include "cron.h"
#include "days.h"
#include "db.h"
#include "diag.h"
#include "http.h"
#include "isotime.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reload.h"
#include "runner.h"
#include "runstore.h"
#include "supervise.h"
#include "tz.h"
#include "watch.h"

/* How often finished history rows older than history_keep are deleted,
 * and the audit records of every database kept (audit_keep). */
#define SCHED_PRUNE_EVERY 3600
/* How often runs whose process is gone are looked for (abandon.h). */
#define SCHED_SWEEP_EVERY 60
/* A run starts at least this long before its tick: its process connects
 * and claims the tick meanwhile, then waits for the instant itself, so the
 * plugin starts on time rather than a connection later.  When many jobs
 * share an instant the lead grows with their number and the measured
 * time a run takes to connect and claim (sched_lead()), up to
 * SCHED_MAX_LEAD_MS and a fifth of the shortest period among them. */
#define SCHED_LEAD_MS 200
#define SCHED_MAX_LEAD_MS 3000
/* A wall clock that moved this far against the monotonic clock between
 * two wakes was stepped (NTP, a restored snapshot, an operator). */
#define SCHED_STEP_MS 1000
/* The loop wakes at least this often, to notice a step no kernel
 * notification reports (containers, libfaketime): a step is acted on
 * within this time and the lead of the tick after it. */
#define SCHED_MAX_SLEEP_MS 10000
/* /healthz (http.h) fails when the loop took longer than this to come
 * round: twice its longest sleep.  /readyz fails when the home database
 * was not heard from for this long: it is asked at least every sweep. */
#define SCHED_BEAT_MAX_MS (2 * SCHED_MAX_SLEEP_MS)
#define SCHED_DB_MAX_MS (3 * SCHED_SWEEP_EVERY * 1000)
/* The poll set's fixed descriptors: signals, timer, watch, HTTP. */
#define SCHED_FIXED_FDS 4

/* A tick this daemon lost to another sweepd: claimed again at the tick
 * and a quarter of a second after it, since that sweepd gives it back
 * when it is asked to stop before the tick (a rolling restart). */
typedef struct sched_lost {
	char *job;
	time_t tick;
	int tries;              /* claims tried again so far */
} sched_lost;

/* Claims tried again for a lost tick, SCHED_RETRY_MS apart from it. */
#define SCHED_RETRIES 2
#define SCHED_RETRY_MS 250

typedef struct sched {
	const settings *s;
	reload_set conf;        /* the jobs and the code they run */
	sup_run *runs;          /* running ticks, one per job at most */
	size_t nruns;
	size_t capruns;
	struct pollfd *fds;     /* poll set: signals, timer, watch, runs'
	                           pipes */
	sched_lost *lost;       /* ticks lost to other sweepds, to claim
	                           again */
	size_t nlost;
	watch *w;               /* conf.d and plugin_dir changes, or NULL */
	http_server *http;      /* /metrics, /healthz, /readyz, or NULL */
	PGconn *db;             /* the parent's own session, lazily opened */
	int sigfd;
	int timerfd;
	bool stopping;
	bool schema_ready;      /* the parent has migrated the schema once:
	                           children need not */
	time_t next_prune;
	time_t next_sweep;
	int64_t lead_ms;        /* how early the next instant's runs start */
	int64_t claim_ms;       /* average time a run took to connect and
	                           claim its tick (fork included) */
	int64_t clock_offset_ms;/* wall minus monotonic clock at the last
	                           wake, to notice a step */
	bool metrics_due;       /* a run ended or a tick was skipped since
	                           the metrics file was last written */
	time_t notified_next;   /* the next run systemd's STATUS= shows */
} sched;

/* The parent's database session, (re)connected when needed; NULL when the
 * database does not answer (logged), so that callers skip what they
 * wanted to record. */
static PGconn *sched_db(sched *sc)
{
	char err[1024];

	if (sc->db != NULL && PQstatus(sc->db) == CONNECTION_OK) {
		http_db(sc->http, NULL, api_now_ms());
		return sc->db;
	}
	PQfinish(sc->db);
	sc->db = db_connect(sc->s->dsn, NULL, err, sizeof(err));
	if (sc->db != NULL && db_migrate(sc->db, err, sizeof(err)) != 0) {
		PQfinish(sc->db);
		sc->db = NULL;
	}
	if (sc->db != NULL)
		sc->schema_ready = true;
	if (sc->db == NULL)
		log_msg(SWEEP_LOG_WARN, "database unavailable", "error", err,
		        LOG_END);
	http_db(sc->http, sc->db ? NULL : err, api_now_ms());
	return sc->db;
}

/* Text of tick for log lines. */
static void sched_tick_text(time_t tick, char *out, size_t len)
{
	struct timespec ts = {tick, 0};

	isotime_format(&ts, out, len);
}

/* The running tick of the job called name, or NULL. */
static sup_run *sched_running(sched *sc, const char *name)
{
	size_t i;

	for (i = 0; i < sc->nruns; i++)
		if (strcmp(sc->runs[i].job, name) == 0)
			return &sc->runs[i];
	return NULL;
}

/* Records tick of j as skipped for reason, in the log and the history. */
static void sched_skip(sched *sc, const job *j, time_t tick,
                       const char *reason)
{
	char at[ISOTIME_LEN], err[1024];
	PGconn *db;

	sched_tick_text(tick, at, sizeof(at));
	log_msg(SWEEP_LOG_WARN, "tick skipped", "job", j->name, "tick", at,
	        "reason", reason, LOG_END);
	db = sched_db(sc);
	sc->metrics_due = true;
	if (db != NULL && db_tick_skipped(db, j->name, tick, reason, err,
	                                  sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "skip not recorded", "job", j->name,
		        "error", err, LOG_END);
}

/* Milliseconds of the wall clock. */
static int64_t sched_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The parent's session for the supervisor (a sup_db_fn). */
static PGconn *sched_sup_db(void *arg)
{
	return sched_db(arg);
}

/* In a run's child: closes what the daemon holds (signals, timer, its
 * session's socket without ending the session, other runs' pipes). */
static void sched_child_close(void *arg)
{
	sched *sc = arg;
	size_t i;

	close(sc->sigfd);
	close(sc->timerfd);
	if (sc->w != NULL)
		close(watch_fd(sc->w));
	http_child_close(sc->http);
	if (sc->db != NULL)
		close(PQsocket(sc->db));
	for (i = 0; i < sc->nruns; i++) {
		close(sc->runs[i].report_fd);
		close(sc->runs[i].out_fd);
		close(sc->runs[i].err_fd);
	}
}

/* Makes room for one more run in sc->runs and the poll set; 0, or -1
 * (logged) when out of memory. */
static int sched_room(sched *sc, const char *name)
{
	size_t cap = sc->capruns ? 2 * sc->capruns : 8;
	sup_run *v;
	struct pollfd *f;

	if (sc->nruns < sc->capruns)
		return 0;
	v = realloc(sc->runs, cap * sizeof(*v));
	f = realloc(sc->fds, (SCHED_FIXED_FDS + 3 * cap) * sizeof(*f));
	if (v != NULL)
		sc->runs = v;
	if (f != NULL)
		sc->fds = f;
	if (v == NULL || f == NULL) {
		log_msg(SWEEP_LOG_ERROR, "cannot start run: out of memory",
		        "job", name, LOG_END);
		return -1;
	}
	sc->capruns = cap;
	return 0;
}

/* Gives back tick, whose row run_id this daemon claimed but could not
 * start, so that another sweepd (or this one, at catch-up) runs it. */
static void sched_release(sched *sc, const job *j, int64_t run_id,
                          time_t tick)
{
	char err[1024];
	PGconn *db = sched_db(sc);

	if (db != NULL && db_run_release(db, run_id, tick, err,
	                                 sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "tick not given back", "job", j->name,
		        "error", err, LOG_END);
}

/* Starts a run of j for tick under the supervisor.  run_id: the tick's
 * history row, which this daemon claimed (given back when no process can
 * start); 0: the run's process claims the tick itself. */
static void sched_start(sched *sc, const job *j, time_t tick, bool catch_up,
                        int64_t run_id)
{
	sup_run *r;
	sup_opts o;
	char at[ISOTIME_LEN];

	if (sched_room(sc, j->name) != 0) {
		if (run_id)
			sched_release(sc, j, run_id, tick);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.tick = tick;
	o.catch_up = catch_up;
	o.run_id = run_id;
	o.schema_ready = sc->schema_ready;
	o.retries = j->retries;
	o.timeout_ms = j->timeout_ms;
	o.memory_limit = j->memory_limit;
	o.child_close = sched_child_close;
	o.db = sched_sup_db;
	o.arg = sc;
	r = &sc->runs[sc->nruns];
	sched_tick_text(tick, at, sizeof(at));
	if (sup_start(r, j, sc->s, &o) != 0) {
		if (run_id)
			sched_release(sc, j, run_id, tick);
		return;
	}
	sc->nruns++;
	log_msg(SWEEP_LOG_DEBUG, "run started", "job", j->name, "tick", at,
	        LOG_END);
}

/* Remembers tick of job name, lost to another sweepd, to claim it again
 * (sched_retry()). */
static void sched_lose(sched *sc, const char *name, time_t tick)
{
	sched_lost *v = realloc(sc->lost, (sc->nlost + 1) * sizeof(*v));
	char at[ISOTIME_LEN];

	sched_tick_text(tick, at, sizeof(at));
	log_msg(SWEEP_LOG_DEBUG, "tick run by another sweepd", "job", name,
	        "tick", at, LOG_END);
	if (v == NULL)
		return;
	sc->lost = v;
	if ((v[sc->nlost].job = strdup(name)) == NULL)
		return;
	v[sc->nlost].tick = tick;
	v[sc->nlost].tries = 0;
	sc->nlost++;
}

/* Claims the n ticks of jobs v (tick[i], catch-up or not) in one
 * statement over the daemon's session and starts the runs it won; a tick
 * it lost is claimed again later (sched_lose()), unless it is a catch-up
 * or retry says it was the last try.  When the database does not answer,
 * every run starts and claims its tick itself, waiting for the database
 * as a run does.  Returns 0, or -1 when out of memory (nothing done). */
static int sched_claim(sched *sc, reload_job **v, const time_t *tick,
                       const bool *catch_up, size_t n, bool retry)
{
	const char **names = calloc(n, sizeof(*names));
	int64_t *ids = calloc(n, sizeof(*ids));
	char err[1024];
	PGconn *db;
	size_t i;
	int rc = -1;

	if (names == NULL || ids == NULL)
		goto out;
	for (i = 0; i < n; i++)
		names[i] = v[i]->job->name;
	db = sched_db(sc);
	if (db != NULL && db_ticks_claim(db, n, names, tick, catch_up, ids, err,
	                                 sizeof(err)) != 0) {
		log_msg(SWEEP_LOG_WARN, "ticks not claimed; their runs will",
		        "error", err, LOG_END);
		db = NULL;
	}
	for (i = 0; i < n; i++) {
		if (db == NULL || ids[i] != 0)
			sched_start(sc, v[i]->job, tick[i], catch_up[i], ids[i]);
		else if (!catch_up[i] && !retry)
			sched_lose(sc, names[i], tick[i]);
	}
	rc = 0;
out:
	if (rc != 0)
		log_msg(SWEEP_LOG_ERROR, "ticks not started: out of memory",
		        LOG_END);
	free(names);
	free(ids);
	return rc;
}

/* Orders pending jobs oldest tick first. */
static int sched_cmp_pending(const void *a, const void *b)
{
	const reload_job *x = *(reload_job *const *)a;
	const reload_job *y = *(reload_job *const *)b;

	return (x->pending > y->pending) - (x->pending < y->pending);
}

/* Starts pending ticks, oldest first, while there are free slots: the
 * ticks that fit are claimed in one statement (sched_claim()), and only
 * the runs this daemon won start. */
static void sched_start_pending(sched *sc)
{
	reload_job **v = calloc(sc->conf.njobs + 1, sizeof(*v));
	time_t *tick = calloc(sc->conf.njobs + 1, sizeof(*tick));
	bool *catch_up = calloc(sc->conf.njobs + 1, sizeof(*catch_up));
	size_t i, n, room;

	while (v != NULL && tick != NULL && catch_up != NULL && !sc->stopping &&
	       (sc->s->max_concurrent == 0 ||
	        sc->nruns < (size_t)sc->s->max_concurrent)) {
		room = sc->s->max_concurrent == 0 ? sc->conf.njobs
		       : (size_t)sc->s->max_concurrent - sc->nruns;
		for (i = n = 0; i < sc->conf.njobs; i++)
			if (sc->conf.jobs[i].pending)
				v[n++] = &sc->conf.jobs[i];
		if (n == 0)
			break;
		qsort(v, n, sizeof(*v), sched_cmp_pending);
		if (n > room)
			n = room;
		for (i = 0; i < n; i++) {
			tick[i] = v[i]->pending;
			catch_up[i] = v[i]->catch_up;
			v[i]->pending = 0;
			v[i]->catch_up = false;
		}
		if (sched_claim(sc, v, tick, catch_up, n, false) != 0)
			break;
	}
	free(v);
	free(tick);
	free(catch_up);
}

/* Drops lost tick i. */
static void sched_lost_drop(sched *sc, size_t i)
{
	free(sc->lost[i].job);
	sc->lost[i] = sc->lost[--sc->nlost];
}

/* The wall-clock millisecond lost tick t is next claimed again. */
static int64_t sched_retry_at(const sched_lost *t)
{
	return (int64_t)t->tick * 1000 + t->tries * SCHED_RETRY_MS;
}

/* Whether sj is among the n jobs of v. */
static bool sched_listed(reload_job *const *v, size_t n,
                         const reload_job *sj)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == sj)
			return true;
	return false;
}

/* Claims again, in one statement, every lost tick whose time came
 * (sched_lose()), and starts the runs won: a tick given back by a sweepd
 * stopped before it still runs.  A tick whose job is gone, running or
 * pending again is let go, as is every tick once the daemon stops; one
 * that finds no free slot (max_concurrent) skips that try. */
static void sched_retry(sched *sc, int64_t now_ms)
{
	size_t n = 0, i = 0;
	reload_job **v = calloc(sc->nlost + 1, sizeof(*v));
	time_t *tick = calloc(sc->nlost + 1, sizeof(*tick));
	bool *no = calloc(sc->nlost + 1, sizeof(*no));

	while (v != NULL && tick != NULL && no != NULL && i < sc->nlost) {
		sched_lost *t = &sc->lost[i];
		reload_job *sj;

		if (sched_retry_at(t) > now_ms && !sc->stopping) {
			i++;
			continue;
		}
		sj = reload_find(&sc->conf, t->job);
		if (!sc->stopping && sj != NULL && !sj->pending &&
		    sched_running(sc, t->job) == NULL &&
		    !sched_listed(v, n, sj) && (sc->s->max_concurrent == 0 ||
		    sc->nruns + n < (size_t)sc->s->max_concurrent)) {
			v[n] = sj;
			tick[n++] = t->tick;
		}
		if (++t->tries < SCHED_RETRIES && !sc->stopping && sj != NULL)
			i++;
		else
			sched_lost_drop(sc, i);
	}
	if (n > 0)
		sched_claim(sc, v, tick, no, n, true);
	free(v);
	free(tick);
	free(no);
}

/* Handles every tick due within SCHED_LEAD_MS of now_ms: the latest due
 * tick of each job becomes pending (ticks missed in between are not run:
 * never a burst), unless the job is still running or already waiting,
 * which skips it. */
static void sched_due(sched *sc, int64_t now_ms)
{
	time_t horizon = (time_t)((now_ms + sc->lead_ms) / 1000);
	size_t i;

	for (i = 0; i < sc->conf.njobs; i++) {
		reload_job *sj = &sc->conf.jobs[i];
		time_t tick;

		if (sj->next == 0 || sj->next > horizon)
			continue;
		tick = sj->next;
		sj->next = jobs_next(sj->job, tick);
		/* Ticks missed (a suspend, a clock set forward): the latest,
		 * found by bisection rather than one by one. */
		if (sj->next != 0 && sj->next <= horizon &&
		    cron_prev(sj->job->cron, sj->job->timezone, sj->next - 1,
		              horizon, &tick) == 0)
			sj->next = jobs_next(sj->job, tick);
		if (sched_running(sc, sj->job->name))
			sched_skip(sc, sj->job, tick, "the previous run is still "
			           "going");
		else if (sj->pending)
			sched_skip(sc, sj->job, tick, "the previous tick is still "
			           "waiting for a free slot (max_concurrent)");
		else
			sj->pending = tick;
	}
}

/* The row of ticks (from db_last_ticks()) for job name, or -1. */
static int sched_tick_row(const PGresult *ticks, const char *name)
{
	int lo = 0, hi = PQntuples(ticks) - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(PQgetvalue(ticks, mid, 0), name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Seconds back from now in which a missed tick of j is still run: its
 * catch_up, by default its period; 0: none. */
static int64_t sched_window(const job *j, time_t now)
{
	if (j->catch_up_ms >= 0)
		return j->catch_up_ms / 1000;
	return j->cron ? cron_period(j->cron, j->timezone, now) : 0;
}

/* Queues again the tick t whose run was abandoned (its daemon died), when
 * its job is here, idle, enabled and the tick within its catch-up
 * window: the tick is not lost to the other daemons. */
static void sched_requeue(sched *sc, const abandon_tick *t, time_t now)
{
	reload_job *sj = reload_find(&sc->conf, t->job);

	if (sj == NULL || t->tick == 0 || sj->pending || !sj->job->enabled ||
	    sched_running(sc, t->job) != NULL ||
	    now - t->tick > sched_window(sj->job, now))
		return;
	sj->pending = t->tick;
	sj->catch_up = false;
}

/* Marks the runs whose process is gone abandoned (abandon.h), on any
 * host, and queues their ticks again; every SCHED_SWEEP_EVERY. */
static void sched_sweep(sched *sc, time_t now)
{
	abandon_tick *ticks;
	char err[1024];
	PGconn *db;
	size_t n, i;

	sc->next_sweep = now + SCHED_SWEEP_EVERY;
	sc->metrics_due |= sc->http != NULL;    /* /metrics: a minute old
	                                           at most */
	if ((db = sched_db(sc)) == NULL)
		return;
	if (abandon_sweep(db, &ticks, &n, err, sizeof(err)) != 0) {
		log_msg(SWEEP_LOG_WARN, "abandoned runs not looked for",
		        "error", err, LOG_END);
		return;
	}
	for (i = 0; i < n; i++)
		sched_requeue(sc, &ticks[i], now);
	abandon_ticks_free(ticks, n);
}

/* Queues, once, the last tick of each job missed while no sweepd ran,
 * when it lies within the job's catch_up window (default: its period).
 * Only a job that ran before and not at that tick is queued, as read from
 * the history in one query; when the database does not answer, every
 * candidate is queued and its run's claim decides.  A job whose next tick
 * is a second away at most simply runs then. */
static void sched_catch_up(sched *sc, time_t now)
{
	PGconn *db = sched_db(sc);
	PGresult *ticks = NULL;
	char err[1024];
	size_t i;

	if (db != NULL && (ticks = db_last_ticks(db, err, sizeof(err))) == NULL)
		log_msg(SWEEP_LOG_WARN, "history unavailable for catch-up",
		        "error", err, LOG_END);
	for (i = 0; i < sc->conf.njobs; i++) {
		const job *j = sc->conf.jobs[i].job;
		int64_t window = sched_window(j, now);
		time_t prev;
		int row;

		if (!j->enabled || j->cron == NULL || window <= 0 ||
		    (sc->conf.jobs[i].next && sc->conf.jobs[i].next - now <= 1))
			continue;
		if (cron_prev(j->cron, j->timezone, now - (time_t)window, now,
		              &prev) != 0)
			continue;
		if (ticks != NULL) {
			row = sched_tick_row(ticks, j->name);
			if (row < 0 || (!PQgetisnull(ticks, row, 1) &&
			    strtoll(PQgetvalue(ticks, row, 1), NULL, 10) >= prev))
				continue;
		}
		sc->conf.jobs[i].pending = prev;
		sc->conf.jobs[i].catch_up = true;
	}
	PQclear(ticks);
}

/* Notes how long run r took to connect and claim its tick, for the lead
 * of instants that many jobs share. */
static void sched_note_claim(sched *sc, const sup_run *r)
{
	int64_t took;

	if (r->claimed_ms == 0)
		return;
	took = r->claimed_ms - r->started_ms;
	sc->claim_ms = (7 * sc->claim_ms + took) / 8;
}

/* Reaps every run whose child ended (the supervisor records how). */
static void sched_reap(sched *sc)
{
	size_t i = 0;

	while (i < sc->nruns) {
		sup_run *r = &sc->runs[i];

		if (!sup_reap(r)) {
			i++;
			continue;
		}
		sched_note_claim(sc, r);
		sc->metrics_due = true;
		if (r->state == NULL && r->rep.ended &&
		    r->rep.outcome == RUNNER_NOT_CLAIMED) {
			char at[ISOTIME_LEN];
			sched_tick_text(r->tick, at, sizeof(at));
			log_msg(SWEEP_LOG_DEBUG, "tick run by another sweepd",
			        "job", r->job, "tick", at, LOG_END);
		}
		sup_free(r);
		sc->runs[i] = sc->runs[--sc->nruns];
	}
}

/* Applies every run's timeout and stop_grace (asking all to stop when the
 * daemon is stopping). */
static void sched_enforce(sched *sc)
{
	int64_t now = api_now_ms();
	size_t i;

	for (i = 0; i < sc->nruns; i++) {
		if (sc->stopping)
			sup_stop(&sc->runs[i], SUP_STOP_ASKED);
		sup_enforce(&sc->runs[i], now);
	}
}

/* Milliseconds poll() may sleep: until a run's deadline, and never more
 * than SCHED_MAX_SLEEP_MS. */
static int sched_poll_ms(const sched *sc)
{
	int64_t now = api_now_ms(), wait = SCHED_MAX_SLEEP_MS;
	int64_t ping = notify_wake_at();
	size_t i;

	if (ping != 0 && ping - now < wait)
		wait = ping - now < 0 ? 0 : ping - now;
	for (i = 0; i < sc->nruns; i++) {
		int64_t at = sup_wake_at(&sc->runs[i]);

		if (at != 0 && at - now < wait)
			wait = at - now < 0 ? 0 : at - now;
	}
	return (int)wait;
}

/* True when the wall clock was stepped since the last call (it moved
 * against the monotonic clock). */
static bool sched_clock_stepped(sched *sc)
{
	int64_t off = sched_now_ms() - api_now_ms();
	int64_t moved = off - sc->clock_offset_ms;
	bool stepped = sc->clock_offset_ms != 0 &&
	               (moved > SCHED_STEP_MS || moved < -SCHED_STEP_MS);

	sc->clock_offset_ms = off;
	return stepped;
}

/* After a step of the wall clock: every job's next instant is computed
 * again from the new time (backward, no job waits for the time it already
 * covered; an instant it already ran is claimed in the history, so it
 * does not run twice), then the catch-up rule runs each job's last missed
 * tick once (forward). */
static void sched_clock_step(sched *sc, time_t now)
{
	char at[ISOTIME_LEN];
	size_t i;

	sched_tick_text(now, at, sizeof(at));
	log_msg(SWEEP_LOG_WARN, "system clock stepped; rescheduling", "now",
	        at, LOG_END);
	for (i = 0; i < sc->conf.njobs; i++)
		sc->conf.jobs[i].next = jobs_next(sc->conf.jobs[i].job, now);
	sched_catch_up(sc, now);
}

/* Fills the poll set: signals, timer, watch, HTTP, and every run's
 * pipes; returns its size. */
static nfds_t sched_pollset(sched *sc)
{
	nfds_t n = SCHED_FIXED_FDS;
	size_t i;

	sc->fds[0].fd = sc->sigfd;
	sc->fds[1].fd = sc->timerfd;
	sc->fds[2].fd = watch_fd(sc->w);
	sc->fds[3].fd = http_fd(sc->http);
	for (i = 0; i < SCHED_FIXED_FDS; i++)
		sc->fds[i].events = POLLIN;
	for (i = 0; i < sc->nruns; i++)
		n += sup_pollfds(&sc->runs[i], sc->fds + n);
	return n;
}

/* The earliest next tick of any job; 0: none (or the daemon stops). */
static time_t sched_first(const sched *sc)
{
	time_t first = 0;
	size_t i;

	for (i = 0; i < sc->conf.njobs && !sc->stopping; i++) {
		time_t t = sc->conf.jobs[i].next;
		if (t && (first == 0 || t < first))
			first = t;
	}
	return first;
}

/* How early the runs of instant at start: SCHED_LEAD_MS, more when many
 * jobs share it (their number times the average claim time, spread over
 * the processors), at most SCHED_MAX_LEAD_MS and a fifth of the shortest
 * period among them (so a run never starts before its job's previous
 * tick has had most of its period). */
static int64_t sched_lead(const sched *sc, time_t at)
{
	int64_t n = 0, cap = SCHED_MAX_LEAD_MS, lead;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;

	for (i = 0; at && i < sc->conf.njobs; i++) {
		const job *j = sc->conf.jobs[i].job;
		int64_t period;

		if (sc->conf.jobs[i].next != at)
			continue;
		n++;
		period = j->cron ? cron_period(j->cron, j->timezone, at) : 0;
		if (period > 0 && period * 1000 / 5 < cap)
			cap = period * 1000 / 5;
	}
	lead = SCHED_LEAD_MS + n * sc->claim_ms / (cpus > 0 ? cpus : 1);
	if (lead > cap)
		lead = cap;
	return lead < SCHED_LEAD_MS ? SCHED_LEAD_MS : lead;
}

/* Arms the timer the lead before the earliest due tick (none while
 * stopping), at the pruning time or at a lost tick's claim tried again
 * (sched_retry()), whichever comes first, as an absolute
 * wall-clock instant that the kernel also fires early when the clock is
 * set, so a clock change is noticed.  Each is an instant the loop acts on
 * when the timer fires, so it never fires for nothing. */
static void sched_arm(sched *sc)
{
	struct itimerspec its;
	int64_t at_ms = (int64_t)(sc->next_prune < sc->next_sweep
	                          ? sc->next_prune : sc->next_sweep) * 1000;
	time_t first = sched_first(sc);
	size_t i;

	sc->lead_ms = sched_lead(sc, first);
	if (first && (int64_t)first * 1000 - sc->lead_ms < at_ms)
		at_ms = (int64_t)first * 1000 - sc->lead_ms;
	for (i = 0; i < sc->nlost; i++)
		if (sched_retry_at(&sc->lost[i]) < at_ms)
			at_ms = sched_retry_at(&sc->lost[i]);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at_ms / 1000);
	its.it_value.tv_nsec = (long)(at_ms % 1000) * 1000000L;
	timerfd_settime(sc->timerfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	                &its, NULL);
}

/* With audit_keep, drops the days of audit records older than that in
 * the database of c (name: "home" or a [database NAME]; auditstore.h). */
static void sched_audit_keep(sched *sc, PGconn *c, const char *name)
{
	char err[1024], n[32], rows[32], ms[32];
	auditstore_pruned gone;
	int64_t t0;

	if (sc->s->audit_keep_ms <= 0)
		return;
	t0 = api_now_ms();
	if (auditstore_prune(c, sc->s->audit_keep_ms, &gone, err,
	                     sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "audit records not pruned", "database",
		        name, "error", err, LOG_END);
	snprintf(n, sizeof(n), "%" PRId64, gone.partitions);
	snprintf(rows, sizeof(rows), "%" PRId64, gone.default_rows);
	snprintf(ms, sizeof(ms), "%" PRId64, api_now_ms() - t0);
	log_msg(gone.partitions || gone.default_rows ? SWEEP_LOG_INFO
	        : SWEEP_LOG_DEBUG, "audit records pruned", "database", name,
	        "days_dropped", n, "default_rows", rows, "ms", ms, LOG_END);
}

/* Hourly: makes the days ahead of the home database's history and audit
 * records (a declared database's are made by the db_migrate() of its
 * connection here), drops the history older than history_keep and keeps
 * the audit records of every database (sched_audit_keep()).  A database
 * that does not answer is logged and tried again next hour. */
static void sched_prune(sched *sc, time_t now)
{
	char err[1024], days[32], rows[32], ms[32];
	PGconn *db, *other;
	runstore_pruned gone;
	int64_t t0;
	size_t i;

	sc->next_prune = now + SCHED_PRUNE_EVERY;
	db = sched_db(sc);
	if (db == NULL)
		return;
	if (days_ahead(db, err, sizeof(err)) < 0)
		log_msg(SWEEP_LOG_WARN, "partitions not made ahead", "error",
		        err, LOG_END);
	t0 = api_now_ms();
	if (runstore_prune(db, sc->s->history_keep_ms, &gone, err,
	                   sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "history not pruned", "error", err,
		        LOG_END);
	snprintf(days, sizeof(days), "%" PRId64, gone.days);
	snprintf(rows, sizeof(rows), "%" PRId64, gone.rows);
	snprintf(ms, sizeof(ms), "%" PRId64, api_now_ms() - t0);
	log_msg(gone.rows ? SWEEP_LOG_INFO : SWEEP_LOG_DEBUG, "history pruned",
	        "days_dropped", days, "rows", rows, "ms", ms, LOG_END);
	sched_audit_keep(sc, db, "home");
	for (i = 0; i < sc->s->ndbs; i++) {
		const settings_db *sd = &sc->s->dbs[i];

		other = db_connect(sd->dsn, NULL, err, sizeof(err));
		if (other == NULL || db_migrate(other, err, sizeof(err)) != 0)
			log_msg(SWEEP_LOG_WARN, "audit records not pruned",
			        "database", sd->name, "error", err, LOG_END);
		else
			sched_audit_keep(sc, other, sd->name);
		PQfinish(other);
	}
}

/* Writes the metrics file (metrics.h), up while the daemon runs, and
 * gives the same text to /metrics. */
static void sched_metrics(sched *sc, bool up)
{
	buf text = BUF_INIT;

	sc->metrics_due = false;
	if (sc->s->metrics_file == NULL && sc->http == NULL)
		return;
	metrics_daemon(sc->s, sched_db(sc), &sc->conf, up,
	               sc->http ? &text : NULL);
	if (sc->http != NULL && !text.oom)
		http_metrics(sc->http, &text);
	buf_free(&text);
}

/* Tells systemd the daemon is ready (ready) or, when the next run
 * changed, its new status: the number of jobs and the next run. */
static void sched_notify(sched *sc, bool ready)
{
	const reload_job *first = NULL;
	size_t i;

	for (i = 0; i < sc->conf.njobs; i++)
		if (sc->conf.jobs[i].next && (first == NULL ||
		    sc->conf.jobs[i].next < first->next))
			first = &sc->conf.jobs[i];
	if (!ready && (first ? first->next : 0) == sc->notified_next)
		return;
	sc->notified_next = first ? first->next : 0;
	(ready ? notify_ready : notify_status)(sc->conf.njobs,
	                                       first ? first->job->name : NULL,
	                                       sc->notified_next);
}

/* Rescans conf.d (SIGHUP, or a change the watch saw), saying why, and
 * tells systemd and the metrics. */
static void sched_reload(sched *sc, const char *reason)
{
	log_msg(SWEEP_LOG_INFO, "reloading", "reason", reason, "dir",
	        sc->s->conf_dir, LOG_END);
	notify_reloading();
	reload_load(&sc->conf, sc->s, time(NULL));
	sc->metrics_due = true;
	http_loaded(sc->http, sc->conf.njobs, sc->conf.problems,
	            sc->conf.problem);
	sched_notify(sc, true);
}

/* Handles the signals waiting on the signalfd. */
static void sched_signals(sched *sc)
{
	struct signalfd_siginfo si;

	while (read(sc->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break;  /* the loop reaps after every wakeup */
		case SIGHUP:
			sched_reload(sc, "SIGHUP");
			break;
		default:
			if (!sc->stopping) {
				log_msg(SWEEP_LOG_INFO, "stopping", "signal",
				        strsignal((int)si.ssi_signo), LOG_END);
				notify_stopping();
			}
			http_stopping(sc->http);
			sc->stopping = true;
			break;
		}
	}
}

/* Reloads, as SIGHUP does, once conf.d or plugin_dir changed and then
 * stayed quiet (watch.h); a stopping daemon lets the change go (still
 * taking it, so poll() does not wake for it again). */
static void sched_watch(sched *sc)
{
	char reason[512];

	watch_read(sc->w, api_now_ms());
	if (!watch_due(sc->w, api_now_ms(), reason, sizeof(reason)) ||
	    sc->stopping)
		return;
	sched_reload(sc, reason);
}

/* Frees everything the scheduler holds. */
static void sched_free(sched *sc)
{
	size_t i;

	reload_free(&sc->conf);
	watch_close(sc->w);
	for (i = 0; i < sc->nruns; i++)
		sup_free(&sc->runs[i]);
	for (i = 0; i < sc->nlost; i++)
		free(sc->lost[i].job);
	free(sc->lost);
	free(sc->runs);
	free(sc->fds);
	PQfinish(sc->db);
	http_close(sc->http);
	if (sc->sigfd >= 0)
		close(sc->sigfd);
	if (sc->timerfd >= 0)
		close(sc->timerfd);
}

/* Sets up signals and the timer; 0, or -1 (logged). */
static int sched_setup(sched *sc)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sc->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (sc->timerfd = timerfd_create(CLOCK_REALTIME,
	                                  TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		log_msg(SWEEP_LOG_ERROR, "cannot set up the scheduler", "error",
		        strerror(errno), LOG_END);
		return -1;
	}
	sc->fds = calloc(SCHED_FIXED_FDS, sizeof(*sc->fds));
	return sc->fds ? 0 : -1;
}

/* Opens the HTTP endpoint when http_listen is set; 0, or -1 (logged)
 * when its address cannot be listened on: the daemon does not start. */
static int sched_http(sched *sc)
{
	char err[1024];

	if (http_open(sc->s, SCHED_BEAT_MAX_MS, SCHED_DB_MAX_MS, &sc->http,
	              err, sizeof(err)) == 0) {
		if (sc->http != NULL)
			log_msg(SWEEP_LOG_INFO, "serving HTTP", "listen",
			        sc->s->http_listen, "paths",
			        "/metrics /healthz /readyz", LOG_END);
		return 0;
	}
	log_msg(SWEEP_LOG_ERROR, "cannot serve HTTP; not starting", "error",
	        err, LOG_END);
	return -1;
}

/* Sets up sc for settings s: signals, timer, HTTP endpoint, the watch and
 * conf.d loaded; then the first sweep of abandoned runs, the catch-up of
 * missed ticks, pruning, metrics and readiness.  0, or -1 (logged) when
 * the daemon cannot start; sched_free() frees either way. */
static int sched_begin(sched *sc, const settings *s)
{
	time_t now;
	char n[32];

	memset(sc, 0, sizeof(*sc));
	sc->s = s;
	sc->sigfd = sc->timerfd = -1;
	sc->lead_ms = SCHED_LEAD_MS;
	sc->claim_ms = 30;
	sched_clock_stepped(sc);
	now = time(NULL);
	if (sched_setup(sc) != 0 || sched_http(sc) != 0)
		return -1;
	sc->w = watch_open(s);  /* before the load: no change slips between */
	if (reload_load(&sc->conf, s, now) != 0)
		return -1;
	http_loaded(sc->http, sc->conf.njobs, sc->conf.problems,
	            sc->conf.problem);
	snprintf(n, sizeof(n), "%zu", sc->conf.njobs);
	log_msg(SWEEP_LOG_INFO, "scheduler started", "jobs", n, "dir",
	        s->conf_dir, LOG_END);
	sched_sweep(sc, now);
	sched_catch_up(sc, now);
	sched_prune(sc, now);
	sched_metrics(sc, true);
	sched_notify(sc, true);
	return 0;
}

/* Says the loop is alive (watchdog, /healthz), starts the runs that are
 * due, applies timeouts, arms the timer, then sleeps in poll() until a
 * signal, the timer, a change in conf.d, a run's output or end, an HTTP
 * request or the next deadline.  false when poll() failed (logged). */
static bool sched_sleep(sched *sc)
{
	notify_watchdog(api_now_ms());
	http_beat(sc->http, api_now_ms());
	if (!sc->stopping)
		sched_notify(sc, false);
	sched_start_pending(sc);
	sched_enforce(sc);
	sched_arm(sc);
	if (poll(sc->fds, sched_pollset(sc), http_poll_ms(sc->http,
	         watch_poll_ms(sc->w, api_now_ms(), sched_poll_ms(sc)))) < 0 &&
	    errno != EINTR) {
		log_msg(SWEEP_LOG_ERROR, "scheduler loop failed", "error",
		        strerror(errno), LOG_END);
		return false;
	}
	return true;
}

/* Handles whatever woke the loop: runs' output and ends, a clock step,
 * signals, conf.d changes, due and retried ticks, the periodic sweep,
 * pruning and metrics, and HTTP requests. */
static void sched_wake(sched *sc)
{
	uint64_t expirations;
	bool stepped;
	time_t now;
	size_t i;

	for (i = 0; i < sc->nruns; i++)
		sup_read(&sc->runs[i]);
	stepped = read(sc->timerfd, &expirations,
	               sizeof(expirations)) < 0 && errno == ECANCELED;
	stepped |= sched_clock_stepped(sc);
	sched_signals(sc);
	sched_watch(sc);
	sched_reap(sc);
	now = time(NULL);
	if (stepped && !sc->stopping)
		sched_clock_step(sc, now);
	if (!sc->stopping)
		sched_due(sc, sched_now_ms());
	sched_retry(sc, sched_now_ms());
	if (now >= sc->next_sweep)
		sched_sweep(sc, now);
	if (now >= sc->next_prune)
		sched_prune(sc, now);
	if (sc->metrics_due)
		sched_metrics(sc, true);
	http_serve(sc->http);
}

/* Runs the scheduler in the foreground until SIGTERM or SIGINT, then stops
 * every run between batches (killing those that outlive stop_grace) and
 * returns 0; -1 when it cannot start or its loop fails.  An idle scheduler
 * sleeps in poll() until the next due instant: it uses no CPU between
 * ticks. */
int sched_run(const settings *s)
{
	sched sc;
	int rc = -1;

	if (sched_begin(&sc, s) != 0)
		goto out;
	while (!sc.stopping || sc.nruns > 0) {
		if (!sched_sleep(&sc))
			goto out;
		sched_wake(&sc);
	}
	sched_metrics(&sc, false);
	log_msg(SWEEP_LOG_INFO, "scheduler stopped", LOG_END);
	rc = 0;
out:
	sched_free(&sc);
	return rc;
}
