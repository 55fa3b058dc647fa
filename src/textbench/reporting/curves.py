"""A run's plots next to its numbers: learning curves from its CSV metrics, and the
reliability diagram of its test predictions."""

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from textbench.files import save_figure


def read_epoch_metrics(metrics_csv: Path) -> dict[str, list[tuple[int, float]]]:
    """Epoch-level series from Lightning's CSVLogger file: {metric: [(epoch, value)]}."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with metrics_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            if not row.get("epoch"):
                continue
            for key, value in row.items():
                if value and key not in ("epoch", "step") and not key.endswith("_step"):
                    series[key].append((int(row["epoch"]), float(value)))
    return dict(series)


def plot_learning_curves(metrics_csv: Path, out_png: Path) -> Path | None:
    """Loss (train/val) and accuracy / F1 (train/val) per epoch; None if nothing to plot."""
    series = read_epoch_metrics(metrics_csv)
    panels = {
        "loss": ("train/loss", "val/loss"),
        "accuracy": ("train/acc", "val/acc"),
        "macro-F1": ("train/f1", "val/f1"),
    }
    if not any(series.get(k) for keys in panels.values() for k in keys):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (title, keys) in zip(axes, panels.items(), strict=True):
        for key in keys:
            points = series.get(key)
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, out_png, dpi=100)
    plt.close(fig)
    return out_png


def plot_reliability(
    probs: Any, labels: Any, ece: float | None, out_png: Path, bins: int = 15
) -> Path:
    """Reliability diagram of the test predictions: in each bin of top-class probability,
    how often that class was right (bars) against the diagonal of perfect calibration,
    with the expected calibration error (the run's metric, over the same bins) and the
    share of texts per bin."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    hits = np.bincount(which, weights=correct, minlength=bins)
    filled = counts > 0
    accuracy = np.divide(hits, counts, out=np.zeros(bins), where=filled)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(4.5, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    width = 1 / bins
    top.bar(
        edges[:-1][filled],
        accuracy[filled],
        width,
        align="edge",
        edgecolor="black",
        label="accuracy in the bin",
    )
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    top.set_ylabel("accuracy")
    shown = f"ECE {ece:.4f}, " if ece is not None else ""
    top.set_title(f"test reliability: {shown}{len(labels):,} texts")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.bar(edges[:-1], counts / max(len(labels), 1), width, align="edge", color="gray")
    bottom.set_xlabel("top-class probability")
    bottom.set_ylabel("share of texts")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    save_figure(fig, out_png, dpi=100)
    plt.close(fig)
    return out_png
