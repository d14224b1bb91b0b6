#!/bin/bash
# bench/restart.sh — what a restart of `cdrwatch run` costs, on a real Apache Kafka broker (one
# node on 127.0.0.1, tests/kafka/broker.sh). DAYS days of the generator's operator are loaded and
# processed by one instance, which checkpoints its state and stops cleanly; one new audit record
# arrives; the instance starts again with --exit-at-end. Measured, best of RUNS: the time from
# its start until that record is processed and committed, and the records it reads again —
#   - restoring its checkpoints (state.topic): reads only the new record;
#   - without checkpoints (state.interval 0, the fallback): every partition read again over the
#     rewind span (the longest window + suppression of the shipped rules, 8 days), silently.
# Run it with two DAYS to see what grows with the history: the restore's time follows the number
# of keys (principals, hosts...), the rewind's the number of records in the span.
#
#   CDRWATCH=_build/w/src/cdrwatch bench/restart.sh
#   DAYS=28 CDR_PER_DAY=60000 RUNS=3 CDRWATCH=... bench/restart.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
DAYS=${DAYS:-28}
CDR_PER_DAY=${CDR_PER_DAY:-15000}
RUNS=${RUNS:-3}
: "${CDRWATCH:?set CDRWATCH to a built cdrwatch (e.g. _build/w/src/cdrwatch)}"
GEN=${GEN:-$(dirname "$CDRWATCH")/../datasets/gen/cdrwatch-gen}

work=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-bench.XXXXXX")
export CDRWATCH_BROKER_OWNER=$$
cleanup() { bash "$top/tests/kafka/broker.sh" stop "$work/broker" 2> /dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
BROKER=$(bash "$top/tests/kafka/broker.sh" start "$work/broker" 2)
now() { date +%s.%N; }
stat_of() { grep -F 'stats: ' "$1" | grep -o -- "$2 [0-9]\+" | tail -1 | awk '{print $NF}'; }

"$GEN" --days "$DAYS" --cdr-per-day "$CDR_PER_DAY" --out-dir "$work/gen" > /dev/null
n_cdr=$(($(wc -l < "$work/gen/cdr.csv") - 1))
n_audit=$(wc -l < "$work/gen/audit.jsonl")
tail -n +2 "$work/gen/cdr.csv" | kcat -P -b "$BROKER" -t cdr -X linger.ms=50
sed -E 's/^(.*"principal":"([^"]*)".*)$/\2\t\1/' "$work/gen/audit.jsonl" | kcat -P -b "$BROKER" -t db-audit -K '\t'
for t in cdr-alerts db-audit.dlq cdr.dlq; do kcat -L -b "$BROKER" -t "$t" > /dev/null 2>&1 || true; done
last_ts=$(tail -1 "$work/gen/audit.jsonl" | jq -r .ts)
echo "== $DAYS days: $n_cdr CDRs, $n_audit audit records; cdrwatch $("$CDRWATCH" --version | cut -d' ' -f2)"

config() { # config STATE-INTERVAL: the shipped configuration with checkpoints every STATE-INTERVAL
    "$CDRWATCH" check-config | jq --arg i "$1" '.kafka.stats_interval = "0s" | .state.interval = $i' > "$work/c-$1.json"
    echo "$work/c-$1.json"
}

restart() { # restart LABEL STATE-INTERVAL: prints "seconds records-read-again"
    local label=$1 cfg best=999999 again=0 t0 t1 s
    cfg=$(config "$2")
    for run in $(seq 1 "$RUNS"); do
        local g="bench-$label-$run"
        "$CDRWATCH" run --config "$cfg" -b "$BROKER" -G "$g" --exit-at-end 2> "$work/first.log" > /dev/null
        # one new record, a minute after the last one, by a principal of the history
        jq -c --arg ts "$last_ts" '.ts = ($ts | sub("\\.[0-9]+Z$"; "Z") | fromdate + 60 | todate)' \
            <(tail -1 "$work/gen/audit.jsonl") | sed -E 's/^(.*"principal":"([^"]*)".*)$/\2\t\1/' |
            kcat -P -b "$BROKER" -t db-audit -K '\t'
        t0=$(now)
        "$CDRWATCH" run --config "$cfg" -b "$BROKER" -G "$g" --exit-at-end 2> "$work/again.log" > /dev/null
        t1=$(now)
        s=$(echo "$t1 - $t0" | bc)
        if [ "$(echo "$s < $best" | bc)" = 1 ]; then
            best=$s
            again=$(stat_of "$work/again.log" rebuilt)
        fi
    done
    printf '%-34s %8.2f s   %9s records read again\n' "$label" "$best" "$again"
}
echo "restart to the first new record processed and committed (best of $RUNS):"
restart "from the checkpoints (state.topic)" 60s
restart "without checkpoints (the rewind)" 0s
