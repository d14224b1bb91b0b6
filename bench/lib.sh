# bench/lib.sh — helpers shared by the bench scripts (sourced, not run): the build's programs,
# the cached data sets, the floor programs compiled once, timing the contenders alternately
# (best of RUNS), and the ratio table. Needs: BUILD_DIR and WORK_DIR as the scripts' arguments.
# shellcheck shell=bash

# bench_init BUILD_DIR WORK_DIR: sets cw, gen, work, RUNS; fails clearly without a build
bench_init() {
    local top; top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    bench_src=$top/bench
    local build=${1:-$top/_build/w}
    work=${2:-${TMPDIR:-/tmp}/cdrwatch-bench}
    cw=$build/src/cdrwatch
    gen=$build/datasets/gen/cdrwatch-gen
    RUNS=${RUNS:-3}
    if [ ! -x "$cw" ] || [ ! -x "$gen" ]; then
        echo "bench: no build in $build: $cw and $gen are needed" >&2
        echo "bench: ./autogen.sh && mkdir -p _build/w && cd _build/w && ../../configure --enable-werror && make -j2" >&2
        exit 2
    fi
    mkdir -p "$work"
}

# audit_gen RECORDS PRINCIPALS: deterministic audit JSON Lines on stdout — principals
# p0..p(N-1), every record a CDR-table read with rows and two subscribers, 0.1 % COPYs
audit_gen() {
    awk -v n="$1" -v np="$2" 'BEGIN {
        srand(7); t0 = 1772409600; tables[0] = "cdr_voice"; tables[1] = "cdr_sms"; tables[2] = "cdr_data"
        for (i = 0; i < n; i++) {
            t = t0 + int(i * 864000 / n)                   # spread over 10 days
            p = int(rand() * np); r = int(rand() * 200) + 1
            s1 = sprintf("+4479%08d", int(rand() * 1000000)); s2 = sprintf("+4479%08d", int(rand() * 1000000))
            act = (rand() < 0.001) ? "COPY" : "SELECT"
            printf "{\"ts\":%d000,\"principal\":\"p%d\",\"action\":\"%s\",\"client_host\":\"ws-%d.corp.example\",\"client_app\":\"DBeaver\",\"db\":\"mediation\",\"object\":\"mediation.%s\",\"rows\":%d,\"statement\":\"SELECT * FROM mediation.%s WHERE calling_msisdn IN (%s, %s)\",\"subscribers\":[\"%s\",\"%s\"],\"status\":\"ok\"}\n", t, p, act, p % 500, tables[i % 3], r, tables[i % 3], s1, s2, s1, s2
        }
    }'
}

# audit_file RECORDS PRINCIPALS: the cached file's path (generated the first time)
audit_file() {
    local f=$work/audit-$1r-$2p.jsonl
    if [ ! -s "$f" ]; then
        echo "bench: generating $1 audit records of $2 principals ..." >&2
        audit_gen "$1" "$2" > "$f.tmp" && mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# cdr_file: the cached CDR CSV shared by floors.sh and peers.sh — about 2 M CDRs (14 days of
# CDR_PER_DAY on weekdays, fewer at weekends) of CDR_SUBSCRIBERS subscribers
cdr_file() {
    local per_day=${CDR_PER_DAY:-158000} subs=${CDR_SUBSCRIBERS:-100000}
    local d=$work/cdr-14d-${per_day}-${subs}s
    if [ ! -s "$d/cdr.csv" ]; then
        echo "bench: generating 14 days of $per_day CDRs a day, $subs subscribers ..." >&2
        rm -rf "$d.tmp"
        "$gen" --days 14 --cdr-per-day "$per_day" --subscribers "$subs" --out-dir "$d.tmp" > /dev/null
        rm -rf "$d" && mv "$d.tmp" "$d"
    fi
    echo "$d/cdr.csv"
}

# floor_bin NAME LIBS...: bench/NAME.c compiled (cc -g -O2, the project's default flags) into
# the work directory when missing or older than its source; prints the binary's path
floor_bin() {
    local name=$1; shift
    local out=$work/bin/$name
    mkdir -p "$work/bin"
    if [ ! -x "$out" ] || [ "$bench_src/$name.c" -nt "$out" ] || [ "$bench_src/floor-lines.h" -nt "$out" ]; then
        # shellcheck disable=SC2068 # the libraries' flags are words
        cc -g -O2 -Wall -Wextra -o "$out" "$bench_src/$name.c" $@
    fi
    echo "$out"
}

# time_of CMD...: runs CMD (output to /dev/null, errors to WORK/last.err); prints its wall
# seconds and its CPU seconds (user + system, children included)
time_of() {
    local TIMEFORMAT='%R %U %S' t
    if ! t=$({ time "$@" > /dev/null 2> "$work/last.err"; } 2>&1); then
        echo "bench: failed: $*" >&2
        cat "$work/last.err" >&2
        exit 1
    fi
    awk -v t="$t" 'BEGIN { split(t, f, " "); printf "%.3f %.3f", f[1], f[2] + f[3] }'
}

# race NAME...: calls the functions NAME... in turn, RUNS rounds (alternated, so that a change
# of the machine's load hits each alike); sets best[NAME] (the smallest wall time) and
# cpu[NAME] (the smallest CPU time), and prints every run on stderr
declare -A best cpu
race() {
    local f wall c t
    declare -A runs
    for f in "$@"; do runs[$f]=""; best[$f]=""; cpu[$f]=""; done
    for _ in $(seq "$RUNS"); do
        for f in "$@"; do
            t=$(time_of "$f") # a failed run ends the script here (set -e)
            read -r wall c <<< "$t"
            runs[$f]="${runs[$f]}${runs[$f]:+ }$wall"
            if [ -z "${best[$f]}" ] || awk -v a="$wall" -v b="${best[$f]}" 'BEGIN { exit !(a < b) }'; then
                best[$f]=$wall
            fi
            if [ -z "${cpu[$f]}" ] || awk -v a="$c" -v b="${cpu[$f]}" 'BEGIN { exit !(a < b) }'; then
                cpu[$f]=$c
            fi
        done
    done
    for f in "$@"; do
        echo "  $f: wall ${runs[$f]} s -> best ${best[$f]} s; best CPU ${cpu[$f]} s" >&2
    done
}

# ratio A B: A / B, 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# result WHAT MEASURED RATIO CPU-RATIO OP TARGET: one row of the ratio table (OP is <= or >=;
# the verdict is on RATIO), printed and appended to RESULTS (a file, when set: bench/all.sh
# collects the rows of every script)
result() {
    local verdict
    verdict=$(awk -v r="$3" -v op="$5" -v t="$6" 'BEGIN { ok = (op == "<=") ? r <= t : r >= t; print ok ? "PASS" : "short" }')
    printf '| %s | %s | %s | %s | %s %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$verdict" | tee -a "${RESULTS:-/dev/null}"
}

# versus WHAT A B OP TARGET: the row for contender A over contender B (functions given to race):
# the ratio of their best wall times, and of their best CPU times
versus() {
    result "$1" "${best[$2]} s / ${best[$3]} s (CPU ${cpu[$2]} s / ${cpu[$3]} s)" \
        "$(ratio "${best[$2]}" "${best[$3]}")" "$(ratio "${cpu[$2]}" "${cpu[$3]}")" "$4" "$5"
}

table_head() {
    echo "| what | measured: wall (CPU) | ratio | CPU ratio | target | |"
    echo "|---|---|---:|---:|---|---|"
}

machine() {
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "cdrwatch: $("$cw" --version); $(date -u +%Y-%m-%dT%H:%MZ); best of $RUNS runs, alternated"
}
