#!/bin/bash
# state.sh — replay --state-out / --state-in on datasets/scenarios (14 days, the shipped
# configuration): a replay cut at several points (inside the learning periods, inside windows,
# at a day boundary, mid-second) and resumed from the snapshot raises exactly the alerts of the
# uncut replay, byte for byte once cdrwatch.observer is removed; damaged, truncated and foreign
# snapshots exit 2 saying what is wrong; configuration changes keep or drop each rule's state.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"
D=datasets/scenarios
gzip -dc "$D/audit.jsonl.gz" > "$TMP/audit.jsonl"
gzip -dc "$D/cdr.csv.gz" > "$TMP/cdr.csv"

# split T: records before T go to the A files, the others to the B files (CSV: both with the header)
split_at() {
    awk -v T="$1" -v A="$TMP/audA.jsonl" -v B="$TMP/audB.jsonl" \
        'match($0, /"ts":"[^"]*"/) { ts = substr($0, RSTART + 6, RLENGTH - 7) } { print > (ts < T ? A : B) }' \
        "$TMP/audit.jsonl"
    awk -F, -v T="$1" -v A="$TMP/cdrA.csv" -v B="$TMP/cdrB.csv" \
        'NR == 1 { print > A; print > B; next } { print > ($1 < T ? A : B) }' "$TMP/cdr.csv"
}

# The uncut replay reads the same four files, so evidence positions name the same files and lines.
full() { run "$CDRWATCH" replay -q "$@" --cdr "$TMP/cdrA.csv" --cdr "$TMP/cdrB.csv" \
    --audit "$TMP/audA.jsonl" --audit "$TMP/audB.jsonl"; }
part_a() { run "$CDRWATCH" replay -q "$@" --cdr "$TMP/cdrA.csv" --audit "$TMP/audA.jsonl"; }
part_b() { run "$CDRWATCH" replay -q "$@" --cdr "$TMP/cdrB.csv" --audit "$TMP/audB.jsonl"; }

rules_after=""
for T in 2026-03-04T13:37:00Z 2026-03-07T23:59:59.999Z 2026-03-09T10:25:00Z 2026-03-11T00:00:00Z \
         2026-03-12T15:07:30.500Z 2026-03-13T14:00:00Z; do
    split_at "$T"
    full
    strip_observer "$TMP/out" > "$TMP/full.jsonl"
    part_a --state-out "$TMP/s.state"
    is "$rc" 0 "cut at $T: replay of the part before exits 0 with --state-out"
    strip_observer "$TMP/out" > "$TMP/a.jsonl"
    part_b --state-in "$TMP/s.state"
    is "$rc" 0 "cut at $T: replay of the part after exits 0 with --state-in"
    strip_observer "$TMP/out" > "$TMP/b.jsonl"
    cat "$TMP/a.jsonl" "$TMP/b.jsonl" > "$TMP/ab.jsonl"
    same_file "$TMP/ab.jsonl" "$TMP/full.jsonl" \
        "cut at $T: before + after = the uncut replay, byte for byte ($(wc -l < "$TMP/a.jsonl") + $(wc -l < "$TMP/b.jsonl") alerts)"
    rules_after="$rules_after $("$JQ" -r '.rule.id' "$TMP/b.jsonl" | sort -u | tr '\n' ' ')"
    # without the state, the part after is not the same: the comparison above can fail
    part_b
    strip_observer "$TMP/out" > "$TMP/b0.jsonl"
    ok_status "$(cmp -s "$TMP/b0.jsonl" "$TMP/b.jsonl" && echo 1 || echo 0)" \
        "cut at $T: without --state-in the part after raises other alerts"
done
# every learned rule kind fired after some cut (first_seen, baselines, low-and-slow, off-hours...)
for r in first-seen-client-host cdr-export-by-non-exporter cdr-read-vs-baseline-1h cdr-low-and-slow \
         cdr-off-hours account-created-then-reads audit-source-silence; do
    contains <(echo "$rules_after" | tr ' ' '\n') "$r" "rule $r fired after a cut (its learned state carried over)"
done
cp "$TMP/s.state" "$TMP/good.state"
perm=$(stat -c %a "$TMP/good.state")
is "$perm" 600 "the state file is written with mode 0600"

# damaged, truncated, foreign and missing files: exit 2, saying what is wrong
size=$(stat -c %s "$TMP/good.state")
cp "$TMP/good.state" "$TMP/bad.state"
printf 'X' | dd of="$TMP/bad.state" bs=1 seek=$((size / 2)) conv=notrunc status=none
part_b --state-in "$TMP/bad.state"
is "$rc" 2 "a damaged state file: exit 2"
contains "$TMP/err" "checksum mismatch: the file is damaged" "... the message says it is damaged"
head -c $((size - 1000)) "$TMP/good.state" > "$TMP/short.state"
part_b --state-in "$TMP/short.state"
is "$rc" 2 "a truncated state file: exit 2"
contains "$TMP/err" "truncated at byte $((size - 1000))" "... the message says where it ends"
part_b --state-in "$TMP/cdrA.csv"
is "$rc" 2 "a foreign file: exit 2"
contains "$TMP/err" "not a cdrwatch state file" "... the message says it is not a state file"
part_b --state-in "$TMP/none.state"
is "$rc" 2 "a missing state file: exit 2"
contains "$TMP/err" "none.state" "... the message names the file"

# configuration changes: the shipped configuration as check-config prints it, edited with jq
"$CDRWATCH" check-config > "$TMP/base.json"
edit() { "$JQ" "$1" "$TMP/base.json" > "$TMP/$2"; }
edit '(.rules[] | select(.id == "cdr-bulk-read-1h")) |= (.threshold = 39000 | .severity = 77 | .suppress = "3h")' \
    threshold.json
edit '(.rules[] | select(.id == "cdr-statement-burst-1h")) |= (.window = "2h" | .bucket = "10m")
      | .rules |= map(select(.id != "first-seen-client-host"))
      | .rules += [(.rules[] | select(.id == "cdr-statement-burst-1h") | .id = "cdr-statement-burst-2h")]' window.json
split_at 2026-03-11T00:00:00Z
part_a --config "$TMP/base.json" --state-out "$TMP/s.state"
part_b --config "$TMP/threshold.json" --state-in "$TMP/s.state"
is "$rc" 0 "a changed threshold, severity and suppression: exit 0"
contains "$TMP/err" "rule cdr-bulk-read-1h: state kept" "... and the rule keeps its state"
part_b --config "$TMP/window.json" --state-in "$TMP/s.state"
is "$rc" 0 "a changed window, a removed and an added rule: exit 0"
contains "$TMP/err" "rule cdr-statement-burst-1h changed" "... the rule with a changed window starts fresh"
contains "$TMP/err" "rule first-seen-client-host is not in the configuration: its state is dropped" \
    "... the removed rule's state is dropped"
contains "$TMP/err" "rule cdr-statement-burst-2h is not in the snapshot: it starts fresh" "... the added rule starts fresh"
contains "$TMP/err" "rule cdr-read-vs-baseline-1h: state kept" "... the others keep their state"
n_rules=$("$JQ" '.rules | length' "$TMP/base.json")
is "$(grep -c 'state: rule' "$TMP/err")" $((n_rules + 1)) "... one decision logged per rule ($n_rules in the snapshot, one added)"
# the rules that kept their state raise exactly the uncut replay's alerts after the cut
keep='select(.rule.id | IN("cdr-statement-burst-1h", "cdr-statement-burst-2h", "first-seen-client-host") | not)'
strip_observer "$TMP/out" | "$JQ" -c "$keep" > "$TMP/b_kept.jsonl"
full --config "$TMP/base.json"
strip_observer "$TMP/out" | "$JQ" -c "$keep" > "$TMP/full_kept.jsonl"
part_a --config "$TMP/base.json"
strip_observer "$TMP/out" | "$JQ" -c "$keep" > "$TMP/a_kept.jsonl"
tail -n +$(($(wc -l < "$TMP/a_kept.jsonl") + 1)) "$TMP/full_kept.jsonl" > "$TMP/full_after.jsonl"
same_file "$TMP/b_kept.jsonl" "$TMP/full_after.jsonl" \
    "the rules that kept their state raise the uncut replay's alerts after the cut ($(wc -l < "$TMP/b_kept.jsonl"))"

# silence.while (audit-rows-vanished, audit-reads-vanished): cut inside the gap, after the last read
# with rows (or the last read) and a few of the records that go on: the count of those
# (cdrwatch.detail.while_records) continues from the snapshot, and the alert is the uncut one's.
for v in rows reads; do
    # the case's lines are written with a space after the colon: drop it, then split as above
    sed 's/": /":/g' "tests/e2e/cases/rule-audit-$v-vanished/audit.jsonl" > "$TMP/audit.jsonl"
    echo "start_time,record_type,calling_msisdn" > "$TMP/cdr.csv"
    split_at 2026-03-03T10:30:00Z
    full
    "$JQ" -c 'select(.rule.id | endswith("-vanished")) | del(.cdrwatch.observer)' "$TMP/out" > "$TMP/full.jsonl"
    part_a --state-out "$TMP/s.state"
    part_b --state-in "$TMP/s.state"
    "$JQ" -c 'select(.rule.id | endswith("-vanished")) | del(.cdrwatch.observer)' "$TMP/out" > "$TMP/b.jsonl"
    is "$(wc -l < "$TMP/full.jsonl")" 1 "audit-$v-vanished: the uncut replay of its case raises its alert"
    same_file "$TMP/b.jsonl" "$TMP/full.jsonl" "audit-$v-vanished: cut inside the gap and resumed, the same alert (while_records included)"
done

done_testing
