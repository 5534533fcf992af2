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
#ifndef SWEEPD_HTTP_H
#define SWEEPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "settings.h"

typedef struct http_server http_server;

int http_open(const settings *s, int64_t beat_max_ms, int64_t db_max_ms,
              http_server **out, char *err, size_t errlen);
void http_close(http_server *h);
void http_child_close(http_server *h);
int http_fd(const http_server *h);
int http_poll_ms(http_server *h, int wait_ms);
void http_serve(http_server *h);
void http_beat(http_server *h, int64_t now_ms);
void http_db(http_server *h, const char *err, int64_t now_ms);
void http_loaded(http_server *h, size_t njobs, size_t problems,
                 const char *problem);
void http_stopping(http_server *h);
void http_metrics(http_server *h, const buf *text);

#endif
