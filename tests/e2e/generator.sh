#!/bin/bash
# generator.sh — datasets/gen/cdrwatch-gen: it reproduces datasets/scenarios byte for byte with
# the command datasets/README.md gives, check-dataset.py recounts every `rows` from the CDRs and
# finds the labels and the watchlist sound, the scenarios switch on and off and take their
# parameters as --help says, and usage errors exit 2 naming the option.
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

run "$GEN" --seed 2 --out-dir "$TMP/seed2"
ok_status "$(! cmp -s "$TMP/seed2/cdr.csv" "$TMP/default1/cdr.csv"; echo $?)" "another seed, other CDRs"

# 4. usage errors name the option and what was expected
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
for name in $ALL; do
    contains "$TMP/out" "  $name" "--help describes $name"
done
contains "$TMP/out" "--out-dir datasets/scenarios" "--help shows how datasets/scenarios is made"

done_testing
