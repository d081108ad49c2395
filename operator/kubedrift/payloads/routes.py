"""Which model an exchange is for, read from its request path.

Servers that host several models on one port name the model in the path: the Open Inference
Protocol as ``/v2/models/{name}[/versions/{version}]/infer``, KServe v1 as
``/v1/models/{name}:predict``. :func:`model_in_path` reads that name; :class:`ModelSelector` says
whether an exchange belongs to the one model a monitor watches (``spec.target.model``). A
selector that starts with ``/`` is a path pattern instead (``fnmatch`` rules: ``*``, ``?``,
``[...]``), for plain JSON and other servers whose paths name no model the OIP way.

>>> model_in_path("/v2/models/iris/versions/2/infer"), model_in_path("/v1/models/iris:predict")
('iris', 'iris')
>>> ModelSelector("iris").admits("/v2/models/wine/infer")
False
>>> ModelSelector("/score/fraud*").admits("/score/fraud-v2?debug=1")
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import unquote

_OIP = re.compile(r"^/v2/models/([^/?#]+)(?:/versions/[^/?#]+)?/infer/?(?:[?#].*)?$")
_KSERVE_V1 = re.compile(r"^/v1/models/([^/?#:]+):(?:predict|explain)(?:[?#].*)?$")


def model_in_path(path: str) -> str | None:
    """The model an OIP or KServe v1 inference path names (percent-decoded), else ``None``."""
    match = _OIP.match(path) or _KSERVE_V1.match(path)
    return unquote(match.group(1)) if match is not None else None


@dataclass(frozen=True)
class ModelSelector:
    """The exchanges of one model: by name (OIP and KServe v1 paths) or by path pattern.

    ``selector`` is a model name, or a pattern starting with ``/`` matched against the path
    without its query string. An empty ``path`` (a mirrored exchange whose original path is
    unknown, such as a KServe logger CloudEvent) is admitted: the collector of such events is
    set up for one model.
    """

    selector: str
    _pattern: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", self.selector.startswith("/"))

    def admits(self, path: str) -> bool:
        if not path:
            return True
        if self._pattern:
            return fnmatchcase(path.partition("?")[0], self.selector)
        return model_in_path(path) == self.selector
