#!/bin/bash
# debian.sh — the Debian package built from the tree (debian/): `dpkg-buildpackage -b -us -uc` on
# a copy of the sources (git's files, without any build products), lintian with no error (its
# warnings are listed in doc/service.md), and the .deb holds the program, cdrwatch-gen, the man
# page, the systemd unit (running the installed program on /etc/cdrwatch/cdrwatch.json) and that
# configuration as a conffile, which the packaged program accepts (check-config).
# The package's own unit tests are left to this suite (DEB_BUILD_OPTIONS=nocheck).
# Installing it for real (dpkg -i, then check-config of the installed configuration, dpkg -L,
# the conffiles dpkg records, dpkg --purge) needs root and changes the system: done only with
# CI=true as root (a CI machine is thrown away), or with CDRWATCH_DEB_INSTALL=yes; otherwise
# the same checks are made on the package's contents (dpkg-deb).
# A release tarball carries no debian/ (make dist leaves it out): there the test has nothing to
# build, and it runs only in tests/run-all's first pass, from the git tree (it is in BROKER_TESTS).
. "$(dirname "$0")/lib.sh"
skip() {
    echo "1..0 # SKIP $*"
    [ "${CI:-}" = "true" ] && { echo "not ok 1 - required under CI: $*"; exit 1; }
    exit 0
}
for tool in dpkg-buildpackage dpkg-deb lintian git; do
    command -v "$tool" > /dev/null 2>&1 || skip "$tool is not installed (.ci/install-deps)"
done
[ -d "$top_srcdir/debian" ] || skip "no debian/ here (a release tarball does not carry it)"

# the sources as git knows them (tracked, and new files not ignored), nothing built; or, when
# top_srcdir is not a git checkout's top (tests/run-all's copy in _build/src), the whole copy
# without build directories (dpkg-buildpackage's clean step runs make distclean if it is configured)
src="$TMP/build/cdrwatch"
mkdir -p "$src"
if [ "$(git -C "$top_srcdir" rev-parse --show-toplevel 2> /dev/null)" = "$(cd "$top_srcdir" && pwd -P)" ]; then
    (cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard) |
        tar -C "$top_srcdir" --null -T - --ignore-failed-read -cf - 2> /dev/null | tar -C "$src" -xf -
else
    tar -C "$top_srcdir" --exclude=./_build --exclude=./.git --exclude=./autom4te.cache -cf - . | tar -C "$src" -xf -
fi
set +e
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) > "$TMP/build.log" 2>&1
rc=$?
set -e
is "$rc" 0 "dpkg-buildpackage -b -us -uc builds the package"
[ "$rc" -eq 0 ] || { tail -30 "$TMP/build.log" | sed 's/^/#   /'; done_testing; exit 1; }
deb=$(ls "$TMP"/build/cdrwatch_*.deb)
changes=$(ls "$TMP"/build/cdrwatch_*.changes)

set +e
lintian --no-tag-display-limit "$changes" > "$TMP/lintian" 2>&1
set -e
errors=$(grep -c '^E: ' "$TMP/lintian" || true)
is "$errors" 0 "lintian: no error"
grep -E '^[EW]: ' "$TMP/lintian" | sed 's/^/# lintian: /' || true

# the contents
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' > "$TMP/contents"
unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd 2> /dev/null || echo /lib/systemd/system)
for f in /usr/bin/cdrwatch /usr/bin/cdrwatch-gen /usr/share/man/man1/cdrwatch.1.gz \
         "$unit_dir/cdrwatch.service" /etc/cdrwatch/cdrwatch.json; do
    ok_status "$(grep -qx -- "$f" "$TMP/contents"; echo $?)" "the package holds $f"
done
dpkg-deb -e "$deb" "$TMP/control"
is "$(cat "$TMP/control/conffiles")" "/etc/cdrwatch/cdrwatch.json" "the configuration is its conffile"
dpkg-deb -x "$deb" "$TMP/x"
is "$(sed -n 's/^ExecStart=//p' "$TMP/x$unit_dir/cdrwatch.service")" \
    "/usr/bin/cdrwatch run --config /etc/cdrwatch/cdrwatch.json" "the unit runs the packaged program on that configuration"
run "$TMP/x/usr/bin/cdrwatch" check-config --config "$TMP/x/etc/cdrwatch/cdrwatch.json"
is "$rc" 0 "the packaged program accepts the packaged configuration (check-config)"

if [ "${CDRWATCH_DEB_INSTALL:-}" = yes ] || { [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; }; then
    if dpkg-query -W -f='${Status}' cdrwatch 2> /dev/null | grep -q 'install ok installed'; then
        ok_status 1 "cdrwatch is already installed on this system: not touching it"
        done_testing
        exit 1
    fi
    # whatever fails below, the package does not stay installed
    trap 'dpkg --purge cdrwatch > /dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
    run dpkg -i "$deb"
    is "$rc" 0 "dpkg -i installs the package"
    run cdrwatch check-config --config /etc/cdrwatch/cdrwatch.json
    is "$rc" 0 "the installed cdrwatch accepts the installed configuration (check-config)"
    dpkg -L cdrwatch > "$TMP/listed"
    for f in "$unit_dir/cdrwatch.service" /usr/share/man/man1/cdrwatch.1.gz /etc/cdrwatch/cdrwatch.json; do
        ok_status "$(grep -qx -- "$f" "$TMP/listed"; echo $?)" "dpkg -L lists $f"
    done
    contains <(dpkg-query -W -f='${Conffiles}\n' cdrwatch) "/etc/cdrwatch/cdrwatch.json" \
        "dpkg records /etc/cdrwatch/cdrwatch.json as a conffile"
    run dpkg --purge cdrwatch
    is "$rc" 0 "dpkg --purge removes it"
    ok_status "$([ ! -e /etc/cdrwatch/cdrwatch.json ] && [ ! -e /usr/bin/cdrwatch ]; echo $?)" \
        "and its files, the conffile included"
else
    echo "# not installed for real (CI=true as root, or CDRWATCH_DEB_INSTALL=yes, does)"
fi
done_testing
