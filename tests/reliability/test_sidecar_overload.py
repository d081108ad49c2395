"""Ten times the rated monitoring load for a bounded time: memory stays bounded, every sample is
processed or counted as dropped, every response is right; latency is measured and printed.

Rated load: the sidecar's default ``maxSamplesPerSecond`` is 200 samples/s. Here the cap is off
and every request is sampled at ``OVERLOAD_RATE`` = 2000 req/s (10x), with 1 KB OIP v2 requests
(90 features), for ``KUBEDRIFT_CHAOS_OVERLOAD_SECONDS`` (60 s by default in CI; the README
records a longer run). The load comes from ``bench/sidecar_loadgen.py`` (open loop, its own
process), first straight to the model, then through the sidecar, so the printed added latency
compares the two at the same rate. Only the memory bound is asserted (timing on a shared machine
is not a pass/fail criterion).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support.sidecar_model_server import ModelServer
from support.sidecar_process import http_request, raw_exchange, split_response, start_sidecar
from support.sidecar_traffic import Metrics, processed, settled_metrics

pytestmark = pytest.mark.chaos

LOADGEN = Path(__file__).resolve().parents[2] / "bench" / "sidecar_loadgen.py"
OVERLOAD_RATE = 2000.0
SECONDS = float(os.environ.get("KUBEDRIFT_CHAOS_OVERLOAD_SECONDS", "60"))
#: Bound on the sidecar's two processes together (proxy + monitor), resident set size. Queue
#: 10,000 samples of about 2 KB (request and response) in each process, the channel's 8 MiB, the
#: windows and a 100,000-entry label store, over a start-up footprint of about 110 MB.
RSS_BOUND_MB = 400
PATH = "/v2/models/m/infer"


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` and its children, in MB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for process in [pid, *map(int, children)]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def run_loadgen(port: int, body: Path, expected: Path) -> dict[str, float]:
    command = [
        sys.executable, str(LOADGEN), "--port", str(port), "--path", PATH,
        "--rate", str(OVERLOAD_RATE), "--duration", str(SECONDS), "--connections", "32",
        "--body-file", str(body), "--expect-file", str(expected),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, timeout=SECONDS * 3 + 60)
    result: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def test_ten_times_the_rated_sample_load_keeps_memory_bounded_and_counts_drops(
    model: ModelServer, baseline_file: Path, tmp_path: Path
) -> None:
    features = [round((i % 7) / 3 - 1, 3) for i in range(90)]
    tensor = {"name": "x", "shape": [1, 90], "datatype": "FP64", "data": features}
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"id": "load", "inputs": [tensor]}))
    answer = raw_exchange(model.port, http_request("POST", PATH, body.read_bytes()))
    expected = tmp_path / "response.json"
    expected.write_bytes(split_response(answer)[2])
    config = tmp_path / "overload.yaml"
    config.write_text("sampleRate: 1.0\nmaxSamplesPerSecond: null\n")

    direct = run_loadgen(model.port, body, expected)
    sidecar = start_sidecar(model.port, baseline_file, "--config", str(config))
    idle = rss_mb(sidecar.process.pid)
    peak = [idle]
    sampling = threading.Event()

    def sample_rss() -> None:
        while not sampling.wait(1.0):
            peak.append(rss_mb(sidecar.process.pid))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        proxied = run_loadgen(sidecar.port, body, expected)
        sampling.set()
        sampler.join(timeout=10)
        metrics = settled_metrics(sidecar)
    finally:
        exit_code = sidecar.stop()

    report(direct, proxied, metrics, idle, max(peak))
    assert exit_code == 0
    assert proxied["mismatches"] == 0 and proxied["errors"] == 0
    assert proxied["requests"] > 0
    assert max(peak) < RSS_BOUND_MB
    sampled = metrics[("kubedrift_samples_total", ())]
    assert processed(metrics) + metrics[("kubedrift_samples_dropped_total", ())] == sampled


def report(
    direct: dict[str, float],
    proxied: dict[str, float],
    metrics: Metrics,
    idle: float,
    peak: float,
) -> None:
    def ms(result: dict[str, float], key: str) -> str:
        return f"{result[key] * 1000:.2f}"

    sampled = metrics[("kubedrift_samples_total", ())]
    dropped = metrics[("kubedrift_samples_dropped_total", ())]
    errors = {dict(labels)["kind"]: int(value) for (name, labels), value in metrics.items()
              if name == "kubedrift_proxy_errors_total" and value}  # fmt: skip
    print(
        f"\noverload: {OVERLOAD_RATE:.0f} req/s, all sampled (10x the rated 200 samples/s) for "
        f"{SECONDS:.0f} s: {proxied['requests']:.0f} of {OVERLOAD_RATE * SECONDS:.0f} requests "
        f"answered within the run plus 10 s, {proxied['mismatches']:.0f} "
        f"wrong, {proxied['errors']:.0f} errors; sampled {sampled:.0f}, dropped {dropped:.0f} "
        f"({dropped / max(sampled, 1):.0%}), processed {processed(metrics):.0f}; RSS (proxy + "
        f"monitor) {idle:.0f} MB idle, {peak:.0f} MB peak (bound {RSS_BOUND_MB} MB); latency "
        f"p50/p99 direct {ms(direct, 'p50')}/{ms(direct, 'p99')} ms, through the sidecar "
        f"{ms(proxied, 'p50')}/{ms(proxied, 'p99')} ms; sidecar errors {errors}"
    )
