/* testworld: a plugin test's world (schema, conf dir, job) and running its
 * job through the real loader and runner, as sweepd --run does. */
#ifndef SWEEPD_TESTWORLD_H
#define SWEEPD_TESTWORLD_H

#include <stdbool.h>

#include "diag.h"
#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testutil.h"

/* One plugin test's world: a connection, a fresh schema, a scratch conf
 * dir, a job name unique to the test, and the configuration loaded from
 * that dir through the real settings, loader and jobs code. */
typedef struct tu_world {
	PGconn *db;
	char *schema;
	char *dir;
	char *job;
	settings s;
	loader *l;
	jobs *js;
	diag d;
} tu_world;

tu_world *tu_world_new(const char *prefix);
void tu_world_free(tu_world *w);
void tu_world_load_diag(tu_world *w, const char *text);
void tu_world_load(tu_world *w, const char *text);
runner_outcome tu_world_run(tu_world *w, bool dry, result *r);
void tu_world_run_ok(tu_world *w, bool dry, result *r);
void tu_world_run_items(tu_world *w, bool dry, result *r, long long n);
long long tu_world_run_count(tu_world *w, bool dry, result *r,
                             const char *counter);
long long tu_counter(const result *r, const char *name);
void tu_world_seen(tu_world *w);
long long tu_world_sessions(tu_world *w);

#endif
