"""Start an embedding from pretrained word vectors (word2vec / GloVe text format)."""

import logging
from pathlib import Path

import torch
from torch import nn

from textbench.errors import ConfigError

log = logging.getLogger(__name__)


def load_word_vectors(
    embedding: nn.Embedding, vocab: dict[str, int], path: str, freeze: bool = False
) -> float:
    """Copy the vectors of the vocabulary's words from `path` into `embedding`; returns the
    share of the vocabulary found. Words without a vector keep their random start."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            f"embeddings.path={path!r} does not exist; give a word2vec or GloVe "
            "text file (one 'word v1 v2 ...' per line)."
        )
    found = 0
    with torch.no_grad(), file.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2:  # word2vec header: count and dimension
                continue
            index = vocab.get(parts[0])
            if index is None:
                continue
            if len(parts) - 1 != embedding.embedding_dim:
                raise ConfigError(
                    f"{path}, line {number}: vectors have {len(parts) - 1} dimensions, the "
                    f"model's embedding {embedding.embedding_dim}; set model.encoder."
                    f"embedding_dim={len(parts) - 1}."
                )
            embedding.weight[index] = torch.tensor([float(x) for x in parts[1:]])
            found += 1
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx] = 0.0
    embedding.weight.requires_grad_(not freeze)
    coverage = found / max(1, len(vocab))
    log.info(
        "Word vectors: %d of %d words (%.1f%%) from %s%s",
        found,
        len(vocab),
        100 * coverage,
        path,
        "; frozen" if freeze else "",
    )
    return coverage
