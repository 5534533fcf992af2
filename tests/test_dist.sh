#!/usr/bin/env bash
# The files sweepd ships for operators, checked by the tools that read
# them: the systemd units (systemd-analyze verify, with the build's
# binary in ExecStart=), the Prometheus alert rules (promtool check rules,
# and promtool test rules: each alert fires when it should and not
# before), the Kubernetes manifests (tests/k8s_check.py).
#
#   tests/test_dist.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

src=${1:?source dir}
build=${2:?build dir}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Units as configured for installation, pointed at the build's binary
# (verify checks that ExecStart= exists and is executable).
for unit in sweepd.service sweepd-run@.service; do
	sed "s|^ExecStart=[^ ]*|ExecStart=$build/sweepd|" \
		"$build/dist/$unit" >"$scratch/$unit"
done
cp "$src/dist/systemd/sweepd-run@.timer" "$scratch/"
# The man pages of the build: each Documentation=man:... must open.
export MANPATH=$build/man:
# verify exits 0 over unknown keys: any word from it is a failure.
complaints=$(cd "$scratch" && systemd-analyze verify --man=yes \
	sweepd.service sweepd-run@example.service sweepd-run@example.timer 2>&1) ||
	complaints="exit status $? ${complaints:-(nothing said)}"
if [[ -n $complaints ]]; then
	echo "systemd-analyze verify: $complaints" >&2
	exit 1
fi
grep -q '^Type=notify$' "$scratch/sweepd.service"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$scratch/sweepd.service"
for hardening in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
		PrivateTmp=yes User=sweepd; do
	grep -qx "$hardening" "$scratch/sweepd.service"
done

# The Kubernetes manifests, against the built sweepd.
python3 "$src/tests/k8s_check.py" "$src" "$build" "$scratch"

cd "$src/dist/prometheus"
promtool check rules sweepd-alerts.yml
promtool test rules sweepd-alerts.test.yml
echo "test_dist: ok"
