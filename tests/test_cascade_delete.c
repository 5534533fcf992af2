/* cascade_delete against the real PostgreSQL: the real plugin .so, loaded by
 * the real loader and run by the host's runner as sweepd --run does, and
 * the real binary for the exit status, the JSON result and signals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testworld.h"

/* The children of a profile in seed 002's order; @ stands for the
 * schema (see world_text). */
#define CHILDREN                                                            \
	"children = @.check_ins.user_id, @.crisis_plan.user_id,\n"    \
	"  @.clinical_notes.patient_id, @.clinical_notes.therapist_id,\n" \
	"  @.therapist_patients.patient_id,\n"                           \
	"  @.therapist_patients.therapist_id, @.user_consent.user_id\n"

/* The same without crisis_plan, a child the list forgot. */
#define CHILDREN_NO_CRISIS                                                  \
	"children = @.check_ins.user_id,\n"                              \
	"  @.clinical_notes.patient_id, @.clinical_notes.therapist_id,\n" \
	"  @.therapist_patients.patient_id,\n"                           \
	"  @.therapist_patients.therapist_id, @.user_consent.user_id\n"

/* Which profiles go in seed 002. */
#define DUE "where = deletion_scheduled_at <= now() AND deleted_at IS NULL\n"

/* One test's world: a schema with seed 002's tables, a conf dir with one
 * job over it, and the loaded configuration. */
typedef tu_world world;

/* Creates seed 002's tables, with real foreign keys and no ON DELETE
 * CASCADE, and these profiles:
 *   1 due; patient of 2, and its own therapist in one note
 *   2 due; therapist of 1 (one note links the two due users) and of 6
 *   3 due; patient of 6; the only due profile with a crisis plan
 *   4 due; no child rows but its consent
 *   5 scheduled in the future       6 not scheduled (a therapist)
 *   7 due but already soft-deleted (deleted_at set) */
static void world_data(world *w)
{
	const char *s = w->schema;

	tu_sql(w->db,
	       "CREATE TABLE %s.profiles (id bigint PRIMARY KEY,"
	       " deletion_scheduled_at timestamptz, deleted_at timestamptz);"
	       "CREATE TABLE %s.check_ins (id bigserial PRIMARY KEY,"
	       " user_id bigint NOT NULL REFERENCES %s.profiles (id));"
	       "CREATE TABLE %s.crisis_plan (id bigserial PRIMARY KEY,"
	       " user_id bigint NOT NULL REFERENCES %s.profiles (id));"
	       "CREATE TABLE %s.clinical_notes (id bigserial PRIMARY KEY,"
	       " patient_id bigint NOT NULL REFERENCES %s.profiles (id),"
	       " therapist_id bigint NOT NULL REFERENCES %s.profiles (id),"
	       " note text NOT NULL);"
	       "CREATE TABLE %s.therapist_patients ("
	       " patient_id bigint NOT NULL REFERENCES %s.profiles (id),"
	       " therapist_id bigint NOT NULL REFERENCES %s.profiles (id),"
	       " PRIMARY KEY (patient_id, therapist_id));"
	       "CREATE TABLE %s.user_consent (user_id bigint PRIMARY KEY"
	       " REFERENCES %s.profiles (id));"
	       "CREATE TABLE %s.audit_log (id bigserial PRIMARY KEY,"
	       " user_id bigint, action text NOT NULL,"
	       " created_at timestamptz NOT NULL DEFAULT now());",
	       s, s, s, s, s, s, s, s, s, s, s, s, s, s);
	tu_sql(w->db,
	       "INSERT INTO %s.profiles VALUES"
	       " (1, now() - interval '20 days', NULL),"
	       " (2, now() - interval '1 day', NULL),"
	       " (3, now() - interval '1 minute', NULL),"
	       " (4, now() - interval '3 days', NULL),"
	       " (5, now() + interval '3 days', NULL),"
	       " (6, NULL, NULL),"
	       " (7, now() - interval '5 days', now() - interval '5 days');"
	       "INSERT INTO %s.check_ins (user_id) VALUES"
	       " (1), (1), (1), (2), (2), (3), (5), (5), (6), (7);"
	       "INSERT INTO %s.crisis_plan (user_id) VALUES (3), (5);"
	       "INSERT INTO %s.clinical_notes (patient_id, therapist_id, note)"
	       " VALUES (1, 2, 'two due users'), (3, 6, 'due patient'),"
	       " (6, 2, 'due therapist'), (5, 6, 'neither due'),"
	       " (1, 1, 'one due user in both columns');"
	       "INSERT INTO %s.therapist_patients VALUES"
	       " (1, 2), (3, 6), (6, 2), (5, 6);"
	       "INSERT INTO %s.user_consent SELECT g FROM generate_series(1, 7) g;",
	       s, s, s, s, s, s);
}

/* The job file over schema.profiles with the given [params] lines after
 * table and key_column, each @ in them replaced by the schema.  A new
 * string. */
static char *world_text(world *w, const char *params)
{
	char body[4096], *text;
	size_t n = 0, len = strlen(w->schema);
	const char *p;
	int size;

	for (p = params; *p; p++) {
		assert_true(n + len + 1 < sizeof(body));
		if (*p == '@') {
			memcpy(body + n, w->schema, len);
			n += len;
		} else {
			body[n++] = *p;
		}
	}
	body[n] = '\0';
	size = snprintf(NULL, 0, "[job]\nname = %s\nplugin = cascade_delete\n"
	                "\n[params]\ntable = %s.profiles\nkey_column = id\n%s",
	                w->job, w->schema, body);
	text = malloc((size_t)size + 1);
	assert_non_null(text);
	snprintf(text, (size_t)size + 1, "[job]\nname = %s\nplugin = "
	         "cascade_delete\n\n[params]\ntable = %s.profiles\n"
	         "key_column = id\n%s", w->job, w->schema, body);
	return text;
}

/* Loads the job over schema.profiles (see world_text). */
static void world_job(world *w, const char *params)
{
	char *text = world_text(w, params);

	tu_world_load(w, text);
	free(text);
}

static int world_setup(void **state)
{
	*state = tu_world_new("cascade");
	return 0;
}

static int world_teardown(void **state)
{
	tu_world_free(*state);
	return 0;
}

/* The counter of schema.table. */
static long long table_counter(world *w, const result *r, const char *table)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.%s", w->schema, table);
	return tu_counter(r, name);
}

/* Rows of schema.table meeting cond. */
static long long rows(world *w, const char *table, const char *cond)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.%s WHERE %s",
	                  w->schema, table, cond);
}

/* Profile ids left, as text: "5,6,7". A new string. */
static char *profiles_left(world *w)
{
	return tu_sql_text(w->db, "SELECT coalesce(string_agg(id::text, ','"
	                   " ORDER BY id), '') FROM %s.profiles", w->schema);
}

/* md5 of the contents of every table of the world, one after the other,
 * to tell that nothing changed.  A new string. */
static char *snapshot(world *w)
{
	static const char *const tables[] = {
		"profiles", "check_ins", "crisis_plan", "clinical_notes",
		"therapist_patients", "user_consent", "audit_log"
	};
	char all[512] = "", *one;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		one = tu_sql_text(w->db, "SELECT md5(coalesce(string_agg("
		                  "t::text, ',' ORDER BY t::text), '')) FROM"
		                  " %s.%s t", w->schema, tables[i]);
		strncat(all, one, sizeof(all) - strlen(all) - 2);
		strcat(all, " ");
		free(one);
	}
	one = strdup(all);
	assert_non_null(one);
	return one;
}

/* Checks that exactly the due profiles 1-4 are gone with every child row
 * that refers to one of them, and that every other row is kept. */
static void assert_only_due_gone(world *w)
{
	char *left = profiles_left(w);

	assert_string_equal(left, "5,6,7");
	free(left);
	assert_int_equal(rows(w, "check_ins", "true"), 4);
	assert_int_equal(rows(w, "check_ins", "user_id IN (5, 6, 7)"), 4);
	assert_int_equal(rows(w, "crisis_plan", "user_id = 5"), 1);
	assert_int_equal(rows(w, "crisis_plan", "true"), 1);
	assert_int_equal(rows(w, "clinical_notes", "true"), 1);
	assert_int_equal(rows(w, "clinical_notes", "note = 'neither due'"), 1);
	assert_int_equal(rows(w, "therapist_patients", "true"), 1);
	assert_int_equal(rows(w, "therapist_patients",
	                      "patient_id = 5 AND therapist_id = 6"), 1);
	assert_int_equal(rows(w, "user_consent", "user_id IN (5, 6, 7)"), 3);
	assert_int_equal(rows(w, "user_consent", "true"), 3);
}

/* Checks the counters of a run (or dry run) that took every due profile. */
static void assert_due_counters(world *w, const result *r)
{
	assert_int_equal(tu_counter(r, "parents"), 4);
	if (!r->dry_run)
		assert_int_equal(tu_counter(r, "failed"), 0);
	assert_int_equal(table_counter(w, r, "check_ins"), 6);
	assert_int_equal(table_counter(w, r, "crisis_plan"), 1);
	/* A note reached through both columns is deleted, and counted,
	 * once. */
	assert_int_equal(table_counter(w, r, "clinical_notes"), 4);
	assert_int_equal(table_counter(w, r, "therapist_patients"), 3);
	assert_int_equal(table_counter(w, r, "user_consent"), 4);
	assert_int_equal(table_counter(w, r, "profiles"), 4);
}

/* Runs sweepd --json COMMAND JOB over the world's conf dir; returns the
 * exit status, *out the standard output. */
static int world_cli(world *w, const char *command, char **out)
{
	return tu_run(out, NULL, SWEEPD_BIN " --conf-dir %s --plugin-dir "
	              SWEEPD_PLUGIN_DIR " --json %s %s 2>/dev/null", w->dir,
	              command, w->job);
}

static void deletes_due_parents_children_first_audited_in_audit_log(
	void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	/* Two parents a round: the four due ones take three fetches. */
	world_job(w, DUE CHILDREN "audit_table = @.audit_log\n"
	          "batch_size = 2\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_true(r.success);
	assert_due_counters(w, &r);
	assert_int_equal(tu_counter(&r, "audited"), 4);
	assert_int_equal(r.nerrors, 0);
	assert_non_null(r.message);
	result_free(&r);
	assert_only_due_gone(w);
	/* One audit_log row per deleted profile, none elsewhere. */
	assert_int_equal(rows(w, "audit_log", "true"), 4);
	assert_int_equal(rows(w, "audit_log", "action = 'hard_deleted' AND"
	                      " user_id IN (1, 2, 3, 4)"), 4);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT user_id) FROM"
	                            " %s.audit_log", w->schema), 4);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 0);
	/* A second run finds nothing more to do. */
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 0);
	result_free(&r);
	assert_int_equal(rows(w, "audit_log", "true"), 4);
}

static void default_audit_goes_to_sweepd_audit_in_one_record_per_parent(
	void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, DUE CHILDREN);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_true(r.success);
	assert_due_counters(w, &r);
	assert_int_equal(tu_counter(&r, "audited"), 4);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 4);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND action ="
	                            " 'hard_deleted' AND table_name ="
	                            " '%s.profiles' AND run_id = %lld AND"
	                            " (data->>'key')::bigint IN (1, 2, 3, 4)",
	                            w->job, w->schema, (long long)r.run_id), 4);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->>'key')"
	                            " FROM sweepd.audit WHERE job = '%s'",
	                            w->job), 4);
	result_free(&r);
	assert_only_due_gone(w);
	assert_int_equal(rows(w, "audit_log", "true"), 0);
}

static void a_forgotten_child_fails_its_parent_alone(void **state)
{
	world *w = *state;
	char *text, *out, *left;

	world_data(w);
	/* crisis_plan is not listed: profile 3's plan keeps it. */
	text = world_text(w, DUE CHILDREN_NO_CRISIS
	                  "audit_table = @.audit_log\n");
	tu_write(w->dir, "job.ini", text);
	free(text);
	assert_int_equal(world_cli(w, "--run", &out), 1);
	assert_contains(out, "\"success\":false");
	assert_contains(out, "\"parents\":3,\"failed\":1");
	assert_contains(out, "\"errors\":1");
	assert_contains(out, "\"error\":\"run: 1 of 4 parents failed; see"
	                " errors\"");
	assert_contains(out, "\"errors\":[\"parent 3: update or delete on"
	                " table \\\"profiles\\\" violates foreign key"
	                " constraint");
	assert_contains(out, "on table \\\"crisis_plan\\\" (SQLSTATE 23503,"
	                " deleting the parent)\"]");
	free(out);
	/* Profile 3 and all its rows stay, rolled back together; the others
	 * went. */
	left = profiles_left(w);
	assert_string_equal(left, "3,5,6,7");
	free(left);
	assert_int_equal(rows(w, "check_ins", "user_id = 3"), 1);
	assert_int_equal(rows(w, "clinical_notes", "patient_id = 3"), 1);
	assert_int_equal(rows(w, "therapist_patients", "patient_id = 3"), 1);
	assert_int_equal(rows(w, "user_consent", "user_id = 3"), 1);
	assert_int_equal(rows(w, "check_ins", "user_id IN (1, 2, 4)"), 0);
	assert_int_equal(rows(w, "clinical_notes", "true"), 2);
	assert_int_equal(rows(w, "audit_log", "true"), 3);
	assert_int_equal(rows(w, "audit_log", "user_id = 3"), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s' AND status = 'failed'"
	                            " AND error LIKE '%%1 of 4 parents failed%%'",
	                            w->job), 1);
}

static void a_lock_on_one_parents_child_rows_fails_it_alone(void **state)
{
	world *w = *state;
	PGconn *locker = tu_db();
	result r;
	char *left;

	world_data(w);
	world_job(w, DUE CHILDREN "audit_table = @.audit_log\n"
	          "lock_timeout = 200ms\n");
	/* The server ends the locker's session after 5 s idle, so a run
	 * that waited for the lock would end (and fail this test) instead of
	 * hanging. */
	tu_sql(locker, "SET idle_in_transaction_session_timeout = '5s'; BEGIN;"
	       " SELECT * FROM %s.check_ins WHERE user_id = 2 FOR UPDATE",
	       w->schema);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	assert_false(r.success);
	assert_contains(r.error, "1 of 4 parents failed; see errors");
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "parent 2: canceling statement due to"
	                " lock timeout (SQLSTATE 55P03, deleting from ");
	assert_contains(r.errors[0], ".check_ins.user_id)");
	assert_int_equal(tu_counter(&r, "parents"), 3);
	assert_int_equal(tu_counter(&r, "failed"), 1);
	assert_int_equal(tu_counter(&r, "errors"), 1);
	assert_int_equal(table_counter(w, &r, "profiles"), 3);
	result_free(&r);
	left = profiles_left(w);
	assert_string_equal(left, "2,5,6,7");
	free(left);
	assert_int_equal(rows(w, "check_ins", "user_id = 2"), 2);
	assert_int_equal(rows(w, "clinical_notes", "note = 'due therapist'"),
	                 1);
	assert_int_equal(rows(w, "user_consent", "user_id = 2"), 1);
	assert_int_equal(rows(w, "audit_log", "true"), 3);
	assert_int_equal(rows(w, "audit_log", "user_id = 2"), 0);
}

static void a_parent_failing_at_commit_takes_its_audit_record_along(
	void **state)
{
	world *w = *state;
	result r;
	char *left;

	world_data(w);
	/* A deferred foreign key the list forgot fails only at COMMIT, after
	 * the audit record was written. */
	tu_sql(w->db, "CREATE TABLE %s.later (user_id bigint REFERENCES"
	       " %s.profiles DEFERRABLE INITIALLY DEFERRED);"
	       " INSERT INTO %s.later VALUES (4)", w->schema, w->schema,
	       w->schema);
	world_job(w, DUE CHILDREN);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "parent 4: ");
	assert_contains(r.errors[0], "(SQLSTATE 23503, committing)");
	assert_int_equal(tu_counter(&r, "parents"), 3);
	assert_int_equal(tu_counter(&r, "audited"), 3);
	assert_int_equal(table_counter(w, &r, "user_consent"), 3);
	result_free(&r);
	left = profiles_left(w);
	assert_string_equal(left, "4,5,6,7");
	free(left);
	assert_int_equal(rows(w, "user_consent", "user_id = 4"), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 3);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND data->>'key' = '4'",
	                            w->job), 0);
}

static void children_go_in_the_order_given(void **state)
{
	world *w = *state;
	result r;
	char *left;

	world_data(w);
	/* Replies refer to a profile and to a check-in: they must go before
	 * check_ins. */
	tu_sql(w->db, "CREATE TABLE %s.replies (user_id bigint NOT NULL"
	       " REFERENCES %s.profiles (id), check_in_id bigint NOT NULL"
	       " REFERENCES %s.check_ins (id)); INSERT INTO %s.replies"
	       " SELECT user_id, id FROM %s.check_ins WHERE user_id = 1",
	       w->schema, w->schema, w->schema, w->schema, w->schema);
	world_job(w, DUE "children = @.check_ins.user_id,"
	          " @.crisis_plan.user_id,\n"
	          "  @.clinical_notes.patient_id,\n"
	          "  @.clinical_notes.therapist_id,\n"
	          "  @.therapist_patients.patient_id,\n"
	          "  @.therapist_patients.therapist_id,\n"
	          "  @.user_consent.user_id, @.replies.user_id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "parent 1: ");
	assert_contains(r.errors[0], "replies");
	assert_int_equal(tu_counter(&r, "parents"), 3);
	result_free(&r);
	left = profiles_left(w);
	assert_string_equal(left, "1,5,6,7");
	free(left);
	assert_int_equal(rows(w, "replies", "true"), 3);

	/* Listed first, replies go, then the rest. */
	world_job(w, DUE "children = @.replies.user_id,\n"
	          "  @.check_ins.user_id, @.crisis_plan.user_id,\n"
	          "  @.clinical_notes.patient_id,\n"
	          "  @.clinical_notes.therapist_id,\n"
	          "  @.therapist_patients.patient_id,\n"
	          "  @.therapist_patients.therapist_id,\n"
	          "  @.user_consent.user_id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 1);
	assert_int_equal(table_counter(w, &r, "replies"), 3);
	assert_int_equal(table_counter(w, &r, "check_ins"), 3);
	result_free(&r);
	assert_only_due_gone(w);
	assert_int_equal(rows(w, "replies", "true"), 0);
}

static void dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	result r;
	char *before, *after;

	world_data(w);
	world_job(w, DUE CHILDREN "audit_table = @.audit_log\n");
	before = snapshot(w);
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_OK);
	assert_true(r.success);
	assert_due_counters(w, &r);
	assert_int_equal(r.nsamples, 4);
	assert_string_equal(r.samples[0], "1");
	assert_string_equal(r.samples[3], "4");
	assert_contains(r.message, "would delete 4 parents");
	result_free(&r);
	after = snapshot(w);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 0);

	/* With max_rows, what the capped run would take: profiles 1 and 2. */
	world_job(w, DUE CHILDREN "max_rows = 2\n");
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 2);
	assert_int_equal(table_counter(w, &r, "check_ins"), 5);
	assert_int_equal(table_counter(w, &r, "clinical_notes"), 3);
	assert_int_equal(table_counter(w, &r, "user_consent"), 2);
	assert_int_equal(r.nsamples, 2);
	result_free(&r);
	after = snapshot(w);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void max_rows_caps_the_parents_of_one_run(void **state)
{
	world *w = *state;
	result r;
	char *left;

	world_data(w);
	world_job(w, DUE CHILDREN "batch_size = 2\nmax_rows = 3\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 3);
	assert_int_equal(table_counter(w, &r, "profiles"), 3);
	result_free(&r);
	left = profiles_left(w);
	assert_string_equal(left, "4,5,6,7");
	free(left);
	assert_int_equal(rows(w, "user_consent", "true"), 4);
}

static void quotes_spaces_and_dots_in_names_are_safe(void **state)
{
	world *w = *state;
	result r;
	char text[2048];
	const char *s;

	world_data(w);
	s = w->schema;
	tu_sql(w->db,
	       "CREATE TABLE %s.\"odd\"\"parent\" (\"the id\" text PRIMARY KEY,"
	       " \"made at\" timestamptz);"
	       "CREATE TABLE %s.\"kid list\" (\"parent\"\"ref\" text"
	       " REFERENCES %s.\"odd\"\"parent\");"
	       "CREATE TABLE %s.\"dotted.kids\" (\"p id\" text"
	       " REFERENCES %s.\"odd\"\"parent\");"
	       "CREATE TABLE %s.\"odd audit\" (action text, \"who\"\"id\" text);"
	       "INSERT INTO %s.\"odd\"\"parent\" VALUES"
	       " ('it''s', now() - interval '2 days'), ('a\"b', now() - interval"
	       " '3 days'), ('young', now());"
	       "INSERT INTO %s.\"kid list\" VALUES ('it''s'), ('it''s'),"
	       " ('young');"
	       "INSERT INTO %s.\"dotted.kids\" VALUES ('a\"b'), ('young');",
	       s, s, s, s, s, s, s, s, s);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = cascade_delete\n[params]\n"
	         "table = %s.odd\"parent\nkey_column = the id\n"
	         "where = \"made at\" < now() - interval '1 day'\n"
	         "children = %s.kid list.parent\"ref, %s.\"dotted.kids\".p id\n"
	         "audit_table = %s.odd audit\naudit_key_column = who\"id\n"
	         "audit_action = purged\n",
	         w->job, s, s, s, s);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 2);
	snprintf(text, sizeof(text), "%s.kid list", s);
	assert_int_equal(tu_counter(&r, text), 2);
	snprintf(text, sizeof(text), "%s.\"dotted.kids\"", s);
	assert_int_equal(tu_counter(&r, text), 1);
	snprintf(text, sizeof(text), "%s.odd\"parent", s);
	assert_int_equal(tu_counter(&r, text), 2);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.\"odd\"\"parent\"", s), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.\"kid list\""
	                            " WHERE \"parent\"\"ref\" = 'young'", s), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.\"dotted.kids\"", s), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.\"odd audit\""
	                            " WHERE action = 'purged' AND \"who\"\"id\""
	                            " IN ('it''s', 'a\"b')", s), 2);
	/* The seed tables were not touched. */
	assert_int_equal(rows(w, "profiles", "true"), 7);
}

static void a_where_with_a_semicolon_is_refused_at_load(void **state)
{
	world *w = *state;
	char *text, *out, *err, *expect;

	world_data(w);
	text = world_text(w, "where = deleted_at IS NULL; DROP TABLE"
	                  " @.profiles\n" CHILDREN);
	tu_write(w->dir, "job.ini", text);
	free(text);
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --run %s",
	                        w->dir, w->job), 2);
	expect = tu_path(w->dir, "job.ini:8: where (sql-condition): condition"
	                 " contains ';'");
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	assert_int_equal(rows(w, "profiles", "true"), 7);
}

static void a_bad_children_entry_fails_the_run_before_any_delete(
	void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, DUE "children = @.check_ins.usr_id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "init: children entry '");
	assert_contains(r.error, "check_ins.usr_id': column \"usr_id\" does"
	                " not exist");
	result_free(&r);
	world_job(w, DUE "children = check_ins\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "children entry 'check_ins': write"
	                " TABLE.COLUMN");
	result_free(&r);
	assert_int_equal(rows(w, "profiles", "true"), 7);
	assert_int_equal(rows(w, "check_ins", "true"), 10);
}

/* Adds schema.events: per profile 1-7 one row with an IP address and
 * personal data in its JSON (also as a JSON string), and a trigger that
 * fails any change to the row of profile fail_user (0: none). */
static void world_events(world *w, int fail_user)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.events (id bigserial PRIMARY KEY, user_id"
	       " bigint REFERENCES %s.profiles (id), ip text, meta jsonb);"
	       "INSERT INTO %s.events (user_id, ip, meta) SELECT g, '10.0.0.' ||"
	       " g, jsonb_build_object('event', 'login', 'userEmail', g ||"
	       " '@x', 'ctx', '{\"Email\": 1, \"k\": 2}') FROM"
	       " generate_series(1, 7) g;"
	       "CREATE FUNCTION %s.boom() RETURNS trigger LANGUAGE plpgsql AS"
	       " $$BEGIN IF OLD.user_id = %d THEN RAISE EXCEPTION 'boom';"
	       " END IF; RETURN NEW; END$$;"
	       "CREATE TRIGGER boom BEFORE UPDATE ON %s.events FOR EACH ROW"
	       " EXECUTE FUNCTION %s.boom()",
	       w->schema, w->schema, w->schema, w->schema, fail_user,
	       w->schema, w->schema);
}

/* The anonymizing job over world_data and world_events: check-ins go,
 * events are detached and anonymized, profiles are kept and marked. */
#define ANONYMIZING                                                         \
	DUE "children = @.check_ins.user_id\n"                              \
	"detach = @.events.user_id\ndetach_set_null = @.events.ip\n"          \
	"detach_json = @.events.meta\njson_strip_keys = email\n"              \
	"parent_set = deleted_at = now\naudit_action = anonymized\n"

static void detach_and_parent_set_anonymize_each_parent_at_once(
	void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_events(w, 0);
	world_job(w, ANONYMIZING);
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 4);
	assert_int_equal(table_counter(w, &r, "events"), 4);
	assert_contains(r.message, "would anonymize 4 parents of ");
	result_free(&r);
	assert_int_equal(rows(w, "events", "user_id IS NOT NULL"), 7);

	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 4);
	assert_int_equal(table_counter(w, &r, "events"), 4);
	assert_int_equal(table_counter(w, &r, "check_ins"), 6);
	assert_int_equal(table_counter(w, &r, "profiles"), 4);
	assert_contains(r.message, "anonymized 4 parents of ");
	result_free(&r);
	/* Profiles are kept, marked; their check-ins are gone; their events
	 * stay without link, IP or e-mail (in the string too). */
	assert_int_equal(rows(w, "profiles", "true"), 7);
	assert_int_equal(rows(w, "profiles", "deleted_at IS NOT NULL AND"
	                      " id <= 4"), 4);
	assert_int_equal(rows(w, "check_ins", "user_id <= 4"), 0);
	assert_int_equal(rows(w, "check_ins", "true"), 4);
	assert_int_equal(rows(w, "events", "user_id IS NULL AND ip IS NULL AND"
	                      " meta = '{\"event\": \"login\", \"ctx\":"
	                      " \"{\\\"k\\\": 2}\"}'"), 4);
	assert_int_equal(rows(w, "events", "user_id > 4 AND ip = '10.0.0.' ||"
	                      " user_id AND meta ? 'userEmail'"), 3);
	/* One audit record per parent. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND action = 'anonymized'"
	                            " AND (data->>'key')::int <= 4", w->job), 4);
	/* Done is done: a second run finds no parent. */
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	assert_int_equal(tu_counter(&r, "parents"), 0);
	result_free(&r);
}

static void a_failing_detach_rolls_its_parent_back_alone(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_events(w, 2);
	world_job(w, ANONYMIZING);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_int_equal(tu_counter(&r, "parents"), 3);
	assert_int_equal(tu_counter(&r, "failed"), 1);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "parent 2: boom");
	assert_contains(r.errors[0], "detaching ");
	result_free(&r);
	/* Profile 2 is as it was: not marked, check-ins and event linked. */
	assert_int_equal(rows(w, "profiles", "id = 2 AND deleted_at IS NULL"), 1);
	assert_int_equal(rows(w, "check_ins", "user_id = 2"), 2);
	assert_int_equal(rows(w, "events", "user_id = 2 AND ip = '10.0.0.2'"
	                      " AND meta ? 'userEmail'"), 1);
	assert_int_equal(rows(w, "events", "user_id IS NULL"), 3);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 3);
}

static void bad_detach_and_parent_options_fail_in_init(void **state)
{
	world *w = *state;
	static const char *const cases[][2] = {
		{ DUE "detach = @.events.user_id\ndetach_json = @.events.meta\n",
		  "detach_json needs json_strip_keys" },
		{ DUE "detach = @.events.user_id\njson_strip_keys = email\n",
		  "json_strip_keys and json_keep_keys need detach_json" },
		{ DUE "detach = @.events.user_id\n"
		  "detach_set_null = @.check_ins.user_id\n",
		  "detach_set_null entry '" },
		{ DUE "children = @.events.user_id\ndetach = @.events.user_id\n",
		  "its table is in children too" },
		{ DUE "detach = @.events.user_id\ndetach_set_null = @.events.ipp\n",
		  "detach entry '" },
		{ DUE "detach = @.events.user_id\ndetach_set_null = @.events.ipp\n",
		  "column \"ipp\" of relation \"events\" does not exist" },
		{ DUE "parent_set = deleted_at now\n",
		  "parent_set: 'deleted_at now' is not a pair" },
		{ DUE "parent_set = deleted_at = soon\n",
		  "parent_set or parent_set_null: invalid input syntax for"
		  " type timestamp with time zone: \"soon\"" },
		{ DUE "parent_set_null = deleted\n",
		  "column \"deleted\" of relation \"profiles\" does not exist" },
	};
	size_t i;
	result r;

	world_data(w);
	world_events(w, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		world_job(w, cases[i][0]);
		assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
		if (!strstr(r.error, "init: ") || !strstr(r.error, cases[i][1]))
			fail_msg("case %zu: got '%s', want '%s'", i, r.error,
			         cases[i][1]);
		result_free(&r);
	}
	assert_int_equal(rows(w, "profiles", "deleted_at IS NULL"), 6);
	assert_int_equal(rows(w, "events", "user_id IS NULL"), 0);
}

static void sigint_stops_between_parents_keeping_committed_ones(
	void **state)
{
	world *w = *state;
	char *text, *out;
	const char *p;
	long long done, left;

	tu_sql(w->db, "CREATE TABLE %s.profiles (id bigint PRIMARY KEY,"
	       " deletion_scheduled_at timestamptz, deleted_at timestamptz);"
	       "CREATE TABLE %s.check_ins (user_id bigint REFERENCES"
	       " %s.profiles);"
	       "INSERT INTO %s.profiles SELECT g, now() - interval '1 day'"
	       " FROM generate_series(1, 40) g;"
	       "INSERT INTO %s.check_ins SELECT g FROM generate_series(1, 40) g",
	       w->schema, w->schema, w->schema, w->schema, w->schema);
	/* 40 parents 100 ms apart take four seconds. */
	text = world_text(w, DUE "children = @.check_ins.user_id\n"
	                  "batch_pause = 100ms\nbatch_size = 7\n");
	tu_write(w->dir, "job.ini", text);
	free(text);
	/* Interrupted once the first parents went (or after 10 s). */
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run %s 2>/dev/null & pid=$!; n=0;"
	                        " while [ $n -lt 100 ] && [ \"$(psql -Atc"
	                        " 'SELECT count(*) FROM %s.profiles')\" ="
	                        " 40 ]; do sleep 0.1; n=$((n + 1)); done;"
	                        " sleep 0.3; kill -INT $pid; wait $pid",
	                        w->dir, w->job, w->schema), 0);
	assert_contains(out, "\"success\":true,\"stopped\":true");
	p = strstr(out, "\"parents\":");
	assert_non_null(p);
	done = strtoll(p + strlen("\"parents\":"), NULL, 10);
	free(out);
	left = rows(w, "profiles", "true");
	assert_true(done > 0 && left > 0);
	assert_int_equal(done + left, 40);
	assert_int_equal(rows(w, "check_ins", "true"), left);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), done);
}

/* The job's timeouts hold inside the host's dry-run transaction too: a
 * dry run that meets a locked table gives up after lock_timeout instead of
 * waiting for the lock. */
static void a_dry_run_keeps_the_jobs_lock_timeout(void **state)
{
	world *w = *state;
	PGconn *locker = tu_db();
	result r;

	world_data(w);
	world_job(w, DUE CHILDREN "lock_timeout = 200ms\n");
	/* The server ends the locker's session after 5 s idle, so a dry run
	 * that waited for the lock would end (and fail this test) instead of
	 * hanging. */
	tu_sql(locker, "SET idle_in_transaction_session_timeout = '5s'; BEGIN;"
	       " LOCK TABLE %s.profiles IN ACCESS EXCLUSIVE MODE", w->schema);
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_FAILED);
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	assert_false(r.success);
	assert_contains(r.error, "lock timeout");
	assert_contains(r.error, "55P03");
	result_free(&r);
	assert_int_equal(rows(w, "profiles", "true"), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(deletes_due_parents_children_first_audited_in_audit_log),
		T(default_audit_goes_to_sweepd_audit_in_one_record_per_parent),
		T(a_forgotten_child_fails_its_parent_alone),
		T(a_lock_on_one_parents_child_rows_fails_it_alone),
		T(a_dry_run_keeps_the_jobs_lock_timeout),
		T(a_parent_failing_at_commit_takes_its_audit_record_along),
		T(children_go_in_the_order_given),
		T(dry_run_counts_samples_and_changes_nothing),
		T(max_rows_caps_the_parents_of_one_run),
		T(quotes_spaces_and_dots_in_names_are_safe),
		T(a_where_with_a_semicolon_is_refused_at_load),
		T(a_bad_children_entry_fails_the_run_before_any_delete),
		T(detach_and_parent_set_anonymize_each_parent_at_once),
		T(a_failing_detach_rolls_its_parent_back_alone),
		T(bad_detach_and_parent_options_fail_in_init),
		T(sigint_stops_between_parents_keeping_committed_ones),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
