"""The report's tables: cells that know how they sort and show, the groups and jobs
tables, and the report as Markdown (summary.md); summary.html renders the same tables."""

from dataclasses import dataclass, field
from pathlib import Path

from textbench.reporting.runs import Group, Job, common_overrides, relative
from textbench.reporting.statistics import Analysis, Comparison, Interval


def fmt(value: float | None, digits: int = 4) -> str:
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
        Cell(fmt(c.detectable), c.detectable),
    ]


def _mean_std(stats: tuple[float, float, int] | None) -> Cell:
    if stats is None:
        return Cell("")
    if stats[2] < 2:  # one run: no spread to show
        return Cell(f"{stats[0]:.4f} (n=1)", stats[0])
    return Cell(f"{stats[0]:.4f} ± {stats[1]:.4f}", stats[0])


def groups_table(
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


def jobs_table(jobs: list[Job], keys: list[str], root: Path) -> Table:
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
                *(Cell(fmt(v := job.value(k)), v) for k in keys),
                Cell("" if epochs is None else str(epochs), epochs),
                Cell("" if wall is None else str(wall), wall),
            ]
        )
    return Table(header, rows, numeric=set(range(3, len(header))))


def markdown(report: Report) -> str:
    lines = ["# Sweep summary", ""]
    lines += [f"**Verdict**: {report.verdict}", ""] if report.verdict else []
    lines += [f"On the test split: {report.test_verdict}", ""] if report.test_verdict else []
    lines += [*report.preamble, "", "## Groups", "", *report.groups.markdown()]
    lines += ["", "## Jobs", "", *report.jobs.markdown()]
    if report.failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {job}: {error}" for job, error in report.failures]
    return "\n".join(lines) + "\n"
