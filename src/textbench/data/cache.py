"""Encoded splits on disk, and the token cache that keeps them between runs.

A split is three plain `.npy` arrays (token ids, offsets, labels), written chunk by chunk
while encoding and opened with `mmap_mode="r"`: a run maps the tokens instead of reading
them into memory, and the workers of a sweep on one machine share one copy in the page
cache. The token cache keys them on the data's content and the tokenizer, so a sweep
over models or optimizers tokenizes once. Entries are written to a temporary folder and
renamed into place, so a crash never leaves half an entry.
"""

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from textbench.data.batching import EncodedSplit
from textbench.data.tokenizers import TextTokenizer

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
SPLITS = ("train", "validation", "test")
_HEADER_BYTES = 128  # a 1-D .npy header is 128 bytes for any length below 10**15


class NpyWriter:
    """A 1-D `.npy` file appended to chunk by chunk; its length is written on `close`."""

    def __init__(self, path: Path, dtype: type) -> None:
        self.path, self.dtype, self.length = path, np.dtype(dtype), 0
        self.file = path.open("wb")
        self.file.write(b"\0" * _HEADER_BYTES)

    def write(self, array: np.ndarray) -> None:
        np.ascontiguousarray(array, dtype=self.dtype).tofile(self.file)
        self.length += len(array)

    def close(self) -> None:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header,
            {
                "descr": np.lib.format.dtype_to_descr(self.dtype),
                "fortran_order": False,
                "shape": (self.length,),
            },
        )
        assert len(header.getvalue()) == _HEADER_BYTES
        self.file.seek(0)
        self.file.write(header.getvalue())
        self.file.close()


class SplitWriter:
    """Encodes one split's texts batch by batch straight into its arrays on disk."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory, self.name = directory, name
        self.ids = NpyWriter(directory / f"{name}.ids.npy", np.int32)
        self.lengths: list[np.ndarray] = []

    def write(self, ids: Sequence[Sequence[int]]) -> None:
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        self.ids.write(
            np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        )
        self.lengths.append(lengths)

    def close(self, labels: np.ndarray) -> EncodedSplit:
        self.ids.close()
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        np.save(self.directory / f"{self.name}.offsets.npy", offsets)
        np.save(self.directory / f"{self.name}.labels.npy", labels.astype(np.int64))
        return open_split(self.directory, self.name)


def open_split(directory: Path, name: str) -> EncodedSplit:
    """A split's arrays, memory-mapped read-only (token ids) or read (offsets, labels)."""
    ids = directory / f"{name}.ids.npy"
    return EncodedSplit(
        np.load(ids, mmap_mode="r" if ids.stat().st_size > _HEADER_BYTES else None),
        np.load(directory / f"{name}.offsets.npy"),
        np.load(directory / f"{name}.labels.npy"),
    )


class TokenCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "tokens"

    def _entry(self, key: dict[str, Any]) -> Path:
        text = json.dumps({"version": FORMAT_VERSION, **key}, sort_keys=True, default=str)
        return self.root / hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def load(self, key: dict[str, Any], tokenizer: TextTokenizer) -> dict[str, EncodedSplit] | None:
        entry = self._entry(key)
        if not (entry / "tokenizer.json").is_file():
            return None
        tokenizer.load(entry / "tokenizer.json")
        log.info("Token cache hit: %s", entry)
        return {name: open_split(entry, name) for name in SPLITS}

    def new_entry(self) -> Path | None:
        """A temporary folder to write an entry's arrays into, or None if the cache is
        not writable (runs then work without it)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(dir=self.root, prefix=".tmp-"))
        except OSError as error:
            log.warning("Token cache not written (%s); runs still work without it.", error)
            return None

    def store(self, key: dict[str, Any], tokenizer: TextTokenizer, folder: Path) -> None:
        """Complete the entry written in `folder` and rename it into place."""
        try:
            tokenizer.save(folder / "tokenizer.json")
            (folder / "key.json").write_text(json.dumps(key, indent=2, default=str))
            os.replace(folder, self._entry(key))
        except OSError as error:  # another run stored it first, or the disk is full
            log.warning("Token cache not written (%s); runs still work without it.", error)
            # the open arrays stay readable: a removed file lives on while it is mapped
            shutil.rmtree(folder, ignore_errors=True)
