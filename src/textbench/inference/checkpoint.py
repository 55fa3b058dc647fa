"""Load a checkpoint safely (plain data, trusted classes only) with all needed to use it."""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbench.errors import ConfigError
from textbench.registry import check_targets

if TYPE_CHECKING:  # torch and the model load only once a checkpoint is found
    from torch import nn

    from textbench.data.tokenizers import TextTokenizer

CLASSIFIER = "textbench.models.classifier.TextClassifier"


@dataclass
class LoadedModel:
    model: nn.Module  # TextNetwork: encoder → head
    tokenizer: TextTokenizer
    label_names: list[str]
    max_length: int
    config: dict[str, Any]
    path: Path


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory: its refit model (refit=true), else its best
    checkpoint, else its last."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        metrics = path / "metrics.json"
        if metrics.is_file():
            results = json.loads(metrics.read_text())
            best = (results.get("refit") or {}).get("checkpoint") or results.get("best_checkpoint")
            if best and Path(best).is_file():
                return Path(best)
        for name in ("last.ckpt", "interrupted.ckpt"):
            if (path / "checkpoints" / name).is_file():
                return path / "checkpoints" / name
        raise ConfigError(
            f"ckpt={str(path)!r} is a directory without metrics.json or "
            "checkpoints/last.ckpt; pass a run directory or a .ckpt file."
        )
    raise ConfigError(
        f"ckpt={str(path)!r} does not exist; pass a run directory under outputs/ or a .ckpt file."
    )


def read_checkpoint(path: str | Path, trusted_modules: Sequence[str] = ()) -> dict[str, Any]:
    """A textbench checkpoint's contents, refused unless it is plain data naming only code
    we trust.

    Only plain data and tensors are unpickled (`weights_only=True`): pickled Python objects
    could run any code when loaded. Then every `_target_` of the saved config must be one
    of textbench's own classes or lie in `trusted_modules` (`textbench.registry`), checked
    before anything is built from it.
    """
    import torch

    file = resolve_checkpoint(path)
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ConfigError(
            f"Refused to load {file}: it holds pickled Python objects, which could run "
            f"arbitrary code when loaded ({str(error).splitlines()[-1][:200]}). Only load "
            "checkpoints written by textbench, or re-save the weights as plain tensors."
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ConfigError(f"{file} is not a readable checkpoint: {error}") from None
    artifacts = checkpoint.get("textbench") if isinstance(checkpoint, dict) else None
    if not isinstance(artifacts, dict) or not isinstance(artifacts.get("config"), dict):
        raise ConfigError(
            f"{file} has no textbench artifacts (config, tokenizer, labels); "
            "it was not written by textbench-train."
        )
    for part in ("config", "tokenizer_config"):  # the tokenizer JSON itself is never built
        check_targets(artifacts.get(part), str(file), trusted_modules)
    return checkpoint


def load_checkpoint(path: str | Path, trusted_modules: Sequence[str] = ()) -> LoadedModel:
    """Rebuild the model from the checkpoint's own config, tokenizer and labels, after
    `read_checkpoint` has refused anything that could run code we do not trust."""
    from hydra.utils import instantiate

    from textbench.data.tokenizers import TextTokenizer
    from textbench.models.network import TextNetwork, build_encoder

    file = resolve_checkpoint(path)
    checkpoint = read_checkpoint(file, trusted_modules)
    artifacts = checkpoint["textbench"]
    hparams = checkpoint["hyper_parameters"]
    config = artifacts["config"]["model"]
    if config["_target_"] == CLASSIFIER:  # only the network: no Lightning, no metrics
        classes = len(hparams["label_names"])
        encoder = build_encoder(
            instantiate(config["encoder"]), hparams["vocab_size"], hparams["pad_id"], classes
        )
        model = TextNetwork(encoder, classes, config.get("head_dropout", 0.0))
    else:  # a LightningModule of the user's own (trusted by name)
        model = instantiate(
            config,
            vocab_size=hparams["vocab_size"],
            label_names=hparams["label_names"],
            pad_id=hparams["pad_id"],
            class_weights=hparams.get("class_weights"),
        )
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    tokenizer = TextTokenizer.restore(artifacts["tokenizer"], artifacts["tokenizer_config"])
    return LoadedModel(
        model,
        tokenizer,
        list(artifacts["label_names"]),
        int(artifacts["max_length"]),
        artifacts["config"],
        file,
    )
