"""One verdict, told the same everywhere, on the real control plane: status conditions, Events,
the operator's metrics, the chart's alerts (promtool) and the webhook; one alarm per change;
data quality judged, not only counted."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from support.cluster_waiting import wait_for
from support.controller_harness import (
    baseline_json,
    current_pod_ips,
    free_port,
    metric,
    model_deployment,
    model_monitor,
    scrape,
)
from support.controller_traffic import send_traffic
from support.json_post import post

REPO = Path(__file__).resolve().parents[3]
ALARMS = ("DriftDetected", "PerformanceDegraded", "DataQualityDegraded")


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def deploy(kube: Any, receiver: Receiver | None = None) -> tuple[list[str], str]:
    kube.create_baseline("model-baseline", baseline_json(0.0, seed=1))
    kube.apps.create_namespaced_deployment(kube.namespace, model_deployment("model"))
    body = model_monitor("watch", "model")
    if receiver is not None:
        body["spec"]["alerts"] = {
            "webhook": {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook"}
        }
    kube.create_monitor(body)
    ips = wait_for("a ready Pod with the sidecar", lambda: current_pod_ips(kube, "1"))
    return ips, kube.secret_value("watch-kubedrift-token", "sidecar-token")


def conditions(kube: Any) -> dict[str, str]:
    return {c["type"]: c["status"] for c in kube.status("watch").get("conditions") or []}


def rendered_rules(tmp_path: Path) -> Path:
    """The chart's PrometheusRule as a rules file for promtool (helm built by tests/tools)."""
    helm = (
        subprocess.run(
            ["bash", str(REPO / "tests/tools/build.sh")], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    manifests = subprocess.run(
        [f"{helm}/helm", "template", "kd", str(REPO / "charts/kubedrift"),
         "--set", "prometheusRule.enabled=true"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (rule,) = [d for d in yaml.safe_load_all(manifests) if d and d.get("kind") == "PrometheusRule"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    return path


def alert_annotations(rules: Path, alert: str, namespace: str) -> dict[str, str]:
    """The alert's annotations with this monitor's labels filled in, as Prometheus will."""
    groups = yaml.safe_load(rules.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alert)
    return {
        key: text.replace("{{ $labels.namespace }}", namespace).replace(
            "{{ $labels.monitor }}", "watch"
        )
        for key, text in rule["annotations"].items()
    }


def test_status_events_metrics_alerts_and_webhook_tell_one_story(
    kube: Any, operator: Any, receiver: Receiver, tmp_path: Path
) -> None:
    ips, token = deploy(kube, receiver)
    send_traffic(ips, shift=0.0, rows=200, seed=5, admin_token=token, prefix="calm")
    wait_for(
        "a calm verdict",
        lambda: (
            conditions(kube).get("DriftDetected") == "False"
            and conditions(kube).get("PerformanceDegraded") == "False"
        ),
    )
    send_traffic(ips, shift=3.0, rows=300, seed=6, admin_token=token, prefix="shifted")
    wait_for("all three alarms", lambda: all(conditions(kube).get(a) == "True" for a in ALARMS))

    # Status and Events: each alarm once.
    status = kube.status("watch")
    assert status["phase"] == "Degraded"
    assert status["drift"]["drifted"] is True
    for alarm in ALARMS:
        assert len(kube.events(alarm)) == 1, alarm

    # The operator's metrics: each condition's state as the status says.
    page = scrape(f"http://127.0.0.1:{operator.port}/metrics")
    for alarm in ALARMS:
        labels = {"namespace": kube.namespace, "monitor": "watch", "condition": alarm}
        assert metric(page, "kubedrift_monitor_condition", status="True", **labels) == 1.0
        assert metric(page, "kubedrift_monitor_condition", status="False", **labels) == 0.0

    # The chart's alerts, evaluated by promtool on those very series: all three fire.
    rules = rendered_rules(tmp_path)
    series = [
        {
            "series": "kubedrift_monitor_condition{"
            f'namespace="{kube.namespace}",monitor="watch",condition="{alarm}",status="True"'
            "}",
            "values": f"{int(metric(page, 'kubedrift_monitor_condition', namespace=kube.namespace, monitor='watch', condition=alarm, status='True'))}x10",  # noqa: E501
        }
        for alarm in ALARMS
    ]
    names = {
        "DriftDetected": "KubedriftModelDrift",
        "PerformanceDegraded": "KubedriftPerformanceDegraded",
        "DataQualityDegraded": "KubedriftDataQuality",
    }
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": names[alarm],
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "namespace": kube.namespace,
                                    "monitor": "watch",
                                },
                                "exp_annotations": alert_annotations(
                                    rules, names[alarm], kube.namespace
                                ),
                            }
                        ],
                    }
                    for alarm in ALARMS
                ],
            }
        ],
    }
    (tmp_path / "agreement_test.yaml").write_text(yaml.safe_dump(tests))
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: `make tools` installs it"
    answer = subprocess.run(
        [promtool, "test", "rules", "agreement_test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr

    # The webhook: one post per alarm transition, nothing else.
    wait_for("three webhook posts", lambda: len(receiver.posts) >= 3)
    assert sorted(p["reason"] for p in receiver.posts) == sorted(ALARMS)
    assert {p["monitor"] for p in receiver.posts} == {"watch"}

    # One change, one alarm: more of the same shift raises nothing new.
    send_traffic(ips, shift=3.0, rows=300, seed=7, admin_token=token, prefix="more")
    evaluations = metric(
        scrape(f"http://127.0.0.1:{operator.port}/metrics"),
        "kubedrift_operator_evaluations_total",
        namespace=kube.namespace,
        monitor="watch",
    )
    wait_for(
        "two more evaluations",
        lambda: (
            metric(
                scrape(f"http://127.0.0.1:{operator.port}/metrics"),
                "kubedrift_operator_evaluations_total",
                namespace=kube.namespace,
                monitor="watch",
            )
            >= evaluations + 2
        ),
    )
    assert all(conditions(kube).get(a) == "True" for a in ALARMS)
    for alarm in ALARMS:
        assert len(kube.events(alarm)) == 1, alarm
    assert len(receiver.posts) == 3


def test_a_feature_that_goes_missing_raises_data_quality_not_silence(
    kube: Any, operator: Any
) -> None:
    """Requests whose input is named ``z`` instead of ``x``: the baseline's feature is absent
    and an unknown column arrives. DataQualityDegraded says both; drift stays quiet."""
    ips, token = deploy(kube)
    send_traffic(ips, shift=0.0, rows=150, seed=8, admin_token=token, prefix="calm")
    wait_for("a calm verdict", lambda: conditions(kube).get("DriftDetected") == "False")
    rng = np.random.default_rng(9)
    for index, value in enumerate(rng.normal(size=300)):
        post(
            f"http://{ips[0]}:8480/v2/models/demo/infer",
            {
                "id": f"renamed-{index}",
                "inputs": [{"name": "z", "shape": [1], "datatype": "FP64", "data": [value]}],
            },
        )
    wait_for("DataQualityDegraded", lambda: conditions(kube).get("DataQualityDegraded") == "True")
    found = next(
        c for c in kube.status("watch")["conditions"] if c["type"] == "DataQualityDegraded"
    )
    assert found["reason"] in {"MissingValues", "FeatureAbsent"}
    assert "x: missing values" in found["message"]
    assert "columns the baseline does not know: z" in found["message"]
    # One Event, at the transition: it says what the condition says, with the window's shares
    # of that round (the condition's message follows the window from round to round).
    (event,) = kube.events("DataQualityDegraded")
    assert event.startswith("x: missing values in ")
    assert event.endswith("columns the baseline does not know: z")
    assert conditions(kube).get("DriftDetected") != "True"


def test_the_backtest_of_the_recorded_stream_predicts_the_operators_alarms(
    kube: Any, operator: Any, tmp_path: Path
) -> None:
    """600 requests through the real sidecar at 10 per second (the last 300 shifted by one
    standard deviation, each labeled at once), recorded with their send times; then
    ``kubedrift backtest`` of the same rows, monitor and baseline. The same alarms rise, each
    within two evaluation intervals' worth of rows (100) of where the operator raised it: the
    operator's rounds run on their own clock, so the increments differ by up to a round."""
    import time  # noqa: PLC0415

    from kubedrift.cli import main  # noqa: PLC0415

    ips, token = deploy(kube)
    rng = np.random.default_rng(10)
    values = np.concatenate([rng.normal(size=300), rng.normal(1.0, 1.0, size=300)])
    truths = np.concatenate([values[:300] > 0, values[300:] > 1.0]).astype(int)
    sent: list[float] = []
    seen: dict[str, int] = {}
    start = time.monotonic()
    for index, (value, truth) in enumerate(zip(values.tolist(), truths.tolist(), strict=True)):
        time.sleep(max(0.0, start + index / 10 - time.monotonic()))
        request_id = f"rec-{index}"
        post(
            f"http://{ips[0]}:8480/v2/models/demo/infer",
            {
                "id": request_id,
                "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [value]}],
            },
        )
        post(f"http://{ips[0]}:8481/v1/feedback", [{"id": request_id, "label": truth}], token)
        sent.append(time.monotonic() - start)
        if index % 5 == 0:
            for alarm, state in conditions(kube).items():
                if state == "True" and alarm in ALARMS and alarm not in seen:
                    seen[alarm] = index + 1

    def settled() -> bool:
        for alarm, state in conditions(kube).items():
            if state == "True" and alarm in ALARMS and alarm not in seen:
                seen[alarm] = len(values)
        return {"DriftDetected", "PerformanceDegraded"} <= set(seen)

    wait_for("the operator's alarms", settled)

    table = tmp_path / "stream.csv"
    lines = ["x,pred,label,t"] + [
        f"{v!r},{int(v > 0)},{y},{t:.3f}"
        for v, y, t in zip(values.tolist(), truths.tolist(), sent, strict=True)
    ]
    table.write_text("\n".join(lines) + "\n")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(baseline_json(0.0, seed=1))
    manifest = tmp_path / "monitor.yaml"
    manifest.write_text(yaml.safe_dump(model_monitor("watch", "model")))
    document = tmp_path / "backtest.json"
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "backtest",
                "--monitor", str(manifest),
                "--baseline", str(baseline),
                "--data", str(table),
                "--time-column", "t",
                "--format", "json",
            ]
        )  # fmt: skip
    assert code == 0
    document.write_text(out.getvalue())
    predicted = {a["condition"]: a["row"] for a in json.loads(out.getvalue())["alerts"]}
    assert set(predicted) == set(seen), (predicted, seen)
    for alarm, row in predicted.items():
        assert abs(row - seen[alarm]) <= 100, (alarm, row, seen[alarm])
