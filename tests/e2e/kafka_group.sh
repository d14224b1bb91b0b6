#!/bin/bash
# kafka_group.sh — real broker (5): two instances in one consumer group on a 4-partition audit
# topic (and a 4-partition CDR topic that each of them reads whole) raise the same alerts as one
# instance, and as replay. The first instance is frozen in the middle of a 28-day dataset while
# the second joins; the group hands its partitions over, then splits them when it comes back —
# each assignment rebuilding the windows from the committed rewind points.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
broker_start b5 4 # every topic gets 4 partitions
gen_dataset
produce_cdr "$GEN_CDR"     # no key: spread over the 4 partitions
produce_audit "$GEN_AUDIT" # keyed by principal
expected_alerts "$KCONFIG" "$GEN_CDR" "$GEN_AUDIT" > "$TMP/expected"
n_expected=$(wc -l < "$TMP/expected")

start_run a -G pair
pid_a=$RUN_PID
ok_status "$(wait_until 60 grep -q "assigned 4 partition(s) of db-audit and all 4 of cdr" "$TMP/a.err"; echo $?)" \
    "instance A alone gets the 4 audit partitions and reads the 4 CDR partitions"
# A freezes (SIGSTOP: a long pause, as a stalled host or GC would make) a tenth of the way
# through — it goes through the dataset in about a second — while B joins: the group waits for
# A, drops it when its session times out, and gives B all four partitions, from A's last commit.
ok_status "$(wait_progress a 40000; echo $?)" "A is under way"
kill -STOP "$pid_a"
start_run b -G pair
pid_b=$RUN_PID
ok_status "$(wait_until 60 grep -q "assigned 4 partition(s) of db-audit and all 4 of cdr" "$TMP/b.err"; echo $?)" \
    "B takes the 4 partitions of the frozen A"
# A wakes up, finds itself out of the group, rejoins: the group splits the partitions 2 and 2
kill -CONT "$pid_a"
ok_status "$(wait_until 60 grep -q "assigned 2 partition(s) of db-audit and all 4 of cdr" "$TMP/a.err"; echo $?)" \
    "A rejoins and gets 2 audit partitions (and all 4 CDR partitions)"
ok_status "$(wait_until 60 grep -q "assigned 2 partition(s) of db-audit" "$TMP/b.err"; echo $?)" \
    "B hands 2 over"
ok_status "$(wait_until 120 eval '[ "$(distinct_alert_ids)" -ge "$n_expected" ]'; echo $?)" \
    "every alert arrives"
sleep 2
stop_run "$pid_a"
is "$rc" 0 "A stops cleanly"
stop_run "$pid_b"
is "$rc" 0 "B stops cleanly"
kafka_alerts > "$TMP/pair"
same_file "$TMP/pair" "$TMP/expected" "two instances raise every alert of replay, and only those"
ok_status "$(stats_at_least "$TMP/b.err" "records in" 1; echo $?)" \
    "B took over records A had not processed ($(stats_value "$TMP/b.err" "records in") records, $(stats_value "$TMP/b.err" "alerts out") alerts)"

# one instance of another group over the same topics, its alerts to a topic of their own
"$JQ" '.outputs.alerts_topic = "cdr-alerts-one"' "$KCONFIG" > "$TMP/one.json"
run timeout 120 "$CDRWATCH" run --config "$TMP/one.json" -b "$BROKER" -G one --exit-at-end
is "$rc" 0 "a single instance reads the 4 partitions to their end"
topic_messages cdr-alerts-one | normalize > "$TMP/one"
same_file "$TMP/pair" "$TMP/one" "two instances raise the same alerts as one"
is "$(topic_messages cdr-alerts-one | wc -l)" "$n_expected" "the single instance raises each alert once"

done_testing
