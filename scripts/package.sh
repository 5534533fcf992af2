#!/usr/bin/env bash
# Builds the Debian package and checks it: a build configured for /usr
# in build-deb/, `cpack -G DEB`, lintian (no error), then the package
# unpacked into a scratch root: its sweepd --list-plugins finds the six
# shipped plugins through its own relative plugin directory, with the
# shipped sweepd.ini in /etc/sweepd/conf.d; its man pages render; its
# sysusers file creates the user sweepd; sweepd.ini is a conffile.
#
#   scripts/package.sh          leaves build-deb/sweepd_VERSION_ARCH.deb
#
# Extra CMake configure arguments come from $CMAKE_ARGS.  Bounded: each
# step has a timeout, the whole takes about two minutes on two cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$PWD
build=$src/build-deb

bash scripts/deps.sh
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
timeout 120 cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX=/usr \
	-DSWEEPD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" \
	>/dev/null
timeout 600 cmake --build "$build" -j2 >/dev/null
rm -f "$build"/sweepd_*.deb
(cd "$build" && timeout 300 cpack -G DEB >/dev/null)
deb=$(echo "$build"/sweepd_*.deb)
echo "package: $deb"

fail() {
	echo "package: $*" >&2
	exit 1
}

# lintian: warnings are reported, an error fails.
lint=$(timeout 300 lintian "$deb" 2>&1 | grep -v 'running with root privileges' || true)
[[ -z $lint ]] || echo "$lint"
! grep -q '^E:' <<<"$lint" || fail "lintian reports errors"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
for f in usr/bin/sweepd etc/sweepd/conf.d/sweepd.ini \
		usr/lib/systemd/system/sweepd.service \
		usr/lib/systemd/system/sweepd-run@.service \
		usr/lib/systemd/system/sweepd-run@.timer \
		usr/share/man/man8/sweepd.8.gz usr/share/man/man5/sweepd.ini.5.gz \
		usr/include/sweepd/plugin.h usr/share/doc/sweepd/examples/conf.d/sweepd.ini; do
	[[ -e $root/$f ]] || fail "$f is not in the package"
done
# Depends: dpkg-shlibdeps finds the libraries sweepd links, the HTTP
# endpoint's libmicrohttpd among them.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpq5 libinih1 libmicrohttpd12; do
	grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
# Each output is read whole before grep -q looks at it: grep -q stops at
# the first match, and under pipefail the writer's SIGPIPE would fail a
# pipeline whose match was found.
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
grep -qx /etc/sweepd/conf.d/sweepd.ini <<<"$conffiles" ||
	fail "/etc/sweepd/conf.d/sweepd.ini is not a conffile"

# The unpacked sweepd, its plugins found relative to itself.
plugins=$(timeout 60 "$root/usr/bin/sweepd" --conf-dir "$root/etc/sweepd/conf.d" \
	--list-plugins --json)
names=$(python3 -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin))))' <<<"$plugins")
[[ $names == "age_delete anonymize cascade_delete match_delete orphan_files sql" ]] ||
	fail "unpacked sweepd --list-plugins found: $names"
listing=$(timeout 60 "$root/usr/bin/sweepd" --conf-dir "$root/etc/sweepd/conf.d" --list-plugins)
grep -q "path: $root/usr/lib/.*/sweepd/plugins/age_delete.so" <<<"$listing" ||
	fail "plugins not loaded from the package's own plugin directory"
for page in usr/share/man/man8/sweepd.8.gz usr/share/man/man5/sweepd.ini.5.gz; do
	warnings=$(MANWIDTH=80 man --warnings -l "$root/$page" 2>&1 >/dev/null)
	[[ -z $warnings ]] || fail "$page: $warnings"
done
# What postinst runs creates the user (here in the scratch root).
mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group"
timeout 60 systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/sweepd.conf"
grep -q '^sweepd:' "$root/etc/passwd" || fail "sysusers did not create the user sweepd"
echo "package: ok"
