"""Load a checkpoint safely: plain data, typed values, and only classes we trust.

A checkpoint is a file someone may have handed you. It is unpickled as plain data and
tensors only (`weights_only=True`); the whole of it is walked for `_target_`s and
interpolations (`textbench.trust.check_checkpoint`); its values are type-checked; and
the network is rebuilt by hand from the few classes a checkpoint may name, each node
checked against its closed schema. Nothing from it is ever passed to Hydra's
`instantiate`, which would build any `_target_` and resolve any `${...}` inside a value.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbench.errors import ConfigError
from textbench.trust import check_checkpoint, resolve

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

    @property
    def run_dir(self) -> Path | None:
        """The run directory the checkpoint lies in (`<run>/checkpoints/x.ckpt`), if any."""
        return run_dir_of(self.path)


def run_dir_of(checkpoint: Path) -> Path | None:
    parent = checkpoint.parent
    return parent.parent if parent.name == "checkpoints" else None


def inside(path: Path, root: Path) -> bool:
    """Whether `path` lies in `root` once every symbolic link is followed."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory: its refit model (refit=true), else its best
    checkpoint, else its last. A run directory's own checkpoints/ is the only place looked
    in: metrics.json gives the file's name, never a path elsewhere (a run directory may
    have been handed over or moved)."""
    path = Path(path)
    if path.is_dir():
        folder = path / "checkpoints"
        for name in [*_recorded_names(path / "metrics.json"), "last.ckpt", "interrupted.ckpt"]:
            candidate = folder / name
            if candidate.is_file() and inside(candidate, folder):
                return candidate
        raise ConfigError(
            f"ckpt={str(path)!r} is a directory without a checkpoint in its checkpoints/ "
            "folder; pass a run directory or a .ckpt file."
        )
    if path.is_file():
        return path
    raise ConfigError(
        f"ckpt={str(path)!r} does not exist; pass a run directory under outputs/ or a .ckpt file."
    )


def _recorded_names(metrics: Path) -> list[str]:
    """The file names of the refit and best checkpoints a run's metrics.json records."""
    try:
        results = json.loads(metrics.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(results, dict):
        return []
    refit = results.get("refit")
    recorded = [refit.get("checkpoint") if isinstance(refit, dict) else None]
    recorded.append(results.get("best_checkpoint"))
    names = [Path(r).name for r in recorded if isinstance(r, str)]
    return [n for n in names if n not in ("", ".", "..")]


def read_checkpoint(
    path: str | Path, trusted_modules: Sequence[str] = (), trusted_names: Sequence[str] = ()
) -> dict[str, Any]:
    """A textbench checkpoint's contents, refused unless it is plain, well-typed data that
    names only classes a checkpoint may rebuild (or those of `trusted_modules`, or the
    exact `trusted_names` of a run that resumes it)."""
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
    check_checkpoint(checkpoint, str(file), trusted_modules, trusted_names)
    typed = _Typed(str(file))
    typed.check(artifacts, "tokenizer", str)
    typed.check(artifacts, "tokenizer_config", dict)
    typed.names(artifacts, "label_names")
    typed.check(artifacts, "max_length", int, positive=True)
    if "temperature" in artifacts:
        typed.check(artifacts, "temperature", float, positive=True)
        if not math.isfinite(artifacts["temperature"]):
            raise typed.refuse("temperature", "a finite number")
    hparams = checkpoint.get("hyper_parameters", {})
    typed.value(hparams, "hyper_parameters", dict)
    typed.check(hparams, "vocab_size", int, positive=True)
    typed.check(hparams, "pad_id", int)
    typed.names(hparams, "label_names")
    if hparams.get("class_weights") is not None:
        typed.numbers(hparams, "class_weights")
    tokenizer_config = artifacts["tokenizer_config"]
    for key, kind in (("pad_token", str), ("unk_token", str), ("add_special_tokens", bool)):
        if key in tokenizer_config:
            typed.check(tokenizer_config, key, kind)
    return checkpoint


class _Typed:
    """One sentence for a value of the wrong type: the file was altered."""

    def __init__(self, source: str) -> None:
        self.source = source

    def refuse(self, key: str, kind: str) -> ConfigError:
        return ConfigError(
            f"Refused {self.source}: its {key} is not {kind}; this file was altered or not "
            "written by textbench-train."
        )

    def value(self, value: Any, key: str, kind: type, positive: bool = False) -> None:
        wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if wrong or (positive and value <= 0):
            raise self.refuse(key, f"{'a positive ' if positive else 'a '}{kind.__name__}")

    def check(self, node: Mapping, key: str, kind: type, positive: bool = False) -> None:
        self.value(node.get(key), key, kind, positive)

    def names(self, node: Mapping, key: str) -> None:
        names = node.get(key)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise self.refuse(key, "a list of label names (strings)")

    def numbers(self, node: Mapping, key: str) -> None:
        values = node.get(key)
        if not isinstance(values, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            raise self.refuse(key, "a list of numbers")


def load_checkpoint(path: str | Path, trusted_modules: Sequence[str] = ()) -> LoadedModel:
    """Rebuild the network (encoder → head) from the checkpoint's checked config, tokenizer
    and labels; no Lightning, no metrics, no `instantiate`."""
    import torch

    from textbench.data.tokenizers import TextTokenizer
    from textbench.models.network import TextNetwork, build_encoder

    file = resolve_checkpoint(path)
    checkpoint = read_checkpoint(file, trusted_modules)
    artifacts, hparams = checkpoint["textbench"], checkpoint["hyper_parameters"]
    label_names = list(artifacts["label_names"])
    if hparams["label_names"] != label_names:
        raise _Typed(str(file)).refuse("label_names", "the same list in both places")
    model = model_settings(artifacts["config"].get("model"), str(file))
    factory = encoder_factory(
        model["encoder"], str(file), trusted_modules, artifacts.get("encoder_architecture")
    )
    encoder = build_encoder(factory, hparams["vocab_size"], hparams["pad_id"], len(label_names))
    network = TextNetwork(encoder, len(label_names), model["head_dropout"])
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _Typed(str(file)).refuse("state_dict", "a dictionary of tensors")
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise ConfigError(
            f"Refused {file}: its weights do not fit the network its config describes "
            f"({str(error).splitlines()[0][:200]})."
        ) from None
    network.temperature.fill_(artifacts.get("temperature", 1.0))
    network.eval()
    tokenizer = TextTokenizer.restore(artifacts["tokenizer"], artifacts["tokenizer_config"])
    return LoadedModel(
        network, tokenizer, label_names, artifacts["max_length"], artifacts["config"], file
    )


def model_settings(node: Any, source: str) -> dict[str, Any]:
    """The model node, checked against TextClassifier's closed schema."""
    from textbench.schema import check_node

    if not isinstance(node, dict) or node.get("_target_") != CLASSIFIER:
        raise ConfigError(
            f"Refused {source}: textbench loads models built as {CLASSIFIER} (a network of "
            "your own is an encoder class; see README, Extending textbench)."
        )
    if not isinstance(node.get("encoder"), dict):
        raise _Typed(source).refuse("model.encoder", "a node naming an encoder class")
    settings = check_node(node, "model.", source)
    return {**settings, "encoder": node["encoder"]}


def encoder_factory(
    node: dict[str, Any],
    source: str,
    trusted_modules: Sequence[str],
    architecture: Any = None,
) -> Any:
    """The encoder class with its checked settings; `vocab_size`, `pad_id` (and
    `num_classes`) come from the checkpoint's typed hyper-parameters. An encoder that
    would read pretrained weights is rebuilt from the architecture the checkpoint carries
    (its weights are the checkpoint's)."""
    from textbench.schema import check_node

    encoder = resolve(node.get("_target_"), source, "model.encoder", trusted_modules)
    settings = check_node(node, "model.encoder.", source)
    rebuild = getattr(encoder, "from_architecture", None)
    if rebuild is not None:
        return partial(rebuild, architecture, **settings)
    return partial(encoder, **settings)
