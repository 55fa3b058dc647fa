"""Sources read data from where it lies into a `DatasetDict` with `text` and `label` columns.

Each `data` config option names one of these functions as its `source`; cleaning, label
ids and missing splits are the data module's job, the same for every source.
"""

import csv
import json
import logging
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, load_dataset
from datasets.exceptions import DatasetGenerationError

from textbench.errors import ConfigError

log = logging.getLogger(__name__)

# file extension (or data.format) → the `datasets` builder that reads it
FORMATS = {"csv": "csv", "tsv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet"}
SPLIT_KEYS = {"train": "train_file", "validation": "validation_file", "test": "test_file"}
# folder names accepted for each split in the `<split>/<label>/*.txt` layout
FOLDER_SPLITS = {
    "train": ("train",),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test",),
}


def load_files(
    train_file: str,
    validation_file: str | None = None,
    test_file: str | None = None,
    format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    column_names: list[str] | None = None,
    delimiter: str | None = None,
    encoding_errors: str = "strict",
) -> DatasetDict:
    """CSV, TSV, JSON, JSONL or Parquet files: one per split, or train alone (the data
    module then carves validation and test from it). The format follows the extension
    unless `format` is given; header-less CSV/TSV files name their columns by `column_names`.
    """
    paths = {
        split: Path(p)
        for split, p in (
            ("train", train_file),
            ("validation", validation_file),
            ("test", test_file),
        )
        if p
    }
    for split, path in paths.items():
        _check_file(path, f"data.{SPLIT_KEYS[split]}")
    kind = (format or paths["train"].suffix.lstrip(".")).lower()
    if kind not in FORMATS:
        raise ConfigError(
            f"data.train_file={train_file!r} has no known format ({kind!r}); set data.format "
            f"to one of {', '.join(FORMATS)}."
        )
    builder = FORMATS[kind]
    options: dict[str, Any] = {}
    if builder in ("csv", "json"):
        for path in paths.values():
            check_utf8(path, encoding_errors)
        options["encoding_errors"] = encoding_errors
    if builder == "csv":
        options["sep"] = delimiter or ("\t" if kind == "tsv" else ",")
        if column_names:
            options.update(column_names=list(column_names), header=None)
    try:
        raw = load_dataset(builder, data_files={s: str(p) for s, p in paths.items()}, **options)
    except (ValueError, DatasetGenerationError) as error:
        for split, path in paths.items():
            _explain_unreadable(path, builder, f"data.{SPLIT_KEYS[split]}", options)
        raise ConfigError(
            f"Could not read {', '.join(map(str, paths.values()))} as {kind}: "
            f"{error.__cause__ or error}. Check the files and data.format."
        ) from error
    return select_columns(
        raw,
        text_column,
        label_column,
        where=str(paths["train"]),
        delimiter_hint=builder == "csv" and delimiter is None,
    )


def load_hub(
    name: str,
    config_name: str | None = None,
    revision: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    train_split: str = "train",
    validation_split: str | None = None,
    test_split: str | None = "test",
) -> DatasetDict:
    """A data set on the Hugging Face Hub (or a local dataset directory) by name."""
    try:
        raw = load_dataset(name, config_name, revision=revision)
    except (ConnectionError, FileNotFoundError, ValueError) as error:
        raise ConfigError(
            f"Could not load data.name={name!r} (config {config_name!r}) from the Hugging Face "
            f"Hub: {error}. Check the name, your network, and HF_HUB_OFFLINE; or point "
            "data=files at local copies."
        ) from error
    wanted = {"train": train_split, "validation": validation_split, "test": test_split}
    missing = [s for s in wanted.values() if s and s not in raw]
    if missing:
        raise ConfigError(
            f"data.name={name!r} has no split {missing}; it has {list(raw)}. Set "
            "data.train_split / data.validation_split / data.test_split."
        )
    raw = DatasetDict({ours: raw[theirs] for ours, theirs in wanted.items() if theirs})
    return select_columns(raw, text_column, label_column, where=name)


def load_folder(path: str, encoding_errors: str = "strict") -> DatasetDict:
    """The `<split>/<label>/*.txt` layout of the original `aclImdb/`: one text a file, the
    folder name as label. Other folders (such as `unsup/`) are ignored.
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(
            f"data.path={path!r} is not a folder; point it at the folder that "
            "holds train/ (and test/), each with one sub-folder per label."
        )
    splits = {}
    for split, names in FOLDER_SPLITS.items():
        folder = next((root / n for n in names if (root / n).is_dir()), None)
        if folder is None:
            continue
        texts, labels = [], []
        for label_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for file in sorted(label_dir.glob("*.txt")):
                texts.append(read_text(file, encoding_errors))
                labels.append(label_dir.name)
        splits[split] = Dataset.from_dict({"text": texts, "label": labels})
    if "train" not in splits or not len(splits["train"]):
        found = sorted(p.name for p in root.iterdir())
        raise ConfigError(
            f"data.path={path!r} has no train/<label>/*.txt files (it holds "
            f"{found}); the layout is <split>/<label>/<any name>.txt."
        )
    return DatasetDict(splits)


def load_class_files(class_files: dict[str, str], encoding_errors: str = "strict") -> DatasetDict:
    """One file per class, one example per line (the `rt-polarity.pos/.neg` layout).

    Everything is train; the data module carves validation and test from it.
    """
    if not class_files or len(class_files) < 2:
        raise ConfigError(
            "data.class_files needs one file per class, at least two, e.g. "
            "data.class_files={pos: reviews.pos, neg: reviews.neg}."
        )
    texts, labels = [], []
    for label, file in class_files.items():
        path = Path(file)
        _check_file(path, f"data.class_files.{label}")
        lines = split_lines(read_text(path, encoding_errors))
        texts.extend(lines)
        labels.extend([str(label)] * len(lines))
    return DatasetDict(train=Dataset.from_dict({"text": texts, "label": labels}))


def load_files_or_hub(hub_name: str, files: dict[str, str], **options: Any) -> DatasetDict:
    """Local copies when every file exists (offline machines, tests), else the Hub."""
    if all(Path(p).is_file() for p in files.values()):
        return load_files(**files, **options)
    log.info(
        "No local copy at %s; loading %s from the Hugging Face Hub", list(files.values()), hub_name
    )
    return load_hub(hub_name)


def select_columns(
    raw: DatasetDict, text_column: str, label_column: str, where: str, delimiter_hint: bool = False
) -> DatasetDict:
    """Keep the text and label columns, renamed to `text` and `label`."""
    for split in raw.values():
        for column, key in ((text_column, "text_column"), (label_column, "label_column")):
            if column in split.column_names:
                continue
            hint = ""
            if delimiter_hint and len(split.column_names) == 1 and "\t" in split.column_names[0]:
                hint = (
                    " Its lines look tab-separated: set data.delimiter='\\t' "
                    "(or name the file .tsv)."
                )
            raise ConfigError(
                f"data.{key}={column!r} is not a column of {where}; its columns are "
                f"{split.column_names}. Set data.{key} to one of them (or data.column_names "
                f"for a file without a header).{hint}"
            )
    raw = raw.select_columns([text_column, label_column])
    renames = {text_column: "text", label_column: "label"}
    return raw.rename_columns({k: v for k, v in renames.items() if k != v})


def split_lines(text: str) -> list[str]:
    """Lines ended by `\\n` or `\\r\\n` only: `str.splitlines` also breaks at `\\x0c`, `\\x85`
    and U+2028, which occur inside real texts and would add examples."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _explain_unreadable(path: Path, builder: str, key: str, options: dict[str, Any]) -> None:
    """Find what in one file stopped the reader: no rows, or a line that is not JSON."""
    text = read_text(path, options.get("encoding_errors", "strict"))
    if builder == "json" and not text.lstrip().startswith("["):
        for number, line in enumerate(split_lines(text), start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                raise ConfigError(
                    f"{key}={str(path)!r}, line {number}: not valid JSON ({error.msg}, column "
                    f"{error.colno}). JSON lines files hold one JSON object per line; fix or "
                    "remove that line."
                ) from None
    if builder == "csv":
        rows = list(csv.reader(text.splitlines()[:3], delimiter=options["sep"]))
        header = 0 if options.get("header", "infer") is None else 1
        if len([r for r in rows if r]) <= header:
            raise ConfigError(
                f"{key}={str(path)!r} has a header row but no examples; it needs at least "
                "one row below the header."
            )


def read_text(path: Path, encoding_errors: str = "strict") -> str:
    """The file as text, read once; bytes that are not UTF-8 are an error unless replaced."""
    data = path.read_bytes()
    if encoding_errors != "strict":
        return data.decode("utf-8", errors=encoding_errors)
    return _decode_strict(path, data)


def check_utf8(path: Path, encoding_errors: str = "strict") -> None:
    """Name the file and line of the first bytes that are not UTF-8, unless told to replace."""
    if encoding_errors == "strict":
        _decode_strict(path, path.read_bytes())


def _decode_strict(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}, line {line}: bytes that are not UTF-8 "
            f"({data[error.start : error.start + 4]!r}). Re-encode the file as UTF-8, or set "
            "data.encoding_errors=replace to read them as U+FFFD."
        ) from None


def _check_file(path: Path, key: str) -> None:
    if not path.exists():
        raise ConfigError(
            f"{key}={str(path)!r} does not exist (relative paths are relative to "
            "the directory you run from); check the path."
        )
    if not path.is_file():
        raise ConfigError(f"{key}={str(path)!r} is a folder, not a file.")
    if path.stat().st_size == 0:
        raise ConfigError(
            f"{key}={str(path)!r} is empty; it needs a header (or "
            "data.column_names) and at least one example."
        )
