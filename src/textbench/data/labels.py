"""Row cleaning, label ids and label checks, the same for every source, on Arrow columns.

Everything here works on whole record batches with pyarrow's compute kernels, so millions
of rows are cleaned and labelled without a Python loop over them.
"""

import logging
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from textbench.errors import ConfigError

log = logging.getLogger(__name__)


def bad_rows(text: pa.Array, label: pa.Array, unlabeled: int | None = None) -> np.ndarray:
    """Rows whose text or label is empty, blank or missing (as a boolean mask).

    `unlabeled` is the label value that means "no label": -1 for a `ClassLabel` (the
    hidden test labels of GLUE, say).
    """
    bad_text = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    if pa.types.is_string(label.type) or pa.types.is_large_string(label.type):
        bad_label = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(label), ""), True)
    elif pa.types.is_floating(label.type):
        bad_label = pc.fill_null(pc.is_nan(label), True)
    else:
        bad_label = pc.is_null(label)
    if unlabeled is not None:
        bad_label = pc.or_(bad_label, pc.fill_null(pc.equal(label, unlabeled), True))
    return pc.or_(bad_text, bad_label).to_numpy(zero_copy_only=False)


def _label_key(value: Any) -> Any:
    """The value a label stands for: "2", 2.0 and 2 are one class; other text is itself."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return value
            if not math.isfinite(number):
                return value
            value = number
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def label_index(
    values: set[Any], class_names: list[str] | None, label_names: list[str] | None
) -> tuple[dict[Any, int], list[str]]:
    """Integer ids for the label values of all splits, and the label names.

    A `ClassLabel` (Hub data sets, `class_names`) keeps its ids; `label_names` renames its
    classes by position and must name as many as it has. Other labels are sorted,
    numerically when they are all numbers and alphabetically otherwise, and numbered in
    that order: labels "neg"/"pos" become 0/1, labels 1..5 become ids 0..4 named "1".."5".
    `label_names` fixes the names and their order: integer labels 0..K-1 take them by
    position (IMDB: [neg, pos]), other labels by name (evaluation on new data, say).
    Keys of the returned index are `_label_key`s of the values.
    """
    if class_names is not None:
        names = [str(n) for n in label_names] if label_names else list(class_names)
        if len(names) != len(class_names):
            raise ConfigError(
                f"data.label_names={names} names {len(names)} classes, but the data's labels "
                f"are its own {len(class_names)} classes {class_names}; give one name per "
                "class, in the order of their ids, or set data.label_names=null."
            )
        return {i: i for i in range(len(names))}, names
    keys = {_label_key(v) for v in values}
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in keys)
    ordered = sorted(keys) if numeric else sorted(keys, key=str)
    index = {v: i for i, v in enumerate(ordered)}
    names = [str(v) for v in ordered]
    if label_names:
        names = [str(n) for n in label_names]
        if numeric and keys <= set(range(len(names))):
            index = {i: i for i in range(len(names))}
        elif not numeric and {str(v) for v in keys} <= set(names):
            index = {v: names.index(str(v)) for v in keys}
        else:
            raise ConfigError(
                f"The labels {ordered[:10]} do not match data.label_names={names}: integer "
                "labels must lie in 0..K-1 and others must be among the names. Fix the data "
                "or set data.label_names=null to name labels by their values."
            )
    return index, names


def label_ids(labels: pa.ChunkedArray, index: dict[Any, int]) -> np.ndarray:
    """Map a whole label column to ids through its distinct values, without a row loop."""
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    distinct = pc.unique(labels)
    lookup = np.array([index[_label_key(v)] for v in distinct.to_pylist()], dtype=np.int64)
    return lookup[pc.index_in(labels, value_set=distinct).to_numpy()]


def check_labels(labels: dict[str, np.ndarray], names: list[str]) -> None:
    """A classifier needs two classes in train, and no class in evaluation that train lacks."""
    train_labels = set(np.unique(labels["train"]).tolist())
    if len(train_labels) < 2:
        raise ConfigError(
            f"The training split holds a single class ({[names[i] for i in train_labels]}); "
            "a classifier needs at least two. Check the data and data.label_column."
        )
    for split in ("validation", "test"):
        unseen = set(np.unique(labels[split]).tolist()) - train_labels
        if unseen:
            raise ConfigError(
                f"The {split} split has labels {sorted(names[i] for i in unseen)} that never "
                f"occur in train (train has {sorted(names[i] for i in train_labels)}); the "
                "model could never predict them. Use data whose train split covers every class."
            )


def hash_texts(digest: Any, texts: pa.Array) -> None:
    """Add each text followed by a NUL to `digest`, without a Python loop over the texts;
    the result does not depend on how the texts are cut into batches."""
    if len(texts) == 0:
        return
    empty, nul = pa.scalar("", texts.type), pa.scalar("\0", texts.type)
    joined = pc.binary_join_element_wise(texts, empty, nul)  # text + "\0", a fresh array
    offsets_type = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    offsets = np.frombuffer(joined.buffers()[1], dtype=offsets_type)
    start, end = int(offsets[joined.offset]), int(offsets[joined.offset + len(joined)])
    digest.update(memoryview(joined.buffers()[2])[start:end])
