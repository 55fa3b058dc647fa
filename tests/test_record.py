"""A run record that tells the truth: config hash, code version, reproduce's verdict,
and a `metrics.json` that promises every output exists."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import TINY, make_cfg
from textbench.cli.reproduce import compare, format_row, tolerance_for
from textbench.files import atomic_write
from textbench.training import run as run_module
from textbench.training.machine import cpu_model, short_cpu_name
from textbench.training.record import _config_hash, code_version


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "metrics.json"
    with atomic_write(path) as f:
        f.write("old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write("half of the new")
        assert path.read_text() == "old"  # nobody sees the new file before it is whole
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temporary left
    old_umask = os.umask(0o022)
    try:
        with atomic_write(path, "wb") as f:
            f.write(b"new")
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"new"
    # the umask's permissions, like open(): others on a shared cluster can read results
    assert path.stat().st_mode & 0o777 == 0o644


SMALL_CNN = ["model=cnn", "model.encoder.num_filters=8", "model.encoder.embedding_dim=16"]


def test_config_hash_ignores_paths_loggers_and_injected_threads(tmp_path: Path) -> None:
    """A joblib job (num_threads injected, sweep paths in the logger nodes) and its rerun
    elsewhere share one hash; a change of what is computed does not."""
    job = make_cfg(
        tmp_path / "sweep" / "0",
        ["logger=mlflow", "num_threads=1", "hydra.sweep.dir=sweep", "tags=[a]", *TINY],
    )
    job_hash = _config_hash(job)
    rerun = make_cfg(tmp_path / "again", ["logger=mlflow", "hydra.sweep.dir=other", *TINY])
    assert _config_hash(rerun) == job_hash
    changed = make_cfg(tmp_path / "again", ["logger=mlflow", "seed=3", *TINY])
    assert _config_hash(changed) != job_hash


def _git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_code_version_is_the_repository_the_user_runs_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, out = tmp_path / "experiment", tmp_path / "out"
    repo.mkdir()
    out.mkdir()
    _git(repo, "init", "-q")
    (repo / "model.py").write_text("x = 1\n")
    _git(repo, "add", "model.py")
    _git(repo, "commit", "-qm", "first")
    monkeypatch.chdir(repo)
    clean = code_version(out)
    assert clean["commit"] == _git(repo, "rev-parse", "HEAD").strip()
    assert clean["dirty"] is False and clean["textbench"]
    (repo / "model.py").write_text("x = 2\n")
    dirty = code_version(out)
    assert dirty["dirty"] is True and "+x = 2" in (out / "git.diff").read_text()
    (repo / "model.py").write_text("x = 1\n")
    (repo / "new.py").write_text("")
    assert code_version(out)["dirty"] is True  # a new file is a change too
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert code_version(out)["commit"] is None


def test_reproduce_tolerance_follows_the_runs_accelerator() -> None:
    # The run's own accelerator decides, whatever GPUs its machine (or this one) has.
    assert tolerance_for({"hardware": {"accelerator": "cpu", "gpus": ["NVIDIA H200"]}})[0] == 0
    assert tolerance_for({"hardware": {"accelerator": "cuda", "gpus": []}})[0] == 1e-3
    assert tolerance_for({})[0] == 1e-3


def test_reproduce_reports_a_metric_missing_on_one_side() -> None:
    original = {"best_val": {"val/acc": 0.9, "val/f1": 0.8}, "test": {"test/acc": 0.7}}
    again = {"best_val": {"val/acc": 0.9}, "test": {"test/acc": 0.7, "test/f1": 0.6}}
    rows = {r["metric"]: r for r in compare(original, again, 0.0)}
    assert rows["best val/acc"]["match"] and rows["test/acc"]["match"]
    for name in ("best val/f1", "test/f1"):
        assert not rows[name]["match"]
        assert "MISSING" in format_row(rows[name]) and "missing" in format_row(rows[name])


def test_metrics_json_is_written_after_every_other_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the last output (the learning-curve plot) fails, no completed metrics.json is
    left for `resume=true` or reports to trust."""

    def broken_plot(csv: Path, png: Path) -> str:
        assert not (tmp_path / "metrics.json").exists()
        raise OSError("disk full")

    monkeypatch.setattr(run_module, "plot_learning_curves", broken_plot)
    with pytest.raises(OSError, match="disk full"):
        run_module.train(make_cfg(tmp_path, [*SMALL_CNN, *TINY, "trainer.max_epochs=1"]))
    assert not (tmp_path / "metrics.json").exists()
    assert json.loads((tmp_path / "manifest.json").read_text())["status"] == "failed"


def test_manifest_records_accelerator_tags_and_textbench_version(tmp_path: Path) -> None:
    run_module.train(make_cfg(tmp_path, [*SMALL_CNN, *TINY, "debug=fdr", "tags=[ablation,x]"]))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["hardware"]["accelerator"] == "cpu"
    assert manifest["hardware"]["cpu"] == cpu_model()  # the model, not just "x86_64"
    assert manifest["tags"] == ["ablation", "x"]
    assert manifest["code"]["textbench"] == manifest["versions"]["textbench"]


def test_cpu_names_are_short_in_tables() -> None:
    assert short_cpu_name("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert short_cpu_name("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13"


def test_epoch_times_cover_every_epoch_when_an_early_epoch_is_best(tmp_path: Path) -> None:
    """Testing loads the best checkpoint, which restores the callbacks' state of that
    epoch; the record still lists every epoch's time."""
    cfg = make_cfg(
        tmp_path, [*SMALL_CNN, *TINY, "trainer.max_epochs=3", "monitor=val/examples"]
    )  # a constant monitor: epoch 0 stays the best
    results = run_module.train(cfg)
    assert results["best_val"]["epoch"] == 0
    assert len(results["train_epoch_time_s"]) == 3
