#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests.
#
#   scripts/pg-cluster.sh start DIR   # DIR: an existing (empty) temp directory made by the caller
#   scripts/pg-cluster.sh stop DIR    # the caller removes DIR afterwards
#
# start initialises DIR/data (trust auth, user postgres, UTF8, locale C, no fsync), starts the server
# on a free port listening on 127.0.0.1 only (Unix socket in DIR), creates the database
# modelport_test, writes its URL to DIR/url and prints it as the last line of stdout. The server log
# is DIR/log. stop shuts the cluster down at once (-m immediate); a cluster that is not running, or a
# DIR that does not exist, is not an error.
#
# Exit status: 0 ok, 1 failure (the server log tail is on stderr), 2 usage, 3 PostgreSQL not
# installed. As root the server runs as the postgres user (initdb refuses root); otherwise as the
# current user.
set -euo pipefail

PG_MAJOR=15
DB=modelport_test

die() { echo "pg-cluster: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

# Client and server settings of the caller must not leak in (PGPORT, PGDATA, PGHOST, ...).
for v in $(compgen -e); do [[ $v != PG* ]] || unset "$v"; done
export LC_ALL=C

find_bindir() {
    local initdb=""
    if [[ -x /usr/lib/postgresql/$PG_MAJOR/bin/initdb ]]; then
        initdb=/usr/lib/postgresql/$PG_MAJOR/bin/initdb
    elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]]; then
        initdb="$(pg_config --bindir)/initdb"
    elif command -v initdb >/dev/null 2>&1; then
        initdb=$(command -v initdb)
    fi
    if [[ -z $initdb ]]; then
        echo "pg-cluster: PostgreSQL's initdb was not found (looked in /usr/lib/postgresql/$PG_MAJOR/bin," \
            "pg_config --bindir and PATH); install the Debian package postgresql-$PG_MAJOR" \
            "(or postgresql): apt-get install -y --no-install-recommends postgresql-$PG_MAJOR" >&2
        exit 3
    fi
    # A symlink on PATH (say /usr/local/bin/initdb) may have no pg_ctl or createdb beside it: use the
    # directory of the real file.
    bindir=$(dirname "$(readlink -f "$initdb")")
    local tool
    for tool in pg_ctl postgres createdb; do
        [[ -x $bindir/$tool ]] || { echo "pg-cluster: $bindir/$tool is missing (package postgresql-$PG_MAJOR)" >&2; exit 3; }
    done
    local version
    version=$("$bindir/initdb" --version 2>/dev/null || true)
    [[ $version =~ \ $PG_MAJOR(\.|$) ]] ||
        echo "pg-cluster: warning: expected PostgreSQL $PG_MAJOR, found '$version' in $bindir" >&2
}

# Run a PostgreSQL server program as the cluster's owner, from inside DIR (the caller's working
# directory may be unreadable to postgres).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

free_port() {
    local port
    if port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [[ $port =~ ^[0-9]+$ ]]; then
        echo "$port"
        return
    fi
    # No python3: probe random ports until one refuses a connection.
    local i
    for i in $(seq 1 100); do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "found no free TCP port on 127.0.0.1"
}

# Says what failed, shows the end of the logs, stops a server that may have come up, exits 1.
start_failed() {
    echo "pg-cluster: start failed: $*" >&2
    local log
    for log in "$dir/initdb.log" "$dir/log"; do
        # initdb's output only when initdb failed (it removes the data directory then)
        [[ $log == */log || ! -f $dir/data/PG_VERSION ]] || continue
        if [[ -s $log ]]; then
            echo "--- $log (last 30 lines) ---" >&2
            tail -n 30 "$log" >&2
        fi
    done
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    exit 1
}

start() {
    [[ -d $dir ]] || die "$dir is not a directory (the caller makes it)"
    [[ ! -e $dir/data ]] || die "$dir/data already exists"
    find_bindir
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run the server as (package postgresql-$PG_MAJOR creates it)"
        chown postgres: "$dir"
        runuser -u postgres -- test -w "$dir" ||
            die "the postgres user cannot write to $dir (is a parent directory closed to it? use a directory under /tmp)"
    fi
    # A Unix socket path (DIR/.s.PGSQL.PORT) is limited to 107 bytes.
    local sockdir=$dir
    if (( ${#dir} + 16 > 107 )); then
        echo "pg-cluster: $dir is too long for a Unix socket path; TCP only" >&2
        sockdir=""
    fi

    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || start_failed "initdb"
    # The settings go in postgresql.conf rather than on pg_ctl's command line, which goes through a
    # shell (DIR may hold spaces). The port alone changes between attempts.
    cat >>"$dir/data/postgresql.conf" <<EOF

# pg-cluster.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sockdir//\'/\'\'}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
EOF

    # Another process may take the port between free_port and the server's bind: try again.
    local port attempt seen
    for attempt in 1 2 3; do
        port=$(free_port)
        seen=0
        if [[ -f $dir/log ]]; then seen=$(wc -l <"$dir/log"); fi
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -o "-c port=$port" -w -t 30 -l "$dir/log" start >&2; then
            break
        fi
        if (( attempt < 3 )) && [[ $(tail -n +$((seen + 1)) "$dir/log") == *"could not bind"* ]] &&
            ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
            echo "pg-cluster: port $port was taken, trying another" >&2
            continue
        fi
        start_failed "pg_ctl start (port $port)"
    done

    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB" >&2 || start_failed "createdb $DB"
    local url="postgres://postgres@127.0.0.1:$port/$DB"
    echo "$url" >"$dir/url"
    echo "$url"
}

stop() {
    [[ -f $dir/data/postmaster.pid ]] || exit 0 # never started, or already stopped
    find_bindir
    local rc=0
    as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || exit 0 # 3: not running (a stale pid file), 4: no data directory
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >&2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
if [[ -d $dir ]]; then dir=$(cd "$dir" && pwd -P); fi
case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
