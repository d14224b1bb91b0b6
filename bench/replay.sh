#!/bin/bash
# bench/replay.sh — throughput and memory of `cdrwatch replay` with the shipped rule pack.
#
#   bench/replay.sh [BUILD_DIR] [WORK_DIR]
#
# Generates (once, cached in WORK_DIR) 10 M CDRs with datasets/gen/cdrwatch-gen and 1 M audit
# events with a deterministic awk generator (10 000 principals reading CDR tables, rows,
# subscribers, a few exports), then times three replays — CDRs only, audit only, both merged —
# and one run with 100 000 distinct principals for the memory per tracked principal. Prints a
# table; figures for this repository's reference machine are in bench/README.md. Not a test:
# it asserts nothing, it measures.
#
#   COMPARE=OLD_CDRWATCH [RUNS=5] bench/replay.sh [BUILD_DIR] [WORK_DIR]
#
# compares instead this build's cdrwatch with another (an older commit built alike): the 1 M audit
# events (JSON) replayed by each in turn, RUNS times; prints the best time of each and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../_build/werror}
work=${2:-${TMPDIR:-/tmp}/cdrwatch-bench}
cw=$build/src/cdrwatch
gen=$build/datasets/gen/cdrwatch-gen
if [ ! -x "$cw" ] || [ ! -x "$gen" ]; then echo "build first: $cw and $gen are needed" >&2; exit 2; fi
mkdir -p "$work"

if [ ! -s "$work/cdr/cdr.csv" ] && [ -z "${COMPARE:-}" ]; then
    echo "generating 10 M CDRs ..." >&2
    "$gen" --days 10 --cdr-per-day 1000000 --subscribers 1000000 --out-dir "$work/cdr" > /dev/null
fi

# audit_gen RECORDS PRINCIPALS (bench/lib.sh): principals p0..p(N-1); every record a CDR read
# with rows and one or two subscribers
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
[ -s "$work/audit-1m.jsonl" ] || { echo "generating 1 M audit events ..." >&2; audit_gen 1000000 10000 > "$work/audit-1m.jsonl"; }
[ -s "$work/audit-100k-principals.jsonl" ] || audit_gen 300000 100000 > "$work/audit-100k-principals.jsonl"

if [ -n "${COMPARE:-}" ]; then
    best() { # best SECONDS...: the smallest
        printf '%s\n' "$@" | sort -g | head -1
    }
    old=() new=()
    for _ in $(seq "${RUNS:-5}"); do
        for which in old new; do
            bin=$cw; [ "$which" = old ] && bin=$COMPARE
            t0=$(date +%s.%N)
            "$bin" replay --quiet --audit "$work/audit-1m.jsonl" > /dev/null 2>&1
            t1=$(date +%s.%N)
            d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
            if [ "$which" = old ]; then old+=("$d"); else new+=("$d"); fi
        done
    done
    o=$(best "${old[@]}") n=$(best "${new[@]}")
    echo "1 M audit events (JSON), best of ${RUNS:-5}, runs alternated"
    echo "old ($COMPARE): ${old[*]} s -> best $o s, $(awk -v t="$o" 'BEGIN { printf "%.0f", 1000000 / t }') records/s"
    echo "new ($cw): ${new[*]} s -> best $n s, $(awk -v t="$n" 'BEGIN { printf "%.0f", 1000000 / t }') records/s"
    awk -v o="$o" -v n="$n" 'BEGIN { printf "new / old time: %.3f\n", n / o }'
    exit 0
fi

run() { # run LABEL ARGS...: prints "label | records | seconds | records/s | peak RSS"
    local label=$1; shift
    local err; err=$(mktemp)
    local t0 t1; t0=$(date +%s.%N)
    "$cw" replay "$@" > /dev/null 2> "$err"
    t1=$(date +%s.%N)
    local recs rss keys state
    recs=$(sed -n 's/.*records: cdr=\([0-9]*\) audit=\([0-9]*\);.*/\1 \2/p' "$err" | awk '{print $1 + $2}')
    rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$err")
    keys=$(sed -n 's/.*state: \([0-9]*\) keys in \([0-9.]*\) MiB.*/\1/p' "$err")
    state=$(sed -n 's/.*state: \([0-9]*\) keys in \([0-9.]*\) MiB.*/\2/p' "$err")
    awk -v l="$label" -v n="$recs" -v a="$t0" -v b="$t1" -v r="$rss" -v k="$keys" -v s="$state" \
        'BEGIN { d = b - a; printf "| %-28s | %10d | %7.2f | %9.0f | %8s | %8s | %8s |\n", l, n, d, n / d, r, k, s }'
    rm -f "$err"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "cdrwatch: $("$cw" --version), rules: $("$cw" check-config | grep -c '"id":')"
echo
echo "| run                          |    records | seconds | records/s | peak RSS MiB | rule keys | state MiB |"
echo "|------------------------------|-----------:|--------:|----------:|---------:|---------:|---------:|"
run "10 M CDRs (CSV)" --cdr "$work/cdr/cdr.csv"
run "1 M audit events (JSON)" --audit "$work/audit-1m.jsonl"
run "10 M CDRs + 1 M audit, merged" --cdr "$work/cdr/cdr.csv" --audit "$work/audit-1m.jsonl"
run "300 k audit, 100 k principals" --audit "$work/audit-100k-principals.jsonl"
