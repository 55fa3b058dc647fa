"""The model a server answers with: from a checkpoint or run directory (through the same
trust check as every command, then exported to ONNX and checked against PyTorch), or from
an export folder (`textbench-export`'s model.onnx, tokenizer.json and export.json); run by
onnxruntime (fp32, or int8 by dynamic quantization) or by PyTorch.

`predict_proba` takes any batch of texts: it tokenizes them with the run's own tokenizer,
sorts them by length and pads each length bucket on its own, and returns the class
probabilities in input order.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textbench.errors import ConfigError

RUNTIMES = ("onnx", "torch")
QUANTIZATIONS = ("none", "dynamic")


@dataclass
class ServedModel:
    """What the server needs: a runner of (ids, lengths) → probabilities, the tokenizer,
    the labels, and what /metadata tells about where the model came from."""

    run: Any  # (input_ids [batch, length] int64, lengths [batch] int64) -> probabilities
    encode: Any  # list[str] -> list[list[int]], truncated to max_length
    pad_id: int
    label_names: list[str]
    max_length: int
    metadata: dict[str, Any] = field(default_factory=dict)
    # temporary folders (the export, its int8 copy), removed with the model or at exit
    scratch: list[tempfile.TemporaryDirectory] = field(default_factory=list, repr=False)

    def predict_proba(self, texts: Sequence[str], bucket_ratio: float = 2.0) -> np.ndarray:
        """Probabilities [len(texts), classes] in input order; texts of similar length are
        padded together (a new bucket where the length grows by `bucket_ratio`)."""
        ids = self.encode(list(texts))
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        probs = np.zeros((len(ids), len(self.label_names)), dtype=np.float32)
        start = 0
        while start < len(order):
            shortest = max(len(ids[order[start]]), 8)
            end = start + 1
            while end < len(order) and len(ids[order[end]]) <= shortest * bucket_ratio:
                end += 1
            bucket = order[start:end]
            width = max(len(ids[i]) for i in bucket)
            batch = np.full((len(bucket), width), self.pad_id, dtype=np.int64)
            for row, i in enumerate(bucket):
                batch[row, : len(ids[i])] = ids[i]
            lengths = np.array([len(ids[i]) for i in bucket], dtype=np.int64)
            probs[bucket] = self.run(batch, lengths)
            start = end
        return probs


def load_served_model(
    source: str | Path,
    runtime: str = "onnx",
    quantize: str = "none",
    threads: int | None = None,
    trust: Sequence[str] = (),
) -> tuple[ServedModel, Any]:
    """The model to serve, and the checkpoint's LoadedModel where there is one (for the
    accuracy check of quantization on its test split)."""
    path = Path(source)
    if quantize != "none" and runtime != "onnx":
        raise ConfigError("quantize=dynamic is onnxruntime's: use it with runtime=onnx.")
    if path.is_dir() and (path / "export.json").is_file():
        if runtime != "onnx":
            raise ConfigError(
                f"ckpt={str(source)!r} is an ONNX export: serve it with runtime=onnx, or "
                "give the run directory for runtime=torch."
            )
        return _from_export(path, quantize, threads), None
    from textbench.inference.checkpoint import load_checkpoint

    loaded = load_checkpoint(source, list(trust))  # the trust check of every command
    if threads:
        import torch

        torch.set_num_threads(threads)
    if runtime == "torch":
        return _from_torch(loaded), loaded
    scratch = tempfile.TemporaryDirectory(prefix="textbench-serve-")
    folder = Path(scratch.name)
    from textbench.inference.exporting import export_model

    texts = ["a short text", "a longer text " * 20]
    info = export_model(loaded, texts, folder, "onnx")
    if not info["matches"]:
        raise ConfigError(
            f"The ONNX export of {loaded.path} does not match PyTorch within "
            f"{info['tolerance']:g} (max |difference| {info['max_abs_difference']:.2e}); "
            "serve it with runtime=torch."
        )
    served = _from_export(folder, quantize, threads, encode=_encoder(loaded))
    served.metadata.update(_checkpoint_metadata(loaded))
    served.scratch.append(scratch)
    return served, loaded


def _encoder(loaded: Any) -> Any:
    return lambda texts: loaded.tokenizer.encode_batch(texts, loaded.max_length)


def _from_torch(loaded: Any) -> ServedModel:
    import torch

    @torch.inference_mode()
    def run(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        logits = loaded.model(torch.from_numpy(ids), torch.from_numpy(lengths))
        return torch.softmax(logits.float(), dim=-1).numpy()

    metadata = {"runtime": "torch", "precision": "fp32", **_checkpoint_metadata(loaded)}
    return ServedModel(
        run,
        _encoder(loaded),
        loaded.tokenizer.pad_id,
        list(loaded.label_names),
        loaded.max_length,
        metadata,
    )


def _from_export(
    folder: Path, quantize: str, threads: int | None, encode: Any = None
) -> ServedModel:
    """An export folder: onnxruntime on model.onnx (or its int8 quantization), the
    tokenizer.json beside it, labels and lengths from export.json (type-checked)."""
    import onnxruntime

    info = _export_info(folder)
    model_file = folder / "model.onnx"
    precision, scratch = "fp32", []
    if quantize == "dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        scratch.append(tempfile.TemporaryDirectory(prefix="textbench-int8-"))
        quantized = Path(scratch[0].name) / "model.int8.onnx"
        quantize_dynamic(str(model_file), str(quantized), weight_type=QuantType.QInt8)
        model_file, precision = quantized, "int8 (dynamic)"
    options = onnxruntime.SessionOptions()
    # idle runtime threads sleep instead of spinning: the event loop answering requests
    # needs the same cores between batches
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(model_file), options, providers=["CPUExecutionProvider"]
    )

    def run(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return session.run(None, {"input_ids": ids, "lengths": lengths})[0]

    if encode is None:
        encode = _export_encoder(folder, info)
    metadata = {
        "runtime": "onnxruntime",
        "precision": precision,
        "export": str(folder),
        "checkpoint": info.get("checkpoint"),
    }
    return ServedModel(
        run, encode, info["pad_id"], info["label_names"], info["max_length"], metadata, scratch
    )


def _export_info(folder: Path) -> dict[str, Any]:
    """export.json, each value typed: it is data from a folder someone may have handed
    over (the ONNX file itself is data for onnxruntime, which runs no Python)."""
    for name in ("model.onnx", "tokenizer.json", "export.json"):
        if not (folder / name).is_file():
            raise ConfigError(f"{folder} has no {name}: give a folder textbench-export wrote.")
    try:
        info = json.loads((folder / "export.json").read_text())
    except ValueError as error:
        raise ConfigError(f"{folder}/export.json is not JSON ({error}).") from None
    names = info.get("label_names")
    typed = (
        isinstance(names, list)
        and len(names) >= 2
        and all(isinstance(n, str) for n in names)
        and all(
            isinstance(info.get(k), int) and not isinstance(info.get(k), bool)
            for k in ("pad_id", "max_length")
        )
        and info["max_length"] > 0
    )
    if not typed or info.get("format") != "onnx":
        raise ConfigError(
            f"{folder}/export.json is not an ONNX export's record (label_names, pad_id, "
            "max_length); export the run again with textbench-export."
        )
    return info


def _export_encoder(folder: Path, info: dict[str, Any]) -> Any:
    """The export's tokenizer, truncating at max_length; an empty text becomes one
    unknown token, as textbench's own tokenizers do."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(info["max_length"])
    unk = info.get("unk_id")
    if not isinstance(unk, int):
        unk = next(
            (i for t in ("<unk>", "[UNK]") if (i := tokenizer.token_to_id(t)) is not None), 0
        )
    special = bool(info.get("add_special_tokens", False))

    def encode(texts: list[str]) -> list[list[int]]:
        encodings = tokenizer.encode_batch_fast(texts, add_special_tokens=special)
        return [e.ids or [unk] for e in encodings]

    return encode


def _checkpoint_metadata(loaded: Any) -> dict[str, Any]:
    """Where the model came from: its checkpoint, run, model, code version and metrics."""
    from textbench.reporting.runs import read_record

    config = loaded.config
    run = loaded.run_dir
    metrics = read_record(run, "metrics.json") if run else {}
    manifest = read_record(run, "manifest.json") if run else {}
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    encoder = model.get("encoder") if isinstance(model.get("encoder"), dict) else {}
    return {
        "checkpoint": str(loaded.path),
        "run": str(run) if run else None,
        "model": encoder.get("_target_"),
        "code": manifest.get("code"),
        "metrics": {"best_val": metrics.get("best_val"), "test": metrics.get("test")},
    }


def quantization_check(
    served: ServedModel, loaded: Any, trust: Sequence[str], limit: int = 2000
) -> str:
    """One sentence: the int8 model's test accuracy against the fp32 one's, on (up to
    `limit` texts of) the run's test split, read by the data rule of every command."""
    if loaded is None:
        return (
            "int8 (dynamic): no accuracy check, an export folder carries no test split; "
            "serve the run directory to see the change."
        )
    from textbench.inference.scoring import build_data

    data = build_data(loaded, trust=trust)
    texts = data.split_texts("test", limit)
    labels = np.asarray(data.splits["test"].labels[: len(texts)])
    fp32 = _from_export(Path(served.metadata["export"]), "none", None, served.encode)
    accuracy = {
        name: float((model.predict_proba(texts).argmax(axis=1) == labels).mean())
        for name, model in (("int8", served), ("fp32", fp32))
    }
    change = accuracy["int8"] - accuracy["fp32"]
    return (
        f"int8 (dynamic): test accuracy {accuracy['int8']:.4f} against fp32's "
        f"{accuracy['fp32']:.4f} ({change:+.4f}) on {len(texts):,} test texts."
    )
