"""The token cache: encoded splits and the fitted tokenizer, keyed on data and tokenizer.

A sweep over models or optimizers on the same data and tokenizer tokenizes once; later
runs load the arrays in well under a second. Entries are written to a temporary folder
and renamed into place, so a crash never leaves half an entry.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from textbench.data.batching import EncodedSplit
from textbench.data.tokenizers import TextTokenizer

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")


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
        splits = {}
        for name in SPLITS:
            arrays = np.load(entry / f"{name}.npz")
            splits[name] = EncodedSplit(arrays["ids"], arrays["offsets"], arrays["labels"])
        log.info("Token cache hit: %s", entry)
        return splits

    def save(
        self, key: dict[str, Any], tokenizer: TextTokenizer, splits: dict[str, EncodedSplit]
    ) -> None:
        entry = self._entry(key)
        tmp = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".tmp-"))
            for name, split in splits.items():
                np.savez(
                    tmp / f"{name}.npz", ids=split.ids, offsets=split.offsets, labels=split.labels
                )
            tokenizer.save(tmp / "tokenizer.json")
            (tmp / "key.json").write_text(json.dumps(key, indent=2, default=str))
            os.replace(tmp, entry)
        except OSError as error:  # another run stored it first, or the disk is read-only
            log.warning("Token cache not written (%s); runs still work without it.", error)
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
