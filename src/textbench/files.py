"""Writing a file so that nobody ever reads half of it."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`, renamed onto it only once the block succeeds.

    A crash, a full disk or an exception leaves the previous file (or none) and no temporary
    behind; a reader, another process included, sees the old file or the whole new one. The
    file is created with open's usual permissions (the umask), not tempfile's owner-only ones,
    so results stay readable on a shared cluster.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open(mode.replace("w", "x"), **open_args) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for a library that writes by file name (torch's
    exporters), renamed onto `path` once the block succeeds: like `atomic_write`, it
    replaces a symbolic link planted at `path` instead of writing through it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """`path.write_text`, all or nothing."""
    with atomic_write(path) as f:
        f.write(text)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Indented JSON, all or nothing; values JSON lacks (paths, dates) written as strings."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """A header and rows as CSV, all or nothing."""
    with atomic_write(path, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def save_figure(fig: Any, path: Path, **savefig_args: Any) -> None:
    """A matplotlib figure saved all or nothing, its format taken from the file's suffix."""
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format=path.suffix.lstrip("."), **savefig_args)
