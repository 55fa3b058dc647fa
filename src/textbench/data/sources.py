"""Sources say where data lies: per split, something read in Arrow record batches with
`text` and `label` columns.

A split is a `datasets.Dataset` (small sources, JSON, the Hub), a `datasets.IterableDataset`
(`data.streaming=true`), or a `FileSplit`: a CSV, TSV or Parquet file that pyarrow reads
block by block, so a file larger than memory never lies in memory whole. Each `data` config
option names one of these functions as its `source`; cleaning, label ids and missing splits
are the data module's job, the same for every source.
"""

import codecs
import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import Dataset, DatasetDict, IterableDataset, load_dataset
from datasets.exceptions import DatasetGenerationError

from textbench.data.text_files import check_utf8, decode_strict, read_text, split_lines
from textbench.errors import ConfigError

log = logging.getLogger(__name__)

# file extension (or data.format) → the `datasets` builder that reads it
FORMATS = {"csv": "csv", "tsv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet"}
BLOCK_BYTES = 8 << 20  # CSV bytes pyarrow parses at a time
BATCH_ROWS = 10_000  # Parquet rows read at a time
Split = Dataset | IterableDataset  # or a FileSplit
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
) -> dict[str, "Split | FileSplit"]:
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
    if builder in ("csv", "parquet"):
        splits = {
            split: FileSplit(
                path,
                kind,
                f"data.{SPLIT_KEYS[split]}",
                text_column,
                label_column,
                column_names,
                delimiter,
                encoding_errors,
            )
            for split, path in paths.items()
        }
        for split in splits.values():
            split.check_columns()
        return splits
    for path in paths.values():
        check_utf8(path, encoding_errors)
    try:
        raw = load_dataset(
            builder,
            data_files={s: str(p) for s, p in paths.items()},
            encoding_errors=encoding_errors,
        )
    except (ValueError, DatasetGenerationError) as error:
        for split, path in paths.items():
            _explain_bad_json(path, f"data.{SPLIT_KEYS[split]}", encoding_errors)
        raise ConfigError(
            f"Could not read {', '.join(map(str, paths.values()))} as {kind}: "
            f"{error.__cause__ or error}. Check the files and data.format."
        ) from error
    return select_columns(raw, text_column, label_column, where=str(paths["train"]))


class FileSplit:
    """One CSV, TSV or Parquet file, read in record batches of bounded size, never whole.

    Texts are read as strings, and so are CSV labels (the data module orders labels that
    all look like numbers as numbers), so no column type is guessed from the first block.
    """

    def __init__(
        self,
        path: Path,
        kind: str,
        key: str,
        text_column: str = "text",
        label_column: str = "label",
        column_names: list[str] | None = None,
        delimiter: str | None = None,
        encoding_errors: str = "strict",
    ) -> None:
        self.path, self.kind, self.key = path, kind, key
        self.text_column, self.label_column = text_column, label_column
        self.column_names = list(column_names) if column_names else None
        self.delimiter = delimiter or ("\t" if kind == "tsv" else ",")
        self.encoding_errors = encoding_errors

    def check_columns(self) -> None:
        """Fail before any work when the text or label column is not in the file."""
        names = self._names()
        for column, key in ((self.text_column, "text_column"), (self.label_column, "label_column")):
            if column not in names:
                hint = ""
                if self.kind == "csv" and len(names) == 1 and "\t" in names[0]:
                    hint = (
                        " Its lines look tab-separated: set data.delimiter='\\t' "
                        "(or name the file .tsv)."
                    )
                raise ConfigError(
                    f"data.{key}={column!r} is not a column of {self.path}; its columns are "
                    f"{names}. Set data.{key} to one of them (or data.column_names for a file "
                    f"without a header).{hint}"
                )

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The text and label columns, renamed `text` and `label`, a block at a time."""
        rows = 0
        try:
            for batch in self._read():
                rows += batch.num_rows
                yield pa.record_batch(
                    [batch.column(self.text_column), batch.column(self.label_column)],
                    names=["text", "label"],
                )
        except pa.ArrowInvalid as error:
            if "UTF8" in str(error):
                _decode_strict_by_chunks(self.path)
            raise ConfigError(
                f"{self.key}={str(self.path)!r} could not be read as {self.kind}: {error}. "
                "Check the file, data.delimiter and data.format."
            ) from None
        if rows == 0:
            what = "has no rows" if self.kind == "parquet" else "has a header row but no examples"
            raise ConfigError(
                f"{self.key}={str(self.path)!r} {what}; it needs at least one example."
            )

    def _names(self) -> list[str]:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(self.path).schema_arrow.names
        if self.column_names:
            return self.column_names
        with self.path.open(encoding="utf-8", errors="replace", newline="") as f:
            return next(csv.reader([f.readline()], delimiter=self.delimiter), [])

    def _read(self) -> Iterator[pa.RecordBatch]:
        columns = [self.text_column, self.label_column]
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(self.path)
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)
            return
        import pyarrow.csv as pcsv

        source: Any = self.path
        if self.encoding_errors != "strict":  # bytes that are not UTF-8 read as U+FFFD
            source = codecs.EncodedFile(self.path.open("rb"), "utf-8", "utf-8", "replace")
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(
                block_size=BLOCK_BYTES,
                column_names=self.column_names,
                use_threads=True,
            ),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                include_columns=columns,
                column_types={c: pa.large_string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from reader


def load_hub(
    name: str,
    config_name: str | None = None,
    revision: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    train_split: str = "train",
    validation_split: str | None = None,
    test_split: str | None = "test",
    streaming: bool = False,
) -> dict[str, Split]:
    """A data set on the Hugging Face Hub (or a local dataset directory) by name.

    `streaming` reads it as it downloads, never storing it whole: for data sets larger than
    the disk or memory, at the price of reading the source again on every run (the token
    cache then only saves the tokenizing).
    """
    try:
        raw = load_dataset(name, config_name, revision=revision, streaming=streaming)
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
    raw = {ours: raw[theirs] for ours, theirs in wanted.items() if theirs}
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


def load_files_or_hub(hub_name: str, files: dict[str, str]) -> dict[str, "Split | FileSplit"]:
    """Local copies when every file exists (offline machines, tests), else the Hub."""
    if all(Path(p).is_file() for p in files.values()):
        return load_files(**files)
    log.info(
        "No local copy at %s; loading %s from the Hugging Face Hub", list(files.values()), hub_name
    )
    return load_hub(hub_name)


def select_columns(
    raw: dict[str, Split], text_column: str, label_column: str, where: str
) -> dict[str, Split]:
    """Keep the text and label columns, renamed to `text` and `label`."""
    renames = {text_column: "text", label_column: "label"}
    selected = {}
    for name, split in raw.items():
        names = split.column_names
        for column, key in ((text_column, "text_column"), (label_column, "label_column")):
            if names is not None and column not in names:  # a stream may not know its columns
                raise ConfigError(
                    f"data.{key}={column!r} is not a column of {where}; its columns are "
                    f"{names}. Set data.{key} to one of them (or data.column_names for a file "
                    "without a header)."
                )
        split = split.select_columns([text_column, label_column])
        selected[name] = split.rename_columns({k: v for k, v in renames.items() if k != v})
    return selected


def _explain_bad_json(path: Path, key: str, encoding_errors: str) -> None:
    """Name the first line of a JSON lines file that is not JSON."""
    text = read_text(path, encoding_errors)
    if text.lstrip().startswith("["):
        return
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


def _decode_strict_by_chunks(path: Path, chunk: int = 16 << 20) -> None:
    """`_decode_strict` over a file of any size, a chunk of whole lines at a time."""
    lines, rest = 0, b""
    with path.open("rb") as f:
        while block := f.read(chunk):
            block, rest = rest + block, b""
            if len(block) >= chunk and (cut := block.rfind(b"\n")) >= 0:
                block, rest = block[: cut + 1], block[cut + 1 :]
            decode_strict(path, block, lines)
            lines += block.count(b"\n")
        if rest:
            decode_strict(path, rest, lines)


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
