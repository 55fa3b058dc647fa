"""Sources turn a config into raw splits: a `DatasetDict` with `text` and a `ClassLabel` `label`."""

import logging
from pathlib import Path

from datasets import ClassLabel, DatasetDict, load_dataset

from textbench.errors import ConfigError

log = logging.getLogger(__name__)


def load_local_or_hub(
    hub_name: str,
    local_dir: str | None = None,
    files: dict[str, str] | None = None,
    label_names: list[str] | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> DatasetDict:
    """Read `local_dir/<files>` when they all exist, else download `hub_name` from the Hub.

    Local files keep offline machines and tests off the network; the Hub path is the
    default for everyone else.
    """
    files = dict(files or {})
    paths = {split: Path(local_dir or "", name) for split, name in files.items()}
    if local_dir and paths and all(p.is_file() for p in paths.values()):
        fmt = next(iter(paths.values())).suffix.lstrip(".")
        log.info("Loading %s from %s", hub_name, local_dir)
        raw = load_dataset(
            "parquet" if fmt == "parquet" else fmt, data_files={s: str(p) for s, p in paths.items()}
        )
    else:
        if local_dir:
            log.info(
                "No %s under %s; loading %s from the Hub", list(files.values()), local_dir, hub_name
            )
        raw = load_dataset(hub_name)
    return standardize(raw, text_column, label_column, label_names)


def standardize(
    raw: DatasetDict, text_column: str, label_column: str, label_names: list[str] | None
) -> DatasetDict:
    """Keep only `text` and an integer `label` whose names the `ClassLabel` feature holds."""
    first = next(iter(raw.values()))
    for column, key in ((text_column, "text_column"), (label_column, "label_column")):
        if column not in first.column_names:
            raise ConfigError(
                f"data.source.{key}={column!r} is not a column of the data; the columns are "
                f"{first.column_names}. Set data.source.{key} to one of them."
            )
    raw = raw.select_columns([text_column, label_column])
    if text_column != "text":
        raw = raw.rename_column(text_column, "text")
    if label_column != "label":
        raw = raw.rename_column(label_column, "label")
    feature = first.features[label_column]
    if isinstance(feature, ClassLabel):
        return raw
    if label_names is None:
        values = sorted({v for split in raw.values() for v in split.unique("label")})
        label_names = [str(v) for v in values]
    return raw.cast_column("label", ClassLabel(names=list(label_names)))
