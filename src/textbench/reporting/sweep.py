"""The report of a sweep (or any set of runs): summary.csv, summary_groups.csv, summary.md,
summary.html and plots: which configuration is best, by how much, and whether the
difference is real."""

from pathlib import Path

from textbench.files import write_csv, write_text
from textbench.reporting.html import render_html
from textbench.reporting.plots import plot_report
from textbench.reporting.runs import Group, Job, common_overrides, find_jobs, group_jobs, relative
from textbench.reporting.statistics import Analysis, Run, compare, holm, interval
from textbench.reporting.tables import Report, fmt, groups_table, jobs_table, markdown

TEST_KEYS = ("test/acc", "test/f1")
SCORES = ("/acc", "/f1")  # metrics between 0 and 1, so are their intervals


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
    write_text(files["md"], markdown(report))
    plots = plot_report(jobs, groups, metric, analyses, out_dir)
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
        groups_table(groups, keys, metric, analyses),
        jobs_table(jobs, keys, root),
        failures,
    )


def _write_csv(jobs: list[Job], keys: list[str], path: Path, root: Path) -> None:
    header = ["job", "status", "overrides", *keys, "epochs", "wall_time_s", "checkpoint", "error"]
    rows = (
        [
            relative(job.path, root),
            job.status,
            " ".join(job.overrides),
            *(fmt(job.value(k), 6) for k in keys),
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
        std = fmt(i.std, 6) if i and i.n > 1 else ""  # one run has no spread
        row += [
            *((fmt(i.mean, 6), std, i.n) if i else ("", "", 0)),
            *((fmt(i.low, 6), fmt(i.high, 6)) if i else ("", "")),
            *((fmt(c.difference, 6), c.test, c.why) if c else ("", "", "")),
            *((fmt(c.p, 6), fmt(c.p_holm, 6), fmt(c.effect, 4)) if c else ("",) * 3),
            *((c.effect_kind, fmt(c.detectable, 6)) if c else ("", "")),
        ]
    return row
