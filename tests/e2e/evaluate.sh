#!/bin/bash
# evaluate.sh — the evaluation of the shipped default configuration, in two parts:
#
# 1. datasets/scenarios: replay the 14 days, score the alerts against the labels (cdrwatch score
#    --check), with the first week (2026-03-02 to 03-08, benign only) as the learning period.
#    Every scenario caught and no false positive, or the test fails.
# 2. every operator profile of the generator (default, large, fraud-heavy; datasets/README.md
#    describes them), generated here into $TMP: 17 days with every scenario (the nine of
#    datasets/scenarios and app-credential-abuse, batch-extra-run, spread-theft, blinding-rows,
#    blinding-reads), the first week for learning. Each must generate, replay and score without error, and the default profile
#    must still catch the nine with no false positive; every profile must catch all fourteen
#    scenarios (app-credential-abuse by cdr-lookup-shift-24h, spread-theft by cdr-first-read),
#    with no false positive at all (the adaptive floors, the lookup profile's ceiling). The other
#    numbers are printed, not asserted (the tables of datasets/README.md, "Other operators").
#
# Prints TAP, with the tables as comments.
#
#   tests/e2e/evaluate.sh              TAP, as `make check` would run it
#   tests/e2e/evaluate.sh --markdown   only the Markdown table of part 1 (datasets/README.md)
#   tests/e2e/evaluate.sh --profiles   only the Markdown table of part 2 (datasets/README.md)
#
# It runs $CDRWATCH (default: src/cdrwatch of the source tree) and $GEN (default:
# datasets/gen/cdrwatch-gen of the build tree); after an out-of-tree build give
# CDRWATCH=path/to/build/src/cdrwatch GEN=path/to/build/datasets/gen/cdrwatch-gen.
#
# In TESTS: a scenario the shipped rules stop catching, or a false positive, on datasets/scenarios
# or on the default profile, fails the suite; so does a profile that fails to generate or score.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
D=datasets/scenarios
LEARNING_UNTIL=2026-03-09T00:00:00Z

# The watchlist of the dataset; li_officer, the lawful-intercept account that may look those
# people up, is allowed by the shipped list watchlist_allowed (li_*).
replay_args=(--quiet --cdr "$D/cdr.csv.gz" --audit "$D/audit.jsonl.gz" --watchlist "$D/watchlist.txt")
score_args=(--labels "$D/labels.csv" --learning-until "$LEARNING_UNTIL")

MODE=${1:-}

# 1. datasets/scenarios
evaluate_scenarios() {
    run "$CDRWATCH" replay "${replay_args[@]}"
    mv "$TMP/out" "$TMP/alerts.jsonl"
    if [ "$MODE" = "--markdown" ]; then
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
}

# 2. every operator profile. 17 days from Monday 2026-03-02: the learning week, then the ten
# days that spread-theft needs; bulk-theft moved into the second week as in datasets/scenarios,
# and source-silence to the last day, after spread-theft's last night, so that the silence alert
# (it names each principal that went quiet, svc_monitor among them) is not counted for it.
: "${GEN:=$top_builddir/datasets/gen/cdrwatch-gen}"
PROFILES="default large fraud-heavy"
PROFILE_ARGS=(--days 17 --scenarios all --set bulk-theft.day=9 --set source-silence.day=16)
PROFILE_WEEKS_NUM=10 PROFILE_WEEKS_DEN=7 # scored days after the learning week, in weeks: 10/7

# evaluate_profile NAME: generate, replay, score; leaves $TMP/NAME.json (score --format json)
evaluate_profile() {
    local name=$1 dir="$TMP/$1"
    run "$GEN" --profile "$name" "${PROFILE_ARGS[@]}" --out-dir "$dir"
    is "$rc" 0 "profile $name: cdrwatch-gen --profile $name ${PROFILE_ARGS[*]} exits 0"
    run "$CDRWATCH" replay --quiet --cdr "$dir/cdr.csv" --audit "$dir/audit.jsonl" --watchlist "$dir/watchlist.txt"
    is "$rc" 0 "profile $name: replay with the shipped configuration exits 0"
    is "$(head -c 300 "$TMP/err")" "" "profile $name: no dead letter and no warning"
    mv "$TMP/out" "$dir/alerts.jsonl"
    rm -f "$dir/cdr.csv" "$dir/audit.jsonl" # up to 330 MB for large; only the alerts are scored
    run "$CDRWATCH" score --labels "$dir/labels.csv" --learning-until "$LEARNING_UNTIL" \
        --alerts "$dir/alerts.jsonl" --format json
    is "$rc" 0 "profile $name: score reads its labels and alerts"
    mv "$TMP/out" "$TMP/$name.json"
    is "$("$JQ" -r '.scenarios | length' "$TMP/$name.json")" "$(tail -n +2 "$dir/labels.csv" | cut -d, -f1 | sort -u | wc -l)" \
        "profile $name: score reports on each of its scenarios"
}

# The per-profile table, in Markdown: a row per scenario (caught and delay in each profile),
# then the false positives per profile-week.
profile_table() {
    local names=() n
    for n in $PROFILES; do names+=("$TMP/$n.json"); done
    "$JQ" -rs --arg profiles "$PROFILES" --argjson num "$PROFILE_WEEKS_NUM" --argjson den "$PROFILE_WEEKS_DEN" '
        def two: tostring | if length < 2 then "0" + . else . end;
        def delay: (. / 1000 | floor) as $s
            | if $s >= 86400 then "\($s / 86400 | floor)d\($s % 86400 / 3600 | floor | two)h"
              elif $s >= 3600 then "\($s / 3600 | floor)h\($s % 3600 / 60 | floor | two)m"
              elif $s >= 60 then "\($s / 60 | floor)m\($s % 60 | two)s"
              else "\($s)s" end;
        def cell: if .caught then "yes, \(.delay_ms | delay)" else "**missed**" end;
        ($profiles | split(" ")) as $p
        | "| scenario | " + ($p | join(" | ")) + " |",
          "|---" + ($p | map("|---") | join("")) + "|",
          (.[0].scenarios | map(.scenario))[] as $sc
          | "| \($sc) | " + ([.[] | .scenarios[] | select(.scenario == $sc) | cell] | join(" | ")) + " |"' \
        "${names[@]}"
    "$JQ" -rs --argjson num "$PROFILE_WEEKS_NUM" --argjson den "$PROFILE_WEEKS_DEN" '
        "| false positives (per week) | " + ([.[] | .totals.false_positives
            | "\(.) (\(. * $den * 10 / $num | round / 10))"] | join(" | ")) + " |"' "${names[@]}"
}

# ---- after tune (issue 9, item 3) -------------------------------------------------------------
# --profiles only: per profile, `cdrwatch tune` over the learning week writes an overlay, and the
# replay of all 17 days with the shipped configuration plus that overlay is scored. The profile
# is generated again (the generator is deterministic): evaluate_profile removes its inputs.
# tune never sees the labels; they only score.
after_tune_profile() {
    local name=$1 dir="$TMP/$1-tune"
    "$GEN" --profile "$name" "${PROFILE_ARGS[@]}" --out-dir "$dir" > /dev/null 2>&1 || return 1
    local in=(--cdr "$dir/cdr.csv" --audit "$dir/audit.jsonl" --watchlist "$dir/watchlist.txt")
    "$CDRWATCH" tune --quiet "${in[@]}" --until "$LEARNING_UNTIL" --write "$dir/overlay.json" || return 1
    "$CDRWATCH" replay --quiet --config config/cdrwatch.json --config "$dir/overlay.json" "${in[@]}" \
        > "$dir/alerts.jsonl" || return 1
    rm -f "$dir/cdr.csv" "$dir/audit.jsonl"
    "$CDRWATCH" score --labels "$dir/labels.csv" --learning-until "$LEARNING_UNTIL" --alerts "$dir/alerts.jsonl" \
        --format json > "$TMP/$name-tuned.json"
}
# The row of the per-profile table: false positives after tune, per week in brackets.
after_tune_row() {
    local names=() n
    for n in $PROFILES; do names+=("$TMP/$n-tuned.json"); done
    "$JQ" -rs --argjson num "$PROFILE_WEEKS_NUM" --argjson den "$PROFILE_WEEKS_DEN" '
        "| false positives after tune (per week) | " + ([.[] | .totals.false_positives
            | "\(.) (\(. * $den * 10 / $num | round / 10))"] | join(" | ")) + " |"' "${names[@]}"
}
# ---- end of after tune ------------------------------------------------------------------------

if [ "$MODE" != "--profiles" ]; then
    evaluate_scenarios
fi
for p in $PROFILES; do
    if [ "$MODE" = "--profiles" ]; then
        evaluate_profile "$p" > /dev/null
    else
        evaluate_profile "$p"
    fi
done
if [ "$MODE" = "--profiles" ]; then
    [ "$tap_failed" -eq 0 ] || { echo "evaluate.sh: a profile failed to generate, replay or score" >&2; exit 1; }
    profile_table
    # after tune (issue 9, item 3)
    for p in $PROFILES; do
        after_tune_profile "$p" || { echo "evaluate.sh: tune of profile $p failed" >&2; exit 1; }
    done
    after_tune_row
    exit 0
fi
"$JQ" -r '.scenarios[] | select(.scenario as $s | ["app-credential-abuse", "batch-extra-run",
    "spread-theft", "blinding-rows", "blinding-reads"] | index($s) | not) | [(if .caught then 0 else 1 end), .scenario] | @tsv' \
    "$TMP/default.json" > "$TMP/caught"
is "$(wc -l < "$TMP/caught")" 9 "profile default: the nine scenarios of datasets/scenarios are scored"
while read -r missed what; do
    ok_status "$missed" "profile default: caught: $what"
done < "$TMP/caught"
is "$("$JQ" -r .totals.false_positives "$TMP/default.json")" 0 "profile default: no false positive after the learning period"
# What issues 9 and 14 made hold on every profile: the fourteen scenarios are caught
# (app-credential-abuse by the lookup profile of cdr-lookup-shift-24h, spread-theft by
# cdr-first-read, blinding-rows and blinding-reads by audit-rows-vanished and audit-reads-vanished),
# and no account raises a false positive: no batch or application account (svc_*), whose volumes
# its own history explains, no analyst (case pulls are left to cdr-history-harvest-24h, their
# hours judged with the hour either side), and not rpt_weekly, whose weekly report reads the
# store's week before the first generated day as any week (datasets/README.md).
for p in $PROFILES; do
    "$JQ" -r '.scenarios[] | [(if .caught then 0 else 1 end), .scenario] | @tsv' "$TMP/$p.json" > "$TMP/caught"
    is "$(wc -l < "$TMP/caught")" 14 "profile $p: fourteen scenarios scored"
    while read -r missed what; do
        ok_status "$missed" "profile $p: caught: $what"
    done < "$TMP/caught"
    is "$("$JQ" -r '.scenarios[] | select(.scenario == "app-credential-abuse") | .rules | index("cdr-lookup-shift-24h") != null' \
        "$TMP/$p.json")" true "profile $p: app-credential-abuse is caught by the lookup profile (cdr-lookup-shift-24h)"
    is "$("$JQ" -r '[.false_positives[]? | "\(.rule) on \(.user)"] | join(", ")' "$TMP/$p.json")" "" \
        "profile $p: no false positive after the learning week"
done
profile_table > "$TMP/table"
is "$(grep -c '^|' "$TMP/table")" 17 "the per-profile table: a header, a rule, 14 scenarios and the false positives"
echo "# per profile (tests/e2e/evaluate.sh --profiles), with the shipped configuration:"
sed 's/^/# /' "$TMP/table"
for p in $PROFILES; do
    "$JQ" -r --arg p "$p" '.false_positives[]? | "#   \($p): \(.rule) on \(.user): \(.alerts)"' "$TMP/$p.json"
done
done_testing
