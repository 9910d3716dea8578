"""Scrape a host's /metrics and parse it with Prometheus's own exposition parser.

Prints one JSON object: {"samples": [{"name", "labels", "value"}...], "types": {family: type}}.
A page the parser refuses exits non-zero with the parser's error, so the test fails on any
malformed line, not only on a missing value.

Usage: python3 scrape.py URL
"""

import json
import os
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    samples, types = [], {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples.append({"name": s.name, "labels": s.labels, "value": s.value})
    print(json.dumps({"content_type": content_type, "samples": samples, "types": types}))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
