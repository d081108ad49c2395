"""The YAML config file and the flags that override it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedrift.payloads import JsonPaths
from kubedrift.payloads.model import Naming
from kubedrift.sidecar.config import (
    ConfigError,
    SidecarConfig,
    duration,
    load_config,
    parse_options,
    read_token,
)


def test_every_documented_key_is_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(
        """
upstream: http://127.0.0.1:8501
baseline: /etc/b.json
listen: 0.0.0.0:7000
admin: "[::1]:7001"
mode: mirror
protocol: seldon-v1
sampleRate: 0.25
maxSamplesPerSecond: 50
queueSize: 10
maxSampleBytes: 2048
batchSize: 8
batchInterval: 250ms
forwardInterval: 100ms
scoreInterval: 1m
timeouts: {connect: 2s, upstream: 90s, keepAlive: 10s, drain: 5s}
window: {samples: 500, maxAge: 2h, minSamples: 50, reservoirSize: 300, labeledCapacity: 100}
labels: {capacity: 1000, ttl: 1d}
payload:
  featureNames: [a, b]
  predictionOutput: label
  predictionReduce: first
  json: {features: request.rows, prediction: response.score, id: request.trace}
auth: {tokenFile: /var/run/token}
eventLoop: asyncio
monitorPriority: low
model: iris
"""
    )

    config = load_config(path, {})

    assert (config.upstream_host, config.upstream_port, config.mode, config.protocol) == (
        "127.0.0.1", 8501, "mirror", "seldon-v1",
    )  # fmt: skip
    assert (config.sample_rate, config.max_samples_per_second, config.queue_size) == (0.25, 50, 10)
    assert (config.max_sample_bytes, config.batch_size, config.batch_interval) == (2048, 8, 0.25)
    assert (config.connect_timeout, config.upstream_timeout, config.keepalive_timeout) == (
        2,
        90,
        10,
    )
    assert (config.drain_timeout, config.score_interval, config.forward_interval) == (5, 60, 0.1)
    assert config.window.samples == 500
    assert config.window.max_age_seconds == 7200
    assert (
        config.window.min_samples,
        config.window.reservoir_size,
        config.window.labeled_capacity,
    ) == (50, 300, 100)
    assert (config.label_capacity, config.label_ttl) == (1000, 86400)
    assert config.parse.feature_names == ("a", "b")
    assert (config.parse.prediction_output, config.parse.prediction_reduce) == ("label", "first")
    assert config.parse.json_paths == JsonPaths("request.rows", "response.score", "request.trace")
    assert (config.token_file, config.event_loop) == ("/var/run/token", "asyncio")
    assert config.monitor_priority == "low"
    assert config.model == "iris"


def test_flags_override_the_file_and_none_means_not_given(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text("sampleRate: 0.5\nprotocol: mlflow\n")

    config = load_config(path, {"sample_rate": 1.0, "protocol": None, "listen": "127.0.0.1:1"})

    assert (config.sample_rate, config.protocol, config.listen) == (1.0, "mlflow", "127.0.0.1:1")


def test_no_file_gives_the_defaults() -> None:
    assert load_config(None, {}) == SidecarConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sampleRat: 0.5", "sampleRat: unknown key"),
        ("window: {maxAgee: 1h}", "window.maxAgee: unknown key"),
        ("sampleRate: 2", "sampleRate: expected a value in [0, 1]"),
        ("protocol: grpc", "protocol: expected one of"),
        ("upstream: https://model:443", "upstream: expected an http:// URL"),
        ("timeouts: {drain: soon}", "timeouts.drain: expected a duration"),
        ("listen: nowhere", "address 'nowhere': expected HOST:PORT"),
        ("queueSize: 0", "queue_size: must be positive"),
        ("monitorPriority: realtime", "monitorPriority: expected idle or low"),
        ("- a list", "expected a mapping at the top"),
    ],
)
def test_bad_settings_are_errors_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(text)

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, {})


@pytest.mark.parametrize(
    ("value", "seconds"), [(3, 3.0), ("1.5s", 1.5), ("200ms", 0.2), ("2h", 7200.0), ("7", 7.0)]
)
def test_durations_accept_numbers_and_unit_suffixes(value: object, seconds: float) -> None:
    assert duration(value, "k") == pytest.approx(seconds)


def test_token_comes_from_the_file_before_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-secret\n")
    from_file = SidecarConfig(token_file=str(token_file))

    assert read_token(from_file, {"KUBEDRIFT_SIDECAR_TOKEN": "env"}) == "from-secret"
    assert read_token(SidecarConfig(), {"KUBEDRIFT_SIDECAR_TOKEN": "env"}) == "env"
    assert read_token(SidecarConfig(), {}) is None


def test_feature_names_and_classes_become_the_parsers_naming(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(
        "payload:\n  features: {positions: [a, b], names: {petal_len: c}}\n  classes: [high, low]\n"
    )

    config = load_config(path, {})

    assert config.parse.naming == Naming(("a", "b"), (("petal_len", "c"),), ("high", "low"))
    assert parse_options(config, ("x", "y")) is config.parse


def test_classes_from_the_baseline_are_its_classes_in_sorted_order(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text("payload: {classesFromBaseline: true}\n")

    options = parse_options(load_config(path, {}), ("low", "high", "medium"))

    assert options.naming.classes == ("high", "low", "medium")


def test_classes_given_twice_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text("payload: {classesFromBaseline: true, classes: [a]}\n")

    with pytest.raises(ConfigError, match="exclude each other"):
        load_config(path, {})


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ("{features: {positions: abc}}", "payload.features.positions"),
        ("{classes: high}", "payload.classes"),
        ("{features: {names: [a, b]}}", "payload.features.names"),
    ],
)
def test_feature_and_class_names_of_the_wrong_shape_are_refused(
    tmp_path: Path, payload: str, key: str
) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"payload: {payload}\n")

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(path, {})


def test_model_configs_add_one_entry_each_and_the_proxy_samples_at_the_highest_rate(
    tmp_path: Path,
) -> None:
    first = tmp_path / "iris.yaml"
    first.write_text("model: iris\nsampleRate: 0.2\nqueueSize: 7\n")
    second = tmp_path / "wine.yaml"
    second.write_text("model: wine\nsampleRate: 0.5\nbaseline: /w/baseline.json\n")

    config = load_config(first, {}, (second,))

    assert [(m.model, m.sample_rate, m.baseline) for m in config.monitored] == [
        ("iris", 0.2, "/etc/kubedrift/baseline.json"),
        ("wine", 0.5, "/w/baseline.json"),
    ]
    assert config.proxy_sample_rate == 0.5
    assert config.queue_size == 7


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("model: iris\n", "model: iris\n", "model: iris is configured twice"),
        ("sampleRate: 1.0\n", "model: wine\n", "model: every model of a shared sidecar needs one"),
        ("model: iris\n", "sampleRate: 1.0\n", "model: every model of a shared sidecar needs one"),
    ],
)
def test_model_configs_need_a_distinct_model_each(
    tmp_path: Path, first: str, second: str, message: str
) -> None:
    (tmp_path / "a.yaml").write_text(first)
    (tmp_path / "b.yaml").write_text(second)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "a.yaml", {}, (tmp_path / "b.yaml",))
