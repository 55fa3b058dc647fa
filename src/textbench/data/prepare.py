"""Preparing a data set of any size in passes over record batches of bounded size.

1. `spill`: each split the source gives is read once, cleaned (bad rows counted and
   dropped), hashed, and its texts written to an Arrow file on disk; only the labels stay
   in memory (a few bytes a row).
2. `assign`: missing validation / test splits are carved from train, stratified by label
   and seeded, with the `datasets` splitter over labels alone. A split keeps the rows of
   its source in file order.
3. `fit_texts` feeds the training texts (or a seeded sample of them) to the tokenizer's
   Rust trainer batch by batch; `encode` encodes each batch in Rust and appends its ids to
   the split's `.npy` arrays. No step holds every text or every encoding at once.
"""

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import ClassLabel
from datasets.utils.stratify import stratified_shuffle_split_generate_indices

from textbench.data.batching import EncodedSplit
from textbench.data.cache import SPLITS, SplitWriter
from textbench.data.labels import bad_rows, hash_texts
from textbench.data.sources import BATCH_ROWS, FileSplit
from textbench.data.tokenizers import TextTokenizer
from textbench.errors import ConfigError

BATCH_BYTES = 4 << 20
_TEXTS = pa.schema([pa.field("text", pa.large_string())])


def record_batches(split: Any, rows: int = BATCH_ROWS) -> Iterator[Any]:
    """A source split as Arrow batches (record batches or small tables) of `text`, `label`."""
    if isinstance(split, FileSplit):
        yield from split.batches()
    else:  # a datasets.Dataset, or an IterableDataset when streaming
        yield from split.with_format("arrow").iter(batch_size=rows)


def class_names(split: Any) -> list[str] | None:
    """The names of a `ClassLabel` label column (Hub data sets), else None."""
    features = getattr(split, "features", None)
    feature = features.get("label") if features else None
    return list(feature.names) if isinstance(feature, ClassLabel) else None


@dataclass
class SourceSplit:
    """What `spill` keeps of one split of the source."""

    name: str
    texts: Path  # the cleaned texts, an Arrow IPC file
    labels: pa.ChunkedArray  # the cleaned rows' raw labels
    rows: int  # rows kept
    dropped: int
    first_bad: tuple[int, Any, Any] | None  # (row, text, label) of the first dropped row
    unlabeled: bool  # every label is the ClassLabel "no label" (-1)
    class_names: list[str] | None
    digest: bytes


def _array(column: Any) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def spill(name: str, split: Any, path: Path) -> SourceSplit:
    """Read, clean and hash one source split, writing its texts to `path`."""
    names = class_names(split)
    unlabeled_value = -1 if names is not None else None
    digest = hashlib.blake2b(digest_size=16)
    labels: list[pa.Array] = []
    rows = dropped = unlabeled = 0
    first_bad = None
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, _TEXTS) as writer:
        for batch in record_batches(split):
            if batch.num_rows == 0:
                continue
            text, label = _array(batch.column("text")), _array(batch.column("label"))
            if not (
                pa.types.is_string(text.type)
                or pa.types.is_large_string(text.type)
                or pa.types.is_null(text.type)  # all missing: every row is dropped
            ):
                raise ConfigError(
                    f"The text column of the {name} split holds {text.type} values, not "
                    "text; set data.text_column to the column that holds the texts."
                )
            text = text.cast(pa.large_string())
            bad = bad_rows(text, label, unlabeled_value)
            if unlabeled_value is not None:
                unlabeled += int((label.to_numpy(zero_copy_only=False) == -1).sum())
            if bad.any():
                if first_bad is None:
                    i = int(np.argmax(bad))
                    first_bad = (rows + dropped + i, text[i].as_py(), label[i].as_py())
                keep = pa.array(~bad)
                text, label = text.filter(keep), label.filter(keep)
                dropped += int(bad.sum())
            rows += len(text)
            hash_texts(digest, text)
            for piece in _pieces(text):
                writer.write_batch(pa.record_batch([piece], schema=_TEXTS))
            labels.append(label)
    return SourceSplit(
        name=name,
        texts=path,
        labels=pa.chunked_array(labels) if labels else pa.chunked_array([], pa.int64()),
        rows=rows,
        dropped=dropped,
        first_bad=first_bad,
        unlabeled=names is not None and rows + dropped > 0 and unlabeled == rows + dropped,
        class_names=names,
        digest=digest.digest(),
    )


def _pieces(texts: pa.Array) -> Iterator[pa.Array]:
    """Slices of at most `BATCH_ROWS` texts and about `BATCH_BYTES` of text: the unit
    that later passes hold in memory (with its encodings, ~100 bytes a token)."""
    ends = np.cumsum(pc.binary_length(texts).to_numpy(zero_copy_only=False))
    start = 0
    while start < len(texts):
        done = ends[start - 1] if start else 0
        by_bytes = int(np.searchsorted(ends, done + BATCH_BYTES, side="right"))
        stop = min(start + BATCH_ROWS, max(by_bytes, start + 1))
        yield texts.slice(start, stop - start)
        start = stop


def read_texts(path: Path) -> Iterator[tuple[int, pa.Array]]:
    """A spilled split's texts a batch at a time (read, not mapped), with each batch's
    first row."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        start = 0
        for i in range(reader.num_record_batches):
            texts = reader.get_batch(i).column(0)
            yield start, texts
            start += len(texts)


def select_texts(
    source: "SourceSplit", rows: np.ndarray, limit: int | None = None
) -> Iterator[list[str]]:
    """The texts of these rows of a spilled split, in file order, batch by batch."""
    mask = np.zeros(source.rows, dtype=bool)
    mask[rows] = True
    left = limit if limit is not None else len(rows)
    for start, texts in read_texts(source.texts):
        chosen = mask[start : start + len(texts)]
        if left <= 0:
            return
        if chosen.any():
            batch = texts.filter(pa.array(chosen)).to_pylist()[:left]
            left -= len(batch)
            yield batch


def assign(
    labels: dict[str, np.ndarray],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    max_samples: int | None,
    cv: tuple[int, int] | None = None,
) -> dict[str, tuple[str, np.ndarray]]:
    """Each split's source split and rows (ascending): a split the source lacks is carved
    from train, stratified by label and seeded by `seed`, by the splitter of `datasets`'
    `train_test_split` (called on the labels directly: that method reads its label column
    row by row); `max_samples` keeps a seeded random subset of each split. With
    `cv=(folds, fold)` that fold of scikit-learn's stratified k-fold split of train,
    shuffled with `seed`, is held out: as the test split, or as the validation split where
    the data has its own test split (`held_out`)."""
    parts = {name: (name, np.arange(len(ids))) for name, ids in labels.items()}
    if cv is not None:
        _cross_validation_fold(parts, labels, *cv, seed)
    for name, fraction in (("test", test_fraction), ("validation", val_fraction)):
        if name in parts:
            continue
        rows = parts["train"][1]
        n_test = math.ceil(fraction * len(rows))
        try:
            if not 0 < n_test < len(rows):
                raise ValueError(f"{len(rows)} training examples leave none for one side")
            keep, carved = next(
                stratified_shuffle_split_generate_indices(
                    labels["train"][rows], len(rows) - n_test, n_test, np.random.default_rng(seed)
                )
            )
        except ValueError as error:
            raise ConfigError(
                f"Could not carve a {name} split of {fraction:.0%} from train, stratified by "
                f"label: {error}. Use more data per class or set "
                f"data.{'val' if name == 'validation' else 'test'}_fraction."
            ) from error
        except Exception as error:  # the splitter's own words for a class of one example
            if str(error) != "Minimum class count error":
                raise
            raise ConfigError(
                f"Could not carve a {name} split from train: a class has a single example. "
                "Use more data per class, or give the split as a file."
            ) from None
        parts["train"], parts[name] = ("train", rows[keep]), ("train", rows[carved])
    if max_samples:  # as datasets' shuffle(seed).select(range(max_samples))
        parts = {
            k: (source, rows[np.random.default_rng(seed).permutation(len(rows))[:max_samples]])
            for k, (source, rows) in parts.items()
        }
    return {k: (parts[k][0], np.sort(parts[k][1])) for k in SPLITS}


def held_out(splits: Iterable[str]) -> str:
    """The split a cross-validation fold becomes: the test split, unless the data has its
    own; then the validation split (k-fold model selection, the test split kept whole)."""
    return "validation" if "test" in splits else "test"


def _cross_validation_fold(
    parts: dict[str, tuple[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    folds: int,
    fold: int,
    seed: int,
) -> None:
    """Make fold `fold` of `folds` the held-out split (in place)."""
    from sklearn.model_selection import StratifiedKFold

    if "test" in parts and "validation" in parts:
        raise ConfigError(
            "cv.folds is set, but the data has its own validation and test splits, so "
            "cross-validation has no split to make of each fold. Leave out the validation "
            "file (or split), or set cv.folds=null."
        )
    rows = parts["train"][1]
    try:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(
            np.zeros(len(rows)), labels["train"][rows]
        )
        keep, held = next(s for i, s in enumerate(splits) if i == fold)
    except ValueError as error:
        raise ConfigError(
            f"Could not split train into cv.folds={folds} stratified folds: {error}"
        ) from error
    parts["train"], parts[held_out(parts)] = ("train", rows[keep]), ("train", rows[held])


def fit_texts(
    source: SourceSplit, rows: np.ndarray, samples: int | None, seed: int
) -> Iterator[list[str]]:
    """The training texts for the tokenizer: all, or `samples` of them drawn with `seed`."""
    if samples is not None and samples < len(rows):
        rows = np.random.default_rng(seed).choice(rows, samples, replace=False)
    return select_texts(source, rows)


def encode(
    tokenizer: TextTokenizer,
    max_length: int,
    sources: dict[str, SourceSplit],
    assignment: dict[str, tuple[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    directory: Path,
    progress: Any = None,
) -> dict[str, EncodedSplit]:
    """Encode every split into `directory`, reading each source split's texts once."""
    encoded = {}
    for source in sources.values():
        targets = [name for name, (src, _) in assignment.items() if src == source.name]
        owner = np.full(source.rows, -1, dtype=np.int8)
        for k, name in enumerate(targets):
            owner[assignment[name][1]] = k
        writers = {name: SplitWriter(directory, name) for name in targets}
        for start, texts in read_texts(source.texts):
            own = owner[start : start + len(texts)]
            for k, name in enumerate(targets):
                chosen = own == k
                if chosen.any():
                    batch = texts.filter(pa.array(chosen)).to_pylist()
                    writers[name].write(tokenizer.encode_batch(batch, max_length))
            if progress is not None:
                progress.update(int((own >= 0).sum()))
        for name in targets:
            rows = assignment[name][1]
            encoded[name] = writers[name].close(labels[source.name][rows])
    return encoded
