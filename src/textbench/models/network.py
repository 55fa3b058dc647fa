"""The network every textbench model is: an encoder, then dropout and a linear head.

`TextClassifier` trains it under Lightning; inference (eval, predict, export, the Python
API) rebuilds only this plain `nn.Module` from a checkpoint, so it never imports Lightning
or torchmetrics (seconds of start-up saved on every command).
"""

import inspect
from collections.abc import Callable

import torch
from torch import nn


def build_encoder(
    factory: Callable[..., nn.Module], vocab_size: int, pad_id: int, num_classes: int
) -> nn.Module:
    """The encoder for this data: every encoder gets the vocabulary size and padding id;
    one whose scores are per class (NBSVM) declares `num_classes` and gets it too."""
    options = {"vocab_size": vocab_size, "pad_id": pad_id}
    if "num_classes" in inspect.signature(factory).parameters:
        options["num_classes"] = num_classes
    return factory(**options)


def classification_head(input_dim: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, num_classes))


class TextNetwork(nn.Module):
    """Encoder → head; parameter names match `TextClassifier`'s, so its weights load."""

    def __init__(self, encoder: nn.Module, num_classes: int, head_dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = classification_head(encoder.output_dim, num_classes, head_dropout)
        # the calibration temperature the checkpoint carries (1: none)
        self.register_buffer("temperature", torch.ones(()), persistent=False)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(input_ids, lengths)) / self.temperature
