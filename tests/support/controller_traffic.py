"""Traffic and labels for the integration tests, sent through the running sidecars."""

from __future__ import annotations

from typing import Any

import numpy as np

from support.json_post import post


def send_requests(
    pod_ips: list[str], *, shift: float, rows: int, seed: int, prefix: str
) -> dict[str, list[dict[str, Any]]]:
    """``rows`` single-row OIP v2 requests with x ~ N(shift, 1) through the sidecars' proxy
    ports (round robin, as a Service balances over its Pods). Returns the true labels
    (``x > shift``) by the IP that answered each request."""
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
    return labels


def send_traffic(
    pod_ips: list[str], *, shift: float, rows: int, seed: int, admin_token: str, prefix: str
) -> None:
    """``send_requests``, then the true labels to the feedback endpoints of the sidecars that
    answered them."""
    labels = send_requests(pod_ips, shift=shift, rows=rows, seed=seed, prefix=prefix)
    for ip, items in labels.items():
        post(f"http://{ip}:8481/v1/feedback", items, token=admin_token)
