"""Bench (evidence, not speed): performance estimated without labels against NannyML's CBPE.

Data with known probabilities: two Gaussian features, the true probability of class 1 is
``sigmoid(2 x1 + x2)`` and the label is drawn from it; the model's score is overconfident,
``sigmoid(1.7 (2 x1 + x2))``, so both estimators must calibrate it on the reference first. The
reference holds 20,000 rows with ``x1 ~ N(1, 1)``; the analysis period 20 chunks of 2,000 rows
whose ``x1`` mean stays at 1 for five chunks and then moves to -0.2 (a covariate shift towards
the decision boundary: accuracy falls, ``P(label | score)`` does not change).

It does so for ``REPEATS`` independent data sets (100 chunks). Per chunk of the first it
prints kubedrift's estimate with its 95% band (``kubedrift.stats.estimation``), NannyML's CBPE
estimate on the same chunk, and the realized value from the labels the estimators did not see;
then, over all chunks and per metric, the largest gap to NannyML and the share of chunks whose
realized value lies in kubedrift's band. Targets (issue 19): accuracy within 0.01 of NannyML on
every chunk, realized accuracy in the band in at least 90% of chunks.

NannyML runs in its own venv (``~/.cache/kubedrift/bench-venvs/nannyml``, created on first use
with ``nannyml`` and ``statsmodels``, which nannyml imports but does not declare) through
``estimation_cbpe_peer.py``; when it cannot be installed the peer is reported skipped with the
reason and kubedrift's figures against the realized values are still printed.
``python -m bench.estimation_cbpe``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kubedrift.stats.estimation import (
    ESTIMATED_METRICS,
    EstimationSketch,
    estimate,
    fit_calibration,
)

HERE = Path(__file__).resolve().parent
PEER_VENV = Path(
    os.environ.get(
        "KUBEDRIFT_NANNYML_VENV", Path.home() / ".cache" / "kubedrift" / "bench-venvs" / "nannyml"
    )
)
PEER_PACKAGES = ("nannyml==0.13.1", "statsmodels")
#: Deadline of the peer's installation and of its run, seconds.
INSTALL_DEADLINE = 900
RUN_DEADLINE = 600
REFERENCE_ROWS = 20_000
CHUNK = 2_000
CHUNKS = 20
STEADY = 5
#: Independent data sets (seeds ``SEED``, ``SEED + 1``, ...); ``--quick`` runs two.
REPEATS = 5
SEED = 19
#: Three-class data sets (summary only); ``--quick`` runs one.
MULTICLASS_REPEATS = 2


def sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result


def generate(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Reference and analysis rows: score, prediction, label, true probability."""
    rng = np.random.default_rng(seed)

    def rows(mean: np.ndarray) -> dict[str, np.ndarray]:
        x1 = rng.normal(mean, 1.0)
        x2 = rng.normal(0.0, 1.0, size=x1.size)
        logit = 2 * x1 + x2
        truth = sigmoid(logit)
        score = sigmoid(1.7 * logit)
        label = (rng.uniform(size=x1.size) < truth).astype(np.int64)
        return {
            "y_pred_proba": score,
            "y_pred": (score >= 0.5).astype(np.int64),
            "y_true": label,
            "truth": truth,
        }

    reference = rows(np.full(REFERENCE_ROWS, 1.0))
    means = [1.0] * STEADY + list(np.linspace(1.0, -0.2, CHUNKS - STEADY + 1)[1:])
    analysis = rows(np.repeat(np.asarray(means), CHUNK))
    return reference, analysis


def generate_multiclass(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Three classes: true probabilities ``softmax(W x)`` of two Gaussian features, the model's
    scores ``softmax(1.6 W x)``; the analysis period moves ``x1``'s mean from 1 to -1."""
    rng = np.random.default_rng(seed)
    weights = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])

    def softmax(logits: np.ndarray) -> np.ndarray:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
        return result

    def rows(mean: np.ndarray) -> dict[str, np.ndarray]:
        x = np.stack([rng.normal(mean, 1.0), rng.normal(0.0, 1.0, size=mean.size)], axis=1)
        logits = x @ weights.T
        truth = softmax(logits)
        score = softmax(1.6 * logits)
        label = (rng.uniform(size=(mean.size, 1)) > truth.cumsum(axis=1)).sum(axis=1)
        return {
            "y_pred_proba": score,
            "y_pred": score.argmax(axis=1),
            "y_true": np.minimum(label, 2),
            "truth": truth,
        }

    reference = rows(np.full(REFERENCE_ROWS, 1.0))
    means = [1.0] * STEADY + list(np.linspace(1.0, -1.0, CHUNKS - STEADY + 1)[1:])
    return reference, rows(np.repeat(np.asarray(means), CHUNK))


def write_csv(path: Path, data: dict[str, np.ndarray]) -> None:
    """Binary: ``y_pred_proba``; more classes: ``p_0 .. p_(k-1)``; then ``y_pred``, ``y_true``."""
    scores = data["y_pred_proba"]
    matrix = scores[:, None] if scores.ndim == 1 else scores
    names = ["y_pred_proba"] if scores.ndim == 1 else [f"p_{j}" for j in range(scores.shape[1])]
    lines = [",".join([*names, "y_pred", "y_true"])]
    lines.extend(
        ",".join([*(repr(v) for v in row), str(int(y)), str(int(t))])
        for row, y, t in zip(
            matrix.tolist(), data["y_pred"].tolist(), data["y_true"].tolist(), strict=True
        )
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def peer_python() -> tuple[Path | None, str]:
    """NannyML's venv interpreter, installing it on first use; ``(None, reason)`` if it fails."""
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import nannyml, statsmodels"]
    if python.exists() and subprocess.call(check, stderr=subprocess.DEVNULL) == 0:
        return python, ""
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(PEER_VENV)],
            check=True,
            capture_output=True,
            timeout=INSTALL_DEADLINE,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
            check=True,
            capture_output=True,
            timeout=INSTALL_DEADLINE,
        )
    except subprocess.TimeoutExpired:
        return None, f"installing {' '.join(PEER_PACKAGES)} took over {INSTALL_DEADLINE} s"
    except subprocess.CalledProcessError as error:
        tail = (error.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        return None, f"installing {' '.join(PEER_PACKAGES)} failed: {' '.join(tail)}"
    return python, ""


def run_peer(
    reference: dict[str, np.ndarray], analysis: dict[str, np.ndarray], problem: str
) -> tuple[dict[str, list[float]] | None, str]:
    python, reason = peer_python()
    if python is None:
        return None, reason
    with tempfile.TemporaryDirectory() as folder:
        write_csv(Path(folder) / "reference.csv", reference)
        write_csv(Path(folder) / "analysis.csv", analysis)
        (Path(folder) / "chunk.txt").write_text(str(CHUNK))
        (Path(folder) / "problem.txt").write_text(problem)
        try:
            done = subprocess.run(
                [str(python), str(HERE / "estimation_cbpe_peer.py"), folder],
                capture_output=True,
                timeout=RUN_DEADLINE,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"NannyML's run took over {RUN_DEADLINE} s"
    if done.returncode != 0:
        return None, "NannyML failed: " + done.stderr.decode(errors="replace")[-300:]
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result, ""


def realized_multiclass(chunk: dict[str, np.ndarray]) -> dict[str, float]:
    """Accuracy and macro precision, recall, F1 and one-vs-rest ROC AUC from the labels."""
    predicted, label, score = chunk["y_pred"], chunk["y_true"], chunk["y_pred_proba"]
    per_class = []
    for k in range(score.shape[1]):
        binary = {
            "y_pred": (predicted == k).astype(np.int64),
            "y_true": (label == k).astype(np.int64),
            "y_pred_proba": score[:, k],
        }
        per_class.append(realized(binary))
    macro = {m: float(np.mean([r[m] for r in per_class])) for m in ESTIMATED_METRICS}
    return macro | {"accuracy": float(np.mean(predicted == label))}


def realized(chunk: dict[str, np.ndarray]) -> dict[str, float]:
    predicted, label, score = chunk["y_pred"], chunk["y_true"], chunk["y_pred_proba"]
    tp = float(np.sum((predicted == 1) & (label == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(label.sum()), 1.0)
    order = np.argsort(score)
    ranks = np.empty(score.size)
    ranks[order] = np.arange(1, score.size + 1)
    positives = float(label.sum())
    negatives = score.size - positives
    auc = (ranks[label == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    return {
        "accuracy": float(np.mean(predicted == label)),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "roc-auc": float(auc),
    }


def main() -> int:
    gaps: dict[str, list[float]] = {m: [] for m in ESTIMATED_METRICS}
    covered: dict[str, list[bool]] = {m: [] for m in ESTIMATED_METRICS}
    repeats = 2 if "--quick" in sys.argv else REPEATS
    for repeat in range(repeats):
        reference, analysis = generate(SEED + repeat)
        calibration = fit_calibration(
            reference["y_pred_proba"][:, None], reference["y_true"].astype(str), ("0", "1")
        )
        peer, reason = run_peer(reference, analysis, "classification_binary")
        if peer is None:
            print(f"NannyML skipped: {reason}")
        elif repeat == 0:
            print(f"NannyML {peer.pop('version', '?')}")
        verbose = repeat == 0 or "--all" in sys.argv
        if verbose:
            print(
                f"data set {repeat} (seed {SEED + repeat}): reference {REFERENCE_ROWS} rows; "
                f"{CHUNKS} chunks of {CHUNK}; x1 mean 1.0 for {STEADY} chunks, then down to -0.2"
            )
            print(
                f"{'chunk':>5} {'metric':>9} {'kubedrift':>9} {'band':>15} {'NannyML':>8} "
                f"{'realized':>8} {'in band':>7}"
            )
        for c in range(CHUNKS):
            part = {k: v[c * CHUNK : (c + 1) * CHUNK] for k, v in analysis.items()}
            sketch = EstimationSketch.empty(calibration)
            sketch.add_scores(calibration, part["y_pred_proba"][:, None])
            ours = estimate(sketch, calibration)
            truth = realized(part)
            for metric in ESTIMATED_METRICS:
                mine = ours[metric]
                theirs = float(peer[metric][c]) if peer is not None else float("nan")
                inside = mine.lower <= truth[metric] <= mine.upper
                gaps[metric].append(abs(mine.value - theirs))
                covered[metric].append(inside)
                if verbose and (metric == "accuracy" or "--all" in sys.argv):
                    print(
                        f"{c:>5} {metric:>9} {mine.value:>9.4f} "
                        f"[{mine.lower:.4f}, {mine.upper:.4f}] {theirs:>8.4f} "
                        f"{truth[metric]:>8.4f} {'yes' if inside else 'NO':>7}"
                    )
    chunks = repeats * CHUNKS
    print(
        f"\nover {chunks} chunks ({repeats} data sets), 95% bands\n"
        f"{'metric':>9} {'max |kubedrift - NannyML|':>26} {'mean gap':>9} {'realized in band':>17}"
    )
    for metric in ESTIMATED_METRICS:
        share = float(np.mean(covered[metric]))
        print(
            f"{metric:>9} {max(gaps[metric]):>26.4f} {float(np.mean(gaps[metric])):>9.4f} "
            f"{share:>16.0%}"
        )
    accuracy_gap = max(gaps["accuracy"])
    accuracy_cover = float(np.mean(covered["accuracy"]))
    peered = not np.isnan(accuracy_gap)
    met = accuracy_cover >= 0.9 and (not peered or accuracy_gap <= 0.01)
    print(
        f"targets: accuracy within 0.01 of NannyML on every chunk "
        f"({f'max gap {accuracy_gap:.4f}' if peered else 'skipped'}), realized accuracy in the "
        f"band in >= 90% of chunks ({accuracy_cover:.0%}): {'met' if met else 'NOT met'}"
    )
    multiclass(1 if "--quick" in sys.argv else MULTICLASS_REPEATS)
    return 0


def multiclass(repeats: int) -> None:
    """Three classes, macro averages: the same comparison, summary only."""
    gaps: dict[str, list[float]] = {m: [] for m in ESTIMATED_METRICS}
    covered: dict[str, list[bool]] = {m: [] for m in ESTIMATED_METRICS}
    for repeat in range(repeats):
        reference, analysis = generate_multiclass(SEED + 100 + repeat)
        calibration = fit_calibration(
            reference["y_pred_proba"], reference["y_true"].astype(str), ("0", "1", "2")
        )
        peer, reason = run_peer(reference, analysis, "classification_multiclass")
        if peer is None:
            print(f"NannyML skipped: {reason}")
        for c in range(CHUNKS):
            part = {k: v[c * CHUNK : (c + 1) * CHUNK] for k, v in analysis.items()}
            sketch = EstimationSketch.empty(calibration)
            sketch.add_scores(calibration, part["y_pred_proba"])
            ours = estimate(sketch, calibration)
            truth = realized_multiclass(part)
            for metric in ESTIMATED_METRICS:
                theirs = float(peer[metric][c]) if peer is not None else float("nan")
                gaps[metric].append(abs(ours[metric].value - theirs))
                covered[metric].append(ours[metric].lower <= truth[metric] <= ours[metric].upper)
    print(
        f"\nthree classes (macro averages), x1 mean 1 -> -1: over {repeats * CHUNKS} chunks "
        f"({repeats} data sets)\n"
        f"{'metric':>9} {'max |kubedrift - NannyML|':>26} {'mean gap':>9} {'realized in band':>17}"
    )
    for metric in ESTIMATED_METRICS:
        print(
            f"{metric:>9} {max(gaps[metric]):>26.4f} {float(np.mean(gaps[metric])):>9.4f} "
            f"{float(np.mean(covered[metric])):>16.0%}"
        )


if __name__ == "__main__":
    sys.exit(main())
