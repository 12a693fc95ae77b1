#!/bin/bash
# A throwaway PostgreSQL server for the tests, on a free loopback port, its socket and data in DIR.
#   postgres-test-server.sh start DIR   prints the server's URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   postgres-test-server.sh stop DIR    stops it and removes DIR
# Installs Debian's postgresql package when no server binaries are found. fsync is off (the
# tests check agentq's behaviour, not PostgreSQL's durability) unless AGENTQ_PG_DURABLE=1 (make bench).
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 64; }

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
    if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
        echo "installing postgresql (apt-get)" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql >/dev/null \
            || { echo "could not install postgresql: apt-get install -y postgresql" >&2; exit 1; }
    fi
    bin="$(bindir)"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fsync="-F"; [ "${AGENTQ_PG_DURABLE:-}" = 1 ] && fsync=""
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $fsync -c max_connections=400 -c shared_buffers=128MB" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
stop)
    bin="$(bindir)"
    if [ -d "$dir/data" ] && [ -n "$bin" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 64 ;;
esac
