#!/usr/bin/env bash
# The demo: builds sweepd, starts a throwaway PostgreSQL, loads the sample
# tables of scripts/sample-schema.sql (five applications, five databases;
# and sample uploads), walks through two
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

# One number from a query, in the home database.
value() {
	sql -At -c "$1"
}

# One number from a query ($2) in database $1.
value_in() {
	sql -d "$1" -At -c "$2"
}

# The seed applications' databases ([database NAME] of conf.d/sweepd.ini).
readonly APP_DBS=(skillmap oneqlick care chatbot bazaar)

readonly USERS_DUE="SELECT count(*) FROM users
	WHERE NOT email_verified AND created_at < now() - interval '30 days'"
readonly MESSAGES_DUE="SELECT count(*) FROM messages WHERE expires_at < now() AT TIME ZONE 'UTC'"

heading "Sample data: scripts/sample-schema.sql, one database per application"
sql -f scripts/sample-schema.sql
# sweepd's own schema goes too, at home (run history) and in each
# application's database (audit records), so that the audit trail below
# shows this run of the demo only; sweepd recreates it.
for db in sweepd "${APP_DBS[@]}"; do
	sql -d "$db" -c 'DROP SCHEMA IF EXISTS sweepd CASCADE'
done
bash scripts/sample-uploads.sh /tmp/sweepd-demo/uploads
users_before=$(value_in skillmap 'SELECT count(*) FROM users')
users_due=$(value_in skillmap "$USERS_DUE")
messages_before=$(value_in chatbot 'SELECT count(*) FROM messages')
messages_due=$(value_in chatbot "$MESSAGES_DUE")
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
# (in database DB, the job's) before the run, the rows the run changed (its rows_deleted, deleted,
# anonymized, affected or parents counter), the rest
# ("kept": not deleted, or for the update jobs not changed), and its audit
# records (sweepd.audit of DB, plus care.audit_log for
# scheduled-deletion).  The run's history is in the home database.
run_job() {
	local job=$1 db=$2 table=$3 examined changed audit run
	examined=$(value_in "$db" "SELECT count(*) FROM $table")
	show build/sweepd --conf-dir conf.d --run "$job" || failed+=("$job")
	changed=$(value "SELECT coalesce((counters->>'rows_deleted')::int8,
		(counters->>'deleted')::int8,
		(counters->>'anonymized')::int8, (counters->>'affected')::int8,
		(counters->>'parents')::int8, 0) FROM sweepd.runs
		WHERE job = '$job' ORDER BY id DESC LIMIT 1")
	run=$(value "SELECT coalesce(max(id), 0) FROM sweepd.runs
		WHERE job = '$job'")
	audit=$(value_in "$db" "SELECT count(*) FROM sweepd.audit
		WHERE run_id = $run")
	if [[ $job == scheduled-deletion ]]; then
		audit=$((audit + $(value_in care 'SELECT count(*) FROM care.audit_log')))
	fi
	summary+=("$(printf '%-30s %9d %8d %8d %6d' "$job" "$examined" \
		"$changed" $((examined - changed)) "$audit")")
}

heading "Does each policy hold before the runs? sweepd --verify"
# Exit 1 expected: rows older than the limits are there until the runs.
build/sweepd --conf-dir conf.d --verify || echo "(exit $?: violated)"

heading "cleanup-unverified-users (seed 000)"
show build/sweepd --conf-dir conf.d --dry-run cleanup-unverified-users
run_job cleanup-unverified-users skillmap users

heading "message-cleanup (seed 003)"
show build/sweepd --conf-dir conf.d --dry-run message-cleanup
run_job message-cleanup chatbot messages


heading "Users kept: the named ones"
sql -d skillmap -c "SELECT email, email_verified, created_at FROM users
	WHERE email NOT LIKE '%@bulk.example' ORDER BY created_at"
heading "Users kept: the generated ones"
sql -d skillmap -c "SELECT email_verified, count(*) AS kept, min(created_at) AS oldest,
	max(created_at) AS newest
	FROM users WHERE email LIKE '%@bulk.example' GROUP BY 1 ORDER BY 1"

heading "Messages kept"
sql -d chatbot -c "SELECT count(*) AS kept, min(expires_at) AS first_to_expire,
	max(expires_at) AS last_to_expire FROM messages"
sql -d chatbot -c "SELECT id, conversation_id, content, created_at, expires_at
	FROM messages ORDER BY expires_at LIMIT 5"

heading "Audit trail: sweepd.audit of each job's database"
for db in skillmap chatbot; do
	echo "database $db:"
	sql -d "$db" -c "SELECT job, action, table_name, count(*) AS records
		FROM sweepd.audit GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
done
echo "The first 5 records of database skillmap:"
sql -d skillmap -c "SELECT job, action, table_name, data, at FROM sweepd.audit
	ORDER BY id LIMIT 5"

heading "The other seed jobs (001, 002, 004)"
run_job batch-cleanup-pending oneqlick oneqlick.pending_users
run_job scheduled-deletion care care.profiles
run_job cleanup-invitations bazaar bazaar.invitations
run_job cleanup-push-tokens bazaar bazaar.push_tokens
run_job anonymize-audit-logs bazaar bazaar.audit_logs
run_job delete-audit-logs bazaar bazaar.audit_logs
run_job cleanup-orphaned-files bazaar bazaar.uploaded_files
run_job finalize-deletions-anonymize bazaar bazaar.members
run_job finalize-deletions-delete bazaar bazaar.members
run_job recalculate-karma bazaar bazaar.members
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
users_after=$(value_in skillmap 'SELECT count(*) FROM users')
messages_after=$(value_in chatbot 'SELECT count(*) FROM messages')
# due: rows the job's rule selected before the run.
printf '%-10s %8s %8s %8s %8s\n' table before due deleted after
printf '%-10s %8d %8d %8d %8d\n' \
	users "$users_before" "$users_due" $((users_before - users_after)) "$users_after" \
	messages "$messages_before" "$messages_due" $((messages_before - messages_after)) "$messages_after"

if [[ ${KEEP_PG:-} == 1 ]]; then
	heading "PostgreSQL keeps running (KEEP_PG=1)"
	echo "connect: eval \"\$(scripts/pg.sh env)\"; psql  (history)"
	echo "         psql -d skillmap  (or oneqlick, care, chatbot, bazaar)"
	echo "stop:    scripts/pg.sh stop"
fi

if ((${#failed[@]} > 0)); then
	echo "demo: these jobs failed: ${failed[*]} (see their output above)" >&2
	exit 1
fi
