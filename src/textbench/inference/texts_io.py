"""Reading texts to predict on and writing predictions, in input order, atomically."""

import csv
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from textbench.data.text_files import read_text, split_lines
from textbench.errors import ConfigError
from textbench.files import atomic_write


def read_texts(source: str, text_column: str = "text") -> list[str]:
    """Plain text (one example a line; `-` is standard input), or CSV/TSV/JSONL rows.

    Lines end at `\\n` or `\\r\\n` only, and empty lines are kept, so that output line i
    always answers input line i.
    """
    if source == "-":
        return split_lines(sys.stdin.read())
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"input={source!r} does not exist; give a text, CSV, TSV or JSONL "
            "file, or - for standard input."
        )
    content = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        rows = list(
            csv.DictReader(io.StringIO(content), delimiter="\t" if suffix == ".tsv" else ",")
        )
        return [_column(row, text_column, path, i) for i, row in enumerate(rows)]
    if suffix in (".jsonl", ".json"):
        rows = [json.loads(line) for line in split_lines(content) if line.strip()]
        return [_column(row, text_column, path, i) for i, row in enumerate(rows)]
    return split_lines(content)


def _column(row: dict, column: str, path: Path, index: int) -> str:
    if column not in row:
        raise ConfigError(
            f"{path} row {index} has no column text_column={column!r}; its "
            f"columns are {sorted(row)}. Set text_column=NAME."
        )
    return "" if row[column] is None else str(row[column])


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
