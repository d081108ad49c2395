"""A baseline never silently outgrows its ConfigMap: compressed when that makes it fit, else an
error that names the size and the limit.

Kubernetes refuses a ConfigMap above 1 MiB (``data``, ``binaryData`` and metadata together;
etcd's request limit is a little above it). A baseline's text is what every path stores and reads
(``kubedrift baseline build`` writes it, ``kubedrift baseline configmap`` wraps it, the operator
hands it to the sidecars, a retraining Job writes a new one), so the guard works on the text:

- up to :data:`MAX_BASELINE_BYTES` (1 MiB less :data:`METADATA_ALLOWANCE` for the object's
  name, labels and key), the JSON is stored as it is, as before;
- above it, :func:`encode` stores an envelope ``{"kind": "kubedrift.io/baseline", "encoding":
  "gzip+base64", "data": "..."}``: the JSON, gzip-compressed (level 9, no timestamp, so the same
  baseline always gives the same text and hash), base64-encoded;
- if even that is above the limit, :class:`BaselineTooLargeError` says how large it is, what the
  limit is, and what makes a baseline smaller.

:func:`decode` turns either form back into the JSON; ``Baseline.from_json`` calls it, so every
reader takes both forms, and baselines written before the envelope existed read unchanged.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib

from kubedrift.stats.column_profile import FORMAT_KIND, BaselineError

#: Kubernetes' limit on a ConfigMap object.
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
#: Room left for the ConfigMap's metadata and key.
METADATA_ALLOWANCE = 8 * 1024
#: Largest baseline text kubedrift writes.
MAX_BASELINE_BYTES = CONFIGMAP_LIMIT_BYTES - METADATA_ALLOWANCE
ENCODING = "gzip+base64"
#: Text that starts an envelope, as :func:`encode` writes it (a cheap test before parsing).
_PREFIX = '{"kind":"' + FORMAT_KIND + '","encoding":'


class BaselineTooLargeError(BaselineError):
    """The baseline does not fit a ConfigMap even compressed."""


def encode(text: str, limit: int = MAX_BASELINE_BYTES) -> str:
    """``text`` (a baseline's JSON) as it is when it fits ``limit`` bytes, else compressed.

    >>> small = '{"kind":"kubedrift.io/baseline"}'
    >>> encode(small) == small
    True
    >>> big = '{"kind":"kubedrift.io/baseline","pad":"' + "a" * 2000 + '"}'
    >>> packed = encode(big, limit=1000)
    >>> len(packed) < 1000, decode(packed) == big
    (True, True)
    """
    size = len(text.encode("utf-8"))
    if size <= limit:
        return text
    compressed = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    envelope = _PREFIX + json.dumps(ENCODING) + ',"data":"'
    envelope += base64.b64encode(compressed).decode("ascii") + '"}'
    packed = len(envelope.encode("ascii"))
    if packed > limit:
        raise BaselineTooLargeError(
            f"the baseline is {size:,} bytes ({packed:,} compressed); a ConfigMap holds at most "
            f"{CONFIGMAP_LIMIT_BYTES:,} bytes (1 MiB), {limit:,} of them for the baseline: "
            "profile fewer features (--features) or fewer categories (--max-categories), or "
            "judge a wide tensor as an embedding block (--embedding-width, --embedding)"
        )
    return envelope


def decode(text: str) -> str:
    """The baseline JSON ``text`` holds: ``text`` itself, or an envelope's decompressed data."""
    if not text.lstrip().startswith(_PREFIX):
        return text
    try:
        document = json.loads(text)
        if document.get("encoding") != ENCODING:
            raise BaselineError(f"unknown baseline encoding {document.get('encoding')!r}")
        raw = base64.b64decode(str(document["data"]).encode("ascii"), validate=True)
        return gzip.decompress(raw).decode("utf-8")
    except (KeyError, ValueError, binascii.Error, OSError, EOFError, zlib.error) as error:
        if isinstance(error, BaselineError):
            raise
        raise BaselineError(f"compressed baseline cannot be read: {error!r}") from error
