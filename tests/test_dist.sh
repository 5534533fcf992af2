#!/usr/bin/env bash
# The files sweepd ships for operators, checked by the tools that read
# them: the Prometheus alert rules (promtool check rules, and promtool
# test rules: each alert fires when it should and not before).
#
#   tests/test_dist.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

src=${1:?source dir}
build=${2:?build dir}

cd "$src/dist/prometheus"
promtool check rules sweepd-alerts.yml
promtool test rules sweepd-alerts.test.yml
echo "test_dist: ok ($build)"
