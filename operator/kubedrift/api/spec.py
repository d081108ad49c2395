"""The ``ModelMonitor`` spec (``kubedrift.io/v1alpha1``) as typed, immutable Python values.

This module is the single source of truth for the spec: the CRD schema in ``crds/`` is generated
from these dataclasses (``make crds``), and :func:`parse_spec` validates a body against the same
declarations. Attribute names are the CRD field names in snake_case
(``spec.capture.sampleRate`` -> ``ModelMonitorSpec.capture.sample_rate``); durations are
:class:`~kubedrift.api.fields.Duration` values (``.seconds``, ``.text``).

Use :func:`parse_spec` wherever a body enters Python (kopf handlers, ``kubedrift check -f``):

>>> spec = parse_spec({
...     "target": {"deployment": "fraud-model", "port": 8080},
...     "baseline": {"configMapRef": {"name": "fraud-baseline"}},
... })
>>> spec.capture.sample_rate, spec.window.max_age.seconds, spec.baseline.config_map_ref.key
(1.0, 3600.0, 'baseline.json')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from kubedrift.api.fields import Duration, Rule, prop
from kubedrift.api.parsing import SpecError, parse_object
from kubedrift.api.template import job_template_schema, parse_job_template
from kubedrift.stats.settings import Correction, DriftMethod, FeatureType, Metric

__all__ = [
    "PROPORTION_METRICS",
    "PVALUE_METHODS",
    "AlertsSpec",
    "BaselineSpec",
    "CaptureMode",
    "CaptureSpec",
    "ClassNamesSpec",
    "ConfigMapKeyRef",
    "DriftSpec",
    "Duration",
    "EvaluationSpec",
    "FeatureNamesSpec",
    "FeatureRename",
    "FeatureSpec",
    "JsonPaths",
    "ModelMonitorSpec",
    "PerformanceSpec",
    "PredictionDriftSpec",
    "PromotionSpec",
    "Protocol",
    "RetrainingSpec",
    "RolloutSpec",
    "RolloutStrategy",
    "SecretKeyRef",
    "SegmentsSpec",
    "SpecError",
    "TargetSpec",
    "Trigger",
    "WebhookSpec",
    "WindowSpec",
    "WorkloadKind",
    "parse_spec",
]

CaptureMode = Literal["proxy", "mirror"]
MonitorPriority = Literal["idle", "low"]
PredictionReduce = Literal["argmax", "first", "none"]
Protocol = Literal["auto", "open-inference-v2", "kserve-v1", "seldon-v1", "mlflow", "json"]
Trigger = Literal["DriftDetected", "PerformanceDegraded"]
RolloutStrategy = Literal["none", "restart", "shadow", "canary"]
WorkloadKind = Literal["Deployment", "StatefulSet"]

#: Metrics whose values are proportions in [0, 1]; their threshold cannot exceed 1.
PROPORTION_METRICS: tuple[Metric, ...] = (
    "accuracy",
    "error-rate",
    "precision",
    "recall",
    "f1",
    "f1-macro",
)
#: Drift methods that are p-value tests; their threshold is a significance level below 1.
PVALUE_METHODS: tuple[DriftMethod, ...] = ("ks", "chi2")

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SERVICE_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
CONFIG_KEY = r"^[-._a-zA-Z0-9]+$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: A model name (no white space, no slash) or a path pattern starting with a slash.
MODEL_SELECTOR = r"^(/[^\s]*|[^\s/]+)$"
#: A dotted path rooted at ``request`` or ``response``; segments are keys or list indices.
JSON_PATH = r"^(request|response)(\.[^.\s]+)*$"

_PORT: dict[str, Any] = {"minimum": 1, "maximum": 65535}
_SUBDOMAIN: dict[str, Any] = {"pattern": DNS_SUBDOMAIN, "max_length": 253}
_PVALUE_CEL = "['ks', 'chi2']"
_PVALUE_MESSAGE = "is a significance level for ks and chi2, so it must be below 1"


def _pvalue_threshold_rule(method_optional: bool) -> Rule:
    """``threshold`` < 1 when ``method`` is a p-value test (ks, chi2)."""
    guard = "!has(self.method) || " if method_optional else ""
    return Rule(
        cel=f"!has(self.threshold) || {guard}!(self.method in {_PVALUE_CEL}) "
        "|| self.threshold < 1.0",
        message=_PVALUE_MESSAGE,
        check=lambda o: o.threshold is None or o.method not in PVALUE_METHODS or o.threshold < 1,
        field_path=".threshold",
    )


@dataclass(frozen=True, kw_only=True)
class TargetSpec:
    """``spec.target``: the workload that serves the model, and how to reach the model."""

    kind: WorkloadKind = prop(
        "kind",
        "Kind of the workload named by deployment: Deployment or StatefulSet. Both get the "
        "sidecar in their Pod template, roll out and are cleaned up alike. Not used with "
        "inferenceService.",
        default="Deployment",
    )
    deployment: str | None = prop(
        "deployment",
        "Name of the workload serving the model: the Deployment, or the StatefulSet when kind "
        "is StatefulSet. Exactly one of deployment and inferenceService is set.",
        default=None,
        **_SUBDOMAIN,
    )
    inference_service: str | None = prop(
        "inferenceService",
        "Name of a KServe InferenceService (serving.kserve.io/v1beta1) in the monitor's "
        "namespace, instead of deployment: the operator runs a collector (the sidecar in mirror "
        "mode, as its own Deployment and Service named {monitor}-kubedrift-collector), points "
        "the InferenceService's spec.predictor.logger at it (mode all) and restores the "
        "previous logger when the monitor is deleted. KServe's logger agent then sends every "
        "request and response to the collector as CloudEvents; nothing is added to the "
        "predictor's Pods and no Service is re-pointed. capture.mode is taken as mirror.",
        default=None,
        **_SUBDOMAIN,
    )
    container: str | None = prop(
        "container",
        "Container that runs the model server; default: the first container.",
        default=None,
        pattern=DNS_LABEL,
        max_length=63,
    )
    port: int | None = prop(
        "port",
        "Port the model server listens on inside its container; required with deployment. "
        "With inferenceService it is not needed (KServe's logger agent sends the exchanges).",
        default=None,
        **_PORT,
    )
    service: str | None = prop(
        "service",
        "Service to re-point at the sidecar in proxy mode; default: leave Services untouched.",
        default=None,
        pattern=SERVICE_NAME,
        max_length=63,
    )
    service_port: int | None = prop(
        "servicePort",
        "Port of that Service to re-point; default: every port whose targetPort is target.port.",
        default=None,
        **_PORT,
    )
    model: str | None = prop(
        "model",
        "The one model this monitor watches on a server that hosts several: its name in the "
        "request path (/v2/models/{name}[/versions/{v}]/infer, /v1/models/{name}:predict), or a "
        "path pattern starting with / (* ? [...]) for other paths; exchanges of other models "
        "are forwarded and counted by model, never added to the window. Default: every "
        "exchange. With inferenceService, KServe's logger events carry no path: every event "
        "the collector receives counts as this model's. Monitors of different models of one "
        "Deployment or StatefulSet share its one sidecar, which keeps a window per model; a "
        "second monitor of the same model is refused (Ready=False, TargetAlreadyMonitored).",
        default=None,
        pattern=MODEL_SELECTOR,
        max_length=253,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="!has(self.servicePort) || has(self.service)",
            message="servicePort needs target.service",
            check=lambda o: o.service_port is None or o.service is not None,
            field_path=".servicePort",
        ),
        Rule(
            cel="has(self.deployment) != has(self.inferenceService)",
            message="set exactly one of target.deployment and target.inferenceService",
            check=lambda o: (o.deployment is None) != (o.inference_service is None),
            field_path=".inferenceService",
        ),
        Rule(
            cel="has(self.port) || has(self.inferenceService)",
            message="target.port is required with target.deployment",
            check=lambda o: o.port is not None or o.inference_service is not None,
            field_path=".port",
        ),
        Rule(
            cel="!has(self.inferenceService) || !has(self.service)",
            message="target.service is for a Deployment in proxy mode, not with "
            "target.inferenceService",
            check=lambda o: o.inference_service is None or o.service is None,
            field_path=".service",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class JsonPaths:
    """``spec.capture.json``: where the plain-JSON protocol finds rows, predictions and ids.

    Dotted paths rooted at ``request`` or ``response`` (the two JSON bodies) whose segments are
    object keys or list indices: ``request.payload.rows``, ``response.result.0.score``
    (``kubedrift.payloads.plain_json`` walks them). ``features`` points at one row (an object), a
    list of rows, or an object of columns; ``prediction`` at a scalar or a list with one entry per
    row; ``id`` at a string or an integer.
    """

    features: str | None = prop(
        "features",
        "Path to the feature rows, e.g. request.instances.",
        default=None,
        pattern=JSON_PATH,
        max_length=256,
    )
    prediction: str | None = prop(
        "prediction",
        "Path to the predictions, e.g. response.predictions.",
        default=None,
        pattern=JSON_PATH,
        max_length=256,
    )
    id: str | None = prop(
        "id",
        "Path to a request id used to join labels, e.g. request.id.",
        default=None,
        pattern=JSON_PATH,
        max_length=256,
    )


@dataclass(frozen=True, kw_only=True)
class FeatureRename:
    """A payload column and the baseline feature it holds."""

    payload: str = prop(
        "payload",
        "Column name in the payload: a tensor or field name, or <tensor>-<j> for column j of an "
        "[n, d] tensor.",
        min_length=1,
        max_length=253,
    )
    feature: str = prop("feature", "The baseline's name of that feature.", min_length=1,
                        max_length=253)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class FeatureNamesSpec:
    """``spec.capture.features``: payload names -> the baseline's feature names, written once.

    Clients name the same inputs differently: one ``[n, d]`` tensor called ``input-1``
    (MLServer's NumpyRequestCodec), ``input-0`` (KServe's examples) or ``predict``, or one tensor
    per column (the pandas codec). ``positions`` names the columns of a positional payload by
    position, whatever the tensor is called (the single ``[n, d]`` OIP input, KServe v1, MLflow
    and Seldon list rows of that width); ``names`` renames columns by name, after ``positions``.
    Exchanges whose columns still match none of the baseline's features are counted in
    ``kubedrift_schema_mismatch_total``.
    """

    positions: tuple[str, ...] = prop(
        "positions",
        "Baseline feature names of the payload's columns by position (column j of a single "
        "[n, d] tensor or of list rows).",
        default=(),
        max_items=1000,
    )
    names: tuple[FeatureRename, ...] = prop(
        "names",
        "Payload column names renamed to baseline feature names.",
        default=(),
        list_type="map",
        list_map_keys=("payload",),
        max_items=1000,
    )


@dataclass(frozen=True, kw_only=True)
class ClassNamesSpec:
    """``spec.capture.classes``: class indices in the predictions -> class names.

    A ``predict_proba`` output reduced by argmax, or a model answering ``0``/``1``, gives class
    indices where the baseline and the labels say ``high``/``low``. Index i becomes ``names[i]``,
    or with ``fromBaseline`` the i-th of the baseline's classes in sorted order (the order of
    scikit-learn's ``classes_``). Integer predictions (and integral floats) in range are mapped;
    others are left as they are.
    """

    names: tuple[str, ...] = prop(
        "names", "Class name of each index, index 0 first.", default=(), max_items=1000
    )
    from_baseline: bool = prop(
        "fromBaseline",
        "Index i is the i-th of the baseline's classes, sorted.",
        default=False,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="(has(self.names) && size(self.names) > 0) != self.fromBaseline",
            message="set either classes.names or classes.fromBaseline: true (exactly one)",
            check=lambda o: bool(o.names) != o.from_baseline,
        ),
    )


@dataclass(frozen=True, kw_only=True)
class ProbabilitiesSpec:
    """``spec.capture.probabilities``: where a classifier's responses carry class probabilities.

    Performance is then estimated without labels (``kubedrift.stats.estimation``) against the
    calibration maps that ``kubedrift baseline build --probabilities`` stores in the baseline.
    Columns are the classes in sorted order (scikit-learn's ``predict_proba``); a binary model
    may give one column, the second class's probability.
    """

    output: str | None = prop(
        "output",
        "Open Inference Protocol: the output tensor holding the probabilities, shape [n, classes] "
        "or [n] (binary: the positive class).",
        default=None,
        min_length=1,
        max_length=253,
    )
    path: str | None = prop(
        "path",
        "JSON responses: the path to the probabilities, one entry per row, e.g. "
        "response.probabilities.",
        default=None,
        pattern=r"^response(\.[^.\s]+)*$",
        max_length=256,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="has(self.output) != has(self.path)",
            message="set either probabilities.output or probabilities.path (exactly one)",
            check=lambda o: (o.output is None) != (o.path is None),
        ),
    )


@dataclass(frozen=True, kw_only=True)
class CaptureSpec:
    """``spec.capture``: how the sidecar sees traffic and how much of it it samples."""

    mode: CaptureMode = prop(
        "mode",
        "proxy: the sidecar forwards requests to the model and samples them; mirror: it only "
        "receives copies (KServe logger CloudEvents or {request, response} posts).",
        default="proxy",
    )
    protocol: Protocol = prop(
        "protocol", "Payload protocol; auto detects it per request.", default="auto"
    )
    sample_rate: float = prop(
        "sampleRate",
        "Fraction of requests sampled, in (0, 1].",
        default=1.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=1,
    )
    max_samples_per_second: int = prop(
        "maxSamplesPerSecond",
        "Cap on sampled requests per second per replica.",
        default=200,
        minimum=1,
        maximum=100000,
    )
    queue_size: int = prop(
        "queueSize",
        "Bounded queue of sampled payloads awaiting parsing; full means drop and count.",
        default=10000,
        minimum=1,
        maximum=1000000,
    )
    monitor_priority: MonitorPriority = prop(
        "monitorPriority",
        "CPU priority of the sidecar's monitor process (parsing, windows, admin port): idle "
        "(Linux SCHED_IDLE: it runs on CPU time the request path leaves and yields at once) or "
        "low (niceness +10 only; for a container whose CPU stays saturated, where an idle "
        "monitor answers its liveness probe too slowly).",
        default="idle",
    )
    listen_port: int = prop(
        "listenPort",
        "Port the sidecar listens on for traffic (proxy) or copies (mirror).",
        default=8480,
        **_PORT,
    )
    admin_port: int = prop(
        "adminPort",
        "Port of the sidecar's admin API (/v1/window, /v1/feedback, /metrics).",
        default=8481,
        **_PORT,
    )
    json: JsonPaths | None = prop(
        "json",
        "Field paths for protocol json (features and prediction required there).",
        default=None,
    )
    features: FeatureNamesSpec | None = prop(
        "features",
        "Names of the payload's columns as baseline features (by position or by name).",
        default=None,
    )
    classes: ClassNamesSpec | None = prop(
        "classes",
        "Class names for class-index predictions.",
        default=None,
    )
    prediction_output: str | None = prop(
        "predictionOutput",
        "Open Inference Protocol: the output tensor that holds the prediction, when a response "
        "has several (predict and predict_proba); default: the first. MLflow: the column of "
        "object or column predictions (a DataFrame the model returned); default: the only one.",
        default=None,
        min_length=1,
        max_length=253,
    )
    probabilities: ProbabilitiesSpec | None = prop(
        "probabilities",
        "Where responses carry class probabilities, for performance estimated without labels.",
        default=None,
    )
    prediction_reduce: PredictionReduce = prop(
        "predictionReduce",
        "How a per-row vector of scores becomes one prediction: argmax (the class index), first, "
        "or none (no prediction; the rows are kept).",
        default="argmax",
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.adminPort != self.listenPort",
            message="adminPort must differ from listenPort",
            check=lambda o: o.admin_port != o.listen_port,
            field_path=".adminPort",
        ),
        Rule(
            cel="self.protocol != 'json' || "
            "(has(self.json) && has(self.json.features) && has(self.json.prediction))",
            message="json.features and json.prediction are required when protocol is json",
            check=lambda o: (
                o.protocol != "json"
                or (
                    o.json is not None
                    and o.json.features is not None
                    and o.json.prediction is not None
                )
            ),
            field_path=".json",
            reason="FieldValueRequired",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class ConfigMapKeyRef:
    """A key in a ConfigMap of the monitor's namespace."""

    name: str = prop("name", "ConfigMap name.", **_SUBDOMAIN)
    key: str = prop(
        "key",
        "Key holding the baseline JSON.",
        default="baseline.json",
        pattern=CONFIG_KEY,
        max_length=253,
    )


@dataclass(frozen=True, kw_only=True)
class BaselineSpec:
    """``spec.baseline``: the profile of the training data (``kubedrift baseline build``)."""

    config_map_ref: ConfigMapKeyRef = prop(
        "configMapRef", "ConfigMap key that holds the baseline profile."
    )


@dataclass(frozen=True, kw_only=True)
class WindowSpec:
    """``spec.window``: how much recent traffic one evaluation compares with the baseline."""

    samples: int = prop(
        "samples",
        "Window size in samples; a full window rotates.",
        default=2000,
        minimum=10,
        maximum=1000000,
    )
    max_age: Duration = prop(
        "maxAge",
        "Oldest sample a window keeps; an older window rotates.",
        default=Duration("1h"),
        min_duration="1s",
    )
    min_samples: int = prop(
        "minSamples",
        "Fewest samples an evaluation judges; fewer means NoData.",
        default=100,
        minimum=1,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.minSamples <= self.samples",
            message="minSamples must not exceed samples",
            check=lambda o: o.min_samples <= o.samples,
            field_path=".minSamples",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class PredictionDriftSpec:
    """``spec.drift.prediction``: drift of the model's output distribution."""

    enabled: bool = prop("enabled", "Test the predictions for drift too.", default=True)
    method: DriftMethod | None = prop(
        "method", "Test for the predictions; default: drift.method.", default=None
    )
    threshold: float | None = prop(
        "threshold",
        "Threshold for the predictions; default: drift.threshold.",
        default=None,
        minimum=0,
        exclusive_minimum=True,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (_pvalue_threshold_rule(method_optional=True),)


@dataclass(frozen=True, kw_only=True)
class MultivariateDriftSpec:
    """``spec.drift.multivariate``: drift of the features' joint distribution."""

    enabled: bool = prop(
        "enabled",
        "Judge the PCA reconstruction error of the standardized numeric features (a change in "
        "how features relate that no per-feature test sees), when the baseline holds a PCA fit "
        "(built by default for two or more numeric features).",
        default=True,
    )


@dataclass(frozen=True, kw_only=True)
class EmbeddingDriftSpec:
    """``spec.drift.embeddings``: drift of wide inputs (embeddings) judged through a projection."""

    enabled: bool = prop(
        "enabled",
        "Judge each embedding block the baseline holds (an input tensor wider than "
        "`kubedrift baseline build --embedding-width`, 256 by default, or named with "
        "--embedding) through its principal-component scores, its norm and its reconstruction "
        "error, a few signals sharing the monitor's false-alarm budget instead of one test per "
        "value.",
        default=True,
    )
    min_width: int = prop(
        "minWidth",
        "Inputs wider than this many values are embedding blocks: the sidecar keeps list rows "
        "without names (KServe v1 `instances: [[...]]`, MLflow and Seldon list rows) wider "
        "than this as one block, named after the baseline's embedding block when it holds one, "
        "else `instances`, instead of one column per value. Build the baseline with the same "
        "`kubedrift baseline build --embedding-width` (default 256), which decides the blocks "
        "of the training data.",
        default=256,
        minimum=1,
        maximum=1000000,
    )


@dataclass(frozen=True, kw_only=True)
class DriftSpec:
    """``spec.drift``: per-feature tests and when the whole dataset counts as drifted."""

    method: DriftMethod = prop(
        "method", "Test per feature; auto picks by feature type and sample size.", default="auto"
    )
    threshold: float | None = prop(
        "threshold",
        "Significance level (ks, chi2) or distance (psi, jensenshannon, wasserstein, "
        "hellinger) at which a feature drifts; default: the method's own.",
        default=None,
        minimum=0,
        exclusive_minimum=True,
    )
    correction: Correction = prop(
        "correction", "Multiple-testing correction across features.", default="bonferroni"
    )
    drift_share: float = prop(
        "driftShare",
        "Share of drifted features at which the dataset drifts, in (0, 1].",
        default=0.5,
        minimum=0,
        exclusive_minimum=True,
        maximum=1,
    )
    warning_share: float | None = prop(
        "warningShare",
        "Share of drifted features for a warning; below driftShare.",
        default=None,
        minimum=0,
        exclusive_minimum=True,
        maximum=1,
    )
    min_effect: float | None = prop(
        "minEffect",
        "Effect-size floor: a p-value test calls drift only when the distance reaches it.",
        default=None,
        minimum=0,
    )
    prediction: PredictionDriftSpec = prop(
        "prediction", "Drift of the predictions.", default_factory=PredictionDriftSpec
    )
    multivariate: MultivariateDriftSpec = prop(
        "multivariate",
        "Multivariate drift: the features' joint distribution.",
        default_factory=MultivariateDriftSpec,
    )
    embeddings: EmbeddingDriftSpec = prop(
        "embeddings",
        "Embedding drift: wide inputs judged through a projection (docs/statistics.md).",
        default_factory=EmbeddingDriftSpec,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        _pvalue_threshold_rule(method_optional=False),
        Rule(
            cel="!has(self.warningShare) || self.warningShare < self.driftShare",
            message="warningShare must be below driftShare",
            check=lambda o: o.warning_share is None or o.warning_share < o.drift_share,
            field_path=".warningShare",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class FeatureSpec:
    """``spec.features[]``: settings for one feature, overriding the monitor's defaults."""

    name: str = prop(
        "name", "Feature (column) name as in the baseline.", min_length=1, max_length=253
    )
    type: FeatureType | None = prop(
        "type", "Force the feature type; default: as in the baseline.", default=None
    )
    method: DriftMethod | None = prop(
        "method", "Test for this feature; default: drift.method.", default=None
    )
    threshold: float | None = prop(
        "threshold",
        "Threshold for this feature; default: drift.threshold.",
        default=None,
        minimum=0,
        exclusive_minimum=True,
    )
    ignore: bool = prop("ignore", "Leave this feature out of drift testing.", default=False)

    RULES: ClassVar[tuple[Rule, ...]] = (_pvalue_threshold_rule(method_optional=True),)


@dataclass(frozen=True, kw_only=True)
class PerformanceSpec:
    """``spec.performance``: the metric computed from labels and when it counts as degraded."""

    metric: Metric = prop("metric", "Metric computed from labeled predictions.")
    threshold: float = prop(
        "threshold",
        "Degraded when the metric's confidence bound crosses this value (below it for "
        "accuracy, precision, recall, f1, f1-macro; above it for error-rate, mae, rmse, mape).",
        minimum=0,
    )
    min_labeled_samples: int = prop(
        "minLabeledSamples",
        "Fewest labels needed before judging performance.",
        default=200,
        minimum=1,
    )
    confidence: float = prop(
        "confidence", "Confidence level of the bound.", default=0.95, minimum=0.5, maximum=0.999
    )
    label_ttl: Duration = prop(
        "labelTTL",
        "How long a prediction waits for its label.",
        default=Duration("24h"),
        min_duration="1s",
    )
    positive_label: str | None = prop(
        "positiveLabel",
        "Positive class for binary precision, recall and f1.",
        default=None,
        max_length=253,
    )
    estimated: bool = prop(
        "estimated",
        "Also raise PerformanceDegraded (reason EstimatedErrorRateShift) on the error rate "
        "estimated without labels from calibrated class probabilities (capture.probabilities and "
        "a baseline built with --probabilities), under the same false-alarm contract.",
        default=False,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="!(self.metric in ['accuracy', 'error-rate', 'precision', 'recall', 'f1', "
            "'f1-macro']) || self.threshold <= 1.0",
            message="must be at most 1 for proportion metrics "
            "(accuracy, error-rate, precision, recall, f1, f1-macro)",
            check=lambda o: o.metric not in PROPORTION_METRICS or o.threshold <= 1,
            field_path=".threshold",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class EvaluationSpec:
    """``spec.evaluation``: how often the operator evaluates, and how rarely it may cry wolf."""

    interval: Duration = prop(
        "interval",
        "Time between evaluations; at least 5s.",
        default=Duration("30s"),
        min_duration="5s",
    )
    mean_time_between_false_alarms: Duration = prop(
        "meanTimeBetweenFalseAlarms",
        "The false-alarm contract: on traffic like the training data, alarms (drift, "
        "performance, data quality together) come at most once per this time on average, "
        "whatever the traffic rate, interval and number of features; at least 1h.",
        default=Duration("720h"),
        min_duration="1h",
    )


@dataclass(frozen=True, kw_only=True)
class RolloutSpec:
    """``spec.retraining.rollout``: how a successful retraining reaches the Deployment."""

    strategy: RolloutStrategy = prop(
        "strategy",
        "restart: set versionEnv on the target container (a rolling restart); none: leave it; "
        "shadow: run the candidate beside the serving model on a copy of the sampled requests "
        "and promote it (then as restart) only if the promotion gate finds it better on the "
        "same live labeled rows; canary: run the candidate next to the serving model on a share "
        "of the live traffic (candidateReplicas of all replicas behind the serving Service) and "
        "promote it only if its live accuracy is shown better, roll it back as soon as it is "
        "shown worse (docs/operator.md, Canary and shadow rollouts).",
        default="restart",
    )
    version_env: str = prop(
        "versionEnv",
        "Environment variable that carries the model version.",
        default="MODEL_VERSION",
        pattern=ENV_NAME,
        max_length=253,
    )
    candidate_replicas: int = prop(
        "candidateReplicas",
        "strategy shadow or canary: replicas of the candidate's Deployment. For a canary this "
        "sets the candidate's share of the traffic: candidateReplicas / (candidateReplicas + the "
        "serving Deployment's replicas), as the Service balances over all ready Pods.",
        default=1,
        minimum=1,
        maximum=100,
    )
    trial_timeout: Duration = prop(
        "trialTimeout",
        "strategy shadow or canary: longest a trial runs; a trial the gate could not decide by "
        "then ends as rejected (TrialTimedOut) and the serving model stays.",
        default=Duration("24h"),
        min_duration="1s",
    )
    max_trial_rows: int = prop(
        "maxTrialRows",
        "strategy canary: labeled rows per model after which a candidate not shown better is "
        "rejected (NotBetter); at least promotion.minHeldOut.",
        default=10000,
        minimum=1,
        maximum=10000000,
    )


@dataclass(frozen=True, kw_only=True)
class PromotionSpec:
    """``spec.retraining.promotion``: the gate a retrained model passes before it serves, and
    the watch after it does (see docs/operator.md, "Promotion gate")."""

    margin: float = prop(
        "margin",
        "Accuracy the candidate must gain over the serving model on the held-out rows "
        "(0: any gain the test can show).",
        default=0.0,
        minimum=0,
        maximum=1,
        exclusive_maximum=True,
    )
    confidence: float = prop(
        "confidence",
        "Confidence with which the gain must be shown (one-sided paired test).",
        default=0.95,
        minimum=0.5,
        maximum=0.999,
    )
    min_held_out: int = prop(
        "minHeldOut",
        "Fewest held-out labeled rows the Job must score; fewer is NotEnoughHeldOutLabels.",
        default=100,
        minimum=1,
    )
    watch_period: Duration = prop(
        "watchPeriod",
        "After a promotion, how long a model falling below its predecessor's level is rolled back.",
        default=Duration("1h"),
        min_duration="1s",
    )


@dataclass(frozen=True, kw_only=True)
class RetrainingSpec:
    """``spec.retraining``: when to run a retraining Job, which one, and how to roll it out."""

    triggers: tuple[Trigger, ...] = prop(
        "triggers",
        "Conditions that start a retraining Job.",
        default=(),
        list_type="set",
        max_items=2,
    )
    cooldown: Duration = prop(
        "cooldown", "Least time between two retraining Jobs.", default=Duration("1h")
    )
    template: Mapping[str, Any] | None = prop(
        "template",
        "batch/v1 JobTemplateSpec of the retraining Job (required when triggers are set).",
        default=None,
        raw_schema=job_template_schema(),
        raw_parse=parse_job_template,
        hashed=False,
    )
    rollout: RolloutSpec = prop(
        "rollout", "How the new model version is rolled out.", default_factory=RolloutSpec
    )
    service_account_name: str | None = prop(
        "serviceAccountName",
        "ServiceAccount the retraining Job runs as.",
        default=None,
        **_SUBDOMAIN,
    )
    promotion: PromotionSpec | None = prop(
        "promotion",
        "Promotion gate and rollback; omitted: a successful Job's model is rolled out as it is.",
        default=None,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="!has(self.triggers) || size(self.triggers) == 0 || has(self.template)",
            message="a Job template is required when triggers are set",
            check=lambda o: not o.triggers or o.template is not None,
            field_path=".template",
            reason="FieldValueRequired",
        ),
        Rule(
            cel="!has(self.promotion) || !has(self.rollout) || "
            "self.rollout.maxTrialRows >= self.promotion.minHeldOut",
            message="rollout.maxTrialRows must be at least promotion.minHeldOut",
            check=lambda o: (
                o.promotion is None or o.rollout.max_trial_rows >= o.promotion.min_held_out
            ),
            field_path=".rollout.maxTrialRows",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class SecretKeyRef:
    """A key in a Secret of the monitor's namespace."""

    name: str = prop("name", "Secret name.", **_SUBDOMAIN)
    key: str = prop(
        "key", "Key in the Secret.", default="token", pattern=CONFIG_KEY, max_length=253
    )


@dataclass(frozen=True, kw_only=True)
class WebhookSpec:
    """``spec.alerts.webhook``: a JSON POST on every alarm transition (a condition among
    DriftDetected, PerformanceDegraded and DataQualityDegraded turning True or False)."""

    url: str = prop("url", "http(s) URL to post to.", pattern=r"^https?://\S+$", max_length=2048)
    timeout: Duration = prop(
        "timeout",
        "Request timeout.",
        default=Duration("5s"),
        min_duration="100ms",
        max_duration="60s",
    )
    secret_ref: SecretKeyRef | None = prop(
        "secretRef", "Secret key sent as a bearer token (Authorization header).", default=None
    )
    warnings: bool = prop(
        "warnings",
        "Also post phase changes between Healthy and Warning (some features drifted, below "
        "driftShare); by default only alarm transitions are posted.",
        default=False,
    )


@dataclass(frozen=True, kw_only=True)
class AlertsSpec:
    """``spec.alerts``: where transitions are announced."""

    events: bool = prop("events", "Emit Kubernetes Events on transitions.", default=True)
    webhook: WebhookSpec | None = prop("webhook", "Optional webhook.", default=None)


#: Hard cap on a monitor's segments (``kubedrift.stats.segments.MAX_SEGMENTS``).
MAX_SEGMENTS = 20


@dataclass(frozen=True, kw_only=True)
class SegmentsSpec:
    """``spec.segments``: per-segment drift and performance for the values of one feature.

    The baseline profiles each segment's training rows on their own (``kubedrift baseline build
    --segment FEATURE``); the monitor judges its ``top`` most frequent values in training, or
    the listed ``values``, at most 20. Rows of other values are not segmented (they count in the
    monitor's own signals only).
    """

    feature: str = prop(
        "feature",
        "Categorical feature whose values are the segments; the baseline must profile its "
        "segments (kubedrift baseline build --segment).",
        min_length=1,
        max_length=253,
    )
    top: int | None = prop(
        "top",
        "Judge the N most frequent values in the baseline's training rows (default 5).",
        default=None,
        minimum=1,
        maximum=MAX_SEGMENTS,
    )
    values: tuple[str, ...] = prop(
        "values",
        "Judge exactly these values (each one a segment of the baseline; a value it holds no "
        "profile for is reported as noreference). Excludes top.",
        default=(),
        max_items=MAX_SEGMENTS,
        list_type="set",
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="!has(self.top) || !has(self.values) || size(self.values) == 0",
            message="set either segments.top or segments.values, not both",
            check=lambda o: o.top is None or not o.values,
            field_path=".values",
        ),
        Rule(
            cel="!has(self.values) || self.values.all(v, size(v) >= 1 && size(v) <= 253)",
            message="segments.values must be between 1 and 253 characters long",
            check=lambda o: all(1 <= len(v) <= 253 for v in o.values),
            field_path=".values",
        ),
    )

    @property
    def count(self) -> int:
        """``top`` with its default."""
        return self.top if self.top is not None else 5


@dataclass(frozen=True, kw_only=True)
class ModelMonitorSpec:
    """``spec`` of a ModelMonitor: watch one model Deployment for drift and degradation."""

    target: TargetSpec = prop(
        "target", "The model: a Deployment (or StatefulSet), or a KServe InferenceService."
    )
    capture: CaptureSpec = prop("capture", "How traffic is captured.", default_factory=CaptureSpec)
    baseline: BaselineSpec = prop("baseline", "The training-data profile to compare with.")
    window: WindowSpec = prop("window", "The window of recent traffic.", default_factory=WindowSpec)
    drift: DriftSpec = prop("drift", "Drift testing.", default_factory=DriftSpec)
    features: tuple[FeatureSpec, ...] = prop(
        "features",
        "Per-feature overrides, keyed by name.",
        default=(),
        list_type="map",
        list_map_keys=("name",),
        max_items=1000,
    )
    performance: PerformanceSpec | None = prop(
        "performance", "Performance against labels; omit when no labels arrive.", default=None
    )
    evaluation: EvaluationSpec = prop(
        "evaluation", "Evaluation schedule.", default_factory=EvaluationSpec
    )
    retraining: RetrainingSpec | None = prop(
        "retraining", "Closing the loop: retrain and roll out.", default=None
    )
    alerts: AlertsSpec = prop("alerts", "Events and webhook.", default_factory=AlertsSpec)
    segments: SegmentsSpec | None = prop(
        "segments",
        "Per-segment drift and performance: the values of one categorical feature, each judged "
        "against its own training rows (docs/statistics.md, Segments).",
        default=None,
    )

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="!has(self.target.port) || self.capture.listenPort != self.target.port",
            message="capture.listenPort must differ from target.port (the model's own port)",
            check=lambda o: o.capture.listen_port != o.target.port,
            field_path=".capture.listenPort",
        ),
        Rule(
            cel="!has(self.target.port) || self.capture.adminPort != self.target.port",
            message="capture.adminPort must differ from target.port (the model's own port)",
            check=lambda o: o.capture.admin_port != o.target.port,
            field_path=".capture.adminPort",
        ),
        Rule(
            cel="!has(self.retraining) || !has(self.retraining.triggers) || "
            "!('PerformanceDegraded' in self.retraining.triggers) || has(self.performance)",
            message="the PerformanceDegraded trigger needs spec.performance",
            check=lambda o: (
                o.retraining is None
                or "PerformanceDegraded" not in o.retraining.triggers
                or o.performance is not None
            ),
            field_path=".retraining.triggers",
        ),
        Rule(
            cel="!has(self.retraining) || !has(self.retraining.rollout) || "
            "!(self.retraining.rollout.strategy in ['shadow', 'canary']) || "
            "(has(self.target.deployment) && self.target.kind == 'Deployment')",
            message="rollout strategies shadow and canary need a Deployment target "
            "(target.deployment with kind Deployment)",
            check=lambda o: (
                o.retraining is None
                or o.retraining.rollout.strategy not in ("shadow", "canary")
                or (o.target.deployment is not None and o.target.kind == "Deployment")
            ),
            field_path=".retraining.rollout.strategy",
        ),
    )


def parse_spec(spec: Mapping[str, Any]) -> ModelMonitorSpec:
    """Validate a ModelMonitor ``spec`` mapping and return it typed, with defaults filled in.

    Raises :class:`SpecError` naming the first offending field (``spec.window.minSamples``).
    Checks exactly what the CRD schema and its CEL rules check, so a spec the API server accepted
    always parses.
    """
    return parse_object(ModelMonitorSpec, spec, "spec")
