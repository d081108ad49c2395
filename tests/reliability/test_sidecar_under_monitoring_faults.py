"""100,000 requests through a real sidecar while its monitoring fails in every way we can cause:
the parser raises (fault-injection hook), the sample queue is full, the admin endpoints are
hammered, and no operator ever pulls a window. Every response must equal the direct one."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from support.sidecar_model_server import ModelServer
from support.sidecar_process import start_sidecar
from support.sidecar_traffic import (
    compare_client,
    hammer_admin,
    processed,
    request_mix,
    settled_metrics,
)

pytestmark = pytest.mark.chaos

REQUESTS = int(os.environ.get("KUBEDRIFT_CHAOS_REQUESTS", "100000"))
CLIENTS = 4
PARSER_FAULT_EVERY = 5
TOKEN = "chaos-token"


def test_no_response_differs_from_the_direct_path_while_monitoring_fails(
    model: ModelServer, baseline_file: Path
) -> None:
    config = baseline_file.parent / "faults.yaml"
    config.write_text(  # every POST sampled into a 64-slot queue drained 10 times a second
        "sampleRate: 1.0\nmaxSamplesPerSecond: null\nqueueSize: 64\nbatchInterval: 100ms\n"
        "payload:\n  featureNames: [x-0, x-1, x-2]\n"
    )
    env = {
        "KUBEDRIFT_TEST_FAULTS": f"parser_exception_every={PARSER_FAULT_EVERY}",
        "KUBEDRIFT_SIDECAR_TOKEN": TOKEN,
    }
    # Every injected fault logs a stack trace; thousands of them are not what this test reads.
    log = baseline_file.parent / "faults.log"
    sidecar = start_sidecar(model.port, baseline_file, "--config", str(config), env=env, log=log)
    sidecar.token = TOKEN
    share = REQUESTS // CLIENTS
    context = multiprocessing.get_context("fork")
    try:
        stop = context.Manager().Event()
        with ProcessPoolExecutor(CLIENTS + 1, mp_context=context) as pool:
            hammer = pool.submit(hammer_admin, sidecar.admin, TOKEN, stop, 1)
            clients = [
                pool.submit(compare_client, sidecar.port, model.port, request_mix(seed, share))
                for seed in range(CLIENTS)
            ]
            results = [client.result(timeout=1800) for client in clients]
            stop.set()
            admin_answers = hammer.result(timeout=120)
        metrics = settled_metrics(sidecar)
    finally:
        exit_code = sidecar.stop()

    compared = sum(result.compared for result in results)
    differing = [diff for result in results for diff in result.differing]
    sampled = metrics[("kubedrift_samples_total", ())]
    dropped = metrics[("kubedrift_samples_dropped_total", ())]
    injected = metrics[("kubedrift_unparsable_total", (("reason", "internal"),))]
    print(
        f"\nreliability: {compared} requests compared, {len(differing)} differing; "
        f"sampled {sampled:.0f}, dropped (queue full) {dropped:.0f}, "
        f"parser faults {injected:.0f}; admin answers {admin_answers}"
    )
    assert compared == REQUESTS
    assert differing == []
    assert exit_code == 0
    # The faults really happened, and every sample is accounted for.
    assert injected > 0
    assert dropped > 0
    assert sum(admin_answers.get(code, 0) for code in ("200", "400")) > 0
    assert set(admin_answers) <= {"200", "400"}, admin_answers
    assert metrics[("kubedrift_sample_copy_failures_total", ())] == 0
    assert processed(metrics) + dropped == sampled
