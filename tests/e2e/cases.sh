#!/bin/bash
# cases.sh — end-to-end cases, one folder each under tests/e2e/cases (suricata-verify style):
#   README               what the case shows and the hand-computed outcome
#   args                 the replay arguments (inputs relative to the folder)
#   config.json          the configuration (optional: the built-in default otherwise)
#   expected.jsonl       the alerts, without cdrwatch.observer (empty file: no alert)
#   expected-dlq.jsonl   the dead letters as written by --dlq (optional)
#   negative             rule-<id> cases: the keys (cdrwatch.key values joined by '/'), one a
#                        line, of the subjects the README's "Negative:" describes
# Each case is replayed twice: the alerts must equal the expected file both times, and be valid
# ECS (tests/schemas/validate.py ecs). Then once more with outputs.format "ocsf" layered on the
# case's configuration: every alert a valid OCSF Detection Finding (validate.py ocsf), as many as
# the ECS alerts, in the same order, with finding_info.uid = event.id and the same rule ids.
# The validator is first shown broken alerts, which it must refuse (so it can fail at all).
# Every shipped rule (config/cdrwatch.json) has its case rule-<id> with a positive and a negative:
# the replay raises an alert of the rule, and each key of `negative` is in the case's input but
# gets no alert of the rule. A new rule cannot land without both.
. "$(dirname "$0")/lib.sh"
need_jq
command -v python3 > /dev/null 2>&1 || { echo "not ok 1 - python3 is required (tests/schemas/validate.py)"; exit 1; }
VALIDATE=(python3 "$top_srcdir/tests/schemas/validate.py")
echo '{"outputs": {"format": "ocsf"}}' > "$TMP/ocsf.json"

# refused FORMAT NAME FIELD JQ-FILTER: the first alert of $TMP/good.FORMAT, changed by the filter,
# is refused by the validator with a problem about FIELD
refused() {
    local format=$1 name=$2 field=$3 filter=$4
    head -n 1 "$TMP/good.$format" | "$JQ" -c "$filter" > "$TMP/broken.jsonl"
    run "${VALIDATE[@]}" "$format" "$TMP/broken.jsonl"
    is "$rc" 1 "validator: $format: refuses $name"
    contains "$TMP/out" ":1: $field: " "validator: $format: names $field for $name"
}

selftest_dir="$top_srcdir/tests/e2e/cases/rule-cdr-unbounded-export"
read -r -a args < "$selftest_dir/args"
(cd "$selftest_dir" && "$CDRWATCH" replay --quiet "${args[@]}") > "$TMP/good.ecs"
(cd "$selftest_dir" && "$CDRWATCH" replay --quiet --config "$top_srcdir/config/cdrwatch.json" \
    --config "$TMP/ocsf.json" "${args[@]}") > "$TMP/good.ocsf"
for format in ecs ocsf; do
    run "${VALIDATE[@]}" "$format" "$TMP/good.$format"
    is "$rc" 0 "validator: $format: accepts the alerts of rule-cdr-unbounded-export ($(wc -l < "$TMP/good.$format"))"
done
refused ecs "an unknown field" foo.bar '.foo = {"bar": 1}'
refused ecs "a string where ECS has a long" event.severity '.event.severity = "high"'
refused ecs "an array where ECS has one keyword" user.name '.user.name = ["a", "b"]'
refused ocsf "a missing required attribute" finding_info.uid 'del(.finding_info.uid)'
refused ocsf "a missing required attribute of an object" metadata.product 'del(.metadata.product)'
refused ocsf "a string where the schema has a timestamp" time '.time = "2026-03-02"'
refused ocsf "a value not in the enum" severity_id '.severity_id = 7'
refused ocsf "an attribute the class does not define" foo '.foo = 1'
refused ocsf "an attribute an object does not define" actor.user.bogus '.actor.user.bogus = 1'

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
    cp "$TMP/out" "$TMP/$name.ecs"
    run "${VALIDATE[@]}" ecs "$TMP/$name.ecs"
    is "$rc" 0 "$name: the $(wc -l < "$TMP/$name.ecs") alert(s) are valid ECS (fields.csv)"
    [ "$rc" -eq 0 ] || sed -n '1,20s/^/#   /p' "$TMP/out"
    layers=(--config "$top_srcdir/config/cdrwatch.json")
    [ -f config.json ] && layers=(--config config.json)
    run "$CDRWATCH" replay --quiet "${layers[@]}" --config "$TMP/ocsf.json" "${args[@]}" --dlq "$TMP/$name.ocsf.dlq"
    is "$rc" 0 "$name: replay with outputs.format ocsf exits 0"
    same_file "$TMP/$name.ocsf.dlq" "$TMP/$name.dlq" "$name: the same dead letters in both formats"
    cp "$TMP/out" "$TMP/$name.ocsf"
    run "${VALIDATE[@]}" ocsf "$TMP/$name.ocsf"
    is "$rc" 0 "$name: the $(wc -l < "$TMP/$name.ocsf") alert(s) are valid OCSF Detection Findings"
    [ "$rc" -eq 0 ] || sed -n '1,20s/^/#   /p' "$TMP/out"
    same_file <("$JQ" -r '[.finding_info.uid, .finding_info.analytic.uid] | join(" ")' "$TMP/$name.ocsf") \
        <("$JQ" -r '[.event.id, .rule.id] | join(" ")' "$TMP/$name.ecs") \
        "$name: the OCSF alerts map back: same count, finding_info.uid = event.id, same rule ids"
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
