"""Text files as textbench reads them: UTF-8 checked line by line, lines ended by `\\n` or
`\\r\\n` only; and texts to predict on or learn words from (`read_texts`: plain text,
CSV, TSV or JSON lines). Kept free of heavy imports: `textbench-predict` reads its input
with it."""

import csv
import io
import json
import sys
from pathlib import Path

from textbench.errors import ConfigError


def split_lines(text: str) -> list[str]:
    """Lines ended by `\\n` or `\\r\\n` only: `str.splitlines` also breaks at `\\x0c`, `\\x85`
    and U+2028, which occur inside real texts and would add examples."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_text(path: Path, encoding_errors: str = "strict") -> str:
    """The file as text, read once; bytes that are not UTF-8 are an error unless replaced."""
    data = path.read_bytes()
    if encoding_errors != "strict":
        return data.decode("utf-8", errors=encoding_errors)
    return decode_strict(path, data)


def check_utf8(path: Path, encoding_errors: str = "strict") -> None:
    """Name the file and line of the first bytes that are not UTF-8, unless told to replace."""
    if encoding_errors == "strict":
        decode_strict(path, path.read_bytes())


def decode_strict(path: Path, data: bytes, lines_before: int = 0) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = lines_before + data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}, line {line}: bytes that are not UTF-8 "
            f"({data[error.start : error.start + 4]!r}). Re-encode the file as UTF-8, or set "
            "data.encoding_errors=replace to read them as U+FFFD."
        ) from None


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
