#!/bin/bash
# hostile_load.sh — a flood of new principals and hosts cannot push a thief out of the key
# tables (doc/configuration.md, engine.max_keys; doc/security.md). With the shipped rules and
# engine.max_keys 50, a thief reads 4 500 CDR rows every 6 minutes for an hour (45 000 rows:
# cdr-bulk-read-1h's floor is 40 000), and between two of its reads come 50 principals never seen
# before, each from its own host with one small read: 500 in all, 10x max_keys. Plain LRU would
# evict the thief between its reads and its window would never reach the floor; the tables evict
# the one-record keys instead, count the thief's spares, and the thief's alert fires. The input is
# generated here (about 100 KB in $TMP), not checked in.
# Then the files cdrwatch writes get their modes whatever the umask and whatever was there
# before (doc/security.md): state and dead letters 0600, alerts, tune's overlay and report 0640;
# a device named as an output keeps its own mode.
. "$(dirname "$0")/lib.sh"
need_jq

MAX_KEYS=50
cd "$TMP"
printf '{"engine": {"max_keys": %d}}\n' "$MAX_KEYS" > small.json
# time in seconds after 2026-03-04T00:00:00Z: the thief at 0, 360, ..., 3240; the flood's 50
# between two reads, 6 s apart, from 6 s after each read
awk -v max_keys="$MAX_KEYS" 'BEGIN {
    for (r = 0; r < 10; r++) {
        t = r * 360
        printf "{\"ts\":\"2026-03-04T%02d:%02d:%02dZ\",\"principal\":\"thief\",\"client_host\":\"10.6.6.6\",", t / 3600, t % 3600 / 60, t % 60
        printf "\"action\":\"SELECT\",\"object\":\"mediation.cdr_voice\",\"rows\":4500,\"statement\":\"SELECT * FROM mediation.cdr_voice WHERE day = %d\"}\n", r
        for (f = 0; f < max_keys; f++) {
            u = t + 6 + f * 6; n = r * max_keys + f
            printf "{\"ts\":\"2026-03-04T%02d:%02d:%02dZ\",\"principal\":\"flood%d\",\"client_host\":\"10.%d.%d.%d\",", u / 3600, u % 3600 / 60, u % 60, n, n / 65536 % 256, n / 256 % 256, n % 256
            printf "\"action\":\"SELECT\",\"object\":\"mediation.cdr_voice\",\"rows\":1,\"statement\":\"SELECT 1\"}\n"
        }
    }
}' > audit.jsonl
is "$(wc -l < audit.jsonl)" $((10 + 10 * MAX_KEYS)) "the input: 10 reads of the thief, 10x max_keys one-record principals"

run "$CDRWATCH" replay --config "$top_srcdir/config/cdrwatch.json" --config small.json --audit audit.jsonl
is "$rc" 0 "replay exits 0"
is "$("$JQ" -r 'select(.rule.id == "cdr-bulk-read-1h") | .cdrwatch.key.principal' "$TMP/out")" thief \
    "the thief's bulk read over the hour raises cdr-bulk-read-1h"
is "$("$JQ" -r 'select(.rule.id == "cdr-bulk-read-1h") | .cdrwatch.metric.value' "$TMP/out")" 40500 \
    "at its 9th read: the window held every read of the hour (9 x 4500)"
is "$("$JQ" -r 'select(.cdrwatch.key.principal != "thief") | .rule.id' "$TMP/out" | wc -l)" 0 \
    "no one-record principal of the flood raises an alert"
summary=$(grep "evicted keys" "$TMP/err")
evicted=$(sed -n 's/.*evicted keys: \([0-9]*\).*/\1/p' <<< "$summary")
spared=$(sed -n 's/.*hot keys spared: \([0-9]*\).*/\1/p' <<< "$summary")
ok_status $([ "${evicted:-0}" -ge $((9 * MAX_KEYS)) ] && echo 0 || echo 1) \
    "the flood is evicted and counted (evicted keys: ${evicted:-none})"
rules=$("$CDRWATCH" check-config --config "$top_srcdir/config/cdrwatch.json" | "$JQ" '.rules | length')
keys=$(sed -n 's/.*state: \([0-9]*\) keys.*/\1/p' "$TMP/err")
ok_status $([ "${keys:-0}" -gt 0 ] && [ "$keys" -le $((rules * MAX_KEYS)) ] && echo 0 || echo 1) \
    "memory stays bounded: ${keys:-no} keys kept, at most max_keys for each of the $rules rules"
ok_status $([ "${spared:-0}" -gt 0 ] && echo 0 || echo 1) \
    "the thief's spares are counted (hot keys spared: ${spared:-none})"

# file modes: under a umask that grants everything, one that takes the owner's write bit, and over
# files already there with mode 0666
modes() { # modes LABEL: run replay and tune writing every file they can; check the modes
    run "$CDRWATCH" replay --audit audit.jsonl --out alerts.jsonl --dlq dead.txt --state-out s.state
    is "$rc" 0 "$1: replay writes alerts, dead letters and state"
    run "$CDRWATCH" tune --audit audit.jsonl --write overlay.json --report report.html
    is "$rc" 0 "$1: tune writes its overlay and report"
    is "$(stat -c %a s.state dead.txt alerts.jsonl overlay.json report.html | xargs)" "600 600 640 640 640" \
        "$1: state and dead letters 0600; alerts, overlay and report 0640"
}
umask 000
modes "umask 000"
umask 277
modes "umask 277"
umask 022
chmod 666 s.state dead.txt alerts.jsonl overlay.json report.html
modes "over files of mode 0666"
before=$(stat -c %a /dev/null)
run "$CDRWATCH" replay --audit audit.jsonl --out /dev/null --dlq /dev/null
is "$rc $(stat -c %a /dev/null)" "0 $before" "a device as an output is written, its mode left as it was"

echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
