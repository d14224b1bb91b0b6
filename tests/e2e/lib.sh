# lib.sh — TAP helpers for the end-to-end shell tests (sourced).
# Each test script prints TAP: `ok N - name` / `not ok N - name`, then the plan at the end.
# Environment from `make check`: top_srcdir, top_builddir, CDRWATCH (the program), JQ.

set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CDRWATCH:=$top_builddir/src/cdrwatch}"
: "${JQ:=jq}"

tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdrwatch-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok_status() { # ok_status EXIT-STATUS NAME: 0 = pass (a shell status, the opposite of tap.h's ok(cond))
    local status=$1; shift
    tap_n=$((tap_n + 1))
    if [ "$status" -eq 0 ]; then
        echo "ok $tap_n - $*"
    else
        echo "not ok $tap_n - $*"
        tap_failed=$((tap_failed + 1))
    fi
}

# run CMD...: run a command, keeping its exit status in $rc, stdout in $TMP/out, stderr in $TMP/err
run() {
    set +e
    "$@" > "$TMP/out" 2> "$TMP/err"
    rc=$?
    set -e
}

is() { # is GOT WANT NAME
    local got=$1 want=$2; shift 2
    if [ "$got" = "$want" ]; then ok_status 0 "$*"; else
        ok_status 1 "$*"; echo "#   got:      '$got'"; echo "#   expected: '$want'"; fi
}

contains() { # contains FILE TEXT NAME
    local file=$1 text=$2; shift 2
    if grep -qF -- "$text" "$file"; then ok_status 0 "$*"; else
        ok_status 1 "$*"; echo "#   '$file' does not contain: $text"; head -n 20 "$file" | sed 's/^/#   | /'; fi
}

same_file() { # same_file GOT WANT NAME: diff shows what differs
    local got=$1 want=$2; shift 2
    if diff -u "$want" "$got" > "$TMP/diff"; then ok_status 0 "$*"; else
        ok_status 1 "$*"; head -n 40 "$TMP/diff" | sed 's/^/#   /'; fi
}

# Alerts without cdrwatch.observer (the only machine- and clock-dependent part, doc/formats.md §2).
strip_observer() { "$JQ" -c 'del(.cdrwatch.observer)' "$@"; }

need_jq() {
    if ! command -v "$JQ" > /dev/null 2>&1; then
        echo "1..0 # SKIP jq is not installed (Debian: apt-get install jq)"
        [ "${CI:-}" = "true" ] && { echo "not ok 1 - jq is required under CI"; exit 1; }
        exit 0
    fi
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
