"""Word vectors trained with Gensim's word2vec on the run's own texts, cached.

Kim (2014) started his CNN from word2vec vectors (CNN-static: frozen; CNN-non-static:
fine-tuned). Here they are trained, skip-gram with negative sampling as word2vec's
defaults, on the training split's tokens (exactly what the model sees) plus an optional
unlabeled corpus (e.g. the 50k IMDB reviews as movie-domain text for MR), tokenized by the
run's tokenizer. Never on validation or test texts. One worker thread and a hash of our
own make the vectors the same for the same seed, bit for bit (Gensim's default hash is
Python's, salted per process). Vectors are cached by the data's fingerprint, the
tokenizer, the corpus files' contents and the settings.
"""

import hashlib
import json
import logging
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from textbench.data.corpus import corpus_batches, file_digest
from textbench.errors import ConfigError
from textbench.files import atomic_write

log = logging.getLogger(__name__)

# skip-gram with negative sampling, word2vec's defaults; window, epochs and min_count are
# the run's (embeddings.word2vec_*)
FIXED = {"sg": 1, "negative": 5, "sample": 1e-3}


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode())


def word2vec_vectors(
    train: Any,
    tokenizer: Any,
    data: dict[str, Any],
    dim: int,
    corpus: list[str],
    seed: int,
    cache_root: Path | None,
    *,
    epochs: int,
    window: int,
    min_count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """[vocab, dim] vectors in the tokenizer's id order, and which ids got one (words seen
    fewer than `min_count` times get none and keep their random start). Trained on the
    training split's texts (`train`, as token ids) plus the corpus files; `data` says
    which split and tokenizer those are, for the cache key."""
    settings = {**FIXED, "epochs": epochs, "window": window, "min_count": min_count}
    key = {
        **data,
        "corpus": [file_digest(p) for p in corpus],  # a missing file is refused here
        "dim": dim,
        "seed": seed,
        **settings,
    }
    text = json.dumps(key, sort_keys=True, default=str)
    name = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    entry = cache_root / "word2vec" / f"{name}.npz" if cache_root else None
    if entry is not None and entry.is_file():
        with np.load(entry) as stored:
            log.info("Word2vec cache hit: %s", entry)
            return stored["vectors"], stored["found"]
    vectors, found = _train(train, tokenizer, dim, corpus, seed, settings)
    if entry is not None:
        try:
            with atomic_write(entry, "wb") as f:
                np.savez(f, vectors=vectors, found=found)
        except OSError as error:
            log.warning("Word2vec vectors not cached (%s); runs still work without it.", error)
    return vectors, found


def _train(
    split: Any, tokenizer: Any, dim: int, corpus: list[str], seed: int, settings: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise ConfigError(
            "embeddings.word2vec=true needs Gensim: pip install 'textbench[word2vec]'."
        ) from None

    vocab = tokenizer.vocab
    words = [""] * len(vocab)
    for word, index in vocab.items():
        words[index] = word
    sentences = [
        [words[i] for i in split.ids[split.offsets[k] : split.offsets[k + 1]]]
        for k in range(len(split))
    ]
    for texts in corpus_batches(corpus):
        batch = tokenizer.encode_batch(texts, 100_000)
        sentences.extend([words[i] for i in ids] for ids in batch)
    started = time.perf_counter()
    chatty = logging.getLogger("gensim")  # a dozen lines a run; ours below says what counts
    level, chatty.level = chatty.level, logging.WARNING
    try:
        model = Word2Vec(
            sentences, vector_size=dim, workers=1, seed=seed, hashfxn=_stable_hash, **settings
        )
    finally:
        chatty.setLevel(level)
    vectors = np.zeros((len(words), dim), dtype=np.float32)
    found = np.zeros(len(words), dtype=bool)
    for index, word in enumerate(words):
        if word in model.wv.key_to_index:
            vectors[index] = model.wv[word]
            found[index] = True
    log.info(
        "Word2vec: %d of %d words got a vector, trained on %d texts (%d tokens) in %.0f s",
        found.sum(),
        len(words),
        len(sentences),
        model.corpus_total_words,
        time.perf_counter() - started,
    )
    return vectors, found
