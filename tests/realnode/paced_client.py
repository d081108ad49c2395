"""A paced load client for the real node's tests, run by the project image's Python in a Pod.

``python paced_client.py URL RATE SECONDS CONNECTIONS`` sends ``RATE * SECONDS`` Open Inference
Protocol requests to ``URL`` (``http://host:port``), each with its own body, on ``CONNECTIONS``
keep-alive connections, each connection on its own schedule so that together they send ``RATE``
requests per second (a connection that falls behind sends at once). Every answer is checked
against the digests ``digest_model_server.py`` puts in its headers: the request body as the model
received it and the response body as it sent it. Prints one JSON object: the counts, the answers
that failed a check (up to 10, with why), the rate reached and latency percentiles in ms.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import sys
import threading
import time
import urllib.parse


def run(url: str, rate: float, seconds: float, connections: int) -> dict[str, object]:
    parsed = urllib.parse.urlsplit(url)
    total = int(rate * seconds)
    latencies: list[float] = []
    failures: list[str] = []
    counts = {"sent": 0, "verified": 0}
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def connection(index: int) -> None:
        client = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        for number in range(index, total, connections):
            delay = start + number / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({
                "id": f"r{number}",
                "inputs": [{"name": "x", "shape": [1], "datatype": "FP64",
                            "data": [(number % 200) / 50 - 2]}],
            }).encode()  # fmt: skip
            sent_at = time.monotonic()
            why = ""
            try:
                client.request("POST", "/v2/models/demo/infer", body,
                               {"Content-Type": "application/json"})  # fmt: skip
                response = client.getresponse()
                received = response.read()
                if response.status != 200:
                    why = f"status {response.status}"
                elif response.getheader("X-Request-SHA256") != hashlib.sha256(body).hexdigest():
                    why = "the model received other request bytes"
                elif response.getheader("X-Body-SHA256") != hashlib.sha256(received).hexdigest():
                    why = "the client received other response bytes"
                elif json.loads(received)["id"] != f"r{number}":
                    why = "the answer to another request"
            except (OSError, http.client.HTTPException) as error:
                why = f"{type(error).__name__}: {error}"
                client.close()
                client = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            with lock:
                counts["sent"] += 1
                latencies.append(time.monotonic() - sent_at)
                if why:
                    failures.append(f"request {number}: {why}")
                else:
                    counts["verified"] += 1
        client.close()

    threads = [threading.Thread(target=connection, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    latencies.sort()

    def percentile(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {
        **counts,
        "failed": len(failures),
        "failures": failures[:10],
        "rate": round(counts["sent"] / elapsed, 1),
        "latency_ms": {"p50": percentile(0.5), "p99": percentile(0.99), "max": percentile(1.0)},
    }


if __name__ == "__main__":
    url, rate, seconds, connections = sys.argv[1:5]
    print(json.dumps(run(url, float(rate), float(seconds), int(connections))))
