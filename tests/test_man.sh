#!/usr/bin/env bash
# The man pages of the build: each renders without a warning from man
# and groff, sweepd(8) names every option of `sweepd --help` (and no
# other) and every
# SWEEPD_* variable of host/settings.c, sweepd.ini(5) names every [sweepd]
# key of host/settings.c, every [job] key of host/jobs.c and every option
# of every plugin `sweepd --list-plugins` finds.
#
#   tests/test_man.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

src=${1:?source dir}
build=${2:?build dir}
man8=$build/man/man8/sweepd.8
man5=$build/man/man5/sweepd.ini.5
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0

# Prints a failure and remembers it.
bad() {
	echo "test_man: $*" >&2
	fail=1
}

# The page rendered as man shows it, one word a line, hyphenation off.
words() {
	MANWIDTH=200 man --nh --nj -l "$1" 2>/dev/null | tr -s ' \t,;()[]' '\n'
}

for page in "$man8" "$man5"; do
	warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[[ -z $warnings ]] || bad "$page: $warnings"
done
words "$man8" >"$scratch/8"
words "$man5" >"$scratch/5"

# Every --option of --help, as written there (--watch=BOOL: --watch).
"$build/sweepd" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u >"$scratch/help"
[[ -s $scratch/help ]] || bad "sweepd --help lists no option"
while read -r opt; do
	grep -qE -- "^$opt(=|\$)" "$scratch/8" || bad "sweepd(8) lacks $opt"
done <"$scratch/help"
# And every --option of sweepd(8) is one --help names.
grep -oE '\\-\\-[a-z](\\-|[a-z])*' "$man8" | sed 's/\\-/-/g' | sort -u |
	comm -23 - "$scratch/help" | sed 's/^/sweepd --help lacks /' >"$scratch/extra"
[[ ! -s $scratch/extra ]] || bad "$(cat "$scratch/extra")"
# Every environment variable and [sweepd] key the settings declare.
grep -oE '"SWEEPD_[A-Z_]+"' "$src/host/settings.c" | tr -d '"' | sort -u |
	while read -r var; do
		# A name ending in _ is a prefix (SWEEPD_DB_<NAME>_DSN).
		if [[ $var == *_ ]]; then
			grep -q "^$var" "$scratch/8"
		else
			grep -qx "$var" "$scratch/8"
		fi || echo "sweepd(8) lacks $var"
	done >"$scratch/missing"
sed -n '/^} settings_defs\[\] = {/,/^};/p' "$src/host/settings.c" |
	grep -oE '^	\{"[a-z_]+"' | tr -d '\t{"' >"$scratch/settings"
[[ -s $scratch/settings ]] || bad "no settings found in host/settings.c"
sed -n '/jobs_keys\[\] = {/,/};/p' "$src/host/jobs.c" |
	grep -oE '"[a-z_]+"' | tr -d '"' >"$scratch/jobkeys"
[[ -s $scratch/jobkeys ]] || bad "no job keys found in host/jobs.c"
cat "$scratch/settings" "$scratch/jobkeys" | while read -r key; do
	grep -qx "$key" "$scratch/5" || echo "sweepd.ini(5) lacks key $key"
done >>"$scratch/missing"
# Every option of every plugin the build ships.
mkdir "$scratch/conf.d"
"$build/sweepd" --conf-dir "$scratch/conf.d" --plugin-dir "$build/plugins" \
	--allow-insecure-files --list-plugins --json >"$scratch/plugins.json"
python3 - "$scratch/plugins.json" "$scratch/5" >>"$scratch/missing" <<'PY'
import json, sys
plugins = json.load(open(sys.argv[1]))
words = set(open(sys.argv[2]).read().split("\n"))
if not plugins:
    print("--list-plugins found no plugin")
for p in plugins:
    for name in [p["name"]] + [o["key"] for o in p["options"]]:
        if name not in words:
            print(f"sweepd.ini(5) lacks plugin {p['name']} option {name}")
PY
if [[ -s $scratch/missing ]]; then
	bad "$(cat "$scratch/missing")"
fi
((fail == 0))
echo "test_man: ok"
