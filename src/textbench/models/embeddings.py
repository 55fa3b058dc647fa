"""How an encoder's embeddings start: a chosen random scale, or word vectors from a file.

The scale matters, and not the same way for every model. PyTorch starts embeddings at
N(0, 1); Adam's steps of about `lr` barely move them, so for the CNN (Kim 2014) a small
U(-0.25, 0.25) start does better, and fastText starts its bag of n-grams at
U(-1/dim, 1/dim). A recurrent net fed such small inputs may not learn at all: the default
LSTM on the built-in data reaches 100.0% validation accuracy from N(0, 1) and stays at
chance (50.8%) from U(-0.25, 0.25). So the default (`auto`) is each encoder's own start, its
`embedding_scale` (uniform), or PyTorch's where it declares none.
"""

import logging
from pathlib import Path

import torch
from torch import nn

from textbench.errors import ConfigError

log = logging.getLogger(__name__)


def word_embedding(encoder: nn.Module, key: str) -> nn.Embedding:
    """The encoder's own word embedding; a pretrained encoder has none to re-initialise."""
    embedding = getattr(encoder, "embedding", None)
    if not isinstance(embedding, nn.Embedding):
        raise ConfigError(
            f"{key} is set, but {type(encoder).__name__} has no word embedding of its own "
            f"(a pretrained encoder keeps its weights); remove {key} or choose model=lstm, "
            "cnn, transformer or boe."
        )
    return embedding


KIM_SCALE = 0.25


def init_embeddings(encoder: nn.Module, init: str | None, scale: float | None) -> None:
    """Restart every embedding table of `encoder` (words, n-grams, positions) at
    U(-scale, scale) or N(0, scale), padding rows zero; `scale` None is the encoder's own.
    `auto` is uniform at the encoder's `embedding_scale` where it declares one; `pytorch`
    (or None) keeps PyTorch's N(0, 1)."""
    if init is None or init == "pytorch":
        return
    own_scale = getattr(encoder, "embedding_scale", None)
    if init == "auto":
        if own_scale is None:
            return
        init = "uniform"
    word_embedding(encoder, "embeddings.init")
    if scale is None:
        scale = own_scale or KIM_SCALE
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, nn.Embedding):
                if init == "uniform":
                    module.weight.uniform_(-scale, scale)
                else:
                    module.weight.normal_(0.0, scale)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx] = 0.0


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
    vectors = torch.zeros(embedding.num_embeddings, embedding.embedding_dim)
    found = torch.zeros(embedding.num_embeddings, dtype=torch.bool)
    with file.open(encoding="utf-8", errors="replace") as lines:
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
            vectors[index] = torch.tensor([float(x) for x in parts[1:]])
            found[index] = True
    return copy_vectors(embedding, vectors, found, freeze, str(path))


def copy_vectors(
    embedding: nn.Embedding,
    vectors: torch.Tensor,
    found: torch.Tensor,
    freeze: bool,
    source: str,
) -> float:
    """Start the rows `found` marks from `vectors` (the others keep their random start,
    padding stays zero), frozen or not; returns the share of the vocabulary covered."""
    with torch.no_grad():
        embedding.weight[found] = vectors[found].to(embedding.weight.dtype)
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx] = 0.0
    embedding.weight.requires_grad_(not freeze)
    coverage = int(found.sum()) / max(1, len(found))
    log.info(
        "Word vectors: %d of %d words (%.1f%%) from %s%s",
        int(found.sum()),
        len(found),
        100 * coverage,
        source,
        "; frozen" if freeze else "",
    )
    return coverage
