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
    rm -rf "$TMP"
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

# distinct_alert_ids: how many different event.id the alerts topic holds
distinct_alert_ids() { topic_messages cdr-alerts | "$JQ" -r '.event.id' | sort -u | wc -l; }

# wait_until SECONDS CMD...: run CMD every 0.5 s until it succeeds; false after SECONDS
wait_until() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.5
    done
}

# start_run NAME ARGS...: cdrwatch run in the background, stdout and stderr in $TMP/NAME.out
# and .err; its pid in the variable RUN_PID
start_run() {
    local name=$1
    shift
    "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
    RUN_PID=$!
    BG_PIDS+=("$RUN_PID")
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

# stats_value FILE FIELD: the last value of a counter in a run's statistics lines
# ("records in", "alerts out", "rebuilt", "dead letters", "lag")
stats_value() {
    grep -o "$2 -\?[0-9]*" "$1" | tail -1 | grep -o -- '-\?[0-9]*$' || echo 0
}
