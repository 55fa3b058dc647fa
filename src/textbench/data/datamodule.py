"""`TextDataModule`: raw splits → clean rows → label ids → splits → token ids → batches.

Sources only read data; everything that must be the same for every source (bad rows,
label ids, carving missing splits, tokenization and its cache, batching) happens here.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import torch
from datasets import DatasetDict
from torch.utils.data import DataLoader

from textbench.checks import check_choice
from textbench.data.batching import EncodedSplit, EpochSampler, PadCollator, padding_fraction
from textbench.data.cache import TokenCache
from textbench.data.labels import check_labels, column, drop_bad_rows, encode_labels, fingerprint
from textbench.data.tokenizers import TextTokenizer
from textbench.errors import ConfigError

log = logging.getLogger(__name__)
BAD_ROWS = ("drop", "error")


class TextDataModule(L.LightningDataModule):
    """Loads a source, carves missing validation/test splits from train (stratified,
    seeded by `seed`), fits the tokenizer on the remaining training texts only, and serves
    batches of similar lengths in an order seeded by `shuffle_seed` (the run's seed) and
    the epoch, split by whole batches across DDP ranks.

    `source_options` are the source's own keys (`train_file`, `name`, `class_files`, ...).
    The test split is only ever used by `trainer.test`, never for model selection.
    """

    def __init__(
        self,
        source: Callable[..., DatasetDict],
        tokenizer: TextTokenizer,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        max_length: int = 256,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        shuffle_seed: int = 0,
        on_bad_rows: str = "drop",
        label_names: list[str] | None = None,
        max_samples: int | None = None,
        bucket: bool = True,
        num_workers: int = 0,
        cache_dir: str | None = None,
        **source_options: Any,
    ) -> None:
        super().__init__()
        check_choice("data.on_bad_rows", on_bad_rows, BAD_ROWS)
        self.source = source
        self.source_options = source_options
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.max_length = max_length
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.seed = seed
        self.shuffle_seed = shuffle_seed
        self.on_bad_rows = on_bad_rows
        self.given_label_names = label_names
        self.max_samples = max_samples
        self.bucket = bucket
        self.num_workers = num_workers
        self.cache = TokenCache(Path(cache_dir)) if cache_dir else None
        self.label_names: list[str] = []
        self.fingerprint = ""
        self.splits: dict[str, EncodedSplit] = {}
        self.texts: dict[str, datasets.Dataset] = {}
        self.stats: dict[str, Any] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        datasets.disable_progress_bars()  # our own log lines report the splits
        raw = self.source(**self.source_options)
        raw, dropped = drop_bad_rows(raw, self.on_bad_rows)
        raw, self.label_names = encode_labels(raw, self.given_label_names)
        splits = self._split(raw)
        check_labels(splits, self.label_names)
        self.fingerprint = fingerprint(splits)
        self.texts = splits

        key = {
            "data": self.fingerprint,
            "tokenizer": self.tokenizer.config,
            "max_length": self.max_length,
        }
        cached = self.cache.load(key, self.tokenizer) if self.cache else None
        if cached is not None:
            self.splits = cached
        else:
            self.tokenizer.fit(column(splits["train"], "text"))
            for name, split in splits.items():
                ids = self.tokenizer.encode_batch(column(split, "text"), self.max_length)
                self.splits[name] = EncodedSplit.from_lists(ids, column(split, "label"))
            if self.cache:
                self.cache.save(key, self.tokenizer, self.splits)

        self.stats = {
            "sizes": {name: len(split) for name, split in self.splits.items()},
            "dropped_rows": dropped,
            "token_cache": "hit" if cached is not None else ("stored" if self.cache else "off"),
            # per batch, so the same under DDP, where each rank takes whole batches
            "padding_fraction": {
                split: padding_fraction(self.splits[split].lengths, self._sampler(split).batches())
                for split in ("train", "test")
            },
        }
        sizes = ", ".join(f"{k} {v}" for k, v in self.stats["sizes"].items())
        log.info(
            "Data: %s; %d classes %s; vocabulary %d; tokens %s; padding %.1f%% of train "
            "batches; fingerprint %s",
            sizes,
            self.num_classes,
            self.label_names,
            self.vocab_size,
            self.stats["token_cache"],
            100 * self.stats["padding_fraction"]["train"],
            self.fingerprint,
        )

    def _split(self, raw: DatasetDict) -> dict[str, datasets.Dataset]:
        """Train/validation/test; a missing test, then validation, split is carved from train."""
        if "train" not in raw:
            raise ConfigError(f"The data has no train split (it has {list(raw)}).")
        splits = dict(raw)
        for name, fraction in (("test", self.test_fraction), ("validation", self.val_fraction)):
            if name in splits:
                continue
            try:
                parts = splits["train"].train_test_split(
                    test_size=fraction, seed=self.seed, stratify_by_column="label"
                )
            except ValueError as error:
                raise ConfigError(
                    f"Could not carve a {name} split of {fraction:.0%} from "
                    f"train, stratified by label: {error}. Use more data per "
                    f"class or set data.{'val' if name == 'validation' else 'test'}_fraction."
                ) from error
            splits["train"], splits[name] = parts["train"], parts["test"]
        splits = {k: splits[k] for k in ("train", "validation", "test")}
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

    def _sampler(self, split: str) -> EpochSampler:
        train = split == "train"
        ranks = (self.trainer.world_size, self.trainer.global_rank) if self.trainer else (1, 0)
        return EpochSampler(
            self.splits[split].lengths,
            self.batch_size if train else self.eval_batch_size,
            seed=self.shuffle_seed,
            shuffle=train,
            bucket=self.bucket,
            num_replicas=ranks[0],
            rank=ranks[1],
        )

    def _loader(self, split: str) -> DataLoader:
        train = split == "train"
        on_cuda = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size if train else self.eval_batch_size,
            sampler=self._sampler(split),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # page-locked batches let the copy to the GPU overlap the previous step
            pin_memory=on_cuda,
            collate_fn=PadCollator(self.pad_id),
            # Its own generator: creating an iterator (worker seeds) then draws no number
            # from the global RNG, so a run resumed from a checkpoint sees the same dropout.
            generator=torch.Generator().manual_seed(self.shuffle_seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
