#!/bin/bash
# realdb_pgaudit.sh — a real PostgreSQL with pgaudit (tests/realdb/pgaudit.sh): the log the server
# wrote decodes without a dead letter, the theft is caught by the shipped rules, from the thief's
# address, and no benign user is alerted on; the thief's ALTER ROLE svc_archive SET pgaudit.log =
# 'ddl' raises audit-tampering-narrow, and its read in the same session (still audited)
# audit-excluded-account-reads, naming the account.
. "$(dirname "$0")/lib.sh"
need_jq
export CDRWATCH top_srcdir top_builddir
set +e
bash "$top_srcdir/tests/realdb/pgaudit.sh" "$TMP/pg" 2> "$TMP/realdb.err"
status=$?
set -e
if [ "$status" -eq 77 ]; then
    why=$(tail -1 "$TMP/realdb.err")
    echo "1..0 # SKIP $why"
    [ "${CI:-}" = "true" ] && { echo "not ok 1 - the real PostgreSQL test is required under CI: $why"; exit 1; }
    exit 0
fi
sed 's/^/# /' "$TMP/realdb.err" | tail -25
out=$TMP/pg
is "$status" 0 "pgaudit.sh ran and says: theft caught, benign users quiet"
contains "$out/facts" "pgaudit.log_rows=on" "this pgaudit logs rows (pgaudit.log_rows)"
audit_lines=$(grep -c 'LOG:  AUDIT: ' "$out/audit.log" || true)
ok_status "$([ "$audit_lines" -ge 900 ]; echo $?)" "the server wrote the workload's pgaudit records ($audit_lines)"
contains "$out/replay.txt" "records: cdr=0 audit=$audit_lines;" "every pgaudit record is an audit record"
contains "$out/replay.txt" "dead letters: 0;" "no dead letter"
ok_status "$(grep -q 'skipped lines: [1-9]' "$out/replay.txt"; echo $?)" "the server's other messages are skipped and counted"
thief() { "$JQ" -r --arg r "$1" 'select(.user.name == "svc_archive" and .rule.id == $r) | '"$2" "$out/alerts.jsonl"; }
is "$(thief cdr-bulk-read-1h .cdrwatch.metric.value)" 50932 \
    "cdr-bulk-read-1h: svc_archive's whole cdr_voice (32766) and cdr_sms (18166) reads, counted by pgaudit's rows"
is "$(thief cdr-bulk-read-1h .cdrwatch.evidence.object)" mediation.cdr_sms "... crossing at the cdr_sms read"
is "$(thief cdr-statement-burst-1h .cdrwatch.metric.value)" 600 "cdr-statement-burst-1h: the harvest crosses 600 statements"
is "$("$JQ" -r 'select(.user.name == "svc_archive") | .source.address' "$out/alerts.jsonl" | sort -u)" 127.0.0.66 \
    "the alerts name the thief's address"
for user in svc_billing svc_fraud alice bob; do
    is "$("$JQ" -r --arg u "$user" 'select(.user.name == $u)' "$out/alerts.jsonl" | wc -l)" 0 "no alert on $user"
done
# the tampering step: the thief sets its own role's pgaudit.log to 'ddl', reads in the same
# session (still audited: a role's setting applies to new sessions) and in a new one (not)
contains "$out/audit.log" "ROLE,ALTER ROLE,,,ALTER ROLE svc_archive SET pgaudit.log = 'ddl'" "the ALTER ROLE is in the log"
reads=$(grep -c "user=svc_archive,.*AUDIT: .*ORDER BY start_time DESC LIMIT 5" "$out/audit.log" || true)
is "$reads" 1 "of the two reads after it, the one in the same session is logged, the one in a new session not"
is "$(thief audit-tampering-narrow .cdrwatch.evidence.statement)" "ALTER ROLE svc_archive SET pgaudit.log = 'ddl';" \
    "audit-tampering-narrow: the alert carries the statement that drops READ"
is "$(thief audit-excluded-account-reads .cdrwatch.detail.account)" svc_archive \
    "audit-excluded-account-reads: the account taken out of the audit, then reading, is named"
is "$(thief audit-excluded-account-reads .event.severity)" 95 "... at severity 95"
"$CDRWATCH" replay --quiet --audit-format pgaudit --pg-log-prefix "$(sed -n 's/^log_line_prefix=//p' "$out/facts")" \
    --audit "$out/audit.log" > "$TMP/again.jsonl"
same_file <(strip_observer "$TMP/again.jsonl") <(strip_observer "$out/alerts.jsonl") "a second replay gives the same alerts"
done_testing
