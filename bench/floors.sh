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
a_cw=${best[cdrwatch_audit]} a_floor=${best[cjson_floor]} a_arena=${best[cjson_floor_arena]}

echo "(b) $n_cdr CDRs (CSV): $cdr" >&2
cdrwatch_cdr() { "$cw" replay --quiet --cdr "$cdr"; }
libcsv_floor() { "$fcsv" "$cdr"; }
race cdrwatch_cdr libcsv_floor
b_cw=${best[cdrwatch_cdr]} b_floor=${best[libcsv_floor]}

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
result "audit replay / cJSON floor, $n_audit records" "$a_cw s / $a_floor s (floor with arena $a_arena s)" \
    "$(ratio "$a_cw" "$a_floor")" "<=" 1.5
result "CDR replay / libcsv floor, $n_cdr CDRs" "$b_cw s / $b_floor s" "$(ratio "$b_cw" "$b_floor")" "<=" 2.0
result "bytes per principal, 100 000 principals" "peak RSS $rss_many MiB - $rss_few MiB" "$per" "<=" 1024
