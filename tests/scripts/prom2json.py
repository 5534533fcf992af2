#!/usr/bin/python3
"""Parses a Prometheus text exposition with the reference Python client's
parser and prints its samples as a JSON array of
{"name", "job", "label", "value"} (label: the value of the sample's label
other than job_name, if any), so tests can compare them with SQL.
Exits 1, with the parser's complaint, when the text does not parse."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
out = []
try:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            others = [v for k, v in s.labels.items() if k != "job_name"]
            out.append({"name": s.name, "type": family.type,
                        "job": s.labels.get("job_name"),
                        "label": others[0] if others else None,
                        "value": s.value})
except Exception as e:  # the parser's own error, whatever its class
    print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
json.dump(out, sys.stdout)
