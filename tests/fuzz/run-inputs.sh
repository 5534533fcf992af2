#!/bin/sh
# Runs a libFuzzer target once over every file of the given directories
# (its seed corpus and the inputs that once crashed it): a target given
# files runs each once instead of fuzzing.  Fails, naming the input, on
# the first crash, leak or sanitizer report.
#
#   run-inputs.sh TARGET DIR...
set -eu
target=$1
shift
count=0
for dir in "$@"; do
	for input in "$dir"/*; do
		[ -f "$input" ] || continue
		set -- "$@" "$input"
		count=$((count + 1))
	done
	shift
done
if [ "$count" -eq 0 ]; then
	echo "run-inputs.sh: no inputs in the given directories" >&2
	exit 1
fi
echo "run-inputs.sh: $count inputs"
exec "$target" -runs=1 "$@"
