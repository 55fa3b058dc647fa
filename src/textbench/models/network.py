"""The network every textbench model is: an encoder, then dropout and a linear head.

`TextClassifier` trains it under Lightning; inference (eval, predict, export, the Python
API) rebuilds only this plain `nn.Module` from a checkpoint, so it never imports Lightning
or torchmetrics (seconds of start-up saved on every command).
"""

import torch
from torch import nn


def classification_head(input_dim: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, num_classes))


class TextNetwork(nn.Module):
    """Encoder → head; parameter names match `TextClassifier`'s, so its weights load."""

    def __init__(self, encoder: nn.Module, num_classes: int, head_dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = classification_head(encoder.output_dim, num_classes, head_dropout)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(input_ids, lengths))
