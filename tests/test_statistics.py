"""Is a difference real: intervals, paired and Welch tests, Holm, and the report's verdict."""

import csv
import json
from pathlib import Path

import pytest
import yaml
from scipy import stats

from textbench.report import main as report_main
from textbench.reporting.predictions import compare_runs
from textbench.reporting.statistics import Comparison, compare, holm, interval
from textbench.reporting.sweep import write_report


def test_interval_is_the_t_interval_of_the_mean_and_absent_for_one_run() -> None:
    values = [0.81, 0.83, 0.86, 0.84]
    low, high = stats.t.interval(0.95, 3, loc=0.835, scale=stats.sem(values))
    result = interval(values)
    assert (result.low, result.high) == pytest.approx((low, high))
    assert result.text() == "0.8350 ± 0.0208 (n=4)"
    single = interval([0.8])
    assert (single.low, single.high, single.text()) == (None, None, "0.8000 (n=1)")


def test_runs_pair_up_by_seed_or_are_compared_unpaired() -> None:
    best = {1: 0.90, 2: 0.86, 3: 0.88}
    other = {1: 0.89, 2: 0.84, 3: 0.86}  # below the best under every seed
    paired = compare("other", best, other)
    assert paired.test == "paired t" and paired.n == 3
    assert paired.p == pytest.approx(stats.ttest_rel(list(best.values()), [0.89, 0.84, 0.86])[1])
    assert paired.difference == pytest.approx(-0.0166667, abs=1e-6) and paired.effect > 0
    # other seeds: nothing pairs up, Welch's test on the two samples
    unpaired = compare("other", best, {4: 0.89, 5: 0.84, 6: 0.86})
    welch = stats.ttest_ind(list(best.values()), [0.89, 0.84, 0.86], equal_var=False)
    assert unpaired.test == "Welch t" and unpaired.p == pytest.approx(welch.pvalue)
    # pairing sees what the spread across seeds hides
    assert paired.p < 0.05 < unpaired.p
    assert compare("one", best, {1: 0.5}).p is None


def test_holm_corrects_for_the_number_of_comparisons() -> None:
    comparisons = [Comparison(str(p), 0, "t", 3, p) for p in (0.01, 0.04, 0.03)]
    comparisons.append(Comparison("untested", 0, "too few runs (n=1)", 1))
    holm(comparisons)
    assert [c.p_holm for c in comparisons] == pytest.approx([0.03, 0.06, 0.06, None])


def _job(root: Path, name: str, overrides: list[str], seed: int, val: float, test: float):
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([*overrides, f"seed={seed}"]))
    (job / "manifest.json").write_text(json.dumps({"status": "completed", "seed": seed}))
    metrics = {"status": "completed", "best_val": {"val/acc": val}, "test": {"test/acc": test}}
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
            _job(tmp_path, f"{g}{seed}", [override], seed, value + seed / 100, value)
    report = write_report([tmp_path], tmp_path / "report")
    assert report.verdict.startswith("`x=[${paths.data_dir}/a]` is best by val/acc")
    assert "`x=[${paths.data_dir}/b]` is worse" in report.verdict


def test_cross_validation_folds_group_and_pair_like_seeds(tmp_path: Path) -> None:
    for g, (model, shift) in enumerate((("cnn", 0.0), ("lstm", -0.02))):
        for fold in range(4):
            value = 0.80 + 0.01 * fold + shift
            _job(tmp_path, f"{g}{fold}", [f"model={model}", f"cv.fold={fold}"], 0, value, value)
    files = write_report([tmp_path], tmp_path / "report").files
    with files["groups_csv"].open() as f:
        rows = {r["group"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"model=cnn", "model=lstm"} and rows["model=cnn"]["val/acc:n"] == "4"
    assert rows["model=lstm"]["val/acc:test"] == "paired t"


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
