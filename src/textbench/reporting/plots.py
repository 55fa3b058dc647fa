"""The report's plots: each group's mean validation curve (val_curves.png) and each
group's mean with its 95% interval (groups.png)."""

from pathlib import Path

from textbench.files import save_figure
from textbench.reporting.curves import read_epoch_metrics
from textbench.reporting.runs import Group, Job, common_overrides, own_file
from textbench.reporting.statistics import Analysis


def display_name(group: str) -> str:
    """A group's overrides for a plot: long floats rounded (`lr=0.00316`, not 17 digits)."""
    shown = []
    for override in group.split():
        key, sep, value = override.partition("=")
        try:
            number = float(value)
        except ValueError:
            shown.append(override)
            continue
        is_int = value.lstrip("+-").isdigit()
        shown.append(override if is_int or not sep else f"{key}={number:.3g}")
    return " ".join(shown)


def plot_report(
    jobs: list[Job], groups: list[Group], metric: str, analyses: dict[str, Analysis], out_dir: Path
) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    files = {}
    colors = {g.name: plt.get_cmap("tab10")(i % 10) for i, g in enumerate(groups)}
    common = common_overrides(jobs)
    # val_curves.png: each group's mean curve over its runs, with a band from the lowest to
    # the highest run at each epoch; the legend beside the axes, integer epochs
    curves: dict[str, dict[int, list[float]]] = {}
    for job in jobs:
        csv_file = own_file(job.path, "csv/metrics.csv")
        points = read_epoch_metrics(csv_file).get(metric) if csv_file else None
        for epoch, value in points or []:
            curves.setdefault(job.group(common), {}).setdefault(epoch, []).append(value)
    if curves:
        fig, ax = plt.subplots(figsize=(8, 4))
        epochs_seen = set()
        for group in (g.name for g in groups if g.name in curves):
            epochs = sorted(curves[group])
            epochs_seen.update(epochs)
            values = [curves[group][e] for e in epochs]
            runs = max(len(v) for v in values)
            ax.plot(
                epochs,
                [np.mean(v) for v in values],
                marker="o",
                color=colors[group],
                label=f"{display_name(group)} (n={runs})",
            )
            if runs > 1:
                ax.fill_between(
                    epochs,
                    [min(v) for v in values],
                    [max(v) for v in values],
                    color=colors[group],
                    alpha=0.2,
                    linewidth=0,
                )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(epochs_seen) == 1:  # one epoch: a sensible axis around it
            only = next(iter(epochs_seen))
            ax.set_xlim(only - 1, only + 1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: mean of each group's runs (band: lowest to highest run)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
        files["curves"] = out_dir / "val_curves.png"
        save_figure(fig, files["curves"], dpi=100, bbox_inches="tight")
        plt.close(fig)

    # groups.png: each group's mean with its 95% confidence interval, best on top; points
    # and whiskers, not bars, so an axis that does not start at zero exaggerates nothing
    analysis = analyses.get(metric)
    ranked = [g for g in groups if analysis and g.name in analysis.intervals]
    if ranked:
        fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * len(ranked)))
        for row, group in enumerate(ranked):
            i = analysis.intervals[group.name]
            whisker = None if i.low is None else [[i.mean - i.low], [i.high - i.mean]]
            ax.errorbar(i.mean, row, xerr=whisker, fmt="o", color=colors[group.name], capsize=4)
            ax.annotate(
                f"{i.mean:.4f}" + ("" if i.low is None else f" [{i.low:.4f}, {i.high:.4f}]"),
                (i.mean, row),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=7,
            )
        labels = [f"{display_name(g.name)} (n={analysis.intervals[g.name].n})" for g in ranked]
        ax.set_yticks(range(len(ranked)), labels, fontsize=8)
        ax.set_ylim(len(ranked) - 0.4, -0.6)  # best on top, room for the labels above points
        ax.margins(x=0.15)
        ax.set_xlabel(f"{metric}: mean and 95% confidence interval (no interval for n = 1)")
        ax.grid(axis="x", alpha=0.3)
        files["groups"] = out_dir / "groups.png"
        save_figure(fig, files["groups"], dpi=100, bbox_inches="tight")
        plt.close(fig)
    return files
