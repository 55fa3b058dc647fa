"""Resuming: a run killed mid-epoch ends with the metrics of one that never stopped, and a
sweep resumed skips its completed jobs."""

import csv
import json
import os
from pathlib import Path

import pytest

from tests.support import RESUMABLE_RUN, ROOT, run_cli, summary_rows

pytestmark = pytest.mark.slow
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_a_run_killed_mid_epoch_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    run = [*RESUMABLE_RUN, "seed=3"]
    straight = run_cli(*run, "hydra.run.dir=straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    # 720 training texts in batches of 64: 12 steps an epoch; step 18 is mid-epoch 2.
    killed = run_cli(
        *run,
        "hydra.run.dir=killed",
        "+callbacks.kill._target_=tests.helpers.KillAtStep",
        "+callbacks.kill.step=18",
        cwd=tmp_path,
        env=ENV,
    )
    assert killed.returncode < 0  # died of SIGKILL
    assert json.loads((tmp_path / "killed" / "manifest.json").read_text())["status"] == "running"
    # Its checkpoint names the test's callback, which the resuming command no longer does.
    resumed = run_cli(
        *run, "hydra.run.dir=killed", "resume=true", "trust=[tests.helpers]", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert b["best_val"] == a["best_val"]
    assert b["test"] == a["test"]
    # The history before the kill is kept: every epoch's time, every epoch's curve rows.
    assert len(b["train_epoch_time_s"]) == len(a["train_epoch_time_s"]) == 3

    def val_rows(run: str) -> list[tuple[str, str]]:
        with (tmp_path / run / "csv" / "metrics.csv").open() as f:
            return [(r["epoch"], r["val/acc"]) for r in csv.DictReader(f) if r.get("val/acc")]

    assert val_rows("killed") == val_rows("straight")
    assert [e for e, _ in val_rows("killed")] == ["0", "1", "2"]


def test_multirun_resume_skips_completed_jobs_and_resumes_the_rest(tmp_path: Path) -> None:
    # Job 0 completes; job 1 is killed mid-epoch 3 (step 30), which ends the whole sweep.
    sweep = [
        "-m",
        *RESUMABLE_RUN,
        "hydra.sweep.dir=sweep",
        "+callbacks.kill._target_=tests.helpers.KillAtStep",
        "+callbacks.kill.step=1000,30",
        f"+callbacks.kill.marker={tmp_path / 'killed-once'}",
    ]
    first = run_cli(*sweep, cwd=tmp_path, env=ENV)
    assert first.returncode != 0
    job0, job1 = tmp_path / "sweep" / "0", tmp_path / "sweep" / "1"
    assert (job0 / "metrics.json").is_file() and not (job1 / "metrics.json").exists()
    assert (job1 / "checkpoints" / "last.ckpt").is_file()
    done = (job0 / "metrics.json").stat().st_mtime
    second = run_cli(*sweep, "resume=true", cwd=tmp_path, env=ENV)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (job0 / "metrics.json").stat().st_mtime == done  # skipped, not run again
    log = (job1 / "train.log").read_text()
    assert f"Resuming {job1} from {job1 / 'checkpoints' / 'last.ckpt'}" in log
    assert [r["status"] for r in summary_rows(tmp_path / "sweep")] == ["completed", "completed"]
