#!/bin/bash
# bench/floors.sh — cdrwatch against the floors of its decoding, side by side in one run, as
# ratios (issue 10's targets):
#
#   bench/floors.sh [BUILD_DIR] [WORK_DIR]      # defaults: _build/w, ${TMPDIR:-/tmp}/cdrwatch-bench
#   RUNS=5 bench/floors.sh ...                  # runs per timed program (default 3), best counts
#
#   (a) 1 M audit records (JSON) of 2 500 principals: `cdrwatch replay --quiet --audit` with the
#       default rule pack against bench/floor-cjson.c (cJSON parsing each line, nothing else);
#       target: cdrwatch <= 1.5 x the floor. The floor with cdrwatch's bump arena is shown too.
#       The records of bench/replay.sh's generator (rows, two subscribers in the statement and
#       in a "subscribers" array); then the same with bench/audit-stream.c's simpler records
#       (one subscriber in the statement, no row count beyond 1; bench/kafka.sh's input).
#   (b) 2 M CDRs (CSV, cdrwatch-gen): `cdrwatch replay --quiet --cdr` against
#       bench/floor-libcsv.c (libcsv splitting the file, nothing else); target <= 2.0 x.
#   (c) memory per principal: peak RSS of 300 k audit records of 100 000 principals minus that of
#       300 k records of 100 principals, / 99 900; target <= 1024 bytes.
#
# Times are wall seconds of the whole command (start-up included), the contenders alternated,
# the best of RUNS counted. Data sets are generated once and cached in WORK_DIR. Measures, asserts
# nothing. Figures and how to read them: bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init "$@"

audit=$(audit_file 1000000 2500)
simple=$work/audit-stream-1000000r-2500p.jsonl
if [ ! -s "$simple" ]; then
    "$(floor_bin audit-stream)" --count 1000000 --burst 400 > "$simple.tmp" && mv "$simple.tmp" "$simple"
fi
cdr=$(cdr_file)
# shellcheck disable=SC2046 # pkg-config's flags are words
fcjson=$(floor_bin floor-cjson $(pkg-config --cflags --libs libcjson))
fcsv=$(floor_bin floor-libcsv -lcsv)
n_audit=$(wc -l < "$audit")
n_cdr=$(($(wc -l < "$cdr") - 1))

machine
echo

echo "(a) $n_audit audit records (JSON), 2 500 principals: $audit" >&2
cdrwatch_audit() { "$cw" replay --quiet --audit "$audit"; }
cjson_floor() { "$fcjson" "$audit"; }
cjson_floor_arena() { "$fcjson" --arena "$audit"; }
race cdrwatch_audit cjson_floor cjson_floor_arena

echo "(a2) 1 M simpler audit records (bench/audit-stream.c), 2 500 principals: $simple" >&2
cdrwatch_simple() { "$cw" replay --quiet --audit "$simple"; }
cjson_floor_simple() { "$fcjson" "$simple"; }
race cdrwatch_simple cjson_floor_simple

echo "(b) $n_cdr CDRs (CSV): $cdr" >&2
cdrwatch_cdr() { "$cw" replay --quiet --cdr "$cdr"; }
libcsv_floor() { "$fcsv" "$cdr"; }
race cdrwatch_cdr libcsv_floor

echo "(c) memory: 300 k audit records of 100 000 principals, and of 100" >&2
peak_rss() { # peak_rss FILE: cdrwatch's own "peak RSS" summary (MiB) for a replay of FILE
    "$cw" replay --audit "$1" 2>&1 > /dev/null | sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p'
}
rss_many=$(peak_rss "$(audit_file 300000 100000)")
rss_few=$(peak_rss "$(audit_file 300000 100)")
if [ -z "$rss_many" ] || [ -z "$rss_few" ]; then
    echo "bench: no peak RSS in cdrwatch's summary" >&2
    exit 1
fi
per=$(awk -v m="$rss_many" -v f="$rss_few" 'BEGIN { printf "%.0f", (m - f) * 1048576 / 99900 }')

table_head
versus "audit replay / cJSON floor, $n_audit records" cdrwatch_audit cjson_floor "<=" 1.5
versus "(audit replay / cJSON floor with cdrwatch's arena)" cdrwatch_audit cjson_floor_arena "<=" 1.5
versus "audit replay / cJSON floor, 1000000 audit-stream records" cdrwatch_simple cjson_floor_simple "<=" 1.5
versus "CDR replay / libcsv floor, $n_cdr CDRs" cdrwatch_cdr libcsv_floor "<=" 2.0
result "bytes per principal, 100 000 principals" "peak RSS $rss_many MiB - $rss_few MiB" "$per" "—" "<=" 1024
