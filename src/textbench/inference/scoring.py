"""Evaluate a checkpoint on a split of its data (or other data): overall and per-class
metrics, a confusion matrix (CSV and PNG) and the misclassified examples."""

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from textbench.data.datamodule import TextDataModule
from textbench.files import atomic_write, save_figure, write_csv, write_json
from textbench.inference.checkpoint import LoadedModel
from textbench.inference.checkpoint_data import CheckpointData
from textbench.inference.probabilities import predict_encoded

log = logging.getLogger(__name__)


def build_data(
    loaded: LoadedModel, overrides: dict[str, Any] | None = None, trust: Sequence[str] = ()
) -> TextDataModule:
    """The run's data with `data.*` overrides, its fitted tokenizer and label names, read
    only from where the user chose (`CheckpointData`); says first what it reads."""
    data = CheckpointData(loaded.config, str(loaded.path), loaded.run_dir, overrides, tuple(trust))
    if data.reads:
        print(f"data: reading {', '.join(map(str, data.reads))}", file=sys.stderr)
    datamodule = data.build(loaded.tokenizer, loaded.label_names)
    datamodule.setup()
    return datamodule


def scores(probs: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, Any]:
    """The same metric definitions as training (torchmetrics), plus per-class scores."""
    k = len(names)
    p, y = torch.from_numpy(probs), torch.from_numpy(labels)
    per_class = {
        metric: cls(k, average="none")(p, y).tolist()
        for metric, cls in (
            ("precision", MulticlassPrecision),
            ("recall", MulticlassRecall),
            ("f1", MulticlassF1Score),
        )
    }
    support = np.bincount(labels, minlength=k).tolist()
    return {
        "acc": MulticlassAccuracy(k, average="micro")(p, y).item(),
        "f1": MulticlassF1Score(k, average="macro")(p, y).item(),
        "examples": len(labels),
        "per_class": {
            name: {m: per_class[m][i] for m in per_class} | {"support": support[i]}
            for i, name in enumerate(names)
        },
        "confusion_matrix": MulticlassConfusionMatrix(k)(p, y).tolist(),
    }


def evaluate(
    loaded: LoadedModel,
    out_dir: Path,
    split: str = "test",
    overrides: dict[str, Any] | None = None,
    batch_size: int = 256,
    trust: Sequence[str] = (),
) -> dict[str, Any]:
    if split == "validation" and loaded.config.get("refit"):
        log.warning(
            "This model was refit on the validation split too (refit=true): its scores "
            "there are training scores. The run's metrics.json has the fit's validation scores."
        )
    datamodule = build_data(loaded, overrides, trust)
    encoded = datamodule.splits[split]
    probs = predict_encoded(loaded, encoded, batch_size, progress=True)
    results = {
        "checkpoint": str(loaded.path),
        "split": split,
        "data_fingerprint": datamodule.fingerprint,
        **scores(probs, encoded.labels, loaded.label_names),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_confusion(results["confusion_matrix"], loaded.label_names, out_dir)
    texts = datamodule.split_texts(split)
    _write_misclassified(texts, encoded.labels, probs, loaded.label_names, out_dir)
    write_json(out_dir / "metrics.json", results)
    return results


def _write_confusion(matrix: list[list[int]], names: list[str], out_dir: Path) -> None:
    write_csv(
        out_dir / "confusion_matrix.csv",
        ["true \\ predicted", *names],
        ([name, *row] for name, row in zip(names, matrix, strict=True)),
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.6 * len(names)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, j in np.ndindex(counts.shape):
        ax.text(
            j,
            i,
            f"{counts[i, j]}\n{shares[i, j]:.1%}",
            ha="center",
            va="center",
            color="white" if shares[i, j] > 0.6 else "black",
            fontsize=8,
        )
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (row shares)")
    fig.tight_layout()
    save_figure(fig, out_dir / "confusion_matrix.png", dpi=100)
    plt.close(fig)


def _write_misclassified(
    texts: list[str], labels: np.ndarray, probs: np.ndarray, names: list[str], out_dir: Path
) -> None:
    """Wrong predictions, most confident first, with every class probability."""
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")]
    with atomic_write(out_dir / "misclassified.jsonl") as f:
        for i in wrong:
            row = {
                "index": int(i),
                "label": names[labels[i]],
                "predicted": names[predicted[i]],
                "probabilities": {
                    n: round(float(p), 6) for n, p in zip(names, probs[i], strict=True)
                },
                "text": texts[i],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
