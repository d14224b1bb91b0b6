#!/bin/bash
# kafka_crash.sh — real broker (2): `kill -9` in the middle of a run loses no alert. With a
# 28-day dataset in the topics (kafka_lib.sh: gen_dataset), cdrwatch is killed once its first
# alerts are out; a restart of the same group resumes from the committed offsets and in the end
# the alerts topic holds every alert of replay on the same files — the same ids, none missing,
# none that replay does not raise. Duplicates (same id) are what at-least-once allows, and only
# those: an alert raised again by the restart comes from a record at or after the committed
# offsets (the records below them are silent), and none is out more than twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
broker_start b2
gen_dataset
produce_cdr "$GEN_CDR"
produce_audit "$GEN_AUDIT"
expected_alerts "$KCONFIG" "$GEN_CDR" "$GEN_AUDIT" > "$TMP/expected"
n_expected=$(wc -l < "$TMP/expected")

start_run first -G crash
ok_status "$(WAIT_STEP=0.02 wait_until 60 stats_at_least "$TMP/first.err" commits 1; echo $?)" \
    "the first run commits offsets as the broker acknowledges its alerts"
kill -9 "$RUN_PID"
wait "$RUN_PID" 2> /dev/null || true
n_at_kill=$(distinct_alert_ids)
ok_status "$([ "$n_at_kill" -lt "$n_expected" ]; echo $?)" \
    "killed (-9) in the middle: $n_at_kill of $n_expected alerts were out"

# --verbose: the log has the committed offsets each partition resumes from
run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G crash --exit-at-end --verbose
is "$rc" 0 "the restarted run ends cleanly"
contains "$TMP/err" "rebuilding the windows from the rewind points" \
    "it resumes from the offsets committed before the crash, rebuilding the windows"
committed=$(committed_offsets "$TMP/err")
total_records=$(($(wc -l < "$GEN_CDR") - 1 + $(wc -l < "$GEN_AUDIT")))
done_before=$("$JQ" '[.[] | select(. > 0)] | add // 0' <<< "$committed") # the topics start at offset 0
records_in=$(stats_value "$TMP/err" "records in") || records_in="no counter"
ok_status "$([ "$records_in" -gt 0 ] 2> /dev/null && [ "$records_in" -lt "$total_records" ]; echo $?)" \
    "it does not start over: $records_in of $total_records records new to it, $(stats_value "$TMP/err" rebuilt || echo "no counter") read again"
is "$records_in" "$((total_records - done_before))" \
    "the records new to it are those after the committed offsets ($(tr -d ' \n' <<< "$committed"))"
kafka_alerts > "$TMP/got"
same_file "$TMP/got" "$TMP/expected" "after the crash the alerts topic holds every alert of replay, and only those"
# The duplicates, by event.id: each one's evidence.last ("topic/partition/offset") is the record
# that raised it; below its partition's committed offset, the record was silent on the restart.
topic_messages cdr-alerts > "$TMP/all"
dups=$("$JQ" -s 'group_by(.event.id) | map(select(length > 1)) | length' "$TMP/all")
is "$("$JQ" -s -r --argjson committed "$committed" '
    group_by(.event.id) | map(select(length > 1)) | map(
        (.[0].cdrwatch.evidence.last | capture("^(?<part>.*)/(?<offset>[0-9]+)$") // null) as $p
        | if length > 2 then "\(.[0].event.id) out \(length) times"
          elif $p == null then "\(.[0].event.id): no Kafka position in its evidence"
          elif ($p.offset | tonumber) < ($committed[$p.part] // -1)
          then "\(.[0].event.id) raised again by silent record \(.[0].cdrwatch.evidence.last)"
          else empty end) | .[:5][]' "$TMP/all" || echo "jq failed")" "" \
    "$dups duplicates from the crash, each raised again by a record after the committed offsets, none out more than twice"

done_testing
