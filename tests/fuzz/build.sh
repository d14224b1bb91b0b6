#!/bin/bash
# build.sh — build the libFuzzer harnesses of tests/fuzz with clang under ASan + UBSan, from the
# library's own sources (not libcdrwatch.a, which the normal compiler built without the fuzzer's
# coverage instrumentation). `make fuzz` calls it with what the Makefile knows:
#   build.sh SRCDIR BUILDDIR            (out: BUILDDIR/tests/fuzz/fuzz_<target>)
# and in the environment FUZZ_SOURCES (the library's sources, relative to SRCDIR, as Makefile.am
# lists them), FUZZ_CPPFLAGS, FUZZ_LIBS, FUZZ_CC (default clang), FUZZ_JOBS (default 2).
# The targets are listed by `build.sh --list`.
set -euo pipefail

# target name, harness source, extra flags
targets() {
    cat <<'T'
json fuzz_json.c
json_scan fuzz_json_scan.c
audit_csv fuzz_csv.c -DCW_FUZZ_STREAM=CW_STREAM_AUDIT
cdr_csv fuzz_csv.c -DCW_FUZZ_STREAM=CW_STREAM_CDR
oracle_csv fuzz_csv.c -DCW_FUZZ_FORMAT=CW_AUDIT_ORACLE_CSV
mssql_csv fuzz_csv.c -DCW_FUZZ_FORMAT=CW_AUDIT_MSSQL_CSV
pgaudit fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_PGAUDIT
mariadb fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_MARIADB
mysql_json fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_MYSQL_JSON
oracle_json fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_ORACLE_JSON
oracle_xml fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_ORACLE_XML
percona_json fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_PERCONA_JSON
percona_xml fuzz_native.c -DCW_FUZZ_FORMAT=CW_AUDIT_PERCONA_XML
message fuzz_message.c
config fuzz_config.c
state fuzz_state.c
replay fuzz_replay.c
T
}
if [ "${1:-}" = "--list" ]; then
    targets | cut -d' ' -f1
    exit 0
fi
[ $# -eq 2 ] || { echo "usage: build.sh SRCDIR BUILDDIR | --list" >&2; exit 2; }
src=$1 build=$2
cc=${FUZZ_CC:-clang}
out=$build/tests/fuzz
obj=$out/obj
if ! command -v "$cc" > /dev/null; then
    echo "build.sh: $cc not found: the fuzz targets need clang with libFuzzer (Debian: apt-get install clang)" >&2
    exit 1
fi
mkdir -p "$obj"
# The warnings of configure's CW_CFLAGS, as errors; -O1 -g for readable reports.
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror)
# shellcheck disable=SC2206 # word splitting of the flags the Makefile passes is wanted
cppflags=(-D_GNU_SOURCE -I"$src/include" -I"$build" -I"$src/tests/fuzz" ${FUZZ_CPPFLAGS:-})
# shellcheck disable=SC2206
libs=(${FUZZ_LIBS:-})

compile() { # compile SOURCE OBJECT EXTRA-FLAGS...
    local s=$1 o=$2; shift 2
    "$cc" "${flags[@]}" -fsanitize=fuzzer-no-link "${cppflags[@]}" "$@" -c "$s" -o "$o"
}
export cc

# The library (and the built-in default configuration generated in the build tree), then fuzz.c.
objects=()
jobs=()
for s in ${FUZZ_SOURCES:?FUZZ_SOURCES: the library sources} tests/fuzz/fuzz.c; do
    path=$src/$s
    [ -f "$path" ] || path=$build/$s
    o=$obj/$(basename "${s%.c}").o
    objects+=("$o")
    jobs+=("$path" "$o")
done
# An object newer than its source and than every header is kept (make fuzz again after an edit
# recompiles what changed).
newest=$(ls -t "$src"/include/cdrwatch/*.h "$src/tests/fuzz/fuzz.h" "$build/cw_build.h" | head -1)
printf '%s\0%s\0' "${jobs[@]}" |
    NEWEST=$newest FLAGS="${flags[*]}" CPPFLAGS_="${cppflags[*]}" xargs -0 -n2 -P "${FUZZ_JOBS:-2}" \
        bash -c '[ "$1" -nt "$0" ] && [ "$1" -nt "$NEWEST" ] && exit 0
                 "$cc" $FLAGS -fsanitize=fuzzer-no-link $CPPFLAGS_ -c "$0" -o "$1"'

targets | while read -r name harness extra; do
    # shellcheck disable=SC2086 # extra: zero or one -D flag
    compile "$src/tests/fuzz/$harness" "$obj/fuzz_$name.o" $extra
    "$cc" "${flags[@]}" -fsanitize=fuzzer "$obj/fuzz_$name.o" "${objects[@]}" "${libs[@]}" -o "$out/fuzz_$name"
    echo "build.sh: $out/fuzz_$name"
done
