"""Row cleaning, label ids and label checks, the same for every source."""

import hashlib
import logging
from typing import Any

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict

from textbench.errors import ConfigError

log = logging.getLogger(__name__)


def column(split: Dataset, name: str) -> list:
    """A whole column as a Python list, read through Arrow at once (not row by row)."""
    return split.with_format("arrow")[name].to_pylist()


def _is_bad(text: Any, label: Any, unlabeled: Any = None) -> bool:
    missing_label = (
        label is None
        or label == unlabeled
        or (isinstance(label, str) and not label.strip())
        or (isinstance(label, float) and np.isnan(label))
    )
    return not isinstance(text, str) or not text.strip() or missing_label


def drop_bad_rows(raw: DatasetDict, on_bad_rows: str) -> tuple[DatasetDict, dict[str, int]]:
    """Drop rows whose text or label is empty or missing, counting them per split;
    with `on_bad_rows=error`, name the first such row instead.

    A `ClassLabel` of -1 means "no label" (the hidden test labels of GLUE, say): such rows
    are missing a label, and a split without any label is left out, so that the data
    module carves that split from train as if the source had none.
    """
    dropped = {}
    for name, split in list(raw.items()):
        unlabeled = -1 if isinstance(split.features["label"], ClassLabel) else None
        labels = column(split, "label")
        if unlabeled is not None and labels and all(y == unlabeled for y in labels):
            log.warning(
                "The %s split has no labels (every ClassLabel is -1); it is left out and "
                "carved from train instead.",
                name,
            )
            del raw[name]
            dropped[name] = len(split)
            continue
        bad = [
            i
            for i, (t, y) in enumerate(zip(column(split, "text"), labels, strict=True))
            if _is_bad(t, y, unlabeled)
        ]
        if bad and on_bad_rows == "error":
            row = split[bad[0]]
            raise ConfigError(
                f"The {name} split has {len(bad)} rows with an empty or missing text or label; "
                f"the first is row {bad[0]} (text={row['text']!r:.60}, label={row['label']!r}). "
                "Fix the data, or set data.on_bad_rows=drop to skip such rows."
            )
        if bad:
            log.warning(
                "Dropped %d of %d %s rows with an empty or missing text or label.",
                len(bad),
                len(split),
                name,
            )
            raw[name] = split.select(sorted(set(range(len(split))) - set(bad)))
        dropped[name] = len(bad)
    return raw, dropped


def _label_key(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def encode_labels(
    raw: DatasetDict, label_names: list[str] | None = None
) -> tuple[DatasetDict, list[str]]:
    """Give labels integer ids shared by all splits; returns the data and the label names.

    A `ClassLabel` feature (Hub data sets) keeps its ids; `label_names` renames its classes
    by position and must name as many as it has. Other labels are sorted,
    numerically when they are all numbers and alphabetically otherwise, and numbered in
    that order: labels "neg"/"pos" become 0/1, labels 1..5 become ids 0..4 named "1".."5".
    `label_names` fixes the names and their order: integer labels 0..K-1 take them by
    position (IMDB: [neg, pos]), other labels by name (evaluation on new data, say).
    """
    feature = raw["train"].features["label"]
    if isinstance(feature, ClassLabel):
        names = [str(n) for n in label_names] if label_names else list(feature.names)
        if len(names) != feature.num_classes:
            raise ConfigError(
                f"data.label_names={names} names {len(names)} classes, but the data's labels "
                f"are its own {feature.num_classes} classes {feature.names}; give one name per "
                "class, in the order of their ids, or set data.label_names=null."
            )
        return raw.cast_column("label", ClassLabel(names=names)), names
    values = {_label_key(v) for split in raw.values() for v in split.unique("label")}
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    ordered = sorted(values) if numeric else sorted(values, key=str)
    index = {v: i for i, v in enumerate(ordered)}
    names = [str(v) for v in ordered]
    if label_names:
        names = [str(n) for n in label_names]
        if numeric and values <= set(range(len(names))):
            index = {i: i for i in range(len(names))}
        elif not numeric and {str(v) for v in values} <= set(names):
            index = {v: names.index(str(v)) for v in values}
        else:
            raise ConfigError(
                f"The labels {ordered[:10]} do not match data.label_names={names}: integer "
                "labels must lie in 0..K-1 and others must be among the names. Fix the data "
                "or set data.label_names=null to name labels by their values."
            )

    def to_ids(batch: dict[str, list]) -> dict[str, list[int]]:
        return {"label": [index[_label_key(v)] for v in batch["label"]]}

    raw = raw.map(to_ids, batched=True)
    return raw.cast_column("label", ClassLabel(names=names)), names


def check_labels(splits: dict[str, Dataset], names: list[str]) -> None:
    """A classifier needs two classes in train, and no class in evaluation that train lacks."""
    train_labels = set(splits["train"].unique("label"))
    if len(train_labels) < 2:
        raise ConfigError(
            f"The training split holds a single class ({[names[i] for i in train_labels]}); "
            "a classifier needs at least two. Check the data and data.label_column."
        )
    for split in ("validation", "test"):
        unseen = set(splits[split].unique("label")) - train_labels
        if unseen:
            raise ConfigError(
                f"The {split} split has labels {sorted(names[i] for i in unseen)} that never "
                f"occur in train (train has {sorted(names[i] for i in train_labels)}); the "
                "model could never predict them. Use data whose train split covers every class."
            )


def fingerprint(splits: dict[str, Dataset]) -> str:
    """A content hash of the texts and labels actually used, split by split."""
    digest = hashlib.blake2b(digest_size=8)
    for name, split in splits.items():
        digest.update(f"|{name}:{len(split)}|".encode())
        for text in column(split, "text"):
            digest.update(text.encode())
            digest.update(b"\0")
        digest.update(np.asarray(column(split, "label"), dtype=np.int64).tobytes())
    return digest.hexdigest()
