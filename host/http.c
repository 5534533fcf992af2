/* http: the daemon's optional read-only HTTP endpoint (http_listen):
 * /metrics (the text of the metrics file), /healthz (the scheduler loop
 * came round lately) and /readyz (conf.d loaded and the home database
 * answering), over libmicrohttpd driven by the scheduler's own poll()
 * loop: one epoll descriptor in its poll set, no thread, so an answer
 * from /healthz is itself proof that the loop runs, and no request ever
 * blocks it (every socket is non-blocking; connections are bounded in
 * number, memory and idle time).
 *
 * The loop tells the server what it knows (http_beat(), http_db(),
 * http_loaded(), http_stopping(), http_metrics()); requests read only
 * that, never the database. */
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "log.h"

/* Connections at once: probes and a scraper or two need a handful; the
 * rest wait in the listen backlog or are refused. */
#define HTTP_MAX_CONNS 32
/* A connection idle this long (a client that connects and sends nothing,
 * or stops reading) is closed. */
#define HTTP_IDLE_S 5
/* Memory of one connection: the request's head must fit in it. */
#define HTTP_CONN_MEMORY (16 * 1024)
#define HTTP_BACKLOG 16
/* libmicrohttpd's complaints (mostly about clients: a limit reached, a
 * malformed request) are logged at most once in this time, so that no
 * client can flood the log. */
#define HTTP_LOG_EVERY_MS 10000

struct http_server {
	struct MHD_Daemon *mhd;
	int listen_fd;          /* owned by mhd once it started */
	int conns[HTTP_MAX_CONNS]; /* the open connections' sockets, to be
	                              closed in a run's child */
	size_t nconns;
	int64_t beat_max_ms;    /* /healthz fails past this between beats */
	int64_t db_max_ms;      /* /readyz fails when the database was not
	                           heard from for this long */
	int64_t beat_ms;        /* monotonic time of the last beat; 0: none */
	int64_t gap_ms;         /* time between the last two beats */
	bool loaded;
	size_t njobs;
	size_t problems;        /* errors of the last load of conf.d */
	char problem[512];      /* the first, on one line */
	bool stopping;
	int64_t db_ms;          /* when the database last answered, or
	                           failed to; 0: never asked */
	char db_err[512];       /* why it failed; "": it answered */
	buf metrics;            /* the exposition last rendered */
	int64_t log_ms;         /* when a complaint was last logged */
	unsigned long dropped;  /* complaints not logged since */
};

/* libmicrohttpd's own complaints, as log lines: one per
 * HTTP_LOG_EVERY_MS at most, saying how many were left out before it. */
static void http_log(void *cls, const char *fmt, va_list ap)
	SWEEP_PRINTF(2, 0);

static void http_log(void *cls, const char *fmt, va_list ap)
{
	http_server *h = cls;
	int64_t now = api_now_ms();
	char msg[512], dropped[32];
	size_t n;

	if (h->log_ms != 0 && now - h->log_ms < HTTP_LOG_EVERY_MS) {
		h->dropped++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	snprintf(dropped, sizeof(dropped), "%lu", h->dropped);
	log_msg(SWEEP_LOG_WARN, "http", "error", msg, "not_logged_before",
	        dropped, LOG_END);
	h->log_ms = now;
	h->dropped = 0;
}

/* Keeps the list of open connections' sockets (MHD's connection
 * notifications). */
static void http_conn(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	http_server *h = cls;
	size_t i;

	(void)ctx;
	if (ci == NULL)
		return;
	if (code == MHD_CONNECTION_NOTIFY_STARTED &&
	    h->nconns < HTTP_MAX_CONNS) {
		h->conns[h->nconns++] = ci->connect_fd;
		return;
	}
	for (i = 0; i < h->nconns; i++)
		if (h->conns[i] == ci->connect_fd) {
			h->conns[i] = h->conns[--h->nconns];
			return;
		}
}

/* Queues a response of status with body (text/plain unless type). */
static enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status,
                                  const char *type, const char *body,
                                  size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        type ? type : "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Writes /healthz's answer into out; true when the loop is alive: it came
 * round within beat_max_ms, and its last round took no longer. */
static bool http_health(const http_server *h, char *out, size_t len)
{
	int64_t since = api_now_ms() - h->beat_ms;

	if (h->beat_ms == 0) {
		snprintf(out, len, "starting: the scheduler loop has not "
		         "come round yet\n");
		return false;
	}
	if (since > h->beat_max_ms || h->gap_ms > h->beat_max_ms) {
		snprintf(out, len, "stalled: the scheduler loop took %.1f s "
		         "to come round (bound %.1f s)\n",
		         (double)(since > h->gap_ms ? since : h->gap_ms) / 1000,
		         (double)h->beat_max_ms / 1000);
		return false;
	}
	snprintf(out, len, "ok: the scheduler loop came round %.1f s ago\n",
	         (double)since / 1000);
	return true;
}

/* Writes /readyz's answer into out; true when ready: conf.d loaded, not
 * stopping, and the home database answered within db_max_ms. */
static bool http_ready(const http_server *h, char *out, size_t len)
{
	int64_t ago = api_now_ms() - h->db_ms;

	if (!h->loaded)
		snprintf(out, len, "not ready: conf.d not loaded yet\n");
	else if (h->problems > 0)
		snprintf(out, len, "not ready: conf.d has %zu problem%s "
		         "(sweepd --check lists them; the sound jobs run): "
		         "%s\n",
		         h->problems, h->problems == 1 ? "" : "s", h->problem);
	else if (h->stopping)
		snprintf(out, len, "not ready: stopping\n");
	else if (h->db_ms == 0)
		snprintf(out, len, "not ready: the home database was not "
		         "asked yet\n");
	else if (h->db_err[0] != '\0')
		snprintf(out, len, "not ready: home database unreachable: "
		         "%s\n", h->db_err);
	else if (ago > h->db_max_ms)
		snprintf(out, len, "not ready: the home database was last "
		         "heard from %.0f s ago\n", (double)ago / 1000);
	else {
		snprintf(out, len, "ready: %zu job%s loaded; the home database "
		         "answered %.1f s ago\n", h->njobs,
		         h->njobs == 1 ? "" : "s", (double)ago / 1000);
		return true;
	}
	return false;
}

/* Answers one request: GET or HEAD of /metrics, /healthz or /readyz;
 * 405 for another method, 404 for another path.  Called by MHD from
 * http_serve(), on the loop's thread. */
static enum MHD_Result http_answer(void *cls, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *version,
                                   const char *upload, size_t *upload_len,
                                   void **ctx)
{
	http_server *h = cls;
	char text[1024];
	bool ok;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)ctx;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		snprintf(text, sizeof(text), "method %.64s not allowed: "
		         "sweepd's HTTP is read-only (GET, HEAD)\n", method);
		return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, text,
		                  strlen(text));
	}
	if (strcmp(url, "/metrics") == 0)
		return http_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; "
		                  "charset=utf-8", buf_str(&h->metrics),
		                  h->metrics.len);
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
		ok = url[1] == 'h' ? http_health(h, text, sizeof(text))
		     : http_ready(h, text, sizeof(text));
		return http_reply(c, ok ? MHD_HTTP_OK
		                  : MHD_HTTP_SERVICE_UNAVAILABLE, NULL, text,
		                  strlen(text));
	}
	snprintf(text, sizeof(text), "not found: %.200s; sweepd serves "
	         "/metrics, /healthz and /readyz\n", url);
	return http_reply(c, MHD_HTTP_NOT_FOUND, NULL, text, strlen(text));
}

/* What to do about a bind or listen failure of errno e. */
static const char *http_fix(int e, unsigned port)
{
	static char fix[256];

	switch (e) {
	case EADDRINUSE:
		snprintf(fix, sizeof(fix), "another process listens there "
		         "(ss -ltnp 'sport = :%u' names it): stop it or choose "
		         "another port", port);
		return fix;
	case EADDRNOTAVAIL:
		return "no interface of this host has that address: use one "
		       "it has (ip -brief address), 127.0.0.1 or 0.0.0.0";
	case EACCES:
		return "a port below 1024 needs root or CAP_NET_BIND_SERVICE: "
		       "choose a port from 1024 up";
	default:
		return "choose another address or port";
	}
}

/* A listening socket on s->http_addr; -1 with err set (naming where
 * http_listen was set, and the fix). */
static int http_listen_fd(const settings *s, char *err, size_t errlen)
{
	const listen_addr *a = &s->http_addr;
	int fd, one = 1, e;

	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			           sizeof(one));
		if (bind(fd, (const struct sockaddr *)&a->sa, a->len) == 0 &&
		    listen(fd, HTTP_BACKLOG) == 0)
			return fd;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	if (s->http_line > 0)
		snprintf(err, errlen, "%s:%d: http_listen = %s: cannot listen: "
		         "%s; %s", s->http_origin, s->http_line, s->http_listen,
		         strerror(e), http_fix(e, a->port));
	else
		snprintf(err, errlen, "%s: %s: cannot listen: %s; %s",
		         s->http_origin, s->http_listen, strerror(e),
		         http_fix(e, a->port));
	return -1;
}

/* Starts the server on s->http_listen; *out is NULL when s sets none.
 * /healthz fails once the loop goes beat_max_ms without a beat, /readyz
 * once the database goes db_max_ms unheard.  0, or -1 with err set (the
 * address cannot be listened on: the daemon must not start).  The caller
 * owns *out (http_close()). */
int http_open(const settings *s, int64_t beat_max_ms, int64_t db_max_ms,
              http_server **out, char *err, size_t errlen)
{
	http_server *h;

	*out = NULL;
	if (s->http_listen == NULL || s->http_addr.len == 0)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "http_listen: out of memory");
		return -1;
	}
	h->beat_max_ms = beat_max_ms;
	h->db_max_ms = db_max_ms;
	if ((h->listen_fd = http_listen_fd(s, err, errlen)) < 0) {
		free(h);
		return -1;
	}
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, http_answer, h,
		MHD_OPTION_EXTERNAL_LOGGER, http_log, h,        /* first */
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		MHD_OPTION_NOTIFY_CONNECTION, http_conn, h,
		MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "http_listen = %s: libmicrohttpd would "
		         "not start (see the line before)", s->http_listen);
		close(h->listen_fd);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

/* Stops the server, closing every connection and the listening socket. */
void http_close(http_server *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	buf_free(&h->metrics);
	free(h);
}

/* In a run's child (fork, no exec): closes the server's sockets without
 * touching the parent's server, so that a run never keeps the port or a
 * client's connection open.  The child must not use h afterwards. */
void http_child_close(http_server *h)
{
	const union MHD_DaemonInfo *di;
	size_t i;

	if (h == NULL)
		return;
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di != NULL)
		close(di->epoll_fd);
	close(h->listen_fd);
	for (i = 0; i < h->nconns; i++)
		close(h->conns[i]);
}

/* The descriptor the loop polls for input (epoll's); -1 when h is
 * NULL, which poll() ignores. */
int http_fd(const http_server *h)
{
	const union MHD_DaemonInfo *di;

	if (h == NULL)
		return -1;
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return di ? di->epoll_fd : -1;
}

/* wait_ms, shortened to when the server must run next (a connection's
 * idle timeout, data already buffered). */
int http_poll_ms(http_server *h, int wait_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (h == NULL || MHD_get_timeout(h->mhd, &t) != MHD_YES)
		return wait_ms;
	return t < (MHD_UNSIGNED_LONG_LONG)wait_ms ? (int)t : wait_ms;
}

/* Serves whatever is ready without blocking: new connections, requests,
 * responses, timeouts.  Called after every poll(). */
void http_serve(http_server *h)
{
	if (h != NULL)
		MHD_run(h->mhd);
}

/* The loop came round at now_ms (monotonic). */
void http_beat(http_server *h, int64_t now_ms)
{
	if (h == NULL)
		return;
	if (h->beat_ms != 0)
		h->gap_ms = now_ms - h->beat_ms;
	h->beat_ms = now_ms;
}

/* The home database answered at now_ms (err NULL), or did not (err says
 * why). */
void http_db(http_server *h, const char *err, int64_t now_ms)
{
	if (h == NULL)
		return;
	h->db_ms = now_ms;
	snprintf(h->db_err, sizeof(h->db_err), "%s", err ? err : "");
}

/* conf.d is loaded, with njobs jobs, and problems errors, the first of
 * which is problem (NULL: none). */
void http_loaded(http_server *h, size_t njobs, size_t problems,
                 const char *problem)
{
	char *p;

	if (h == NULL)
		return;
	h->loaded = true;
	h->njobs = njobs;
	h->problems = problems;
	snprintf(h->problem, sizeof(h->problem), "%s", problem ? problem : "");
	for (p = h->problem; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* The daemon is stopping: /readyz fails from now on. */
void http_stopping(http_server *h)
{
	if (h != NULL)
		h->stopping = true;
}

/* What /metrics serves from now on: a copy of text. */
void http_metrics(http_server *h, const buf *text)
{
	if (h == NULL)
		return;
	buf_reset(&h->metrics);
	buf_append(&h->metrics, buf_str(text), text->len);
}
