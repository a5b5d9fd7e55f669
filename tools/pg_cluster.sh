#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests and benchmarks (never for production data).
#   tools/pg_cluster.sh start STATE_DIR [--durable] [--port N]
#   tools/pg_cluster.sh stop|start-again|halt STATE_DIR
#   tools/pg_cluster.sh url STATE_DIR
# start: initdb into a new temporary directory, pg_ctl start on 127.0.0.1 (a free port, or N) with
# the unix socket in that directory, createdb simkyc; writes STATE_DIR/url (postgresql://...) and
# STATE_DIR/cluster (the cluster's directory) and prints the URL.  Without --durable, fsync is off
# (fast; a crash of the machine loses the cluster, which is thrown away anyway).
# halt: pg_ctl stop, keeping the data (the database is then unreachable); start-again: start it on
# the same port.  stop: halt and delete everything.
# As root, initdb refuses to run: the cluster then runs as the unprivileged user `nobody`
# (override with SIMKYC_PG_USER).  The binaries come from /usr/lib/postgresql/<newest>/bin
# (Debian's postgresql-15), or SIMKYC_PG_BIN.
set -euo pipefail
say() { printf '[pg_cluster] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

cmd=${1:-}; state=${2:-}
[ "$cmd" = "-h" ] || [ "$cmd" = "--help" ] && { sed -n 2,15p "$0"; exit 0; }
[ -n "$cmd" ] && [ -n "$state" ] || { sed -n 2,6p "$0" >&2; exit 2; }
shift 2
durable=0; port=""
while [ $# -gt 0 ]; do
  case "$1" in
    --durable) durable=1; shift ;;
    --port) port=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

bin=${SIMKYC_PG_BIN:-}
if [ -z "$bin" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
[ -x "$bin/initdb" ] || die "no PostgreSQL server binaries (want initdb in /usr/lib/postgresql/15/bin): run scripts/setup.sh (Debian package postgresql-15)"

# Runs a command as the cluster's owner: ourselves, or `nobody` when we are root.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  local user=${SIMKYC_PG_USER:-nobody}
  if command -v setpriv >/dev/null 2>&1; then
    local uid gid
    uid=$(id -u "$user"); gid=$(id -g "$user")
    # HOME: nobody's does not exist; PostgreSQL does not need it, but keep tools quiet.
    env HOME=/tmp setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
  else
    runuser -u "$user" -- "$@"
  fi
}
owner() { if [ "$(id -u)" -eq 0 ]; then echo "${SIMKYC_PG_USER:-nobody}"; else id -un; fi; }

pg_start() {   # dir port
  local dir=$1 p=$2
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -s \
    -o "-c listen_addresses=127.0.0.1 -c port=$p -c unix_socket_directories=$dir/sock" start
}

case "$cmd" in
  start)
    mkdir -p "$state"
    if [ -f "$state/cluster" ] && [ -d "$(cat "$state/cluster")" ]; then
      die "$state already holds a cluster ($(cat "$state/cluster")): stop it first"
    fi
    dir=$(mktemp -d /tmp/simkyc-pg.XXXXXX)
    chmod 0755 "$dir"
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" -eq 0 ] && chown -R "$(owner)": "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U simkyc -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    {
      echo "max_connections = 300"
      echo "shared_buffers = 64MB"
      [ "$durable" -eq 1 ] || echo "fsync = off"
      [ "$durable" -eq 1 ] || echo "full_page_writes = off"
    } | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    ok=0
    for attempt in 1 2 3 4 5 6 7 8; do
      p=${port:-$((20000 + (RANDOM * 32768 + RANDOM) % 40000))}
      if pg_start "$dir" "$p" 2>>"$dir/start.log"; then ok=1; break; fi
      [ -n "$port" ] && break
    done
    [ "$ok" -eq 1 ] || { cat "$dir/log" "$dir/start.log" >&2 2>/dev/null; die "pg_ctl start failed"; }
    as_owner "$bin/createdb" -h "$dir/sock" -p "$p" -U simkyc simkyc
    echo "$dir" >"$state/cluster"
    echo "$p" >"$state/port"
    url="postgresql://simkyc@127.0.0.1:$p/simkyc"
    echo "$url" >"$state/url"
    echo "$url"
    ;;
  halt)
    dir=$(cat "$state/cluster")
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -s -m fast stop
    ;;
  start-again)
    dir=$(cat "$state/cluster")
    pg_start "$dir" "$(cat "$state/port")"
    ;;
  stop)
    [ -f "$state/cluster" ] || exit 0
    dir=$(cat "$state/cluster")
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -s -m immediate stop 2>/dev/null || true
    fi
    case "$dir" in /tmp/simkyc-pg.*) rm -rf "$dir" ;; esac
    rm -f "$state/cluster" "$state/port" "$state/url"
    ;;
  url) cat "$state/url" ;;
  *) die "unknown command $cmd" ;;
esac
