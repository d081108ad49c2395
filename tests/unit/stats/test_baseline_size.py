"""A baseline never silently outgrows its ConfigMap: compressed when that makes it fit, else an
error naming the size and the limit; both forms read back the same."""

from __future__ import annotations

import numpy as np
import pytest

from kubedrift.stats.baseline import Baseline, BaselineError, build_baseline
from kubedrift.stats.baseline_size import (
    CONFIGMAP_LIMIT_BYTES,
    MAX_BASELINE_BYTES,
    BaselineTooLargeError,
    decode,
    encode,
)


def wide_categorical(features: int = 500) -> Baseline:
    """Long, repetitive vocabularies: a large JSON that compresses well."""
    rng = np.random.default_rng(0)
    names = np.array([f"a-rather-long-category-name-number-{i:03d}" for i in range(50)])
    return build_baseline(
        {f"feature-{j:04d}": rng.choice(names, size=2000) for j in range(features)}
    )


def test_a_baseline_within_the_limit_is_stored_as_plain_json_as_before() -> None:
    text = build_baseline({"x": np.arange(500.0), "y": np.arange(500.0) ** 2}).to_json()
    assert encode(text) == text
    assert decode(text) == text


def test_a_baseline_above_the_limit_is_compressed_and_reads_back_unchanged() -> None:
    baseline = wide_categorical()
    text = baseline.to_json()
    assert len(text) > MAX_BASELINE_BYTES  # the test needs a baseline above the limit
    packed = encode(text)
    assert len(packed) <= MAX_BASELINE_BYTES < CONFIGMAP_LIMIT_BYTES
    assert '"encoding":"gzip+base64"' in packed
    assert Baseline.from_json(packed) == baseline
    assert encode(text) == packed  # deterministic: the same baseline, the same text and hash


def test_a_baseline_that_does_not_fit_even_compressed_fails_naming_size_and_limit() -> None:
    rng = np.random.default_rng(1)
    text = build_baseline({f"x{i}": rng.normal(size=3000) for i in range(20)}).to_json()
    with pytest.raises(BaselineTooLargeError) as raised:
        encode(text, limit=20_000)
    message = str(raised.value)
    assert f"{len(text):,} bytes" in message
    assert "1,048,576 bytes (1 MiB), 20,000 of them" in message
    assert isinstance(raised.value, BaselineError)


def test_a_damaged_or_unknown_envelope_is_a_baseline_error() -> None:
    packed = encode(wide_categorical(40).to_json(), limit=20_000)
    with pytest.raises(BaselineError, match="cannot be read"):
        Baseline.from_json(packed.replace('"data":"', '"data":"AAAA', 1))
    with pytest.raises(BaselineError, match="unknown baseline encoding"):
        Baseline.from_json(packed.replace("gzip+base64", "zstd", 1))
