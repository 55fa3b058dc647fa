"""Kim (2014) CNN: parallel 1-D convolutions of several widths, max-over-time pooling."""

import torch
import torch.nn.functional as F
from torch import nn


class CNNEncoder(nn.Module):
    """Embedding → Conv1d per kernel size → ReLU → max over each text's real windows."""

    def __init__(
        self,
        vocab_size: int,
        pad_id: int = 0,
        embedding_dim: int = 300,
        num_filters: int = 100,
        kernel_sizes: tuple[int, ...] = (3, 4, 5),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.kernel_sizes = tuple(kernel_sizes)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, num_filters, k) for k in kernel_sizes)
        self.output_dim = num_filters * len(self.kernel_sizes)
        self.embedding_scale = 0.25  # Kim (2014): U(-0.25, 0.25)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(input_ids)).transpose(1, 2)
        # Zeros equal the padding embedding: texts shorter than a kernel still get a window,
        # and the result never depends on how far a batch is padded. No branch on the
        # length, so the model traces for export.
        x = F.pad(x, (0, max(self.kernel_sizes) - 1))
        features = []
        for k, conv in zip(self.kernel_sizes, self.convs, strict=True):
            h = F.relu(conv(x))
            # Windows that start past a text's end read only padding; a text shorter
            # than k keeps its first window.
            last_start = (lengths - k).clamp(min=0)
            valid = torch.arange(h.size(-1), device=h.device)[None, :] <= last_start[:, None]
            features.append(h.masked_fill(~valid.unsqueeze(1), 0.0).amax(dim=-1))
        return torch.cat(features, dim=-1)
