/* End to end, one test per seed job: `sweepd --run JOB` on the job's
 * shipped conf.d/ file, against scripts/sample-schema.sql (and, for the
 * files job, scripts/sample-uploads.sh), then the database and the disk
 * are checked.  Each seed application has its own database, as in
 * conf.d/sweepd.ini ([database NAME]): the job's rows and audit records
 * are checked there, its history in the home database.  Expected figures
 * come from the sample data's own rules, computed before the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define CONF SWEEPD_SOURCE_DIR "/conf.d"
#define UPLOADS "/tmp/sweepd-demo/uploads"

/* Loads the sample schema and data afresh, each seed application in its
 * database (created when absent); returns a connection to the database
 * dbname, the one the seed's jobs name ([database NAME] of conf.d/). */
static PGconn *fresh(const char *dbname)
{
	char conninfo[128];
	PGconn *c;

	assert_int_equal(tu_run(NULL, NULL, "psql -q -v ON_ERROR_STOP=1 -f "
	                        SWEEPD_SOURCE_DIR "/scripts/sample-schema.sql"
	                        " >/dev/null 2>&1"), 0);
	snprintf(conninfo, sizeof(conninfo), "dbname=%s", dbname);
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("no database %s: %s", dbname, PQerrorMessage(c));
	return c;
}

/* The id of job's last run in the history (the home database). */
static long long last_run(const char *job)
{
	PGconn *home = tu_db();
	long long id = tu_sql_int(home, "SELECT coalesce(max(id), 0) FROM"
	                          " sweepd.runs WHERE job = '%s'", job);

	PQfinish(home);
	return id;
}

/* Runs the shipped job; returns its --json result (caller frees) after
 * checking it succeeded, and sets *log to its logfmt log at debug level
 * (caller frees) unless log is NULL. */
static char *run_log(const char *job, char **log)
{
	char *out;

	if (tu_run(&out, log, SWEEPD_BIN " --conf-dir " CONF " --log-format"
	           " logfmt --json --run %s%s", job, log ? " --log-level debug"
	           : " 2>/dev/null")
	    != 0)
		fail_msg("sweepd --run %s failed: %s", job, out);
	assert_contains(out, "\"success\":true");
	return out;
}

/* run_log() without the log. */
static char *run(const char *job)
{
	return run_log(job, NULL);
}

/* Audit records the job's last run wrote to sweepd.audit of db, the
 * job's database. */
static long long audited(PGconn *db, const char *job)
{
	return tu_sql_int(db, "SELECT count(*) FROM sweepd.audit WHERE run_id ="
	                  " %lld", last_run(job));
}

static void seed_000_cleanup_unverified_users(void **state)
{
	PGconn *db = fresh("skillmap");
	long long due, total;
	char *out;

	(void)state;
	due = tu_sql_int(db, "SELECT count(*) FROM users WHERE NOT"
	                 " email_verified AND created_at < now() - interval"
	                 " '30 days'");
	total = tu_sql_int(db, "SELECT count(*) FROM users");
	assert_int_equal(due, 170);
	out = run("cleanup-unverified-users");
	assert_contains(out, "\"deleted\":170");
	free(out);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM users"),
	                 total - due);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM users WHERE email"
	                            " IN ('test@example.com', 'fake@test.com',"
	                            " 'old@user.com')"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM users WHERE email"
	                            " IN ('almost@example.com',"
	                            " 'alice@example.com')"), 2);
	assert_int_equal(audited(db, "cleanup-unverified-users"), due);
	PQfinish(db);
}

static void seed_001_batch_cleanup_pending(void **state)
{
	PGconn *db = fresh("oneqlick");
	long long due;
	char *out;

	(void)state;
	due = tu_sql_int(db, "SELECT count(*) FROM oneqlick.pending_users p"
	                 " WHERE EXISTS (SELECT 1 FROM oneqlick.users u WHERE"
	                 " lower(u.email) = lower(p.email))");
	assert_int_equal(due, 100);
	out = run("batch-cleanup-pending");
	assert_contains(out, "\"deleted\":100");
	free(out);
	/* Mixed-case duplicates went too; new and e-mail-less ones stay. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " oneqlick.pending_users WHERE email ILIKE"
	                            " 'user%%'"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " oneqlick.pending_users"), 200);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " oneqlick.pending_users WHERE email IS"
	                            " NULL"), 10);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM oneqlick.users"),
	                 500);
	assert_int_equal(audited(db, "batch-cleanup-pending"), 100);
	PQfinish(db);
}

/* Waits until the server has ended every session of job's last run (this
 * test's or the one before): its job lock goes only then, and a run
 * started before would be skipped. */
static void gone(PGconn *db, const char *job)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (tu_sql_int(db, "SELECT count(*) FROM pg_stat_activity WHERE"
		               " application_name = 'sweepd/%s'", job) == 0)
			return;
		usleep(50 * 1000);
	}
	fail_msg("the sessions of %s's last run are still open", job);
}

/* Seed 001's failure: one pending user referenced by a foreign key made
 * the batch, then the run, fail, and every other due row stayed, hour
 * after hour.  Now that row fails alone: the others go with their audit
 * records, the run names the row and its reason and exits 1, and the
 * next run does the same without going round. */
static void seed_001_a_pending_user_held_by_a_foreign_key(void **state)
{
	PGconn *db = fresh("oneqlick"), *home = tu_db();
	const char *item = "\"errors\":[\"row {\\\"pending_user_id\\\": 42}:"
	                   " update or delete on table \\\"pending_users\\\""
	                   " violates foreign key constraint";
	char *out;
	int i;

	(void)state;
	tu_sql(db, "CREATE TABLE oneqlick.invites (pending_user_id bigint"
	       " REFERENCES oneqlick.pending_users);"
	       "INSERT INTO oneqlick.invites VALUES (42)");
	for (i = 0; i < 2; i++) {
		gone(db, "batch-cleanup-pending");
		assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir "
		                        CONF " --json --run"
		                        " batch-cleanup-pending 2>/dev/null"), 1);
		assert_contains(out, "\"success\":false");
		assert_contains(out, "\"status\":\"failed\"");
		assert_contains(out, i == 0 ? "\"deleted\":99" : "\"deleted\":0");
		assert_contains(out, "\"errors\":1");
		assert_contains(out, i == 0 ? "\"error\":\"1 of 100 rows failed;"
		                " see errors\"" : "\"error\":\"1 of 1 rows"
		                " failed; see errors\"");
		assert_contains(out, item);
		assert_contains(out, "(SQLSTATE 23503)\"]");
		free(out);
		assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
		                            " oneqlick.pending_users"), 201);
		assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
		                            " oneqlick.pending_users WHERE"
		                            " pending_user_id = 42"), 1);
		assert_int_equal(audited(db, "batch-cleanup-pending"),
		                 i == 0 ? 99 : 0);
		assert_int_equal(tu_sql_int(home, "SELECT count(*) FROM sweepd.runs"
		                            " WHERE job = 'batch-cleanup-pending'"
		                            " AND id = (SELECT max(id) FROM"
		                            " sweepd.runs WHERE job ="
		                            " 'batch-cleanup-pending') AND status ="
		                            " 'failed'"
		                            " AND (counters->>'errors')::int = 1"),
		                 1);
	}
	PQfinish(home);
	PQfinish(db);
}

static void seed_002_scheduled_deletion(void **state)
{
	PGconn *db = fresh("care");
	char *out;

	(void)state;
	out = run("scheduled-deletion");
	free(out);
	/* Profiles 1-6 were due; 7-8 are not yet, 9 was soft-deleted. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.profiles"
	                            " WHERE id <= 6"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.profiles"),
	                 14);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.check_ins"
	                            " WHERE user_id <= 6"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.check_ins"),
	                 60 - 18);
	/* A note goes when either its patient or its therapist went. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " care.clinical_notes"), 3);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " care.therapist_patients"), 3);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " care.user_consent"), 14);
	/* One audit_log row per profile, action hard_deleted. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.audit_log"
	                            " WHERE action = 'hard_deleted' AND user_id"
	                            " BETWEEN 1 AND 6"), 6);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM care.audit_log"),
	                 6);
	PQfinish(db);
}

/* expires_at is naive UTC (timestamp without time zone): the run goes by
 * UTC although its session's TimeZone is 14 h ahead (a run that read the
 * column in the session's zone would take 233 more messages). */
static void seed_003_message_cleanup(void **state)
{
	PGconn *db = fresh("chatbot");
	char *out;

	(void)state;
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM messages WHERE"
	                            " expires_at < now() AT TIME ZONE 'UTC'"),
	                 1200);
	setenv("PGTZ", "Pacific/Kiritimati", 1);
	out = run("message-cleanup");
	unsetenv("PGTZ");
	assert_contains(out, "\"counters\":{\"deleted\":1200}");
	/* The seed's own result, {success, deleted_count, timestamp}. */
	assert_contains(out, "\"success\":true");
	assert_contains(out, "\"deleted_count\":1200");
	assert_contains(out, "\"timestamp\":\"");
	free(out);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM messages"), 800);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM messages WHERE"
	                            " expires_at < now() AT TIME ZONE 'UTC'"),
	                 0);
	PQfinish(db);
}

static void seed_004_cleanup_invitations(void **state)
{
	PGconn *db = fresh("bazaar");
	char *out;

	(void)state;
	out = run("cleanup-invitations");
	assert_contains(out, "\"deleted\":20");
	free(out);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.invitations"
	                            " WHERE status = 'pending' AND created_at <"
	                            " now() - interval '30 days'"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " bazaar.invitations"), 30);
	PQfinish(db);
}

static void seed_004_cleanup_push_tokens(void **state)
{
	PGconn *db = fresh("bazaar");
	char *out;

	(void)state;
	out = run("cleanup-push-tokens");
	assert_contains(out, "\"deleted\":30");
	free(out);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.push_tokens"
	                            " WHERE last_used_at < now() - interval"
	                            " '90 days'"), 0);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " bazaar.push_tokens"), 30);
	PQfinish(db);
}

static void seed_004_anonymize_audit_logs(void **state)
{
	PGconn *db = fresh("bazaar");
	char *out;

	(void)state;
	out = run("anonymize-audit-logs");
	assert_contains(out, "\"anonymized\":109");
	free(out);
	/* Older than a year: no user, IP, agent, nor PII at any depth, under
	 * any spelling of its key, nor inside the JSON held as a string;
	 * what is not personal stays (event, file name, namespace, plan,
	 * step, the rest of the string). */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"
	                            " WHERE created_at < now() - interval"
	                            " '1 year' AND user_id IS NULL AND"
	                            " ip_address IS NULL AND user_agent IS NULL"
	                            " AND metadata = '{\"event\": \"login\","
	                            " \"filename\": \"report.pdf\", \"namespace\":"
	                            " \"billing\", \"profile\": {\"plan\": \"pro\"},"
	                            " \"history\": [{\"step\": 1}], \"context\":"
	                            " \"{\\\"via\\\": \\\"web\\\"}\"}'"), 109);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"
	                            " WHERE metadata::text ~ '@'"), 37);
	/* Younger rows keep everything. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"
	                            " WHERE user_id IS NOT NULL AND metadata ?"
	                            " 'email'"), 37);
	/* A second run finds nothing left to do. */
	out = run("anonymize-audit-logs");
	assert_contains(out, "\"anonymized\":0");
	free(out);
	PQfinish(db);
}

static void seed_004_delete_audit_logs(void **state)
{
	PGconn *db = fresh("bazaar");
	char *out;

	(void)state;
	out = run("delete-audit-logs");
	assert_contains(out, "\"deleted\":36");
	free(out);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"),
	                 110);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"
	                            " WHERE created_at < now() - interval"
	                            " '3 years'"), 0);
	PQfinish(db);
}

/* True when path exists (without following a final symlink). */
static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void seed_004_cleanup_orphaned_files(void **state)
{
	PGconn *db = fresh("bazaar");
	long long due, total;
	char *out;

	(void)state;
	assert_int_equal(tu_run(NULL, NULL, "bash " SWEEPD_SOURCE_DIR
	                        "/scripts/sample-uploads.sh " UPLOADS), 0);
	/* The seed's orphans: records older than 30 days that no member
	 * (avatar) or project (image) references. */
	due = tu_sql_int(db, "SELECT count(*) FROM bazaar.uploaded_files f"
	                 " WHERE created_at < now() - interval '30 days'"
	                 " AND NOT EXISTS (SELECT 1 FROM bazaar.members m"
	                 " WHERE m.avatar_path = f.path) AND NOT EXISTS"
	                 " (SELECT 1 FROM bazaar.projects p WHERE"
	                 " p.image_path = f.path)");
	total = tu_sql_int(db, "SELECT count(*) FROM bazaar.uploaded_files");
	/* 5 old, 2 touched yesterday, 2 without a file, 1 link. */
	assert_int_equal(due, 10);
	out = run("cleanup-orphaned-files");
	assert_contains(out, "\"deleted\":7");
	assert_contains(out, "\"missing_files\":2");
	assert_contains(out, "\"rows_deleted\":9");
	assert_contains(out, "\"skipped\":1");
	free(out);
	assert_false(exists(UPLOADS "/orphans/old-1.bin"));
	assert_false(exists(UPLOADS "/orphans/old-5.bin"));
	/* Age is the record's: an old record's file touched yesterday goes,
	 * a day-old record's 40-day-old file stays. */
	assert_false(exists(UPLOADS "/orphans/touched-1.bin"));
	assert_true(exists(UPLOADS "/orphans/new-1.bin"));
	assert_true(exists(UPLOADS "/avatars/10.png"));
	assert_true(exists(UPLOADS "/projects/40.jpg"));
	/* Files without a record are never touched. */
	assert_true(exists(UPLOADS "/.gitkeep"));
	assert_true(exists(UPLOADS "/exports/report-2026-10.csv"));
	assert_true(exists(UPLOADS "/stray.tmp"));
	/* The link to a file outside stays, and so does that file. */
	assert_true(exists(UPLOADS "/outside-link"));
	assert_true(exists("/tmp/sweepd-demo/outside.txt"));
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " bazaar.uploaded_files WHERE path LIKE"
	                            " 'orphans/old-%%' OR path LIKE"
	                            " 'orphans/touched-%%' OR path LIKE"
	                            " 'orphans/gone-%%'"), 0);
	/* All the orphans but the link's record went. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM"
	                            " bazaar.uploaded_files"),
	                 total - (due - 1));
	PQfinish(db);
}

/* Rows of bazaar.TABLE meeting cond. */
static long long bazaar(PGconn *db, const char *table, const char *cond)
{
	return tu_sql_int(db, "SELECT count(*) FROM bazaar.%s WHERE %s", table,
	                  cond);
}

static void seed_004_finalize_deletions_anonymize(void **state)
{
	PGconn *db = fresh("bazaar");
	long long votes, projects, logs;
	char *out, *ids;

	(void)state;
	votes = bazaar(db, "votes", "voter_id BETWEEN 51 AND 53 OR"
	               " target_user_id BETWEEN 51 AND 53");
	projects = bazaar(db, "projects", "owner_id BETWEEN 51 AND 53");
	logs = bazaar(db, "audit_logs", "user_id BETWEEN 51 AND 53");
	assert_true(votes > 0 && projects > 0 && logs > 0);
	assert_int_equal(bazaar(db, "push_tokens", "user_id BETWEEN 51 AND"
	                        " 53"), 3);
	ids = tu_sql_text(db, "SELECT string_agg(id::text, ',') FROM"
	                  " bazaar.audit_logs WHERE user_id BETWEEN 51 AND 53");
	out = run("finalize-deletions-anonymize");
	assert_contains(out, "\"parents\":3");
	assert_contains(out, "\"bazaar.audit_logs\":");
	free(out);
	/* members: kept as "[Deleted User]", no personal data, done. */
	assert_int_equal(bazaar(db, "members", "id BETWEEN 51 AND 53 AND"
	                        " display_name = '[Deleted User]' AND email IS"
	                        " NULL AND bio IS NULL AND avatar_path IS NULL"
	                        " AND deleted_at IS NOT NULL"), 3);
	/* push tokens: gone. */
	assert_int_equal(bazaar(db, "push_tokens", "user_id BETWEEN 51 AND 53"),
	                 0);
	assert_int_equal(bazaar(db, "push_tokens", "true"), 57);
	/* audit logs: kept, without user, IP, agent or e-mail. */
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.audit_logs"
	                            " WHERE id IN (%s) AND user_id IS NULL AND"
	                            " ip_address IS NULL AND user_agent IS NULL"
	                            " AND metadata::text !~ '@' AND"
	                            " metadata->>'event' = 'login'", ids), logs);
	assert_int_equal(bazaar(db, "audit_logs", "true"), 146);
	/* votes and projects: kept, credited to "[Deleted User]". */
	assert_int_equal(bazaar(db, "votes", "voter_id BETWEEN 51 AND 53 OR"
	                        " target_user_id BETWEEN 51 AND 53"), votes);
	assert_int_equal(bazaar(db, "projects", "owner_id BETWEEN 51 AND 53"),
	                 projects);
	/* One audit record per member; asked 5 days ago, or chose full
	 * deletion: untouched. */
	assert_int_equal(audited(db, "finalize-deletions-anonymize"), 3);
	assert_int_equal(bazaar(db, "members", "display_name = '[Deleted"
	                        " User]'"), 3);
	assert_int_equal(bazaar(db, "members", "id IN (54, 55, 56) AND email IS"
	                        " NOT NULL AND deleted_at IS NULL"), 3);
	assert_int_equal(bazaar(db, "members", "true"), 60);
	/* Done is done. */
	out = run("finalize-deletions-anonymize");
	assert_contains(out, "\"parents\":0");
	free(out);
	free(ids);
	PQfinish(db);
}

static void seed_004_finalize_deletions_delete(void **state)
{
	PGconn *db = fresh("bazaar");
	long long logs, votes, projects;
	char *out;

	(void)state;
	logs = bazaar(db, "audit_logs", "user_id IN (54, 55)");
	votes = bazaar(db, "votes", "voter_id IN (54, 55) OR target_user_id IN"
	               " (54, 55)");
	projects = bazaar(db, "projects", "owner_id IN (54, 55)");
	assert_true(logs > 0 && votes > 0 && projects > 0);
	out = run("finalize-deletions-delete");
	assert_contains(out, "\"parents\":2");
	free(out);
	/* members (with the avatar of 54), push tokens, audit logs, votes
	 * both ways, projects: all gone, nothing else. */
	assert_int_equal(bazaar(db, "members", "id IN (54, 55)"), 0);
	assert_int_equal(bazaar(db, "members", "true"), 58);
	assert_int_equal(bazaar(db, "push_tokens", "user_id IN (54, 55)"), 0);
	assert_int_equal(bazaar(db, "push_tokens", "true"), 58);
	assert_int_equal(bazaar(db, "audit_logs", "user_id IN (54, 55)"), 0);
	assert_int_equal(bazaar(db, "audit_logs", "true"), 146 - logs);
	assert_int_equal(bazaar(db, "votes", "voter_id IN (54, 55) OR"
	                        " target_user_id IN (54, 55)"), 0);
	assert_int_equal(bazaar(db, "votes", "true"), 410 - votes);
	assert_int_equal(bazaar(db, "projects", "owner_id IN (54, 55)"), 0);
	assert_int_equal(bazaar(db, "projects", "true"), 43 - projects);
	assert_int_equal(audited(db, "finalize-deletions-delete"), 2);
	PQfinish(db);
}

/* Karma of member id as the votes give it. */
static long long karma_of(PGconn *db, int id)
{
	return tu_sql_int(db, "SELECT coalesce(sum(value), 0) FROM bazaar.votes"
	                  " WHERE target_user_id = %d", id);
}

static void seed_004_recalculate_karma(void **state)
{
	PGconn *db = fresh("bazaar");
	long long drifted, three;
	char *out, *log, expect[96];

	(void)state;
	/* Two stale values besides the zeros: member 3's, and member 60's,
	 * who has no vote. */
	tu_sql(db, "UPDATE bazaar.members SET karma = 7 WHERE id = 3;"
	       " UPDATE bazaar.members SET karma = 5 WHERE id = 60");
	three = karma_of(db, 3);
	assert_true(three != 7 && karma_of(db, 60) == 0);
	drifted = tu_sql_int(db, "SELECT count(*) FROM bazaar.members m WHERE"
	                     " karma IS DISTINCT FROM (SELECT coalesce(sum(value),"
	                     " 0) FROM bazaar.votes v WHERE v.target_user_id ="
	                     " m.id)");
	assert_true(drifted > 0);
	out = run_log("recalculate-karma", &log);
	snprintf(expect, sizeof(expect), "\"affected\":%lld", drifted);
	assert_contains(out, expect);
	snprintf(expect, sizeof(expect), "\"audited\":%lld", drifted);
	assert_contains(out, expect);
	free(out);
	/* The seed logs karma changes "for debugging": one line per changed
	 * member at debug. */
	assert_int_equal(tu_occurrences(log, "level=debug event=row "), drifted);
	snprintf(expect, sizeof(expect), " member_id=3 old_karma=7"
	         " new_karma=%lld\n", three);
	assert_contains(log, expect);
	assert_contains(log, " member_id=60 old_karma=5 new_karma=0\n");
	free(log);
	/* And sweepd.audit keeps them, queryable. */
	assert_int_equal(audited(db, "recalculate-karma"), drifted);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM sweepd.audit WHERE"
	                            " run_id = %lld AND"
	                            " action = 'karma_recalculated' AND"
	                            " table_name = 'bazaar.members' AND data ="
	                            " jsonb_build_object('member_id', 3,"
	                            " 'old_karma', 7, 'new_karma', %lld)",
	                            last_run("recalculate-karma"), three), 1);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM bazaar.members m"
	                            " WHERE karma IS DISTINCT FROM (SELECT"
	                            " coalesce(sum(value), 0) FROM bazaar.votes v"
	                            " WHERE v.target_user_id = m.id)"), 0);
	PQfinish(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_000_cleanup_unverified_users),
		cmocka_unit_test(seed_001_batch_cleanup_pending),
		cmocka_unit_test(seed_001_a_pending_user_held_by_a_foreign_key),
		cmocka_unit_test(seed_002_scheduled_deletion),
		cmocka_unit_test(seed_003_message_cleanup),
		cmocka_unit_test(seed_004_cleanup_invitations),
		cmocka_unit_test(seed_004_cleanup_push_tokens),
		cmocka_unit_test(seed_004_anonymize_audit_logs),
		cmocka_unit_test(seed_004_delete_audit_logs),
		cmocka_unit_test(seed_004_cleanup_orphaned_files),
		cmocka_unit_test(seed_004_finalize_deletions_anonymize),
		cmocka_unit_test(seed_004_finalize_deletions_delete),
		cmocka_unit_test(seed_004_recalculate_karma),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
