#!/bin/bash
# realdb_pgaudit.sh — a real PostgreSQL with pgaudit (tests/realdb/pgaudit.sh): the log the server
# wrote decodes without a dead letter, the theft is caught by the shipped rules, from the thief's
# address, and no benign user is alerted on.
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
"$CDRWATCH" replay --quiet --audit-format pgaudit --pg-log-prefix "$(sed -n 's/^log_line_prefix=//p' "$out/facts")" \
    --audit "$out/audit.log" > "$TMP/again.jsonl"
same_file <(strip_observer "$TMP/again.jsonl") <(strip_observer "$out/alerts.jsonl") "a second replay gives the same alerts"
done_testing
