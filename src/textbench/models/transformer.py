"""Transformer encoder: token + learned positions → pre-LN encoder with padding masks."""

import torch
import torch.nn.functional as F
from torch import nn

from textbench.models.pooling import padding_mask, pool


class TransformerEncoder(nn.Module):
    """Pre-LN `nn.TransformerEncoder`; padding is masked out of attention and pooling."""

    # On CUDA the time axis is padded to a multiple of this. cuDNN's bf16 attention builds
    # a plan for each new shape (0.2 s on an H200), and length-bucketed batches bring a new
    # length nearly every step: without this, bf16-mixed ran 5x slower than fp32 at batch 32.
    CUDA_TIME_MULTIPLE = 8

    def __init__(
        self,
        vocab_size: int,
        pad_id: int = 0,
        d_model: int = 256,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        max_length: int = 512,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.position = nn.Embedding(max_length + 1, d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.output_dim = d_model
        self.embedding_scale = 0.25  # a small start, as Kim's (BERT: N(0, 0.02))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(input_ids)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.size(0), -1, -1), x], dim=1)
            lengths = lengths + 1
        room = self.position.num_embeddings
        width = max(x.size(1), min(_round_up(x.size(1), self._time_multiple(x)), room))
        x = F.pad(x, (0, 0, 0, width - x.size(1)))  # masked below, like any padding
        positions = torch.arange(x.size(1), device=x.device)
        x = self.dropout(x + self.position(positions))
        states = self.encoder(x, src_key_padding_mask=~padding_mask(lengths, x.size(1)))
        if self.cls is not None:
            return states[:, 0]
        return pool(states, lengths, "mean")

    def _time_multiple(self, x: torch.Tensor) -> int:
        return self.CUDA_TIME_MULTIPLE if x.is_cuda else 1


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple
