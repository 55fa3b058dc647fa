"""Is a difference between two configurations real? Intervals, tests and a verdict.

A group is the runs of one configuration that differ only by seed (or cross-validation
fold). Each group gets a 95% t-interval of its mean (none for a single run). The best
group is compared with every other one: paired by seed and fold when both ran the same
ones (a paired t-test: a seed fixes the initialisation, dropout and batch order, and a
fold the test examples, so paired runs share their luck), else
Welch's t-test; the p-values are Holm-corrected for the number of comparisons, and the
effect size is Cohen's d (d_z, on the differences, when paired).
"""

import math
import statistics
from dataclasses import dataclass
from typing import Any

from scipy import stats

LEVEL = 0.95
ALPHA = 0.05


@dataclass
class Interval:
    mean: float
    std: float
    n: int
    low: float | None  # the 95% confidence interval of the mean; None for n = 1
    high: float | None

    def text(self, digits: int = 4) -> str:
        if self.n < 2:
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} (n={self.n})"


def interval(values: list[float], bounds: tuple[float, float] | None = None) -> Interval:
    """Mean, sample std and a t-interval of the mean at `LEVEL`, cut to the metric's
    `bounds` (an accuracy of 0.999 ± 0.001 over 3 runs would otherwise reach 1.002)."""
    n, mean = len(values), statistics.fmean(values)
    if n < 2:
        return Interval(mean, 0.0, n, None, None)
    std = statistics.stdev(values)
    if std == 0:
        return Interval(mean, 0.0, n, mean, mean)
    low, high = stats.t.interval(LEVEL, n - 1, loc=mean, scale=std / math.sqrt(n))
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(mean, std, n, float(low), float(high))


@dataclass
class Comparison:
    name: str  # the other group
    difference: float  # other mean - best mean
    test: str  # "paired t", "Welch t", or why there is none
    n: int  # pairs, or the smaller group's size
    p: float | None = None
    p_holm: float | None = None
    effect: float | None = None  # Cohen's d (d_z when paired), best - other


def compare(name: str, best: dict[Any, float], other: dict[Any, float]) -> Comparison:
    """Test the best group against another; both map a run's repeat (seed, fold) to its
    value."""
    a, b = list(best.values()), list(other.values())
    difference = statistics.fmean(b) - statistics.fmean(a)
    if set(best) == set(other) and len(best) >= 2:
        seeds = sorted(best)
        diffs = [best[s] - other[s] for s in seeds]
        spread = statistics.stdev(diffs)
        if spread == 0:  # the same difference under every seed: t is infinite (or 0/0)
            p = 1.0 if diffs[0] == 0 else 0.0
            effect = 0.0 if diffs[0] == 0 else math.copysign(math.inf, diffs[0])
        else:
            p = float(stats.ttest_rel([best[s] for s in seeds], [other[s] for s in seeds]).pvalue)
            effect = statistics.fmean(diffs) / spread
        return Comparison(name, difference, "paired t", len(seeds), p, effect=effect)
    if len(a) < 2 or len(b) < 2:
        return Comparison(name, difference, "too few runs (n=1)", min(len(a), len(b)))
    pooled = math.sqrt(
        ((len(a) - 1) * statistics.variance(a) + (len(b) - 1) * statistics.variance(b))
        / (len(a) + len(b) - 2)
    )
    if pooled == 0:
        p = 1.0 if difference == 0 else 0.0
        effect = 0.0 if difference == 0 else math.copysign(math.inf, -difference)
    else:
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        effect = -difference / pooled
    return Comparison(name, difference, "Welch t", min(len(a), len(b)), p, effect=effect)


def holm(comparisons: list[Comparison]) -> None:
    """Holm's step-down correction of the p-values, in place. (SciPy has none; statsmodels'
    `multipletests` would be a large dependency for these few lines.)"""
    tested = sorted((c for c in comparisons if c.p is not None), key=lambda c: c.p)
    running = 0.0
    for rank, comparison in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * comparison.p))
        comparison.p_holm = running


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def verdict(
    best: str,
    summary: Interval,
    comparisons: list[Comparison],
    metric: str,
    chosen_by: str | None = None,
) -> str:
    """One sentence: the best group by `metric`, and whether each other one is worse. With
    `chosen_by` (the test split), the group that metric chose leads, and another group may
    come out better on `metric` (a score: higher is better)."""
    lead = f"is best by {metric}" if chosen_by is None else f"(best by {chosen_by}) has {metric}"
    parts = [f"`{best}` {lead}: {summary.text()}"]
    for c in comparisons:
        direction = "better" if chosen_by is not None and c.difference > 0 else "worse"
        if c.p_holm is None:
            parts.append(f"`{c.name}` ({c.difference:+.4f}): {c.test} to tell")
        elif c.p_holm < ALPHA:
            parts.append(f"`{c.name}` is {direction} ({c.difference:+.4f}, {_p(c.p_holm)})")
        else:
            parts.append(
                f"`{c.name}` is not significantly {direction} ({c.difference:+.4f}, {_p(c.p_holm)})"
            )
    return "; ".join(parts) + "."
