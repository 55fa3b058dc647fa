"""Writing predictions (CSV or JSON lines), in input order, atomically."""

import csv
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from textbench.files import atomic_write


def write_predictions(
    destination: str, texts: list[str], probs: np.ndarray, names: list[str]
) -> None:
    """CSV (by the `.csv` extension) or JSONL: label name and every class probability."""
    predicted = probs.argmax(axis=1)
    rows = (
        {
            "index": i,
            "label": names[predicted[i]],
            "probabilities": {n: round(float(p), 6) for n, p in zip(names, probs[i], strict=True)},
            "text": texts[i],
        }
        for i in range(len(texts))
    )
    if destination == "-":
        _write(sys.stdout, rows, csv_format=False)
        return
    path = Path(destination)
    with atomic_write(path, newline="") as f:
        _write(f, rows, csv_format=path.suffix.lower() == ".csv", names=names)


def _write(
    f: io.TextIOBase, rows: Iterable[dict], csv_format: bool, names: list[str] | None = None
) -> None:
    if not csv_format:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(f)
    writer.writerow(["index", "label", *(f"p_{n}" for n in names or []), "text"])
    for row in rows:
        writer.writerow([row["index"], row["label"], *row["probabilities"].values(), row["text"]])
