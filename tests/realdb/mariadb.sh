#!/bin/bash
# mariadb.sh — a real MariaDB with the server_audit plugin, a CDR schema, benign users and a CDR
# theft; then the audit file the server wrote goes through
# `cdrwatch replay --audit-format mariadb` with the shipped configuration.
#
#   tests/realdb/mariadb.sh OUTDIR
#
# Starts a private server (mariadb-install-db in a temporary directory, 127.0.0.1 on a free port,
# as the mysql user when run as root, TZ=UTC because server_audit writes local time), with
# server_audit loaded (events CONNECT,QUERY,TABLE, file output). Loads datasets/small/cdr.csv.gz
# into mediation.cdr_voice, cdr_sms, cdr_data and subscriber while the audit is off, switches it
# on, then runs the same users as tests/realdb/pgaudit.sh, each from its own 127.0.0.N address:
# the billing extract of one day, 150 fraud lookups, two analysts, and the theft by svc_archive
# from 127.0.0.66 (SELECT of whole tables, SELECT ... INTO OUTFILE, then the history of 60
# subscribers one query at a time: 720 statements). server_audit logs no row counts, so only
# the statement count can tell the harvest from the fraud engine's lookups. Then the tampering
# step (issue 14): svc_archive, an administrator's account (SUPER), runs SET GLOBAL
# server_audit_excl_users = 'svc_archive' and reads cdr_voice in the same session and cdr_sms in
# a new one (the shipped rule audit-tampering-narrow raises on the statement).
# OUTDIR receives audit.log (the server_audit file, as written), alerts.jsonl, dlq.jsonl,
# replay.txt and facts. The last lines printed say whether the theft was caught and the benign
# users left alone (exit 1 if not). Exit 77 when MariaDB, its audit plugin or socat is missing
# (.ci/install-deps installs them).
. "$(dirname "$0")/common.sh"

OUT=${1:?usage: tests/realdb/mariadb.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

mysqld=$(command -v mariadbd || ls /usr/sbin/mariadbd 2> /dev/null || true)
plugin_dir=/usr/lib/mysql/plugin
if [ -z "$mysqld" ] || ! command -v mariadb-install-db > /dev/null || ! command -v mariadb > /dev/null ||
    [ ! -f "$plugin_dir/server_audit.so" ]; then
    say "MariaDB with server_audit is not installed (Debian: apt-get install mariadb-server)"
    exit 77
fi
command -v socat > /dev/null || { say "socat is not installed (Debian: apt-get install socat)"; exit 77; }
command -v jq > /dev/null || { say "jq is not installed (Debian: apt-get install jq)"; exit 77; }

make_workdir
MDIR=$WORK/mariadb
mkdir -p "$MDIR/files"
server_user=$(id -un)
if [ "$(id -u)" -eq 0 ] && id mysql > /dev/null 2>&1; then
    server_user=mysql # the server drops root for this user (--user)
    chown -R mysql "$MDIR"
fi

say "mariadb-install-db in $MDIR"
mariadb-install-db --no-defaults --datadir="$MDIR/data" --user="$server_user" \
    --auth-root-authentication-method=normal --skip-test-db > "$WORK/install.out" 2>&1 ||
    { cat "$WORK/install.out" >&2; die "mariadb-install-db failed"; }

server_pid=
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=
}
cleanup_hooks+=(stop_server)
root_sql() { mariadb --no-defaults --socket="$MDIR/mysqld.sock" -uroot "$@"; }
for _ in 1 2 3; do
    PORT=$(free_port)
    TZ=UTC "$mysqld" --no-defaults --datadir="$MDIR/data" --user="$server_user" \
        --bind-address=127.0.0.1 --port="$PORT" --socket="$MDIR/mysqld.sock" \
        --pid-file="$MDIR/mysqld.pid" --log-error="$MDIR/error.log" --skip-name-resolve \
        --secure-file-priv="$MDIR/files" --plugin-dir="$plugin_dir" --plugin-load-add=server_audit \
        --server-audit-logging=OFF --server-audit-events=CONNECT,QUERY,TABLE \
        --server-audit-output-type=file --server-audit-file-path="$MDIR/server_audit.log" \
        --server-audit-file-rotate-size=1000000000 > "$WORK/mariadbd.out" 2>&1 &
    server_pid=$!
    if wait_until 60 root_sql -e 'SELECT 1'; then
        break
    fi
    stop_server
done
[ -n "$server_pid" ] || { cat "$MDIR/error.log" >&2 2> /dev/null; die "MariaDB did not start"; }
say "MariaDB listens on 127.0.0.1:$PORT"

# ---- schema and data (before the audit is switched on) ----
gzip -dc "$CDR_CSV_GZ" > "$MDIR/files/cdr.csv"
[ "$server_user" = mysql ] && chown mysql "$MDIR/files/cdr.csv"
root_sql << EOF
CREATE DATABASE mediation;
CREATE TABLE mediation.staging (start_time varchar(32), record_type varchar(8), calling_msisdn varchar(20),
    called_msisdn varchar(20), duration_s varchar(10), record_id varchar(32), imsi varchar(20), imei varchar(20),
    cell_id varchar(32), bytes_up varchar(20), bytes_down varchar(20));
LOAD DATA INFILE '$MDIR/files/cdr.csv' INTO TABLE mediation.staging
    FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\n' IGNORE 1 LINES;
CREATE TABLE mediation.subscriber (msisdn varchar(20) PRIMARY KEY, imsi varchar(20), imei varchar(20),
    home_cell varchar(32));
CREATE TABLE mediation.cdr_voice (record_id varchar(32) PRIMARY KEY, start_time datetime(3) NOT NULL,
    calling_msisdn varchar(20) NOT NULL, called_msisdn varchar(20), duration_s int, imsi varchar(20),
    imei varchar(20), cell_id varchar(32), KEY (calling_msisdn, start_time));
CREATE TABLE mediation.cdr_sms LIKE mediation.cdr_voice;
CREATE TABLE mediation.cdr_data (record_id varchar(32) PRIMARY KEY, start_time datetime(3) NOT NULL,
    calling_msisdn varchar(20) NOT NULL, duration_s int, imsi varchar(20), imei varchar(20), cell_id varchar(32),
    bytes_up bigint, bytes_down bigint, KEY (calling_msisdn, start_time));
INSERT INTO mediation.cdr_voice SELECT record_id, STR_TO_DATE(start_time, '%Y-%m-%dT%H:%i:%s.%fZ'), calling_msisdn,
    NULLIF(called_msisdn, ''), duration_s, imsi, imei, cell_id FROM mediation.staging WHERE record_type = 'voice';
INSERT INTO mediation.cdr_sms SELECT record_id, STR_TO_DATE(start_time, '%Y-%m-%dT%H:%i:%s.%fZ'), calling_msisdn,
    NULLIF(called_msisdn, ''), duration_s, imsi, imei, cell_id FROM mediation.staging WHERE record_type = 'sms';
INSERT INTO mediation.cdr_data SELECT record_id, STR_TO_DATE(start_time, '%Y-%m-%dT%H:%i:%s.%fZ'), calling_msisdn,
    duration_s, imsi, imei, cell_id, NULLIF(bytes_up, ''), NULLIF(bytes_down, '')
    FROM mediation.staging WHERE record_type = 'data';
INSERT INTO mediation.subscriber SELECT calling_msisdn, min(imsi), min(imei), min(cell_id)
    FROM mediation.staging GROUP BY calling_msisdn;
DROP TABLE mediation.staging;
CREATE USER svc_billing IDENTIFIED BY 'billing-pw';
CREATE USER svc_fraud IDENTIFIED BY 'fraud-pw';
CREATE USER alice IDENTIFIED BY 'alice-pw';
CREATE USER bob IDENTIFIED BY 'bob-pw';
CREATE USER svc_archive IDENTIFIED BY 'archive-pw';
GRANT SELECT ON mediation.* TO svc_billing, svc_fraud, alice, bob, svc_archive;
-- the stolen account may write files on the server (a backup account, say) and, an
-- administrator's, change the server's settings, the audit's included
GRANT FILE, SUPER ON *.* TO svc_archive;
EOF
rm -f "$MDIR/files/cdr.csv"
counts=$(root_sql -N -e "SELECT CONCAT('cdr_voice=', (SELECT count(*) FROM mediation.cdr_voice), ' cdr_sms=',
    (SELECT count(*) FROM mediation.cdr_sms), ' cdr_data=', (SELECT count(*) FROM mediation.cdr_data),
    ' subscriber=', (SELECT count(*) FROM mediation.subscriber))")
say "loaded: $counts"
{
    echo "server=$(root_sql -N -e 'SELECT VERSION()')"
    echo "server_audit=$(root_sql -N -e "SELECT PLUGIN_VERSION FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'")"
    echo "server_audit_events=$(root_sql -N -e 'SELECT @@server_audit_events')"
    echo "loaded: $counts"
} > "$OUT/facts"
root_sql -e 'SET GLOBAL server_audit_logging = ON'

# ---- the workload, each user from its own address ----
# mariadb_as USER PASSWORD PORT: a client session reading SQL from standard input
mariadb_as() { mariadb --no-defaults --batch -h 127.0.0.1 -P "$3" -u "$1" -p"$2" mediation; }
relay "$BILLING_HOST" "$PORT";  billing_port=$RELAY_PORT
relay "$FRAUD_HOST" "$PORT";    fraud_port=$RELAY_PORT
relay "$ANALYST1_HOST" "$PORT"; alice_port=$RELAY_PORT
relay "$ANALYST2_HOST" "$PORT"; bob_port=$RELAY_PORT
relay "$THIEF_HOST" "$PORT";    thief_port=$RELAY_PORT

say "benign: billing extract of $BILLING_DAY, $FRAUD_LOOKUPS fraud lookups, two analysts"
sql_billing | mariadb_as "$BILLING" billing-pw "$billing_port" > /dev/null
sql_fraud | mariadb_as "$FRAUD" fraud-pw "$fraud_port" > /dev/null
sql_analyst | mariadb_as "$ANALYST1" alice-pw "$alice_port" > /dev/null
sql_analyst | mariadb_as "$ANALYST2" bob-pw "$bob_port" > /dev/null

say "theft by $THIEF from $THIEF_HOST"
sql_theft_bulk | mariadb_as "$THIEF" archive-pw "$thief_port" > /dev/null
echo "SELECT * FROM mediation.cdr_data INTO OUTFILE '$MDIR/files/stolen-data.csv' FIELDS TERMINATED BY ',';" |
    mariadb_as "$THIEF" archive-pw "$thief_port"
sql_theft_harvest | mariadb_as "$THIEF" archive-pw "$thief_port" > /dev/null

# the tampering step (issue 14): the thief takes its own account out of the audit, reads in the
# same session, then again in a new one; audit-tampering-narrow raises on the statement, and
# audit-excluded-account-reads on whichever read the server still logs
say "tampering: $THIEF excludes itself from server_audit, then reads"
mariadb_as "$THIEF" archive-pw "$thief_port" > /dev/null << EOF
SET GLOBAL server_audit_excl_users = '$THIEF';
SELECT * FROM mediation.cdr_voice ORDER BY start_time DESC LIMIT 5;
EOF
echo "SELECT * FROM mediation.cdr_sms ORDER BY start_time DESC LIMIT 5;" |
    mariadb_as "$THIEF" archive-pw "$thief_port" > /dev/null

say "benign again: the fraud engine goes on"
sql_fraud 50 | mariadb_as "$FRAUD" fraud-pw "$fraud_port" > /dev/null

stop_server
cp "$MDIR/server_audit.log" "$OUT/audit.log"
say "the server wrote $(wc -l < "$OUT/audit.log") audit lines"

replay_and_report "$OUT" mariadb
verdict "$OUT"
