"""Traffic and labels for the integration tests, sent through the running sidecars."""

from __future__ import annotations

from typing import Any

import numpy as np

from support.json_post import post


def send_traffic(
    pod_ips: list[str], *, shift: float, rows: int, seed: int, admin_token: str, prefix: str
) -> None:
    """``rows`` single-row OIP v2 requests with x ~ N(shift, 1) through the sidecars' proxy
    ports (round robin), then the true labels (x > shift) to their feedback endpoints."""
    rng = np.random.default_rng(seed)
    labels: dict[str, list[dict[str, Any]]] = {ip: [] for ip in pod_ips}
    for index, value in enumerate(rng.normal(loc=shift, size=rows)):
        ip = pod_ips[index % len(pod_ips)]
        request_id = f"{prefix}-{index}"
        post(
            f"http://{ip}:8480/v2/models/demo/infer",
            {
                "id": request_id,
                "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [value]}],
            },
        )
        labels[ip].append({"id": request_id, "label": int(value > shift)})
    for ip, items in labels.items():
        post(f"http://{ip}:8481/v1/feedback", items, token=admin_token)
