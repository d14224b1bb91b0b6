#!/bin/bash
# pgaudit.sh — a real PostgreSQL with pgaudit, a CDR schema, benign users and a CDR theft; then
# the log the server wrote goes through `cdrwatch replay --audit-format pgaudit` with the shipped
# configuration.
#
#   tests/realdb/pgaudit.sh OUTDIR
#
# Starts a private cluster (initdb in a temporary directory, 127.0.0.1 on a free port, as the
# postgres user when run as root), with shared_preload_libraries = pgaudit, pgaudit.log =
# 'read,write,ddl,role', log_relation and log_rows on, and a log_line_prefix that carries time,
# user, database, application, client address and session. Loads datasets/small/cdr.csv.gz into
# mediation.cdr_voice, cdr_sms, cdr_data and subscriber (not audited), then runs, each user from
# its own 127.0.0.N address:
#   svc_billing  the nightly extract of one day (COPY (SELECT ...) TO STDOUT, ~15 000 rows)
#   svc_fraud    150 single-subscriber lookups
#   alice, bob   analysts' aggregates
#   svc_archive  the theft, from 127.0.0.66: SELECT of whole tables, \copy of cdr_data to a file,
#                a server-side COPY ... TO a file, then the history of 60 subscribers one query at
#                a time (720 statements)
#                then the tampering step (issue 14): allowed to set pgaudit.log (GRANT SET ON
#                PARAMETER), it runs ALTER ROLE svc_archive SET pgaudit.log = 'ddl' and reads
#                cdr_voice in the same session, cdr_sms in a new one
# OUTDIR receives audit.log (the server's log file, as written), alerts.jsonl, dlq.jsonl,
# replay.txt (the replay's summary) and facts (versions and settings). The last lines printed
# say whether the theft was caught and the benign users left alone (exit 1 if not). Exit 77
# when PostgreSQL, pgaudit or socat is missing (.ci/install-deps installs them).
. "$(dirname "$0")/common.sh"

OUT=${1:?usage: tests/realdb/pgaudit.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PREFIX='%m [%p]: user=%u,db=%d,app=%a,client=%h,session=%c '

pgbin=
for d in $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V -r); do
    if [ -f "$(dirname "$d")/lib/pgaudit.so" ]; then
        pgbin=$d
        break
    fi
done
if [ -z "$pgbin" ] || ! command -v psql > /dev/null; then
    say "PostgreSQL with pgaudit is not installed (Debian: apt-get install postgresql postgresql-15-pgaudit)"
    exit 77
fi
command -v socat > /dev/null || { say "socat is not installed (Debian: apt-get install socat)"; exit 77; }
command -v jq > /dev/null || { say "jq is not installed (Debian: apt-get install jq)"; exit 77; }

make_workdir
PGDIR=$WORK/pg
mkdir -p "$PGDIR/log"
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres user
    id postgres > /dev/null 2>&1 || die "running as root, but there is no postgres user to run the server"
    chown -R postgres "$PGDIR"
    as_server=(runuser -u postgres --)
fi

say "initdb in $PGDIR ($pgbin)"
"${as_server[@]}" "$pgbin/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C \
    > "$WORK/initdb.out" 2>&1 || { cat "$WORK/initdb.out" >&2; die "initdb failed"; }
"${as_server[@]}" tee -a "$PGDIR/data/postgresql.conf" > /dev/null << EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGDIR'
shared_preload_libraries = 'pgaudit'
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = on
log_directory = '$PGDIR/log'
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_line_prefix = '$PREFIX'
log_connections = on
log_disconnections = on
pgaudit.log = 'read,write,ddl,role'
pgaudit.log_relation = on
pgaudit.log_rows = on
pgaudit.log_catalog = off
EOF
printf 'local all all trust\nhost all all 127.0.0.0/8 trust\n' |
    "${as_server[@]}" tee "$PGDIR/data/pg_hba.conf" > /dev/null

stop_server() { "${as_server[@]}" "$pgbin/pg_ctl" -D "$PGDIR/data" -m fast -w stop > /dev/null 2>&1; }
started=false
for _ in 1 2 3; do
    PORT=$(free_port)
    if "${as_server[@]}" "$pgbin/pg_ctl" -D "$PGDIR/data" -o "-p $PORT" -l "$PGDIR/pg_ctl.log" -w -t 60 start \
        > /dev/null 2>&1; then
        started=true
        break
    fi
done
$started || { cat "$PGDIR/pg_ctl.log" "$PGDIR/log/postgresql.log" >&2 2> /dev/null; die "PostgreSQL did not start"; }
cleanup_hooks+=(stop_server)
say "PostgreSQL listens on 127.0.0.1:$PORT"

# psql_as USER PORT APP: a psql session reading SQL from standard input
psql_as() {
    PGAPPNAME=$3 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$2" -U "$1" -d mediation
}
setup() { PGOPTIONS='-c pgaudit.log=none' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }

# ---- schema and data (not audited: pgaudit.log = none for these sessions) ----
setup -d postgres -c 'CREATE DATABASE mediation'
setup -d mediation << 'EOF'
CREATE EXTENSION pgaudit;
CREATE SCHEMA mediation;
CREATE TABLE mediation.staging (start_time text, record_type text, calling_msisdn text, called_msisdn text,
    duration_s text, record_id text, imsi text, imei text, cell_id text, bytes_up text, bytes_down text);
CREATE TABLE mediation.subscriber (msisdn text PRIMARY KEY, imsi text, imei text, home_cell text);
CREATE TABLE mediation.cdr_voice (record_id text PRIMARY KEY, start_time timestamptz NOT NULL,
    calling_msisdn text NOT NULL, called_msisdn text, duration_s integer, imsi text, imei text, cell_id text);
CREATE TABLE mediation.cdr_sms (LIKE mediation.cdr_voice INCLUDING ALL);
CREATE TABLE mediation.cdr_data (record_id text PRIMARY KEY, start_time timestamptz NOT NULL,
    calling_msisdn text NOT NULL, duration_s integer, imsi text, imei text, cell_id text,
    bytes_up bigint, bytes_down bigint);
EOF
gzip -dc "$CDR_CSV_GZ" | setup -d mediation -c '\copy mediation.staging FROM STDIN WITH (FORMAT csv, HEADER)'
setup -d mediation << 'EOF'
INSERT INTO mediation.cdr_voice SELECT record_id, start_time::timestamptz, calling_msisdn, called_msisdn,
    duration_s::integer, imsi, imei, cell_id FROM mediation.staging WHERE record_type = 'voice';
INSERT INTO mediation.cdr_sms SELECT record_id, start_time::timestamptz, calling_msisdn, called_msisdn,
    duration_s::integer, imsi, imei, cell_id FROM mediation.staging WHERE record_type = 'sms';
INSERT INTO mediation.cdr_data SELECT record_id, start_time::timestamptz, calling_msisdn, duration_s::integer,
    imsi, imei, cell_id, bytes_up::bigint, bytes_down::bigint FROM mediation.staging WHERE record_type = 'data';
INSERT INTO mediation.subscriber SELECT calling_msisdn, min(imsi), min(imei), min(cell_id)
    FROM mediation.staging GROUP BY calling_msisdn;
DROP TABLE mediation.staging;
CREATE INDEX ON mediation.cdr_voice (calling_msisdn, start_time);
CREATE INDEX ON mediation.cdr_sms (calling_msisdn, start_time);
CREATE INDEX ON mediation.cdr_data (calling_msisdn, start_time);
CREATE ROLE svc_billing LOGIN;
CREATE ROLE svc_fraud LOGIN;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE svc_archive LOGIN;
GRANT USAGE ON SCHEMA mediation TO svc_billing, svc_fraud, alice, bob, svc_archive;
GRANT SELECT ON ALL TABLES IN SCHEMA mediation TO svc_billing, svc_fraud, alice, bob, svc_archive;
-- the stolen account can write files on the server (a backup account, say) and set pgaudit.log
-- (PostgreSQL 15's GRANT SET ON PARAMETER: an administrator's delegation, or an intruder's)
GRANT pg_write_server_files TO svc_archive;
GRANT SET ON PARAMETER pgaudit.log TO svc_archive;
EOF
setup -d mediation -At -c "SELECT 'cdr_voice=' || (SELECT count(*) FROM mediation.cdr_voice) || ' cdr_sms=' ||
    (SELECT count(*) FROM mediation.cdr_sms) || ' cdr_data=' || (SELECT count(*) FROM mediation.cdr_data) ||
    ' subscriber=' || (SELECT count(*) FROM mediation.subscriber)" > "$WORK/counts"
say "loaded: $(cat "$WORK/counts")"
{
    echo "server=$(setup -d mediation -At -c 'SHOW server_version')"
    echo "pgaudit=$(setup -d mediation -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'")"
    echo "pgaudit.log_rows=$(setup -d mediation -At -c 'SHOW pgaudit.log_rows')"
    echo "log_line_prefix=$PREFIX"
    echo "loaded: $(cat "$WORK/counts")"
} > "$OUT/facts"
grep -q '^pgaudit.log_rows=on$' "$OUT/facts" || say "this pgaudit has no log_rows: no row counts in the log"

# ---- the workload, each user from its own address ----
relay "$BILLING_HOST" "$PORT";  billing_port=$RELAY_PORT
relay "$FRAUD_HOST" "$PORT";    fraud_port=$RELAY_PORT
relay "$ANALYST1_HOST" "$PORT"; alice_port=$RELAY_PORT
relay "$ANALYST2_HOST" "$PORT"; bob_port=$RELAY_PORT
relay "$THIEF_HOST" "$PORT";    thief_port=$RELAY_PORT

say "benign: billing extract of $BILLING_DAY, $FRAUD_LOOKUPS fraud lookups, two analysts"
sql_billing copy | psql_as "$BILLING" "$billing_port" billing_extract > /dev/null
sql_fraud | psql_as "$FRAUD" "$fraud_port" fraudengine > /dev/null
sql_analyst | psql_as "$ANALYST1" "$alice_port" psql > /dev/null
sql_analyst | psql_as "$ANALYST2" "$bob_port" 'DBeaver 23.1' > /dev/null

say "theft by $THIEF from $THIEF_HOST"
sql_theft_bulk | psql_as "$THIEF" "$thief_port" psql > /dev/null
echo "\\copy mediation.cdr_data TO '$WORK/stolen-data.csv' WITH (FORMAT csv)" | psql_as "$THIEF" "$thief_port" psql
echo "COPY (SELECT * FROM mediation.cdr_voice WHERE start_time >= '2026-03-05') TO '$PGDIR/stolen-voice.csv' WITH (FORMAT csv);" |
    psql_as "$THIEF" "$thief_port" psql
sql_theft_harvest | psql_as "$THIEF" "$thief_port" psql > /dev/null

# the tampering step (issue 14): the thief drops READ from its own role's pgaudit.log, reads in
# the same session (a role's setting applies to new sessions: still audited), then in a new one
say "tampering: $THIEF sets its own pgaudit.log to ddl, then reads"
psql_as "$THIEF" "$thief_port" psql > /dev/null << EOF
ALTER ROLE $THIEF SET pgaudit.log = 'ddl';
SELECT * FROM mediation.cdr_voice ORDER BY start_time DESC LIMIT 5;
EOF
echo "SELECT * FROM mediation.cdr_sms ORDER BY start_time DESC LIMIT 5;" | psql_as "$THIEF" "$thief_port" psql > /dev/null

say "benign again: the fraud engine goes on"
sql_fraud 50 | psql_as "$FRAUD" "$fraud_port" fraudengine > /dev/null

stop_server
cp "$PGDIR/log/postgresql.log" "$OUT/audit.log"
say "the server wrote $(wc -l < "$OUT/audit.log") log lines, $(grep -c 'AUDIT: ' "$OUT/audit.log") of them pgaudit records"

replay_and_report "$OUT" pgaudit --pg-log-prefix "$PREFIX"
verdict "$OUT"
