#!/bin/bash
# smoke.sh — run each fuzz target that `make fuzz` built for a few seconds on its seed corpus:
#   smoke.sh SRCDIR BUILDDIR [SECONDS]        (default 3 seconds a target)
# New inputs go to BUILDDIR/tests/fuzz/smoke/<target>/ (the committed corpus is only read), a
# crashing input to BUILDDIR/tests/fuzz/smoke/crash-<target>-*. Prints one line per target,
# "fuzz: <target>: PASS" or "fuzz: <target>: FAIL", and exits 1 if any failed.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: smoke.sh SRCDIR BUILDDIR [SECONDS]" >&2; exit 2; }
src=$1 out=$2/tests/fuzz seconds=${3:-3}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for name in $("$src/tests/fuzz/build.sh" --list); do
    work=$out/smoke/$name
    rm -rf "$work" && mkdir -p "$work"
    if [ -x "$out/fuzz_$name" ] &&
        "$out/fuzz_$name" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
            -artifact_prefix="$out/smoke/crash-$name-" "$work" "$src/tests/fuzz/corpus/$name" \
            > "$work.log" 2>&1; then
        echo "fuzz: $name: PASS ($(ls "$src/tests/fuzz/corpus/$name" | wc -l) seeds, $(grep -aoE '#[0-9]+' "$work.log" | tail -1 | tr -d '#') runs)"
    else
        echo "fuzz: $name: FAIL"
        [ -x "$out/fuzz_$name" ] || echo "fuzz: $name: $out/fuzz_$name not built (make fuzz)"
        grep -a -E -A25 'ERROR|property failed|records differ|deadly signal' "$work.log" | head -40
        failed=1
    fi
done
exit $failed
