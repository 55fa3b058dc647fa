"""Is a difference real: intervals, paired and Welch tests, Holm, and the report's verdict."""

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from textbench.cli.report import main as report_main
from textbench.reporting.predictions import compare_runs
from textbench.reporting.statistics import Comparison, Run, compare, holm, interval
from textbench.reporting.sweep import write_report


def test_interval_is_the_t_interval_of_the_mean_and_absent_for_one_run() -> None:
    values = [0.81, 0.83, 0.86, 0.84]
    low, high = stats.t.interval(0.95, 3, loc=0.835, scale=stats.sem(values))
    result = interval(values)
    assert (result.low, result.high) == pytest.approx((low, high))
    assert result.text() == "0.8350 ± 0.0208 (n=4)"
    single = interval([0.8])
    assert (single.low, single.high, single.text()) == (None, None, "0.8000 (n=1)")


def _runs(values: dict, fingerprint: str | None = "data") -> list[Run]:
    return [Run(key, value, fingerprint) for key, value in values.items()]


def test_runs_pair_up_by_seed_or_are_compared_unpaired() -> None:
    best = {1: 0.90, 2: 0.86, 3: 0.88}
    other = {1: 0.89, 2: 0.84, 3: 0.86}  # below the best under every seed
    paired = compare("other", _runs(best), _runs(other))
    assert paired.test == "paired t" and paired.n == 3 and paired.effect_kind == "d_z"
    assert paired.p == pytest.approx(stats.ttest_rel(list(best.values()), [0.89, 0.84, 0.86])[1])
    assert paired.difference == pytest.approx(-0.0166667, abs=1e-6) and paired.effect > 0
    # other seeds: nothing pairs up, Welch's test on the two samples
    unpaired = compare("other", _runs(best), _runs({4: 0.89, 5: 0.84, 6: 0.86}))
    welch = stats.ttest_ind(list(best.values()), [0.89, 0.84, 0.86], equal_var=False)
    assert unpaired.test == "Welch t" and unpaired.p == pytest.approx(welch.pvalue)
    assert unpaired.effect_kind == "d" and "different seeds" in unpaired.why
    # pairing sees what the spread across seeds hides
    assert paired.p < 0.05 < unpaired.p
    assert compare("one", _runs(best), _runs({1: 0.5})).p is None


def test_runs_pair_only_on_the_same_data_and_never_by_position() -> None:
    """Same seeds but another data split (fingerprint), a fingerprint missing, or a seed
    that repeats within a group: Welch's test, and the reason."""
    best, other = {1: 0.90, 2: 0.86, 3: 0.88}, {1: 0.89, 2: 0.84, 3: 0.86}
    split = compare("other", _runs(best, "a"), _runs(other, "b"))
    assert split.test == "Welch t" and "fingerprints differ" in split.why
    missing = compare("other", _runs(best, None), _runs(other, None))
    assert missing.test == "Welch t" and "missing" in missing.why
    repeated = [Run(1, 0.90, "d"), Run(1, 0.86, "d"), Run(2, 0.88, "d")]
    twice = compare("other", repeated, [Run(1, 0.89, "d"), Run(1, 0.84, "d"), Run(2, 0.86, "d")])
    assert twice.test == "Welch t" and "repeats" in twice.why


def test_no_variance_is_no_evidence() -> None:
    """The same difference under two seeds, or groups without any spread, are not tested
    (a t of infinity is no p < 0.001); means equal up to float rounding are a tie."""
    constant = compare("other", _runs({1: 0.9, 2: 0.8}), _runs({1: 0.85, 2: 0.75}))
    assert constant.test == "cannot test: no variance" and constant.p is None
    flat = compare("other", _runs({1: 0.9, 2: 0.9}, None), _runs({3: 0.8, 4: 0.8}, None))
    assert flat.test == "cannot test: no variance" and flat.p is None
    rounding = compare("x", _runs({1: 0.1 + 0.2, 2: 0.5}), _runs({1: 0.3, 2: 0.5}))
    assert rounding.difference == 0.0


def test_each_comparison_says_the_difference_it_could_detect() -> None:
    """The smallest true difference found with 80% power: simulated paired and Welch
    t-tests at that difference reject about 80% of the time."""
    rng = np.random.default_rng(0)
    n, spread = 5, 0.01
    best = {k: 0.9 + spread * z for k, z in enumerate(rng.standard_normal(n))}
    noise = rng.standard_normal(n)
    other = {k: v - 0.005 + spread * z for (k, v), z in zip(best.items(), noise, strict=True)}
    for comparison, draw in (
        (compare("o", _runs(best), _runs(other)), "paired"),
        (compare("o", _runs(best), _runs({k + 10: v for k, v in other.items()})), "welch"),
    ):
        delta = comparison.detectable
        assert delta is not None and delta > abs(comparison.difference) / 10
        if draw == "paired":
            sd = statistics.stdev([best[k] - other[k] for k in best])
            samples = rng.normal(delta, sd, size=(20_000, n))
            p = stats.ttest_1samp(samples, 0, axis=1).pvalue
        else:
            sa, sb = statistics.stdev(best.values()), statistics.stdev(other.values())
            a = rng.normal(delta, sa, size=(20_000, n))
            b = rng.normal(0.0, sb, size=(20_000, n))
            p = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
        assert (p < 0.05).mean() == pytest.approx(0.8, abs=0.02), draw


def test_holm_corrects_for_the_number_of_comparisons() -> None:
    comparisons = [Comparison(str(p), 0, "t", 3, p) for p in (0.01, 0.04, 0.03)]
    comparisons.append(Comparison("untested", 0, "too few runs (n=1)", 1))
    holm(comparisons)
    assert [c.p_holm for c in comparisons] == pytest.approx([0.03, 0.06, 0.06, None])


def _job(
    root: Path,
    name: str,
    overrides: list[str],
    seed: int,
    val: float,
    test: float,
    fingerprint: str = "data",
) -> None:
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([*overrides, f"seed={seed}"]))
    (job / "manifest.json").write_text(json.dumps({"status": "completed", "seed": seed}))
    metrics = {
        "status": "completed",
        "best_val": {"val/acc": val},
        "test": {"test/acc": test},
        "data": {"fingerprint": fingerprint},
    }
    (job / "metrics.json").write_text(json.dumps(metrics))


def test_report_leads_with_a_verdict_and_tests_every_group_against_the_best(
    tmp_path: Path,
) -> None:
    runs = {
        "model=cnn": [0.880, 0.885, 0.878],
        "model=lstm": [0.879, 0.884, 0.876],  # within noise of cnn, paired by seed
        "model=boe": [0.800, 0.806, 0.797],  # clearly worse
    }
    for g, (overrides, values) in enumerate(runs.items()):
        for seed, value in enumerate(values, 1):
            _job(tmp_path, f"{g}{seed}", [overrides], seed, value, value - 0.01)
    files = write_report([tmp_path], tmp_path / "report").files
    markdown = files["md"].read_text()
    verdict = markdown.splitlines()[2]
    assert verdict.startswith("**Verdict**: `model=cnn` is best by val/acc: 0.8810 ± 0.0036 (n=3)")
    assert "`model=lstm` is not significantly worse (-0.0013, p = " in verdict
    assert "`model=boe` is worse (-0.0800, p < 0.001)" in verdict
    assert "On the test split: `model=cnn` (best by val/acc) has test/acc: 0.8710" in markdown
    with files["groups_csv"].open() as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    assert rows["model=lstm"]["val/acc:test"] == "paired t"
    assert float(rows["model=boe"]["val/acc:p_holm"]) < 0.001
    assert (
        float(rows["model=cnn"]["val/acc:ci95_low"])
        < 0.8810
        < float(rows["model=cnn"]["val/acc:ci95_high"])
    )


def test_the_test_verdict_follows_the_validation_choice_and_says_who_did_better(
    tmp_path: Path,
) -> None:
    """Validation chose cnn; on the test split lstm comes out ahead, and the verdict says so
    rather than calling cnn best."""
    for g, (model, val, test) in enumerate((("cnn", 0.90, 0.80), ("lstm", 0.89, 0.85))):
        for seed in (1, 2, 3):
            noise = seed * (g + 1) / 1000
            _job(tmp_path, f"{g}{seed}", [f"model={model}"], seed, val + noise, test + noise)
    report = write_report([tmp_path], tmp_path / "report")
    assert report.verdict.startswith("`model=cnn` is best by val/acc")
    assert report.test_verdict.startswith("`model=cnn` (best by val/acc) has test/acc: 0.8020")
    assert "`model=lstm` is better (+0.0520, p < 0.001)" in report.test_verdict


def test_intervals_of_accuracies_stay_within_0_and_1(tmp_path: Path) -> None:
    for seed, value in enumerate((1.0, 1.0, 0.998), 1):
        _job(tmp_path, str(seed), ["model=lstm"], seed, value, value)
    files = write_report([tmp_path], tmp_path / "report").files
    with files["groups_csv"].open() as f:
        (row,) = csv.DictReader(f)
    assert float(row["val/acc:ci95_low"]) < 0.998 and float(row["val/acc:ci95_high"]) == 1.0
    assert float(row["test/acc:ci95_high"]) == 1.0
    assert interval([1.0, 1.0, 0.998]).high > 1.0  # what the t-interval alone gives


def test_group_labels_show_interpolations_as_typed(tmp_path: Path) -> None:
    """A swept list with an interpolation reaches each job escaped by Hydra."""
    for g, (name, value) in enumerate((("a", 0.8), ("b", 0.7))):
        for seed in (1, 2):
            override = rf"x=[$\{{paths.data_dir\}}/{name}]"
            noise = (seed if name == "a" else 3 * seed) / 100
            _job(tmp_path, f"{g}{seed}", [override], seed, value + noise, value)
    report = write_report([tmp_path], tmp_path / "report")
    assert report.verdict.startswith("`x=[${paths.data_dir}/a]` is best by val/acc")
    assert "`x=[${paths.data_dir}/b]` is not significantly worse" in report.verdict


def test_cross_validation_folds_group_and_pair_like_seeds(tmp_path: Path) -> None:
    for g, (model, shift) in enumerate((("cnn", 0.0), ("lstm", -0.02))):
        for fold in range(4):
            value = 0.80 + 0.01 * fold + shift * (1 + fold % 2)
            _job(tmp_path, f"{g}{fold}", [f"model={model}", f"cv.fold={fold}"], 0, value, value)
    files = write_report([tmp_path], tmp_path / "report").files
    with files["groups_csv"].open() as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"model=cnn", "model=lstm"} and rows["model=cnn"]["val/acc:n"] == "4"
    assert rows["model=lstm"]["val/acc:test"] == "paired t"


def test_a_different_number_of_folds_is_another_group(tmp_path: Path) -> None:
    """`cv.folds=5` and `cv.folds=10` are two protocols, not repeats of one."""
    for folds in (5, 10):
        for fold in range(3):
            value = 0.80 + 0.01 * fold + folds / 1000
            overrides = ["model=cnn", f"cv.folds={folds}", f"cv.fold={fold}"]
            _job(tmp_path, f"{folds}-{fold}", overrides, 0, value, value, f"{folds}-{fold}")
    report = write_report([tmp_path], tmp_path / "report")
    with report.files["groups_csv"].open() as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"cv.folds=5", "cv.folds=10"}
    assert rows["cv.folds=5"]["val/acc:test"] == "Welch t"  # other data splits: no pairs


def test_ties_for_best_are_ties_and_one_run_shows_no_spread(tmp_path: Path) -> None:
    for g, model in enumerate(("cnn", "lstm")):
        for seed in (1, 2, 3):
            _job(tmp_path, f"{g}{seed}", [f"model={model}"], seed, 0.8 + seed / 100, 0.8)
    _job(tmp_path, "single", ["model=boe"], 1, 0.5, 0.5)
    report = write_report([tmp_path], tmp_path / "report")
    assert report.verdict.startswith("`model=cnn` and `model=lstm` tie for best by val/acc")
    markdown = report.files["md"].read_text()
    boe = next(line for line in markdown.splitlines() if line.startswith("| 3 | `model=boe`"))
    assert "±" not in boe and "0.5000 (n=1" in boe


def _predictions(run: Path, fingerprint: str, predicted: list[str], labels: list[str]) -> Path:
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"data": {"fingerprint": fingerprint}}))
    with (run / "test_predictions.csv").open("w") as f:
        f.write("row,label,predicted,p_neg,p_pos\n")
        rows = enumerate(zip(labels, predicted, strict=True))
        f.writelines(f"{i},{y},{p},0.5,0.5\n" for i, (y, p) in rows)
    return run


def test_mcnemar_compares_two_runs_example_by_example(tmp_path: Path, capsys) -> None:
    labels = ["pos", "neg"] * 50
    flip = {"pos": "neg", "neg": "pos"}
    a = _predictions(tmp_path / "a", "f1", labels, labels)  # right on all 100
    b_predicted = [flip[y] if i < 20 else y for i, y in enumerate(labels)]  # wrong on 20
    b = _predictions(tmp_path / "b", "f1", b_predicted, labels)
    result = compare_runs(a, b)
    assert (result["only_a_right"], result["only_b_right"]) == (20, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5**20)  # exact binomial, two-sided
    report_main(["--compare", str(a), str(b)])
    out = capsys.readouterr().out
    assert "A alone is right on 20, B alone on 0" in out
    assert "not their configurations" in out  # one seed each: seed variance is not in it
    other = _predictions(tmp_path / "c", "f2", labels, labels)
    with pytest.raises(SystemExit) as exit_:
        report_main(["--compare", str(a), str(other)])
    assert exit_.value.code == 2
    assert "tested on different data" in capsys.readouterr().err
    # the same fingerprint, yet the labels differ row by row: not the same examples
    relabeled = _predictions(tmp_path / "d", "f1", labels, [flip[y] for y in labels])
    with pytest.raises(ValueError, match="different labels to 100 test rows"):
        compare_runs(a, relabeled)
    # neither records a fingerprint: nothing shows the examples are the same
    blind_a = _predictions(tmp_path / "e", "", labels, labels)
    blind_b = _predictions(tmp_path / "f", "", labels, labels)
    with pytest.raises(ValueError, match="records its data fingerprint"):
        compare_runs(blind_a, blind_b)
