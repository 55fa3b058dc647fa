"""summary.csv, summary.md and plots for a set of jobs: which is best, and by how much."""

import csv
from pathlib import Path

from textbench.reporting.curves import read_epoch_metrics
from textbench.reporting.runs import Group, Job, common_overrides, find_jobs, group_jobs

TEST_KEYS = ("test/acc", "test/f1")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean_std(stats: tuple[float, float, int] | None) -> str:
    return "" if stats is None else f"{stats[0]:.4f} ± {stats[1]:.4f}"


def write_report(
    paths: list[Path], out_dir: Path, metric: str = "val/acc", maximize: bool = True
) -> dict[str, Path]:
    """Write the report for every job under `paths` into `out_dir`; returns the files."""
    jobs = find_jobs(paths)
    if not jobs:
        raise FileNotFoundError(
            f"No runs (folders with .hydra/ or manifest.json) under {[str(p) for p in paths]}."
        )
    keys = [metric, *(k for k in TEST_KEYS if k != metric)]
    groups = group_jobs(jobs, keys)
    sign = 1 if maximize else -1
    groups.sort(key=lambda g: -sign * g.metrics[metric][0] if metric in g.metrics else 1e9)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"csv": out_dir / "summary.csv", "md": out_dir / "summary.md"}
    _write_csv(jobs, keys, files["csv"], out_dir)
    files["md"].write_text(_markdown(jobs, groups, keys, metric, out_dir))
    files.update(_plots(jobs, groups, metric, out_dir))
    return files


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _write_csv(jobs: list[Job], keys: list[str], path: Path, root: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["job", "status", "overrides", *keys, "epochs", "wall_time_s", "checkpoint", "error"]
        )
        for job in jobs:
            writer.writerow(
                [
                    _rel(job.path, root),
                    job.status,
                    " ".join(job.overrides),
                    *(_fmt(job.value(k), 6) for k in keys),
                    job.metrics.get("epochs", ""),
                    job.metrics.get("wall_time_s", job.manifest.get("wall_time_s", "")),
                    job.metrics.get("best_checkpoint") or "",
                    job.manifest.get("error", ""),
                ]
            )


def _markdown(
    jobs: list[Job], groups: list[Group], keys: list[str], metric: str, root: Path
) -> str:
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    common = " ".join(sorted(common_overrides(jobs))) or "none"
    lines = [
        "# Sweep summary",
        "",
        f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
        f"Overrides shared by every job: `{common}`.",
        f"Groups are the jobs that differ only by seed, best first by {metric} "
        "(best validation epoch); mean ± sample std over completed jobs.",
        "",
        "## Groups",
        "",
        f"| rank | overrides | n | {' | '.join(keys)} |",
        "|---:|---|---:|" + "---:|" * len(keys),
    ]
    best = groups[0].metrics.get(metric) if groups else None
    for rank, group in enumerate(groups, 1):
        cells = [_mean_std(group.metrics.get(k)) for k in keys]
        if best and metric in group.metrics and rank > 1:
            cells[0] += f" ({group.metrics[metric][0] - best[0]:+.4f})"
        n = group.metrics.get(metric, (0, 0, 0))[2]
        lines.append(f"| {rank} | `{group.name}` | {n} | {' | '.join(cells)} |")
    lines += [
        "",
        "## Jobs",
        "",
        f"| job | status | overrides | {' | '.join(keys)} | epochs | wall time (s) |",
        "|---|---|---|" + "---:|" * (len(keys) + 2),
    ]
    for job in jobs:
        cells = [_fmt(job.value(k)) for k in keys]
        wall = job.metrics.get("wall_time_s", job.manifest.get("wall_time_s", ""))
        lines.append(
            f"| {_rel(job.path, root)} | {job.status} | `{' '.join(job.overrides)}` | "
            f"{' | '.join(cells)} | {job.metrics.get('epochs', '')} | {wall} |"
        )
    failed = [j for j in jobs if j.status == "failed" and j.manifest.get("error")]
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- {_rel(j.path, root)}: {j.manifest['error']}" for j in failed]
    return "\n".join(lines) + "\n"


def _plots(jobs: list[Job], groups: list[Group], metric: str, out_dir: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {}
    colors = {g.name: plt.get_cmap("tab10")(i % 10) for i, g in enumerate(groups)}
    common = common_overrides(jobs)
    fig, ax = plt.subplots(figsize=(7, 4))
    plotted = set()
    for job in jobs:
        csv_file = job.path / "csv" / "metrics.csv"
        points = read_epoch_metrics(csv_file).get(metric) if csv_file.is_file() else None
        if points:
            group = job.group(common)
            label = group if group not in plotted else None
            plotted.add(group)
            ax.plot(
                *zip(*points, strict=True),
                marker="o",
                color=colors[group],
                label=label,
                alpha=0.8,
            )
    if plotted:
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} of every run")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        files["curves"] = out_dir / "val_curves.png"
        fig.savefig(files["curves"], dpi=100)
    plt.close(fig)

    ranked = [g for g in groups if metric in g.metrics]
    if ranked:
        fig, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * len(ranked)))
        means = [g.metrics[metric][0] for g in ranked]
        stds = [g.metrics[metric][1] for g in ranked]
        labels = [f"{g.name} (n={g.metrics[metric][2]})" for g in ranked]
        ax.barh(
            range(len(ranked)), means, xerr=stds, color=[colors[g.name] for g in ranked], capsize=4
        )
        ax.set_yticks(range(len(ranked)), labels, fontsize=7)
        ax.invert_yaxis()
        low = min(m - s for m, s in zip(means, stds, strict=True))
        high = max(m + s for m, s in zip(means, stds, strict=True))
        margin = max((high - low) * 0.2, 1e-3)
        ax.set_xlim(low - margin, high + margin)
        ax.set_xlabel(f"{metric}: mean ± std over seeds")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        files["groups"] = out_dir / "groups.png"
        fig.savefig(files["groups"], dpi=100)
        plt.close(fig)
    return files
