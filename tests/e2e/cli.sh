#!/bin/bash
# cli.sh — the command line contract of doc/formats.md §3: exit codes, messages, inputs and outputs.
. "$(dirname "$0")/lib.sh"
need_jq
cd "$top_srcdir"

# --- the "done when" of the foundation issue ---
run bash -c "printf 'garbage\n' | '$CDRWATCH' replay --audit -"
is "$rc" 0 "garbage on stdin: exit 0"
contains "$TMP/err" "dead letter: (stdin):1: bad_json" "garbage on stdin: the dead letter is reported on stderr"
is "$(wc -c < "$TMP/out")" 0 "garbage on stdin: nothing on stdout"

sed 's/"threshold": 40000/"treshold": 40000/' config/cdrwatch.json > "$TMP/typo.json"
run "$CDRWATCH" check-config --config "$TMP/typo.json"
is "$rc" 2 "check-config on a typo: exit 2"
contains "$TMP/err" "typo.json: rules[0].treshold: unknown key (did you mean \"threshold\"?)" \
    "check-config on a typo: names the file and the key"

# --- help, version, usage errors ---
run "$CDRWATCH" --help
is "$rc" 0 "--help exits 0"
contains "$TMP/out" "cdrwatch replay" "--help shows replay"
run "$CDRWATCH" --version
is "$rc" 0 "--version exits 0"
contains "$TMP/out" "cdrwatch " "--version prints the version"
run "$CDRWATCH" replay --help
contains "$TMP/out" "--dlq FILE" "replay --help explains --dlq"
run "$CDRWATCH" check-config --help
contains "$TMP/out" "--list-options" "check-config --help explains --list-options"
run "$CDRWATCH"
is "$rc" 2 "no command: exit 2"
run "$CDRWATCH" frobnicate
is "$rc" 2 "unknown command: exit 2"
contains "$TMP/err" "unknown command 'frobnicate'" "unknown command is named"
run "$CDRWATCH" replay
is "$rc" 2 "replay without inputs: exit 2"
contains "$TMP/err" "no input" "replay without inputs says so"
run "$CDRWATCH" replay --audit
is "$rc" 2 "--audit without a value: exit 2"
run "$CDRWATCH" replay --bogus --audit -
is "$rc" 2 "unknown replay option: exit 2"
contains "$TMP/err" "unknown option '--bogus'" "unknown option is named"
run "$CDRWATCH" replay --audit "$TMP/missing.jsonl"
is "$rc" 2 "missing input file: exit 2"
contains "$TMP/err" "missing.jsonl: cannot open" "missing input file is named"
run "$CDRWATCH" replay --audit-format oracle --audit -
is "$rc" 2 "an unknown audit format: exit 2"
contains "$TMP/err" "expected canonical, pgaudit, mariadb, mysql-json, oracle-csv, mssql-csv, oracle-json, oracle-xml, percona-json or percona-xml, got 'oracle'" "the audit formats are listed"
run "$CDRWATCH" replay --audit-format pgaudit --pg-log-prefix '%t [%p] %z ' --audit - < /dev/null
is "$rc" 2 "a bad --pg-log-prefix: exit 2"
contains "$TMP/err" "unknown escape '%z'" "the bad escape is named"
run "$CDRWATCH" replay --pg-log-prefix '%t %u ' --audit - < /dev/null
is "$rc" 2 "--pg-log-prefix without a pgaudit input: exit 2"
contains "$TMP/err" "goes with --audit-format pgaudit" "--pg-log-prefix without pgaudit is explained"
printf '20260304 02:10:49,db1,svc_fraud,10.0.0.5,7,9,QUERY,mediation,'"'"'select 1'"'"',0\n' > "$TMP/sa.log"
run "$CDRWATCH" replay --audit "$TMP/sa.log" --audit-format mariadb
is "$rc" 0 "--audit-format after the --audit file applies to it"
contains "$TMP/err" "records: cdr=0 audit=1;" "the server_audit line is read as a record"
run "$CDRWATCH" replay --audit-format mariadb --audit "$TMP/sa.log" --audit-format canonical --audit "$TMP/sa.log"
contains "$TMP/err" "audit=1;" "formats per group of --audit files: the second file is canonical"
contains "$TMP/err" "dead letters: 1 (bad_json=1)" "... and its line is refused as canonical"
run "$CDRWATCH" replay --audit datasets/small/cdr.csv.gz
is "$rc" 2 "a CDR file given as audit: exit 2"
contains "$TMP/err" "the CSV header lacks the required audit column(s) ts, principal, action" \
    "a CDR file given as audit: the missing columns are named"
run "$CDRWATCH" replay --config "$TMP/typo.json" --audit -
is "$rc" 2 "replay with a bad configuration: exit 2"
# run: what can be checked without a broker (tests/e2e/kafka_*.sh run it against one)
run "$CDRWATCH" run --help
is "$rc" 0 "run --help exits 0"
contains "$TMP/out" "Examples:" "run --help teaches by example"
run "$CDRWATCH" run --bogus
is "$rc" 2 "run with an unknown option: exit 2"
run "$CDRWATCH" run db-audit
is "$rc" 2 "run with a stray argument: exit 2"
contains "$TMP/err" "topics come from the configuration" "and says where topics come from"
run "$CDRWATCH" run --config "$TMP/typo.json"
is "$rc" 2 "run with a bad configuration: exit 2"
printf '{"kafka": {"properties": {"sasl.password": "hunter2-secret", "no.such.thing": "1"}}}' > "$TMP/badprop.json"
run "$CDRWATCH" run --config "$TMP/badprop.json"
is "$rc" 2 "run with a property librdkafka refuses: exit 2"
contains "$TMP/err" "kafka.properties.no.such.thing" "the message names the property"
ok_status "$(! grep -q hunter2-secret "$TMP/err"; echo $?)" "and shows no secret"
printf '{"kafka": {"properties": {"enable.auto.commit": "true"}}}' > "$TMP/managed.json"
run "$CDRWATCH" run --config "$TMP/managed.json"
is "$rc" 2 "run refuses a property cdrwatch manages itself: exit 2"
contains "$TMP/err" "set by cdrwatch itself" "and says why"

# --- check-config ---
run "$CDRWATCH" check-config
is "$rc" 0 "check-config of the built-in default"
cp "$TMP/out" "$TMP/builtin.json"
run "$CDRWATCH" check-config --config config/cdrwatch.json
same_file "$TMP/out" "$TMP/builtin.json" "the built-in default is config/cdrwatch.json"
run "$CDRWATCH" check-config --config "$TMP/builtin.json"
same_file "$TMP/out" "$TMP/builtin.json" "check-config output is itself a valid configuration"
printf '{"kafka":{"properties":{"sasl.password":"hunter2"}}}' > "$TMP/secret.json"
run "$CDRWATCH" check-config --config "$TMP/secret.json"
ok_status "$(grep -c hunter2 "$TMP/out" || true)" "check-config never prints a secret"
run "$CDRWATCH" check-config --list-options
contains "$TMP/out" "rules[].threshold" "--list-options lists rule options"

# --- inputs: stdin, gzip on stdin, --out, --dlq ---
(gzip -dc datasets/small/audit.jsonl.gz || true) | head -n 2000 > "$TMP/part.jsonl"
run "$CDRWATCH" replay --quiet --audit "$TMP/part.jsonl" --out "$TMP/alerts1.jsonl"
is "$rc" 0 "replay with --out"
is "$(wc -c < "$TMP/out")" 0 "--out leaves stdout empty"
is "$(wc -c < "$TMP/err")" 0 "--quiet leaves stderr empty"
run bash -c "gzip -c '$TMP/part.jsonl' | '$CDRWATCH' replay --quiet --audit - > '$TMP/alerts2.jsonl'"
is "$rc" 0 "gzip data on standard input"
no_pos='del(.cdrwatch.observer, .cdrwatch.evidence.first, .cdrwatch.evidence.last)'
same_file <("$JQ" -c "$no_pos" "$TMP/alerts2.jsonl") <("$JQ" -c "$no_pos" "$TMP/alerts1.jsonl") \
    "gzip on stdin gives the alerts of the plain file (all but the file name)"
ok_status "$([ -s "$TMP/alerts1.jsonl" ]; echo $?)" "the first 2000 audit records of the dataset raise the theft alert"

printf '%s\n' '{"ts":"2026-03-04T02:00:00Z","principal":"a","action":"select"}' 'not json' \
    '{"ts":"2026-03-04T02:00:01Z","action":"select"}' > "$TMP/mixed.jsonl"
printf 'x\377y\n' >> "$TMP/mixed.jsonl"
run "$CDRWATCH" replay --audit "$TMP/mixed.jsonl" --dlq "$TMP/dlq.jsonl"
is "$rc" 0 "dead letters do not stop the replay"
is "$(wc -l < "$TMP/dlq.jsonl")" 3 "three dead letters in the --dlq file"
is "$("$JQ" -r '[.source, .reason] | join(" ")' "$TMP/dlq.jsonl" | tr '\n' '|')" \
    "$TMP/mixed.jsonl:2 bad_json|$TMP/mixed.jsonl:3 missing_field|$TMP/mixed.jsonl:4 bad_json|" \
    "each dead letter has its position and reason"
is "$("$JQ" -r 'select(.reason=="missing_field") | .error' "$TMP/dlq.jsonl")" \
    "missing_field: 'principal': required field is missing or empty" "the error names the field"
is "$("$JQ" -r 'select(.source|endswith(":2")) | .record' "$TMP/dlq.jsonl")" "not json" "the original bytes are kept"
is "$("$JQ" -r 'select(.source|endswith(":4")) | .record_base64' "$TMP/dlq.jsonl" | base64 -d | od -An -c | tr -s ' ')" \
    " x 377 y" "bytes that are not UTF-8 are kept exactly, in base64"
contains "$TMP/err" "records: cdr=0 audit=1; alerts: 0" "the summary counts the accepted record"
contains "$TMP/err" "dead letters: 3 (bad_json=2, missing_field=1)" "the summary counts dead letters by reason"

# --- layered configuration: --config given more than once ---
rid=$("$JQ" -r '.rule.id' "$TMP/alerts1.jsonl" | head -n 1)
printf '{"rules": [{"id": "%s", "severity": 7}], "engine": {"evidence_ring": 777}}\n' "$rid" > "$TMP/overlay.json"
run "$CDRWATCH" check-config --config config/cdrwatch.json --config "$TMP/overlay.json"
is "$rc" 0 "check-config of two layers"
same_file <("$JQ" -S . "$TMP/out") \
    <("$JQ" -S --arg rid "$rid" '.engine.evidence_ring = 777 | (.rules[] | select(.id == $rid) | .severity) = 7' \
        "$TMP/builtin.json") \
    "check-config prints the merged configuration: the overlay's values, the rule matched by id, the rest as before"
run "$CDRWATCH" check-config --config config/cdrwatch.json --config "$TMP/overlay.json" --origin
is "$rc" 0 "check-config --origin"
contains "$TMP/out" "engine.evidence_ring	$TMP/overlay.json" "--origin names the overlay for a value it set"
contains "$TMP/out" "engine.allowed_lateness	config/cdrwatch.json" "--origin names the first layer for a value it kept"
contains "$TMP/out" "outputs.stats_topic	(default)" "--origin says (default) for a value no file set"
is "$(grep -c "severity	$TMP/overlay.json" "$TMP/out")" 1 "--origin: the overlay set one rule's severity"
run "$CDRWATCH" replay --quiet --config config/cdrwatch.json --config "$TMP/overlay.json" --audit "$TMP/part.jsonl"
is "$rc" 0 "replay with two layers"
same_file <("$JQ" -c '.event.id' "$TMP/out") <("$JQ" -c '.event.id' "$TMP/alerts1.jsonl") \
    "replay with an overlay that changes a severity: the same alerts (same ids)"
is "$("$JQ" -r --arg rid "$rid" 'select(.rule.id == $rid) | .event.severity' "$TMP/out" | sort -u)" 7 \
    "... raised with the overlay's severity"
printf '{"rules": [{"id": "%s", "enabled": false}]}\n' "$rid" > "$TMP/off.json"
run "$CDRWATCH" replay --quiet --config config/cdrwatch.json --config "$TMP/overlay.json" --config "$TMP/off.json" \
    --audit "$TMP/part.jsonl"
is "$("$JQ" -r --arg rid "$rid" 'select(.rule.id == $rid)' "$TMP/out" | wc -c)" 0 "a third layer that disables the rule silences it"
printf '{"rules": [{"id": "%s", "suppress": 12}]}\n' "$rid" > "$TMP/bad-overlay.json"
run "$CDRWATCH" replay --config config/cdrwatch.json --config "$TMP/bad-overlay.json" --audit "$TMP/part.jsonl"
is "$rc" 2 "a bad value in an overlay: exit 2"
contains "$TMP/err" "bad-overlay.json: rules[" "the message names the overlay and the rule"
contains "$TMP/err" "].suppress: expected a duration" "... and the key"

# --- --log-format json (doc/logging.md): one JSON object a line on stderr, the summary one object ---
printf 'garbage\n{"not": "an audit record"}\n' > "$TMP/bad.jsonl"
run "$CDRWATCH" replay --log-format json --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz \
    --audit "$TMP/bad.jsonl"
is "$rc" 0 "--log-format json: exit 0"
is "$(grep -c . "$TMP/err")" "$("$JQ" -c 'select(type == "object" and has("@timestamp") and has("log.level") and has("message"))' "$TMP/err" | wc -l)" \
    "--log-format json: every stderr line is an object with @timestamp, log.level and message"
is "$("$JQ" -r 'select(.["cdrwatch.dead_letter"]) | .["cdrwatch.dead_letter"].position' "$TMP/err" | tr '\n' ' ')" \
    "$TMP/bad.jsonl:1 $TMP/bad.jsonl:2 " "--log-format json: each dead letter an object with its position"
is "$("$JQ" -r 'select(.["cdrwatch.replay"]) | .["cdrwatch.replay"].counters.alerts' "$TMP/err")" "$(grep -c . "$TMP/out")" \
    "--log-format json: the summary is one object, its alert count that of the alerts printed"
is "$("$JQ" -r 'select(.["cdrwatch.replay"]) | .["cdrwatch.replay"].counters.dead_letters.total' "$TMP/err")" 2 \
    "--log-format json: the summary counts the dead letters"
run "$CDRWATCH" replay --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz --audit "$TMP/bad.jsonl"
contains "$TMP/err" "cdrwatch: replay done in" "text (the default): the summary line as before"
contains "$TMP/err" "cdrwatch: dead letter: $TMP/bad.jsonl:1: bad_json" "text: the dead letter line as before"
run "$CDRWATCH" replay --log-format json --audit /nonexistent/audit.jsonl
is "$rc" 2 "--log-format json, a missing input: exit 2 (as in text)"
is "$("$JQ" -r 'select(.["log.level"] == "error") | .message' "$TMP/err")" \
    "/nonexistent/audit.jsonl: cannot open: No such file or directory" "--log-format json: the error is an object too"
run "$CDRWATCH" replay --log-format yaml --audit -
is "$rc" 2 "--log-format yaml: exit 2"
contains "$TMP/err" "--log-format: expected text or json, got 'yaml'" "--log-format: a bad value is named"
run "$CDRWATCH" demo --log-format json --quiet --audit "$TMP/part.jsonl"
is "$rc" 0 "demo --log-format json: exit 0"
is "$(grep -c . "$TMP/err")" "$("$JQ" -c 'select(type == "object" and has("log.level"))' "$TMP/err" | wc -l)" \
    "demo --log-format json: every stderr line (librdkafka's included) is an object"

# --- a configuration that enables no rule: a warning (a partial file given alone is the base) ---
printf '{"outputs": {"format": "ocsf"}}\n' > "$TMP/partial.json"
run "$CDRWATCH" replay --quiet --config "$TMP/partial.json" --audit "$TMP/part.jsonl"
is "$rc" 0 "a partial file given alone: the replay runs"
contains "$TMP/err" "partial.json: the configuration enables no rule: nothing will be detected" \
    "a partial file given alone: a warning says no rule is enabled"
contains "$TMP/err" "give the full configuration, config/cdrwatch.json, first" "... and how to layer it"
run "$CDRWATCH" check-config --config "$TMP/partial.json"
contains "$TMP/err" "enables no rule" "check-config warns too"
run "$CDRWATCH" replay --quiet --config config/cdrwatch.json --config "$TMP/partial.json" --audit "$TMP/part.jsonl"
is "$(grep -c 'enables no rule' "$TMP/err")" 0 "layered on the full configuration: no warning"

# --- failures at run time: exit 1 ---
head -c 30000 datasets/small/audit.jsonl.gz > "$TMP/truncated.jsonl.gz"
run "$CDRWATCH" replay --audit "$TMP/truncated.jsonl.gz"
is "$rc" 1 "a truncated gzip file: exit 1"
contains "$TMP/err" "truncated.jsonl.gz: read error" "a truncated gzip file is named"
if [ -w /dev/full ]; then
    run "$CDRWATCH" replay --quiet --audit "$TMP/part.jsonl" --out /dev/full
    is "$rc" 1 "a full disk on output: exit 1"
else
    ok_status 1 "/dev/full is not available to test write failures"
fi

done_testing
