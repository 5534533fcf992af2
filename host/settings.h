/* settings: the host's own settings, from built-in defaults, the [sweepd]
 * section of conf.d/sweepd.ini, the environment and the command line, each
 * overriding the one before. */
#ifndef SWEEPD_SETTINGS_H
#define SWEEPD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "listen.h"
#include "log.h"

/* memory_limit of a job that sets none, unless [sweepd] says otherwise. */
#define SETTINGS_DEFAULT_MEMORY_LIMIT (INT64_C(1) << 30)

/* File, inside the configuration directory, that holds [sweepd]. */
#define SETTINGS_FILE "sweepd.ini"

/* What the command line set; NULL fields were not given. */
typedef struct settings_cli {
	const char *conf_dir;
	const char *dsn;
	const char *plugin_dir;
	const char *log_format;
	const char *log_level;
	const char *max_concurrent;
	const char *stop_grace;
	const char *history_keep;
	const char *audit_keep;
	const char *memory_limit;
	const char *watch;
	const char *allow_insecure_files;
	const char *metrics_file;
	const char *http_listen;
} settings_cli;

/* A database jobs may work in ([database NAME] of sweepd.ini): a job
 * with `database = NAME` deletes there and writes its audit records
 * there; history, claims, pauses and locks stay in the home database
 * ([sweepd] dsn). */
typedef struct settings_db {
	char *name;
	char *dsn;              /* from SWEEPD_DB_<NAME>_DSN, else the file */
	int line;               /* line of [database NAME] in sweepd.ini */
} settings_db;

/* Prefix of the section that declares a database. */
#define SETTINGS_DB_SECTION "database "

typedef struct settings {
	char *conf_dir;
	char *dsn;              /* "" lets libpq read the PG* variables */
	char *plugin_dir;
	int log_level;
	log_format log_format;
	int64_t max_concurrent; /* runs at once in the scheduler; 0: no bound
	                           but one run per job */
	int64_t stop_grace_ms;  /* from "stop" to SIGKILL for a run */
	int64_t history_keep_ms;/* age past which history rows are pruned */
	int64_t audit_keep_ms;  /* age past which whole days of audit records
	                           are dropped; 0: kept forever */
	int64_t memory_limit;   /* default of a job's memory_limit, bytes */
	bool watch;             /* the daemon reloads by itself when conf.d or
	                           plugin_dir change (watch.h) */
	bool allow_insecure_files; /* no owner and mode checks (trust.c):
	                              for development and tests only */
	char *metrics_file;     /* Prometheus text written after every run;
	                           NULL: none */
	char *http_listen;      /* IP:PORT of /metrics, /healthz and /readyz
	                           (http.h); NULL: no HTTP */
	listen_addr http_addr;  /* http_listen parsed; len 0: none */
	char *http_origin;      /* where http_listen was set: the file, the
	                           variable or the option */
	int http_line;          /* its line in that file; 0: not a file */
	settings_db *dbs;       /* the declared databases, in file order */
	size_t ndbs;
} settings;

const char *settings_default_conf_dir(void);
int settings_load(const settings_cli *cli, settings *s, diag *d);
void settings_free(settings *s);
const settings_db *settings_db_find(const settings *s, const char *name);
void settings_db_env(const char *name, char *out, size_t len);

#endif
