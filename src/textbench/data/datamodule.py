"""`TextDataModule`: source → clean rows → label ids → splits → token ids → batches.

Sources only say where data lies; everything that must be the same for every source (bad
rows, label ids, carving missing splits, tokenization and its cache, batching) happens
here, in passes over bounded batches (`prepare`), so memory does not grow with the data.
"""

import hashlib
import logging
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import numpy as np
import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from textbench.data import prepare
from textbench.data.batching import EncodedSplit, EpochSampler, PadCollator, padding_fraction
from textbench.data.cache import TokenCache
from textbench.data.labels import check_labels, label_ids, label_index
from textbench.data.tokenizers import TextTokenizer
from textbench.errors import ConfigError

log = logging.getLogger(__name__)


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
        source: Callable[..., dict[str, Any]],
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
        cv_folds: int | None = None,
        cv_fold: int = 0,
        bucket: bool = True,
        num_workers: int = 0,
        cache_dir: str | None = None,
        **source_options: Any,
    ) -> None:
        super().__init__()
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
        self.cv_folds = cv_folds
        self.cv_fold = cv_fold
        self.bucket = bucket
        self.num_workers = num_workers
        self.cache = TokenCache(Path(cache_dir)) if cache_dir else None
        self.label_names: list[str] = []
        self.fingerprint = ""
        self.splits: dict[str, EncodedSplit] = {}
        self.stats: dict[str, Any] = {}
        self._sources: dict[str, prepare.SourceSplit] = {}
        self._assignment: dict[str, tuple[str, np.ndarray]] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        datasets.disable_progress_bars()  # our own log lines report the splits
        started = time.perf_counter()
        work = self._work_dir()
        raw = self.source(**self.source_options)
        sources = self._check_rows(
            {name: prepare.spill(name, part, work / f"{name}.arrow") for name, part in raw.items()}
        )
        labels = self._label_ids(sources)
        self._assignment = prepare.assign(
            labels,
            self.val_fraction,
            self.test_fraction,
            self.seed,
            self.max_samples,
            (self.cv_folds, self.cv_fold) if self.cv_folds else None,
        )
        check_labels(
            {k: labels[src][rows] for k, (src, rows) in self._assignment.items()},
            self.label_names,
        )
        self._sources = sources
        self.fingerprint = self._fingerprint(labels)
        read_s = time.perf_counter() - started

        key = {
            "data": self.fingerprint,
            "tokenizer": self.tokenizer.config,
            "max_length": self.max_length,
        }
        cached = self.cache.load(key, self.tokenizer) if self.cache else None
        if cached is not None:
            self.splits = cached
        else:
            self.splits = self._tokenize(key, labels, work)

        self.stats = {
            "sizes": {name: len(split) for name, split in self.splits.items()},
            "dropped_rows": {name: source.dropped for name, source in sources.items()},
            "token_cache": "hit" if cached is not None else ("stored" if self.cache else "off"),
            # per batch, so the same under DDP, where each rank takes whole batches
            "padding_fraction": {
                split: padding_fraction(self.splits[split].lengths, self._sampler(split).batches())
                for split in ("train", "test")
            },
            "seconds": {"read": round(read_s, 2), "total": round(time.perf_counter() - started, 2)},
        }
        fold = {}
        if self.cv_folds:  # which split this fold is
            held = prepare.held_out(self._sources)
            fold = {held: f" (cross-validation fold {self.cv_fold} of {self.cv_folds})"}
        sizes = ", ".join(f"{k} {v}{fold.get(k, '')}" for k, v in self.stats["sizes"].items())
        log.info(
            "Data: %s; %d classes %s; vocabulary %d; tokens %s; padding %.1f%% of train "
            "batches; fingerprint %s; prepared in %.1f s",
            sizes,
            self.num_classes,
            self.label_names,
            self.vocab_size,
            self.stats["token_cache"],
            100 * self.stats["padding_fraction"]["train"],
            self.fingerprint,
            self.stats["seconds"]["total"],
        )

    def _work_dir(self) -> Path:
        """A folder for this module's spilled texts (and arrays when the cache is off),
        removed with the module; beside the cache, which is on a disk meant for data."""
        parent = None
        if self.cache:
            self.cache.root.mkdir(parents=True, exist_ok=True)
            parent = self.cache.root
        work = Path(tempfile.mkdtemp(prefix=".prepare-", dir=parent))
        weakref.finalize(self, shutil.rmtree, work, True)
        return work

    def _check_rows(
        self, sources: dict[str, prepare.SourceSplit]
    ) -> dict[str, prepare.SourceSplit]:
        """Refuse or report bad rows; leave out a split without any label (carved instead)."""
        kept = {}
        for name, source in sources.items():
            if source.unlabeled:
                log.warning(
                    "The %s split has no labels (every ClassLabel is -1); it is left out and "
                    "carved from train instead.",
                    name,
                )
                source.dropped = source.rows + source.dropped
                continue
            if source.dropped and self.on_bad_rows == "error":
                row, text, label = source.first_bad
                raise ConfigError(
                    f"The {name} split has {source.dropped} rows with an empty or missing text "
                    f"or label; the first is row {row} (text={text!r:.60}, label={label!r}). "
                    "Fix the data, or set data.on_bad_rows=drop to skip such rows."
                )
            if source.dropped:
                log.warning(
                    "Dropped %d of %d %s rows with an empty or missing text or label.",
                    source.dropped,
                    source.rows + source.dropped,
                    name,
                )
            kept[name] = source
        if "train" not in kept:
            raise ConfigError(f"The data has no train split (it has {list(sources)}).")
        return kept

    def _label_ids(self, sources: dict[str, prepare.SourceSplit]) -> dict[str, np.ndarray]:
        """Integer labels per source split; sets `label_names`."""
        class_names = sources["train"].class_names
        values = set()
        if class_names is None:
            for source in sources.values():
                values |= set(pc.unique(source.labels).to_pylist())
        index, self.label_names = label_index(values, class_names, self.given_label_names)
        return {name: label_ids(source.labels, index) for name, source in sources.items()}

    def _fingerprint(self, labels: dict[str, np.ndarray]) -> str:
        """A content hash of the texts and labels of each source split and of which rows
        each split takes: equal fingerprints mean the same examples in the same splits."""
        digest = hashlib.blake2b(digest_size=8)
        for name, source in sorted(self._sources.items()):
            digest.update(f"|{name}:{source.rows}|".encode() + source.digest)
            digest.update(labels[name].astype(np.int64).tobytes())
        for name in prepare.SPLITS:
            src, rows = self._assignment[name]
            digest.update(f"|{name}<{src}:{len(rows)}|".encode())
            digest.update(rows.astype(np.int64).tobytes())
        return digest.hexdigest()

    def _tokenize(
        self, key: dict[str, Any], labels: dict[str, np.ndarray], work: Path
    ) -> dict[str, EncodedSplit]:
        """Fit the tokenizer on the training texts and encode every split to `.npy` arrays
        (in a new token cache entry when the cache is on)."""
        train_source, train_rows = self._assignment["train"]
        samples = getattr(self.tokenizer, "fit_samples", None)
        started = time.perf_counter()
        self.tokenizer.fit(
            prepare.fit_texts(self._sources[train_source], train_rows, samples, self.seed),
            min(samples or len(train_rows), len(train_rows)),
        )
        fitted = time.perf_counter()
        folder = (self.cache.new_entry() if self.cache else None) or work
        total = sum(len(rows) for _, rows in self._assignment.values())
        # disable=None: a bar on a terminal only, never thousands of lines in a log file
        with tqdm(
            total=total, desc="Tokenizing", unit=" texts", leave=False, disable=None
        ) as progress:
            splits = prepare.encode(
                self.tokenizer,
                self.max_length,
                self._sources,
                self._assignment,
                labels,
                folder,
                progress,
            )
        tokens = sum(len(split.ids) for split in splits.values())
        seconds = time.perf_counter() - fitted
        log.info(
            "Tokenizer fitted in %.1f s; %d texts encoded in %.1f s (%.0f tokens/s)",
            fitted - started,
            total,
            seconds,
            tokens / max(seconds, 1e-9),
        )
        if self.cache and folder != work:
            self.cache.store(key, self.tokenizer, folder)
        return splits

    def split_texts(self, split: str, limit: int | None = None) -> list[str]:
        """The texts of a prepared split, in the order of its encoded examples."""
        source, rows = self._assignment[split]
        batches = prepare.select_texts(self._sources[source], rows, limit)
        return [text for batch in batches for text in batch]

    def train_on_validation(self) -> None:
        """Train on the validation examples too, after the fit that chose by them
        (`refit=true`): the tokenizer and every other split stay as they are."""
        self.splits["train"] = EncodedSplit.concat(self.splits["train"], self.splits["validation"])

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

    def _ranks(self) -> tuple[int, int]:
        return (self.trainer.world_size, self.trainer.global_rank) if self.trainer else (1, 0)

    def _sampler(self, split: str, ranks: tuple[int, int] | None = None) -> EpochSampler:
        train = split == "train"
        ranks = ranks or self._ranks()
        return EpochSampler(
            self.splits[split].lengths,
            self.batch_size if train else self.eval_batch_size,
            seed=self.shuffle_seed,
            shuffle=train,
            bucket=self.bucket,
            num_replicas=ranks[0],
            rank=ranks[1],
        )

    def eval_order(self, split: str, served: list[int] | None = None) -> np.ndarray:
        """The split's examples in the order the evaluation loaders serve them: rank 0's
        share, then rank 1's, ... (one process: the whole order). `served`: how many
        each rank evaluated, where a limited pass (`trainer.limit_test_batches`,
        `debug=fdr`) stopped early: the first ones of its share."""
        world = self._ranks()[0]
        shares = [
            np.fromiter(self._sampler(split, (world, rank)), dtype=np.int64)
            for rank in range(world)
        ]
        if served is not None:
            shares = [share[:n] for share, n in zip(shares, served, strict=True)]
        return np.concatenate(shares)

    def _loader(self, split: str, ranks: tuple[int, int] | None = None) -> DataLoader:
        train = split == "train"
        on_cuda = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size if train else self.eval_batch_size,
            sampler=self._sampler(split, ranks),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # page-locked batches let the copy to the GPU overlap the previous step
            pin_memory=on_cuda,
            collate_fn=PadCollator(self.pad_id),
            # Its own generator: creating an iterator (worker seeds) then draws no number
            # from the global RNG, so a run resumed from a checkpoint sees the same dropout.
            generator=torch.Generator().manual_seed(self.shuffle_seed),
        )

    def whole_split_loader(self, split: str) -> DataLoader:
        """Every example of the split once, in this process alone (no DDP share): for
        statistics counted before training, which padded DDP shares would count twice."""
        return self._loader(split, ranks=(1, 0))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
