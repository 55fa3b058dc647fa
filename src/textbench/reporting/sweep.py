"""The report of a sweep (or any set of runs): summary.csv, summary_groups.csv, summary.md,
summary.html and plots: which configuration is best, by how much, and whether the
difference is real."""

from dataclasses import dataclass, field
from pathlib import Path

from textbench.files import save_figure, write_csv, write_text
from textbench.reporting.curves import read_epoch_metrics
from textbench.reporting.html import render_html
from textbench.reporting.runs import (
    Group,
    Job,
    common_overrides,
    find_jobs,
    group_jobs,
    own_file,
    relative,
)
from textbench.reporting.statistics import (
    Comparison,
    Interval,
    Run,
    compare,
    holm,
    interval,
    verdict,
)

TEST_KEYS = ("test/acc", "test/f1")
SCORES = ("/acc", "/f1")  # metrics between 0 and 1, so are their intervals


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@dataclass
class Cell:
    """A table cell: its text, the value it sorts by, and how it is shown."""

    text: str
    sort: float | None = None
    code: bool = False
    link: str | None = None


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    numeric: set[int]  # columns that sort as numbers (right-aligned)

    def markdown(self) -> list[str]:
        align = ["---:" if i in self.numeric else "---" for i in range(len(self.header))]
        lines = [f"| {' | '.join(self.header)} |", f"|{'|'.join(align)}|"]
        for row in self.rows:
            cells = [f"`{c.text}`" if c.code and c.text else c.text for c in row]
            lines.append(f"| {' | '.join(cells)} |")
        return lines


@dataclass
class Report:
    """What summary.md and summary.html show."""

    verdict: str | None
    test_verdict: str | None
    preamble: list[str]
    groups: Table
    jobs: Table
    failures: list[tuple[str, str]]
    files: dict[str, Path] = field(default_factory=dict)  # what write_report wrote


@dataclass
class Analysis:
    """One metric across the groups (best first): intervals, and the best against each."""

    key: str
    intervals: dict[str, Interval]
    comparisons: dict[str, Comparison]

    def verdict(self, best: str, chosen_by: str | None = None) -> str:
        comparisons = list(self.comparisons.values())
        return verdict(best, self.intervals[best], comparisons, self.key, chosen_by)


def _runs(group: Group, key: str) -> list[Run]:
    """A group's completed values of `key`, each with its repeat (seed, fold) and the
    fingerprint of the data it was tested on."""
    return [
        Run(j.repeat(), v, (j.metrics.get("data") or {}).get("fingerprint"))
        for j in group.jobs
        if j.status == "completed"
        for v in [j.value(key)]
        if v is not None
    ]


def analyse(groups: list[Group], key: str) -> Analysis | None:
    """Intervals for every group with values of `key`; the first such group (the best by
    the ranking metric) tested against each other one, Holm-corrected."""
    values = {g.name: v for g in groups if (v := _runs(g, key))}
    if not values:
        return None
    best, *others = values
    comparisons = {name: compare(name, values[best], values[name]) for name in others}
    holm(list(comparisons.values()))
    bounds = (0.0, 1.0) if key.endswith(SCORES) else None
    intervals = {name: interval([r.value for r in v], bounds) for name, v in values.items()}
    return Analysis(key, intervals, comparisons)


def write_report(
    paths: list[Path], out_dir: Path, metric: str = "val/acc", maximize: bool = True
) -> Report:
    """Write the report for every job under `paths` into `out_dir`; returns it, with the
    files written."""
    jobs = find_jobs(paths)
    if not jobs:
        raise FileNotFoundError(
            f"No runs (folders with .hydra/ or manifest.json) under {[str(p) for p in paths]}."
        )
    keys = [metric, *(k for k in TEST_KEYS if k != metric)]
    groups = group_jobs(jobs, keys)
    sign = 1 if maximize else -1
    groups.sort(key=lambda g: -sign * g.metrics[metric][0] if metric in g.metrics else 1e9)
    analyses = {key: a for key in keys if (a := analyse(groups, key))}
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out_dir / "summary.csv",
        "groups_csv": out_dir / "summary_groups.csv",
        "md": out_dir / "summary.md",
    }
    _write_csv(jobs, keys, files["csv"], out_dir)
    _write_groups_csv(groups, analyses, files["groups_csv"])
    report = _report(jobs, groups, keys, metric, analyses, out_dir)
    write_text(files["md"], _markdown(report))
    plots = _plots(jobs, groups, metric, analyses, out_dir)
    files.update(plots)
    files["html"] = out_dir / "summary.html"
    write_text(files["html"], render_html(report, jobs, plots, out_dir))
    report.files = files
    return report


def _report(
    jobs: list[Job],
    groups: list[Group],
    keys: list[str],
    metric: str,
    analyses: dict[str, Analysis],
    root: Path,
) -> Report:
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    common = " ".join(sorted(common_overrides(jobs))) or "none"
    verdict = test_verdict = None
    if metric in analyses:
        best = next(iter(analyses[metric].intervals))
        verdict = analyses[metric].verdict(best)
        tested = [k for k in keys[1:] if k in analyses and best in analyses[k].intervals]
        test_verdict = analyses[tested[0]].verdict(best, chosen_by=metric) if tested else None
    preamble = [
        f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
        f"Overrides shared by every job: `{common}`.",
        "Groups are the jobs that differ only by seed or cross-validation fold, best first "
        f"by {metric} (best validation epoch): mean ± sample std [95% t-interval of the "
        "mean, within 0 and 1 for accuracy and F1] over completed jobs. Each group is "
        "compared with the best: Δ of the means, the p-value Holm-corrected over the "
        "comparisons (a paired t-test when both ran the same seeds or folds on the same "
        "data, by fingerprint; else Welch's, with the reason), the effect size (d_z on "
        "paired differences, d on the pooled spread) and the smallest difference the test "
        "could detect with 80% power at alpha = 0.05 (a smaller true difference would likely "
        "read as not significant). Runs without spread are not tested.",
    ]
    failures = [
        (relative(j.path, root), j.manifest["error"])
        for j in jobs
        if j.status == "failed" and j.manifest.get("error")
    ]
    return Report(
        verdict,
        test_verdict,
        preamble,
        _groups_table(groups, keys, metric, analyses),
        _jobs_table(jobs, keys, root),
        failures,
    )


def _write_csv(jobs: list[Job], keys: list[str], path: Path, root: Path) -> None:
    header = ["job", "status", "overrides", *keys, "epochs", "wall_time_s", "checkpoint", "error"]
    rows = (
        [
            relative(job.path, root),
            job.status,
            " ".join(job.overrides),
            *(_fmt(job.value(k), 6) for k in keys),
            job.metrics.get("epochs", ""),
            job.metrics.get("wall_time_s", job.manifest.get("wall_time_s", "")),
            job.metrics.get("best_checkpoint") or "",
            job.manifest.get("error", ""),
        ]
        for job in jobs
    )
    write_csv(path, header, rows)


def _write_groups_csv(groups: list[Group], analyses: dict[str, Analysis], path: Path) -> None:
    fields = [
        "mean",
        "std",
        "n",
        "ci95_low",
        "ci95_high",
        "vs_best",
        "test",
        "why",
        "p",
        "p_holm",
        "effect",
        "effect_kind",
        "detectable",
    ]
    header = ["group", *(f"{k}:{field}" for k in analyses for field in fields)]
    write_csv(path, header, (_group_row(group, analyses) for group in groups))


def _group_row(group: Group, analyses: dict[str, Analysis]) -> list:
    row: list = [group.name]
    for analysis in analyses.values():
        i = analysis.intervals.get(group.name)
        c = analysis.comparisons.get(group.name)
        std = _fmt(i.std, 6) if i and i.n > 1 else ""  # one run has no spread
        row += [
            *((_fmt(i.mean, 6), std, i.n) if i else ("", "", 0)),
            *((_fmt(i.low, 6), _fmt(i.high, 6)) if i else ("", "")),
            *((_fmt(c.difference, 6), c.test, c.why) if c else ("", "", "")),
            *((_fmt(c.p, 6), _fmt(c.p_holm, 6), _fmt(c.effect, 4)) if c else ("",) * 3),
            *((c.effect_kind, _fmt(c.detectable, 6)) if c else ("", "")),
        ]
    return row


def _interval_cell(i: Interval | None) -> Cell:
    if i is None:
        return Cell("")
    if i.low is None:
        return Cell(f"{i.mean:.4f} (n=1: no interval)", i.mean)
    return Cell(f"{i.mean:.4f} ± {i.std:.4f} [{i.low:.4f}, {i.high:.4f}]", i.mean)


def _comparison_cells(c: Comparison | None, best: bool) -> list[Cell]:
    """Δ, the test with its p-value (and why it is not paired), the labelled effect size
    and the smallest difference the test could detect."""
    if c is None:
        return [Cell("best" if best else "", 0.0 if best else None), *[Cell("")] * 3]
    difference = Cell("tie" if c.difference == 0 else f"{c.difference:+.4f}", c.difference)
    test = c.test + (f": {c.why}" if c.why and c.why != "paired" else "")
    if c.p_holm is None:
        return [difference, Cell(test), Cell(""), Cell("")]
    return [
        difference,
        Cell(f"{c.p_holm:.3g} ({test})", c.p_holm),
        Cell(f"{c.effect_kind} {c.effect:.2f}", c.effect),
        Cell(_fmt(c.detectable), c.detectable),
    ]


def _mean_std(stats: tuple[float, float, int] | None) -> Cell:
    if stats is None:
        return Cell("")
    if stats[2] < 2:  # one run: no spread to show
        return Cell(f"{stats[0]:.4f} (n=1)", stats[0])
    return Cell(f"{stats[0]:.4f} ± {stats[1]:.4f}", stats[0])


def _groups_table(
    groups: list[Group], keys: list[str], metric: str, analyses: dict[str, Analysis]
) -> Table:
    """One row per group, best first: interval of the ranking metric, the test against the
    best, and the other metrics."""
    analysis = analyses.get(metric)
    header = ["rank", "overrides", "n", metric, "Δ", "p (Holm)", "effect", "detectable", *keys[1:]]
    rows = []
    for rank, group in enumerate(groups, 1):
        n = group.metrics.get(metric, (0, 0, 0))[2]
        rows.append(
            [
                Cell(str(rank), rank),
                Cell(group.name, code=True),
                Cell(str(n), n),
                _interval_cell(analysis.intervals.get(group.name) if analysis else None),
                *_comparison_cells(
                    analysis.comparisons.get(group.name) if analysis else None,
                    analysis is not None and group.name == next(iter(analysis.intervals)),
                ),
                *(_mean_std(group.metrics.get(k)) for k in keys[1:]),
            ]
        )
    return Table(header, rows, numeric={0, 2, *range(3, len(header))} - {5})


def _jobs_table(jobs: list[Job], keys: list[str], root: Path) -> Table:
    """One row per job, in directory order, linked to its directory; the overrides every
    job shares are left out (the report states them once)."""
    header = ["job", "status", "overrides", *keys, "epochs", "wall time (s)"]
    common = common_overrides(jobs)
    rows = []
    for job in jobs:
        wall = job.metrics.get("wall_time_s", job.manifest.get("wall_time_s"))
        epochs = job.metrics.get("epochs")
        rows.append(
            [
                Cell(relative(job.path, root), link=relative(job.path, root)),
                Cell(job.status),
                Cell(" ".join(o for o in job.overrides if o not in common), code=True),
                *(Cell(_fmt(v := job.value(k)), v) for k in keys),
                Cell("" if epochs is None else str(epochs), epochs),
                Cell("" if wall is None else str(wall), wall),
            ]
        )
    return Table(header, rows, numeric=set(range(3, len(header))))


def _markdown(report: "Report") -> str:
    lines = ["# Sweep summary", ""]
    lines += [f"**Verdict**: {report.verdict}", ""] if report.verdict else []
    lines += [f"On the test split: {report.test_verdict}", ""] if report.test_verdict else []
    lines += [*report.preamble, "", "## Groups", "", *report.groups.markdown()]
    lines += ["", "## Jobs", "", *report.jobs.markdown()]
    if report.failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {job}: {error}" for job, error in report.failures]
    return "\n".join(lines) + "\n"


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


def _plots(
    jobs: list[Job], groups: list[Group], metric: str, analyses: dict, out_dir: Path
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
