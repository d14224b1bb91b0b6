#!/bin/bash
# replay_dataset.sh — the bundled dataset end to end: the generator reproduces it, replay
# catches every labelled episode and nothing else, and two replays give identical alerts.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
GEN="$top_builddir/datasets/gen/cdrwatch-gen"
EXPECTED=tests/e2e/expected/dataset-small.jsonl

# 1. the committed dataset is what the generator writes (so it can be regenerated, and grown)
run "$GEN" --out-dir "$TMP/gen"
is "$rc" 0 "the generator runs with its defaults"
gzip -dc datasets/small/cdr.csv.gz > "$TMP/cdr.csv"
gzip -dc datasets/small/audit.jsonl.gz > "$TMP/audit.jsonl"
ok_status "$(cmp -s "$TMP/gen/cdr.csv" "$TMP/cdr.csv"; echo $?)" "datasets/small/cdr.csv.gz is the generator's output"
ok_status "$(cmp -s "$TMP/gen/audit.jsonl" "$TMP/audit.jsonl"; echo $?)" "datasets/small/audit.jsonl.gz is the generator's output"
ok_status "$(cmp -s "$TMP/gen/labels.csv" datasets/small/labels.csv; echo $?)" "datasets/small/labels.csv is the generator's output"

# 2. the README's command: the theft is caught, nothing else fires
run "$CDRWATCH" replay --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz
is "$rc" 0 "replay of the bundled dataset exits 0"
strip_observer "$TMP/out" > "$TMP/alerts1.jsonl"
same_file "$TMP/alerts1.jsonl" "$EXPECTED" "alerts equal $EXPECTED"
contains "$TMP/err" "dead letters: 0;" "no dead letters in the bundled dataset"

# every labelled episode has an alert for its principal inside [start, end] ...
tail -n +2 datasets/small/labels.csv | while IFS=, read -r scenario principal start end _; do
    n=$("$JQ" -r --arg p "$principal" --arg s "$start" --arg e "$end" \
        'select(.user.name == $p and ."@timestamp" >= $s and ."@timestamp" <= $e) | .event.id' \
        "$TMP/alerts1.jsonl" | wc -l)
    echo "$scenario $n"
done > "$TMP/caught"
is "$(awk '$2 > 0' "$TMP/caught" | wc -l)" "$(tail -n +2 datasets/small/labels.csv | wc -l)" \
    "every labelled episode is caught ($(tr '\n' ' ' < "$TMP/caught"))"
# ... and no alert falls outside every episode (no false positive)
fp=$("$JQ" -r '[.user.name, ."@timestamp"] | @tsv' "$TMP/alerts1.jsonl" | while IFS=$'\t' read -r who at; do
    tail -n +2 datasets/small/labels.csv | awk -F, -v p="$who" -v t="$at" \
        '$2 == p && t >= $3 && t <= $4 { hit = 1 } END { if (!hit) print "fp" }'
done | wc -l)
is "$fp" 0 "no alert outside the labelled episodes"

# 3. determinism: the same input twice gives byte-identical alerts (observer aside)
run "$CDRWATCH" replay --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz
strip_observer "$TMP/out" > "$TMP/alerts2.jsonl"
ok_status "$(cmp -s "$TMP/alerts1.jsonl" "$TMP/alerts2.jsonl"; echo $?)" "a second replay gives byte-identical alerts"

# 4. the order of the inputs on the command line does not matter, nor compression
run "$CDRWATCH" replay --audit "$TMP/audit.jsonl" --cdr "$TMP/cdr.csv"
"$JQ" -c 'del(.cdrwatch.observer, .cdrwatch.evidence.first, .cdrwatch.evidence.last)' "$TMP/out" > "$TMP/a3"
"$JQ" -c 'del(.cdrwatch.evidence.first, .cdrwatch.evidence.last)' "$EXPECTED" > "$TMP/a1"
same_file "$TMP/a3" "$TMP/a1" "inputs in another order, uncompressed: the same alerts and ids"

done_testing
