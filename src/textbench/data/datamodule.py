"""`TextDataModule`: raw splits → validation carve-out → fitted tokenizer → padded batches."""

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import datasets
import lightning as L
import numpy as np
import torch
from datasets import Dataset, DatasetDict
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from textbench.data.tokenizers import WordTokenizer
from textbench.errors import ConfigError

log = logging.getLogger(__name__)


class EncodedSplit(torch.utils.data.Dataset):
    """Token ids and labels of one split, held in memory as tensors."""

    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids = [torch.tensor(x, dtype=torch.long) for x in ids]
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[i], self.labels[i]


class PadCollator:
    """Pads each batch only to its own longest text (dynamic padding)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        ids, labels = zip(*batch, strict=True)
        return {
            "input_ids": pad_sequence(ids, batch_first=True, padding_value=self.pad_id),
            "lengths": torch.tensor([len(x) for x in ids]),
            "labels": torch.stack(labels),
        }


class TextDataModule(L.LightningDataModule):
    """Loads a source, carves a seeded stratified validation split from train, fits the
    tokenizer on the remaining training texts only, and serves padded batches.

    The test split is only ever used by `trainer.test`, never for model selection.
    """

    def __init__(
        self,
        source: Callable[[], DatasetDict],
        tokenizer: WordTokenizer,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        max_length: int = 256,
        val_fraction: float = 0.1,
        seed: int = 0,
        max_samples: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.source = source
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.max_length = max_length
        self.val_fraction = val_fraction
        self.seed = seed
        self.max_samples = max_samples
        self.num_workers = num_workers
        self.label_names: list[str] = []
        self.fingerprint = ""
        self.splits: dict[str, EncodedSplit] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        datasets.disable_progress_bars()  # our own log line reports the splits
        raw = self.source()
        self.label_names = list(raw["train"].features["label"].names)
        splits = self._split(raw)
        _check_labels(splits, self.label_names)
        self.fingerprint = _fingerprint(splits, self.max_length)
        self.tokenizer.fit(splits["train"]["text"])
        for name, split in splits.items():
            ids = self.tokenizer.encode_batch(split["text"], self.max_length)
            self.splits[name] = EncodedSplit(ids, split["label"])
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.splits.items())
        log.info(
            "Data: %s; %d classes %s; vocabulary %d; fingerprint %s",
            sizes,
            self.num_classes,
            self.label_names,
            self.vocab_size,
            self.fingerprint,
        )

    def _split(self, raw: DatasetDict) -> dict[str, Dataset]:
        """Train/validation/test, the validation split carved from train when absent."""
        if "test" not in raw:
            raise ConfigError(f"The data has no test split (it has {list(raw)}).")
        train = raw["train"]
        validation = raw.get("validation")
        if validation is None:
            parts = train.train_test_split(
                test_size=self.val_fraction, seed=self.seed, stratify_by_column="label"
            )
            train, validation = parts["train"], parts["test"]
        splits = {"train": train, "validation": validation, "test": raw["test"]}
        if self.max_samples:
            splits = {
                k: v.shuffle(seed=self.seed).select(range(min(self.max_samples, len(v))))
                for k, v in splits.items()
            }
        return splits

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id

    def save(self, directory: str | Path) -> None:
        """Write the fitted tokenizer next to the run's other outputs."""
        self.tokenizer.save(Path(directory) / "tokenizer.json")

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size if shuffle else self.eval_batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=PadCollator(self.pad_id),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def _check_labels(splits: dict[str, Dataset], names: list[str]) -> None:
    train_labels = set(splits["train"].unique("label"))
    if len(train_labels) < 2:
        raise ConfigError(
            f"The training split holds a single class ({[names[i] for i in train_labels]}); "
            "a classifier needs at least two. Check data.source and its label column."
        )
    for split in ("validation", "test"):
        unseen = set(splits[split].unique("label")) - train_labels
        if unseen:
            raise ConfigError(
                f"The {split} split has labels {sorted(names[i] for i in unseen)} that never "
                f"occur in train (train has {sorted(names[i] for i in train_labels)}); the "
                "model could never predict them. Use data whose train split covers every class."
            )


def _fingerprint(splits: dict[str, Dataset], max_length: int) -> str:
    """A content hash of the texts and labels actually used, split by split."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"max_length={max_length}".encode())
    for name, split in splits.items():
        digest.update(f"|{name}:{len(split)}|".encode())
        for text in split["text"]:
            digest.update(text.encode())
            digest.update(b"\0")
        digest.update(np.asarray(split["label"], dtype=np.int64).tobytes())
    return digest.hexdigest()
