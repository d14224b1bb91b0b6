#!/bin/bash
# kafka_run.sh — real broker (1): the bundled dataset, loaded with kcat, through `cdrwatch run`
# gives exactly the alerts of `cdrwatch replay` on the same files (same ids), keyed as the spec
# says; secrets stay out of the logs; a second run of the same group rebuilds its windows from
# the committed rewind points and raises nothing again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
broker_start b1

produce_cdr "$DATASET/cdr.csv.gz"     # snappy-compressed batches
produce_audit "$DATASET/audit.jsonl.gz" # gzip-compressed batches
expected_alerts "$KCONFIG" "$DATASET/cdr.csv.gz" "$DATASET/audit.jsonl.gz" > "$TMP/expected"
n_expected=$(wc -l < "$TMP/expected")
ok_status "$([ "$n_expected" -gt 150 ]; echo $?)" "replay raises $n_expected alerts with the test configuration"

run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G t1 --exit-at-end
is "$rc" 0 "run --exit-at-end exits 0 once everything is processed, acknowledged and committed"
cp "$TMP/err" "$TMP/run1.err"
is "$(wc -c < "$TMP/out")" 0 "nothing on standard output: the alerts go to Kafka"
kafka_alerts > "$TMP/got"
same_file "$TMP/got" "$TMP/expected" "the alerts topic holds exactly the alerts of replay (same ids and content)"
is "$(topic_messages cdr-alerts | wc -l)" "$n_expected" "each alert produced once"
contains "$TMP/run1.err" "stats: records in 63318 (cdr 59760, audit 3558)" "the statistics line counts every record"
contains "$TMP/run1.err" "alerts out $n_expected" "and every alert"

# message keys: the principal for rules keyed by it, otherwise the key fields joined by '/'
kcat -C -b "$BROKER" -t cdr-alerts -o beginning -e -q -J > "$TMP/envelopes"
bad_keys=$("$JQ" -r '(.payload | fromjson) as $a
    | select(.key != (if $a.user.name then $a.user.name else ([$a.cdrwatch.key[]] | join("/")) end))
    | .offset' "$TMP/envelopes" | wc -l)
is "$bad_keys" 0 "every alert's key is its principal (or its key fields joined by '/')"
is "$("$JQ" -r '(.payload | fromjson) | select(.rule.id == "cdr-busy-caller-1h") | .user.name // "none"' \
    "$TMP/envelopes" | sort -u)" "none" "alerts of the CDR-stream rule have no principal (keyed by calling_msisdn)"

# secrets: the configuration carries ssl.key.password; it appears nowhere
ok_status "$(! grep -q "not-a-real-secret-4711" "$TMP/run1.err"; echo $?)" "the secret property's value is not in the log"
run "$CDRWATCH" check-config --config "$KCONFIG"
ok_status "$(! grep -q "not-a-real-secret-4711" "$TMP/out" "$TMP/err"; echo $?)" "nor in check-config's output"
contains "$TMP/out" '"ssl.key.password": "(redacted)"' "check-config shows it redacted"

# a second run of the same group: starts from the commit's rewind points, rebuilds, adds nothing
run timeout 120 "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" -G t1 --exit-at-end --verbose
is "$rc" 0 "a second run exits 0"
contains "$TMP/err" "rebuilding the windows from the rewind points" "it rebuilds the windows from the rewind points"
ok_status "$(stats_at_least "$TMP/err" rebuilt 1; echo $?)" "by reading records again ($(stats_value "$TMP/err" rebuilt || echo "no counter"))"
is "$(stats_value "$TMP/err" "records in")" 0 "no record is new to it"
is "$(topic_messages cdr-alerts | wc -l)" "$n_expected" "and no alert is produced again"
ok_status "$(! grep -q "not-a-real-secret-4711" "$TMP/err"; echo $?)" "no secret in the verbose log either"

# statistics to a topic as well, with librdkafka's own (statistics.interval.ms)
"$JQ" '.outputs.stats_topic = "cdrwatch-stats" | .outputs.alerts_topic = "cdr-alerts-stats"
       | .kafka.properties["statistics.interval.ms"] = "100"' "$KCONFIG" > "$TMP/stats.json"
run timeout 120 "$CDRWATCH" run --config "$TMP/stats.json" -b "$BROKER" -G t1-stats --exit-at-end
is "$rc" 0 "a run with statistics to a topic exits 0"
contains "$TMP/err" "brokers up 1/1" "the statistics line has librdkafka's view of the brokers"
topic_messages cdrwatch-stats '%k\t%s\n' > "$TMP/stats"
is "$(grep '^cdrwatch/' "$TMP/stats" | tail -1 | cut -f2- | "$JQ" -r '[.records, .alerts, .lag] | @tsv')" \
    "$(printf '63318\t%s\t0' "$n_expected")" "the statistics topic has cdrwatch's counters (records, alerts, lag)"
# grep -m1, not grep | head -1: under pipefail, head closing the pipe early kills grep with SIGPIPE
# once the topic holds more than a pipe's worth of statistics (a failure in 1 of 4 CI runs)
ok_status "$(grep -m1 '^librdkafka/' "$TMP/stats" | cut -f2- | "$JQ" -e '.brokers and .name' > /dev/null; echo $?)" \
    "and librdkafka's statistics"

# --log-format json (doc/logging.md): every line on stderr an object, librdkafka's included, and
# the statistics line one object with its counters as members
"$JQ" '.outputs.alerts_topic = "cdr-alerts-json" | .kafka.properties["statistics.interval.ms"] = "100"' \
    "$KCONFIG" > "$TMP/json-log.json"
run timeout 120 "$CDRWATCH" run --config "$TMP/json-log.json" -b "$BROKER" -G t1-json --exit-at-end --log-format json
is "$rc" 0 "a run with --log-format json exits 0"
is "$(grep -c . "$TMP/err")" "$("$JQ" -c 'select(type == "object" and has("@timestamp") and has("log.level"))' "$TMP/err" | wc -l)" \
    "--log-format json: every stderr line is an object"
"$JQ" -c 'select(.message == "stats") | .["cdrwatch.stats"]' "$TMP/err" | tail -1 > "$TMP/last-stats.json"
is "$("$JQ" -r '[.records.total, .records.cdr, .alerts, .lag, .ready] | @tsv' "$TMP/last-stats.json")" \
    "$(printf '63318\t59760\t%s\t0\ttrue' "$n_expected")" "--log-format json: the last stats object counts every record, every alert, ready"
ok_status "$("$JQ" -e '.kafka | map(select(test("brokers up 1/1"))) | length > 0' "$TMP/last-stats.json" > /dev/null; echo $?)" \
    "--log-format json: the stats object has librdkafka's view of the brokers"

done_testing
