"""What crosses the wire between the operator and the sidecars: paths, headers, limits, outcomes.

Both sides import this module and nothing else of each other (an import-linter contract keeps
the controller and the sidecar independent), so a path or a limit cannot drift apart.

The sidecar's admin port serves:

- ``POST /v1/feedback`` (:data:`FEEDBACK_PATH`): ``{"id", "label"}`` or a list of at most
  :data:`MAX_FEEDBACK_ITEMS` of them; the answer counts each :data:`Outcome`. The operator's
  fan-out sets :data:`FANOUT_HEADER` to ``1``.
- ``GET /v1/window`` (:data:`WINDOW_PATH`): the window report the operator merges per round;
  with ``?labeledRows=false`` (:data:`WINDOW_ROWS_PARAMETER`) without the windows' labeled-row
  samples, which the operator's rounds never read (retraining data comes from ``/v1/labeled``)
  and which are most of the report once labels arrive (up to ``labeled_capacity`` rows of every
  feature per window).
- ``GET /v1/labeled`` (:data:`LABELED_PATH`): the bounded labeled sample, for retraining data.
- ``PUT /v1/shadow`` (:data:`SHADOW_PATH`): ``{"url": "http://host:port"}`` or ``{"url": null}``:
  where the proxy copies sampled requests from now on (a shadow trial), without a restart.

The operator's HTTP port serves ``POST /v1/feedback/{namespace}/{name}``
(:data:`OPERATOR_FEEDBACK_ROUTE`, the fan-out) and ``GET /v1/datasets/{namespace}/{name}``
(:data:`OPERATOR_DATASET_ROUTE`).

>>> feedback_id({"id": 7, "label": 1}), feedback_id({"id": True, "label": 1})
('7', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

FEEDBACK_PATH = "/v1/feedback"
WINDOW_PATH = "/v1/window"
LABELED_PATH = "/v1/labeled"
SHADOW_PATH = "/v1/shadow"
#: Query parameter of :data:`WINDOW_PATH`: ``false`` leaves the labeled-row samples out.
WINDOW_ROWS_PARAMETER = "labeledRows"
OPERATOR_FEEDBACK_ROUTE = "/v1/feedback/{namespace}/{name}"
OPERATOR_DATASET_ROUTE = "/v1/datasets/{namespace}/{name}"

#: What became of one label, as both the sidecar and the operator's fan-out count it.
Outcome = Literal["joined", "unknown", "expired", "duplicate", "invalid"]
OUTCOMES: tuple[Outcome, ...] = ("joined", "unknown", "expired", "duplicate", "invalid")
#: Labels accepted in one feedback call (the sidecar's and the operator's ``/v1/feedback``).
MAX_FEEDBACK_ITEMS = 10_000
#: Request header of the operator's fan-out: the label went to every replica, so a replica
#: that does not know the id does not count it as ``unknown`` (another one may join it).
FANOUT_HEADER = "X-Kubedrift-Fanout"


def feedback_id(item: object) -> str | None:
    """The id of one feedback item as the label store keys it; ``None`` when the item is
    invalid (not an object, no string or integer ``id``, or no ``label``)."""
    if not isinstance(item, Mapping) or "label" not in item:
        return None
    request_id = item.get("id")
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        return None
    return str(request_id)
