"""The monitoring side of the sidecar: samples -> rows -> window, labels -> labeled window.

:class:`Monitor` is synchronous and does no I/O, so tests drive it directly; the sidecar's worker
task (``kubedrift.sidecar.worker``) calls :meth:`Monitor.process` with batches taken from the sample
queue. Every failure is counted (``kubedrift_unparsable_total{reason}`` for payloads the parsers
reject, ``kubedrift_monitor_errors_total{stage}`` for anything else) and logged without payload
values; it never propagates to the request path.

Request ids, in order of preference (the first one present is the label key, all are stored):
``Ce-Id`` header, the body's id (OIP ``id``, Seldon ``meta.puid``, the configured JSON path),
``X-Request-ID`` (from the request, else the response), the id the proxy generated.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubedrift.payloads import Parsed, ParseError, ParseOptions, Value, parse_exchange
from kubedrift.payloads.model import ColumnLayout, RowMajorColumns
from kubedrift.payloads.probabilities import ProbabilitySource
from kubedrift.payloads.probabilities import extract as extract_probabilities
from kubedrift.sidecar.batching import label_array, prediction_array, to_columns
from kubedrift.sidecar.label_store import LabelStore
from kubedrift.sidecar.models import ModelRouting
from kubedrift.sidecar.sampling import Sample
from kubedrift.sidecar.sidecar_metrics import Metrics
from kubedrift.sidecar.windows import WindowKeeper
from kubedrift.stats.baseline import Baseline
from kubedrift.stats.evaluation import evaluate
from kubedrift.stats.settings import EvaluationSettings
from kubedrift.wire import feedback_id

logger = logging.getLogger(__name__)


def request_ids(sample: Sample, parsed: Parsed) -> list[str]:
    """The exchange's ids, most preferred first, without repeats."""
    found = [sample.ce_id, parsed.request_id, sample.x_request_id, sample.generated_id]
    ids: list[str] = []
    for candidate in found:
        if candidate and candidate not in ids:
            ids.append(candidate)
    return ids


class Monitor:
    """Parses samples into the window, stores predictions for labels, and joins feedback."""

    def __init__(
        self,
        baseline: Baseline,
        windows: WindowKeeper,
        labels: LabelStore,
        metrics: Metrics,
        *,
        protocol: str = "auto",
        options: ParseOptions | None = None,
        parse: Callable[..., Parsed] = parse_exchange,
        model: str | None = None,
        probabilities: ProbabilitySource | None = None,
    ) -> None:
        self.baseline = baseline
        #: ``spec.capture.probabilities`` (read only when the baseline has calibration maps).
        self.probabilities = probabilities if baseline.calibration is not None else None
        self.windows = windows
        self.labels = labels
        self.metrics = metrics
        self.protocol = protocol
        self.options = options or ParseOptions()
        # parse_exchange; tests inject faults (kubedrift.sidecar.sidecar_faults)
        self._parse = parse
        self._rotations = windows.rotations
        #: ``spec.target.model``: only its exchanges feed the window (None: every exchange).
        self.model = model
        self.routing = ModelRouting(model)
        #: The ``model`` label of this monitor's metrics (empty: every model on the port).
        self.label = model or ""
        metrics.model_info.labels(model=self.label).set(1)
        for family in (metrics.rows, metrics.rotations, metrics.schema_mismatch,
                       metrics.window_samples, metrics.window_labeled):  # fmt: skip
            family.labels(model=self.label)  # exposed (as 0) from the start
        #: Parsed exchanges none of whose columns is a baseline feature (since the start).
        self.schema_mismatches = 0
        self._features = frozenset(baseline.feature_names).union(
            f"{b.name}-{j}" for b in baseline.embeddings for j in range(b.width)
        )
        # layout -> whether any of its names is a feature; layouts are shared per shape
        self._layouts_matching: weakref.WeakKeyDictionary[ColumnLayout, bool] = (
            weakref.WeakKeyDictionary()
        )

    def parse(self, sample: Sample, *, routed: bool = False) -> Parsed | None:
        """One sample's rows, or ``None`` (counted by reason; :meth:`parse_many` counts the
        parsed exchanges, once per batch). Another model's exchange is ``None`` without a
        reason: it is counted by model only (:class:`~kubedrift.sidecar.models.ModelRouting`).
        ``routed``: a shared sidecar's group already chose this monitor for the sample."""
        if not routed and not self.routing.route(sample.path):
            return None
        if not 200 <= sample.status < 300:
            self.metrics.unparsable.labels(reason="status").inc()
            return None
        if sample.truncated:
            self.metrics.unparsable.labels(reason="truncated").inc()
            return None
        try:
            parsed = self._parse(
                self.protocol,
                sample.request_body,
                sample.response_body,
                self.options,
                request_header_length=sample.request_header_length,
                response_header_length=sample.response_header_length,
            )
        except ParseError as error:
            self.metrics.unparsable.labels(reason=error.reason).inc()
            return None
        except Exception:
            self.metrics.unparsable.labels(reason="internal").inc()
            logger.exception("payload parser failed on a %s exchange", self.protocol)
            return None
        if self.probabilities is not None:
            body = sample.response_body
            length = sample.response_header_length
            if length is not None and length.strip().isdigit():  # JSON part of a binary body
                body = body[: int(length)]
            found = extract_probabilities(self.probabilities, body, parsed.rows)
            parsed = parsed._replace(probabilities=found)
        return parsed

    def process(self, samples: Sequence[Sample], now: float) -> int:
        """Add a batch of samples to the window; returns the number of rows added."""
        return self.add(self.parse_many(samples), now)

    def parse_many(
        self, samples: Sequence[Sample], *, routed: bool = False
    ) -> list[tuple[list[str], Parsed]]:
        """Parse samples; each parsed exchange comes with its request ids (``routed``: see
        :meth:`parse`; the group counts the exchanges by model then)."""
        batch: list[tuple[list[str], Parsed]] = []
        protocols: dict[str, int] = {}
        mismatches = 0
        for sample in samples:
            parsed = self.parse(sample, routed=routed)
            if parsed is not None:
                batch.append((request_ids(sample, parsed), parsed))
                protocols[parsed.protocol] = protocols.get(parsed.protocol, 0) + 1
                if not self._matches_baseline(parsed.columns):
                    mismatches += 1
        if mismatches:
            self.schema_mismatches += mismatches
            self.metrics.schema_mismatch.labels(model=self.label).inc(mismatches)
        for protocol, count in protocols.items():  # one counter update per protocol and batch
            self.metrics.exchanges.labels(protocol=protocol).inc(count)
        for (model, monitored), count in self.routing.take_counts().items():
            self.metrics.model_exchanges.labels(model=model, monitored=monitored).inc(count)
        return batch

    def _matches_baseline(self, columns: Mapping[str, Any]) -> bool:
        """Whether any column is a baseline feature (once per layout for row-major blocks)."""
        if isinstance(columns, RowMajorColumns):
            layout = columns.layout
            known = self._layouts_matching.get(layout)
            if known is None:
                known = not self._features.isdisjoint(layout.names)
                self._layouts_matching[layout] = known
            return known
        return not self._features.isdisjoint(columns)

    def add(self, batch: Sequence[tuple[list[str], Parsed]], now: float) -> int:
        """Add parsed exchanges to the window in one update and keep their predictions for
        labels; returns the number of rows."""
        if not batch:
            self._refresh(now)
            return 0
        size = sum(parsed.rows for _, parsed in batch)
        try:
            columns = to_columns(self.baseline, (parsed.columns for _, parsed in batch), size)
            predictions: list[Value] = []
            for _, parsed in batch:
                predictions.extend(parsed.predictions or [None] * parsed.rows)
            self.windows.update(
                columns,
                prediction_array(self.baseline, predictions),
                now,
                unknown=self._unknown(batch),
                probabilities=self._probabilities(batch),
            )
        except Exception:
            self.metrics.monitor_errors.labels(stage="window_update").inc()
            logger.exception("updating the window with %d rows failed", size)
            return 0
        offset = 0
        for ids, parsed in batch:
            if ids and parsed.predictions is not None:
                self.labels.put(ids, columns, parsed.predictions, now, offset)
            offset += parsed.rows
        self.metrics.rows.labels(model=self.label).inc(size)
        self._refresh(now)
        return size

    def _probabilities(self, batch: Sequence[tuple[list[str], Parsed]]) -> list[list[float]]:
        """The batch's class probabilities, rows of exchanges that carried them (one width)."""
        rows: list[list[float]] = []
        for _, parsed in batch:
            if parsed.probabilities and (not rows or len(parsed.probabilities[0]) == len(rows[0])):
                rows.extend(parsed.probabilities)
        return rows

    def _unknown(self, batch: Sequence[tuple[list[str], Parsed]]) -> tuple[int, list[str]]:
        """Rows of the batch that carried columns the baseline does not know, and their names."""
        known = self.windows.known_names
        rows = 0
        names: list[str] = []
        for _, parsed in batch:
            columns = parsed.columns
            if known.issuperset(columns):
                continue
            rows += parsed.rows
            names.extend(name for name in columns if name not in known and name not in names)
        return rows, names

    def feedback(
        self, items: Sequence[Mapping[str, Any]], now: float, *, fanout: bool = False
    ) -> dict[str, Any]:
        """Join ``[{"id", "label"}, ...]``; returns counts per outcome and the ids not joined.

        ``fanout``: the operator sent the labels to every replica, so ``unknown`` is answered
        but not counted in ``kubedrift_labels_total`` (the replica that served the id joins it).
        """
        counts = {"joined": 0, "unknown": 0, "expired": 0, "duplicate": 0, "invalid": 0}
        rejected: list[dict[str, str]] = []
        joined_predictions: list[Value] = []
        joined_labels: list[Value] = []
        joined_rows: list[Mapping[str, Sequence[Any]]] = []
        for item in items:
            request_id = feedback_id(item)
            if request_id is None:
                outcome, joined = "invalid", None
                request_id = str(item.get("id") if isinstance(item, Mapping) else None)
            else:
                outcome, joined = self.labels.join(request_id, item["label"], now)
            counts[outcome] += 1
            if not (fanout and outcome == "unknown"):
                self.metrics.labels.labels(outcome=outcome).inc()
            if joined is None:
                rejected.append({"id": request_id, "outcome": outcome})
                continue
            joined_predictions.extend(joined.predictions)
            joined_labels.extend(joined.labels)
            joined_rows.append(joined.rows)
        if joined_labels:
            try:
                rows = to_columns(self.baseline, joined_rows, len(joined_labels))
                self.windows.add_labeled(
                    label_array(self.baseline, joined_predictions),
                    label_array(self.baseline, joined_labels),
                    rows,
                    now,
                )
            except Exception:
                self.metrics.monitor_errors.labels(stage="labels").inc()
                logger.exception("adding %d labeled rows failed", len(joined_labels))
        self._refresh(now)
        return {**counts, "rejected": rejected}

    def score(self, now: float) -> None:
        """Publish the local window's per-feature drift scores (a hint; the operator decides)."""
        window = self.windows.current
        try:
            evaluation = evaluate(self.baseline, window, EvaluationSettings(window=window.settings))
        except Exception:
            self.metrics.monitor_errors.labels(stage="score").inc()
            logger.exception("scoring the local window failed")
            return
        for result in evaluation.features:
            labels = {"model": self.label, "feature": result.name}
            self.metrics.drift_score.labels(**labels).set(result.statistic)
            self.metrics.drifted.labels(**labels).set(1.0 if result.drifted else 0.0)

    def _refresh(self, now: float) -> None:
        self.windows.rotate(now)
        if self.windows.rotations != self._rotations:
            self.metrics.rotations.labels(model=self.label).inc(
                self.windows.rotations - self._rotations
            )
            self._rotations = self.windows.rotations
        self.metrics.window_samples.labels(model=self.label).set(self.windows.current.samples)
        self.metrics.window_labeled.labels(model=self.label).set(self.windows.current.labeled)
        self.metrics.label_store_entries.set(len(self.labels))
