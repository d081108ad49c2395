"""Peer helper of the CBPE benchmark, run by NannyML's own venv (not by the project's).

Reads ``reference.csv`` and ``analysis.csv`` (columns ``y_pred_proba`` or ``p_0 .. p_(k-1)``,
``y_pred``, ``y_true``) from the folder given as the only argument, fits NannyML's CBPE on the
reference with the chunk size in ``chunk.txt`` and the problem type in ``problem.txt``, and
prints one JSON object: per metric the estimate of each analysis chunk, in order. Nothing here is
imported by the project.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import nannyml  # type: ignore[import-not-found]  # only in its own venv
import pandas

METRICS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "roc_auc": "roc-auc",
}


def main() -> int:
    folder = Path(sys.argv[1])
    reference = pandas.read_csv(folder / "reference.csv")
    analysis = pandas.read_csv(folder / "analysis.csv").drop(columns="y_true")
    chunk = int((folder / "chunk.txt").read_text())
    problem = (folder / "problem.txt").read_text().strip()
    probabilities: str | dict[int, str] = "y_pred_proba"
    if problem == "classification_multiclass":
        columns = sorted(c for c in reference.columns if c.startswith("p_"))
        probabilities = {int(c[2:]): c for c in columns}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = nannyml.CBPE(
            metrics=list(METRICS),
            y_pred_proba=probabilities,
            y_pred="y_pred",
            y_true="y_true",
            problem_type=problem,
            chunk_size=chunk,
        )
        estimator.fit(reference)
        table = estimator.estimate(analysis).filter(period="analysis").to_df()
    result = {ours: table[(theirs, "value")].tolist() for theirs, ours in METRICS.items()}
    result["version"] = nannyml.__version__
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
