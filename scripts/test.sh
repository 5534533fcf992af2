#!/usr/bin/env bash
# The whole test suite: install dependencies, build with warnings as errors,
# start a throwaway PostgreSQL, run ctest against it, stop PostgreSQL.
#
#   scripts/test.sh [CTEST ARGS...]     e.g. scripts/test.sh -R cron
#
# Extra CMake configure arguments come from $CMAKE_ARGS, e.g.
#   CMAKE_ARGS='-DSWEEPD_SANITIZE=address,undefined' scripts/test.sh
# Exits with ctest's status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
cmake -S . -B build -DSWEEPD_WERROR=ON "${cmake_args[@]}"
cmake --build build -j2

trap 'bash scripts/pg.sh stop' EXIT
bash scripts/pg.sh start >/dev/null
eval "$(bash scripts/pg.sh env)"

# --no-tests=error: a build that defines no test is a failure, not a pass.
status=0
ctest --test-dir build --output-on-failure --no-tests=error -j2 "$@" || status=$?
exit "$status"
