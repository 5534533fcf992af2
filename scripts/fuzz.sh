#!/usr/bin/env bash
# Fuzzes the job-file pipeline and the schedule evaluator with libFuzzer
# (tests/fuzz/), each for a bounded time, under AddressSanitizer and
# UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh [--quick] [SECONDS]
#
# Builds with clang into build-fuzz/ (or $BUILD_DIR), first runs each target
# once over its seed corpus and its regressions (ctest), then fuzzes each
# for SECONDS (default 60; --quick: 30) starting from a copy of its seed
# corpus, so the repository is left as it was.  Exits non-zero on any
# crash, leak, timeout or sanitizer report, printing the path of the input
# that caused it: copy that file into tests/fuzz/regressions/WHAT/ and add a
# unit test that reproduces it in the normal build.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=60
while (($# > 0)); do
	case $1 in
	--quick) seconds=30 ;;
	[0-9]*) seconds=$1 ;;
	*)
		echo "usage: $0 [--quick] [SECONDS]" >&2
		exit 2
		;;
	esac
	shift
done

bash scripts/deps.sh

build_dir=${BUILD_DIR:-build-fuzz}
[[ $build_dir == /* ]] || build_dir=$PWD/$build_dir
cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER=clang -DSWEEPD_FUZZ=ON \
	-DSWEEPD_TESTS=OFF -DSWEEPD_WERROR=ON >/dev/null
cmake --build "$build_dir" -j2

# The seed corpus and every input that once crashed: each must pass.
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error

work=$build_dir/fuzz-run
rm -rf "$work"
mkdir -p "$work"
failed=0
for what in jobfile cron; do
	target=$build_dir/tests/fuzz/fuzz_$what
	corpus=$work/corpus-$what
	mkdir -p "$corpus" "$work/tmp"
	cp tests/fuzz/corpus/$what/* "$corpus"/
	echo "fuzz: fuzz_$what for ${seconds}s (log: $work/$what.log)"
	status=0
	# The scratch files of fuzz_jobfile go under $TMPDIR.
	TMPDIR=$work/tmp "$target" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$what-" "$corpus" >"$work/$what.log" 2>&1 ||
		status=$?
	grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' \
		"$work/$what.log" | sed "s/^/fuzz: fuzz_$what: /" || true
	if ((status != 0)); then
		failed=1
		echo "fuzz: fuzz_$what FAILED (status $status); its report:" >&2
		grep -E -A40 '^(==[0-9]+==|fuzz_[a-z]+: )' "$work/$what.log" |
			head -n 60 >&2 || tail -n 40 "$work/$what.log" >&2
		for input in "$work/$what"-*; do
			[[ -e $input ]] && echo "fuzz: crashing input: $input" >&2
		done
	fi
done
if ((failed)); then
	echo "fuzz: FAILED: add each crashing input to tests/fuzz/regressions/" >&2
	exit 1
fi
echo "fuzz: no crash in ${seconds}s per target"
