"""A run's test predictions, and McNemar's test between two runs on the same test set.

Each run writes `test_predictions.csv` (the example's row in the test split, its label,
the predicted label and the class probabilities). Two runs tested on the same examples
(equal data fingerprints) can then be compared example by example: McNemar's exact test
looks only at the examples where exactly one of them is right.
"""

import csv
from pathlib import Path
from typing import Any

import numpy as np

from textbench.files import write_csv
from textbench.reporting.runs import own_file, read_record

FILE = "test_predictions.csv"


def write_predictions(
    path: Path, order: np.ndarray, probabilities: np.ndarray, labels: np.ndarray, names: list[str]
) -> Path:
    """`probabilities[k]` belongs to test row `order[k]`; rows are written in row order."""
    by_row = np.argsort(order, kind="stable")
    rows = (
        [
            int(order[k]),
            names[int(labels[order[k]])],
            names[int(probabilities[k].argmax())],
            *(f"{p:.6f}" for p in probabilities[k]),
        ]
        for k in by_row
    )
    write_csv(path, ["row", "label", "predicted", *(f"p_{name}" for name in names)], rows)
    return path


def _read(run: Path) -> tuple[str, dict[int, tuple[str, str]]]:
    metrics_file, predictions = own_file(run, "metrics.json"), own_file(run, FILE)
    if metrics_file is None or predictions is None:
        raise ValueError(
            f"{run} has no completed test with predictions ({FILE} and metrics.json); compare "
            "two run directories whose test ran (runs made before this version lack the file)."
        )
    fingerprint = (read_record(run, "metrics.json").get("data") or {}).get("fingerprint") or ""
    with predictions.open(newline="") as f:
        rows = {int(r["row"]): (r["label"], r["predicted"]) for r in csv.DictReader(f)}
    return fingerprint, rows


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """McNemar's exact test of two runs' test predictions, example by example; refused
    unless both were tested on the same examples: equal recorded data fingerprints, the
    same rows, and the same label on each row."""
    from scipy.stats import binomtest

    (print_a, a), (print_b, b) = _read(run_a), _read(run_b)
    if not print_a and not print_b:
        raise ValueError(
            f"Neither {run_a} nor {run_b} records its data fingerprint, so nothing shows "
            "they were tested on the same examples; McNemar's test needs that."
        )
    if print_a != print_b or a.keys() != b.keys():
        raise ValueError(
            f"{run_a} and {run_b} were tested on different data (fingerprints {print_a} and "
            f"{print_b}); McNemar's test needs the same test examples."
        )
    rows = sorted(a)
    differ = [r for r in rows if a[r][0] != b[r][0]]
    if differ:
        raise ValueError(
            f"{run_a} and {run_b} give different labels to {len(differ)} test rows (the "
            f"first: row {differ[0]}), so they were not tested on the same examples."
        )
    right_a = np.array([a[r][0] == a[r][1] for r in rows])
    right_b = np.array([b[r][0] == b[r][1] for r in rows])
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    discordant = only_a + only_b
    p = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
    return {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "examples": len(rows),
        "accuracy_a": float(right_a.mean()),
        "accuracy_b": float(right_b.mean()),
        "only_a_right": only_a,
        "only_b_right": only_b,
        "p_value": p,
        "test": "McNemar (exact binomial on the discordant examples)",
    }


def describe(result: dict[str, Any], alpha: float = 0.05) -> str:
    """The comparison in three sentences, the last on what it cannot tell."""
    p = result["p_value"]
    significant = "the difference is" if p < alpha else "the difference is not"
    return (
        f"A ({result['run_a']}): accuracy {result['accuracy_a']:.4f}; B ({result['run_b']}): "
        f"{result['accuracy_b']:.4f}, on the same {result['examples']:,} test examples. "
        f"A alone is right on {result['only_a_right']}, B alone on {result['only_b_right']}; "
        f"McNemar's exact test: p = {p:.3g}, so {significant} significant at {alpha}. "
        "It compares these two runs, not their configurations (a seed alone moves a run "
        "too): for configurations, sweep seeds or folds and read the sweep's verdict."
    )


def confusion(run: Path) -> tuple[list[str], list[list[int]]] | None:
    """The run's test confusion matrix (rows: true label, columns: predicted), from its
    saved predictions; None where the run has none."""
    path = own_file(run, FILE)
    if path is None:
        return None
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        names = [c.removeprefix("p_") for c in reader.fieldnames or [] if c.startswith("p_")]
        index = {name: i for i, name in enumerate(names)}
        matrix = [[0] * len(names) for _ in names]
        for r in reader:
            if r.get("label") in index and r.get("predicted") in index:
                matrix[index[r["label"]]][index[r["predicted"]]] += 1
    return names, matrix
