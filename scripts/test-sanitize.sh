#!/usr/bin/env bash
# The whole test suite in an AddressSanitizer + UndefinedBehaviorSanitizer
# build: scripts/test.sh with -DSWEEPD_SANITIZE=address,undefined, built
# into build-asan/ (its own PostgreSQL cluster in build-asan/pg), every
# sanitizer report fatal.
#
#   scripts/test-sanitize.sh [CTEST ARGS...]     e.g. -R test_cron
#
# BUILD_DIR overrides the build directory.  Exits with ctest's status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# halt_on_error: the first report ends the process, and the test with it
# (UBSan would otherwise print and go on).  LeakSanitizer stays on.
# handle_segv=0: a SIGSEGV kills the process as it does without ASan.  The
# suite crashes plugins on purpose (tests/fixtures/fault.c writes through a
# null pointer and recurses without end, testjob.c raises SIGSEGV) to check
# that sweepd records "signal 11";
# ASan would catch the signal and exit with status 1 instead.  ASan's own
# reports (heap, stack, globals, use after free, leaks) do not depend on it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:handle_segv=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# No memory_limit by default: a run's limit is RLIMIT_DATA, which counts
# the terabytes of address space ASan maps for its shadow, so under ASan a
# limited run cannot map anything.  (A job that sets memory_limit = still
# gets one; tests/test_containment.c skips the cases that set one.)
export SWEEPD_MEMORY_LIMIT=0
export BUILD_DIR=${BUILD_DIR:-build-asan}
# Warnings are not errors here: the plain build (scripts/test.sh) holds that
# gate, and GCC's sanitizer instrumentation makes false ones (a "null
# destination pointer" after cmocka's assert_non_null(), which GCC does not
# know never returns on NULL).
export CMAKE_ARGS="-DSWEEPD_SANITIZE=address,undefined -DSWEEPD_WERROR=OFF ${CMAKE_ARGS:-}"

exec bash scripts/test.sh "$@"
