#!/bin/bash
# generator.sh — datasets/gen/cdrwatch-gen: it reproduces datasets/scenarios byte for byte with
# the command datasets/README.md gives, check-dataset.py recounts every `rows` from the CDRs and
# finds the labels and the watchlist sound, the scenarios switch on and off and take their
# parameters as --help says, the operator profiles (--profile) add their habits, the three
# scenarios outside datasets/scenarios do what they say, and usage errors exit 2 naming the
# option.
. "$(dirname "$0")/lib.sh"
need_jq
if ! command -v python3 > /dev/null 2>&1; then
    echo "1..0 # SKIP python3 is not installed (Debian: apt-get install python3)"
    [ "${CI:-}" = "true" ] && { echo "not ok 1 - python3 is required under CI"; exit 1; }
    exit 0
fi
cd "$top_srcdir"
GEN="$top_builddir/datasets/gen/cdrwatch-gen"
CHECK=datasets/gen/check-dataset.py
SCENARIO_ARGS="--days 14 --cdr-per-day 4000 --scenarios classic --set bulk-theft.day=9"
ALL="bulk-theft low-and-slow history-harvest export-by-non-exporter off-hours-new-host watchlist-lookup account-created-then-reads audit-tampering source-silence"
NEW="app-credential-abuse batch-extra-run spread-theft"

# 1. datasets/scenarios is what the documented command writes
contains datasets/README.md "cdrwatch-gen $SCENARIO_ARGS --out-dir datasets/scenarios" \
    "datasets/README.md gives the command that generates datasets/scenarios"
run "$GEN" $SCENARIO_ARGS --out-dir "$TMP/sc"
is "$rc" 0 "the generator writes the scenario dataset"
for f in cdr.csv audit.jsonl; do
    gzip -dc "datasets/scenarios/$f.gz" > "$TMP/$f"
    ok_status "$(cmp -s "$TMP/sc/$f" "$TMP/$f"; echo $?)" "datasets/scenarios/$f.gz is the generator's output, byte for byte"
done
for f in labels.csv watchlist.txt; do
    ok_status "$(cmp -s "$TMP/sc/$f" "datasets/scenarios/$f"; echo $?)" "datasets/scenarios/$f is the generator's output, byte for byte"
done
is "$(ls datasets/scenarios | tr '\n' ' ')" "audit.jsonl.gz cdr.csv.gz labels.csv watchlist.txt " \
    "datasets/scenarios holds those four files and nothing else"
is "$(tail -n +2 "$TMP/sc/labels.csv" | cut -d, -f1 | uniq | tr '\n' ' ')" "$ALL " \
    "labels.csv has every scenario, in the order of the scenario table"

# 2. an independent recount: rows against cdr.csv, labels, watchlist
run python3 "$CHECK" "$TMP/sc"
is "$rc" 0 "check-dataset.py accepts the scenario dataset"
contains "$TMP/out" "ok: 50861 CDRs, 12078 audit events" "check-dataset.py recounted the whole set"
contains "$TMP/out" "watchlist: 6 identifiers (6 people); lookups: chen 6, li_officer 25" \
    "only li_officer and the watchlist-lookup scenario look watchlisted people up"
contains "$TMP/out" "label source-silence *: a silence, 0 connection events inside" "source-silence: nothing in the audit trail"
head -2 "$TMP/sc/watchlist.txt" > "$TMP/ids"
ok_status "$(grep -qE '^23415[0-9]{10}$' <(sed -n 1p "$TMP/ids") && grep -qE '^[0-9]{15}$' <(sed -n 2p "$TMP/ids"); echo $?)" \
    "watchlist.txt lists its first person by IMSI and its second by IMEI"
ok_status "$(! grep -qF -f "$TMP/ids" "$TMP/sc/audit.jsonl"; echo $?)" \
    "no audit record names those two by IMSI or IMEI: only the CDRs link them to an MSISDN"

# 3. scenarios switch on and off, and take parameters
run "$GEN" --no-theft --out-dir "$TMP/none1"
run "$GEN" --scenarios none --out-dir "$TMP/none2"
ok_status "$(diff -r "$TMP/none1" "$TMP/none2" > /dev/null; echo $?)" "--no-theft is --scenarios none"
is "$(cat "$TMP/none1/labels.csv")" "scenario,principal,start,end,description" "--scenarios none: labels.csv has only its header"
run "$GEN" --scenarios bulk-theft --out-dir "$TMP/default2"
run "$GEN" --out-dir "$TMP/default1"
ok_status "$(diff -r "$TMP/default1" "$TMP/default2" > /dev/null; echo $?)" "the default set is bulk-theft"
ok_status "$([ ! -e "$TMP/default1/watchlist.txt" ]; echo $?)" "no watchlist, no watchlist.txt"

run "$GEN" --days 14 --scenarios history-harvest --set history-harvest.subscribers=12 \
    --set history-harvest.principal=chen --set history-harvest.host=ws-103.corp.example --out-dir "$TMP/hh"
is "$rc" 0 "one scenario with parameters"
is "$(tail -n +2 "$TMP/hh/labels.csv" | cut -d, -f1-4)" "history-harvest,chen,2026-03-10T14:00:00.000Z,2026-03-10T14:50:00.000Z" \
    "its label: the principal given, the default day and time"
is "$("$JQ" -r 'select(.object == "mediation.cdr_all") | [.principal, .client_host, .subscribers[0]] | @tsv' "$TMP/hh/audit.jsonl" | sort -u | wc -l)" 12 \
    "twelve whole-history pulls of twelve subscribers, by chen from ws-103"
run python3 "$CHECK" "$TMP/hh"
is "$rc" 0 "check-dataset.py: each pull returns the subscriber's whole history"

run "$GEN" --days 14 --scenarios export-by-non-exporter,low-and-slow --set export-by-non-exporter.verb=UNLOAD \
    --set low-and-slow.hours=all --set low-and-slow.days=2 --set low-and-slow.rate=800 --out-dir "$TMP/ex"
is "$rc" 0 "two scenarios, with a verb, hours, days and a rate"
is "$("$JQ" -r 'select(.action == "UNLOAD") | .principal' "$TMP/ex/audit.jsonl" | tr '\n' ' ')" "rpt_weekly rpt_weekly " \
    "export-by-non-exporter: two UNLOADs by rpt_weekly"
is "$("$JQ" -r 'select(.principal == "bob" and .action == "SELECT" and (.ts[11:13] | tonumber) < 6) | .ts[0:10]' "$TMP/ex/audit.jsonl" | sort -u | tr '\n' ' ')" \
    "2026-03-10 2026-03-11 " "low-and-slow hours=all days=2: bob reads at night on two days"
run python3 "$CHECK" "$TMP/ex"
is "$rc" 0 "check-dataset.py recounts the UNLOADs and the history walk"

# 4. operator profiles: the default is the operator of datasets/small; the others add habits
run "$GEN" --profile default --out-dir "$TMP/profile-default"
ok_status "$(diff -r "$TMP/default1" "$TMP/profile-default" > /dev/null; echo $?)" "--profile default writes what no --profile does"
run "$GEN" --profile large --days 8 --subscribers 2000 --cdr-per-day 8000 --lookups-per-day 300 --no-theft --out-dir "$TMP/large"
is "$rc" 0 "--profile large, scaled down by --subscribers, --cdr-per-day and --lookups-per-day"
is "$("$JQ" -r 'select(.principal == "svc_billing" and .action == "COPY" and .ts[0:10] == "2026-03-03") | .ts[11:13] + " " + .object' "$TMP/large/audit.jsonl" | sort | uniq -c | awk '{ print $1 }' | sort -u | tr '\n' ' ')" "1 " \
    "large: one COPY of each table per billing run"
is "$("$JQ" -r 'select(.principal == "svc_billing" and .action == "COPY" and .ts[0:10] == "2026-03-03") | .ts[11:13]' "$TMP/large/audit.jsonl" | sort -u | tr '\n' ' ')" "01 07 13 19 " \
    "large: the billing extract runs four times a day"
is "$("$JQ" -r 'select(.principal == "svc_dwh") | .ts[0:13]' "$TMP/large/audit.jsonl" | sort | uniq -c | awk '{ print $1 }' | sort -u | tr '\n' ' ')" "3 " \
    "large: svc_dwh reads the three tables once an hour"
is "$("$JQ" -r 'select(.principal == "svc_dwh") | .ts[0:13]' "$TMP/large/audit.jsonl" | sort -u | wc -l)" $((8 * 24 - 1)) \
    "large: ... every hour but the first"
is "$("$JQ" -r 'select(.principal == "rpt_weekly" and .ts[0:10] == "2026-03-09" and (.statement | test("GROUP BY") | not)) | .rows' "$TMP/large/audit.jsonl" | awk '{ s += $1 } END { print s }')" \
    "$(awk -F, '$1 >= "2026-03-02T06" && $1 < "2026-03-09T06" { n++ } END { print n }' "$TMP/large/cdr.csv")" \
    "large: rpt_weekly reads every CDR of the week (about the 7 days before 06:00 on Monday)"
run python3 "$CHECK" "$TMP/large"
is "$rc" 0 "check-dataset.py recounts the large profile's extracts, loads and weekly report"
run "$GEN" --profile fraud-heavy --days 3 --subscribers 3000 --cdr-per-day 12000 --no-theft --out-dir "$TMP/fh"
is "$rc" 0 "--profile fraud-heavy"
is "$("$JQ" -r 'select(.principal == "svc_fraud" and .action == "SELECT") | .ts[0:10]' "$TMP/fh/audit.jsonl" | sort | uniq -c | awk '$1 >= 3800 && $1 <= 4200' | wc -l)" 3 \
    "fraud-heavy: about 4000 lookups a day"
"$JQ" -r 'select(.object == "mediation.cdr_all") | .subscribers[0]' "$TMP/fh/audit.jsonl" | sort -u > "$TMP/fh/cases"
cut -d, -f3 "$TMP/fh/cdr.csv" | tail -n +2 | sort | uniq -c | sort -k1,1nr | awk 'NR <= 60 { print $2 }' | sort > "$TMP/fh/top1pc"
ok_status "$([ -s "$TMP/fh/cases" ] && [ -z "$(comm -23 "$TMP/fh/cases" "$TMP/fh/top1pc")" ]; echo $?)" \
    "fraud-heavy: the analysts pull whole histories ($(wc -l < "$TMP/fh/cases") subscribers), of heavy users only (drawn among the top 1 % by activity: all among the 60 busiest of 3000)"
run python3 "$CHECK" "$TMP/fh"
is "$rc" 0 "check-dataset.py recounts the case histories"
run "$GEN" --profile huge --out-dir "$TMP/x"
is "$rc" 2 "--profile huge: exit 2"
contains "$TMP/err" "--profile: expected default, large or fraud-heavy" "... and the profiles are listed"

# 5. the three scenarios outside datasets/scenarios
run "$GEN" --days 11 --cdr-per-day 4000 --no-theft --out-dir "$TMP/app0"
run "$GEN" --days 11 --cdr-per-day 4000 --scenarios app-credential-abuse --out-dir "$TMP/app"
is "$rc" 0 "app-credential-abuse"
is "$(tail -n +2 "$TMP/app/labels.csv" | cut -d, -f1-4)" "app-credential-abuse,svc_fraud,2026-03-10T20:00:00.000Z,2026-03-12T08:00:00.000Z" \
    "its label: svc_fraud for a day and a half"
# its lookups are the lines only the second set has; the usual ones, svc_fraud's in the same window
comm -13 <(sort "$TMP/app0/audit.jsonl") <(sort "$TMP/app/audit.jsonl") > "$TMP/app/extra"
is "$("$JQ" -r '[.principal, .client_host, .client_app] | @tsv' "$TMP/app/extra" | sort -u)" "$(printf 'svc_fraud\tfraud01.corp.example\tfraudengine')" \
    "its lookups come from svc_fraud's usual host and program"
ratio=$("$JQ" -rs '[.[] | select(.status == "ok") | .rows] | add / length' "$TMP/app/extra")
usual=$("$JQ" -rs '[.[] | select(.principal == "svc_fraud" and .status == "ok" and .ts >= "2026-03-10T20" and .ts < "2026-03-12T08") | .rows] | add / length' "$TMP/app0/audit.jsonl")
ok_status "$(awk -v a="$ratio" -v u="$usual" 'BEGIN { exit !(a >= 2 * u && a <= 3 * u) }'; echo $?)" \
    "each of its $(wc -l < "$TMP/app/extra") lookups reads 2-3 times the usual rows (mean $ratio against $usual)"
run python3 "$CHECK" "$TMP/app"
is "$rc" 0 "check-dataset.py recounts its lookups"

run "$GEN" --days 10 --cdr-per-day 4000 --scenarios batch-extra-run --set batch-extra-run.at=15:20 --out-dir "$TMP/batch"
is "$rc" 0 "batch-extra-run, at 15:20"
is "$("$JQ" -r 'select(.principal == "svc_billing") | .ts[11:13]' "$TMP/batch/audit.jsonl" | sort | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ')" "01:36 15:4 " \
    "svc_billing runs at 01 every night (9 x 4 statements) and once at 15, the extra run"
is "$("$JQ" -r 'select(.principal == "svc_billing" and .ts[11:13] == "15") | .statement[0:40]' "$TMP/batch/audit.jsonl" | md5sum)" \
    "$("$JQ" -r 'select(.principal == "svc_billing" and .ts[0:10] == "2026-03-11") | .statement[0:40]' "$TMP/batch/audit.jsonl" | head -4 | md5sum)" \
    "... with the statements of its usual run"
run python3 "$CHECK" "$TMP/batch"
is "$rc" 0 "check-dataset.py recounts the extra run"

run "$GEN" --days 17 --cdr-per-day 4000 --scenarios spread-theft --set spread-theft.rows=2000 --out-dir "$TMP/spread"
is "$rc" 0 "spread-theft, 2000 rows a night"
is "$("$JQ" -r 'select(.principal == "svc_monitor" and .object != null) | .ts[0:10]' "$TMP/spread/audit.jsonl" | sort -u | wc -l)" 10 \
    "svc_monitor reads CDR tables on ten nights"
"$JQ" -r 'select(.principal == "svc_monitor" and .object != null) | [.ts[0:10], .rows] | @tsv' "$TMP/spread/audit.jsonl" |
    awk '{ s[$1] += $2 } END { for (d in s) if (s[d] < 1700 || s[d] > 2300) bad++; print bad + 0 }' > "$TMP/spread/bad"
is "$(cat "$TMP/spread/bad")" 0 "... about 2000 rows each night (+-10 %, and the chunks' rounding)"
run python3 "$CHECK" "$TMP/spread"
is "$rc" 0 "check-dataset.py recounts the walk"
run "$GEN" --days 14 --scenarios spread-theft --out-dir "$TMP/x"
is "$rc" 2 "spread-theft in 14 days: exit 2"
contains "$TMP/err" "--days: expected at least 17 days for scenario spread-theft" "... and the days needed are said"

run "$GEN" --seed 2 --out-dir "$TMP/seed2"
ok_status "$(! cmp -s "$TMP/seed2/cdr.csv" "$TMP/default1/cdr.csv"; echo $?)" "another seed, other CDRs"

# 6. usage errors name the option and what was expected
run "$GEN" --scenarios bogus --out-dir "$TMP/x"
is "$rc" 2 "--scenarios bogus: exit 2"
contains "$TMP/err" "--scenarios: expected all, none, or names separated by commas among: bulk-theft, low-and-slow" \
    "--scenarios bogus: the names are listed"
run "$GEN" --set bulk-theft.rate=5 --out-dir "$TMP/x"
is "$rc" 2 "a parameter the scenario does not have: exit 2"
contains "$TMP/err" "expected a parameter of bulk-theft (day, at, minutes, principal, host, app)" "... and its parameters are listed"
run "$GEN" --set history-harvest.subscribers=5 --out-dir "$TMP/x"
is "$rc" 2 "--set on a scenario not selected: exit 2"
run "$GEN" --scenarios all --out-dir "$TMP/x"
is "$rc" 2 "--scenarios all in 4 days: exit 2"
contains "$TMP/err" "--days: expected at least 11 days for scenario low-and-slow" "... and the days needed are said"
run "$GEN" --days 2 --out-dir "$TMP/x"
is "$rc" 2 "the default bulk-theft in 2 days: exit 2"
run "$GEN" --days 14 --scenarios watchlist-lookup --watchlist 2 --out-dir "$TMP/x"
is "$rc" 2 "--watchlist 2: exit 2 (one by IMSI, one by IMEI, one by MSISDN at least)"
run "$GEN" --set low-and-slow.hours=dusk --scenarios low-and-slow --days 14 --out-dir "$TMP/x"
is "$rc" 2 "an unknown choice: exit 2"
contains "$TMP/err" "expected one of edges|all for 'hours'" "... and the choices are listed"

run "$GEN" --help
is "$rc" 0 "--help: exit 0"
for name in $ALL $NEW default large fraud-heavy; do
    contains "$TMP/out" "  $name" "--help describes $name"
done
contains "$TMP/out" "--out-dir datasets/scenarios" "--help shows how datasets/scenarios is made"

done_testing
