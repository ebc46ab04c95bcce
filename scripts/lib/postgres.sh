# shellcheck shell=bash
#
# A private PostgreSQL server for tests and demos (DESIGN.md section 7,
# docs/DATABASE.md).  Source this file; it defines functions only.
#
#   postgres_start   make a new cluster in a fresh directory /tmp/ocp-pg.*,
#                    start it listening only on a Unix socket in that
#                    directory (no TCP), create the database `ocp`, wait
#                    until it accepts connections; export OCP_PG_URI and
#                    print it
#   postgres_uri     print the URI of the server postgres_start started
#   postgres_stop    stop it (pg_ctl stop -m fast) and remove its directory
#   postgres_run CMD...  run CMD with OCP_TEST_PG_URI set, on our server if
#                    one runs, else on one started (and stopped) for it
#
# The URI has the form
#   postgresql://postgres:PASSWORD@/ocp?host=/tmp/ocp-pg.XXXXXX
# The server asks for a password (scram-sha-256), a random one per server,
# so that tests can check that a wrong one is refused.
#
# Settings (environment):
#   OCP_BUILD_DIR   build tree (default: <repository>/build)
#   OCP_RUN_DIR     where the state file postgres.env goes, 0600 since it
#                   holds the URI (default: $OCP_BUILD_DIR/e2e-run)
#
# Runs as root: initdb and the server refuse root, so both run as the
# Debian `postgres` user (runuser); the packages come from
# scripts/lib/deps.sh.

_ocp_pg_repo_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

: "${OCP_BUILD_DIR:=$(_ocp_pg_repo_root)/build}"
: "${OCP_RUN_DIR:=$OCP_BUILD_DIR/e2e-run}"

_ocp_pg_die() {
    echo "postgres.sh: $*" >&2
    return 1
}

_ocp_pg_state() { echo "$OCP_RUN_DIR/postgres.env"; }

# The newest server installed (Debian 12: /usr/lib/postgresql/15/bin).
_ocp_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || d=""
    if [[ -z $d || ! -x $d/initdb || ! -x $d/pg_ctl ]]; then
        _ocp_pg_die "no PostgreSQL server under /usr/lib/postgresql" \
            "(install the Debian package postgresql)"
        return 1
    fi
    echo "$d"
}

# Prints the value of KEY from the state file.
_ocp_pg_get() { # KEY
    local k v
    [[ -f $(_ocp_pg_state) ]] || return 1
    while IFS='=' read -r k v; do
        [[ $k == "$1" ]] && { echo "$v"; return 0; }
    done <"$(_ocp_pg_state)"
    return 1
}

# As the postgres user, from a directory it may enter (initdb and pg_ctl
# complain when the caller's working directory is closed to them).
_ocp_pg_as() { # DIR COMMAND...
    local dir=$1
    shift
    (cd "$dir" && runuser -u postgres -- "$@")
}

# The server that the state file names answers.
_ocp_pg_ready() {
    local bindir dir
    bindir=$(_ocp_pg_get bindir) && dir=$(_ocp_pg_get dir) || return 1
    "$bindir/pg_isready" -q -h "$dir" -d ocp -t 5
}

postgres_uri() {
    _ocp_pg_get uri || {
        _ocp_pg_die "no server started (no $(_ocp_pg_state)); run postgres_start"
        return 1
    }
}

postgres_start() {
    local state bindir dir pw uri
    state=$(_ocp_pg_state)
    mkdir -p "$OCP_RUN_DIR" || return 1
    if [[ -f $state ]]; then
        if _ocp_pg_ready; then
            # Ours, from an earlier step (the ctest fixture): reuse it.
            uri=$(postgres_uri) || return 1
            export OCP_PG_URI=$uri
            echo "$uri"
            return 0
        fi
        postgres_stop # left over from a run that did not clean up
    fi
    [[ $(id -u) -eq 0 ]] || {
        _ocp_pg_die "must run as root (the server runs as the postgres user)"
        return 1
    }
    getent passwd postgres >/dev/null || {
        _ocp_pg_die "no postgres user: install the Debian package postgresql"
        return 1
    }
    bindir=$(_ocp_pg_bindir) || return 1
    # /tmp, not $TMPDIR: the postgres user must reach the directory, and
    # the socket path must stay under the 107 bytes a Unix socket takes.
    dir=$(mktemp -d /tmp/ocp-pg.XXXXXX) || return 1
    # The socket is open to every local user; the password guards it.
    chown postgres: "$dir" && chmod 0755 "$dir" || return 1
    pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$pw" >"$dir/pwfile") &&
        chown postgres: "$dir/pwfile" || return 1

    # C collation sorts by bytes, as SQLite's BINARY does, so ORDER BY on
    # text agrees between the backends.  --no-sync: a throwaway cluster.
    if ! _ocp_pg_as "$dir" "$bindir/initdb" -D "$dir/data" -U postgres \
        --auth=scram-sha-256 --pwfile="$dir/pwfile" -E UTF8 --no-locale \
        --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
        _ocp_pg_die "initdb failed; its log ends:"
        tail -n 20 "$dir/initdb.log" >&2
        rm -rf -- "$dir"
        return 1
    fi
    rm -f "$dir/pwfile"
    cat >>"$dir/data/postgresql.conf" <<EOF
# scripts/lib/postgres.sh: a private server, reached only through the
# socket in its own directory.
listen_addresses = ''
unix_socket_directories = '$dir'
# The registry's tables in the server's own buffers, as a tuned server
# keeps its working set (PostgreSQL's default of 128 MB is less than the
# 200 MB of 1 M records, and every read past it goes through the kernel
# again: docs/DATABASE.md).  Memory is taken only as pages are used.
shared_buffers = 1GB
EOF
    # State first, so postgres_stop can clean up whatever happens next.
    (umask 077 && printf 'dir=%s\nbindir=%s\nuri=%s\n' "$dir" "$bindir" \
        "postgresql://postgres:$pw@/ocp?host=$dir" >"$state") || return 1

    # -w waits until the server accepts connections.  pg_ctl hands the
    # server /dev/null and the log for its stdio, so ctest does not wait
    # for a fixture's pipes to close.
    if ! _ocp_pg_as "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -w -t 30 start >"$dir/pg_ctl.log" 2>&1; then
        _ocp_pg_die "the server did not start within 30 s; its log ends:"
        tail -n 20 "$dir/server.log" "$dir/pg_ctl.log" >&2
        postgres_stop
        return 1
    fi
    if ! PGPASSWORD=$pw "$bindir/createdb" -h "$dir" -U postgres ocp; then
        _ocp_pg_die "createdb ocp failed"
        postgres_stop
        return 1
    fi
    _ocp_pg_ready || {
        _ocp_pg_die "the server does not answer on $dir"
        postgres_stop
        return 1
    }
    uri=$(postgres_uri) || return 1
    export OCP_PG_URI=$uri
    echo "$uri"
}

# Stops the server that postgres_start started (and only that one) and
# removes its directory.
postgres_stop() {
    local state dir bindir pid
    state=$(_ocp_pg_state)
    [[ -f $state ]] || return 0
    dir=$(_ocp_pg_get dir) || dir=''
    bindir=$(_ocp_pg_get bindir) || bindir=''
    # Only a directory that postgres_start made is ever removed.
    if [[ $dir == /tmp/ocp-pg.* && -d $dir ]]; then
        if [[ -f $dir/data/postmaster.pid && -n $bindir ]]; then
            # fast: roll back open sessions and stop now.
            if ! _ocp_pg_as "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast \
                -w -t 30 stop >/dev/null 2>&1; then
                pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
                if [[ $pid =~ ^[0-9]+$ ]] &&
                    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]; then
                    echo "postgres.sh: the server ignored pg_ctl stop; killing it" >&2
                    kill -KILL "$pid" 2>/dev/null
                fi
            fi
        fi
        rm -rf -- "$dir"
    fi
    rm -f "$state"
    unset OCP_PG_URI
}

postgres_run() { # COMMAND...
    local started=0 rc=0
    if ! _ocp_pg_ready 2>/dev/null; then
        postgres_start >/dev/null
        started=1
    fi
    OCP_TEST_PG_URI=$(postgres_uri) "$@" || rc=$?
    ((started)) && postgres_stop
    return $rc
}
