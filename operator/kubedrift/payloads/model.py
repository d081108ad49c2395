"""What goes into a parser (an exchange) and what comes out (rows, predictions, an id).

Values stay plain Python (``float``, ``int``, ``bool``, ``str`` or ``None``) so that parsers have
no numpy dependency and tests can compare them exactly; the sidecar turns a batch of parsed
exchanges into arrays for the window in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, NamedTuple

#: The protocols a sidecar can be configured with (``auto`` detects one per exchange).
ProtocolName = Literal["open-inference-v2", "kserve-v1", "seldon-v1", "mlflow", "json"]
PROTOCOLS: tuple[str, ...] = (
    "auto",
    "open-inference-v2",
    "kserve-v1",
    "seldon-v1",
    "mlflow",
    "json",
)

#: A scalar cell of a row.
Value = float | int | bool | str | None


@dataclass(frozen=True)
class JsonPaths:
    """Where the plain-JSON parser finds things: dotted paths rooted at ``request`` or ``response``.

    ``features`` points at one row (an object), a list of rows (objects or lists), or an object of
    columns (name -> list). ``prediction`` at a scalar or a list of scalars. ``id`` at a string or a
    number. Path segments are object keys or list indices: ``request.payload.rows``,
    ``response.result.0.score``.
    """

    features: str = "request"
    prediction: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Naming:
    """How payload names map to the baseline's (``kubedrift.payloads.naming``); empty: unchanged."""

    positions: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()
    classes: tuple[Value, ...] = ()
    # Hashed once: the parsers' caches are keyed by the options that hold this (a hundred
    # feature names took a microsecond to hash, several times per exchange).
    _hash: int = field(default=0, init=False, repr=False, compare=False)
    _set: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.positions, self.renames, self.classes)))
        object.__setattr__(self, "_set", bool(self.positions or self.renames or self.classes))

    def __hash__(self) -> int:
        return self._hash

    def __bool__(self) -> bool:
        return self._set


#: List rows wider than this many values are one embedding block by default (as
#: ``kubedrift.stats.embedding.DEFAULT_MIN_WIDTH``; ``spec.drift.embeddings.minWidth``).
DEFAULT_EMBEDDING_WIDTH = 256
#: The name of the block list rows without names form when no baseline block names it.
POSITIONAL_BLOCK = "instances"


@dataclass(frozen=True)
class ParseOptions:
    """How to read payloads that do not name their columns, and which output is the prediction.

    ``feature_names`` names positional columns (KServe v1 ``instances`` rows, Seldon ``ndarray``
    without ``names``, MLflow ``instances``); without it positional columns are named ``"0"``,
    ``"1"``, ... . ``prediction_output`` picks the OIP output tensor (default: the first).
    ``prediction_reduce`` turns a per-row vector of scores into one prediction: ``argmax`` (class
    index, or the Seldon ``names`` entry when there is one), ``first``, or ``none`` (such
    predictions are dropped, the rows are kept). ``naming`` renames the parsed columns to the
    baseline's features and maps class indices to names (``kubedrift.payloads.naming``).
    """

    feature_names: tuple[str, ...] = ()
    prediction_output: str | None = None
    prediction_reduce: Literal["none", "argmax", "first"] = "argmax"
    json_paths: JsonPaths = field(default_factory=JsonPaths)
    naming: Naming = field(default_factory=Naming)
    #: List rows wider than this (and no ``feature_names`` or ``naming.positions``) are one
    #: ``[n, d]`` block named ``positional_block``, an embedding (``kubedrift.stats.embedding``),
    #: not ``d`` positional columns.
    embedding_width: int = DEFAULT_EMBEDDING_WIDTH
    positional_block: str = POSITIONAL_BLOCK


@dataclass(frozen=True, eq=False)
class ColumnLayout:
    """The column names of a row-major block and each one's position; made once per shape (see
    :func:`column_layout`), so blocks of the same shape share one layout object."""

    names: tuple[str, ...]
    positions: Mapping[str, int]
    #: The tensor (or field) whose ``[n, d]`` values the block holds, named ``<tensor>-0 ..``;
    #: ``None`` for positional rows. A baseline's embedding block of that name takes the block
    #: as one ``n x d`` array (``kubedrift.stats.embedding``).
    tensor: str | None = None


@lru_cache(maxsize=256)
def column_layout(names: tuple[str, ...]) -> ColumnLayout:
    """The shared layout of ``names`` (a tensor's ``<name>-0 ..``, positional names of rows)."""
    return ColumnLayout(names, {name: index for index, name in enumerate(names)})


@lru_cache(maxsize=256)
def tensor_layout(name: str, width: int) -> ColumnLayout:
    """``<name>-0 .. <name>-(width-1)`` of tensor ``name``, made once per tensor shape rather
    than per request (the monitor parses thousands of requests a second with the same tensors)."""
    names = tuple(f"{name}-{j}" for j in range(width))
    return ColumnLayout(names, {column: j for j, column in enumerate(names)}, name)


class RowMajorColumns(Mapping[str, list[Value]]):
    """Columns as the row-major block they arrived in (an ``[n, d]`` tensor, rows given as lists).

    A column is sliced out only when asked for; the sidecar turns a batch of blocks with one layout
    into arrays with one conversion instead of ``d`` lists per exchange (``kubedrift.sidecar``'s
    ``to_columns``). It compares equal to the dict of its columns.

    >>> block = RowMajorColumns(column_layout(("a", "b")), [1, 2, 3, 4])
    >>> block["b"], block == {"a": [1, 3], "b": [2, 4]}
    ([2, 4], True)
    """

    __slots__ = ("cells", "layout", "width")

    def __init__(self, layout: ColumnLayout, cells: list[Value]) -> None:
        if not layout.names or len(cells) % len(layout.names):
            raise ValueError("a row-major block needs a whole number of rows")
        self.layout = layout
        self.cells = cells  # row after row
        self.width = len(layout.names)

    @property
    def rows(self) -> int:
        return len(self.cells) // self.width

    def __getitem__(self, name: str) -> list[Value]:
        return self.cells[self.layout.positions[name] :: self.width]

    def __contains__(self, name: object) -> bool:
        return name in self.layout.positions

    def __iter__(self) -> Iterator[str]:
        return iter(self.layout.names)

    def __len__(self) -> int:
        return self.width

    def __repr__(self) -> str:
        return repr(dict(self))


class BlockedColumns(Mapping[str, list[Value]]):
    """Scalar columns next to whole ``[n, d]`` blocks (tensors, list-valued fields), each block
    kept as the one :class:`RowMajorColumns` it arrived as: a 768-wide embedding is one list of
    cells, not 768 lists. As a mapping it holds every column (a block's sliced when asked for)
    and compares equal to the dict of them.

    >>> block = RowMajorColumns(tensor_layout("e", 2), [1, 2, 3, 4])
    >>> both = BlockedColumns({"age": [30, 40]}, (block,))
    >>> both["e-1"], both.blocks[0].layout.tensor
    ([2, 4], 'e')
    >>> both == {"age": [30, 40], "e-0": [1, 3], "e-1": [2, 4]}
    True
    """

    __slots__ = ("blocks", "plain")

    def __init__(self, plain: Mapping[str, list[Value]], blocks: tuple[RowMajorColumns, ...]):
        self.plain = plain
        self.blocks = blocks

    def __getitem__(self, name: str) -> list[Value]:
        found = self.plain.get(name)
        if found is not None:
            return found
        for block in self.blocks:
            if name in block:
                return block[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self.plain
        for block in self.blocks:
            yield from (name for name in block.layout.names if name not in self.plain)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


def blocks_in(columns: Mapping[str, list[Value]]) -> tuple[RowMajorColumns, ...]:
    """The tensor blocks ``columns`` holds as blocks (see :class:`BlockedColumns`)."""
    if isinstance(columns, BlockedColumns):
        return columns.blocks
    if isinstance(columns, RowMajorColumns) and columns.layout.tensor is not None:
        return (columns,)
    return ()


class Parsed(NamedTuple):
    """Rows extracted from one request/response pair (a named tuple: the monitor makes a thousand
    a second at full sampling, and a frozen dataclass takes three times as long to make).

    ``columns`` maps a column name to its ``rows`` values. ``predictions`` has ``rows`` entries, or
    is ``None`` when the response carried none the parser could use. ``request_id`` is the id the
    body itself carries (OIP ``id``, Seldon ``meta.puid``, the configured JSON path); header ids are
    the sidecar's business.
    """

    protocol: ProtocolName
    columns: Mapping[str, list[Value]]
    predictions: list[Value] | None
    rows: int
    request_id: str | None = None
    #: The response's class probabilities, ``[rows, k]`` (``payloads.probabilities``), when
    #: ``spec.capture.probabilities`` is set and the response carries them; else ``None``.
    probabilities: list[list[float]] | None = None
