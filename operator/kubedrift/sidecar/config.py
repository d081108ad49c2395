"""The sidecar's settings: a YAML file (rendered by the operator into a ConfigMap) and flags.

:func:`load_config` reads the file, then applies command-line overrides, and returns a frozen
:class:`SidecarConfig`. Keys in the file are camelCase like the ModelMonitor spec; durations are
seconds or strings such as ``"500ms"``, ``"30s"``, ``"1h"``. Unknown keys are errors naming the key,
so a typo never silently falls back to a default. docs/sidecar.md lists every key.

>>> config = config_from_mapping({"upstream": "http://127.0.0.1:8080", "baseline": "b.json",
...                               "sampleRate": 0.5, "window": {"maxAge": "10m"}})
>>> config.sample_rate, config.window.max_age_seconds, config.upstream_host
(0.5, 600.0, '127.0.0.1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import yaml

from kubedrift.payloads import PROTOCOLS, JsonPaths, ParseOptions
from kubedrift.payloads.model import DEFAULT_EMBEDDING_WIDTH, Naming
from kubedrift.payloads.probabilities import ProbabilitySource
from kubedrift.stats.settings import WindowSettings

Mode = Literal["proxy", "mirror"]
EventLoop = Literal["auto", "uvloop", "asyncio"]
#: How the monitor process yields the CPU (``kubedrift.sidecar.sidecar_main.lower_priority``).
MonitorPriority = Literal["idle", "low"]


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class SidecarConfig:
    """Every setting of one sidecar process; defaults are what the operator renders."""

    upstream: str = "http://127.0.0.1:8080"
    baseline: str = "/etc/kubedrift/baseline.json"
    listen: str = "0.0.0.0:9000"
    admin: str = "0.0.0.0:9001"
    mode: Mode = "proxy"
    protocol: str = "auto"
    sample_rate: float = 0.1
    max_samples_per_second: int | None = 200
    queue_size: int = 10_000
    max_sample_bytes: int = 1 << 20
    batch_size: int = 256
    batch_interval: float = 0.5
    forward_interval: float = 0.25
    connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    keepalive_timeout: float = 75.0
    drain_timeout: float = 20.0
    window: WindowSettings = field(default_factory=WindowSettings)
    label_capacity: int = 100_000
    label_ttl: float = 86_400.0
    parse: ParseOptions = field(default_factory=ParseOptions)
    token_file: str | None = None
    token_env: str | None = "KUBEDRIFT_SIDECAR_TOKEN"
    event_loop: EventLoop = "auto"
    score_interval: float = 30.0
    monitor_priority: MonitorPriority = "idle"
    #: ``spec.target.model``: the one model whose exchanges feed the window (None: all of them).
    model: str | None = None
    #: ``payload.classesFromBaseline``: class index i is the i-th of the baseline's classes,
    #: sorted (resolved when the baseline is loaded, see ``parse_options``).
    classes_from_baseline: bool = False
    #: ``payload.probabilities``: where responses carry class probabilities (``None``: nowhere).
    probabilities: ProbabilitySource | None = None
    #: ``shadow.url``: where copies of sampled requests go (a shadow rollout's candidate).
    shadow_url: str | None = None
    shadow_max_in_flight: int = 32
    shadow_timeout: float = 10.0
    #: ``--model-config``: further models served on the same port, each with its own baseline,
    #: window, sampling, payload naming and token (their other settings are not used).
    models: tuple[SidecarConfig, ...] = ()

    @property
    def monitored(self) -> tuple[SidecarConfig, ...]:
        """Every model entry: this config first, then :attr:`models`."""
        return (self, *self.models)

    @property
    def proxy_sample_rate(self) -> float:
        """The share the proxy samples: the highest of the models' (each model takes its own
        share of those, see ``kubedrift.sidecar.models.ModelGroup``)."""
        return max(entry.sample_rate for entry in self.monitored)

    @property
    def upstream_host(self) -> str:
        return urlsplit(self.upstream).hostname or "127.0.0.1"

    @property
    def upstream_port(self) -> int:
        return urlsplit(self.upstream).port or 80


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def duration(value: Any, key: str) -> float:
    """Seconds from a number or a ``"<n><unit>"`` string (ms, s, m, h, d)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{key}: expected a duration such as 30s or 1h, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _section(data: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
    section = data.get(key, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{key}: expected a mapping")
    unknown = set(section) - allowed
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}: unknown key")
    return section


_TOP = {
    "upstream", "baseline", "listen", "admin", "mode", "protocol", "sampleRate",
    "maxSamplesPerSecond", "queueSize", "maxSampleBytes", "batchSize", "batchInterval",
    "forwardInterval", "timeouts", "window", "labels", "payload", "auth", "eventLoop",
    "scoreInterval", "monitorPriority", "model", "shadow",
}  # fmt: skip


def config_from_mapping(data: Mapping[str, Any]) -> SidecarConfig:
    """A config from the decoded YAML document (camelCase keys, see the module docstring)."""
    unknown = set(data) - _TOP
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown key")
    values: dict[str, Any] = {}
    for key, name in (("upstream", "upstream"), ("baseline", "baseline"), ("listen", "listen"),
                      ("admin", "admin"), ("mode", "mode"), ("protocol", "protocol"),
                      ("eventLoop", "event_loop"),
                      ("monitorPriority", "monitor_priority")):  # fmt: skip
        if key in data:
            values[name] = str(data[key])
    for key, name in (("sampleRate", "sample_rate"),):
        if key in data:
            values[name] = float(data[key])
    for key, name in (
        ("maxSamplesPerSecond", "max_samples_per_second"),
        ("queueSize", "queue_size"),
        ("maxSampleBytes", "max_sample_bytes"),
        ("batchSize", "batch_size"),
    ):
        if key in data:
            values[name] = None if data[key] is None else int(data[key])
    for key, name in (("batchInterval", "batch_interval"), ("forwardInterval", "forward_interval"),
                      ("scoreInterval", "score_interval")):  # fmt: skip
        if key in data:
            values[name] = duration(data[key], key)
    timeouts = _section(data, "timeouts", {"connect", "upstream", "keepAlive", "drain"})
    for key, name in (("connect", "connect_timeout"), ("upstream", "upstream_timeout"),
                      ("keepAlive", "keepalive_timeout"), ("drain", "drain_timeout")):  # fmt: skip
        if key in timeouts:
            values[name] = duration(timeouts[key], f"timeouts.{key}")
    window = _section(
        data, "window", {"samples", "maxAge", "minSamples", "reservoirSize", "labeledCapacity"}
    )
    defaults = WindowSettings()
    values["window"] = WindowSettings(
        samples=int(window.get("samples", defaults.samples)),
        max_age_seconds=duration(window.get("maxAge", defaults.max_age_seconds), "window.maxAge"),
        min_samples=int(window.get("minSamples", defaults.min_samples)),
        reservoir_size=int(window.get("reservoirSize", defaults.reservoir_size)),
        labeled_capacity=int(window.get("labeledCapacity", defaults.labeled_capacity)),
    )
    labels = _section(data, "labels", {"capacity", "ttl"})
    if "capacity" in labels:
        values["label_capacity"] = int(labels["capacity"])
    if "ttl" in labels:
        values["label_ttl"] = duration(labels["ttl"], "labels.ttl")
    payload = _section(
        data,
        "payload",
        {"featureNames", "predictionOutput", "predictionReduce", "json", "features", "classes",
         "classesFromBaseline", "probabilities", "embeddingWidth"},
    )  # fmt: skip
    paths = _section(payload, "json", {"features", "prediction", "id"})
    naming = _section(payload, "features", {"positions", "names"})
    renames = naming.get("names", {})
    if not isinstance(renames, Mapping):
        raise ConfigError("payload.features.names: expected a mapping of payload name to feature")
    values["classes_from_baseline"] = bool(payload.get("classesFromBaseline", False))
    source = _section(payload, "probabilities", {"output", "path"})
    if source:
        try:
            values["probabilities"] = ProbabilitySource(
                output=source.get("output"), path=source.get("path")
            )
        except ValueError as error:
            raise ConfigError(f"payload.{error}") from error
    values["parse"] = ParseOptions(
        feature_names=tuple(str(n) for n in payload.get("featureNames", ())),
        prediction_output=payload.get("predictionOutput"),
        prediction_reduce=payload.get("predictionReduce", "argmax"),
        json_paths=JsonPaths(
            features=str(paths.get("features", "request")),
            prediction=paths.get("prediction"),
            id=paths.get("id"),
        ),
        naming=Naming(
            positions=tuple(str(n) for n in _listed(naming, "positions", "payload.features")),
            renames=tuple((str(k), str(v)) for k, v in renames.items()),
            classes=tuple(_listed(payload, "classes", "payload")),
        ),
        embedding_width=_embedding_width(payload),
    )
    if data.get("model") is not None:
        values["model"] = str(data["model"])
    shadow = _section(data, "shadow", {"url", "maxInFlight", "timeout"})
    if shadow.get("url") is not None:
        values["shadow_url"] = str(shadow["url"])
    if "maxInFlight" in shadow:
        values["shadow_max_in_flight"] = int(shadow["maxInFlight"])
    if "timeout" in shadow:
        values["shadow_timeout"] = duration(shadow["timeout"], "shadow.timeout")
    auth = _section(data, "auth", {"tokenFile", "tokenEnv"})
    if "tokenFile" in auth:
        values["token_file"] = auth["tokenFile"]
    if "tokenEnv" in auth:
        values["token_env"] = auth["tokenEnv"]
    return validate(SidecarConfig(**values))


def _embedding_width(payload: Mapping[str, Any]) -> int:
    """``payload.embeddingWidth``: list rows wider than it are one embedding block."""
    width = payload.get("embeddingWidth", DEFAULT_EMBEDDING_WIDTH)
    if type(width) is not int or width < 1:
        raise ConfigError(f"payload.embeddingWidth: expected a positive integer, got {width!r}")
    return width


def _listed(section: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = section.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key}: expected a list")
    return value


def validate(config: SidecarConfig) -> SidecarConfig:
    """Range and enum checks shared by the file and the flags."""
    if config.mode not in get_args(Mode):
        raise ConfigError(f"mode: expected proxy or mirror, got {config.mode!r}")
    if config.protocol not in PROTOCOLS:
        raise ConfigError(
            f"protocol: expected one of {', '.join(PROTOCOLS)}, got {config.protocol!r}"
        )
    if config.event_loop not in get_args(EventLoop):
        raise ConfigError(f"eventLoop: expected auto, uvloop or asyncio, got {config.event_loop!r}")
    if config.monitor_priority not in get_args(MonitorPriority):
        raise ConfigError(f"monitorPriority: expected idle or low, got {config.monitor_priority!r}")
    if not 0.0 <= config.sample_rate <= 1.0:
        raise ConfigError(f"sampleRate: expected a value in [0, 1], got {config.sample_rate}")
    if config.model is not None and not config.model.strip():
        raise ConfigError("model: expected a model name or a path pattern starting with /")
    if config.classes_from_baseline and config.parse.naming.classes:
        raise ConfigError("payload.classes and payload.classesFromBaseline exclude each other")
    if config.parse.prediction_reduce not in ("none", "argmax", "first"):
        raise ConfigError("payload.predictionReduce: expected none, argmax or first")
    if urlsplit(config.upstream).scheme != "http":
        raise ConfigError(f"upstream: expected an http:// URL, got {config.upstream!r}")
    if config.shadow_url is not None and urlsplit(config.shadow_url).scheme != "http":
        raise ConfigError(f"shadow.url: expected an http:// URL, got {config.shadow_url!r}")
    if config.shadow_max_in_flight <= 0:
        raise ConfigError("shadow.maxInFlight: must be positive")
    for name in ("queue_size", "max_sample_bytes", "batch_size", "label_capacity"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name}: must be positive")
    for address in (config.listen, config.admin):
        split_address(address)
    if config.models:
        names = [entry.model for entry in config.monitored]
        if None in names:
            raise ConfigError(
                "model: every model of a shared sidecar needs one (the file and each "
                "--model-config)"
            )
        repeated = sorted({name for name in names if names.count(name) > 1 and name})
        if repeated:
            raise ConfigError(f"model: {repeated[0]} is configured twice")
    return config


def parse_options(
    config: SidecarConfig,
    baseline_classes: tuple[str, ...],
    embeddings: tuple[str, ...] = (),
) -> ParseOptions:
    """The parser options, with ``classesFromBaseline`` resolved: class index i names the i-th
    of the baseline's classes in sorted order (the order of scikit-learn's ``classes_``); list
    rows without names that form an embedding block take the name of the baseline's only block
    (``embeddings``: the names of its blocks), else ``instances``."""
    options = config.parse
    if len(embeddings) == 1:
        options = replace(options, positional_block=embeddings[0])
    if not config.classes_from_baseline:
        return options
    naming = replace(options.naming, classes=tuple(sorted(baseline_classes)))
    return replace(options, naming=naming)


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9000`` for IPv6) -> host and port."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"address {address!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def load_config(
    path: str | Path | None,
    overrides: Mapping[str, Any],
    model_paths: tuple[str | Path, ...] = (),
) -> SidecarConfig:
    """The file's settings (when ``path`` is given) with non-``None`` ``overrides`` applied.

    ``overrides`` uses the :class:`SidecarConfig` field names (the flags' destinations).
    ``model_paths`` are further config files, one per model served on the same port
    (:attr:`SidecarConfig.models`); the overrides do not apply to them.
    """
    config = _load_file(path, overrides)
    if not model_paths:
        return config
    models = tuple(_load_file(extra, {}) for extra in model_paths)
    return validate(replace(config, models=models))


def _load_file(path: str | Path | None, overrides: Mapping[str, Any]) -> SidecarConfig:
    data: Any = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot read config file {path}: {error}") from error
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping at the top")
    try:
        config = config_from_mapping(data)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(str(error)) from error
    names = {f.name for f in fields(SidecarConfig)}
    chosen = {k: v for k, v in overrides.items() if v is not None and k in names}
    return validate(replace(config, **chosen))


def read_token(config: SidecarConfig, environ: Mapping[str, str]) -> str | None:
    """The admin bearer token: the file's content (a mounted Secret) or the environment variable."""
    if config.token_file:
        try:
            token = Path(config.token_file).read_text().strip()
        except OSError as error:
            raise ConfigError(
                f"auth.tokenFile: cannot read {config.token_file}: {error}"
            ) from error
        return token or None
    if config.token_env:
        return environ.get(config.token_env) or None
    return None
