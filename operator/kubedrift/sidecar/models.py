"""One monitor per model: which sampled exchanges feed the window, and counts by model.

A server may host several models on one port. With ``model`` set (``spec.target.model``), the
monitor parses only the exchanges of that model; the others were forwarded untouched like every
request and are counted here, never parsed into the window. Every sampled exchange is counted
in ``kubedrift_model_exchanges_total{model, monitored}`` by the model its path names
(:func:`~kubedrift.payloads.routes.model_in_path`). Model names come from request paths, so the
label set is bounded: the first :data:`MAX_MODEL_LABELS` names seen keep their own label, later
ones are counted as ``other``; a path that names no model is counted as ``none``.

>>> routing = ModelRouting("iris")
>>> routing.route("/v2/models/iris/infer"), routing.route("/v2/models/wine/infer")
(True, False)
>>> sorted(routing.take_counts().items())
[(('iris', 'true'), 1), (('wine', 'false'), 1)]

A sidecar shared by several monitors (one per model) routes with one :class:`ModelRouting` of
all their models: :meth:`ModelRouting.pick` names the model whose window an exchange feeds, and
every exchange is counted once.

>>> shared = ModelRouting("iris", others=("wine",))
>>> shared.pick("/v2/models/wine/infer"), shared.pick("/v2/models/rose/infer")
(1, None)

An exchange with no path (a KServe logger CloudEvent whose response names no model) is the
model's of a monitor alone, and nobody's in a shared sidecar: it cannot be told apart.

>>> ModelRouting("iris").pick(""), shared.pick("")
(0, None)
"""

from __future__ import annotations

from kubedrift.payloads.routes import ModelSelector, model_in_path

#: Distinct model names that get a label of their own (the monitored model always does).
MAX_MODEL_LABELS = 20
OTHER = "other"
#: Paths whose decision is remembered (the cache starts over when full).
_PATH_CACHE = 1024
NONE = "none"


class ModelRouting:
    """Decides per sampled exchange whether it is the monitored model's, and counts by model.

    ``model`` is ``spec.target.model`` (a name, or a path pattern starting with ``/``), or
    ``None``: every exchange is the monitor's (one model per server), and still counted by the
    model its path names. Counts accumulate until :meth:`take_counts` (the monitor adds them to
    the counter once per batch).
    """

    def __init__(
        self,
        model: str | None,
        max_labels: int = MAX_MODEL_LABELS,
        *,
        others: tuple[str, ...] = (),
    ) -> None:
        """``others``: the further models of a shared sidecar (``model`` is then set too)."""
        self.model = model
        #: Every monitored model, in the order :meth:`pick` numbers them.
        self.models: tuple[str | None, ...] = (model, *others)
        self._selectors = tuple(ModelSelector(m) if m is not None else None for m in self.models)
        self._max_labels = max_labels
        self._labels: set[str] = set()
        self._counts: dict[tuple[str, str], int] = {}
        # path -> (index of the model admitting it, model name): a server uses a handful of paths
        self._paths: dict[str, tuple[int | None, str | None]] = {}

    def route(self, path: str) -> bool:
        """Whether the exchange on ``path`` feeds a monitored window (and count it)."""
        return self.pick(path) is not None

    def pick(self, path: str) -> int | None:
        """The index (in :attr:`models`) of the model whose window the exchange on ``path``
        feeds, ``None`` for nobody's; the exchange is counted either way."""
        known = self._paths.get(path)
        if known is None:
            if len(self._paths) >= _PATH_CACHE:
                self._paths.clear()
            chosen = next(
                (
                    index
                    for index, selector in enumerate(self._selectors)
                    if selector is None or selector.admits(path)
                ),
                None,
            )
            if not path and len(self.models) > 1:
                chosen = None
            known = self._paths[path] = (chosen, model_in_path(path))
        chosen, name = known
        admitted = chosen is not None
        picked = self.models[chosen] if chosen is not None else None
        if name is None:
            label = picked if picked is not None else NONE
        elif name in self.models or name in self._labels:
            label = name
        elif len(self._labels) < self._max_labels:
            self._labels.add(name)
            label = name
        else:
            label = OTHER
        key = (label, "true" if admitted else "false")
        self._counts[key] = self._counts.get(key, 0) + 1
        return chosen

    def take_counts(self) -> dict[tuple[str, str], int]:
        """Exchanges counted since the last call, by (model label, monitored)."""
        counts, self._counts = self._counts, {}
        return counts
