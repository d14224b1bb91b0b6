#!/bin/bash
# evaluate.sh — the evaluation of datasets/scenarios with the shipped default configuration:
# replay the 14 days, score the alerts against the labels (cdrwatch score --check), with the
# first week (2026-03-02 to 03-08, benign only) as the learning period. Prints TAP: one line per
# scenario caught, one for the false positives, and the whole table as comments.
#
#   tests/e2e/evaluate.sh              TAP, as `make check` would run it
#   tests/e2e/evaluate.sh --markdown   only the Markdown table (datasets/README.md shows it)
#
# It runs $CDRWATCH (default: src/cdrwatch of the source tree); after an out-of-tree build give
# CDRWATCH=path/to/build/src/cdrwatch.
#
# In TESTS: a scenario the shipped rules stop catching, or a false positive, fails the suite.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
D=datasets/scenarios
LEARNING_UNTIL=2026-03-09T00:00:00Z

# The watchlist of the dataset; li_officer, the lawful-intercept account that may look those
# people up, is allowed by the shipped list watchlist_allowed (li_*).
replay_args=(--quiet --cdr "$D/cdr.csv.gz" --audit "$D/audit.jsonl.gz" --watchlist "$D/watchlist.txt")
score_args=(--labels "$D/labels.csv" --learning-until "$LEARNING_UNTIL")

run "$CDRWATCH" replay "${replay_args[@]}"
mv "$TMP/out" "$TMP/alerts.jsonl"
if [ "${1:-}" = "--markdown" ]; then
    [ "$rc" -eq 0 ] || { cat "$TMP/err" >&2; exit 1; }
    "$CDRWATCH" score "${score_args[@]}" --alerts "$TMP/alerts.jsonl" --format markdown
    exit 0
fi
is "$rc" 0 "replay of $D with the default configuration and its watchlist exits 0"
is "$(head -c 300 "$TMP/err")" "" "with no dead letter and no warning (--quiet: no summary either)"
# every line an alert of a shipped rule: score would pass over the others unnoticed
is "$("$JQ" -s --slurpfile cfg config/cdrwatch.json '[$cfg[0].rules[].id] as $ids
    | [.[] | select(.event.kind != "alert" or (.rule.id as $r | $ids | index($r)) == null)] | length' \
    "$TMP/alerts.jsonl" || true)" 0 "each of its $(wc -l < "$TMP/alerts.jsonl") lines is an alert of a shipped rule"

run "$CDRWATCH" score "${score_args[@]}" --alerts "$TMP/alerts.jsonl" --format json
is "$rc" 0 "score reads the labels and the alerts"
"$JQ" -r '.scenarios[] | [(if .caught then 0 else 1 end), .scenario, (.rules | join(", "))] | @tsv' "$TMP/out" |
    while IFS=$'\t' read -r missed scenario rules; do
        echo "$missed $scenario${rules:+ (by $rules)}"
    done > "$TMP/caught"
while read -r missed what; do
    ok_status "$missed" "caught: $what"
done < "$TMP/caught"
is "$(wc -l < "$TMP/caught")" "$(tail -n +2 "$D/labels.csv" | cut -d, -f1 | sort -u | wc -l)" \
    "score reports on every scenario of $D/labels.csv"
is "$("$JQ" -r .totals.false_positives "$TMP/out")" 0 "no false positive after the learning period"

run "$CDRWATCH" score "${score_args[@]}" --alerts "$TMP/alerts.jsonl" --check
is "$rc" 0 "cdrwatch score --check passes"
sed 's/^/# /' "$TMP/out"
done_testing
