#!/bin/bash
# hostile_input.sh — input and configuration that once crashed or fooled replay (issue 11):
# a rule regex with back-references (glibc's matcher recursed without end on `(|)(\1\1)*`, a
# SIGSEGV on the first statement) is refused at load by every command, naming the file, the rule
# and the field; a line over 1 MiB before a CSV header is a dead letter and the header after it is
# read; a --cdr file with a 100 000-column header is one usage error, not a dead letter per line.
# The inputs are generated here at run time (a few MiB in $TMP), not checked in.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"

# --- back-references refused at load ---
"$JQ" '.rules[0].filter.statement = {"regex": "(|)(\\1\\1)*"}' config/cdrwatch.json > "$TMP/backref.json"
rule=$("$JQ" -r '.rules[0].id' config/cdrwatch.json)
want="backref.json: rules[0].filter.statement.regex: rule \"$rule\": expected a regular expression without back-references"
run "$CDRWATCH" check-config --config "$TMP/backref.json"
is "$rc" 2 "check-config, a back-reference in a filter regex: exit 2"
contains "$TMP/err" "$want" "check-config names the file, the rule and the field"
printf '{"ts":"2026-03-04T01:00:00Z","principal":"a","action":"SELECT","object":"o","rows":1,"statement":"SELECT 1"}\n' \
    > "$TMP/one.jsonl"
run "$CDRWATCH" replay --config "$TMP/backref.json" --audit "$TMP/one.jsonl"
is "$rc" 2 "replay with the crash regex (|)(\\1\\1)*: exit 2, no crash"
contains "$TMP/err" "$want" "replay names the file, the rule and the field"
"$JQ" '(.rules[] | select(.kind == "sequence") | .sequence.extract) = "(user)[[:space:]]+\\1"' config/cdrwatch.json \
    > "$TMP/extract.json"
run "$CDRWATCH" check-config --config "$TMP/extract.json"
is "$rc" 2 "check-config, a back-reference in a sequence extract: exit 2"
contains "$TMP/err" "sequence.extract: rule \"" "the extract is named"

# --- an oversized first line: a dead letter, then the header is read ---
{
    head -c 1200000 /dev/zero | tr '\0' A
    echo
    echo 'ts,principal,action,object,rows,statement'
    echo '2026-03-04T01:00:00Z,after,SELECT,mediation.cdr_voice,20,SELECT 1'
} > "$TMP/first.csv"
run "$CDRWATCH" replay --audit "$TMP/first.csv" --dlq "$TMP/first.dlq"
is "$rc" 0 "a 1.2 MB first line before the CSV header: exit 0"
is "$("$JQ" -r '[.source, .reason, (.record | length)] | join(" ")' "$TMP/first.dlq" | sed "s|^$TMP/||")" \
    "first.csv:1 oversize 256" "one dead letter, oversize, at line 1, with its first 256 bytes"
contains "$TMP/err" "records: cdr=0 audit=1;" "the record under the header is read"
contains "$TMP/err" "skipped lines: 0;" "no line skipped"

# --- a 100 000-column header as --cdr: one usage error ---
{
    seq 0 99999 | sed 's/^/c/' | paste -sd, -
    seq 0 99999 | paste -sd, -
    seq 0 99999 | paste -sd, -
} > "$TMP/wide.csv"
run "$CDRWATCH" replay --cdr "$TMP/wide.csv"
is "$rc" 2 "--cdr with a 100 000-column header: exit 2"
contains "$TMP/err" "the CSV header lacks the required cdr column(s) start_time" "the missing columns are named"
contains "$TMP/err" "among its first 256 columns (of 100000; the others are not read)" "and the header's width"
is "$(grep -c 'dead letter' "$TMP/err")" 0 "no dead letter"

# --- a replay that stops early does not wait for an input that says nothing more ---
# A FIFO whose writer stays (fd 3, opened read-write here, never closed during the replay) holds
# 200 audit records (about 400 KiB, more than one read, fewer than the decoding ring's slots),
# all later than the CDRs: their decoding thread has read them all and waits in read() for more.
# The CDR file is cut short, so the replay stops on its read error; the stop must interrupt that
# read (it used to wait for the writer to close: for ever). `timeout` only bounds a hang: 124
# would mean the replay waited.
pad=$(head -c 2000 /dev/zero | tr '\0' x)
(gzip -dc datasets/small/cdr.csv.gz || true) | head -n 3000 | gzip > "$TMP/cdr3k.csv.gz"
head -c 20000 "$TMP/cdr3k.csv.gz" > "$TMP/cdr-cut.csv.gz"
mkfifo "$TMP/live-audit"
exec 3<> "$TMP/live-audit"
(gzip -dc datasets/small/audit.jsonl.gz || true) | tail -n 200 | "$JQ" -c --arg p "$pad" '.pad = $p' > "$TMP/live.jsonl"
cat "$TMP/live.jsonl" >&3 & # more than the FIFO holds: written while the replay reads
writer=$!
run timeout 120 "$CDRWATCH" replay --quiet --audit "$TMP/live-audit" --cdr "$TMP/cdr-cut.csv.gz"
exec 3>&-
wait "$writer" 2> /dev/null || true
is "$rc" 1 "a read error while another input is a FIFO kept open: exit 1, without waiting for the FIFO"
contains "$TMP/err" "cdr-cut.csv.gz: read error" "the read error is named"

done_testing
