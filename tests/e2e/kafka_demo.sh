#!/bin/bash
# kafka_demo.sh — `cdrwatch demo`: the whole Kafka path (consumer group, time merge, engine,
# idempotent producer, commits) against librdkafka's mock cluster in the process, no broker.
# Its alerts, read back from the alerts topic, equal replay's on the same files.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
KCONFIG=tests/kafka/busy.json
norm() { "$JQ" -c 'del(.cdrwatch.observer, .cdrwatch.evidence.first, .cdrwatch.evidence.last)' | LC_ALL=C sort; }

# the bundled dataset with the default configuration: the theft, and nothing else
run "$CDRWATCH" demo
is "$rc" 0 "demo exits 0 (it finds the bundled dataset in ./datasets/small)"
norm < "$TMP/out" > "$TMP/got"
norm < tests/e2e/expected/dataset-small.jsonl > "$TMP/want"
same_file "$TMP/got" "$TMP/want" "demo prints the dataset's alert, as replay raises it"
contains "$TMP/err" "loaded 63318 records" "every record of the dataset went through the mock cluster"
contains "$TMP/err" "stats: records in 63318 (cdr 59760, audit 3558)" "and through the pipeline"

# many alerts on both streams: the same as replay, each once
run "$CDRWATCH" demo --config "$KCONFIG" --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz
is "$rc" 0 "demo with the test configuration exits 0"
norm < "$TMP/out" > "$TMP/got"
"$CDRWATCH" replay --quiet --config "$KCONFIG" --cdr datasets/small/cdr.csv.gz \
    --audit datasets/small/audit.jsonl.gz | norm > "$TMP/want"
ok_status "$([ "$(wc -l < "$TMP/want")" -gt 150 ]; echo $?)" "replay raises $(wc -l < "$TMP/want") alerts"
same_file "$TMP/got" "$TMP/want" "demo's alerts, read back from Kafka, equal replay's (same ids)"
ok_status "$(! grep -q "not-a-real-secret" "$TMP/err"; echo $?)" "no secret in the log"

# configuration layers, as for replay: an overlay that raises one rule's threshold out of reach
"$JQ" -n '{rules: [{id: "cdr-bulk-read-1h", threshold: 1000000000}]}' > "$TMP/overlay.json"
run "$CDRWATCH" demo --config "$KCONFIG" --config "$TMP/overlay.json" --cdr datasets/small/cdr.csv.gz \
    --audit datasets/small/audit.jsonl.gz
is "$rc" 0 "demo with two --config layers exits 0"
norm < "$TMP/out" > "$TMP/got"
"$CDRWATCH" replay --quiet --config "$KCONFIG" --config "$TMP/overlay.json" --cdr datasets/small/cdr.csv.gz \
    --audit datasets/small/audit.jsonl.gz | norm > "$TMP/want"
same_file "$TMP/got" "$TMP/want" "demo with layers equals replay with the same layers"
ok_status "$(! grep -q '"cdr-bulk-read-1h"' "$TMP/got"; echo $?)" "the overlay's threshold is in force (no cdr-bulk-read-1h)"

# records that do not decode: dead letters, the rest goes on
gzip -dc datasets/small/audit.jsonl.gz > "$TMP/full.jsonl"
{ head -100 "$TMP/full.jsonl"; echo 'not json'; echo '{"ts":"x","principal":"p","action":"SELECT"}'; } > "$TMP/audit.jsonl"
run "$CDRWATCH" demo --audit "$TMP/audit.jsonl" --partitions 1
is "$rc" 0 "demo on a file with bad records exits 0"
contains "$TMP/err" "records in 102 (cdr 0, audit 102)" "every record is consumed"
contains "$TMP/err" "dead letters 2" "the bad ones are dead letters"

# the mock keeps 5 MB per partition: one partition is too small for the CDRs, and it says so
run "$CDRWATCH" demo --partitions 1
is "$rc" 2 "a dataset too large for the mock's partitions: exit 2"
contains "$TMP/err" "give more --partitions" "with a message that says what to do"

run "$CDRWATCH" demo --partitions 0
is "$rc" 2 "--partitions 0: exit 2"
run "$CDRWATCH" demo --help
contains "$TMP/out" "Examples:" "demo --help teaches by example"

done_testing
