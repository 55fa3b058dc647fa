"""Export a trained model for serving without textbench: ONNX (run by onnxruntime) or
TorchScript, with a check: the saved model must give PyTorch's probabilities within 1e-5 on
real texts, in batches of several sizes and lengths (so dynamic shapes are exercised)."""

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textbench.data.batching import EncodedSplit, PadCollator
from textbench.errors import ConfigError
from textbench.files import atomic_path, write_json
from textbench.inference.checkpoint import LoadedModel, inside

TOLERANCE = 1e-5
FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}


class Probabilities(nn.Module):
    """(input_ids [batch, time], lengths [batch]) → class probabilities [batch, classes]."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network  # encoder → head → / temperature

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network(input_ids, lengths), dim=-1)


Runner = Callable[[torch.Tensor, torch.Tensor], np.ndarray]


def _save_torchscript(module: nn.Module, example: tuple, path: Path, max_length: int) -> Runner:
    traced = torch.jit.trace(module, example, check_trace=False)
    with atomic_path(path) as tmp:
        torch.jit.save(traced, str(tmp))
    reloaded = torch.jit.load(str(path))
    return lambda ids, lengths: reloaded(ids, lengths).numpy()


def _save_onnx(module: nn.Module, example: tuple, path: Path, max_length: int) -> Runner:
    try:
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as error:
        raise ConfigError(
            f"format=onnx needs onnx, onnxscript and onnxruntime ({error.name} is missing): "
            "pip install 'textbench[onnx]', or export with format=torchscript."
        ) from None
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=max_length)
    # torch's exporter reports every step and skipped optional operators: not the user's
    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with atomic_path(path) as tmp:
                torch.onnx.export(
                    module,
                    example,
                    str(tmp),
                    dynamo=True,
                    input_names=["input_ids", "lengths"],
                    output_names=["probabilities"],
                    dynamic_shapes={"input_ids": {0: batch, 1: length}, "lengths": {0: batch}},
                    verbose=False,
                    external_data=False,  # one file: nothing written beside it
                )
    finally:
        quiet.setLevel(level)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda ids, lengths: session.run(
        None, {"input_ids": ids.numpy(), "lengths": lengths.numpy()}
    )[0]


def export_dir(loaded: LoadedModel) -> Path:
    """The run's own export/ folder, refused where it is a link out of the run (a run
    directory someone handed over): the export would be written through it."""
    run = loaded.run_dir or loaded.path.parent
    out = run / "export"
    if out.is_symlink() or (out.exists() and not inside(out, run)):
        raise ConfigError(
            f"{out} is a link out of the run directory; the export would be written through "
            "it. Remove it, or name another folder with out=DIR."
        )
    return out


def export_model(
    loaded: LoadedModel,
    texts: list[str],
    out_dir: Path,
    kind: str = "onnx",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Save the model (`FILES[kind]`), its tokenizer and labels in `out_dir`, then run the
    saved model on every batch of `texts` (and the first text alone) against PyTorch."""
    ids = loaded.tokenizer.encode_batch(texts, loaded.max_length)
    split = EncodedSplit.from_lists(ids, [0] * len(ids))
    collate = PadCollator(loaded.tokenizer.pad_id)
    starts = range(0, len(split), batch_size)
    batches = [collate([split[0]])] + [
        collate([split[i] for i in range(s, min(s + batch_size, len(split)))]) for s in starts
    ]
    # Plain modules only: a LightningModule expects a Trainer that export does not have.
    module = Probabilities(loaded.model).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    save = _save_onnx if kind == "onnx" else _save_torchscript
    with torch.no_grad():
        example = (batches[1]["input_ids"], batches[1]["lengths"])
        run = save(module, example, out_dir / FILES[kind], loaded.max_length)
        worst = max(
            float(np.abs(run(ids, lengths) - module(ids, lengths).numpy()).max())
            for b in batches
            for ids, lengths in [(b["input_ids"], b["lengths"])]
        )
    loaded.tokenizer.save(out_dir / "tokenizer.json")
    info = {
        "format": kind,
        "model": FILES[kind],
        "checkpoint": str(loaded.path),
        "label_names": loaded.label_names,
        "max_length": loaded.max_length,
        "pad_id": loaded.tokenizer.pad_id,
        "unk_id": loaded.tokenizer.unk_id,  # an empty text is one unknown token
        "add_special_tokens": loaded.tokenizer.add_special_tokens,
        "checked_texts": len(texts),
        "checked_batches": len(batches),
        "max_abs_difference": worst,
        "tolerance": TOLERANCE,
        "matches": worst <= TOLERANCE,
    }
    write_json(out_dir / "export.json", info)
    return info
