#!/bin/bash
# kafka_dlq.sh — real broker (4): records that do not decode, and a late one, land in
# <topic>.dlq with their original bytes and the headers cdrwatch-error (the reason) and
# cdrwatch-source (topic/partition/offset); the pipeline goes on (a good record after them raises
# its alert); a restart does not dead-letter them twice. Inputs: tests/kafka/dlq/ (README there).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
broker_start b4
FIX="$top_srcdir/tests/kafka/dlq"

kcat -P -b "$BROKER" -t db-audit -l "$FIX/audit.txt"
kcat -P -b "$BROKER" -t cdr -l "$FIX/cdr.txt"
run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G dlq --exit-at-end
is "$rc" 0 "run exits 0: bad records do not stop it"
contains "$TMP/err" "dead letters 10 (late 1)" "ten dead letters counted, one of them late"

for t in db-audit cdr; do
    kcat -C -b "$BROKER" -t "$t.dlq" -o beginning -e -q -J |
        "$JQ" -r '[.headers[3], .headers[1]] | @tsv' > "$TMP/$t.got"
    tsv="$FIX/expected-audit.tsv"
    [ "$t" = cdr ] && tsv="$FIX/expected-cdr.tsv"
    same_file "$TMP/$t.got" "$tsv" "$t.dlq: every bad record, in order, with its source and reason headers"
    is "$(kcat -C -b "$BROKER" -t "$t.dlq" -o beginning -e -q -J | "$JQ" -r '.headers[0] + "," + .headers[2]' | sort -u)" \
        "cdrwatch-error,cdrwatch-source" "$t.dlq: the header names are cdrwatch-error and cdrwatch-source"
done

# the original bytes (one of them is not UTF-8)
sed -n '2p;3p;4p;5p;7p;8p;9p;11p' "$FIX/audit.txt" > "$TMP/audit.bad"
topic_messages db-audit.dlq > "$TMP/audit.dlq"
ok_status "$(cmp -s "$TMP/audit.dlq" "$TMP/audit.bad"; echo $?)" "db-audit.dlq holds the original bytes of each bad record"
sed -n '2p;3p' "$FIX/cdr.txt" > "$TMP/cdr.bad"
topic_messages cdr.dlq > "$TMP/cdr.dlq"
ok_status "$(cmp -s "$TMP/cdr.dlq" "$TMP/cdr.bad"; echo $?)" "cdr.dlq holds the original bytes of each bad record"

# the good records around them were processed: the last one raises its alert
topic_messages cdr-alerts | "$JQ" -r '[.user.name, ."@timestamp", .rule.id] | @tsv' > "$TMP/alerts"
is "$(cat "$TMP/alerts")" "$(printf 'dlqtest\t2026-03-02T12:00:00.000Z\tcdr-bulk-read-1h')" \
    "the pipeline went on: the good record after the bad ones raised its alert"

# a restart reads them again to rebuild its windows, but does not dead-letter them again
run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G dlq --exit-at-end
is "$rc" 0 "a second run exits 0"
is "$(topic_messages db-audit.dlq | wc -l)" 8 "no dead letter twice after a restart"
is "$(topic_messages cdr-alerts | wc -l)" 1 "nor an alert"

done_testing
