"""Transformer encoder: token + learned positions → pre-LN encoder with padding masks."""

import torch
from torch import nn

from textbench.models.pooling import padding_mask, pool


class TransformerEncoder(nn.Module):
    """Pre-LN `nn.TransformerEncoder`; padding is masked out of attention and pooling."""

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
        positions = torch.arange(x.size(1), device=x.device)
        x = self.dropout(x + self.position(positions))
        states = self.encoder(x, src_key_padding_mask=~padding_mask(lengths, x.size(1)))
        if self.cls is not None:
            return states[:, 0]
        return pool(states, lengths, "mean")
