#!/bin/bash
# long_lines.sh — nothing hides a theft behind a line over 1 MiB (doc/formats.md §1.3): in every
# file format a thief's statement carries a 3 MB comment and reads 900 000 rows. replay keeps the
# line's head and tail around the cut marker, the record is decoded and flagged `truncated`, and
# the thief raises the read rules (cdr-bulk-read-1h where the format has rows, cdr-unbounded-export
# where it has none) and audit-damaged-statement. A line whose cut would cross fields (two long
# values) is the one dead letter, `oversize_line`, and the records after it are read as usual.
# The inputs are generated here at run time (about 10 MB in $TMP), not checked in.
. "$(dirname "$0")/lib.sh"
need_jq

pad() { head -c "$1" /dev/zero | tr '\0' "$2"; }
BIG=$(pad 3000000 A)  # the thief's comment
HALF=$(pad 700000 B)  # two of these in one line cannot be cut inside one value
STMT="SELECT * FROM mediation.cdr_voice /* $BIG */"

# One input per format: a clean read, the thief, a line that cannot be cut, a second thief after it.
cd "$TMP"
{
    echo '{"ts":"2026-03-04T01:00:00Z","principal":"analyst","action":"SELECT","object":"mediation.cdr_voice","rows":20,"statement":"SELECT 1"}'
    printf '{"ts":"2026-03-04T02:00:00Z","principal":"json_thief","action":"SELECT","object":"mediation.cdr_voice","rows":900000,"statement":"%s"}\n' "$STMT"
    printf '{"ts":"2026-03-04T02:01:00Z","principal":"json_uncut","action":"SELECT","object":"%s","rows":900000,"statement":"%s"}\n' "$HALF" "$HALF"
    printf '{"ts":"2026-03-04T02:02:00Z","principal":"json_after","action":"SELECT","object":"mediation.cdr_voice","rows":900000,"statement":"SELECT * FROM mediation.cdr_voice /* \\u00e9\\\\%s\\\\ */"}\n' "$BIG"
} > audit.jsonl
{
    echo 'ts,principal,action,object,rows,statement'
    printf '2026-03-04T02:00:30Z,csv_thief,SELECT,mediation.cdr_voice,900000,"%s"\n' "${STMT/\*/\"\"*\"\"}"
    printf '2026-03-04T02:01:30Z,csv_uncut,SELECT,%s,900000,%s\n' "$HALF" "$HALF"
    printf '2026-03-04T02:02:30Z,csv_bare,SELECT,mediation.cdr_voice,900000,%s\r\n' "$STMT"
} > audit.csv
{
    pg() { printf '2026-03-04 02:0%s:00 UTC [30%s]: user=%s,db=mediation,app=psql,client=10.9.9.9 LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,mediation.cdr_voice,%s,<not logged>,900000\n' "$@"; }
    pg 0 0 pg_thief "\"SELECT a, b FROM mediation.cdr_voice /* $BIG */\""
    pg 1 1 pg_uncut "\"$HALF\",\"$HALF\""
    pg 2 2 pg_multiline "\"SELECT *
	FROM mediation.cdr_voice /* $BIG */\""
} > postgresql.log
{
    my() { printf '20260304 02:0%s:00,db01,%s,10.9.9.9,30%s,1,QUERY,mediation,%s,0\n' "$@"; }
    my 0 maria_thief 0 "'SELECT * FROM mediation.cdr_voice /* \\'$BIG */'"
    my 1 maria_uncut 1 "'$HALF', '$HALF'"
    my 2 maria_after 2 "'SELECT * FROM mediation.cdr_voice /* $BIG\\\\ */'"
} > server_audit.log
{
    mj() {
        printf '{"timestamp":"2026-03-04 02:0%s:00","id":%s,"class":"general","event":"status","connection_id":30%s,' "$1" "$1" "$1"
        printf '"account":{"user":"%s","host":"%%"},"login":{"user":"%s","os":"","ip":"10.9.9.9","proxy":""},' "$2" "$2"
        printf '"general_data":{"command":"Query","sql_command":"select","query":"%s","status":0},' "$3"
        printf '"query_statistics":{"rows_sent":900000}}\n'
    }
    echo '['
    mj 0 my_thief "$STMT"
    echo ','
    mj 1 my_uncut "$HALF\",\"x\":\"$HALF"
    echo ','
    printf '{\n  "timestamp": "2026-03-04 02:02:00", "id": 2, "class": "general", "event": "status", "connection_id": 302,\n'
    printf '  "account": {"user": "my_pretty", "host": "%%"}, "login": {"user": "my_pretty", "ip": "10.9.9.9"},\n'
    printf '  "general_data": {"command": "Query", "sql_command": "select",\n    "query": "%s", "status": 0},\n' "$STMT"
    printf '  "query_statistics": {"rows_sent": 900000}\n}\n]\n'
} > audit.json

# check NAME FORMAT-ARGS... -- THIEVES...: the thieves raise the expected rules; one dead letter
check() {
    local name=$1; shift
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    run "$CDRWATCH" replay --quiet "${args[@]}" --dlq "$TMP/$name.dlq"
    is "$rc" 0 "$name: replay exits 0"
    bad=$(while IFS= read -r l; do
        printf '%s' "$l" | "$JQ" -e 'type == "object"' > /dev/null 2>&1 || echo x
    done < "$TMP/out" | wc -l)
    is "$bad" 0 "$name: every alert line is a JSON object (jq)"
    cp "$TMP/out" "$TMP/$name.alerts"
    for thief in "$@"; do
        for rule in $rules; do
            got=$("$JQ" -r --arg p "$thief" --arg r "$rule" \
                'select(.cdrwatch.key.principal == $p and .rule.id == $r) | .cdrwatch.evidence.damage | index("truncated") != null' \
                "$TMP/$name.alerts")
            is "$got" true "$name: $thief raises $rule, its evidence flags the record truncated"
        done
    done
    is "$("$JQ" -r '.reason' "$TMP/$name.dlq" | paste -sd,)" oversize_line \
        "$name: the line that cannot be cut is the one dead letter (oversize_line)"
    is "$("$JQ" -r '.record | length' "$TMP/$name.dlq")" 256 "$name: its dead letter holds the line's first 256 bytes"
}

rules="cdr-bulk-read-1h audit-damaged-statement"
check json --audit audit.jsonl -- json_thief json_after
check csv --audit audit.csv -- csv_thief csv_bare
check pgaudit --audit-format pgaudit --audit postgresql.log -- pg_thief pg_multiline
check mysql-json --audit-format mysql-json --audit audit.json -- my_thief my_pretty
rules="cdr-unbounded-export audit-damaged-statement" # server_audit has no row counts
check mariadb --audit-format mariadb --audit server_audit.log -- maria_thief maria_after

# the statement kept: its head and tail, the marker between them (cut again to 16 KiB)
stmt=$("$JQ" -r 'select(.cdrwatch.key.principal == "json_thief") | .cdrwatch.evidence.statement' "$TMP/json.alerts" | head -1)
case "$stmt" in "SELECT * FROM mediation.cdr_voice /* AAA"*) r=0 ;; *) r=1 ;; esac
ok_status "$r" "json: the alert's statement begins with the thief's head"
analyst=$("$JQ" -r 'select(.cdrwatch.key.principal == "analyst") | .rule.id' "$TMP/json.alerts" | wc -l)
is "$analyst" 0 "json: the analyst's clean read raises nothing"

done_testing
