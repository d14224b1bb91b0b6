#!/bin/bash
# score.sh — `cdrwatch score` end to end: the report of hand-written labels and alerts in the
# three formats (tests/fixtures/score/README works every number out), --check, standard input,
# the grace period, errors that name the file and line, and the bundled dataset scored as
# replay writes its alerts.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
F=tests/fixtures/score
LEARN=2026-03-09T00:00:00Z

# 1. the report, in each format
for fmt in text:txt markdown:md json:json; do
    run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --learning-until $LEARN \
        --format "${fmt%%:*}"
    is "$rc" 0 "score --format ${fmt%%:*}: exit 0 without --check, even with a miss and false positives"
    same_file "$TMP/out" "$F/expected.${fmt#*:}" "score --format ${fmt%%:*} prints $F/expected.${fmt#*:}"
done
"$JQ" -e '.totals == {"scenarios":4,"caught":3,"missed":1,"alerts":10,"matched":6,"false_positives":3,"learning":1}' \
    $F/expected.json > /dev/null
ok_status $? "the expected JSON holds the totals worked out in $F/README"

# 2. --check: 1 with a miss or a false positive, 0 when everything is caught and nothing is false
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --learning-until $LEARN --check
is "$rc" 1 "--check with a missed scenario and false positives: exit 1"
grep -v mallory $F/labels.csv > "$TMP/labels-caught.csv"
grep -v -e carol -e svc_billing $F/alerts.jsonl > "$TMP/alerts-true.jsonl"
run "$CDRWATCH" score --labels "$TMP/labels-caught.csv" --alerts "$TMP/alerts-true.jsonl" --learning-until $LEARN --check
is "$rc" 0 "--check with every scenario caught and no false positive: exit 0"
contains "$TMP/out" "3 scenarios: 3 caught, 0 missed; 7 alerts: 6 on scenarios, 0 false positives, 1 in the learning period" \
    "... and the totals say so"
run "$CDRWATCH" score --labels "$TMP/labels-caught.csv" --alerts "$TMP/alerts-true.jsonl" --check
is "$rc" 1 "--check without a learning period: the early alert on bob is a false positive"
run "$CDRWATCH" score --labels "$TMP/labels-caught.csv" --alerts $F/alerts.jsonl --learning-until $LEARN --check
is "$rc" 1 "--check with every scenario caught but false positives: exit 1"

# 3. standard input is the default, and '-' names it
run bash -c "'$CDRWATCH' score --labels $F/labels.csv --learning-until $LEARN < $F/alerts.jsonl"
same_file "$TMP/out" $F/expected.txt "alerts from standard input by default"
run bash -c "'$CDRWATCH' score --labels $F/labels.csv --alerts - --learning-until $LEARN < $F/alerts.jsonl"
same_file "$TMP/out" $F/expected.txt "alerts from standard input with --alerts -"

# 4. the grace period
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --learning-until $LEARN --grace 0s --format json
is "$("$JQ" -c '[.scenarios[0].alerts, .totals.false_positives]' "$TMP/out")" "[1,4]" \
    "--grace 0s: the export alert 35 min after bulk's end becomes a false positive"
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --grace 40m --format json
is "$("$JQ" -c '.scenarios[0].alerts' "$TMP/out")" "2" "--grace 40m: the export alert 35 min after the end counts"

# 5. bad input: exit 2, the message names the file and the line
run "$CDRWATCH" score --labels $F/bad-labels.csv --alerts $F/alerts.jsonl
is "$rc" 2 "bad labels: exit 2"
contains "$TMP/err" "$F/bad-labels.csv:3: end: expected an ISO-8601 time" "bad labels: file, line and column named"
is "$(wc -c < "$TMP/out")" 0 "bad labels: no report"
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/bad-alerts.jsonl
is "$rc" 2 "bad alerts: exit 2"
contains "$TMP/err" "$F/bad-alerts.jsonl:2: expected a JSON object" "bad alerts: file and line named"
run "$CDRWATCH" score --labels "$TMP/missing.csv" --alerts $F/alerts.jsonl
is "$rc" 2 "a missing labels file: exit 2"
contains "$TMP/err" "missing.csv: cannot open" "a missing labels file is named"

# 6. usage errors
run "$CDRWATCH" score --alerts $F/alerts.jsonl
is "$rc" 2 "no --labels: exit 2"
contains "$TMP/err" "--labels FILE is required" "no --labels: says so"
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --format xml
is "$rc" 2 "--format xml: exit 2"
contains "$TMP/err" "--format: expected text, markdown or json, got 'xml'" "--format: the message says what is expected"
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --learning-until yesterday
is "$rc" 2 "--learning-until yesterday: exit 2"
run "$CDRWATCH" score --labels $F/labels.csv --alerts $F/alerts.jsonl --grace soon
is "$rc" 2 "--grace soon: exit 2"
run "$CDRWATCH" score --labels $F/labels.csv --bogus
is "$rc" 2 "an unknown option: exit 2"
contains "$TMP/err" "unknown option '--bogus'" "an unknown option is named"
run "$CDRWATCH" score --help
is "$rc" 0 "score --help: exit 0"
contains "$TMP/out" "--learning-until TIME" "score --help explains --learning-until"

# 7. the bundled dataset, scored from replay's own output: every option of the pipe agrees
run bash -c "'$CDRWATCH' replay --quiet --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz |
    '$CDRWATCH' score --labels datasets/small/labels.csv --check"
is "$rc" 0 "datasets/small: replay | score --check passes"
contains "$TMP/out" "bulk-theft  svc_backup  yes     2026-03-04T02:46:17.014Z  41m17s" \
    "datasets/small: bulk-theft caught 41m17s after its start, as datasets/README.md says"

done_testing
