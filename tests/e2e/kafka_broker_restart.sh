#!/bin/bash
# kafka_broker_restart.sh — real broker (3): the broker goes away (killed: no controlled
# shutdown) and starts again while cdrwatch works through a 28-day dataset. cdrwatch stays up, says clearly that no broker is reachable
# and that it is back, and in the end the alerts topic holds every alert of replay: nothing
# lost. SIGTERM then stops it cleanly (exit 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
broker_start b3
gen_dataset
produce_cdr "$GEN_CDR"
produce_audit "$GEN_AUDIT"
expected_alerts "$KCONFIG" "$GEN_CDR" "$GEN_AUDIT" > "$TMP/expected"
n_expected=$(wc -l < "$TMP/expected")

start_run live -G restart
pid=$RUN_PID
# Freeze cdrwatch (SIGSTOP) a tenth of the way through, so that the broker is sure to go away
# in the middle of its work — it goes through the whole dataset in about a second — then let it
# go on without a broker.
ok_status "$(wait_progress live 40000; echo $?)" "cdrwatch is under way"
kill -STOP "$pid"
n_at_stop=$(distinct_alert_ids)
bash "$BROKER_SH" kill "$TMP/b3" # the broker goes away at once (SIGKILL)
kill -CONT "$pid"
ok_status "$([ "$n_at_stop" -lt "$n_expected" ]; echo $?)" "the broker went away in the middle: $n_at_stop of $n_expected alerts were out"
ok_status "$(wait_until 30 grep -q "no Kafka broker of $BROKER is reachable" "$TMP/live.err"; echo $?)" \
    "cdrwatch says that no broker is reachable"
sleep 3
ok_status "$(kill -0 "$pid"; echo $?)" "and keeps running while the broker is down"
bash "$BROKER_SH" restart "$TMP/b3" > /dev/null || bail "the broker did not restart"
ok_status "$(wait_until 60 grep -q "Kafka brokers reachable again" "$TMP/live.err"; echo $?)" \
    "it says when the broker is back"
ok_status "$(wait_until 120 eval '[ "$(distinct_alert_ids)" -ge "$n_expected" ]'; echo $?)" \
    "the remaining alerts arrive"
sleep 2 # let the last commit go out
stop_run "$pid"
is "$rc" 0 "SIGTERM stops it cleanly (exit 0)"
kafka_alerts > "$TMP/got"
same_file "$TMP/got" "$TMP/expected" "nothing lost: the alerts topic holds every alert of replay, and only those"
contains "$TMP/live.err" "partitions revoked: committing" "on SIGTERM it commits and leaves the group"

done_testing
