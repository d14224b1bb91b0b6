#!/bin/bash
# bench/all.sh — every ratio of issue 10 in one run: bench/floors.sh, bench/peers.sh and, with
# KAFKA=1, bench/kafka.sh (a real broker: java, maven, kcat), then all the ratios in one table.
#
#   bench/all.sh [BUILD_DIR] [WORK_DIR]         # defaults: _build/w, ${TMPDIR:-/tmp}/cdrwatch-bench
#   RUNS=5 KAFKA=1 bench/all.sh ...
#
# Each script's own output is shown as it runs; the table at the end gathers their rows. The
# kafka rows are `cdrwatch run` (from its partitions' assignment to the end) over `kcat -C`, in
# records per second, from kafka.sh's summary lines. Measures, asserts nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_init "$@"
build=$(cd "$(dirname "$cw")/.." && pwd)
RESULTS=$work/all-ratios.md
export RESULTS RUNS
: > "$RESULTS"

echo "== bench/floors.sh"
"$here/floors.sh" "$build" "$work"
echo
echo "== bench/peers.sh"
"$here/peers.sh" "$build" "$work"
if [ "${KAFKA:-0}" = 1 ]; then
    echo
    echo "== bench/kafka.sh"
    CDRWATCH=$cw GEN=$gen RUNS=$RUNS "$here/kafka.sh" | tee "$work/kafka.out"
    # "audit-json: 1000000 records; kcat -C 839313/s; cdrwatch run 281697/s from assignment ..."
    sed -n 's/^\([a-z-]*\): \([0-9]*\) records; kcat -C \([0-9]*\)\/s; cdrwatch run \([0-9]*\)\/s from assignment.*/\1 \2 \3 \4/p' \
        "$work/kafka.out" | while read -r what n kcat run; do
        result "run / kcat -C, $what, $n records" "$run/s / $kcat/s" "$(ratio "$run" "$kcat")" "—" ">=" 0.8
    done > /dev/null
fi

echo
echo "== issue 10: every ratio"
machine
echo
table_head
cat "$RESULTS"
