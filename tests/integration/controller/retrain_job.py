"""A tiny retraining Job for the operator's integration tests.

It fetches dataset B from the operator (``KUBEDRIFT_DATASET_URL`` with the bearer token
``KUBEDRIFT_DATASET_TOKEN``, retrying while the operator restarts), fails unless it got labeled
rows, optionally waits ``HOLD_SECONDS`` (so a test can act while it runs), and reports the
result contract in its termination message: the new model version (``NEW_VERSION``) and the
ConfigMap with the new baseline (``NEW_BASELINE``). Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request

request = urllib.request.Request(
    os.environ["KUBEDRIFT_DATASET_URL"],
    headers={"Authorization": f"Bearer {os.environ['KUBEDRIFT_DATASET_TOKEN']}"},
)


def fetch() -> dict[str, object]:
    """The dataset; retried for a minute, since the operator may be restarting."""
    for _ in range(60):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                document: dict[str, object] = json.load(response)
                return document
        except OSError as error:
            print(f"dataset not reachable yet: {error}", flush=True)
            time.sleep(1)
    sys.exit("dataset B never became reachable")


dataset = fetch()
print(f"reason={os.environ['KUBEDRIFT_REASON']} rows={dataset['count']}", flush=True)
if dataset["count"] == 0 or "label" not in dataset["rows"][0]:
    sys.exit("no labeled rows in dataset B")
time.sleep(float(os.environ.get("HOLD_SECONDS", "0")))
result = {
    "modelVersion": os.environ["NEW_VERSION"],
    "baseline": {"configMap": os.environ["NEW_BASELINE"], "key": "baseline.json"},
}
with open("/dev/termination-log", "w") as log:
    json.dump(result, log)
