#!/bin/bash
# state.sh — snapshot size, and time to write and to restore it, next to the time the replay
# itself takes, for two inputs:
#  1. PRINCIPALS principals through every default rule (synthetic audit lines: each principal
#     reads CDRs three times over two days from its own host and program);
#  2. the CDR reference of SUBSCRIBERS subscribers (synthetic CDRs: each subscriber calls
#     another once, with its own IMSI and IMEI, over two days).
#   bench/state.sh [PRINCIPALS [SUBSCRIBERS]]   (from the top of the tree; CDRWATCH=path/to/cdrwatch)
# Defaults 100000 and 1000000; 0 leaves a part out. Times are the best of three runs.
set -euo pipefail
N=${1:-100000}
S=${2:-1000000}
CDRWATCH=${CDRWATCH:-src/cdrwatch}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "" > "$TMP/empty.jsonl"
ms() { date +%s%N | awk '{ printf "%d", $1 / 1000000 }'; }
t() { local s; s=$(ms); "$@" > /dev/null 2> "$TMP/err"; echo $(($(ms) - s)); }
best() { local b=999999999 x; for _ in 1 2 3; do x=$(t "$@"); [ "$x" -lt "$b" ] && b=$x; done; echo "$b"; }

# measure NAME UNITS COUNT INPUT-OPTIONS...: replay, replay + write, empty start, empty start + restore
measure() {
    local name=$1 units=$2 count=$3 replay replay_out empty restore size
    shift 3
    replay=$(best "$CDRWATCH" replay -q "$@")
    replay_out=$(best "$CDRWATCH" replay -q "$@" --state-out "$TMP/s.state")
    empty=$(best "$CDRWATCH" replay -q --audit "$TMP/empty.jsonl")
    restore=$(best "$CDRWATCH" replay -q --audit "$TMP/empty.jsonl" --state-in "$TMP/s.state")
    size=$(stat -c %s "$TMP/s.state")
    echo "$name snapshot: $size bytes ($(awk -v s="$size" -v n="$count" 'BEGIN { printf "%.0f", s / n }') bytes per $units)"
    echo "$name replay: $replay ms; replay + write: $replay_out ms -> write $((replay_out - replay)) ms ($(awk -v a="$replay_out" -v b="$replay" 'BEGIN { printf "%.2f", (a - b) / b }') x the replay)"
    echo "$name start on an empty input: $empty ms; with --state-in: $restore ms -> restore $((restore - empty)) ms ($(awk -v a="$restore" -v b="$empty" -v r="$replay" 'BEGIN { printf "%.2f", (a - b) / r }') x the replay)"
}

if [ "$N" -gt 0 ]; then
    awk -v n="$N" 'BEGIN {
        t0 = 1772409600; # 2026-03-02T00:00:00Z
        for (r = 0; r < 3; r++)
            for (p = 0; p < n; p++) {
                t = t0 + r * 57600 + int(p * 57600 / n);
                printf "{\"ts\":%d%03d,\"principal\":\"user%06d\",\"action\":\"SELECT\",\"client_host\":\"ws%06d\",\"client_app\":\"app%d\",\"object\":\"mediation.cdr_voice\",\"rows\":%d,\"statement\":\"SELECT * FROM mediation.cdr_voice WHERE calling_msisdn = %d\",\"subscribers\":[\"4477%08d\"]}\n", t, p % 1000, p, p, p % 7, 10 + p % 90, p, p
            }
    }' > "$TMP/audit.jsonl"
    records=$(wc -l < "$TMP/audit.jsonl")
    keys=$("$CDRWATCH" replay --audit "$TMP/audit.jsonl" 2>&1 >/dev/null | sed -n 's/.*state: \([0-9]*\) keys.*/\1/p')
    echo "principals: $N; audit records: $records; keys over all rules: $keys"
    measure principals principal "$N" --audit "$TMP/audit.jsonl"
    rm -f "$TMP/audit.jsonl" "$TMP/s.state"
fi

if [ "$S" -gt 0 ]; then
    awk -v n="$S" 'BEGIN {
        t0 = 1772409600; # 2026-03-02T00:00:00Z
        print "start_time,record_type,calling_msisdn,called_msisdn,duration_s,record_id,imsi,imei,cell_id,bytes_up,bytes_down"
        for (p = 0; p < n; p++) {
            t = t0 + int(p * 172800 / n);
            printf "%s.%03dZ,voice,+4477%08d,+4477%08d,%d,r%d,23415%010d,35%013d,234-15-1200-%d,,\n", \
                strftime("%Y-%m-%dT%H:%M:%S", t, 1), p % 1000, p, (p * 7 + 1) % n, 10 + p % 300, p, p, p, p % 5000
        }
    }' > "$TMP/cdr.csv"
    echo "subscribers: $S; CDRs: $(($(wc -l < "$TMP/cdr.csv") - 1))"
    measure reference subscriber "$S" --cdr "$TMP/cdr.csv"
fi
