#!/usr/bin/env bash
# test_sdk_install: a third party's whole path with the SDK, from an
# installed prefix alone.  Installs this build into a temporary prefix,
# builds the installed example plugin (share/doc/sweepd/examples/
# reset_tokens) out of tree with CMake (find_package(sweepd)) and again
# with plain cc and pkg-config, runs its cmocka test on the harness, drops
# the .so and an .ini into a temporary conf.d, and checks that the
# installed sweepd lists it, validates it, dry-runs it and runs it.
#
#   tests/sdk_install.sh BUILD_DIR SOURCE_DIR
# Needs the test database (DATABASE_URL / PG*), as every database test.
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sweepd-sdk-XXXXXX")
schema="sdk_install_$$"
psql_() { psql -X -q -v ON_ERROR_STOP=1 "${DATABASE_URL:-}" "$@"; }
cleanup() {
	psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

prefix=$tmp/prefix
step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/sweepd include/sweepd/plugin.h include/sweepd/testing.h \
	lib/libsweepd_testing.a lib/pkgconfig/sweepd-sdk.pc \
	lib/pkgconfig/sweepd-testing.pc lib/cmake/sweepd/sweepdConfig.cmake \
	lib/sweepd/plugins/age_delete.so share/doc/sweepd/README.md \
	share/doc/sweepd/examples/conf.d/sweepd.ini \
	share/doc/sweepd/examples/reset_tokens/reset_tokens.c; do
	[ -e "$prefix/$f" ] || fail "not installed: $f"
done
if grep -rq -- "$build\|$src\|/usr/local" "$prefix/lib/pkgconfig" \
	"$prefix/lib/cmake"; then
	grep -rn -- "$build\|$src\|/usr/local" "$prefix/lib/pkgconfig" \
		"$prefix/lib/cmake" >&2
	fail "an installed SDK file names a path outside its prefix"
fi

# The author's folder: a copy of the installed example, nothing else.
mv "$prefix" "$tmp/moved"          # the prefix is relocatable: move it
prefix=$tmp/moved
work=$tmp/reset_tokens
cp -r "$prefix/share/doc/sweepd/examples/reset_tokens" "$work"

step "CMake: find_package(sweepd) from the prefix only"
cmake -S "$work" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
	-DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
grep -q -- "-I$prefix/include\|-isystem $prefix/include" \
	"$work/build/compile_commands.json" || fail "no include path into the prefix"
if grep -q -- "$src\|$build" "$work/build/compile_commands.json"; then
	fail "the example's build reaches into sweepd's source or build tree"
fi
cmake --build "$work/build" >/dev/null
exports=$(nm -D --defined-only "$work/build/reset_tokens.so" | awk '{print $3}')
[ "$exports" = sweep_plugin_entry ] ||
	fail "reset_tokens.so exports more than its entry: $exports"
step "its cmocka test, on the harness"
ctest --test-dir "$work/build" --output-on-failure

step "plain cc with pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
mkdir "$work/cc"
# shellcheck disable=SC2046
cc -shared -fPIC -Wall -Wextra -Werror -o "$work/cc/reset_tokens.so" \
	"$work/reset_tokens.c" $(pkg-config --cflags --libs sweepd-sdk)
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -DPLUGIN_SO="\"$work/cc/reset_tokens.so\"" \
	-o "$work/cc/test_reset_tokens" "$work/test_reset_tokens.c" \
	"$work/reset_tokens.c" $(pkg-config --cflags --libs sweepd-testing cmocka)
"$work/cc/test_reset_tokens"

step "drop it into conf.d and run it with the installed sweepd"
conf=$tmp/conf.d
mkdir "$conf"
cp "$work/cc/reset_tokens.so" "$conf/"
sed "s/^table .*/table          = $schema.password_reset_tokens/" \
	"$work/reset-tokens.ini" >"$conf/reset-tokens.ini"
psql_ >/dev/null <<SQL
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
CREATE TABLE $schema.password_reset_tokens (id bigint PRIMARY KEY,
  user_id bigint NOT NULL, expires_at timestamptz NOT NULL);
INSERT INTO $schema.password_reset_tokens
  SELECT i, i, now() - interval '3 days' FROM generate_series(1, 40) i;
INSERT INTO $schema.password_reset_tokens
  SELECT i, i, now() + interval '1 hour' FROM generate_series(41, 50) i;
SQL
sweepd=$prefix/bin/sweepd
out=$("$sweepd" --conf-dir "$conf" --list-plugins)
grep -q "^reset_tokens 1.0.0" <<<"$out" || fail "--list-plugins: $out"
grep -q "jobs: reset-tokens" <<<"$out" || fail "--list-plugins: $out"
grep -q "path: $prefix/lib/sweepd/plugins/age_delete.so" <<<"$out" ||
	fail "the shipped plugins are not found in the prefix: $out"
"$sweepd" --conf-dir "$conf" --check
out=$("$sweepd" --conf-dir "$conf" --dry-run reset-tokens --json)
grep -q '"would_delete":40' <<<"$out" || fail "--dry-run: $out"
[ "$(psql_ -tAc "SELECT count(*) FROM $schema.password_reset_tokens")" = 50 ] ||
	fail "the dry run changed the table"
out=$("$sweepd" --conf-dir "$conf" --run reset-tokens --json)
grep -q '"deleted":40' <<<"$out" || fail "--run: $out"
grep -q '"audited":40' <<<"$out" || fail "--run: $out"
[ "$(psql_ -tAc "SELECT count(*) FROM $schema.password_reset_tokens")" = 10 ] ||
	fail "--run did not leave the 10 valid tokens"
step "new-plugin: a generated plugin builds and passes its test as written"
for gen in "$src/scripts/new-plugin" "$prefix/bin/sweepd-new-plugin"; do
	rm -rf "$tmp/gen"
	mkdir "$tmp/gen"
	(cd "$tmp/gen" && "$gen" purge_sessions >/dev/null)
	g=$tmp/gen/purge_sessions
	for f in purge_sessions.c test_purge_sessions.c CMakeLists.txt \
		purge-sessions.ini; do
		[ -f "$g/$f" ] || fail "$gen wrote no $f"
	done
	! grep -rqw reset_tokens "$g" || fail "$gen left the template's name"
	grep -q "^table *= password_reset_tokens$" "$g/purge-sessions.ini" ||
		fail "$gen renamed the table its job works on"
	cmake -S "$g" -B "$g/build" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
	cmake --build "$g/build" >/dev/null
	ctest --test-dir "$g/build" --output-on-failure >/dev/null ||
		fail "the plugin $gen wrote fails its own test"
	"$sweepd" --check-plugin "$g/build/purge_sessions.so" >/dev/null ||
		fail "--check-plugin refuses the plugin $gen wrote"
done
"$src/scripts/new-plugin" Bad-Name 2>/dev/null && fail "new-plugin took a bad name"

psql_ -c "DELETE FROM sweepd.audit WHERE job = 'reset-tokens';
	DELETE FROM sweepd.runs WHERE job = 'reset-tokens'" >/dev/null
step "ok"
