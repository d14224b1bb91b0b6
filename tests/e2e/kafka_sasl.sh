#!/bin/bash
# kafka_sasl.sh — real broker (7): authenticated, encrypted Kafka. One broker with a SASL_SSL
# listener (SCRAM-SHA-512 over TLS; CA and broker certificate made here with openssl and
# keytool, SCRAM users made with Kafka's kafka-configs, ACLs with kafka-acls, StandardAuthorizer).
# cdrwatch reads its password from a file ("@file:PATH" in kafka.properties) and verifies the
# broker's certificate (ssl.ca.location): the bundled dataset through `run` equals replay (the
# alerts read back with kcat over SASL_SSL too). A wrong password, a certificate from another CA
# and an ACL that denies writing the alerts topic each end in one clear message and a non-zero
# exit, or a retry loop whose log says why. The password is never in cdrwatch's output or logs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
command -v openssl > /dev/null || skip_or_fail "openssl is missing (Debian: openssl)"
command -v keytool > /dev/null || skip_or_fail "keytool is missing (Debian: default-jre-headless)"

# the secrets: random, each with a marker to grep for
PASS="s3cret-cw-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
WRONG="s3cret-wrong-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
ADMIN_PASS="adm-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
KS_PASS="ks-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
mkdir -p "$TMP/tls"
make_ca "$TMP/tls" ca
make_ca "$TMP/tls" other-ca
make_broker_keystore "$TMP/tls" ca "$KS_PASS"
printf '%s\n' "$PASS" > "$TMP/kafka.pass" # a trailing newline, as an editor leaves it
printf '%s\n' "$WRONG" > "$TMP/wrong.pass"
chmod 600 "$TMP/kafka.pass" "$TMP/wrong.pass"

# sasl_config FILE USER PASSFILE CA: the test configuration, over SASL_SSL
sasl_config() {
    "$JQ" --arg user "$2" --arg pass "@file:$3" --arg ca "$4" \
        '.kafka.properties = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
          "sasl.username": $user, "sasl.password": $pass, "ssl.ca.location": $ca,
          "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}' "$KCONFIG" > "$1"
}
sasl_config "$TMP/sasl.json" cdrwatch "$TMP/kafka.pass" "$TMP/tls/ca.pem"

# ---- before any broker: the reference is printed, never the secret; a missing file is exit 2
run "$CDRWATCH" check-config --config "$TMP/sasl.json"
is "$rc" 0 "check-config accepts a secret file reference"
contains "$TMP/out" "\"sasl.password\": \"@file:$TMP/kafka.pass\"" "check-config prints the reference"
ok_status "$(! grep -qF "$PASS" "$TMP/out" "$TMP/err"; echo $?)" "and not the secret"
sasl_config "$TMP/missing.json" cdrwatch "$TMP/no-such.pass" "$TMP/tls/ca.pem"
run timeout 60 "$CDRWATCH" run --config "$TMP/missing.json" -b 127.0.0.1:9 --exit-at-end
is "$rc" 2 "a missing secret file is a usage error (exit 2)"
contains "$TMP/err" "$TMP/missing.json: kafka.properties.sasl.password: cannot read the secret file $TMP/no-such.pass: No such file or directory" \
    "naming the configuration, the property and the path"
sasl_config "$TMP/dir.json" cdrwatch "$TMP/tls" "$TMP/tls/ca.pem"
run timeout 60 "$CDRWATCH" run --config "$TMP/dir.json" -b 127.0.0.1:9 --exit-at-end
is "$rc:$(grep -c "cannot read the secret file $TMP/tls: Is a directory" "$TMP/err")" "2:1" \
    "an unreadable one too (a directory)"
# an empty path, a file over 64 KiB, a file with a NUL byte: each refused, the file named
head -c 70000 /dev/zero | tr '\0' x > "$TMP/big.pass"
printf 'abc\0def\n' > "$TMP/nul.pass"
for c in ":(no path after @file:): expected @file:PATH" "$TMP/big.pass:$TMP/big.pass: larger than 64 KiB" \
    "$TMP/nul.pass:$TMP/nul.pass: holds a NUL byte"; do
    "$JQ" --arg ref "@file:${c%%:*}" '.kafka.properties["sasl.password"] = $ref' "$TMP/sasl.json" > "$TMP/bad.json"
    run timeout 60 "$CDRWATCH" run --config "$TMP/bad.json" -b 127.0.0.1:9 --exit-at-end
    is "$rc:$(grep -cF "$TMP/bad.json: kafka.properties.sasl.password: cannot read the secret file ${c#*:}" "$TMP/err")" \
        "2:1" "refused with exit 2: ${c#*: }"
done

# ---- the broker, its users and ACLs
broker_start_sasl b1 "$TMP/tls/broker.p12" "$KS_PASS"
scram_user cdrwatch "$PASS"
scram_user denied "$PASS"
scram_user admin "$ADMIN_PASS"
# what cdrwatch needs (doc/kafka.md): read its inputs and the state topic in its group; write
# alerts, dead letters and state, creating the state topic. User:denied gets the same, then an
# explicit DENY of writes to the alerts topic.
for user in cdrwatch denied; do
    kafka_acl --allow-principal "User:$user" --consumer --topic cdr --topic db-audit --topic cdrwatch-state --group "g-$user"
    kafka_acl --allow-principal "User:$user" --producer --topic cdr-alerts --topic cdr.dlq --topic db-audit.dlq --topic cdrwatch-state
done
kafka_acl --deny-principal User:denied --operation Write --topic cdr-alerts

produce_cdr "$DATASET/cdr.csv.gz" # loaded over PLAINTEXT (ANONYMOUS is a super user)
produce_audit "$DATASET/audit.jsonl.gz"
expected_alerts "$KCONFIG" "$DATASET/cdr.csv.gz" "$DATASET/audit.jsonl.gz" > "$TMP/expected"
n_expected=$(wc -l < "$TMP/expected")

# kcat over SASL_SSL as admin, its password in a kcat configuration file (not its command line)
printf '%s\n' security.protocol=SASL_SSL sasl.mechanisms=SCRAM-SHA-512 sasl.username=admin \
    "sasl.password=$ADMIN_PASS" "ssl.ca.location=$TMP/tls/ca.pem" > "$TMP/kcat.conf"
sasl_alerts() {
    kcat -F "$TMP/kcat.conf" -C -b "$SASL_BROKER" -t cdr-alerts -o beginning -e -q 2> "$TMP/kcat.err" | normalize
}

# ---- the good case
run timeout 120 "$CDRWATCH" run --config "$TMP/sasl.json" -b "$SASL_BROKER" -G g-cdrwatch --exit-at-end --verbose
cp "$TMP/err" "$TMP/good.err"
cp "$TMP/out" "$TMP/good.out"
is "$rc" 0 "run over SASL_SSL (SCRAM-SHA-512, password from a file, broker certificate verified) exits 0"
sasl_alerts > "$TMP/got"
ok_status "$([ "$n_expected" -gt 150 ]; echo $?)" "replay raises $n_expected alerts"
same_file "$TMP/got" "$TMP/expected" "the alerts read back over SASL_SSL are replay's"
contains "$TMP/good.err" "stats: records in 63318" "every record was read"

# ---- wrong password: librdkafka retries; the log says why, and nothing is consumed
# shellcheck disable=SC2034 # read by start_run through $KCONFIG
sasl_config "$TMP/wrong.json" cdrwatch "$TMP/wrong.pass" "$TMP/tls/ca.pem"
KCONFIG="$TMP/wrong.json" start_run wrong -b "$SASL_BROKER" -G g-cdrwatch --exit-at-end
wait_until 60 grep -q "no Kafka broker of $SASL_BROKER is reachable" "$TMP/wrong.err" || true
stop_run "$RUN_PID"
contains "$TMP/wrong.err" "no Kafka broker of $SASL_BROKER is reachable (1/1 brokers are down; last error: sasl_ssl://$SASL_BROKER/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512" \
    "a wrong password: cdrwatch retries, and its log says the broker refused the credentials"
is "$rc:$(stats_value "$TMP/wrong.err" "records in")" "0:0" "it reads nothing and stops cleanly on SIGTERM"

# ---- a broker certificate from another CA: the same, the log names the verification
sasl_config "$TMP/untrusted.json" cdrwatch "$TMP/kafka.pass" "$TMP/tls/other-ca.pem"
KCONFIG="$TMP/untrusted.json" start_run untrusted -b "$SASL_BROKER" -G g-cdrwatch --exit-at-end
wait_until 60 grep -q "no Kafka broker of $SASL_BROKER is reachable" "$TMP/untrusted.err" || true
stop_run "$RUN_PID"
contains "$TMP/untrusted.err" "no Kafka broker of $SASL_BROKER is reachable (1/1 brokers are down; last error: sasl_ssl://$SASL_BROKER/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified" \
    "an untrusted certificate: cdrwatch retries, and its log says the certificate could not be verified"
is "$rc:$(stats_value "$TMP/untrusted.err" "records in")" "0:0" "it reads nothing and stops cleanly on SIGTERM"

# ---- an ACL denies writing the alerts topic: the first alert is refused, the run ends (exit 1)
sasl_config "$TMP/denied.json" denied "$TMP/kafka.pass" "$TMP/tls/ca.pem"
run timeout 120 "$CDRWATCH" run --config "$TMP/denied.json" -b "$SASL_BROKER" -G g-denied --exit-at-end
cp "$TMP/err" "$TMP/denied.err"
cp "$TMP/out" "$TMP/denied.out"
is "$rc" 1 "writes to the alerts topic denied: exit 1"
# refused when produced ("cannot produce to topic") or in the delivery report ("a message to topic
# ... was not delivered"), as librdkafka learns it first; logged when it happens and again at exit
{ grep -E '^cdrwatch: error: kafka: (cannot produce to topic|a message to topic) cdr-alerts( was not delivered)?: Broker: Topic authorization failed' \
    "$TMP/denied.err" || true; } | sed -E 's/ \(nothing after it.*//' | sort -u > "$TMP/denied.errors"
is "$(wc -l < "$TMP/denied.errors")" 1 "the error says the alerts topic refused the write"
is "$(grep "error: " "$TMP/denied.err" | sort -u | wc -l)" 1 "and it is the only error"

# ---- the password is in no output and no log of cdrwatch
for f in good wrong untrusted denied; do
    ok_status "$(! grep -qF -e "$PASS" -e "$WRONG" "$TMP/$f.err"; echo $?)" "no password in the $f run's log"
done
ok_status "$(! grep -qF -e "$PASS" -e "$WRONG" "$TMP"/{good,wrong,untrusted,denied}.out; echo $?)" \
    "nor on its standard output"

done_testing
