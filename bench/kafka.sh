#!/bin/bash
# bench/kafka.sh — `cdrwatch run` on a real Apache Kafka broker (tests/kafka/broker.sh, one node
# on 127.0.0.1): throughput against `kcat -C` reading the same topic, and the latency from a
# record's arrival at the broker to its alert's, at a steady rate. Results and how to read
# them: bench/README.md. Needs java, mvn (first time), kcat, jq and a C compiler.
#
#   bench/kafka.sh            # build an optimised cdrwatch in _build/bench, run everything
#   CDRWATCH=path bench/kafka.sh
#   CDR_DAYS=28 CDR_PER_DAY=60000 AUDIT_RECORDS=1000000 RATE=10000 SECONDS_LIVE=30 bench/kafka.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CDR_DAYS=${CDR_DAYS:-28}
CDR_PER_DAY=${CDR_PER_DAY:-60000}
AUDIT_RECORDS=${AUDIT_RECORDS:-1000000}
RATE=${RATE:-10000}
SECONDS_LIVE=${SECONDS_LIVE:-30}
RUNS=${RUNS:-3}

if [ -z "${CDRWATCH:-}" ]; then
    echo "bench: building cdrwatch (-O2) in _build/bench" >&2
    [ -x "$top/configure" ] || (cd "$top" && ./autogen.sh > /dev/null)
    mkdir -p "$top/_build/bench"
    (cd "$top/_build/bench" && { [ -f Makefile ] || "$top/configure" > /dev/null; } && make -j"$(nproc)" > /dev/null)
    CDRWATCH=$top/_build/bench/src/cdrwatch
    GEN=$top/_build/bench/datasets/gen/cdrwatch-gen
fi
GEN=${GEN:-$(dirname "$CDRWATCH")/../datasets/gen/cdrwatch-gen}

work=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-bench.XXXXXX")
export CDRWATCH_BROKER_OWNER=$$
cleanup() { bash "$top/tests/kafka/broker.sh" stop "$work/broker" 2> /dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# a JVM tuned for throughput (the tests' default favours a quick start); every topic time-stamped
# by the broker on append, so that latencies are measured on one clock
BROKER=$(KAFKA_JVM_OPTS="-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true" \
    KAFKA_BROKER_PROPS="log.message.timestamp.type=LogAppendTime" \
    bash "$top/tests/kafka/broker.sh" start "$work/broker" 1)
cc -O2 -o "$work/audit-stream" "$top/bench/audit-stream.c"

now() { date +%s.%N; }
topic_exists() { kcat -L -b "$BROKER" -t "$1" > /dev/null 2>&1; } # kcat -L has the broker create it
config() { # config CDR-TOPIC AUDIT-TOPIC ALERTS-TOPIC [RULES-JQ]: a configuration file, printed path
    local f="$work/$1-$2.json"
    jq -n --arg c "$1" --arg a "$2" --arg o "$3" \
        '{inputs: {cdr: {topic: $c}, audit: {topic: $a}}, outputs: {alerts_topic: $o},
          kafka: {stats_interval: "0s"}}' > "$f"
    if [ -n "${4:-}" ]; then jq "$4" "$f" > "$f.tmp" && mv "$f.tmp" "$f"; fi
    echo "$f"
}

echo "== machine"
lscpu | sed -n 's/^Model name: *//p'
echo "$(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB; $(uname -sr)"
echo "cdrwatch $("$CDRWATCH" --version | cut -d' ' -f2); librdkafka $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | cut -d' ' -f2);" \
    "Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$top/tests/kafka/pom.xml"); $(java -version 2>&1 | head -1)"

# ---- throughput ----
"$GEN" --days "$CDR_DAYS" --cdr-per-day "$CDR_PER_DAY" --out-dir "$work/gen" > /dev/null
n_cdr=$(($(wc -l < "$work/gen/cdr.csv") - 1))
tail -n +2 "$work/gen/cdr.csv" | kcat -P -b "$BROKER" -t bcdr -X linger.ms=50
"$work/audit-stream" --count "$AUDIT_RECORDS" | kcat -P -b "$BROKER" -t baudit -X linger.ms=50
topic_exists bcdr-none
topic_exists baudit-none
rm -rf "$work/gen"

throughput() { # throughput LABEL TOPIC RECORDS CONFIG
    local label=$1 topic=$2 n=$3 cfg=$4 t0 t1 best_k=0 best_c=0 best_p=0 r
    for run in $(seq 1 "$RUNS"); do
        t0=$(now)
        kcat -C -b "$BROKER" -t "$topic" -o beginning -e -q > /dev/null
        t1=$(now)
        r=$(echo "$n / ($t1 - $t0)" | bc)
        [ "$r" -gt "$best_k" ] && best_k=$r
        # cdrwatch: whole run (connect, join the group, read to the end, commit, leave), and the
        # part after the assignment, comparable to kcat, which joins no group
        t0=$(now)
        "$CDRWATCH" run --config "$cfg" -b "$BROKER" -G "bench-$label-$run" --exit-at-end 2>&1 > /dev/null |
            while IFS= read -r line; do echo "$(now) $line"; done > "$work/run.log"
        t1=$(now)
        grep -q "stats: records in $n " "$work/run.log" || { echo "bench: $label: not every record processed" >&2; cat "$work/run.log" >&2; exit 1; }
        ta=$(awk '/ assigned / {print $1; exit}' "$work/run.log")
        te=$(awk '/ stats: / {print $1}' "$work/run.log" | tail -1)
        r=$(echo "$n / ($t1 - $t0)" | bc)
        [ "$r" -gt "$best_c" ] && best_c=$r
        r=$(echo "$n / ($te - $ta)" | bc)
        [ "$r" -gt "$best_p" ] && best_p=$r
    done
    echo "$label: $n records; kcat -C $best_k/s; cdrwatch run $best_p/s from assignment to the end" \
        "($((100 * best_p / best_k)) % of kcat), $best_c/s including start, group join and close (best of $RUNS)"
}
echo "== throughput (records/s, one partition, default rules)"
throughput cdr-csv bcdr "$n_cdr" "$(config bcdr baudit-none bench-alerts)"
throughput audit-json baudit "$AUDIT_RECORDS" "$(config bcdr-none baudit bench-alerts)"

# ---- latency ----
# one alert per principal, on its 100th record (audit-stream --burst 100): RATE/100 alerts a second
cfg=$(config lcdr laudit lalerts '.engine.allowed_lateness = "10s" | .rules = [{id: "burst", name: "burst", filter: {object: "*cdr*"},
    window: "1m", bucket: "5s", threshold: 100, suppress: "1h"}]')
topic_exists lcdr
topic_exists laudit
topic_exists lalerts
"$CDRWATCH" run --config "$cfg" -b "$BROKER" -G latency 2> "$work/live.log" > /dev/null &
pid=$!
for _ in $(seq 1 300); do grep -q "assigned" "$work/live.log" && break; sleep 0.1; done
n_live=$((RATE * SECONDS_LIVE))
"$work/audit-stream" --live --rate "$RATE" --count "$n_live" | kcat -P -b "$BROKER" -t laudit -X linger.ms=1
sleep 3
if ! kill -TERM "$pid" 2> /dev/null; then
    echo "bench: cdrwatch run ended before the end of the latency run:" >&2
    tail -20 "$work/live.log" >&2
    exit 1
fi
wait "$pid" || true
kcat -C -b "$BROKER" -t laudit -o beginning -e -q -f '%o %T\n' > "$work/in.ts"
kcat -C -b "$BROKER" -t lalerts -o beginning -e -q -f '%T %s\n' |
    jq -R -r 'capture("^(?<t>[0-9]+) (?<a>.*)$") | [.t, (.a | fromjson | .cdrwatch.evidence.last | split("/")[2])] | @tsv' \
        > "$work/alerts.ts"
awk 'NR == FNR { at[$1] = $2; next } ($2 in at) { print $1 - at[$2] }' "$work/in.ts" "$work/alerts.ts" | sort -n > "$work/lat"
n=$(wc -l < "$work/lat")
pct() { awk -v p="$1" -v n="$n" 'NR == int((n - 1) * p / 100) + 1 { print; exit }' "$work/lat"; }
echo "== latency (record appended -> its alert appended and acknowledged, broker clock, ms)"
echo "$RATE records/s for $SECONDS_LIVE s, $n alerts: p50 $(pct 50) ms, p99 $(pct 99) ms, max $(tail -1 "$work/lat") ms"
