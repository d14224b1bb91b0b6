# kafka_lib.sh — helpers of the real-broker tests (sourced after lib.sh).
#
# Each test starts its own single-node Apache Kafka (tests/kafka/broker.sh) in $TMP and stops it
# at exit, with every background process it started. kcat is the independent client: it loads
# the inputs and reads the alerts and dead letters back. Without java, kcat or the Kafka jars (and
# mvn to fetch them) a test prints "1..0 # SKIP why"; under CI=true that is a failure.

BROKER_SH="$top_srcdir/tests/kafka/broker.sh"
# The test configuration: low thresholds, so that the bundled dataset raises ~200 alerts over
# its four days and on both streams (tests/kafka/README.md).
KCONFIG="$top_srcdir/tests/kafka/busy.json"
DATASET="$top_srcdir/datasets/small"
export CDRWATCH_BROKER_OWNER=$$ # broker.sh's watchdog stops our brokers if we are killed

BG_PIDS=()
BROKER_DIRS=()
kafka_cleanup() {
    local p d
    for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
    for d in "${BROKER_DIRS[@]}"; do bash "$BROKER_SH" stop "$d" 2> /dev/null || true; done
    if [ -n "${CDRWATCH_KEEP_TMP:-}" ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap kafka_cleanup EXIT

skip_or_fail() {
    echo "1..0 # SKIP real-broker test: $*"
    if [ "${CI:-}" = "true" ]; then
        echo "not ok 1 - a real Kafka broker is required under CI=true ($*)"
        exit 1
    fi
    exit 0
}

bail() {
    echo "Bail out! $*"
    exit 1
}

need_broker() {
    local why
    need_jq
    why=$(bash "$BROKER_SH" check) || skip_or_fail "$why"
    bash "$BROKER_SH" fetch 2> "$TMP/fetch.err" || skip_or_fail "$(tail -1 "$TMP/fetch.err")"
}

# broker_start NAME [PARTITIONS]: a fresh broker in $TMP/NAME; sets BROKER=host:port
broker_start() {
    local dir="$TMP/$1"
    BROKER_DIRS+=("$dir")
    BROKER=$(bash "$BROKER_SH" start "$dir" "${2:-1}") || bail "the Kafka broker did not start"
    # A fresh broker first loads its transaction and group coordinators ("coordinator load in
    # progress"): an idempotent producer and a group member each wait seconds for them once.
    # Pay that here, so that the tests time cdrwatch, not the broker's first start.
    echo warm | kcat -P -b "$BROKER" -t warmup -X enable.idempotence=true 2> /dev/null
    timeout 30 kcat -C -b "$BROKER" -G warmup warmup -c 1 -q -X auto.offset.reset=earliest > /dev/null 2>&1 || true
    # and the output topics exist before cdrwatch writes to them, as in production (kcat -L on a
    # topic has the broker create it)
    local t
    for t in cdr-alerts db-audit.dlq cdr.dlq; do kcat -L -b "$BROKER" -t "$t" > /dev/null 2>&1 || true; done
}

# gen_dataset: a 28-day dataset from the bundled dataset's generator (fixed seed) in $TMP/gen —
# about 400 000 records, which cdrwatch needs a few seconds to go through, long enough to kill
# it, stop the broker or add an instance while it works. Loaded whole before cdrwatch starts:
# two topics loaded one after the other would put one a day ahead of the other in event time,
# and its records would rightly be late.
gen_dataset() {
    "$top_builddir/datasets/gen/cdrwatch-gen" --days 28 --seed 7 --out-dir "$TMP/gen" > /dev/null ||
        bail "cdrwatch-gen failed"
    GEN_CDR="$TMP/gen/cdr.csv"
    GEN_AUDIT="$TMP/gen/audit.jsonl"
}

# produce_cdr FILE [TOPIC]: CDR CSV (with its header line, plain or .gz) as headerless messages
produce_cdr() {
    gzip -dcf "$1" | tail -n +2 | kcat -P -b "$BROKER" -t "${2:-cdr}" -z snappy
}

# produce_audit FILE [TOPIC]: JSON Lines, each line a message keyed by its principal (so that a
# principal's records stay in one partition, in order), the bytes unchanged
produce_audit() {
    gzip -dcf "$1" | sed -E 's/^(.*"principal":"([^"]*)".*)$/\2\t\1/' |
        kcat -P -b "$BROKER" -t "${2:-db-audit}" -K '\t' -z gzip
}

# Alerts made comparable: without cdrwatch.observer (machine and clock) and the evidence's
# positions (file:line in replay, topic/partition/offset on Kafka); one line each, sorted, unique.
normalize() { "$JQ" -c 'del(.cdrwatch.observer, .cdrwatch.evidence.first, .cdrwatch.evidence.last)' | LC_ALL=C sort -u; }

# expected_alerts CONFIG CDR AUDIT: what replay raises on the same input, normalized
expected_alerts() {
    "$CDRWATCH" replay --quiet --config "$1" --cdr "$2" --audit "$3" | normalize
}

# topic_messages TOPIC [FORMAT]: every message of a topic, read to its end (kcat -e)
topic_messages() {
    kcat -C -b "$BROKER" -t "$1" -o beginning -e -q -f "${2:-%s\n}" 2> /dev/null || true
}

# kafka_alerts: the alerts topic, normalized
kafka_alerts() { topic_messages cdr-alerts | normalize; }

# wait_alerts N [SECONDS]: return as soon as the alerts topic holds N messages (kcat -c blocks
# until then; a short long-poll so that it notices at once)
wait_alerts() {
    wait_until "${2:-60}" eval 'kcat -L -b "$BROKER" -t cdr-alerts 2> /dev/null | grep -q "with [1-9][0-9]* partitions"' &&
        timeout "${2:-60}" kcat -C -b "$BROKER" -t cdr-alerts -o beginning -c "$1" -q \
            -X fetch.wait.max.ms=5 > /dev/null 2>&1
}

# distinct_alert_ids: how many different event.id the alerts topic holds
distinct_alert_ids() { topic_messages cdr-alerts | "$JQ" -r '.event.id' | sort -u | wc -l; }

# wait_until SECONDS CMD...: run CMD every $WAIT_STEP (0.5) s until it succeeds; false after SECONDS
wait_until() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep "${WAIT_STEP:-0.5}"
    done
}

# start_run NAME ARGS...: cdrwatch run in the background, stdout and stderr in $TMP/NAME.out
# and .err; its pid in the variable RUN_PID
start_run() {
    local name=$1
    shift
    # shellcheck disable=SC2086 # CDRWATCH_RUN_ARGS: extra options when debugging (e.g. -v)
    "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" ${CDRWATCH_RUN_ARGS:-} "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
    RUN_PID=$!
    BG_PIDS+=("$RUN_PID")
}

# wait_progress NAME RECORDS: until run NAME's statistics count RECORDS records in (they come
# every 100 ms with the test configuration)
wait_progress() {
    WAIT_STEP=0.02 wait_until 60 stats_at_least "$TMP/$1.err" "records in" "$2"
}

# stop_run PID: SIGTERM, and wait for the exit status (in $rc); 127 if it did not stop in 60 s
stop_run() {
    local pid=$1
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 600); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2> /dev/null; then
        kill -9 "$pid"
        rc=127
        return
    fi
    set +e
    wait "$pid"
    rc=$?
    set -e
}

# stats_value FILE FIELD: the last value of a counter in a run's statistics lines ("records in",
# "alerts out", "rebuilt", "dead letters", "commits", "lag"). Prints nothing and fails when no
# statistics line has it: a counter renamed or a line gone must fail the test, not read as 0.
stats_value() {
    local v
    v=$(grep -F 'stats: ' "$1" 2> /dev/null | grep -o -- "$2 -\?[0-9]\+" | tail -1) || true
    [ -n "$v" ] || return 1
    echo "${v##* }"
}

# stats_at_least FILE FIELD N: the counter is there and at least N
stats_at_least() {
    local v
    v=$(stats_value "$1" "$2") && [ "$v" -ge "$3" ]
}

# committed_offsets FILE: the group's committed offsets that a run (--verbose) found when its
# partitions were assigned, as JSON {"topic/partition": offset}; the first assignment only
committed_offsets() {
    { grep -o '[^ ]*/[0-9]*: committed -\?[0-9]*' "$1" || true; } | awk '!seen[$1]++ { sub(":", "", $1); print $1 "\t" $3 }' |
        "$JQ" -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

# ---- SASL_SSL (tests/e2e/kafka_sasl.sh) ----

# make_ca DIR NAME: a self-signed CA, DIR/NAME.pem and DIR/NAME.key
make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cdrwatch test $2" \
        -keyout "$1/$2.key" -out "$1/$2.pem" 2> /dev/null || bail "openssl could not make the CA $2"
}

# make_broker_keystore DIR CA PASS: the broker's key pair made by keytool in DIR/broker.p12
# (PKCS12, password PASS), its certificate for 127.0.0.1 and localhost signed by CA with openssl,
# then the CA's and the signed certificate imported: the chain the broker presents
make_broker_keystore() {
    local d=$1 ca=$2 pass=$3 san="SAN=ip:127.0.0.1,dns:localhost"
    local ks=(-keystore "$d/broker.p12" -storetype PKCS12 -storepass "$pass")
    {
        keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 2 -dname CN=127.0.0.1 \
            -ext "$san" -keypass "$pass" "${ks[@]}" &&
            keytool -certreq -alias broker -ext "$san" -file "$d/broker.csr" "${ks[@]}" &&
            openssl x509 -req -in "$d/broker.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
                -days 2 -out "$d/broker.pem" -extfile <(echo "subjectAltName=IP:127.0.0.1,DNS:localhost") &&
            keytool -importcert -noprompt -alias ca -file "$d/$ca.pem" "${ks[@]}" &&
            keytool -importcert -noprompt -alias broker -file "$d/broker.pem" "${ks[@]}"
    } > "$d/keytool.log" 2>&1 || bail "keytool/openssl could not make the broker's keystore: $(tail -3 "$d/keytool.log")"
}

# broker_start_sasl NAME KEYSTORE PASS: broker_start with a second listener, SASL_SSL
# (SCRAM-SHA-512 over TLS, the keystore's certificate) and ACLs enforced (StandardAuthorizer, no
# ACL = denied). PLAINTEXT stays for the test's own loading and administration: its principal,
# ANONYMOUS, is a super user, as is User:admin. Sets BROKER (PLAINTEXT) and SASL_BROKER.
broker_start_sasl() {
    local ks=$2 pass=$3
    KAFKA_EXTRA_LISTENER=SASL_SSL KAFKA_BROKER_PROPS="authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$ks
ssl.keystore.password=$pass
ssl.key.password=$pass
${KAFKA_BROKER_PROPS:-}" broker_start "$1"
    SASL_BROKER=$(sed -n 's/^listeners=.*SASL_SSL:\/\/\(127.0.0.1:[0-9]*\).*/\1/p' "$TMP/$1/server.properties")
    [ -n "$SASL_BROKER" ] || bail "no SASL_SSL listener in $TMP/$1/server.properties"
}

# kafka_tool CLASS ARGS...: one of Kafka's command-line tools against the PLAINTEXT listener
kafka_tool() {
    local class=$1
    shift
    bash "$BROKER_SH" tool "$class" --bootstrap-server "$BROKER" "$@" > "$TMP/tool.log" 2>&1 ||
        bail "$class $*: $(tail -3 "$TMP/tool.log")"
}

# scram_user NAME PASSWORD: a SCRAM-SHA-512 credential, made by Kafka's kafka-configs
scram_user() {
    kafka_tool kafka.admin.ConfigCommand --alter --entity-type users --entity-name "$1" \
        --add-config "SCRAM-SHA-512=[iterations=4096,password=$2]"
}

# kafka_acl ARGS...: Kafka's kafka-acls --add ARGS
kafka_acl() { kafka_tool kafka.admin.AclCommand --add "$@"; }
