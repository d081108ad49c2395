"""What every window over one baseline sets up the same way, computed once and shared.

A :class:`~kubedrift.stats.window.Window` needs, besides its counters, a layout derived from the
baseline alone: which columns are numeric, the edge table its binning searches, index arrays.
Building it costs about as much as ingesting a few hundred rows, and the sidecar opens a new
window every ``WindowSettings.samples`` rows, so whoever creates many windows over one baseline
(the sidecar's window keeper, ``Window.merge``) builds one :class:`WindowPlan` and passes it to
each window. The plan is immutable (its arrays are read-only), so sharing it between windows,
even a completed window still being read, cannot leak data from one to another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kubedrift.stats.baseline import Baseline, FeatureProfile
from kubedrift.stats.binning import FloatArray, IntArray, SearchTables


@dataclass(frozen=True)
class WindowPlan:
    """The per-baseline layout of a window; build it with :meth:`for_baseline`."""

    baseline: Baseline
    #: Every tracked column in order: the features, the derived columns (``Baseline.derived``:
    #: the multivariate reconstruction error, the embedding blocks' projections), the
    #: prediction (when profiled) last.
    profiles: tuple[FeatureProfile, ...]
    #: Positions in :attr:`profiles` of the numeric and of the categorical columns.
    numeric: tuple[int, ...]
    categorical: tuple[int, ...]
    feature_names: tuple[str, ...]
    #: The names a batch may carry without counting as unknown: the features, the embedding
    #: blocks and the prediction.
    known_names: frozenset[str]
    #: Bins of the widest column: the width of a window's count matrix.
    widest: int
    #: One row per numeric column: [just below the reference minimum, the inner edges..., the
    #: reference maximum], padded with +inf (see ``binning.EdgeCounter``).
    edges: FloatArray
    #: Edge position of each numeric column's maximum.
    last_position: IntArray
    #: 1 at the edge positions that open a bin of the column (all but the maximum's).
    opens_bin: IntArray
    #: ``arange`` over the numeric columns (row index of :attr:`edges`).
    numeric_rows: IntArray
    #: Where the numeric columns sit in the per-column arrays: a slice when they are contiguous
    #: (the usual case), as basic indexing costs less than fancy indexing.
    numeric_index: slice | IntArray
    #: The binning's search tables per batch layout, built on first use and shared by the
    #: windows' counters (read-only tables; see ``binning.SearchTables``).
    search_tables: SearchTables

    @classmethod
    def for_baseline(cls, baseline: Baseline) -> WindowPlan:
        profiles = [*baseline.features, *baseline.derived]
        if baseline.prediction is not None:
            profiles.append(baseline.prediction)
        derived = {id(p) for p in baseline.derived}
        numeric_positions = [i for i, p in enumerate(profiles) if p.type == "numeric"]
        numeric = [profiles[i] for i in numeric_positions]
        width = len(numeric)
        edge_counts = np.array([len(p.edges) for p in numeric], dtype=np.int64)
        edge_width = int(edge_counts.max(initial=0)) + 2
        # Plain Python per column, one conversion at the end.
        edge_rows = [
            [
                -math.inf if p.minimum is None else math.nextafter(p.minimum, -math.inf),
                *p.edges,
                math.inf if p.minimum is None or p.maximum is None else p.maximum,
                *[math.inf] * (edge_width - 2 - len(p.edges)),
            ]
            for p in numeric
        ]
        contiguous = bool(numeric_positions) and (
            numeric_positions[-1] - numeric_positions[0] == width - 1
        )
        edges = np.array(edge_rows, dtype=np.float64).reshape(width, edge_width)
        edges.flags.writeable = False
        plan = cls(
            baseline=baseline,
            profiles=tuple(profiles),
            numeric=tuple(numeric_positions),
            categorical=tuple(i for i, p in enumerate(profiles) if p.type == "categorical"),
            feature_names=tuple(p.name for p in baseline.features),
            known_names=frozenset(p.name for p in profiles if id(p) not in derived)
            | {block.name for block in baseline.embeddings}
            | {f"{b.name}-{j}" for b in baseline.embeddings for j in range(b.width)},
            widest=max((len(p.counts) for p in profiles), default=1),
            edges=edges,
            last_position=edge_counts + 1,
            opens_bin=(np.arange(edge_width) <= edge_counts[:, None]).astype(np.int64),
            numeric_rows=np.arange(width),
            numeric_index=(
                slice(numeric_positions[0], numeric_positions[-1] + 1)
                if contiguous
                else np.array(numeric_positions, dtype=np.int64)
            ),
            search_tables=SearchTables(edges),
        )
        for array in (plan.last_position, plan.opens_bin, plan.numeric_rows):
            array.flags.writeable = False
        if isinstance(plan.numeric_index, np.ndarray):
            plan.numeric_index.flags.writeable = False
        return plan


#: Plans of the baselines used last, by identity (a plan holds its baseline, so an id is not
#: reused while its plan is kept), for :func:`shared_plan`.
_PLANS: dict[int, WindowPlan] = {}
#: Plans kept: a monitor's and its segments' (at most 21) for some dozens of monitors.
PLANS_KEPT = 1024


def shared_plan(baseline: Baseline) -> WindowPlan:
    """The plan of ``baseline``, built once for as long as the same object is used: the
    operator rebuilds every sidecar's windows from their reports every round, over the
    baseline objects it keeps between rounds. The oldest plans are dropped beyond
    :data:`PLANS_KEPT` (then built again when needed)."""
    plan = _PLANS.get(id(baseline))
    if plan is None or plan.baseline is not baseline:
        plan = WindowPlan.for_baseline(baseline)
        _PLANS[id(baseline)] = plan
        while len(_PLANS) > PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]
    return plan
