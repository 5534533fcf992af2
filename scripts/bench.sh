#!/usr/bin/env bash
# Benchmarks of sweepd against plain SQL and against pg_cron, printed as one
# Markdown table with, for every figure, its baseline from the same run, the
# ratio and the target ("ok" or "MISSED"; a miss does not fail the script).
#
#   scripts/bench.sh [--quick] [--cases LIST] [--fleet]
#
#   --quick        smaller sizes and shorter windows: about 5 minutes in all
#                  (the full run: about 12 minutes on 2 cores, at most 20)
#   --cases LIST   only the cases listed, comma-separated (e.g. 6,7; cases 2
#                  and 3 bring case 1 along: they read its tables and
#                  figures); cases 6 and 7 take about 2 minutes in --quick,
#                  5 in the full run
#   --fleet        case 9 only (--cases 9; with --quick about 2 minutes)
#
# Cases:
#   1. throughput of age_delete (plain, parallel = 2 and audited) against
#      one bulk DELETE (plain and audited) and a row-by-row DELETE loop, on a
#      table whose heap is in time order and on one whose rows are shuffled
#      (median of 5 rounds; 3 for the audited and row-by-row variants)
#   2. lock time: longest and p99 batch transaction at batch sizes
#      1,000 / 5,000 / 20,000; longest batch and most rows in one batch on
#      the heap layouts that used to make batches long: dead pages left by
#      an interrupted run, a long empty stretch, a shuffled heap, max_rows
#   3. memory: peak RSS of `sweepd --run` deleting 10,000 and many rows
#   4. host overhead with 10,000 job files: --check, --list-jobs, the
#      daemon's RSS, its startup (catch-up from one history query) and idle CPU
#   5. schedule precision of a job every second, with pg_cron as the anchor
#   6. a stuck job never takes another job's tick: a healthy job every
#      second next to the eleven faults of the containment tests and five
#      jobs stuck in pg_sleep(600): ticks run and start lag, against the
#      healthy job alone
#   7. bursts: 1, 10, 40 and 200 jobs due at the same instant, start lag
#      and CPU, against 1 job
#   8. partitioned tables: 13 monthly partitions, 600,000 rows, 433,000
#      expired: one bulk DELETE against age_delete dropping the expired
#      partitions, where the run's time went (server log), the same run
#      again with nothing left (its floor), the longest transaction and
#      plain DETACH lock of each, and the longest wait of a concurrent writer
#   9. fleets: 1 and 3 daemons x 10, 50, 100, 200 every-second jobs (--quick:
#      10 and 100, 20 s each): ticks run, duplicates, missed, start lag,
#      new sessions and CPU per tick run; and a burst of 1,000 jobs due at
#      the same instant, time until the last started
#  10. the audit store and the history: pruning 30 days of sweepd.audit
#      (10,000 records a day; full: 50,000) by audit_keep, which drops
#      whole days, against one DELETE of the same records; and as many
#      runs of sweepd.runs by history_keep against the row-by-row prune of
#      before; with the longest statement of a concurrent writer during
#      each
#
# It installs what it needs (scripts/deps.sh, plus hyperfine, jq, time and
# postgresql-15-cron), builds a Release tree in build-bench/ (never build/,
# which the test suite uses; the testjob and fault fixtures with it) and
# runs its own throwaway PostgreSQL in build-bench/pg, wiped at the start
# and stopped at exit, even on failure.
# Scratch files (job files, logs) go to build-bench/bench/.
set -euo pipefail

usage() {
	echo "usage: $0 [--quick] [--cases LIST] [--fleet]" >&2
	exit 2
}

quick=false
cases=1,2,3,4,5,6,7,8,9,10
while (($# > 0)); do
	case $1 in
	--quick) quick=true ;;
	--cases)
		(($# >= 2)) || usage
		cases=$2
		shift
		;;
	--cases=*) cases=${1#--cases=} ;;
	--fleet) cases=9 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done

# The cases to run.  Cases 2 and 3 read case 1's tables and figures, so
# either brings case 1 along.
declare -A wanted=()
IFS=, read -r -a case_list <<<"$cases"
for c in "${case_list[@]}"; do
	if [[ ! $c =~ ^([1-9]|10)$ ]]; then
		echo "bench: --cases $cases: '$c' is not a case number (1 to 10)" >&2
		exit 2
	fi
	wanted[$c]=1
done
if [[ -n ${wanted[2]:-} || -n ${wanted[3]:-} ]]; then
	wanted[1]=1
fi
want() { # N: whether case N runs
	[[ -n ${wanted[$1]:-} ]]
}
cases=$(printf '%s\n' "${!wanted[@]}" | sort -n | paste -sd, -)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly ROOT
readonly BUILD=$ROOT/build-bench
readonly SWEEPD=$BUILD/sweepd
readonly TESTJOB=$BUILD/tests/fixtures/testjob.so
readonly FAULT=$BUILD/tests/fixtures/fault.so
readonly WORK=$BUILD/bench
readonly PGBIN=/usr/lib/postgresql/15/bin
export SWEEPD_PG_DIR=$BUILD/pg
cd "$ROOT"

# Sizes.  ROWS: rows of the throughput tables (half of them are older than
# the 30-day cutoff); LOOP_SAMPLE: rows the row-by-row loop deletes before
# its rate is extrapolated; SMALL_ROWS: rows deleted by the small memory
# run; JOBS: job files of case 4; IDLE_S: seconds of idle CPU measured;
# SCHED_S: seconds of the every-second schedule; STUCK_S: seconds of case
# 6's window (and of its baseline's); BURSTS: bursts measured per number
# of jobs in case 7, BURST_JOBS those numbers.
if $quick; then
	readonly MODE=quick ROWS=200000 LOOP_SAMPLE=2000 IDLE_S=15 SCHED_S=30
	readonly STUCK_S=20 BURSTS=3
else
	readonly MODE=full ROWS=2000000 LOOP_SAMPLE=20000 IDLE_S=60 SCHED_S=120
	readonly STUCK_S=60 BURSTS=6
fi
readonly SMALL_ROWS=10000 JOBS=10000
readonly BURST_JOBS=(1 10 40 200)
# Case F: the grid of daemons x jobs, seconds of each cell, and the jobs of
# the burst, which needs a backend for each of its runs at once.
if $quick; then
	readonly FLEET_DAEMONS=(1 3) FLEET_JOBS=(10 100) FLEET_S=20
else
	readonly FLEET_DAEMONS=(1 3) FLEET_JOBS=(10 50 100 200) FLEET_S=60
fi
readonly FLEET_BURST=1000
readonly FLEET_PG_CONF="max_connections = $((FLEET_BURST + 100))"
readonly BATCH_SIZES=(1000 5000 20000)

say() { # progress on stderr, with the seconds since the start
	echo "bench: [${SECONDS}s] $*" >&2
}

die() {
	echo "bench: $*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Packages and build

bash scripts/deps.sh

# Installs the Debian packages named that are missing, as deps.sh does
# (directly as root, else through sudo).  Returns apt-get's status.
apt_install_missing() {
	local pkg status missing=() sudo=()
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		if [[ $status != "install ok installed" ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} > 0)) || return 0
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || {
			say "not root and no sudo: cannot install ${missing[*]}"
			return 1
		}
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	"${sudo[@]}" apt-get update >&2 &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# hyperfine times --check/--list-jobs, jq reads sweepd's --json results,
# time (/usr/bin/time) gives peak RSS.  pg_cron is only the anchor of case 5:
# without it the bench goes on.
apt_install_missing hyperfine jq time || die "cannot install hyperfine, jq and time"
cron_note=
if ! apt_install_missing postgresql-15-cron; then
	cron_note="postgresql-15-cron could not be installed"
fi

# Only what the bench runs: the daemon, the shipped plugins and the testjob
# and fault fixtures (SWEEPD_TESTS=ON is what defines them).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSWEEPD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j2 --target sweepd sweepd_plugins sweepd_fixture_testjob \
	sweepd_fixture_fault >/dev/null
[[ -x $SWEEPD && -f $TESTJOB && -f $FAULT ]] ||
	die "build did not produce $SWEEPD, $TESTJOB and $FAULT"
# Other work on the machine shows in every figure: the heading prints the
# load average from here and at the end.
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Helpers

# Daemons started by this script, stopped by cleanup().
daemon_pids=()

pg() {
	bash "$ROOT/scripts/pg.sh" "$@"
}

cleanup() {
	local pid
	for pid in "${daemon_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	pg stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# psql for setup and queries (Unix socket), quiet, unaligned, stop on error.
sql() {
	"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"
}

# psql for the measured client-side baselines: over TCP like sweepd, which
# takes its DSN from DATABASE_URL (set by `pg.sh env`).
psql_tcp() {
	"$PGBIN/psql" -X -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"
}

now_ns() {
	date +%s%N
}

# Sleeps $1 seconds in a way that a signal interrupts at once (bash runs a
# trap only after its foreground command ends, but `wait` returns early).
pause() {
	sleep "$1" &
	wait "$!"
}

# Prints the awk expression $1 evaluated, formatted with printf format $2.
# (The parentheses keep a ">" in $1 a comparison, not an output redirection.)
calc() {
	awk "BEGIN { printf \"$2\", ($1) }"
}

# The ratio $1 / $2: two decimals, or two significant digits below 0.1.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; printf (r < 0.1 ? "%.2g" : "%.2f"), r }'
}

# An integer with thousands separators: 1234567 -> 1,234,567.
thousands() {
	local n=$1 out=
	while ((${#n} > 3)); do
		out=,${n: -3}$out
		n=${n:0:${#n}-3}
	done
	echo "$n$out"
}

# "ok" when the awk condition $1 holds, else "MISSED".
verdict() {
	if awk "BEGIN { exit !($1) }"; then
		echo ok
	else
		echo MISSED
	fi
}

# Rows of the result table: case, measurement, value, ratio (to what),
# target, verdict.  Each row is also shown as it is measured.
table=()
row() {
	local line
	printf -v line '| %s | %s | %s | %s | %s | %s |' "$@"
	table+=("$line")
	say "$line"
}

# start_daemon CONF_DIR LOG: the scheduler in the background; sets
# DAEMON_PID once it has logged "scheduler started" (within 60 s).
start_daemon() {
	local i t0
	t0=$(now_ns)
	"$SWEEPD" --conf-dir "$1" 2>"$2" &
	DAEMON_PID=$!
	daemon_pids+=("$DAEMON_PID")
	for ((i = 0; i < 3000; i++)); do
		if grep -q 'scheduler started' "$2"; then
			DAEMON_READY_MS=$((($(now_ns) - t0) / 1000000))
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || die "sweepd --conf-dir $1 exited: $(cat "$2")"
		sleep 0.02
	done
	die "sweepd --conf-dir $1 did not start within 60 s: $(cat "$2")"
}

stop_daemon() { # PID
	local pid rest=()
	kill -TERM "$1"
	wait "$1" || true
	# Forget it, so that cleanup() never signals a reused PID.
	for pid in "${daemon_pids[@]}"; do
		if [[ $pid != "$1" ]]; then
			rest+=("$pid")
		fi
	done
	daemon_pids=("${rest[@]}")
}

# CPU ticks a process has used itself (utime + stime) and its reaped
# children (cutime + cstime): fields 14-17 of /proc/PID/stat, counted after
# the ")" that ends the command name (field 2).  Prints "SELF CHILDREN".
cpu_ticks() {
	local stat f
	stat=$(<"/proc/$1/stat")
	read -r -a f <<<"${stat##*) }"
	echo "$((f[11] + f[12])) $((f[13] + f[14]))"
}
hz=$(getconf CLK_TCK)

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Sleeps until the wall-clock instant $1 (seconds since the epoch, a
# fraction allowed); returns at once when it has passed.
sleep_until() {
	local s
	s=$(calc "$1 - $(now_ns) / 1e9" '%.3f')
	if awk "BEGIN { exit !($s > 0) }"; then
		pause "$s"
	fi
}

# wait_sql COND DEADLINE: polls the SQL condition COND every 0.2 s until it
# holds (returns 0) or the wall clock passes DEADLINE (seconds since the
# epoch; returns 1).
wait_sql() {
	while [[ $(sql -c "SELECT ($1)") != t ]]; do
		awk "BEGIN { exit !($(now_ns) / 1e9 < $2) }" || return 1
		sleep 0.2
	done
}

# Byte offset of the end of the server log, to read what comes after it.
readonly PG_LOG=$SWEEPD_PG_DIR/log
log_mark() {
	stat -c %s "$PG_LOG"
}

# ---------------------------------------------------------------------------
# PostgreSQL: a fresh cluster of our own, with pg_cron preloaded if present

if pg status >/dev/null 2>&1; then
	pg stop >/dev/null
fi
# pg.sh may have put the cluster under /tmp with build-bench/pg a link to it.
if [[ -L $SWEEPD_PG_DIR ]]; then
	target=$(readlink -f "$SWEEPD_PG_DIR")
	if [[ $target == */sweepd-pg.* ]]; then
		rm -rf -- "$target"
	fi
fi
rm -rf -- "$SWEEPD_PG_DIR" "$WORK"
mkdir -p "$WORK"
pg start >/dev/null 2>"$WORK/pg-start.log" || die "PostgreSQL did not start: $(cat "$WORK/pg-start.log")"
eval "$(pg env)"

# Settings of the bench on top of pg.sh's: no autovacuum (every table is
# vacuumed explicitly before it is measured, and a worker vacuuming a 2M-row
# source table in the background would disturb the measurements), and
# pg_cron preloaded when it is installed.  pg_cron runs its jobs through
# libpq connections to cron.host on the server's port; this cluster listens
# on 127.0.0.1 (its socket is not in the default directory).
conf_file=$(sql -c 'SHOW config_file')
cp "$conf_file" "$WORK/postgresql.conf.orig"
printf '\n# scripts/bench.sh\nautovacuum = off\n%s\n' "$FLEET_PG_CONF" >>"$conf_file"
pgcron_so=$("$PGBIN/pg_config" --pkglibdir)/pg_cron.so
if [[ -z $cron_note && ! -f $pgcron_so ]]; then
	cron_note="$pgcron_so not found"
fi
if [[ -z $cron_note ]]; then
	cat >>"$conf_file" <<-EOF
		shared_preload_libraries = 'pg_cron'
		cron.database_name = 'sweepd'
		cron.host = '127.0.0.1'
	EOF
fi
pg stop >/dev/null 2>&1
if ! pg start >/dev/null 2>>"$WORK/pg-start.log"; then
	[[ -z $cron_note ]] || die "PostgreSQL did not restart: see $PG_LOG"
	cron_note="PostgreSQL did not start with pg_cron preloaded"
	cp "$WORK/postgresql.conf.orig" "$conf_file"
	printf '\n# scripts/bench.sh\nautovacuum = off\n%s\n' "$FLEET_PG_CONF" >>"$conf_file"
	pg start >/dev/null 2>>"$WORK/pg-start.log" || die "PostgreSQL did not restart: see $PG_LOG"
fi
# The port may have changed with the restart.
eval "$(pg env)"
if [[ -z $cron_note ]] && ! sql -c 'CREATE EXTENSION pg_cron' 2>"$WORK/pg-cron.err"; then
	cron_note="CREATE EXTENSION pg_cron failed: $(head -n1 "$WORK/pg-cron.err")"
fi
# cron_every: the cadence of the anchor job, "minute" or "second"; empty
# when there is no pg_cron.
cron_every=
if [[ -n $cron_note ]]; then
	say "pg_cron unavailable ($cron_note): case 5 runs without its anchor"
else
	cron_version=$(sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")
	# Interval schedules ('1 seconds') came with pg_cron 1.5; before, a
	# minute is its finest cadence.
	if [[ $(printf '%s\n' 1.5 "$cron_version" | sort -V | head -n1) == 1.5 ]]; then
		cron_every=second
		cron_schedule='1 seconds'
	else
		cron_every=minute
		cron_schedule='* * * * *'
	fi
	say "pg_cron $cron_version loaded: the anchor runs '$cron_schedule'"
fi

# sweepd creates its schema (runs, audit) on first use.
mkdir -p "$WORK/empty"
"$SWEEPD" --conf-dir "$WORK/empty" --status >/dev/null

pg_version=$(sql -c 'SHOW server_version')
say "PostgreSQL $pg_version on ${PGHOST}:$PGPORT; sweepd $("$SWEEPD" --version 2>&1 | head -n1)"

# ---------------------------------------------------------------------------
# Tables

# make_source NAME N: a table of N rows, in time order: id bigint, created_at
# spread evenly over the last 60 days (so half are older than 30 days),
# user_id, and a 100-byte payload.
make_source() {
	sql <<-EOF
		CREATE TABLE $1 AS
		SELECT g::bigint AS id,
		       now() - interval '60 days' + (g - 0.5) * (interval '60 days' / $2) AS created_at,
		       (random() * 1000000)::bigint AS user_id,
		       rpad(md5(g::text), 100, md5((-g)::text)) AS payload
		FROM generate_series(1, $2) AS g;
	EOF
}

# fresh_copy SRC: table t as a copy of SRC in SRC's heap order, with its
# primary key and created_at index, vacuumed and analysed, audit emptied,
# and checkpointed so no variant pays for the previous one's dirty pages.
fresh_copy() {
	# synchronize_seqscans off: the copy starts at SRC's first block, not
	# where a previous scan of SRC left off, so the heap order is kept.
	sql <<-EOF
		SET synchronize_seqscans = off;
		DROP TABLE IF EXISTS t;
		CREATE TABLE t AS SELECT * FROM $1;
		ALTER TABLE t ADD PRIMARY KEY (id);
		CREATE INDEX t_created_at ON t (created_at);
		VACUUM ANALYZE t;
		TRUNCATE sweepd.audit;
		DROP TABLE IF EXISTS audit_log;
		CREATE TABLE audit_log (job text, action text, table_name text,
		                        data jsonb, at timestamptz DEFAULT clock_timestamp());
		CHECKPOINT;
	EOF
}

# ---------------------------------------------------------------------------
# Runners.  Each sets R_ROWS (rows deleted) and R_US (client wall time in
# microseconds, connecting included, as for every variant).

# run_job JOB [VAR=VALUE...]: `sweepd --run JOB --json` on the bench jobs,
# with the environment given, under /usr/bin/time.  Also sets R_BATCHES,
# R_LONGEST (longest batch, ms, timed by sweepd around each batch's
# statement and its commit), R_LARGEST (most rows one batch deleted) and
# R_RSS_KB (peak RSS).
readonly CONF=$WORK/conf
run_job() {
	local job=$1 json t0 t1 ok
	shift
	t0=$(now_ns)
	json=$(env "$@" /usr/bin/time -f %M -o "$WORK/rss" \
		"$SWEEPD" --conf-dir "$CONF" --run "$job" --json 2>>"$WORK/sweepd.log") ||
		die "sweepd --run $job failed: $json (see $WORK/sweepd.log)"
	t1=$(now_ns)
	R_US=$(((t1 - t0) / 1000))
	read -r ok R_ROWS R_BATCHES R_LONGEST R_LARGEST < <(jq -r \
		'[.success, (.counters.deleted // 0), .batches, .longest_batch_ms, .largest_batch_rows] | @tsv' <<<"$json")
	[[ $ok == true ]] || die "sweepd --run $job: $json"
	R_RSS_KB=$(tail -n1 "$WORK/rss")
}

# run_sql STATEMENT: one statement from psql; R_ROWS from its command tag
# ("DELETE n", "INSERT 0 n").
run_sql() {
	local out t0 t1
	t0=$(now_ns)
	out=$(psql_tcp -At -c "$1")
	t1=$(now_ns)
	R_US=$(((t1 - t0) / 1000))
	R_ROWS=${out##* }
}

# writer_start STATEMENTS: a writer, psql with \timing running STATEMENTS
# again and again, each its own transaction, until writer_stop; returns
# once its first statement is done.  writer_stop stops it and sets
# W_MAX_MS, its longest statement (ms, as psql timed it), and W_N, their
# number: the longest a table's readers and writers waited.
writer_start() {
	rm -f "$WORK/writer.stop" "$WORK/writer.out"
	(
		echo '\timing on'
		while [[ ! -e $WORK/writer.stop ]]; do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				echo "$1"
			done
		done
	) | "$PGBIN/psql" -X -q -d "$DATABASE_URL" >"$WORK/writer.out" 2>&1 &
	writer_pid=$!
	until grep -q '^Time: ' "$WORK/writer.out" 2>/dev/null; do
		kill -0 "$writer_pid" 2>/dev/null || die "the writer did not start: $(cat "$WORK/writer.out")"
		pause 0.05
	done
}
writer_stop() {
	touch "$WORK/writer.stop"
	wait "$writer_pid" || die "the writer failed: $(grep -v '^Time' "$WORK/writer.out" | head -n3)"
	read -r W_N W_MAX_MS < <(awk '/^Time: / { n++; if ($2 > m) m = $2 } END { printf "%d %.1f\n", n, m }' "$WORK/writer.out")
}

# run_loop SRC: the way the seeds' ORM jobs delete: one DELETE per id, each
# in its own transaction (psql autocommit), one round trip each.  Deletes a
# random sample of LOOP_SAMPLE old rows of a fresh copy of SRC.
run_loop() {
	local before after t0 t1
	sql -c "COPY (SELECT format('DELETE FROM t WHERE id = %s;', id) FROM $1
		WHERE created_at < now() - interval '30 days'
		ORDER BY random() LIMIT $LOOP_SAMPLE) TO STDOUT" >"$WORK/loop.sql"
	fresh_copy "$1"
	before=$(sql -c 'SELECT count(*) FROM t')
	t0=$(now_ns)
	psql_tcp -q -f "$WORK/loop.sql" >/dev/null
	t1=$(now_ns)
	R_US=$(((t1 - t0) / 1000))
	after=$(sql -c 'SELECT count(*) FROM t')
	R_ROWS=$((before - after))
}

rate() { # rows/s of R_ROWS in R_US, an integer
	calc "$R_ROWS / ($R_US / 1e6)" '%.0f'
}

secs() { # R_US as seconds
	calc "$R_US / 1e6" '%.2f'
}

mib() { # KiB -> MiB
	calc "$1 / 1024" '%.1f'
}

# The bench's jobs, all on table t.
mkdir -p "$CONF"
write_age_job() { # NAME [EXTRA PARAM LINES]
	printf '[job]\nname = %s\nplugin = age_delete\n\n[params]\ntable = t\ntime_column = created_at\nolder_than = 30d\n%s' \
		"$1" "${2:-}" >"$CONF/$1.ini"
}
write_age_job age-default
write_age_job age-audited $'audit_columns = id, user_id\n'
write_age_job age-parallel $'parallel = 2\n'
write_age_job age-max-rows "max_rows = $((ROWS / 4))"$'\n'
for b in "${BATCH_SIZES[@]}"; do
	write_age_job "age-batch-$b" "batch_size = $b"$'\n'
done

# The pg_cron anchor of case 5: pg_cron inserts clock_timestamp() into
# table anchor on cron_schedule from anchor_start to anchor_stop (which
# sets cron_window_s, the seconds in between).
cron_window_start=
anchor_start() {
	[[ -n $cron_every && -z $cron_window_start ]] || return 0
	sql -c 'CREATE TABLE anchor (at timestamptz)'
	cron_window_start=$(sql -c 'SELECT clock_timestamp()')
	cron_t0=$SECONDS
	sql -c "SELECT cron.schedule('bench-anchor', '$cron_schedule', 'INSERT INTO anchor SELECT clock_timestamp()')" >/dev/null
}
anchor_stop() {
	[[ -n $cron_window_start ]] || return 0
	sql -c "SELECT cron.unschedule('bench-anchor')" >/dev/null
	cron_window_s=$((SECONDS - cron_t0))
}

# An every-minute pg_cron job fires in a window only if the window holds a
# minute boundary, which a 30 s window (--quick) often does not.  Then the
# anchor starts here already, so that its window (the whole bench) lasts
# more than a minute; a run of it is a few ms of one backend, once a minute.
if want 5 && [[ $cron_every == minute ]] && ((SCHED_S < 60)); then
	anchor_start
fi

# ---------------------------------------------------------------------------
# Case 1: throughput
if want 1; then
	say "case 1: building the source tables ($(thousands "$ROWS") rows)"
	make_source src_ordered "$ROWS"
	sql -c 'SET synchronize_seqscans = off' -c 'CREATE TABLE src_shuffled AS SELECT * FROM src_ordered ORDER BY random()'

	# Per layout, REPS rounds of: bulk DELETE, age_delete, age_delete with
	# parallel = 2, and in the first REPS_SLOW rounds also audited bulk,
	# age_delete audited and row-by-row (those take seconds each, and their
	# ratios sit far from their targets); each on its own fresh copy.  The
	# variants alternate so that a slow spell of the (shared) machine hits them
	# alike; each figure is the median of its rounds, with every round's time
	# shown.
	readonly REPS=5 REPS_SLOW=3

	# median N...: the median of the numbers (the middle one; REPS and
	# REPS_SLOW are odd).
	median() {
		printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
	}

	# Appends to the arrays named $1 (rows/s) and $2 (seconds) this round's
	# R_ROWS and R_US.
	record() {
		local -n rates=$1 times=$2
		rates+=("$(rate)")
		times+=("$(secs)")
	}

	# "a / b / c s": the seconds of each round.
	rounds() {
		local IFS=/
		echo "$* s" | sed 's|/| / |g'
	}

	# young_half_row LABEL BULK_US: on a fresh time-ordered copy, the server
	# time of a DELETE over the blocks past the one holding the newest expired
	# row (EXPLAIN ANALYZE, rolled back; the cutoff a constant, as in
	# age_delete's batches): the young half, which age_delete's heap walk scans
	# and the bulk DELETE's index scan never reads.  BULK_US: the bulk DELETE's
	# median time, to compare with.
	young_half_row() {
		local cut first ms
		fresh_copy src_ordered
		cut=$(sql -c "SELECT now() - interval '30 days'")
		first=$(sql -c "SELECT (ctid::text::point)[0]::bigint + 1 FROM t
			WHERE created_at < '$cut' ORDER BY created_at DESC LIMIT 1")
		ms=$(sql -c 'BEGIN' -c "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM t
			WHERE ctid >= '($first,0)' AND created_at < '$cut'" \
			-c 'ROLLBACK' | jq '.[0]["Execution Time"]')
		row 1 "$1: the young half alone (blocks $(thousands "$first") on), which the heap walk scans and the bulk DELETE does not" \
			"$(calc "$ms" '%.0f') ms in the server" \
			"$(calc "$ms * 1000 / $2" '%.2f')x the bulk DELETE's time, spent on rows that all stay" "" ""
	}

	bulk_us_ordered=0
	rss_big_kb=0
	rss_big_rows=0
	throughput() { # LABEL SRC
		local label=$1 src=$2 rep r bulk_rows=0 loop_rows=0
		local age_batches=0 age_longest=0 aage_longest=0 par_longest=0
		local bulk_rate age_rate par_rate abulk_rate aage_rate loop_rate
		local -a bulk_r=() bulk_t=() bulk_us=() age_r=() age_t=() abulk_r=() abulk_t=()
		local -a par_r=() par_t=() aage_r=() aage_t=() loop_r=() loop_t=()
		local -a plain_r=() plain_t=()
		local plain_rate

		for ((rep = 1; rep <= REPS; rep++)); do
			say "case 1, $label, round $rep/$REPS: bulk DELETE"
			fresh_copy "$src"
			run_sql "DELETE FROM t WHERE created_at < now() - interval '30 days'"
			record bulk_r bulk_t
			bulk_us+=("$R_US")
			bulk_rows=$R_ROWS

			say "case 1, $label, round $rep/$REPS: age_delete"
			fresh_copy "$src"
			run_job age-default
			record age_r age_t
			age_batches=$R_BATCHES
			if ((R_LONGEST > age_longest)); then
				age_longest=$R_LONGEST
			fi
			if [[ $src == src_ordered ]] && ((R_RSS_KB > rss_big_kb)); then
				# Case 3 reads the peak RSS of these runs (half the table goes).
				rss_big_kb=$R_RSS_KB
				rss_big_rows=$R_ROWS
			fi

			say "case 1, $label, round $rep/$REPS: age_delete, parallel = 2"
			fresh_copy "$src"
			run_job age-parallel
			record par_r par_t
			if ((R_LONGEST > par_longest)); then
				par_longest=$R_LONGEST
			fi

			((rep <= REPS_SLOW)) || continue

			say "case 1, $label, round $rep/$REPS: audited bulk DELETE"
			fresh_copy "$src"
			run_sql "WITH d AS (DELETE FROM t WHERE created_at < now() - interval '30 days' RETURNING id, user_id)
				INSERT INTO sweepd.audit (job, action, table_name, data)
				SELECT 'bench', 'deleted', 't', jsonb_build_object('id', id, 'user_id', user_id) FROM d"
			record abulk_r abulk_t

			say "case 1, $label, round $rep/$REPS: audited bulk DELETE into a plain audit_log"
			fresh_copy "$src"
			run_sql "WITH d AS (DELETE FROM t WHERE created_at < now() - interval '30 days' RETURNING id, user_id)
				INSERT INTO audit_log (job, action, table_name, data)
				SELECT 'bench', 'deleted', 't', jsonb_build_object('id', id, 'user_id', user_id) FROM d"
			record plain_r plain_t

			say "case 1, $label, round $rep/$REPS: age_delete audited"
			fresh_copy "$src"
			run_job age-audited
			record aage_r aage_t
			if ((R_LONGEST > aage_longest)); then
				aage_longest=$R_LONGEST
			fi

			say "case 1, $label, round $rep/$REPS: row-by-row loop"
			run_loop "$src"
			record loop_r loop_t
			loop_rows=$R_ROWS
		done

		bulk_rate=$(median "${bulk_r[@]}")
		age_rate=$(median "${age_r[@]}")
		par_rate=$(median "${par_r[@]}")
		abulk_rate=$(median "${abulk_r[@]}")
		plain_rate=$(median "${plain_r[@]}")
		aage_rate=$(median "${aage_r[@]}")
		loop_rate=$(median "${loop_r[@]}")
		if [[ $src == src_ordered ]]; then
			bulk_us_ordered=$(median "${bulk_us[@]}")
		fi

		row 1 "$label: bulk \`DELETE\` (baseline), $(thousands "$bulk_rows") rows" \
			"$(thousands "$bulk_rate") rows/s ($(rounds "${bulk_t[@]}"))" "" "" ""
		r=$(calc "$age_rate / $bulk_rate" '%.2f')
		if [[ $src == src_ordered ]]; then
			row 1 "$label: age_delete, batch_size 5000 (default)" \
				"$(thousands "$age_rate") rows/s ($(rounds "${age_t[@]}"); $age_batches batches)" \
				"${r}x bulk" ">= 0.8x" "$(verdict "$r >= 0.8")"
			row 1 "$label: age_delete, longest batch (of all rounds)" "$age_longest ms" "" \
				"< 100 ms" "$(verdict "$age_longest < 100")"
		else
			row 1 "$label: age_delete, batch_size 5000 (default)" \
				"$(thousands "$age_rate") rows/s ($(rounds "${age_t[@]}"); $age_batches batches, longest $age_longest ms)" \
				"${r}x bulk" ">= 0.6x" "$(verdict "$r >= 0.6")"
		fi
		if [[ $src == src_ordered ]]; then
			young_half_row "$label" "$bulk_us_ordered"
		fi
		r=$(calc "$par_rate / $bulk_rate" '%.2f')
		row 1 "$label: age_delete, parallel = 2 (stretch)" \
			"$(thousands "$par_rate") rows/s ($(rounds "${par_t[@]}"); longest batch $par_longest ms)" \
			"${r}x bulk" ">= 1.0x" "$(verdict "$r >= 1.0")"
		row 1 "$label: bulk \`WITH d AS (DELETE ... RETURNING) INSERT INTO sweepd.audit\` (audited baseline)" \
			"$(thousands "$abulk_rate") rows/s ($(rounds "${abulk_t[@]}"))" "" "" ""
		r=$(calc "$aage_rate / $abulk_rate" '%.2f')
		row 1 "$label: age_delete, audit_columns = id, user_id" \
			"$(thousands "$aage_rate") rows/s ($(rounds "${aage_t[@]}"); longest batch $aage_longest ms)" \
			"${r}x audited bulk" ">= 0.7x" "$(verdict "$r >= 0.7")"
		row 1 "$label: bulk \`WITH d AS (DELETE ... RETURNING) INSERT INTO audit_log\`, a plain table without index or sequence (issue 13's audited baseline)" \
			"$(thousands "$plain_rate") rows/s ($(rounds "${plain_t[@]}"))" "" "" ""
		r=$(calc "$aage_rate / $plain_rate" '%.2f')
		row 1 "$label: age_delete, audit_columns = id, user_id, into sweepd.audit, against that plain audit_log" \
			"$(thousands "$aage_rate") rows/s" "${r}x plain audited bulk" ">= 0.7x" "$(verdict "$r >= 0.7")"
		row 1 "$label: age_delete audited, longest batch (of all rounds)" "$aage_longest ms" "" \
			"< 100 ms" "$(verdict "$aage_longest < 100")"
		r=$(calc "$loop_rate / $bulk_rate" '%.3f')
		row 1 "$label: row-by-row loop, one \`DELETE ... WHERE id = N\` per transaction (sample of $(thousands "$loop_rows") rows, extrapolated)" \
			"$(thousands "$loop_rate") rows/s ($(rounds "${loop_t[@]}") for the sample; ~$(calc "$bulk_rows / $loop_rate" '%.0f') s for all $(thousands "$bulk_rows"))" \
			"${r}x bulk" "" ""
		r=$(calc "$age_rate / $loop_rate" '%.0f')
		row 1 "$label: age_delete vs the row-by-row loop" "" "${r}x row-by-row" \
			">= 100x" "$(verdict "$r >= 100")"
	}
	throughput time-ordered src_ordered
	throughput shuffled src_shuffled
fi

# ---------------------------------------------------------------------------
# Case 2: lock time per batch size
#
# sweepd's JSON gives only the longest batch, so the per-batch times for p99
# come from the server: the run connects with PGOPTIONS setting
# log_min_duration_statement = 0 for its own session only (superuser), and
# the "duration: ... execute <unnamed>: DELETE" lines it adds to the server
# log are the batches (parse and bind are separate lines, and tiny).  That
# is the statement's time in the server, its locks included; sweepd's
# longest_batch_ms adds the round trip and commit.  The debug progress lines
# carry no timing, and pg_stat_statements keeps no percentiles.
#
# In the time-ordered layout the longest batches are the last ones, over the
# young half of the heap: they delete nothing, so they lock no row, and the
# batch loop grows their block range (4x a batch at most) until a batch
# takes its 50 ms time target (BATCH_TARGET_MS in host/batch.c).

if want 2; then
	lock_baseline=$(calc "$bulk_us_ordered / 1000" '%.0f')
	for b in "${BATCH_SIZES[@]}"; do
		say "case 2: batch_size $b"
		fresh_copy src_ordered
		mark=$(log_mark)
		run_job "age-batch-$b" PGOPTIONS='-c log_min_duration_statement=0'
		tail -c +"$((mark + 1))" "$PG_LOG" |
			sed -n 's/.*duration: \([0-9.]*\) ms  execute [^:]*: DELETE FROM .*/\1/p' |
			sort -n >"$WORK/batches-$b.txt"
		n=$(wc -l <"$WORK/batches-$b.txt")
		((n > 0)) || die "no batch durations in $PG_LOG for batch_size $b"
		# p99 by nearest rank: the ceil(0.99 n)-th smallest.
		p99=$(sed -n "$(calc "int(0.99 * $n + 0.999999)" '%d')p" "$WORK/batches-$b.txt")
		max=$(tail -n1 "$WORK/batches-$b.txt")
		p50=$(sed -n "$(((n + 1) / 2))p" "$WORK/batches-$b.txt")
		r=$(ratio "$R_LONGEST" "$lock_baseline")
		row 2 "age_delete batch_size $(thousands "$b"), time-ordered: longest batch (p50, p99, max in the server log; the run's rows/s with every batch logged)" \
			"$R_LONGEST ms (p50 $(calc "$p50" '%.1f') ms, p99 $(calc "$p99" '%.1f') ms, max $(calc "$max" '%.1f') ms; $R_BATCHES batches, $(thousands "$R_ROWS") rows, $(thousands "$(rate)") rows/s)" \
			"${r}x the bulk DELETE's single transaction (${lock_baseline} ms, case 1)" "< 100 ms" \
			"$(verdict "$R_LONGEST < 100")"
	done

	# Lock time per heap layout.  The heap-range step grows while batches find
	# no row to delete; before it was bounded by the rows a range may hold, a
	# step grown over dead pages was applied to live ones (216,000 rows and
	# 2.6 s in one batch of batch_size 5,000 after an interrupted run).  Each
	# layout at the default batch_size, run LAYOUT_REPS times on a fresh copy:
	# the longest batch of its runs (sweepd's longest_batch_ms: statement and
	# commit) and the most rows one batch deleted (largest_batch_rows), the
	# longest against the same on the fresh time-ordered copy (baseline):
	#   interrupted  the time-ordered copy whose oldest ROWS/8 rows a previous
	#                run deleted, not vacuumed since: dead tuples fill the
	#                heap's first eighth (the issue's layout)
	#   two ends     expired rows only in the heap's first tenth and in a
	#                twentieth near its end (young rows after them), the 80%
	#                between deleted and vacuumed: empty pages
	#   shuffled     case 1's shuffled table, half of its rows expired
	#   max_rows     the interrupted layout, max_rows = ROWS/4
	if $quick; then
		readonly LAYOUT_REPS=1
	else
		readonly LAYOUT_REPS=3
	fi
	readonly LAYOUT_BATCH=5000
	sql -c 'SET synchronize_seqscans = off' -c "CREATE TABLE src_ends AS
		SELECT id, CASE WHEN id <= $ROWS / 10 OR id BETWEEN $ROWS * 9 / 10 + 1 AND $ROWS * 19 / 20
		                THEN now() - interval '45 days' ELSE now() - interval '10 days' END AS created_at,
		       user_id, payload
		FROM src_ordered"
	layout_fresh() {
		fresh_copy src_ordered
	}
	layout_interrupted() {
		fresh_copy src_ordered
		sql -c "DELETE FROM t WHERE id <= $((ROWS / 8))"
	}
	layout_ends() {
		fresh_copy src_ends
		sql -c "DELETE FROM t WHERE id > $((ROWS / 10)) AND id <= $((ROWS * 9 / 10))"
		sql -c 'VACUUM t'
	}
	layout_shuffled() {
		fresh_copy src_shuffled
	}
	# layout_row LABEL SETUP JOB: LAYOUT_REPS runs of JOB, each after SETUP;
	# sets L_LONGEST and L_LARGEST (the most of its runs) and adds the row,
	# with the ratio to layout_base_ms unless SETUP is the baseline's.
	layout_row() {
		local label=$1 setup=$2 job=$3 rep r what value
		L_LONGEST=0
		L_LARGEST=0
		for ((rep = 1; rep <= LAYOUT_REPS; rep++)); do
			say "case 2, layout $label, run $rep/$LAYOUT_REPS"
			"$setup"
			run_job "$job"
			if ((R_LONGEST > L_LONGEST)); then
				L_LONGEST=$R_LONGEST
			fi
			if ((R_LARGEST > L_LARGEST)); then
				L_LARGEST=$R_LARGEST
			fi
		done
		what="age_delete batch_size $(thousands "$LAYOUT_BATCH"), layout $label"
		value="$L_LONGEST ms, $(thousands "$L_LARGEST") rows ($R_BATCHES batches, $(thousands "$R_ROWS") rows deleted)"
		if [[ $setup == layout_fresh ]]; then
			row 2 "$what (baseline): longest batch, most rows in one batch" "$value" "" "" ""
			return
		fi
		r=$(ratio "$L_LONGEST" "$(calc "$layout_base_ms > 0 ? $layout_base_ms : 1" '%g')")
		row 2 "$what: longest batch, most rows in one batch" "$value" \
			"${r}x the fresh layout's longest" \
			"< 100 ms and <= $(thousands $((2 * LAYOUT_BATCH))) rows" \
			"$(verdict "$L_LONGEST < 100 && $L_LARGEST <= 2 * $LAYOUT_BATCH")"
	}
	layout_row "time-ordered, fresh copy" layout_fresh age-default
	layout_base_ms=$L_LONGEST
	layout_row "interrupted run (oldest $(thousands $((ROWS / 8))) rows deleted, not vacuumed)" \
		layout_interrupted age-default
	layout_row "two ends (expired rows in the first 10% and at 90-95%, the 80% between empty)" \
		layout_ends age-default
	layout_row "shuffled" layout_shuffled age-default
	layout_row "interrupted run, max_rows = $(thousands $((ROWS / 4)))" \
		layout_interrupted age-max-rows
	sql -c 'DROP TABLE src_shuffled' -c 'DROP TABLE src_ends'
fi


# ---------------------------------------------------------------------------
# Case 3: memory.  The large run is case 1's time-ordered age_delete.
if want 3; then
	say "case 3: peak RSS"
	make_source src_small $((2 * SMALL_ROWS))
	fresh_copy src_small
	run_job age-default
	rss_small_kb=$R_RSS_KB
	row 3 "peak RSS of \`sweepd --run\` deleting $(thousands "$R_ROWS") rows (baseline)" \
		"$(mib "$rss_small_kb") MiB" "" "" ""
	r=$(calc "$rss_big_kb / $rss_small_kb" '%.2f')
	row 3 "peak RSS of \`sweepd --run\` deleting $(thousands "$rss_big_rows") rows" \
		"$(mib "$rss_big_kb") MiB" "${r}x the small run" "<= 1.2x and < 16 MiB" \
		"$(verdict "$r <= 1.2 && $rss_big_kb < 16384")"
	sql -c 'DROP TABLE IF EXISTS t' -c 'DROP TABLE src_small' -c 'DROP TABLE src_ordered'
fi

# ---------------------------------------------------------------------------
# Case 4: host overhead with JOBS job files, against one job file
if want 4; then
	say "case 4: $(thousands "$JOBS") job files"
	# A daily schedule 12 hours from now, so that no job runs while measured.
	hour=$(((10#$(date -u +%H) + 12) % 24))
	write_jobs() { # DIR N
		local i name
		mkdir -p "$1"
		for ((i = 0; i < $2; i++)); do
			printf -v name 'job-%05d' "$i"
			printf '[job]\nname = %s\nplugin = age_delete\nschedule = %d %d * * *\n\n[params]\ntable = t\ntime_column = created_at\nolder_than = 30d\n' \
				"$name" $((i % 60)) "$hour" >"$1/$name.ini"
		done
	}
	write_jobs "$WORK/jobs-many" "$JOBS"
	write_jobs "$WORK/jobs-one" 1

	hf_runs=5
	if $quick; then
		hf_runs=3
	fi
	hyperfine --style basic --warmup 1 --runs "$hf_runs" --export-json "$WORK/hyperfine.json" \
		"$(printf '%q ' "$SWEEPD" --conf-dir "$WORK/jobs-one" --check)" \
		"$(printf '%q ' "$SWEEPD" --conf-dir "$WORK/jobs-many" --check)" \
		"$(printf '%q ' "$SWEEPD" --conf-dir "$WORK/jobs-one" --list-jobs)" \
		"$(printf '%q ' "$SWEEPD" --conf-dir "$WORK/jobs-many" --list-jobs)" \
		>"$WORK/hyperfine.txt" 2>&1 || die "hyperfine failed: see $WORK/hyperfine.txt"
	mapfile -t hf_means < <(jq -r '.results[].mean' "$WORK/hyperfine.json")
	row 4 "\`sweepd --check\`, 1 job (baseline)" "$(calc "${hf_means[0]} * 1000" '%.1f') ms" "" "" ""
	r=$(calc "${hf_means[1]} / ${hf_means[0]}" '%.1f')
	row 4 "\`sweepd --check\`, $(thousands "$JOBS") jobs (hyperfine, mean of $hf_runs)" \
		"$(calc "${hf_means[1]} * 1000" '%.0f') ms" "${r}x 1 job" "< 1 s" \
		"$(verdict "${hf_means[1]} < 1")"
	row 4 "\`sweepd --list-jobs\`, 1 job (baseline)" "$(calc "${hf_means[2]} * 1000" '%.1f') ms" "" "" ""
	r=$(calc "${hf_means[3]} / ${hf_means[2]}" '%.1f')
	row 4 "\`sweepd --list-jobs\`, $(thousands "$JOBS") jobs" \
		"$(calc "${hf_means[3]} * 1000" '%.0f') ms" "${r}x 1 job" "" ""

	# At start the scheduler reads the run history once and queues a catch-up
	# run only for a job that ran before and missed its last tick (catch_up
	# defaults to the job's period): the bench's jobs never ran, so no child
	# should start.  A daemon counts as idle once it has had no child for 2 s;
	# the time and CPU until then are reported as its startup.
	#
	# settle PID...: polls the daemons' children every 0.1 s until none has had
	# one for 2 s, or SETTLE_MAX_S seconds passed; sets last_child[PID] to the
	# milliseconds from daemons_t0 to the last poll that saw a child of PID, and
	# seen_kids[PID] to the children it saw.
	declare -A last_child seen_kids
	settle() {
		local pid kid quiet=0 now
		for pid in "$@"; do
			last_child[$pid]=0
			seen_kids[$pid]=" "
		done
		while ((quiet < 20)); do
			now=$((($(now_ns) - daemons_t0) / 1000000))
			((now < SETTLE_MAX_S * 1000)) || return 1
			quiet=$((quiet + 1))
			for pid in "$@"; do
				for kid in $(pgrep -P "$pid"); do
					last_child[$pid]=$now
					quiet=0
					[[ ${seen_kids[$pid]} == *" $kid "* ]] ||
						seen_kids[$pid]+="$kid "
				done
			done
			sleep 0.1
		done
	}

	# The daemon with many jobs, and one with one job over the same windows.
	daemon_jobs=$JOBS
	ln -s jobs-many "$WORK/jobs-daemon"
	SETTLE_MAX_S=120
	daemons_t0=$(now_ns)
	start_daemon "$WORK/jobs-one" "$WORK/daemon-one.log"
	pid_one=$DAEMON_PID
	ready_one=$DAEMON_READY_MS
	rss_one=$(rss_kb "$pid_one")
	start_daemon "$WORK/jobs-daemon" "$WORK/daemon-many.log"
	pid_many=$DAEMON_PID
	ready_many=$DAEMON_READY_MS
	rss_many=$(rss_kb "$pid_many")
	row 4 "daemon RSS after \"scheduler started\", 1 job (baseline)" "$(mib "$rss_one") MiB" "" "" ""
	row 4 "daemon RSS after \"scheduler started\", $(thousands "$daemon_jobs") jobs" "$(mib "$rss_many") MiB" \
		"$(calc "$rss_many / $rss_one" '%.1f')x 1 job" "" ""

	say "case 4: waiting until the daemons start no more children"
	settled=true
	settle "$pid_one" "$pid_many" || settled=false
	read -r self_one kids_one < <(cpu_ticks "$pid_one")
	read -r self_many kids_many < <(cpu_ticks "$pid_many")
	# startup_row LABEL PID SELF CHILDREN RATIO READY_MS: the startup of the
	# daemon PID, with SELF and CHILDREN its CPU ticks so far.
	startup_row() {
		local kids when
		kids=$(wc -w <<<"${seen_kids[$2]}")
		when="$(calc "$6 / 1000" '%.2f') s to \"scheduler started\""
		if ! $settled; then
			when+=", children still starting after $SETTLE_MAX_S s"
		elif ((kids > 0)); then
			when+=", last child at $(calc "${last_child[$2]} / 1000" '%.1f') s"
		fi
		row 4 "daemon startup, $1: catch-up from one history query, child processes started: $kids" \
			"$when; $(calc "($3 + $4) / $hz" '%.2f') CPU-s ($(calc "$3 / $hz" '%.2f') in the daemon itself)" \
			"$5" "" ""
	}
	startup_row "1 job (baseline)" "$pid_one" "$self_one" "$kids_one" "" "$ready_one"
	startup_row "$(thousands "$daemon_jobs") jobs" "$pid_many" "$self_many" "$kids_many" \
		"$(calc "($self_many + $kids_many - $self_one - $kids_one) * 1000 / $hz / ($daemon_jobs - 1)" '%.3f') CPU-ms per job more" \
		"$ready_many"

	say "case 4: daemons idle for $IDLE_S s"
	t0=$(now_ns)
	pause "$IDLE_S"
	t1=$(now_ns)
	read -r s1 k1 < <(cpu_ticks "$pid_one")
	read -r s2 k2 < <(cpu_ticks "$pid_many")
	cpu_one=$((s1 + k1 - self_one - kids_one))
	cpu_many=$((s2 + k2 - self_many - kids_many))
	stop_daemon "$pid_many"
	stop_daemon "$pid_one"
	elapsed=$(calc "($t1 - $t0) / 1e9" '%.3f')
	pct_one=$(calc "$cpu_one / $hz / $elapsed * 100" '%.3f')
	pct_many=$(calc "$cpu_many / $hz / $elapsed * 100" '%.3f')
	row 4 "daemon idle CPU over $IDLE_S s after startup, 1 job (baseline)" \
		"${pct_one}% ($cpu_one ticks of 1/$hz s)" "" "" ""
	row 4 "daemon idle CPU over $IDLE_S s after startup, $(thousands "$daemon_jobs") jobs (same window)" \
		"${pct_many}% ($cpu_many ticks of 1/$hz s)" "$((cpu_many - cpu_one)) ticks more than 1 job" \
		"< 0.1%" "$(verdict "$pct_many < 0.1")"
fi

# ---------------------------------------------------------------------------
# Case 5: schedule precision
#
# sweepd runs the testjob fixture every second; its first statement inserts
# clock_timestamp() into sched_rec.  The delay of a run is that instant
# minus the run's due instant (sweepd.runs.scheduled_at).  The first run is
# dropped (it may start with less than the 200 ms head start).  pg_cron,
# over the same window (longer in --quick: see anchor_start), inserts
# clock_timestamp() into anchor on its own schedule; its delay is measured
# from the minute (or second) boundary.

if want 5; then
	say "case 5: schedule precision over $SCHED_S s"
	mkdir -p "$WORK/sched"
	printf '[job]\nname = tick\nplugin = %s\nschedule = * * * * * *\n\n[params]\nrecord = sched_rec\njob = tick\n' \
		"$TESTJOB" >"$WORK/sched/tick.ini"
	sql -c 'CREATE TABLE sched_rec (job text, at timestamptz)'

	anchor_start
	start_daemon "$WORK/sched" "$WORK/daemon-sched.log"
	pid_sched=$DAEMON_PID
	pause "$SCHED_S"
	stop_daemon "$pid_sched"
	anchor_stop

	# n, p50, p99 (nearest rank), max, in ms.
	read -r n p50 p99 max < <(sql -F ' ' <<-EOF
		WITH d AS (
		    SELECT extract(epoch FROM s.at - (SELECT max(r.scheduled_at) FROM sweepd.runs r
		                                      WHERE r.job = 'tick' AND r.scheduled_at <= s.at)) * 1000 AS ms
		    FROM sched_rec s ORDER BY s.at OFFSET 1)
		SELECT count(*),
		       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
		       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
		       round(max(ms)::numeric, 1)
		FROM d
	EOF
	)
	((n > 0)) || die "the every-second job recorded no run after the first: see $WORK/daemon-sched.log"

	if [[ -n $cron_every ]]; then
		read -r cn cp50 cp99 cmax < <(sql -F ' ' <<-EOF
			WITH d AS (
			    SELECT extract(epoch FROM at - date_trunc('$cron_every', at)) * 1000 AS ms
			    FROM anchor)
			SELECT count(*),
			       coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0),
			       coalesce(round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0),
			       coalesce(round(max(ms)::numeric, 1), 0)
			FROM d
		EOF
		)
		if ((cn > 0)); then
			row 5 "pg_cron $cron_version ('$cron_schedule', $cn runs in a $cron_window_s s window): delay from the due $cron_every (anchor)" \
				"p50 $cp50 ms, p99 $cp99 ms, max $cmax ms" "" "" ""
		else
			row 5 "pg_cron $cron_version ('$cron_schedule'): no run in the $cron_window_s s window" "" "" "" ""
		fi
	else
		row 5 "pg_cron: not available ($cron_note), no anchor" "" "" "" ""
		cn=0
	fi
	vs=
	if ((cn > 0)); then
		vs="$(ratio "$p99" "$(calc "$cp99 > 0 ? $cp99 : 0.001" '%g')")x pg_cron's p99"
	fi
	row 5 "sweepd, testjob every second (\`* * * * * *\`), $n runs: delay from the due second" \
		"p50 $p50 ms, p99 $p99 ms, max $max ms" "$vs" "p99 < 10 ms" "$(verdict "$p99 < 10")"
fi

# ---------------------------------------------------------------------------
# Cases 6 and 7: start lag under load.  The testjob fixture's first
# statement inserts (job, clock_timestamp()) into a table; a record belongs
# to the run of its job during which it was made (runs of one job never
# overlap), and its lag is that instant minus the run's tick.

# lag_stats TABLE JOB_LIKE FROM TO: over the records in TABLE of the jobs
# whose name is LIKE JOB_LIKE, for the ticks in [FROM, TO) (seconds since
# the epoch), prints "RECORDS TICKS P50 P99 MAX": the records, the distinct
# (job, tick) pairs they started, and their lag in ms (nearest rank; 0
# without records).
lag_stats() {
	sql -F ' ' <<-EOF
		WITH d AS (
		    SELECT r.job, r.scheduled_at,
		           extract(epoch FROM s.at - r.scheduled_at) * 1000 AS ms
		    FROM $1 s
		    JOIN sweepd.runs r ON r.job = s.job AND r.kind = 'scheduled'
		     AND s.at >= r.started_at AND s.at <= coalesce(r.finished_at, 'infinity')
		    WHERE s.job LIKE '$2'
		      AND r.scheduled_at >= to_timestamp($3) AND r.scheduled_at < to_timestamp($4))
		SELECT count(*), count(DISTINCT (job, scheduled_at)),
		       coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0),
		       coalesce(round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0),
		       coalesce(round(max(ms)::numeric, 1), 0)
		FROM d
	EOF
}

# cpu_sample PID: "SELF_NS CHILDREN_TICKS": the CPU time the process has
# used itself in ns (/proc/PID/schedstat: exact, the daemon has one
# thread), and that of its reaped children in ticks (cpu_ticks).
cpu_sample() {
	local self kids
	read -r self _ <"/proc/$1/schedstat"
	read -r _ kids < <(cpu_ticks "$1")
	echo "$self $kids"
}

# cpu_pct NS WALL_NS: CPU time over wall time, in %, one decimal (two
# below 1%).
cpu_pct() {
	awk -v c="$1" -v w="$2" 'BEGIN { p = c / w * 100; printf (p < 1 ? "%.2f" : "%.1f"), p }'
}

# times_base VALUE BASE: "VALUE/BASE x", or "n/a" when BASE is 0.
times_base() {
	if awk "BEGIN { exit !($2 > 0) }"; then
		echo "$(ratio "$1" "$2")x"
	else
		echo "n/a"
	fi
}

# ---------------------------------------------------------------------------
# Case 6: a stuck job never takes another job's tick (issue 9, point 4)
#
# A healthy testjob every second, next to the eleven faults of the
# containment tests (the fault fixture, tests/test_containment.c), each
# every 5 s, and five jobs stuck in `SELECT pg_sleep(600)` every second:
# the share of its due ticks in a STUCK_S window that it ran, its start lag
# (p50, p99, max) and the daemon's CPU, against the healthy job alone over
# a window as long (baseline).  Default settings: the daemon's (one run per
# job, no bound on runs at once, stop_grace 10 s) and the jobs' (timeout
# 1h), but busy_run, sigterm_blocked_run and sleep_init have the
# containment tests' timeout = 2s and malloc_run memory_limit = 256MiB.  So
# the window holds runs that crash, time out, get killed after stop_grace,
# flood their output, and five skipped ticks of the stuck jobs a second.

if want 6; then
	say "case 6: a healthy job every second, alone, then next to 11 faults and 5 stuck jobs; ${STUCK_S} s windows"
	sql -c 'CREATE TABLE stuck_rec (job text, at timestamptz)'
	# write_fault DIR NAME FAULT SCHEDULE [JOB LINES [PARAM LINES]]
	write_fault() {
		printf '[job]\nname = %s\nplugin = %s\nschedule = %s\n%s\n[params]\nfault = %s\n%s' \
			"$2" "$FAULT" "$4" "${5:-}" "$3" "${6:-}" >"$1/$2.ini"
	}
	mkdir -p "$WORK/alone" "$WORK/faults"
	for dir in "$WORK/alone" "$WORK/faults"; do
		printf '[job]\nname = healthy\nplugin = %s\nschedule = * * * * * *\n\n[params]\nrecord = stuck_rec\njob = healthy\n' \
			"$TESTJOB" >"$dir/healthy.ini"
	done
	for f in segv_run abort_init exit0_run recursion_run noise_run segv_teardown error_run; do
		write_fault "$WORK/faults" "fault-$f" "$f" '*/5 * * * * *'
	done
	for f in busy_run sigterm_blocked_run sleep_init; do
		write_fault "$WORK/faults" "fault-$f" "$f" '*/5 * * * * *' $'timeout = 2s\n'
	done
	write_fault "$WORK/faults" fault-malloc_run malloc_run '*/5 * * * * *' $'memory_limit = 256MiB\n'
	for i in 1 2 3 4 5; do
		write_fault "$WORK/faults" "stuck-$i" sql_run '* * * * * *' '' $'sql = SELECT pg_sleep(600)\n'
	done
	others=$(find "$WORK/faults" -name '*.ini' ! -name healthy.ini | wc -l)

	# healthy_window DIR OTHERS: the daemon on DIR; once OTHERS of its
	# fault and stuck jobs have started a run, a STUCK_S window from the
	# next whole second but one.  Sets H_T0 (its start), H_TICKS H_P50
	# H_P99 H_MAX (see lag_stats), H_SELF and H_KIDS (CPU % of the daemon
	# itself and of its runs' processes, reaped in the window) and
	# H_OTHERS (how the other jobs' ticks in the window ended: "status n,
	# ...").
	healthy_window() {
		local dir=$1 name pid s0 k0 s1 k1 w0 w1
		name=$(basename "$dir")
		start_daemon "$dir" "$WORK/daemon-$name.log"
		pid=$DAEMON_PID
		wait_sql "(SELECT count(DISTINCT job) FROM sweepd.runs WHERE job LIKE 'fault-%' OR job LIKE 'stuck-%') >= $2" \
			"$(calc "$(now_ns) / 1e9 + 20" '%.0f')" ||
			die "not every job of $dir started a run within 20 s: see $WORK/daemon-$name.log"
		H_T0=$(($(date +%s) + 2))
		sleep_until "$H_T0"
		read -r s0 k0 < <(cpu_sample "$pid")
		w0=$(now_ns)
		sleep_until $((H_T0 + STUCK_S))
		read -r s1 k1 < <(cpu_sample "$pid")
		w1=$(now_ns)
		# The window's last tick was a second ago: its record is in unless
		# its run is late.
		wait_sql "EXISTS (SELECT 1 FROM stuck_rec WHERE at >= to_timestamp($((H_T0 + STUCK_S - 1))))" \
			$((H_T0 + STUCK_S + 2)) || true
		stop_daemon "$pid"
		H_SELF=$(cpu_pct $((s1 - s0)) $((w1 - w0)))
		H_KIDS=$(cpu_pct $(((k1 - k0) * 1000000000 / hz)) $((w1 - w0)))
		read -r _ H_TICKS H_P50 H_P99 H_MAX < <(lag_stats stuck_rec healthy "$H_T0" $((H_T0 + STUCK_S)))
		H_OTHERS=$(sql -c "SELECT coalesce(string_agg(status || ' ' || n, ', ' ORDER BY n DESC), 'none')
			FROM (SELECT status, count(*) AS n FROM sweepd.runs WHERE (job LIKE 'fault-%' OR job LIKE 'stuck-%')
			      AND scheduled_at >= to_timestamp($H_T0) AND scheduled_at < to_timestamp($((H_T0 + STUCK_S)))
			      GROUP BY status) s")
	}
	# healthy_value: the figures of the last window.
	healthy_value() {
		echo "$H_TICKS of $STUCK_S ticks run ($(calc "$H_TICKS * 100 / $STUCK_S" '%.0f')%); start lag p50 $H_P50 ms, p99 $H_P99 ms, max $H_MAX ms; daemon CPU $H_SELF% itself, $H_KIDS% its runs' processes"
	}

	healthy_window "$WORK/alone" 0
	base_p50=$H_P50 base_p99=$H_P99
	row 6 "healthy testjob every second, alone, $STUCK_S s window (baseline): ticks run, start lag, daemon CPU" \
		"$(healthy_value)" "" "" ""
	healthy_window "$WORK/faults" "$others"
	row 6 "healthy testjob every second next to 11 faults every 5 s (tests/fixtures/fault.c) and 5 jobs stuck in \`pg_sleep(600)\` every second, $STUCK_S s window, default settings" \
		"$(healthy_value); the others' ticks in the window: $H_OTHERS" \
		"p50 $(times_base "$H_P50" "$base_p50"), p99 $(times_base "$H_P99" "$base_p99") alone" \
		">= 99% of ticks, p99 < 100 ms" \
		"$(verdict "$H_TICKS * 100 >= 99 * $STUCK_S && $H_P99 < 100")"
fi

# ---------------------------------------------------------------------------
# Case 7: bursts start on time (issue 14, point 3)
#
# N testjob jobs (1, 10, 40, 200), all `*/5 * * * * *`, BURSTS bursts each
# on a daemon of their own at default settings; the first burst is the
# first multiple of 5 s at least 2 s after the daemon started, so that it
# gets the daemon's full lead (sched_lead() in host/sched.c: at most a
# fifth of the period, 1 s).  Per N: the start lag of every run (p50, p99,
# max; runs that did not start by 3.5 s after the last burst are counted
# as missing) and the CPU of the daemon itself and of its runs' processes
# from 2 s before the first burst to the end, each against N = 1.  The
# cluster's max_connections (scripts/pg.sh) leaves room for 200 runs at
# once.

if want 7; then
	sql -c 'CREATE TABLE burst_rec (job text, at timestamptz)'
	for n in "${BURST_JOBS[@]}"; do
		say "case 7: $n job(s) due at the same instant, $BURSTS bursts"
		dir=$WORK/burst-$n
		mkdir -p "$dir"
		for ((i = 0; i < n; i++)); do
			printf -v name 'burst%d-%03d' "$n" "$i"
			printf '[job]\nname = %s\nplugin = %s\nschedule = */5 * * * * *\n\n[params]\nrecord = burst_rec\njob = %s\n' \
				"$name" "$TESTJOB" "$name" >"$dir/$name.ini"
		done
		start_daemon "$dir" "$WORK/daemon-burst-$n.log"
		pid=$DAEMON_PID
		first=$((($(date +%s) + 3 + 4) / 5 * 5))
		last=$((first + 5 * (BURSTS - 1)))
		sleep_until $((first - 2))
		read -r s0 k0 < <(cpu_sample "$pid")
		w0=$(now_ns)
		sleep_until "$last.3"
		wait_sql "(SELECT count(*) FROM burst_rec WHERE job LIKE 'burst$n-%' AND at >= to_timestamp($last)) >= $n" \
			"$((last + 3)).5" || true
		read -r s1 k1 < <(cpu_sample "$pid")
		w1=$(now_ns)
		stop_daemon "$pid"
		read -r _ ticks p50 p99 max < <(lag_stats burst_rec "burst$n-%" "$first" $((last + 1)))
		self=$(cpu_pct $((s1 - s0)) $((w1 - w0)))
		kids=$(cpu_pct $(((k1 - k0) * 1000000000 / hz)) $((w1 - w0)))
		value="p50 $p50 ms, p99 $p99 ms, max $max ms ($ticks of $((n * BURSTS)) runs started); daemon CPU $self% itself, $kids% its runs' processes"
		what="$n job(s) due at the same instant (\`*/5 * * * * *\`), $BURSTS bursts: start lag, CPU over $(calc "($w1 - $w0) / 1e9" '%.1f') s"
		if ((n == 1)); then
			one_p50=$p50 one_p99=$p99 one_max=$max one_self=$self one_kids=$kids
			row 7 "$what (baseline)" "$value" "" "" ""
			continue
		fi
		vs="p50 $(times_base "$p50" "$one_p50"), p99 $(times_base "$p99" "$one_p99"), max $(times_base "$max" "$one_max"), daemon CPU $(times_base "$self" "$one_self"), its runs' $(times_base "$kids" "$one_kids") the 1-job row"
		if ((n == 40)); then
			row 7 "$what" "$value" "$vs" "p99 < 50 ms, every run started" \
				"$(verdict "$p99 < 50 && $ticks == $n * $BURSTS")"
		else
			row 7 "$what" "$value" "$vs" "" ""
		fi
	done
fi

# ---------------------------------------------------------------------------
if want 8; then
# Case 8: partitioned tables.  A table partitioned by month on created_at,
# PART_ROWS rows, PART_EXPIRED of them older than the cutoff (90 days):
# nine monthly partitions lie wholly before it and go whole, the one
# holding it is batch-deleted (how many of its rows are expired depends on
# the day of the month the bench runs: the row says).  One bulk DELETE
# against age_delete, each on a fresh copy, alternating over PART_ROUNDS
# rounds (medians), with a writer (psql: an INSERT and a SELECT by id over
# every partition, each its own transaction) running throughout: its
# longest transaction is the longest the table's readers and writers
# waited.  age_delete runs twice: without a DEFAULT partition (DETACH ...
# CONCURRENTLY) and with an empty one (plain DETACHes in one transaction,
# whose lock waits and is held at most about 100 ms).  The measured
# session of each logs its statements (log_min_duration_statement = 0 for
# itself alone), which gives its longest transaction, the plain DETACH
# transaction's length and where age_delete's time went; after each
# age_delete the same job runs again with nothing left to delete: that
# run's time is a floor no run can beat.

readonly PART_ROWS=600000 PART_EXPIRED=433000
if $quick; then
	readonly PART_ROUNDS=1
else
	readonly PART_ROUNDS=3
fi

# part_source: table psrc of PART_ROWS rows, PART_EXPIRED of them spread
# evenly from the first day of the month 12 months ago to an hour before
# now() - 90 days, the rest from an hour after it to a minute ago.
part_source() {
	sql <<-EOF
		CREATE TABLE psrc AS
		WITH b AS (SELECT date_trunc('month', now() - interval '12 months') AS s,
		                  now() - interval '90 days' AS c, now() AS n)
		SELECT g::bigint AS id,
		       CASE WHEN g <= $PART_EXPIRED
		            THEN s + (g - 0.5) * ((c - interval '1 hour' - s) / $PART_EXPIRED)
		            ELSE c + interval '1 hour' + (g - $PART_EXPIRED - 0.5)
		                 * ((n - interval '1 minute' - c - interval '1 hour') / ($PART_ROWS - $PART_EXPIRED))
		       END AS created_at,
		       (random() * 1000000)::bigint AS user_id,
		       rpad(md5(g::text), 100, md5((-g)::text)) AS payload
		FROM b, generate_series(1, $PART_ROWS) AS g;
	EOF
}

# part_copy DEFAULT: table pt, partitioned by month on created_at (13
# partitions, and a DEFAULT one when DEFAULT is "default"), filled from
# psrc in time order, keyed, vacuumed, checkpointed.
part_copy() {
	sql <<-EOF
		DROP TABLE IF EXISTS pt;
		CREATE TABLE pt (id bigint NOT NULL, created_at timestamptz NOT NULL,
		                 user_id bigint, payload text, PRIMARY KEY (id, created_at))
		    PARTITION BY RANGE (created_at);
		DO \$\$ DECLARE m timestamptz := date_trunc('month', now() - interval '12 months');
		BEGIN FOR i IN 0..12 LOOP
		    EXECUTE format('CREATE TABLE %I PARTITION OF pt FOR VALUES FROM (%L) TO (%L)',
		                   'pt_' || to_char(m + i * interval '1 month', 'YYYYMM'),
		                   m + i * interval '1 month', m + (i + 1) * interval '1 month');
		END LOOP; END \$\$;
		$([[ $1 != default ]] || echo 'CREATE TABLE pt_default PARTITION OF pt DEFAULT;')
		CREATE INDEX ON pt (created_at);
		INSERT INTO pt SELECT * FROM psrc ORDER BY created_at;
		VACUUM ANALYZE pt;
		TRUNCATE sweepd.audit;
		CHECKPOINT;
	EOF
}

# The statements of case 8's writer: an INSERT of a new row and a SELECT
# by id (over every partition).
readonly PART_WRITER="INSERT INTO pt VALUES (1000000000 + (random() * 1e9)::int8, now(), 0, 'writer'); SELECT count(*) FROM pt WHERE id = 42;"

# part_log_stats MARK: reads the server log from byte MARK on, the lines
# of the measured run's session (it connects with PGOPTIONS setting
# log_min_duration_statement = 0 for itself alone), and sets L_SERVER (ms
# of statements in the server), L_COUNT (counting the rows of the
# partitions dropped), L_DETACH, L_DROP (LOCK and DROP of the detached
# partitions, their COMMIT), L_BATCH (the batches' DELETE, page sampling
# and COMMITs), L_VERIFY (the policy check: min(created_at), which walks
# the index entries the batches left dead), L_OTHER (the rest: the host's
# records, cutoff, catalog), L_TX (the longest transaction, BEGIN to COMMIT, or
# one statement outside a transaction), L_TX_WHAT (its first statement's
# first words) and L_LOCK (the longest plain DETACH transaction: the
# table's ACCESS EXCLUSIVE lock held, which its readers and writers queue
# behind; 0 when none).
part_log_stats() {
	read -r L_SERVER L_COUNT L_DETACH L_DROP L_BATCH L_VERIFY L_OTHER L_TX L_LOCK L_TX_WHAT < <(
		tail -c +"$(($1 + 1))" "$PG_LOG" | awk '
			function cls(q) {
				if (q ~ /count\(\*\), (EXISTS|false)/) return "count"
				if (q ~ /DETACH PARTITION/) return "detach"
				if (q ~ /^(LOCK|DROP) TABLE/) return "drop"
				if (q ~ /^DELETE FROM|TABLESAMPLE/) return "batch"
				if (q ~ /^SELECT extract\(epoch FROM now\(\) - /) return "verify"
				return "other"
			}
			/ LOG:  duration: / {
				split($2, t, ":")
				ts = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000
				match($0, /duration: [0-9.]+ ms  /)
				d = substr($0, RSTART + 10, RLENGTH - 15) + 0
				rest = substr($0, RSTART + RLENGTH)
				p = index(rest, ": ")
				kind = substr(rest, 1, p - 1)
				q = substr(rest, p + 2)
				whole = kind ~ /^(execute|statement)/
				end = q ~ /^(COMMIT|ROLLBACK)/
				if (q ~ /^BEGIN/) {
					if (whole) { intx = 1; start = ts - d; what = ""; wcls = ""; plain = 0 }
				} else if (!end) {
					last = cls(q)
					# A transaction is named by its first statement that is
					# not the host'"'"'s (timeouts and the like).
					if (intx && whole && (what == "" || (wcls == "other" && last != "other"))) {
						what = q
						wcls = last
					}
					if (intx && q ~ /DETACH PARTITION/ && q !~ /CONCURRENTLY|FINALIZE/)
						plain = 1
				}
				server += d
				by[last == "" ? "other" : last] += d
				if (!whole || q ~ /^BEGIN/)
					next
				if (end && intx) {
					len = ts - start
					intx = 0
					if (plain && len > lockmax)
						lockmax = len
				} else if (!intx && !end) {
					len = d
					what = q
				} else
					next
				if (len > maxtx) { maxtx = len; maxwhat = what }
			}
			END {
				split(maxwhat, w, " ")
				printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %s %s %s\n", server, by["count"],
				       by["detach"], by["drop"], by["batch"], by["verify"], by["other"], maxtx,
				       lockmax, w[1], w[2], w[3]
			}
		')
	L_TX_WHAT=${L_TX_WHAT%,}
}

# part_by_hand DROPS_ONLY: what no tool can beat, by hand in one psql
# (timed as the bulk DELETE is: the whole invocation): the expired
# partitions' DETACHes and DROPs in one transaction, then, unless
# DROPS_ONLY is "drops", one DELETE of the expired rows left in the
# partition holding the cutoff.  No count, no record, no policy check.
part_by_hand() {
	local parts p t0 t1
	parts=$(sql -c "SELECT string_agg(c.relname, ' ') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'pt'::regclass AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz <= now() - interval '90 days'")
	{
		echo 'BEGIN;'
		for p in $parts; do echo "ALTER TABLE pt DETACH PARTITION $p;"; done
		for p in $parts; do echo "DROP TABLE $p;"; done
		echo 'COMMIT;'
		[[ $1 == drops ]] || echo "DELETE FROM pt WHERE created_at < now() - interval '90 days';"
	} >"$WORK/by-hand.sql"
	t0=$(now_ns)
	psql_tcp -q -At -f "$WORK/by-hand.sql" >/dev/null
	t1=$(now_ns)
	R_US=$(((t1 - t0) / 1000))
	R_DROPPED=$(wc -w <<<"$parts") R_DROPPED_ROWS=0 R_BATCHES=1
	R_ROWS=$((PART_EXPIRED - $(sql -c "SELECT count(*) FROM pt WHERE created_at < now() - interval '90 days'")))
}

# part_round VARIANT: one measurement on a fresh copy, the writer running:
# bulk (one DELETE), age (age_delete, no DEFAULT partition), age-default,
# hand or drops (part_by_hand).
# Sets R_US, R_ROWS, R_DROPPED, R_DROPPED_ROWS, R_BATCHES, W_MAX_MS, W_N,
# the L_ figures of part_log_stats and, for age_delete, F_US: the same
# run again with nothing left to delete (the floor: process, connection,
# the host's records, catalog queries, the partition holding the cutoff
# walked, the policy check).
part_round() {
	local json t0 t1 mark
	part_copy "$([[ $1 == age-default ]] && echo default || echo none)"
	writer_start "$PART_WRITER"
	mark=$(log_mark)
	if [[ $1 == bulk ]]; then
		PGOPTIONS='-c log_min_duration_statement=0' \
			run_sql "DELETE FROM pt WHERE created_at < now() - interval '90 days'"
		R_DROPPED=0 R_DROPPED_ROWS=0 R_BATCHES=1
	elif [[ $1 == hand || $1 == drops ]]; then
		PGOPTIONS='-c log_min_duration_statement=0' part_by_hand "$1"
	else
		t0=$(now_ns)
		json=$(PGOPTIONS='-c log_min_duration_statement=0' \
			"$SWEEPD" --conf-dir "$CONF" --run age-part --json 2>>"$WORK/sweepd.log") ||
			die "sweepd --run age-part failed: $json"
		t1=$(now_ns)
		R_US=$(((t1 - t0) / 1000))
		read -r R_ROWS R_DROPPED R_DROPPED_ROWS R_BATCHES < <(jq -r \
			'[.counters.deleted, (.counters.partitions_dropped // 0),
			  (.message | (try capture("\\((?<n>[0-9]+) of them in").n catch "0")),
			  .batches] | @tsv' <<<"$json")
	fi
	part_log_stats "$mark"
	if [[ $1 == age* ]]; then
		t0=$(now_ns)
		json=$("$SWEEPD" --conf-dir "$CONF" --run age-part --json 2>>"$WORK/sweepd.log") ||
			die "sweepd --run age-part (again) failed: $json"
		t1=$(now_ns)
		F_US=$(((t1 - t0) / 1000))
		[[ $(jq -r .counters.deleted <<<"$json") == 0 ]] || die "case 8: the second run of $1 deleted rows: $json"
	fi
	writer_stop
	[[ $1 == drops ]] || ((R_ROWS == PART_EXPIRED)) || die "case 8: $1 deleted $R_ROWS rows, not $PART_EXPIRED"
}

part_case() {
	local round v
	declare -A times=() wmax=() dropped=() dropped_rows=() batches=() writes=()
	declare -A floor=() tx=() tx_what=() lock=() split=()
	say "case 8: partitioned table, $(thousands $PART_ROWS) rows, $(thousands $PART_EXPIRED) expired, $PART_ROUNDS round(s)"
	write_age_job age-part ''
	sed -i 's/^table = t$/table = pt/; s/^older_than = 30d$/older_than = 90d/' "$CONF/age-part.ini"
	part_source
	for ((round = 1; round <= PART_ROUNDS; round++)); do
		for v in bulk age age-default hand drops; do
			part_round "$v"
			times[$v]+="$R_US " wmax[$v]+="$W_MAX_MS " writes[$v]=$W_N
			dropped[$v]=$R_DROPPED batches[$v]=$R_BATCHES dropped_rows[$v]=$R_DROPPED_ROWS
			tx[$v]+="$L_TX " lock[$v]+="$L_LOCK "
			[[ $v != age* ]] || floor[$v]+="$F_US "
			# The last round's split of the run's time, in ms.
			tx_what[$v]=$L_TX_WHAT
			split[$v]="$(calc "$R_US / 1000" '%.0f') ms: counting the dropped partitions' rows $(calc "$L_COUNT" '%.0f'), DETACH $(calc "$L_DETACH" '%.0f'), LOCK and DROP of the detached $(calc "$L_DROP" '%.0f'), the batches $(calc "$L_BATCH" '%.0f'), the policy check (oldest row) $(calc "$L_VERIFY" '%.0f'), the host's records and catalog $(calc "$L_OTHER" '%.0f') ms in the server; outside it (process, connection, round trips) $(calc "$R_US / 1000 - $L_SERVER" '%.0f') ms"
			say "case 8 round $round: $v $(secs) s, writer's longest $W_MAX_MS ms, longest transaction $L_TX ms ($L_TX_WHAT)${F_US:+, again with nothing left $(calc "$F_US / 1000" '%.0f') ms}"
			F_US=
		done
	done
	local med_bulk med_age med_def med_hand med_drops
	median_us() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	list_s() { tr ' ' '\n' <<<"$1" | grep . | awk '{ printf "%s%.3f", (NR > 1 ? " / " : ""), $1 / 1e6 }'; }
	most() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -n1; }
	med_bulk=$(median_us "${times[bulk]}")
	med_age=$(median_us "${times[age]}")
	med_def=$(median_us "${times[age-default]}")
	med_hand=$(median_us "${times[hand]}")
	med_drops=$(median_us "${times[drops]}")
	row 8 "bulk \`DELETE\` of the $(thousands $PART_EXPIRED) expired rows of 13 monthly partitions ($(thousands $PART_ROWS) rows; baseline); its one transaction (server log); writer's longest wait" \
		"$(calc "$med_bulk / 1000" '%.0f') ms ($(list_s "${times[bulk]}") s); transaction $(most "${tx[bulk]}") ms; writer's longest statement $(most "${wmax[bulk]}") ms" "" "" ""
	row 8 "by hand, what no tool can beat (psql, timed as the bulk DELETE): the ${dropped[hand]} expired partitions' DETACHes and DROPs in one transaction, then one DELETE of the $(thousands $((PART_EXPIRED - dropped_rows[age]))) expired rows of the partition holding the cutoff; no count, no record" \
		"$(calc "$med_hand / 1000" '%.0f') ms ($(list_s "${times[hand]}") s)" "$(ratio "$med_bulk" "$med_hand")x faster than bulk: the ceiling for this data on this day of the month" "" ""
	row 8 "by hand, the DROPs alone (the issue's 13x; leaves the expired rows of the partition holding the cutoff)" \
		"$(calc "$med_drops / 1000" '%.0f') ms ($(list_s "${times[drops]}") s)" "$(ratio "$med_bulk" "$med_drops")x faster than bulk" "" ""
	for v in age age-default; do
		local med label
		med=$(median_us "${times[$v]}")
		if [[ $v == age ]]; then
			label="no DEFAULT partition (DETACH CONCURRENTLY)"
		else
			label="with a DEFAULT partition (plain DETACH, lock wait and hold <= 100 ms)"
		fi
		row 8 "age_delete, $label: ${dropped[$v]} partitions dropped ($(thousands "${dropped_rows[$v]}") rows), $(thousands $((PART_EXPIRED - dropped_rows[$v]))) rows in ${batches[$v]} batches in the partition holding the cutoff" \
			"$(calc "$med / 1000" '%.0f') ms ($(list_s "${times[$v]}") s)" "$(ratio "$med_bulk" "$med")x faster than bulk" ">= 10x" "$(verdict "$med_bulk / $med >= 10")"
		row 8 "age_delete, $v, against the by-hand ceiling above" "$(calc "$med / 1000" '%.0f') ms against $(calc "$med_hand / 1000" '%.0f') ms" "$(ratio "$med_hand" "$med")x the ceiling's speed" "" ""
		row 8 "age_delete, $v: where the last round's time went (server log of its session)" "${split[$v]}" "" "" ""
		row 8 "age_delete, $v, the same run again with nothing left to delete (the floor: process, connection, records, catalog, the young rows walked, the policy check)" \
			"$(calc "$(median_us "${floor[$v]}") / 1000" '%.0f') ms ($(list_s "${floor[$v]}") s)" "$(ratio "$med_bulk" "$(median_us "${floor[$v]}")")x faster than bulk: no run can beat it" "" ""
		row 8 "age_delete, $v: longest transaction of its session (server log; $(tr '[:upper:]' '[:lower:]' <<<"${tx_what[$v]}")...), against the bulk DELETE's" \
			"$(most "${tx[$v]}") ms" "$(ratio "$(most "${tx[$v]}")" "$(most "${tx[bulk]}")")x the bulk DELETE's ($(most "${tx[bulk]}") ms)" "" ""
		row 8 "longest statement of a concurrent writer (INSERT, then SELECT by id over every partition) during age_delete, $v ($(thousands "${writes[$v]}") statements in the last round), against $(most "${wmax[bulk]}") ms during the bulk DELETE" \
			"$(most "${wmax[$v]}") ms" "" "< 100 ms" "$(verdict "$(most "${wmax[$v]}") < 100")"
	done
	row 8 "age_delete, age-default: longest plain DETACH transaction (server log: the table's ACCESS EXCLUSIVE lock held, its readers and writers queued behind it)" \
		"$(most "${lock[age-default]}") ms" "" "<= 100 ms" "$(verdict "$(most "${lock[age-default]}") <= 100")"
}
part_case

# ---------------------------------------------------------------------------
fi

if want 9; then
# Case 9: fleets.  Daemons sharing the database each claim the ticks of an
# instant in one statement over the session they keep and start only the
# runs they won: a tick run should cost one new session (its run's),
# whatever the number of daemons, and three daemons should never run fewer
# ticks than one.  Each cell of the grid runs DAEMONS daemons on JOBS
# testjob jobs every second for FLEET_S s (fresh job names), measures over
# the ticks of that window the ticks run, duplicates (a tick whose plugin
# ran twice), missed ticks (never run: skipped, or not claimed) and the
# start lag (the plugin's first statement minus the tick), and over the daemons' whole life the new sessions the
# server counted (pg_stat_database.sessions, less the bench's own psql)
# and the CPU of sweepd (daemons and their reaped runs) and of the server
# (the postmaster and its reaped backends) per tick run.

# fleet_sql ARGS: sql, counted in fleet_psql (its sessions are the bench's).
fleet_psql=0
fleet_sql() {
	fleet_psql=$((fleet_psql + 1))
	sql "$@"
}

fleet_sessions() {
	fleet_sql -c 'SELECT sessions FROM pg_stat_database WHERE datname = current_database()'
}

# fleet_jobs DIR PREFIX N SCHEDULE: N testjob job files PREFIX-NNNN.
fleet_jobs() {
	local i name
	mkdir -p "$1"
	for ((i = 0; i < $3; i++)); do
		printf -v name '%s-%04d' "$2" "$i"
		printf '[job]\nname = %s\nplugin = %s\nschedule = %s\n\n[params]\nrecord = fleet_rec\njob = %s\n' \
			"$name" "$TESTJOB" "$4" "$name" >"$1/$name.ini"
	done
}

# fleet_start DIR TAG N: N daemons on DIR; their pids in fleet_pids, the
# server's CPU ticks and session count before them in fleet_before.
fleet_start() {
	local i pm
	pm=$(head -n1 "$SWEEPD_PG_DIR/data/postmaster.pid")
	fleet_psql=0
	read -r a b < <(cpu_ticks "$pm")
	fleet_before=("$(fleet_sessions)" "$((a + b))")
	fleet_pids=()
	for ((i = 0; i < $3; i++)); do
		start_daemon "$1" "$WORK/fleet-$2-$i.log"
		fleet_pids+=("$DAEMON_PID")
	done
}

# fleet_stop [SETTLE]: stops fleet_pids (with SETTLE, once their runs are
# gone, up to 10 s) and waits until their backends are gone; sets
# fleet_new (sessions opened meanwhile, the bench's own left out),
# fleet_cpu_sweepd and fleet_cpu_server (CPU seconds).
fleet_stop() {
	local pid a b t=0 pm i
	pm=$(head -n1 "$SWEEPD_PG_DIR/data/postmaster.pid")
	# After a burst, the runs are reaped first, so their CPU counts.
	for ((i = 0; i < 100 && ${1:-0} > 0; i++)); do
		pgrep -P "$(IFS=,; echo "${fleet_pids[*]}")" >/dev/null || break
		sleep 0.1
	done
	for pid in "${fleet_pids[@]}"; do
		read -r a b < <(cpu_ticks "$pid")
		t=$((t + a + b))
	done
	for pid in "${fleet_pids[@]}"; do
		stop_daemon "$pid"
	done
	for ((i = 0; i < 300; i++)); do
		(($(fleet_sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sweepd%'") == 0)) && break
		sleep 0.1
	done
	read -r a b < <(cpu_ticks "$pm")
	fleet_cpu_server=$(calc "($a + $b - ${fleet_before[1]}) / $hz" '%.2f')
	fleet_cpu_sweepd=$(calc "$t / $hz" '%.2f')
	local n=$fleet_psql s
	s=$(fleet_sessions)
	fleet_new=$((s - fleet_before[0] - n))
}

# fleet_cell DAEMONS JOBS: one cell of the grid (see above).
fleet_cell() {
	local nd=$1 nj=$2 tag=$1x$2 t0 t1 runs ran distinct dup lag50 lag99 now
	fleet_jobs "$WORK/fleet-$tag" "f$tag" "$nj" '* * * * * *'
	fleet_start "$WORK/fleet-$tag" "$tag" "$nd"
	# The window: whole seconds from 2 s after the last daemon started.
	t0=$(($(date +%s) + 2))
	t1=$((t0 + FLEET_S - 1))
	now=$(date +%s.%N)
	pause "$(calc "$t1 + 1.5 - $now" '%.3f')"
	fleet_stop
	runs=$(sql -c "SELECT count(*) FROM sweepd.runs WHERE job LIKE 'f$tag-%' AND status = 'ok'")
	read -r ran distinct dup lag50 lag99 < <(sql -F ' ' <<-SQL
		WITH d AS (
		    SELECT f.job, r.t, extract(epoch FROM f.at - r.t) * 1000 AS ms
		    FROM fleet_rec f CROSS JOIN LATERAL (
		        SELECT max(scheduled_at) AS t FROM sweepd.runs r
		        WHERE r.job = f.job AND r.backend_pid = f.pid
		          AND r.scheduled_at <= f.at AND r.scheduled_at IS NOT NULL
		          AND r.status NOT IN ('abandoned', 'released')) r
		    WHERE f.job LIKE 'f$tag-%'
		      AND r.t BETWEEN to_timestamp($t0) AND to_timestamp($t1))
		SELECT count(*), count(DISTINCT (job, t)), count(*) - count(DISTINCT (job, t)),
		       coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0),
		       coalesce(round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0)
		FROM d
	SQL
	)
	local due=$((nj * FLEET_S)) per_s per_cpu
	per_s=$(calc "$fleet_new / ($runs > 0 ? $runs : 1)" '%.2f')
	per_cpu=$(calc "($fleet_cpu_sweepd + $fleet_cpu_server) * 1000 / ($runs > 0 ? $runs : 1)" '%.1f')
	fleet_ran[$tag]=$distinct
	row 9 "$nd daemon(s) x $nj every-second jobs, $FLEET_S s: ticks run / due, duplicates, missed; start lag" \
		"$distinct / $due, $dup dup, $((due - distinct)) missed; lag p50 $lag50 ms, p99 $lag99 ms" \
		"$per_s sessions and $per_cpu CPU-ms per tick run ($fleet_new sessions, $runs runs; CPU $fleet_cpu_sweepd s sweepd + $fleet_cpu_server s server)" \
		"0 dup; <= 1.1 sessions/tick" "$(verdict "$dup == 0 && $per_s <= 1.1")"
}

# fleet_burst DAEMONS: FLEET_BURST jobs due at the same instant (a second
# of the minute about 15 s ahead), on DAEMONS daemons: the time until the
# last one started.
fleet_burst() {
	local nd=$1 tag=burst$1 tick s ran dup first p50 last runs now
	tick=$(($(date +%s) + 15))
	s=$((tick % 60))
	fleet_jobs "$WORK/fleet-$tag" "$tag" "$FLEET_BURST" "$s * * * * *"
	fleet_start "$WORK/fleet-$tag" "$tag" "$nd"
	now=$(date +%s.%N)
	pause "$(calc "$tick - $now" '%.3f')"
	local i
	for ((i = 0; i < 450; i++)); do
		(($(fleet_sql -c "SELECT count(*) FROM fleet_rec WHERE job LIKE '$tag-%'") >= FLEET_BURST)) && break
		sleep 0.1
	done
	fleet_stop 1
	runs=$(sql -c "SELECT count(*) FROM sweepd.runs WHERE job LIKE '$tag-%' AND status = 'ok'")
	read -r ran dup first p50 last < <(sql -F ' ' <<-SQL
		WITH d AS (SELECT job, extract(epoch FROM at - to_timestamp($tick)) * 1000 AS ms
		           FROM fleet_rec WHERE job LIKE '$tag-%')
		SELECT count(DISTINCT job), count(*) - count(DISTINCT job),
		       coalesce(round(min(ms)::numeric), 0),
		       coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric), 0),
		       coalesce(round(max(ms)::numeric), 0)
		FROM d
	SQL
	)
	row 9 "burst: $(thousands "$FLEET_BURST") jobs due at the same instant, $nd daemon(s): time until the last started" \
		"$last ms (first $first ms, p50 $p50 ms); $ran / $FLEET_BURST ran, $dup dup" \
		"$(calc "$fleet_new / ($runs > 0 ? $runs : 1)" '%.2f') sessions per run; CPU $fleet_cpu_sweepd s sweepd + $fleet_cpu_server s server" \
		"all ran, 0 dup" "$(verdict "$ran == $FLEET_BURST && $dup == 0")"
}

fleet_case() {
	local nd nj
	declare -gA fleet_ran=()
	hz=$(getconf CLK_TCK)
	say "case F: fleets, ${FLEET_DAEMONS[*]} daemon(s) x ${FLEET_JOBS[*]} jobs, $FLEET_S s each; burst of $FLEET_BURST"
	# pid: the run's session, as its history row has it (backend_pid),
	# which ties each start to its tick however late it came.
	sql -c 'CREATE TABLE IF NOT EXISTS fleet_rec (job text, at timestamptz, pid int DEFAULT pg_backend_pid())'
	for nj in "${FLEET_JOBS[@]}"; do
		for nd in "${FLEET_DAEMONS[@]}"; do
			fleet_cell "$nd" "$nj"
		done
		row 9 "$nj jobs: 3 daemons ran at least as many ticks as 1" \
			"${fleet_ran[3x$nj]} vs ${fleet_ran[1x$nj]}" "" ">=" \
			"$(verdict "${fleet_ran[3x$nj]} >= ${fleet_ran[1x$nj]}")"
	done
	for nd in "${FLEET_DAEMONS[@]}"; do
		fleet_burst "$nd"
	done
}
fleet_case
fi

# ---------------------------------------------------------------------------
# Case 10: the audit store (issue 13, point 4).  sweepd.audit is
# partitioned by day; AUDIT_DAYS days of AUDIT_PER_DAY records each, all
# older than 31 days (so wholly before audit_keep = 30d's cutoff), and a
# day of young ones.  Pruning them: the daemon with --audit-keep 30d,
# which DETACHes and DROPs each day (timed from its start to its "audit
# records pruned" line, connecting and migrating included), against one
# DELETE of the same records; each with a writer inserting audit records
# one per transaction meanwhile, whose longest statement is the wait a
# prune imposes on audited deletes.
if want 10; then
	readonly AUDIT_DAYS=30
	readonly AUDIT_WRITER="INSERT INTO sweepd.audit (job, action, table_name, data) VALUES ('writer', 'deleted', 't', '{}');"
	if $quick; then readonly AUDIT_PER_DAY=10000; else readonly AUDIT_PER_DAY=50000; fi

	# audit_fill: the records, in their days' partitions, checkpointed.
	audit_fill() {
		sql <<-EOF
			TRUNCATE sweepd.audit;
			SELECT sweepd.audit_partitions(d - $((AUDIT_DAYS + 32)), d) FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS d) x;
			INSERT INTO sweepd.audit (job, action, table_name, data, at)
			SELECT 'bench', 'deleted', 't', jsonb_build_object('id', g, 'user_id', g),
			       (((now() AT TIME ZONE 'UTC')::date - 32 - (g % $AUDIT_DAYS))::timestamp
			        + (g / $AUDIT_DAYS) * (interval '1 day' / $AUDIT_PER_DAY)) AT TIME ZONE 'UTC'
			FROM generate_series(0, $((AUDIT_DAYS * AUDIT_PER_DAY - 1))) g;
			INSERT INTO sweepd.audit (job, action, table_name, data)
			SELECT 'young', 'deleted', 't', jsonb_build_object('id', g) FROM generate_series(1, $AUDIT_PER_DAY) g;
			VACUUM ANALYZE sweepd.audit;
			CHECKPOINT;
		EOF
	}

	# prune_daemon FLAG EVENT: the daemon with FLAG 30d (--audit-keep or
	# --history-keep) until it logs EVENT; P_MS: from its start, P_LOG: its
	# log.
	prune_daemon() {
		local t0 t1 i
		P_LOG=$WORK/prune-daemon.log
		mkdir -p "$WORK/audit-conf"
		t0=$(now_ns)
		"$SWEEPD" --conf-dir "$WORK/audit-conf" "$1" 30d --log-level debug 2>"$P_LOG" &
		DAEMON_PID=$!
		daemon_pids+=("$DAEMON_PID")
		for ((i = 0; i < 3000; i++)); do
			grep -q "$2" "$P_LOG" && break
			kill -0 "$DAEMON_PID" 2>/dev/null || die "sweepd $1 exited: $(cat "$P_LOG")"
			sleep 0.01
		done
		t1=$(now_ns)
		stop_daemon "$DAEMON_PID"
		P_MS=$(((t1 - t0) / 1000000))
	}

	audit_case() {
		local old=$((AUDIT_DAYS * AUDIT_PER_DAY)) left days prune_ms
		local del_ms drop_ms del_w drop_w
		say "case 10: the audit store, $AUDIT_DAYS days of $(thousands $AUDIT_PER_DAY) records"
		audit_fill
		writer_start "$AUDIT_WRITER"
		run_sql "DELETE FROM sweepd.audit WHERE at < now() - interval '30 days'"
		writer_stop
		((R_ROWS == old)) || die "case 10: the DELETE removed $R_ROWS records, not $old"
		del_ms=$(calc "$R_US / 1000" '%.0f') del_w=$W_MAX_MS

		audit_fill
		writer_start "$AUDIT_WRITER"
		prune_daemon --audit-keep 'audit records pruned'
		writer_stop
		drop_ms=$P_MS drop_w=$W_MAX_MS
		days=$(sed -n 's/.*audit records pruned.*days_dropped=\([0-9]*\).*/\1/p' "$P_LOG" | head -n1)
		prune_ms=$(sed -n 's/.*audit records pruned.* ms=\([0-9]*\).*/\1/p' "$P_LOG" | head -n1)
		((prune_ms > 0)) || prune_ms=1
		left=$(sql -c "SELECT count(*) FROM sweepd.audit WHERE job = 'bench'")
		((left == 0)) || die "case 10: $left old records left after the prune: $(cat "$P_LOG")"
		[[ $(sql -c "SELECT count(*) FROM sweepd.audit WHERE job = 'young'") == "$AUDIT_PER_DAY" ]] ||
			die "case 10: young records went"

		row 10 "one \`DELETE\` of $(thousands $old) audit records older than 30 days ($AUDIT_DAYS days; baseline)" \
			"$del_ms ms; concurrent writer's longest INSERT $del_w ms" "" "" ""
		row 10 "audit_keep = 30d: $days days dropped whole (DETACH, lock wait <= 100 ms, then DROP), as the daemon timed it ($drop_ms ms from its start)" \
			"$prune_ms ms" "$(ratio "$del_ms" "$prune_ms")x faster than the DELETE" ">= 10x" "$(verdict "$del_ms / $prune_ms >= 10")"
		row 10 "longest INSERT of a concurrent audit writer during the audit_keep prune ($(thousands "$W_N") statements)" \
			"$drop_w ms" "" "< 100 ms" "$(verdict "$drop_w < 100")"
	}
	audit_case

	# history_fill: AUDIT_DAYS days of AUDIT_PER_DAY finished runs older
	# than 31 days, in their days' partitions, and a day of young ones;
	# empty pruned totals, and empty bench_pruned_* tables for the
	# row-by-row prune of before schema 7.
	history_fill() {
		sql <<-EOF
			TRUNCATE sweepd.runs, sweepd.pruned_runs, sweepd.pruned_rows;
			DROP TABLE IF EXISTS bench_pruned_runs, bench_pruned_rows;
			CREATE TABLE bench_pruned_runs (job text, status text, runs bigint NOT NULL, PRIMARY KEY (job, status));
			CREATE TABLE bench_pruned_rows (job text, counter text, total numeric NOT NULL, PRIMARY KEY (job, counter));
			SELECT sweepd.day_partitions('runs', d - $((AUDIT_DAYS + 32)), d) FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS d) x;
			INSERT INTO sweepd.runs (job, host, pid, kind, status, at, started_at, finished_at, counters)
			SELECT 'bench-' || (g % 10), 'bench', 1, 'run', 'ok', t, t, t + interval '1 s', jsonb_build_object('deleted', g % 100)
			FROM (SELECT g, (((now() AT TIME ZONE 'UTC')::date - 32 - (g % $AUDIT_DAYS))::timestamp
			             + (g / $AUDIT_DAYS) * (interval '1 day' / $AUDIT_PER_DAY)) AT TIME ZONE 'UTC' AS t
			      FROM generate_series(0, $((AUDIT_DAYS * AUDIT_PER_DAY - 1))) g) x;
			INSERT INTO sweepd.runs (job, host, pid, kind, status, at, started_at, finished_at)
			SELECT 'young', 'bench', 1, 'run', 'ok', t, t, t + interval '1 s'
			FROM (SELECT now() - g * interval '1 s' AS t FROM generate_series(1, $AUDIT_PER_DAY) g) x;
			VACUUM ANALYZE sweepd.runs;
			CHECKPOINT;
		EOF
	}

	# The history as sweepd pruned it before schema 7 (db_prune at commit
	# 57def38): statements of 5,000 rows, each its own transaction, each
	# adding its rows' totals to the pruned tables (here bench_pruned_*).
	readonly HISTORY_ROWS_SQL="WITH gone AS (DELETE FROM sweepd.runs WHERE id IN (SELECT id FROM sweepd.runs WHERE started_at < now() - interval '30 days' AND finished_at < now() - interval '30 days' LIMIT 5000) RETURNING job, status, counters), r AS (INSERT INTO bench_pruned_runs SELECT job, status, count(*) FROM gone GROUP BY 1, 2 ON CONFLICT (job, status) DO UPDATE SET runs = bench_pruned_runs.runs + excluded.runs), w AS (INSERT INTO bench_pruned_rows SELECT g.job, e.key, sum(e.value::numeric) FROM gone g, jsonb_each(g.counters) e WHERE jsonb_typeof(e.value) = 'number' GROUP BY 1, 2 ON CONFLICT (job, counter) DO UPDATE SET total = bench_pruned_rows.total + excluded.total) SELECT count(*) FROM gone;"
	readonly HISTORY_WRITER="INSERT INTO sweepd.runs (job, host, pid, kind) VALUES ('writer', 'bench', 1, 'run'); SELECT max(started_at) FROM sweepd.runs WHERE job = 'writer';"

	# history_case: history_keep = 30d dropping whole days against the
	# row-deleting prune, each with a writer and reader of the history.
	history_case() {
		local old=$((AUDIT_DAYS * AUDIT_PER_DAY)) t0 t1 i left days prune_ms
		local del_ms del_w drop_ms drop_w totals
		say "case 10: the run history, $AUDIT_DAYS days of $(thousands $AUDIT_PER_DAY) runs"
		history_fill
		for ((i = 0; i <= old / 5000; i++)); do
			echo "$HISTORY_ROWS_SQL"
		done >"$WORK/history-rows.sql"
		writer_start "$HISTORY_WRITER"
		t0=$(now_ns)
		psql_tcp -q -At -f "$WORK/history-rows.sql" >/dev/null
		t1=$(now_ns)
		writer_stop
		del_ms=$(((t1 - t0) / 1000000)) del_w=$W_MAX_MS
		totals=$(sql -c "SELECT sum(runs) FROM bench_pruned_runs")
		((totals == old)) || die "case 10: the row prune removed $totals runs, not $old"

		history_fill
		writer_start "$HISTORY_WRITER"
		prune_daemon --history-keep 'history pruned'
		writer_stop
		drop_ms=$P_MS drop_w=$W_MAX_MS
		days=$(sed -n 's/.*history pruned.*days_dropped=\([0-9]*\).*/\1/p' "$P_LOG" | head -n1)
		prune_ms=$(sed -n 's/.*history pruned.* ms=\([0-9]*\).*/\1/p' "$P_LOG" | head -n1)
		((prune_ms > 0)) || prune_ms=1
		left=$(sql -c "SELECT count(*) FROM sweepd.runs WHERE job LIKE 'bench-%'")
		((left == 0)) || die "case 10: $left old runs left after the prune: $(cat "$P_LOG")"
		[[ $(sql -c "SELECT count(*) FROM sweepd.runs WHERE job = 'young'") == "$AUDIT_PER_DAY" ]] ||
			die "case 10: young runs went"
		totals=$(sql -c "SELECT sum(runs) FROM sweepd.pruned_runs")
		((totals == old)) || die "case 10: history_keep totalled $totals runs, not $old"

		row 10 "the history pruned row by row, as before schema 7: $(thousands $old) runs older than 30 days in statements of 5,000 (baseline)" \
			"$del_ms ms; a concurrent writer's (INSERT, SELECT) longest statement $del_w ms" "" "" ""
		row 10 "history_keep = 30d: $days days dropped whole (each locked SHARE, checked ended, totalled, DETACHed and DROPped; lock waits <= 100 ms), as the daemon timed it ($drop_ms ms from its start)" \
			"$prune_ms ms" "$(ratio "$del_ms" "$prune_ms")x faster than row by row" "" ""
		row 10 "longest statement of a concurrent history writer during the history_keep prune ($(thousands "$W_N") statements)" \
			"$drop_w ms" "" "< 100 ms" "$(verdict "$drop_w < 100")"
	}
	history_case
fi

# The result

cat <<EOF

sweepd benchmark ($MODE mode), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)
machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, PostgreSQL $pg_version (fsync off, synchronous_commit off, shared_buffers $(sql -c 'SHOW shared_buffers'))
cases $cases$(want 1 && echo "; rows of the throughput tables: $(thousands "$ROWS"), half older than the 30-day cutoff"); the bench took $((SECONDS / 60)) min $((SECONDS % 60)) s
load average (1, 5, 15 min) after the build: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)

| case | measurement | value | ratio | target | |
|---|---|---|---|---|---|
EOF
printf '%s\n' "${table[@]}"
missed=0
for line in "${table[@]}"; do
	if [[ $line == *"| MISSED |" ]]; then
		missed=$((missed + 1))
	fi
done
echo
echo "$missed target(s) missed"
