"""Unlabeled text files (`embeddings.word2vec_corpus`): word2vec trains on them, and the
vocabulary may take their words. Their labels, if any, are never read."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

from textbench.data.text_files import read_texts
from textbench.errors import ConfigError

BATCH = 2048


def corpus_texts(path: str) -> Iterator[str]:
    """The texts of an unlabeled corpus file: .parquet (its `text` column), .csv / .tsv /
    .jsonl rows (`text`), or plain text, one text a line."""
    file = _existing(path)
    if file.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(file)
        if "text" not in table.schema_arrow.names:
            raise ConfigError(
                f"embeddings.word2vec_corpus: {path} has no 'text' column "
                f"(it has {', '.join(table.schema_arrow.names)})."
            )
        for batch in table.iter_batches(columns=["text"], batch_size=BATCH):
            yield from (t or "" for t in batch.column(0).to_pylist())
        return
    yield from read_texts(str(file))


def corpus_batches(paths: list[str]) -> Iterator[list[str]]:
    """The texts of every file, in batches of `BATCH`."""
    for path in paths:
        batch: list[str] = []
        for text in corpus_texts(path):
            batch.append(text)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def file_digest(path: str) -> str:
    """The file's content hash: a cache keyed on it sees a corpus that changed in place."""
    digest = hashlib.blake2b(digest_size=16)
    with _existing(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _existing(path: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            f"embeddings.word2vec_corpus: {path!r} does not exist; give text files (one "
            "text a line), CSV/TSV/JSONL or Parquet files with a 'text' column."
        )
    return file
