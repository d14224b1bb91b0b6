#!/bin/bash
# kafka_crash.sh — real broker (2): `kill -9` in the middle of a run loses no alert. With a
# 28-day dataset in the topics (kafka_lib.sh: gen_dataset), cdrwatch is killed once its first
# alerts are out; a restart of the same group resumes from the committed offsets and in the end
# the alerts topic holds every alert of replay on the same files — the same ids, none missing,
# none that replay does not raise. Duplicates (same id) are what at-least-once allows.
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
ok_status "$(WAIT_STEP=0.02 wait_until 60 eval '[ "$(stats_value "$TMP/first.err" commits)" -ge 1 ]'; echo $?)" \
    "the first run commits offsets as the broker acknowledges its alerts"
kill -9 "$RUN_PID"
wait "$RUN_PID" 2> /dev/null || true
n_at_kill=$(distinct_alert_ids)
ok_status "$([ "$n_at_kill" -lt "$n_expected" ]; echo $?)" \
    "killed (-9) in the middle: $n_at_kill of $n_expected alerts were out"

run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G crash --exit-at-end
is "$rc" 0 "the restarted run ends cleanly"
contains "$TMP/err" "rebuilding the windows from the rewind points" \
    "it resumes from the offsets committed before the crash, rebuilding the windows"
total_records=$(($(wc -l < "$GEN_CDR") - 1 + $(wc -l < "$GEN_AUDIT")))
ok_status "$([ "$(stats_value "$TMP/err" "records in")" -lt "$total_records" ]; echo $?)" \
    "it does not start over: $(stats_value "$TMP/err" "records in") of $total_records records new to it, $(stats_value "$TMP/err" rebuilt) read again"
kafka_alerts > "$TMP/got"
same_file "$TMP/got" "$TMP/expected" "after the crash the alerts topic holds every alert of replay, and only those"
total=$(topic_messages cdr-alerts | wc -l)
ok_status "$([ "$total" -ge "$n_expected" ]; echo $?)" "$((total - n_expected)) duplicates (same event.id) from the crash"

done_testing
