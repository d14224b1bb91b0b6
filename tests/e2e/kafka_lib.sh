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
