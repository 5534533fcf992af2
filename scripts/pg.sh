#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and the demo.
#
#   scripts/pg.sh start|stop|crash|env|status [--dir DIR]
#
#   start   create the cluster if needed, start it, create database "sweepd",
#           print its DSN on stdout; on a running cluster only print the DSN
#   stop    fast shutdown; not running is not an error
#   crash   immediate shutdown, as a crash of the server would end it (no
#           checkpoint; clients cut off; recovery at the next start)
#   env     print `export` lines for libpq: eval "$(scripts/pg.sh env)"
#   status  say whether it runs; exit 0 when running, 3 when not
#
# DIR (default: build/pg under the repository, or $SWEEPD_PG_DIR) holds
#   data/   the cluster            log    the server log
#   port    the TCP port in use    and the server's Unix socket
# The server listens on 127.0.0.1 on a free port from 54320 up, and on a
# Unix socket in DIR (TCP only when DIR's path is too long for a socket).
# Authentication is trust; the superuser role is "postgres".  Durability is
# switched off: this cluster is disposable.
#
# PostgreSQL refuses to run as root, so under root the server runs as the
# owner of an existing cluster, else as the "postgres" system user, else as
# "sweepd-pg" (created on first use).  If that user cannot reach DIR (a
# checkout under /root, say), the cluster is made under /tmp and DIR becomes
# a symbolic link to it.
set -euo pipefail

readonly PGBIN=/usr/lib/postgresql/15/bin
readonly DB=sweepd
readonly ROLE=postgres
readonly FIRST_PORT=54320
readonly LAST_PORT=54419
# Unix socket paths are limited to 107 bytes; "/.s.PGSQL.NNNNN" takes 15.
readonly MAX_SOCKET_DIR=92

usage() {
	echo "usage: $0 start|stop|crash|env|status [--dir DIR]" >&2
	exit 2
}

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

(($# >= 1)) || usage
cmd=$1
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=${SWEEPD_PG_DIR:-$root/build/pg}
while (($# > 0)); do
	case $1 in
	--dir)
		(($# >= 2)) || usage
		dir=$2
		shift 2
		;;
	*) usage ;;
	esac
done
case $cmd in
start | stop | crash | env | status) ;;
*) usage ;;
esac

[[ -x $PGBIN/pg_ctl ]] || die "$PGBIN/pg_ctl not found; run scripts/deps.sh"
if [[ $cmd == start ]]; then
	# A link left by relocate() (below) whose target is gone: start afresh.
	if [[ -L $dir && ! -e $dir ]]; then
		rm "$dir"
	fi
	mkdir -p "$dir"
fi

# Sets the paths inside DIR, DIR itself made absolute with links resolved.
set_paths() {
	if [[ -d $dir ]]; then
		dir=$(cd "$dir" && pwd -P)
	fi
	data=$dir/data
	log=$dir/log
	port_file=$dir/port
	# The socket lives in DIR itself unless its path would be too long, in
	# which case the server listens on TCP only.
	if ((${#dir} <= MAX_SOCKET_DIR)); then
		socket_dir=$dir
	else
		socket_dir=
	fi
}
set_paths

# The user the server runs as.
if ((EUID != 0)); then
	server_user=$(id -un)
elif [[ -d $data ]]; then
	server_user=$(stat -c %U "$data")
elif id postgres >/dev/null 2>&1; then
	server_user=postgres
else
	server_user=sweepd-pg # created by init_cluster
fi

# Runs a PostgreSQL server program as server_user, from inside DIR so that
# it never stumbles on a current directory it cannot read.
as_server() {
	if ((EUID == 0)); then
		(cd "$dir" && runuser -u "$server_user" -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

running() {
	[[ -f $data/PG_VERSION ]] && as_server "$PGBIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

port() {
	[[ -f $port_file ]] || die "no port recorded in $port_file"
	cat "$port_file"
}

dsn() {
	local p
	p=$(port)
	echo "postgresql://$ROLE@127.0.0.1:$p/$DB"
}

# True when nothing accepts connections on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local p
	# Keep the port of the previous start when it is still free, so that a
	# DSN someone copied keeps working.
	if [[ -f $port_file ]] && port_free "$(cat "$port_file")"; then
		cat "$port_file"
		return
	fi
	for ((p = FIRST_PORT; p <= LAST_PORT; p++)); do
		if port_free "$p"; then
			echo "$p"
			return
		fi
	done
	die "no free port in $FIRST_PORT..$LAST_PORT"
}

# Moves a new cluster out of a DIR the server user cannot reach (see the top
# of this file) into a directory under /tmp, and links DIR to it.  DIR must
# hold nothing but files of this script.
relocate() {
	local target
	rm -f "$log" "$port_file"
	rmdir "$dir" 2>/dev/null ||
		die "user $server_user cannot write $dir, which is not empty; use --dir or SWEEPD_PG_DIR"
	target=$(mktemp -d "${TMPDIR:-/tmp}/sweepd-pg.XXXXXX")
	chown "$server_user:" "$target"
	ln -s "$target" "$dir"
	echo "pg.sh: $server_user cannot reach $dir; the cluster goes to $target" >&2
	set_paths
}

init_cluster() {
	if ((EUID == 0)); then
		if ! id "$server_user" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$server_user"
		fi
		chown "$server_user:" "$dir"
		if ! runuser -u "$server_user" -- test -w "$dir"; then
			relocate
		fi
	fi
	# Others need to reach the socket in DIR.
	chmod 755 "$dir"
	# The log starts with initdb's output; the server appends to it.
	: >"$log"
	if ((EUID == 0)); then
		chown "$server_user:" "$log"
	fi
	# The socket directory as a quoted configuration value: ' doubled.
	local socket_conf=${socket_dir//"'"/"''"}
	echo "pg.sh: initialising $data as $server_user" >&2
	as_server "$PGBIN/initdb" -D "$data" -U "$ROLE" -A trust -E UTF8 \
		--locale=C --no-sync --no-instructions >>"$log" 2>&1 ||
		die "initdb failed; see $log"
	cat >>"$data/postgresql.conf" <<-EOF

		# scripts/pg.sh: a throwaway test cluster (port comes from pg_ctl -o)
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$socket_conf'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		# Room for 200 runs due at the same instant, each on its own
		# session (scripts/bench.sh, case 7), and the daemon's own.
		max_connections = 300
	EOF
}

start() {
	local p
	if running; then
		echo "pg.sh: PostgreSQL already running in $data" >&2
		dsn
		return
	fi
	[[ -f $data/PG_VERSION ]] || init_cluster
	p=$(pick_port)
	if ! as_server "$PGBIN/pg_ctl" start -w -D "$data" -l "$log" -o "-p $p" >/dev/null; then
		tail -n 5 "$log" >&2 || true
		die "PostgreSQL did not start on port $p; see $log"
	fi
	echo "$p" >"$port_file"
	if [[ -z $("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$p" -U "$ROLE" -d postgres \
		-c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
		"$PGBIN/createdb" -h 127.0.0.1 -p "$p" -U "$ROLE" "$DB"
	fi
	echo "pg.sh: PostgreSQL running on 127.0.0.1:$p${socket_dir:+ and in $socket_dir}, log $log" >&2
	dsn
}

stop() {
	if running; then
		as_server "$PGBIN/pg_ctl" stop -w -m fast -D "$data" >/dev/null
		echo "pg.sh: stopped PostgreSQL in $data" >&2
	else
		echo "pg.sh: PostgreSQL in $data is not running" >&2
	fi
}

crash() {
	running || die "PostgreSQL in $data is not running"
	as_server "$PGBIN/pg_ctl" stop -w -m immediate -D "$data" >/dev/null
	echo "pg.sh: crashed PostgreSQL in $data (immediate shutdown)" >&2
}

print_env() {
	local p url
	running || die "PostgreSQL in $data is not running; run: $0 start"
	p=$(port)
	url=$(dsn)
	printf 'export PGHOST=%q\n' "${socket_dir:-127.0.0.1}"
	printf 'export PGPORT=%q\n' "$p"
	printf 'export PGUSER=%q\n' "$ROLE"
	printf 'export PGDATABASE=%q\n' "$DB"
	printf 'export DATABASE_URL=%q\n' "$url"
}

status() {
	local url
	if running; then
		url=$(dsn)
		echo "running: $url (data $data, log $log)"
	else
		echo "not running (data $data)"
		exit 3
	fi
}

case $cmd in
start) start ;;
stop) stop ;;
crash) crash ;;
env) print_env ;;
status) status ;;
esac
