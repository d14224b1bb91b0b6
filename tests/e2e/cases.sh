#!/bin/bash
# cases.sh — end-to-end cases, one folder each under tests/e2e/cases (suricata-verify style):
#   README               what the case shows and the hand-computed outcome
#   args                 the replay arguments (inputs relative to the folder)
#   config.json          the configuration (optional: the built-in default otherwise)
#   expected.jsonl       the alerts, without cdrwatch.observer (empty file: no alert)
#   expected-dlq.jsonl   the dead letters as written by --dlq (optional)
#   negative             rule-<id> cases: the keys (cdrwatch.key values joined by '/'), one a
#                        line, of the subjects the README's "Negative:" describes
# Each case is replayed twice: the alerts must equal the expected file both times.
# Every shipped rule (config/cdrwatch.json) has its case rule-<id> with a positive and a negative:
# the replay raises an alert of the rule, and each key of `negative` is in the case's input but
# gets no alert of the rule. A new rule cannot land without both.
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
        # every alert line is a JSON object in valid UTF-8, whatever bytes the input held
        bad_lines=$(while IFS= read -r l; do
            printf '%s' "$l" | "$JQ" -e 'type == "object"' > /dev/null 2>&1 &&
                printf '%s' "$l" | iconv -f UTF-8 -t UTF-8 > /dev/null 2>&1 || echo x
        done < "$TMP/out" | wc -l)
        is "$bad_lines" 0 "$name: every alert line is a JSON object in valid UTF-8 (pass $pass)"
        same_file "$TMP/$name.alerts" expected.jsonl "$name: alerts as expected (pass $pass)"
    done
    if [ -f expected-dlq.jsonl ]; then
        same_file "$TMP/$name.dlq" expected-dlq.jsonl "$name: dead letters as expected"
    else
        is "$(wc -c < "$TMP/$name.dlq")" 0 "$name: no dead letters"
    fi
done

# in_input DIR TEXT: TEXT occurs in one of the case's input files
in_input() {
    find "$1" -maxdepth 1 -type f ! -name README ! -name 'expected*' ! -name negative ! -name args \
        ! -name config.json -exec grep -qF -- "$2" {} + 2> /dev/null
}

for id in $("$JQ" -r '.rules[].id' "$top_srcdir/config/cdrwatch.json"); do
    dir="$top_srcdir/tests/e2e/cases/rule-$id"
    alerts="$TMP/rule-$id.alerts" # this run's output (the loop above)
    if [ ! -f "$alerts" ]; then
        ok_status 1 "shipped rule $id has its case tests/e2e/cases/rule-$id"
        continue
    fi
    "$JQ" -r --arg id "$id" 'select(.rule.id == $id) | [.cdrwatch.key[]] | join("/")' "$alerts" > "$TMP/keys"
    ok_status "$([ -s "$TMP/keys" ]; echo $?)" "rule-$id: positive: the rule raises $(wc -l < "$TMP/keys") alert(s)"
    bad=()
    [ -s "$dir/negative" ] || bad+=("(no file negative)")
    while read -r key; do
        in_input "$dir" "$key" || bad+=("$key (not in the input)")
        ! grep -qxF -- "$key" "$TMP/keys" || bad+=("$key (alerted)")
    done < <([ -f "$dir/negative" ] && cat "$dir/negative")
    ok_status "${#bad[@]}" "rule-$id: negative: no alert of the rule for $(paste -sd, "$dir/negative" 2> /dev/null)"
    [ "${#bad[@]}" -eq 0 ] || echo "#   ${bad[*]}"
done

done_testing
