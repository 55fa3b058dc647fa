"""TorchScript export with a check: the exported model must match PyTorch within 1e-5."""

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textbench.data.batching import EncodedSplit, PadCollator
from textbench.inference.checkpoint import LoadedModel

TOLERANCE = 1e-5


class Probabilities(nn.Module):
    """(input_ids [batch, time], lengths [batch]) → class probabilities [batch, classes]."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(self.encoder(input_ids, lengths)), dim=-1)


def export_torchscript(
    loaded: LoadedModel, texts: list[str], out_dir: Path, batch_size: int = 64
) -> dict[str, Any]:
    """Trace the model on real inputs, save it with the tokenizer and labels, then compare
    the saved model with PyTorch on every batch of `texts` (several shapes)."""
    ids = loaded.tokenizer.encode_batch(texts, loaded.max_length)
    split = EncodedSplit.from_lists(ids, [0] * len(ids))
    collate = PadCollator(loaded.tokenizer.pad_id)
    batches = [
        collate([split[i] for i in range(s, min(s + batch_size, len(split)))])
        for s in range(0, len(split), batch_size)
    ]
    # Plain modules only: a LightningModule expects a Trainer that tracing does not have.
    module = Probabilities(loaded.model.encoder, loaded.model.head).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        example = (batches[0]["input_ids"], batches[0]["lengths"])
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, str(out_dir / "model.pt"))
        reloaded = torch.jit.load(str(out_dir / "model.pt"))
        worst = max(
            (reloaded(b["input_ids"], b["lengths"]) - module(b["input_ids"], b["lengths"]))
            .abs()
            .max()
            .item()
            for b in batches
        )
    loaded.tokenizer.save(out_dir / "tokenizer.json")
    info = {
        "format": "torchscript",
        "checkpoint": str(loaded.path),
        "label_names": loaded.label_names,
        "max_length": loaded.max_length,
        "pad_id": loaded.tokenizer.pad_id,
        "checked_texts": len(texts),
        "checked_batches": len(batches),
        "max_abs_difference": worst,
        "tolerance": TOLERANCE,
        "matches": worst <= TOLERANCE,
    }
    (out_dir / "export.json").write_text(json.dumps(info, indent=2) + "\n")
    return info
