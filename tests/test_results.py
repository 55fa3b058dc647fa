"""experiments/results.py keeps the protocol the table claims: one configuration a row,
each seed or fold once and every fold, tuning without the test split, nested selection,
earlier attempts kept, † that a re-run cannot wash out, and targets within noise said."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import QUICK, ROOT, needs_shared_data, run_cli
from textbench.training.machine import cpu_model, short_cpu_name


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("results", ROOT / "experiments" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "STORE", tmp_path / "store")
    monkeypatch.setattr(module, "HERE", tmp_path)
    monkeypatch.setattr(module, "TUNING", tmp_path / "tuning")
    return module


def _sweep(
    root: Path, task: list[str], jobs: list[tuple[list[str], int, float, float]], folds: bool
) -> Path:
    """A finished sweep: each job (overrides, seed or fold, validation, test accuracy)."""
    root.mkdir(parents=True)
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"overrides": {"task": task}}}))
    for number, (overrides, repeat, val, test) in enumerate(jobs):
        job = root / str(number)
        (job / ".hydra").mkdir(parents=True)
        key = f"cv.fold={repeat}" if folds else f"seed={repeat}"
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([*overrides, key]))
        config = {"cv": {"folds": 10 if folds else None}}
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
        manifest = {
            "status": "completed",
            "seed": 0 if folds else repeat,
            "start_time": "2026-12-04T00:00:00+00:00",
            "code": {"commit": "abc1234", "dirty": False},
            "hardware": {"cpu": "Test CPU", "cpu_count": 2, "gpus": []},
        }
        (job / "manifest.json").write_text(json.dumps(manifest))
        metrics = {
            "status": "completed",
            "best_val": {"val/acc": val},
            "test": {"test/acc": test} if test is not None else {},
            "epochs": 2,
            "wall_time_s": 1.0,
            "train_tokens_per_s": 100.0,
            "train_epoch_time_s": [0.5],
            "data": {"fingerprint": f"f{repeat}"},
        }
        (job / "metrics.json").write_text(json.dumps(metrics))
    return root


def _folds(config: list[str], values: list[float], drop: int | None = None) -> list:
    return [(config, f, v, v - 0.01) for f, v in enumerate(values) if f != drop]


def test_add_refuses_repeats_missing_folds_and_mixed_configurations(
    results, tmp_path: Path
) -> None:
    ten = [0.8 + f / 100 for f in range(10)]
    task = ["experiment=mr_cnn", "cv.fold=range(10)"]
    partial = _sweep(tmp_path / "partial", task, _folds([], ten, drop=3), folds=True)
    with pytest.raises(SystemExit, match=r"needs all 10 folds; folds \[3\] are missing"):
        results.add("mr_cnn", {partial: task})
    twice = _sweep(tmp_path / "twice", task, [*_folds([], ten), ([], 4, 0.9, 0.9)], folds=True)
    with pytest.raises(SystemExit, match="run more than once"):
        results.add("mr_cnn", {twice: task})
    mixed = _sweep(
        tmp_path / "mixed",
        [*task, "optimizer.lr=0.1,0.01"],
        [*_folds(["optimizer.lr=0.1"], ten), *_folds(["optimizer.lr=0.01"], ten)],
        folds=True,
    )
    with pytest.raises(SystemExit, match="hold 2 configurations"):
        results.add("mr_cnn", {mixed: task})
    assert not (tmp_path / "store").exists()


def test_add_keeps_earlier_attempts_and_the_table_keeps_the_dagger(results, tmp_path: Path) -> None:
    """A re-run replaces the row but keeps the earlier record; a row whose settings were
    chosen with test figures in view keeps its † however often it is re-run."""
    task = ["experiment=imdb_lstm", "seed=1,2,3"]
    for attempt, shift in (("first", 0.0), ("second", 0.01)):
        jobs = [([], s, 0.9, 0.88 + shift + s / 1000) for s in (1, 2, 3)]
        results.add("imdb_lstm", {_sweep(tmp_path / attempt, task, jobs, folds=False): task})
    stored = json.loads((tmp_path / "store" / "imdb_lstm.json").read_text())
    assert stored["test_acc_mean"] == pytest.approx(0.892)
    assert [e["test_acc_mean"] for e in stored["earlier"]] == [pytest.approx(0.882)]
    table = results.table().read_text()
    assert "| imdb_lstm † |" in table and "`imdb_lstm`: max_length 800" in table


def test_a_target_inside_the_interval_is_within_noise(results) -> None:
    assert results.against(0.80, [0.79, 0.80, 0.82]) == " ≈"
    assert results.against(0.80, [0.83, 0.84, 0.835]) == " ✓"
    assert results.against(0.80, [0.70, 0.71, 0.705]) == " ✗"
    assert results.against(0.80, [0.81]) == " ✓"  # one run: no interval, the mean alone


def test_tuning_refuses_runs_that_read_the_test_split(results, tmp_path: Path) -> None:
    task = ["experiment=mr_cnn", "optimizer.lr=0.1,0.01", "cv.fold=range(3)"]
    jobs = [(["optimizer.lr=0.1"], f, 0.8, 0.79) for f in range(3)]
    sweep = _sweep(tmp_path / "tuning", task, jobs, folds=True)
    with pytest.raises(SystemExit, match="read the test split"):
        results.tuning(sweep, "lr")
    for job in sweep.iterdir():
        if job.is_dir():
            metrics = json.loads((job / "metrics.json").read_text())
            (job / "metrics.json").write_text(json.dumps({**metrics, "test": {}}))
    assert results.tuning(sweep, "lr").name == "mr_cnn_lr.md"


def test_nested_selection_chooses_per_fold_on_its_own_validation(results, tmp_path: Path) -> None:
    """Each fold takes the candidate its own validation split prefers, and reports that
    candidate's test accuracy: here lr=0.1 on even folds, lr=0.01 on odd ones."""
    jobs = []
    for fold in range(10):
        good, bad = (0.1, 0.01) if fold % 2 == 0 else (0.01, 0.1)
        jobs.append(([f"optimizer.lr={good}"], fold, 0.85, 0.80 + fold / 1000))
        jobs.append(([f"optimizer.lr={bad}"], fold, 0.75, 0.99))  # its test would flatter
    task = ["experiment=mr_cnn", "optimizer.lr=0.1,0.01", "cv.fold=range(10)"]
    path = results.nested([_sweep(tmp_path / "nested", task, jobs, folds=True)])
    record = json.loads(path.read_text())
    assert record["experiment"] == "mr_cnn_nested" and record["selection"] == "nested"
    assert record["test_acc"] == pytest.approx([0.80 + f / 1000 for f in range(10)])
    assert record["choices"][:2] == ["optimizer.lr=0.1", "optimizer.lr=0.01"]
    table = results.table().read_text()
    assert "| mr_cnn_nested |" in table  # no ‡: its selection is nested


def test_peers_refuse_a_dirty_tree(tmp_path: Path) -> None:
    """Run outside a git repository, no commit names the code: refused before any data."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers.py"), "mr"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "uncommitted changes" in result.stderr


@pytest.mark.slow
@needs_shared_data
def test_peers_never_record_a_partial_run(tmp_path: Path) -> None:
    stored = ROOT / "experiments" / "results" / "peer_mr_tfidf_lr.json"
    before = stored.read_text()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "peers.py"),
            "mr",
            "--peers",
            "tfidf_lr",
            "--folds",
            "1",
            "--allow-dirty",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "TEXTBENCH_DATA_DIR": str(ROOT.parent / "shared" / "data")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not recorded over the full row" in result.stdout and stored.read_text() == before


@pytest.mark.slow
def test_results_table_joins_seeds_run_in_separate_sweeps(tmp_path: Path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("results", ROOT / "experiments" / "results.py")
    results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(results)
    monkeypatch.setattr(results, "STORE", tmp_path / "store")
    monkeypatch.setattr(results, "HERE", tmp_path)
    for seeds, sweep, finish in (("1", "a", []), ("2,3", "b", ["resume=true"])):
        overrides = ["experiment=mr_cnn", "data=wordorder", "cv.folds=null", f"seed={seeds}"]
        result = run_cli(
            "-m", *overrides, *finish, f"hydra.sweep.dir={sweep}", *QUICK, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
    add = ["results.py", "add", str(tmp_path / "a"), str(tmp_path / "b")]
    # run outside a git repository: no commit names the code, so the rows are refused
    monkeypatch.setattr("sys.argv", add)
    with pytest.raises(SystemExit, match="uncommitted changes \\(or no git record\\)"):
        results.main()
    assert not (tmp_path / "store").exists()
    monkeypatch.setattr("sys.argv", [*add, "--allow-dirty"])
    results.main()
    record = json.loads((tmp_path / "store" / "mr_cnn.json").read_text())
    metrics = [
        json.loads((tmp_path / s / j / "metrics.json").read_text())
        for s, j in (("a", "0"), ("b", "0"), ("b", "1"))
    ]
    accs = [m["test"]["test/acc"] for m in metrics]
    assert record["seeds"] == 3 and record["test_acc"] == accs and record["protocol"] == ["seeds"]
    assert record["val_acc_mean"] == pytest.approx(
        sum(m["best_val"]["val/acc"] for m in metrics) / 3
    )
    assert record["command"].count("textbench-train -m experiment=mr_cnn") == 2
    assert "resume" not in record["command"]  # how a sweep was finished is not its command
    row = next(r for r in (tmp_path / "RESULTS.md").read_text().splitlines() if "mr_cnn" in r)
    assert f"{100 * sum(accs) / 3:.2f} ±" in row and "| 3 seeds |" in row
    if " " in cpu_model():  # a model name, not only the architecture: times depend on it
        assert f"CPU cores ({short_cpu_name(cpu_model())})" in row
