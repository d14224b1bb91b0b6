#!/bin/bash
# state.sh — snapshot size, and time to write and to restore it, for 100 000 principals with
# every default rule, next to the time the replay itself takes. Synthetic audit lines: each
# principal reads CDRs three times over two days from its own host and program.
#   bench/state.sh [PRINCIPALS]     (from the top of the tree; CDRWATCH=path/to/cdrwatch)
set -euo pipefail
N=${1:-100000}
CDRWATCH=${CDRWATCH:-src/cdrwatch}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
awk -v n="$N" 'BEGIN {
    t0 = 1772409600; # 2026-03-02T00:00:00Z
    for (r = 0; r < 3; r++)
        for (p = 0; p < n; p++) {
            t = t0 + r * 57600 + int(p * 57600 / n);
            printf "{\"ts\":%d%03d,\"principal\":\"user%06d\",\"action\":\"SELECT\",\"client_host\":\"ws%06d\",\"client_app\":\"app%d\",\"object\":\"mediation.cdr_voice\",\"rows\":%d,\"statement\":\"SELECT * FROM mediation.cdr_voice WHERE calling_msisdn = %d\",\"subscribers\":[\"4477%08d\"]}\n", t, p % 1000, p, p, p % 7, 10 + p % 90, p, p
        }
}' > "$TMP/audit.jsonl"
echo "" > "$TMP/empty.jsonl"
ms() { date +%s%N | awk '{ printf "%d", $1 / 1000000 }'; }
t() { local s; s=$(ms); "$@" > /dev/null 2> "$TMP/err"; echo $(($(ms) - s)); }
best() { local b=999999999 x; for _ in 1 2 3; do x=$(t "$@"); [ "$x" -lt "$b" ] && b=$x; done; echo "$b"; }
replay=$(best "$CDRWATCH" replay -q --audit "$TMP/audit.jsonl")
replay_out=$(best "$CDRWATCH" replay -q --audit "$TMP/audit.jsonl" --state-out "$TMP/s.state")
empty=$(best "$CDRWATCH" replay -q --audit "$TMP/empty.jsonl")
restore=$(best "$CDRWATCH" replay -q --audit "$TMP/empty.jsonl" --state-in "$TMP/s.state")
size=$(stat -c %s "$TMP/s.state")
records=$(wc -l < "$TMP/audit.jsonl")
keys=$("$CDRWATCH" replay --audit "$TMP/audit.jsonl" 2>&1 >/dev/null | sed -n 's/.*state: \([0-9]*\) keys.*/\1/p')
echo "principals: $N; audit records: $records; keys over all rules: $keys"
echo "snapshot: $size bytes ($(awk -v s="$size" -v n="$N" 'BEGIN { printf "%.0f", s / n }') bytes per principal)"
echo "replay: $replay ms; replay + write: $replay_out ms -> write $((replay_out - replay)) ms ($(awk -v a="$replay_out" -v b="$replay" 'BEGIN { printf "%.2f", (a - b) / b }') x the replay)"
echo "start on an empty input: $empty ms; with --state-in: $restore ms -> restore $((restore - empty)) ms ($(awk -v a="$restore" -v b="$empty" -v r="$replay" 'BEGIN { printf "%.2f", (a - b) / r }') x the replay)"
