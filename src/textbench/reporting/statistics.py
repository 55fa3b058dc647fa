"""Is a difference between two configurations real? Intervals, tests and a verdict.

A group is the runs of one configuration that differ only by seed (or cross-validation
fold). Each group gets a 95% t-interval of its mean (none for a single run). The best
group is compared with every other one: paired by seed and fold when both ran the same
ones on the same data (a paired t-test: a seed fixes the initialisation, dropout and
batch order, and a fold the test examples, so paired runs share their luck), else
Welch's t-test, saying why; the p-values are Holm-corrected for the number of
comparisons, each comparison says the smallest difference it could detect (80% power),
and the effect size is labelled: d_z (on the differences, paired) or d (pooled, Welch).
Runs without spread are not tested: a constant difference over two seeds is no evidence.
"""

import math
import statistics
from dataclasses import dataclass
from typing import Any

from scipy import optimize, stats

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
    difference: float  # other mean - best mean (0 when equal up to float rounding)
    test: str  # "paired t", "Welch t", or why there is none
    n: int  # pairs, or the smaller group's size
    p: float | None = None
    p_holm: float | None = None
    effect: float | None = None  # best - other, in standard deviations (see `effect_kind`)
    effect_kind: str = ""  # "d_z" (paired: of the differences) or "d" (pooled)
    detectable: float | None = None  # the smallest |difference| with 80% power
    why: str = ""  # why this test (and not the paired one)


@dataclass(frozen=True)
class Run:
    """One run's value, keyed by what it repeats (seed, fold), with the fingerprint of
    the data it was tested on: two runs pair only when both match."""

    key: Any
    value: float
    fingerprint: str | None = None


def same(a: float, b: float) -> bool:
    """Equal up to float rounding (a mean of 0.1 + 0.2 against one of 0.3)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def compare(name: str, best: list[Run], other: list[Run]) -> Comparison:
    """Test the best group against another. Runs pair (paired t) only when both groups
    ran the same repeats, each key once, and each pair tested on the same data (equal,
    recorded fingerprints); otherwise Welch's t, and `why` says what kept them apart.
    Without any spread there is nothing to test: "cannot test: no variance"."""
    a, b = [r.value for r in best], [r.value for r in other]
    difference = statistics.fmean(b) - statistics.fmean(a)
    if same(statistics.fmean(a), statistics.fmean(b)):
        difference = 0.0
    why = _unpaired_because(best, other)
    if not why:
        by_key = {r.key: r.value for r in other}
        diffs = [r.value - by_key[r.key] for r in best]
        n = len(diffs)
        spread = statistics.stdev(diffs)
        if spread == 0 or all(same(d, diffs[0]) for d in diffs):
            return Comparison(name, difference, "cannot test: no variance", n, why="paired")
        p = float(stats.ttest_rel(a, [by_key[r.key] for r in best]).pvalue)
        return Comparison(
            name,
            difference,
            "paired t",
            n,
            p,
            effect=statistics.fmean(diffs) / spread,
            effect_kind="d_z",
            detectable=detectable(spread / math.sqrt(n), n - 1),
        )
    if len(a) < 2 or len(b) < 2:
        return Comparison(name, difference, "too few runs (n=1)", min(len(a), len(b)), why=why)
    va, vb = statistics.variance(a), statistics.variance(b)
    if va == 0 and vb == 0:
        return Comparison(
            name, difference, "cannot test: no variance", min(len(a), len(b)), why=why
        )
    pooled = math.sqrt(((len(a) - 1) * va + (len(b) - 1) * vb) / (len(a) + len(b) - 2))
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    se2 = va / len(a) + vb / len(b)
    df = se2**2 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    return Comparison(
        name,
        difference,
        "Welch t",
        min(len(a), len(b)),
        p,
        effect=-difference / pooled,
        effect_kind="d",
        detectable=detectable(math.sqrt(se2), df),
        why=why,
    )


def _unpaired_because(best: list[Run], other: list[Run]) -> str:
    """Why two groups' runs do not pair ("" when they do)."""
    keys_a, keys_b = [r.key for r in best], [r.key for r in other]
    if len(set(keys_a)) < len(keys_a) or len(set(keys_b)) < len(keys_b):
        return "a seed or fold repeats within a group"
    if set(keys_a) != set(keys_b):
        return "the groups ran different seeds or folds"
    if len(keys_a) < 2:
        return "one pair"
    prints = {r.key: r.fingerprint for r in other}
    if any(r.fingerprint is None or r.fingerprint != prints[r.key] for r in best):
        return "the paired runs' data fingerprints differ or are missing"
    return ""


def detectable(se: float, df: float, alpha: float = ALPHA, power: float = 0.8) -> float | None:
    """The smallest true difference a two-sided t-test at `alpha` finds with `power`,
    given the standard error of the difference and its degrees of freedom (noncentral t):
    what "not significantly worse" could have seen."""
    if not se > 0 or not df > 0:
        return None
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(delta: float) -> float:
        shift = delta / se
        hit = stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)
        return (1.0 if math.isnan(hit) else hit) - power  # NaN: far out in the tail

    high = se
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high))


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
    """One sentence: the best group by `metric` (with those that tie it), and whether each
    other one is worse, with the smallest difference its test could detect. With
    `chosen_by` (the test split), the group that metric chose leads, and another group
    may come out better on `metric` (a score: higher is better)."""
    tied = [c.name for c in comparisons if c.difference == 0.0] if chosen_by is None else []
    if tied:
        names = " and ".join(f"`{n}`" for n in [best, *tied])
        parts = [f"{names} tie for best by {metric}: {summary.text()}"]
    else:
        lead = (
            f"is best by {metric}" if chosen_by is None else f"(best by {chosen_by}) has {metric}"
        )
        parts = [f"`{best}` {lead}: {summary.text()}"]
    for c in comparisons:
        if c.name in tied:
            continue
        direction = "better" if chosen_by is not None and c.difference > 0 else "worse"
        if c.p_holm is None:
            parts.append(f"`{c.name}` ({c.difference:+.4f}): {c.test}")
        elif c.p_holm < ALPHA:
            parts.append(f"`{c.name}` is {direction} ({c.difference:+.4f}, {_p(c.p_holm)})")
        else:
            could = f"; it could detect ±{c.detectable:.4f}" if c.detectable else ""
            parts.append(
                f"`{c.name}` is not significantly {direction} ({c.difference:+.4f}, "
                f"{_p(c.p_holm)}{could})"
            )
    return "; ".join(parts) + "."


@dataclass
class Analysis:
    """One metric across the groups (best first): intervals, and the best against each."""

    key: str
    intervals: dict[str, Interval]
    comparisons: dict[str, Comparison]

    def verdict(self, best: str, chosen_by: str | None = None) -> str:
        comparisons = list(self.comparisons.values())
        return verdict(best, self.intervals[best], comparisons, self.key, chosen_by)
