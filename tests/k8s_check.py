"""Checks the Kubernetes manifests of dist/kubernetes against the built
sweepd: each file parses as YAML; the ConfigMap's job files pass
`sweepd --check` (written as the init container leaves them); every
--option the containers give is one `sweepd --help` names; the CronJob
runs a job the ConfigMap defines; the Deployment's probes are httpGet
probes of /healthz (liveness) and /readyz (readiness) on a port the
container declares, which is the port of sweepd.ini's http_listen, on an
address the kubelet reaches (not loopback).

    python3 k8s_check.py SOURCE_DIR BUILD_DIR SCRATCH
"""
import os
import re
import subprocess
import sys

import yaml

src, build, scratch = sys.argv[1:4]
sweepd = os.path.join(build, "sweepd")
kdir = os.path.join(src, "dist", "kubernetes")
docs = {}
for name in ("sweepd.yaml", "sweepd-cronjob.yaml"):
    with open(os.path.join(kdir, name)) as f:
        for doc in yaml.safe_load_all(f):
            docs[doc["kind"]] = doc

conf = docs["ConfigMap"]["data"]
confdir = os.path.join(scratch, "k8s-conf.d")
os.mkdir(confdir, 0o755)
for fname, text in conf.items():
    path = os.path.join(confdir, fname)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
check = subprocess.run([sweepd, "--conf-dir", confdir, "--check", "--strict"],
                       capture_output=True, text=True)
assert check.returncode == 0, "ConfigMap conf.d fails --check:\n" + check.stderr
jobs = subprocess.run([sweepd, "--conf-dir", confdir, "--list-jobs", "--json"],
                      capture_output=True, text=True, check=True).stdout
job_names = set(re.findall(r'"name":"([^"]+)"', jobs))

helptext = subprocess.run([sweepd, "--help"], capture_output=True, text=True,
                          check=True).stdout
known = set(re.findall(r"--[a-z][a-z-]*", helptext))


def containers(kind):
    spec = docs[kind]["spec"]
    if kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]["containers"]


for kind in ("Deployment", "CronJob"):
    for c in containers(kind):
        words = c.get("args", []) + c.get("readinessProbe", {}).get(
            "exec", {}).get("command", [])
        for w in words:
            if w.startswith("--"):
                assert w.split("=")[0] in known, f"{kind}: unknown option {w}"

args = containers("CronJob")[0]["args"]
assert args[0] == "--run" and args[1] in job_names, \
    f"CronJob runs {args}, jobs are {sorted(job_names)}"
main = containers("Deployment")[0]
listen = re.search(r"^http_listen\s*=\s*(\S+):(\d+)\s*$", conf["sweepd.ini"],
                   re.M)
assert listen, "sweepd.ini sets no http_listen: the probes have no endpoint"
host, port = listen.group(1), int(listen.group(2))
assert not host.startswith("127.") and host != "[::1]", \
    f"http_listen = {host}:{port}: the kubelet probes the pod's IP, not loopback"
ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    get = main[probe].get("httpGet")
    assert get is not None, f"{probe} is not an httpGet probe"
    assert get["path"] == path, f"{probe} gets {get['path']}, not {path}"
    p = ports.get(get["port"], get["port"])
    assert p == port, f"{probe} probes port {get['port']} ({p}); sweepd listens on {port}"
    assert p in ports.values(), f"{probe}: port {p} is not declared by the container"
print("k8s manifests: ok")
