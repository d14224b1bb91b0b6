#!/bin/bash
# service_unit.sh — the systemd unit that make install installs (contrib/systemd/cdrwatch.service,
# generated from its .in with configure's paths) passes `systemd-analyze verify` without a word
# (a bad value is only warned about, with status 0: the test requires silence), names the
# program and the configuration where make install puts them, and `systemd-analyze security`
# rates it no worse than doc/service.md says. Neither needs systemd running: both read a
# scratch root (--root) holding the unit, the program at its ExecStart path, kill for
# ExecReload and this system's units (the targets the unit depends on).
. "$(dirname "$0")/lib.sh"
if ! command -v systemd-analyze > /dev/null 2>&1; then
    echo "1..0 # SKIP systemd-analyze is not installed (Debian: apt-get install systemd)"
    [ "${CI:-}" = "true" ] && { echo "not ok 1 - systemd-analyze is required under CI"; exit 1; }
    exit 0
fi
UNIT="$top_builddir/contrib/systemd/cdrwatch.service"
ok_status "$([ -f "$UNIT" ]; echo $?)" "make built the unit"
ok_status "$(! grep -n '@[a-z]*@' "$UNIT"; echo $?)" "no placeholder is left in it"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
program=${exec_start%% *}
ok_status "$([[ "$exec_start" =~ ^/[^\ ]*/bin/cdrwatch\ run\ --config\ /[^\ ]*/cdrwatch/cdrwatch\.json$ ]]; echo $?)" \
    "ExecStart runs the installed cdrwatch on the installed configuration ($exec_start)"

# the scratch root
root="$TMP/root"
host_units=$(pkg-config --variable=systemdsystemunitdir systemd 2> /dev/null || true)
host_units=${host_units:-/lib/systemd/system}
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root$(dirname "$program")" "$root/bin"
cp -r "$host_units" "$root/usr/lib/systemd/system"
cp "$UNIT" "$root/etc/systemd/system/"
cp "$CDRWATCH" "$root$program"
cp "$(type -P kill)" "$root/bin/kill"

verify() { # verify UNIT-NAME: the status and everything said, in $TMP/verify
    set +e
    systemd-analyze verify --man=no --root="$root" "$1" > "$TMP/verify" 2>&1
    rc=$?
    set -e
}
verify cdrwatch.service
is "$rc" 0 "systemd-analyze verify accepts the unit"
is "$(cat "$TMP/verify")" "" "without a warning"

# the check is not blind: a value systemd cannot parse is said (and the test above would fail)
sed 's/^ProtectSystem=strict$/ProtectSystem=strictly/' "$UNIT" > "$root/etc/systemd/system/broken.service"
verify broken.service
contains "$TMP/verify" "Failed to parse protect system value" "a broken copy of the unit is reported"

set +e
systemd-analyze security --offline=true --root="$root" cdrwatch.service > "$TMP/security" 2>&1
rc=$?
set -e
is "$rc" 0 "systemd-analyze security rates the unit"
score=$(sed -n 's/.*Overall exposure level for cdrwatch.service: \([0-9.]*\).*/\1/p' "$TMP/security")
documented=$(sed -n 's/.*exposure level \*\*\([0-9.]*\)\*\*.*/\1/p' "$top_srcdir/doc/service.md" | head -1)
ok_status "$([ -n "$score" ] && [ -n "$documented" ] && awk -v s="$score" -v d="$documented" 'BEGIN { exit !(s <= d) }'; echo $?)" \
    "its exposure ($score) is no worse than doc/service.md's ($documented)"
done_testing
