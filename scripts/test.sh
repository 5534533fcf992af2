#!/usr/bin/env bash
# The whole test suite: install dependencies, build with warnings as errors,
# start a throwaway PostgreSQL, run ctest against it, stop PostgreSQL.
#
#   scripts/test.sh [CTEST ARGS...]     e.g. scripts/test.sh -R cron
#
# Extra CMake configure arguments come from $CMAKE_ARGS, e.g.
#   CMAKE_ARGS='-DSWEEPD_SANITIZE=address,undefined' scripts/test.sh
# The build goes into $BUILD_DIR (default build), and the PostgreSQL
# cluster into $BUILD_DIR/pg unless $SWEEPD_PG_DIR says otherwise, so builds
# of different kinds live side by side.
# Exits with ctest's status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

build_dir=${BUILD_DIR:-build}
[[ $build_dir == /* ]] || build_dir=$PWD/$build_dir
export SWEEPD_PG_DIR=${SWEEPD_PG_DIR:-$build_dir/pg}

read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
cmake -S . -B "$build_dir" -DSWEEPD_WERROR=ON "${cmake_args[@]}"
cmake --build "$build_dir" -j2

trap 'bash scripts/pg.sh stop' EXIT
bash scripts/pg.sh start >/dev/null
eval "$(bash scripts/pg.sh env)"

# --no-tests=error: a build that defines no test is a failure, not a pass.
status=0
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j2 "$@" || status=$?
exit "$status"
