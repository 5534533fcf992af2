#!/usr/bin/env bash
# The demo: builds sweepd, starts a throwaway PostgreSQL, loads the sample
# tables of scripts/sample-schema.sql (and sample uploads), walks through two
# seed jobs of conf.d/ (cleanup-unverified-users and message-cleanup) as a
# dry run and for real with what is left and the audit trail, then runs
# every other seed job and prints a table: job, rows examined, changed,
# kept, audit rows.
#
#   scripts/demo.sh              PostgreSQL is stopped at the end
#   KEEP_PG=1 scripts/demo.sh    PostgreSQL keeps running to look around
#
# Extra CMake configure arguments come from $CMAKE_ARGS.  Every run starts
# from fresh sample data, so the demo can be repeated.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
cmake -S . -B build "${cmake_args[@]}"
cmake --build build -j2

if [[ ${KEEP_PG:-} != 1 ]]; then
	trap 'bash scripts/pg.sh stop' EXIT
fi
bash scripts/pg.sh start >/dev/null
# PG* variables for psql and DATABASE_URL for sweepd.
eval "$(bash scripts/pg.sh env)"

heading() {
	printf '\n== %s\n' "$*"
}

# Prints a command, shell-quoted after a "+", then runs it.
show() {
	printf '+'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

# psql, stopping at the first error, without notices.
sql() {
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# One number from a query.
value() {
	sql -At -c "$1"
}

readonly USERS_DUE="SELECT count(*) FROM users
	WHERE NOT email_verified AND created_at < now() - interval '30 days'"
readonly MESSAGES_DUE="SELECT count(*) FROM messages WHERE expires_at < now() AT TIME ZONE 'UTC'"

heading "Sample data: scripts/sample-schema.sql"
# sweepd's own schema (audit records, run history) goes too, so that the
# audit trail below shows this run of the demo only; sweepd recreates it.
sql -c 'DROP SCHEMA IF EXISTS sweepd CASCADE'
sql -f scripts/sample-schema.sql
bash scripts/sample-uploads.sh /tmp/sweepd-demo/uploads
users_before=$(value 'SELECT count(*) FROM users')
users_due=$(value "$USERS_DUE")
messages_before=$(value 'SELECT count(*) FROM messages')
messages_due=$(value "$MESSAGES_DUE")
echo "users: $users_before rows, $users_due unverified for more than 30 days"
echo "messages: $messages_before rows, $messages_due expired"

heading "The role the jobs' SQL runs as (role = sweepd_sample in conf.d/)"
# Not a superuser: a job's SQL cannot end other sessions, write files on
# the server or run programs there, not even in a dry run.
sql -c "SELECT rolname, rolsuper, rolcanlogin,
	pg_has_role('sweepd_sample', 'pg_signal_backend', 'MEMBER') AS signals
	FROM pg_roles WHERE rolname = 'sweepd_sample'"

heading "Plugins, jobs and a check of conf.d/"
show build/sweepd --conf-dir conf.d --list-plugins
show build/sweepd --conf-dir conf.d --check
show build/sweepd --conf-dir conf.d --list-jobs

# Rows of the summary table, one per job run through run_job, and the jobs
# whose run failed (the demo goes on to show the others, then fails).
summary=()
failed=()

# Runs job JOB (shown) and records its line of the summary: TABLE's rows
# before the run, the rows the run changed (its rows_deleted, deleted,
# anonymized, affected or parents counter), the rest
# ("kept": not deleted, or for the update jobs not changed), and its audit
# records (sweepd.audit, plus care.audit_log for
# scheduled-deletion).
run_job() {
	local job=$1 table=$2 examined changed audit
	examined=$(value "SELECT count(*) FROM $table")
	show build/sweepd --conf-dir conf.d --run "$job" || failed+=("$job")
	changed=$(value "SELECT coalesce((counters->>'rows_deleted')::int8,
		(counters->>'deleted')::int8,
		(counters->>'anonymized')::int8, (counters->>'affected')::int8,
		(counters->>'parents')::int8, 0) FROM sweepd.runs
		WHERE job = '$job' ORDER BY id DESC LIMIT 1")
	audit=$(value "SELECT count(*) FROM sweepd.audit WHERE run_id =
		(SELECT max(id) FROM sweepd.runs WHERE job = '$job')")
	if [[ $job == scheduled-deletion ]]; then
		audit=$((audit + $(value 'SELECT count(*) FROM care.audit_log')))
	fi
	summary+=("$(printf '%-30s %9d %8d %8d %6d' "$job" "$examined" \
		"$changed" $((examined - changed)) "$audit")")
}

heading "Does each policy hold before the runs? sweepd --verify"
# Exit 1 expected: rows older than the limits are there until the runs.
build/sweepd --conf-dir conf.d --verify || echo "(exit $?: violated)"

heading "cleanup-unverified-users (seed 000)"
show build/sweepd --conf-dir conf.d --dry-run cleanup-unverified-users
run_job cleanup-unverified-users users

heading "message-cleanup (seed 003)"
show build/sweepd --conf-dir conf.d --dry-run message-cleanup
run_job message-cleanup messages


heading "Users kept: the named ones"
sql -c "SELECT email, email_verified, created_at FROM users
	WHERE email NOT LIKE '%@bulk.example' ORDER BY created_at"
heading "Users kept: the generated ones"
sql -c "SELECT email_verified, count(*) AS kept, min(created_at) AS oldest,
	max(created_at) AS newest
	FROM users WHERE email LIKE '%@bulk.example' GROUP BY 1 ORDER BY 1"

heading "Messages kept"
sql -c "SELECT count(*) AS kept, min(expires_at) AS first_to_expire,
	max(expires_at) AS last_to_expire FROM messages"
sql -c "SELECT id, conversation_id, content, created_at, expires_at
	FROM messages ORDER BY expires_at LIMIT 5"

heading "Audit trail: sweepd.audit"
sql -c "SELECT job, action, table_name, count(*) AS records
	FROM sweepd.audit GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
echo "The first 10 records:"
sql -c "SELECT job, action, table_name, data, at FROM sweepd.audit ORDER BY id LIMIT 10"

heading "The other seed jobs (001, 002, 004)"
run_job batch-cleanup-pending oneqlick.pending_users
run_job scheduled-deletion care.profiles
run_job cleanup-invitations bazaar.invitations
run_job cleanup-push-tokens bazaar.push_tokens
run_job anonymize-audit-logs bazaar.audit_logs
run_job delete-audit-logs bazaar.audit_logs
run_job cleanup-orphaned-files bazaar.uploaded_files
run_job finalize-deletions-anonymize bazaar.members
run_job finalize-deletions-delete bazaar.members
run_job recalculate-karma bazaar.members
echo "Left on disk after cleanup-orphaned-files:"
(cd /tmp/sweepd-demo/uploads && find . -mindepth 1 | sort)

heading "Does each policy hold after the runs? sweepd --verify"
build/sweepd --conf-dir conf.d --verify || echo "(exit $?: violated)"

heading "Run history: sweepd --status"
show build/sweepd --conf-dir conf.d --status

heading "Every seed job"
printf '%-30s %9s %8s %8s %6s\n' job examined changed kept audit
printf '%s\n' "${summary[@]}"

heading "Summary"
users_after=$(value 'SELECT count(*) FROM users')
messages_after=$(value 'SELECT count(*) FROM messages')
# due: rows the job's rule selected before the run.
printf '%-10s %8s %8s %8s %8s\n' table before due deleted after
printf '%-10s %8d %8d %8d %8d\n' \
	users "$users_before" "$users_due" $((users_before - users_after)) "$users_after" \
	messages "$messages_before" "$messages_due" $((messages_before - messages_after)) "$messages_after"

if [[ ${KEEP_PG:-} == 1 ]]; then
	heading "PostgreSQL keeps running (KEEP_PG=1)"
	echo "connect: eval \"\$(scripts/pg.sh env)\"; psql"
	echo "stop:    scripts/pg.sh stop"
fi

if ((${#failed[@]} > 0)); then
	echo "demo: these jobs failed: ${failed[*]} (see their output above)" >&2
	exit 1
fi
