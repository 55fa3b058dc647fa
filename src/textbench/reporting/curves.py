"""Learning curves from a run's CSV metrics, as one PNG next to the numbers."""

import csv
from collections import defaultdict
from pathlib import Path

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
