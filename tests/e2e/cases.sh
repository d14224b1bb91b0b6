#!/bin/bash
# cases.sh — end-to-end cases, one folder each under tests/e2e/cases (suricata-verify style):
#   README               what the case shows and the hand-computed outcome
#   args                 the replay arguments (inputs relative to the folder)
#   config.json          the configuration (optional: the built-in default otherwise)
#   expected.jsonl       the alerts, without cdrwatch.observer (empty file: no alert)
#   expected-dlq.jsonl   the dead letters as written by --dlq (optional)
# Each case is replayed twice: the alerts must equal the expected file both times.
. "$(dirname "$0")/lib.sh"
need_jq

for dir in "$top_srcdir"/tests/e2e/cases/*/; do
    name=$(basename "$dir")
    cd "$dir"
    read -r -a args < args
    config=()
    [ -f config.json ] && config=(--config config.json)
    for pass in 1 2; do
        run "$CDRWATCH" replay --quiet "${config[@]}" "${args[@]}" --dlq "$TMP/$name.dlq"
        is "$rc" 0 "$name: replay exits 0 (pass $pass)"
        strip_observer "$TMP/out" > "$TMP/$name.alerts"
        same_file "$TMP/$name.alerts" expected.jsonl "$name: alerts as expected (pass $pass)"
    done
    if [ -f expected-dlq.jsonl ]; then
        same_file "$TMP/$name.dlq" expected-dlq.jsonl "$name: dead letters as expected"
    else
        is "$(wc -c < "$TMP/$name.dlq")" 0 "$name: no dead letters"
    fi
done

done_testing
