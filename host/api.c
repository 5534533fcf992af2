/* api: the services table handed to plugins, and the per-run state
 * (struct sweep_host) behind it. */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "report.h"
#include "sqltext.h"

/* A run's progress is logged at info at most this often. */
#define API_PROGRESS_LOG_MS 5000
/* A run's progress is reported to its supervisor at most this often. */
#define API_PROGRESS_REPORT_MS 100

/* Milliseconds of the monotonic clock. */
int64_t api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remembers the SQLSTATE of a failed statement of the host's services, so
 * the runner can tell a failure worth retrying. */
void api_failed(sweep_host *h, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(h->sqlstate, sizeof(h->sqlstate), "%s", state ? state : "");
}

/* Prepares h for one run of j on conn, filling r; stop points at the flag
 * a signal handler sets. */
void api_host_init(sweep_host *h, const job *j, PGconn *conn, result *r,
                   bool dry_run, const volatile sig_atomic_t *stop)
{
	memset(h, 0, sizeof(*h));
	h->job = j;
	h->conn = conn;
	h->result = r;
	h->dry_run = dry_run;
	h->stop = stop;
	h->started_ms = api_now_ms();
	if (j->plugin->noptions)
		h->quoted = calloc(j->plugin->noptions, sizeof(*h->quoted));
}

/* Frees what the services allocated for the run, after reporting its
 * last progress if the report was held back. */
void api_host_free(sweep_host *h)
{
	size_t i;

	if (h->unreported)
		report_progress(&h->progress);
	h->unreported = false;
	for (i = 0; i < h->nowned; i++)
		free(h->owned[i]);
	free(h->owned);
	h->owned = NULL;
	h->nowned = h->capowned = 0;
	for (i = 0; h->quoted && i < h->job->plugin->noptions; i++)
		free(h->quoted[i]);
	free(h->quoted);
	h->quoted = NULL;
}

/* The value of key, or NULL when the plugin asks for an option it did not
 * declare or of another type than it declared (a plugin bug, logged). */
static const param_value *api_value(sweep_host *h, const char *key, int type)
{
	const param_value *v = params_find(h->job->params, key);

	if (v == NULL || (type && v->opt->type != type)) {
		log_msg(SWEEP_LOG_ERROR, "plugin asked for an undeclared option",
		        "job", h->job->name, "option", key, "type",
		        params_type_name(type), LOG_END);
		return NULL;
	}
	return v->set ? v : NULL;
}

static const char *api_opt_string(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, 0);

	return v ? v->text : NULL;
}

static int64_t api_opt_int(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_INT);

	return v ? v->num : 0;
}

static bool api_opt_bool(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_BOOL);

	return v ? v->num != 0 : false;
}

static int64_t api_opt_duration_ms(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_DURATION);

	return v ? v->num : 0;
}

static const char *api_opt_interval(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_DURATION);

	return v ? v->interval : NULL;
}

static size_t api_opt_list(sweep_host *h, const char *key,
                           const char *const **items)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_LIST);

	*items = v ? (const char *const *)v->items : NULL;
	return v ? v->nitems : 0;
}

static const char *api_opt_ident(sweep_host *h, const char *key)
{
	const param_value *v = api_value(h, key, SWEEP_OPT_IDENT);
	size_t i;

	if (v == NULL || h->quoted == NULL)
		return NULL;
	i = (size_t)(v->opt - h->job->plugin->options);
	if (h->quoted[i] == NULL)
		h->quoted[i] = sqltext_ident_quote(h->conn, v->text);
	return h->quoted[i];
}

static bool api_opt_isset(sweep_host *h, const char *key)
{
	return api_value(h, key, 0) != NULL;
}

static void api_log(sweep_host *h, int level, const char *event, ...)
{
	const char *prefix[] = {"job", h->job->name, "run", h->run_id};
	va_list ap;

	va_start(ap, event);
	log_vmsg(level, event, prefix, h->run_id[0] ? 2 : 1, ap);
	va_end(ap);
}

static PGconn *api_db(sweep_host *h)
{
	return h->conn;
}

static void api_count(sweep_host *h, const char *counter, int64_t delta)
{
	result_count(h->result, counter, delta);
}

static void api_sample(sweep_host *h, const char *line)
{
	result_sample(h->result, line);
}

static void api_error_item(sweep_host *h, const char *text)
{
	/* The plugin handled this failure: it must not make the run retry. */
	h->sqlstate[0] = '\0';
	result_error_item(h->result, text);
	api_log(h, SWEEP_LOG_WARN, "item failed", "error", text, LOG_END);
}

static void api_message(sweep_host *h, const char *text)
{
	result_message(h->result, text);
}

/* Notes the run's progress: done units of total (-1: unknown), ppm parts
 * per million of its work done (-1: from done and total).  Logs it with
 * its rate and, when the part done is known, the percentage and the
 * seconds left: at info at most every API_PROGRESS_LOG_MS (never while
 * the supervisor draws it live on a terminal), always at debug.  Reports
 * it to the supervisor at most every API_PROGRESS_REPORT_MS; a report
 * held back goes with api_host_free(). */
void api_progress_note(sweep_host *h, int64_t done, int64_t total,
                       int64_t ppm)
{
	int64_t now = api_now_ms();
	int level = now - h->progress_ms >= API_PROGRESS_LOG_MS &&
	            !report_live() ? SWEEP_LOG_INFO : SWEEP_LOG_DEBUG;
	progress_values v;

	progress_point_set(&h->progress, done, total, ppm, now - h->started_ms);
	if (level == SWEEP_LOG_INFO)
		h->progress_ms = now;
	progress_values_of(&h->progress, &v);
	api_log(h, level, "progress", "done", v.done, "total", v.total,
	        "rate", v.rate, "percent", v.percent, "eta_s", v.eta_s,
	        LOG_END);
	h->unreported = true;
	if (now - h->reported_ms >= API_PROGRESS_REPORT_MS) {
		report_progress(&h->progress);
		h->reported_ms = now;
		h->unreported = false;
	}
}

/* See sweep_api.progress. */
static void api_progress(sweep_host *h, int64_t done, int64_t total)
{
	api_progress_note(h, done, total, -1);
}

static char *api_mprintf(const char *fmt, ...) SWEEP_PRINTF(1, 2);

static char *api_mprintf(const char *fmt, ...)
{
	buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

static PGresult *api_query(sweep_host *h, const char *sql, int nparams,
                           const char *const *params, const char *what,
                           char **errmsg)
{
	PGresult *res = PQexecParams(h->conn, sql, nparams, NULL, params, NULL,
	                             NULL, 0);
	char err[1024];

	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK) {
		/* A failure before this one was handled by the plugin. */
		h->sqlstate[0] = '\0';
		return res;
	}
	api_failed(h, res);
	db_error(res, h->conn, what, err, sizeof(err));
	*errmsg = api_mprintf("%s", err);
	PQclear(res);
	return NULL;
}

static int api_audit(sweep_host *h, const char *action, const char *table,
                     const char *json_data, char **errmsg)
{
	const char *values[5] = {h->run_id[0] ? h->run_id : NULL, h->job->name,
	                         action, table, json_data};
	PGresult *res;

	if (h->dry_run) {
		*errmsg = api_mprintf("%s", "audit: not allowed in a dry run");
		return -1;
	}
	res = api_query(h, "INSERT INTO " DB_SCHEMA ".audit (run_id, job,"
	                " action, table_name, data) VALUES ($1, $2, $3, $4,"
	                " $5)", 5, values, "writing an audit record", errmsg);
	if (res == NULL)
		return -1;
	PQclear(res);
	result_count(h->result, "audited", 1);
	h->tx_audited++;
	return 0;
}

/* See sweep_api.audit_query (ABI 1.7): sql's rows become audit records in
 * one data-modifying WITH, the host's values bound after sql's own. */
static int64_t api_audit_query(sweep_host *h, const char *action,
                               const char *table, const char *sql,
                               int nparams, const char *const *params,
                               char **errmsg)
{
	const char **values = NULL;
	PGresult *res = NULL;
	char *text = NULL;
	int64_t n = -1;
	int i;

	if (h->dry_run) {
		*errmsg = api_mprintf("%s", "audit: not allowed in a dry run");
		return -1;
	}
	values = calloc((size_t)nparams + 4, sizeof(*values));
	text = api_mprintf("WITH sweep_rows AS (%s) INSERT INTO " DB_SCHEMA
	                   ".audit (run_id, job, action, table_name, data)"
	                   " SELECT $%d, $%d, $%d, $%d, r.* FROM sweep_rows r",
	                   sql, nparams + 1, nparams + 2, nparams + 3,
	                   nparams + 4);
	if (values == NULL || text == NULL || nparams < 0 || action == NULL ||
	    table == NULL) {
		*errmsg = api_mprintf("%s", "audit_query: out of memory or "
		                      "no action or table");
		goto out;
	}
	for (i = 0; i < nparams; i++)
		values[i] = params[i];
	values[nparams] = h->run_id[0] ? h->run_id : NULL;
	values[nparams + 1] = h->job->name;
	values[nparams + 2] = action;
	values[nparams + 3] = table;
	res = api_query(h, text, nparams + 4, values,
	                "writing audit records", errmsg);
	if (res == NULL)
		goto out;
	n = strtoll(PQcmdTuples(res), NULL, 10);
	result_count(h->result, "audited", n);
out:
	PQclear(res);
	free(text);
	free(values);
	return n;
}

static bool api_should_stop(sweep_host *h)
{
	return *h->stop != 0;
}

/* Sleeps ms milliseconds, waking within 50 ms when *stop becomes
 * nonzero; true when no stop was requested. */
bool api_sleep(int64_t ms, const volatile sig_atomic_t *stop)
{
	while (ms > 0 && !*stop) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {(time_t)(step / 1000),
		                      (long)(step % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return *stop == 0;
}

/* Sleeps ms milliseconds, waking early when the run is asked to stop; true
 * when the run should go on. */
bool api_pause(sweep_host *h, int64_t ms)
{
	return api_sleep(ms, h->stop);
}

/* Keeps s until the end of the run and returns it; NULL (s freed) when
 * memory runs out.  s may be NULL. */
static const char *api_keep(sweep_host *h, char *s)
{
	if (s == NULL)
		return NULL;
	if (h->nowned == h->capowned) {
		size_t cap = h->capowned ? h->capowned * 2 : 16;
		char **v = realloc(h->owned, cap * sizeof(*v));
		if (v == NULL) {
			free(s);
			return NULL;
		}
		h->owned = v;
		h->capowned = cap;
	}
	h->owned[h->nowned++] = s;
	return s;
}

static const char *api_quote_name(sweep_host *h, const char *text,
                                  char **errmsg)
{
	char err[256], **parts;
	const char *out;
	size_t n;

	if (sqltext_ident_split(text, &parts, &n, err, sizeof(err)) != 0) {
		*errmsg = api_mprintf("%s", err);
		return NULL;
	}
	out = api_keep(h, sqltext_parts_quote(h->conn, parts, 0, n));
	sqltext_parts_free(parts, n);
	if (out == NULL)
		*errmsg = api_mprintf("cannot quote '%s': %s", text,
		                      PQerrorMessage(h->conn));
	return out;
}

static int api_split_column(sweep_host *h, const char *text,
                            const char **table, const char **column,
                            char **errmsg)
{
	char err[256], **parts;
	size_t n;

	if (sqltext_ident_split(text, &parts, &n, err, sizeof(err)) != 0) {
		*errmsg = api_mprintf("%s", err);
		return -1;
	}
	if (n < 2) {
		sqltext_parts_free(parts, n);
		*errmsg = api_mprintf("'%s' names no table: write TABLE.COLUMN "
		                      "or SCHEMA.TABLE.COLUMN", text);
		return -1;
	}
	*table = api_keep(h, sqltext_parts_quote(h->conn, parts, 0, n - 1));
	*column = api_keep(h, sqltext_parts_quote(h->conn, parts, n - 1, n));
	sqltext_parts_free(parts, n);
	if (*table == NULL || *column == NULL) {
		*errmsg = api_mprintf("cannot quote '%s': %s", text,
		                      PQerrorMessage(h->conn));
		return -1;
	}
	return 0;
}

/* jsonb_build_object() takes at most 100 arguments. */
#define API_MAX_OBJECT_COLUMNS 50

static const char *api_json_object(sweep_host *h, const char *const *columns,
                                   size_t n, const char *qualifier,
                                   char **errmsg)
{
	buf b = BUF_INIT;
	size_t i;
	const char *out;

	if (n == 0 || n > API_MAX_OBJECT_COLUMNS) {
		*errmsg = api_mprintf("%zu columns: a record takes 1 to %d", n,
		                      API_MAX_OBJECT_COLUMNS);
		return NULL;
	}
	buf_puts(&b, "jsonb_build_object(");
	for (i = 0; i < n; i++) {
		char *lit = PQescapeLiteral(h->conn, columns[i], strlen(columns[i]));
		char *id = PQescapeIdentifier(h->conn, columns[i],
		                              strlen(columns[i]));
		if (lit == NULL || id == NULL)
			b.oom = 1;
		else
			buf_printf(&b, "%s%s, %s%s%s", i ? ", " : "", lit,
			           qualifier ? qualifier : "", qualifier ? "." : "",
			           id);
		PQfreemem(lit);
		PQfreemem(id);
	}
	buf_puts(&b, ")");
	out = api_keep(h, buf_detach(&b));
	if (out == NULL)
		*errmsg = api_mprintf("cannot quote the column names: %s",
		                      PQerrorMessage(h->conn));
	return out;
}

static const char *api_key_object(sweep_host *h, const char *relation,
                                  const char *qualifier, char **errmsg)
{
	static const char *const ctid[] = {"ctid"};
	const char *args[1] = {relation};
	const char **names = NULL;
	const char *out = NULL;
	PGresult *res;
	int i, n;

	res = api_query(h, "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL"
	                " unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
	                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND"
	                " a.attnum = k.attnum WHERE i.indrelid = $1::regclass"
	                " AND i.indisprimary ORDER BY k.n", 1, args,
	                "finding the primary key", errmsg);
	if (res == NULL)
		return NULL;
	n = PQntuples(res);
	if (n == 0) {
		out = api_json_object(h, ctid, 1, qualifier, errmsg);
		goto out;
	}
	names = calloc((size_t)n, sizeof(*names));
	if (names == NULL) {
		*errmsg = api_mprintf("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		names[i] = PQgetvalue(res, i, 0);
	out = api_json_object(h, names, (size_t)n, qualifier, errmsg);
out:
	free(names);
	PQclear(res);
	return out;
}

static int api_set_timeouts(sweep_host *h, int64_t lock_timeout_ms,
                            int64_t statement_timeout_ms, char **errmsg)
{
	char err[512];

	if (db_set_timeouts(h->conn, true, lock_timeout_ms,
	                    statement_timeout_ms, err, sizeof(err)) != 0) {
		*errmsg = api_mprintf("setting a timeout: %s", err);
		return -1;
	}
	return 0;
}

static int api_begin(sweep_host *h, int64_t lock_timeout_ms,
                     int64_t statement_timeout_ms, char **errmsg)
{
	PGresult *res;

	res = api_query(h, "BEGIN", 0, NULL, "beginning a transaction", errmsg);
	if (res == NULL)
		return -1;
	PQclear(res);
	h->tx_audited = 0;
	if (api_set_timeouts(h, lock_timeout_ms, statement_timeout_ms,
	                     errmsg) != 0) {
		PQclear(PQexec(h->conn, "ROLLBACK"));
		return -1;
	}
	return 0;
}

/* Takes the audit records of the transaction that just ended without
 * committing off the "audited" counter. */
static void api_tx_discarded(sweep_host *h)
{
	if (h->tx_audited)
		result_count(h->result, "audited", -h->tx_audited);
	h->tx_audited = 0;
}

/* Ends the transaction open on the run's connection with sql, COMMIT or
 * ROLLBACK, keeping the "audited" counter equal to the records committed.
 * A COMMIT that the server turns into a ROLLBACK (the transaction had
 * failed) is a failure. */
static int api_end(sweep_host *h, const char *sql, char **errmsg)
{
	bool commit = strcmp(sql, "COMMIT") == 0;
	PGresult *res;

	if (h->dry_run) {
		*errmsg = api_mprintf("%s: not allowed in a dry run (the host "
		                      "rolls its transaction back)",
		                      commit ? "commit" : "rollback");
		return -1;
	}
	res = api_query(h, sql, 0, NULL, commit ? "committing"
	                : "rolling back", errmsg);
	if (res == NULL || (commit && strcmp(PQcmdStatus(res), "COMMIT") != 0)) {
		if (res != NULL)
			*errmsg = api_mprintf("committing: the transaction had "
			                      "failed and was rolled back");
		PQclear(res);
		if (PQtransactionStatus(h->conn) != PQTRANS_IDLE)
			PQclear(PQexec(h->conn, "ROLLBACK"));
		api_tx_discarded(h);
		return -1;
	}
	PQclear(res);
	if (commit)
		h->tx_audited = 0;
	else
		api_tx_discarded(h);
	return 0;
}

static int api_commit(sweep_host *h, char **errmsg)
{
	return api_end(h, "COMMIT", errmsg);
}

static int api_rollback(sweep_host *h, char **errmsg)
{
	return api_end(h, "ROLLBACK", errmsg);
}

static const sweep_api api_services = {
	.size = sizeof(sweep_api),
	.abi_major = SWEEP_ABI_MAJOR,
	.abi_minor = SWEEP_ABI_MINOR,
	.opt_string = api_opt_string,
	.opt_int = api_opt_int,
	.opt_bool = api_opt_bool,
	.opt_duration_ms = api_opt_duration_ms,
	.opt_list = api_opt_list,
	.opt_ident = api_opt_ident,
	.opt_isset = api_opt_isset,
	.log = api_log,
	.db = api_db,
	.batch_loop = batch_loop,
	.count = api_count,
	.sample = api_sample,
	.message = api_message,
	.progress = api_progress,
	.audit = api_audit,
	.should_stop = api_should_stop,
	.mprintf = api_mprintf,
	.free = free,
	.error_item = api_error_item,
	.query = api_query,
	.quote_name = api_quote_name,
	.split_column = api_split_column,
	.json_object = api_json_object,
	.key_object = api_key_object,
	.begin = api_begin,
	.pause = api_pause,
	.set_timeouts = api_set_timeouts,
	.opt_interval = api_opt_interval,
	.audit_query = api_audit_query,
	.commit = api_commit,
	.rollback = api_rollback,
};

/* The services table every plugin receives; static, never freed. */
const sweep_api *api_table(void)
{
	return &api_services;
}
