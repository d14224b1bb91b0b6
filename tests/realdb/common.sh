# common.sh — shared by tests/realdb/pgaudit.sh and tests/realdb/mariadb.sh (sourced).
#
# A private database server in a temporary directory, client connections that come from distinct
# loopback addresses (127.0.0.N, through socat relays: neither psql nor the mariadb client can
# choose its source address), and the SQL of the workload: a CDR schema loaded from the bundled
# dataset, benign users, and one theft episode. Everything listens on 127.0.0.1 only, and the
# EXIT trap stops what this script started (by PID) and removes the directory.

set -euo pipefail

realdb_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$realdb_dir/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CDRWATCH:=$top_builddir/src/cdrwatch}"
CDR_CSV_GZ="$top_srcdir/datasets/small/cdr.csv.gz"

# The actors: principal, source address, program.
BILLING=svc_billing;  BILLING_HOST=127.0.0.11
FRAUD=svc_fraud;      FRAUD_HOST=127.0.0.12
ANALYST1=alice;       ANALYST1_HOST=127.0.0.21
ANALYST2=bob;         ANALYST2_HOST=127.0.0.22
THIEF=svc_archive;    THIEF_HOST=127.0.0.66   # a dormant service account, from "the web server"
BENIGN="$BILLING $FRAUD $ANALYST1 $ANALYST2"
BILLING_DAY=2026-03-04   # the day the nightly extract exports
FRAUD_LOOKUPS=150        # single-subscriber lookups by the fraud engine
HARVEST_SUBSCRIBERS=60   # subscribers whose whole history the thief pulls, table by table, day by day

say() { echo "realdb: $*" >&2; }
die() { say "error: $*"; exit 1; }

pids=()
cleanup_hooks=()
WORK=
cleanup() {
    local status=$?
    for hook in "${cleanup_hooks[@]}"; do "$hook" || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_workdir: a private directory that the server's user can enter.
make_workdir() {
    if [ "$(id -u)" -eq 0 ]; then
        WORK=$(mktemp -d /tmp/cdrwatch-realdb.XXXXXX)
        chmod 755 "$WORK"
    else
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-realdb.XXXXXX")
    fi
}

# port_state PORT: the states (hex, as in /proc/net/tcp) of the sockets bound to PORT, one a line.
# Read from /proc rather than by connecting: a probe would be a connection in a server's audit log.
port_state() {
    local files=() f
    for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && files+=("$f"); done
    awk -v port="$(printf '%04X' "$1")" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == port) print $4 }' "${files[@]}"
}

# free_port: a TCP port that no socket on this machine uses (the caller retries if it loses a race).
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if [ -z "$(port_state "$port")" ]; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

listening() { port_state "$1" | grep -qx 0A; }

# wait_until SECONDS CMD...: retry CMD every 0.2 s.
wait_until() {
    local limit=$1; shift
    local tries=$((limit * 5))
    while [ "$tries" -gt 0 ]; do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.2
        tries=$((tries - 1))
    done
    return 1
}

# relay SOURCE_ADDRESS TARGET_PORT: listen on 127.0.0.1:<new port> and forward every connection to
# 127.0.0.1:TARGET_PORT from SOURCE_ADDRESS, so that the server sees that client address. Sets
# RELAY_PORT.
relay() {
    local source=$1 target=$2 port
    for _ in 1 2 3; do
        port=$(free_port)
        socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$target,bind=$source" \
            2> "$WORK/socat-$port.err" &
        pids+=($!)
        if wait_until 5 listening "$port"; then
            RELAY_PORT=$port
            return 0
        fi
    done
    die "socat relay from $source did not start: $(cat "$WORK"/socat-*.err)"
}

# ---- the workload (SQL common to PostgreSQL and MariaDB) ----

# subscribers N: the N busiest subscribers of the bundled CDRs (deterministic).
subscribers() {
    gzip -dc "$CDR_CSV_GZ" | awk -F, 'NR > 1 { n[$3]++ } END { for (s in n) print n[s], s }' |
        sort -k1,1nr -k2,2 | awk -v n="$1" 'NR <= n { print $2 }' # reads all: no SIGPIPE under pipefail
}

# The nightly billing extract of one day, table by table (an export by PostgreSQL's COPY when
# $1 is "copy").
sql_billing() {
    local t next
    next=$(date -u -d "$BILLING_DAY + 1 day" +%F)
    for t in cdr_voice cdr_sms cdr_data; do
        if [ "${1:-}" = copy ]; then
            echo "COPY (SELECT * FROM mediation.$t WHERE start_time >= '$BILLING_DAY' AND start_time < '$next' ORDER BY start_time) TO STDOUT WITH (FORMAT csv);"
        else
            echo "SELECT * FROM mediation.$t WHERE start_time >= '$BILLING_DAY' AND start_time < '$next' ORDER BY start_time;"
        fi
    done
}

# The fraud engine: one subscriber's last day of calls at a time ($1 lookups, default
# FRAUD_LOOKUPS), among the subscribers ranked 251 to 400 by activity.
sql_fraud() {
    local s
    for s in $(subscribers 400 | awk 'NR > 250' | awk -v n="${1:-$FRAUD_LOOKUPS}" 'NR <= n'); do
        echo "SELECT record_id, start_time, called_msisdn, duration_s, cell_id FROM mediation.cdr_voice WHERE calling_msisdn = '$s' AND start_time >= '2026-03-05' ORDER BY start_time;"
    done
}

# Analysts: aggregates over a day or two, and a few subscriber questions.
sql_analyst() {
    cat << 'EOF'
SELECT cell_id, count(*) AS calls, sum(duration_s) AS seconds FROM mediation.cdr_voice WHERE start_time >= '2026-03-03' AND start_time < '2026-03-04' GROUP BY cell_id ORDER BY calls DESC;
SELECT count(*) FROM mediation.cdr_sms WHERE start_time >= '2026-03-04';
SELECT calling_msisdn, count(*) AS sessions, sum(bytes_down) AS down FROM mediation.cdr_data GROUP BY calling_msisdn ORDER BY down DESC LIMIT 20;
SELECT s.home_cell, count(*) FROM mediation.subscriber s GROUP BY s.home_cell ORDER BY 2 DESC LIMIT 10;
EOF
}

# The theft: whole tables, exports, then the history of many subscribers one query at a time,
# table by table and day by day (small results that stay under any row threshold).
sql_theft_bulk() {
    echo "SELECT * FROM mediation.cdr_voice;"
    echo "SELECT * FROM mediation.cdr_sms;"
}
sql_theft_harvest() {
    local s t d
    for s in $(subscribers "$HARVEST_SUBSCRIBERS"); do
        for t in cdr_voice cdr_sms cdr_data; do
            for d in 2 3 4 5; do
                echo "SELECT * FROM mediation.$t WHERE calling_msisdn = '$s' AND start_time >= '2026-03-0$d' AND start_time < '2026-03-0$((d + 1))';"
            done
        done
    done
}

# ---- checks on the replay (used by tests/e2e/realdb_*.sh) ----

# replay_and_report OUT FORMAT [ARGS...]: replay OUT/audit.log with the shipped configuration,
# alerts in OUT/alerts.jsonl, dead letters in OUT/dlq.jsonl, summary in OUT/replay.txt.
replay_and_report() {
    local out=$1 format=$2; shift 2
    "$CDRWATCH" replay --audit-format "$format" "$@" --audit "$out/audit.log" \
        --out "$out/alerts.jsonl" --dlq "$out/dlq.jsonl" 2> "$out/replay.txt"
    cat "$out/replay.txt" >&2
    say "alerts (rule, principal, host, value):"
    jq -r '[.rule.id, .["user"].name, .source.address, .cdrwatch.metric.value] | @tsv' "$out/alerts.jsonl" >&2 || true
}

# verdict OUT: was the thief alerted on, and no one else? Prints the answer; 1 if not.
verdict() {
    local out=$1 rules others
    rules=$(jq -r --arg p "$THIEF" 'select(.user.name == $p) | .rule.id' "$out/alerts.jsonl" | sort -u | paste -sd, -)
    others=$(jq -r --arg p "$THIEF" 'select(.user.name != $p) | .user.name // "(no principal)"' "$out/alerts.jsonl" |
        sort -u | paste -sd, -)
    if [ -n "$rules" ]; then say "CAUGHT: $THIEF alerted on by $rules"; else say "MISSED: no alert on $THIEF"; fi
    if [ -z "$others" ]; then say "QUIET: no alert on $BENIGN"; else say "FALSE POSITIVES: $others"; fi
    [ -n "$rules" ] && [ -z "$others" ]
}
