"""fastText-style bag of n-grams: the mean of word and hashed n-gram embeddings.

A strong, fast baseline for long texts (Joulin et al. 2017): on IMDB it beats most
sequence models trained for the same minutes. N-grams are hashed into `buckets` rows,
computed on the fly from the token ids, so no n-gram vocabulary is built.
"""

import torch
from torch import nn

from textbench.models.pooling import padding_mask

_PRIMES = (1_000_003, 998_244_353, 1_000_000_007)


def hashed_ngrams(
    input_ids: torch.Tensor, lengths: torch.Tensor, n: int, buckets: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The bucket of each n-gram starting at positions 0..time-n, and whether it lies
    within the text: two [batch, time - n + 1] tensors (`time` >= n)."""
    width = input_ids.size(1) - n + 1
    ids = input_ids[:, :width]
    for k in range(1, n):
        ids = ids * _PRIMES[k % len(_PRIMES)] + input_ids[:, k : k + width]
    return ids.remainder(buckets), padding_mask((lengths - n + 1).clamp(min=0), width)


class BagOfNgramsEncoder(nn.Module):
    """Embeddings of the words and of the 2..`ngrams`-grams of each text, averaged."""

    def __init__(
        self,
        vocab_size: int,
        pad_id: int = 0,
        embedding_dim: int = 64,
        ngrams: int = 2,
        buckets: int = 500_000,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.ngrams = ngrams
        self.buckets = buckets
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.grams = nn.Embedding(buckets, embedding_dim) if ngrams > 1 else None
        self.dropout = nn.Dropout(dropout)
        self.output_dim = embedding_dim
        self.embedding_scale = 1 / embedding_dim  # fastText's start, U(-1/dim, 1/dim)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(lengths, input_ids.size(1)).unsqueeze(-1)
        total = (self.embedding(input_ids) * mask).sum(dim=1)
        count = lengths.clamp(min=1).unsqueeze(-1).to(total.dtype)
        for n in range(2, self.ngrams + 1):
            if input_ids.size(1) < n:
                break
            ids, valid = hashed_ngrams(input_ids, lengths, n, self.buckets)
            total = total + (self.grams(ids) * valid.unsqueeze(-1)).sum(dim=1)
            count = count + (lengths - n + 1).clamp(min=0).unsqueeze(-1).to(total.dtype)
        return self.dropout(total / count)
