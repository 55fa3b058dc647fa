"""Sweeps beyond one process: Optuna studies shared by workers through a real PostgreSQL
server, pruning, and a worker killed in the middle of a trial."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import QUICK, RESUMABLE_RUN, ROOT, make_cfg, reproduce, run_cli
from textbench.cli.report import main as report_main

pytestmark = pytest.mark.slow
optuna = pytest.importorskip("optuna")
SEARCH = [
    "hparams_search=optuna",
    "data.n_train=400",
    "data.n_test=100",
    "trainer.max_epochs=2",
    "callbacks.model_summary=null",
    "model.encoder.num_layers=1",
    "num_threads=1",  # two workers on two cores
]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _worker(cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "textbench.cli.train", "-m", *SEARCH, *args],
        cwd=cwd,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _counted(study) -> list:
    retried = {t.system_attrs.get("failed_trial") for t in study.trials}
    return [
        t
        for t in study.trials
        if not t.user_attrs.get("surplus") and not (t.state.name == "FAIL" and t.number in retried)
    ]


def test_two_workers_share_one_postgres_study(postgres_server, tmp_path: Path) -> None:
    """Started together on a fresh database (the schema race), two workers run 6 trials
    between them: none twice, directories named by trial, one report over both."""
    url = postgres_server()
    storage = [f"hydra.sweeper.storage={url}", "hydra.sweeper.study_name=shared"]
    workers = [
        _worker(tmp_path, *storage, "hydra.sweeper.n_trials=6", f"hydra.sweep.dir=w{i}")
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    study = optuna.load_study(study_name="shared", storage=url)
    counted = _counted(study)
    assert len(counted) == 6 and {t.state.name for t in counted} <= {"COMPLETE", "PRUNED"}
    jobs = sorted(
        int(p.name) for w in ("w0", "w1") for p in (tmp_path / w).iterdir() if p.name.isdigit()
    )
    assert jobs == sorted(t.number for t in counted)  # one directory per trial, no clash
    assert all(any((tmp_path / w).glob("[0-9]*")) for w in ("w0", "w1"))  # both worked
    report_main([str(tmp_path / "w0"), str(tmp_path / "w1"), "--out", str(tmp_path / "all")])
    rows = (tmp_path / "all" / "summary.csv").read_text().splitlines()[1:]
    assert len(rows) == 6


def test_a_killed_workers_trial_is_run_again_by_the_other(postgres_server, tmp_path) -> None:
    """One worker dies of SIGKILL in the middle of a trial: its heartbeat stops, the other
    worker marks the trial failed after the grace period and runs it again, with the same
    parameters, so the study still completes its 4 trials."""
    url = postgres_server()
    args = [
        f"hydra.sweeper.storage={url}",
        "hydra.sweeper.study_name=faults",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.pruner=none",
        "hydra.sweeper.heartbeat_interval_s=1",
        "hydra.sweeper.grace_period_s=4",
        "+callbacks.kill._target_=tests.helpers.KillAtStep",
        "+callbacks.kill.step=8",
        f"+callbacks.kill.marker={tmp_path / 'killed-once'}",
    ]
    workers = [_worker(tmp_path, *args, f"hydra.sweep.dir=w{i}") for i in range(2)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    codes = sorted(w.returncode for w in workers)
    assert codes[0] < 0 and codes[1] == 0, outputs[0][-3000:] + outputs[1][-3000:]
    study = optuna.load_study(study_name="faults", storage=url)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(failed) == 1
    (again,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert again.state.name == "COMPLETE" and again.params == failed[0].params
    counted = _counted(study)
    assert len(counted) == 4 and all(t.state.name == "COMPLETE" for t in counted)


def test_an_unreachable_database_is_one_sentence(tmp_path: Path) -> None:
    started = time.time()
    result = run_cli(
        "-m",
        *SEARCH,
        "hydra.sweeper.storage=postgresql+psycopg://nobody@127.0.0.1:9/none",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "the Optuna storage postgresql+psycopg://nobody@127.0.0.1:9/none cannot be used" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and time.time() - started < 60


def test_pruned_trials_are_reported_as_pruned(tmp_path: Path) -> None:
    """The median pruner stops trials below the median of earlier ones after an epoch:
    each such job ends cleanly, marked `pruned` in its manifest, the study and the report."""
    result = run_cli(
        "-m",
        *SEARCH,
        "hydra.sweep.dir=search",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.pruner=median",
        "hydra.sweeper.pruner_warmup_epochs=0",
        "trainer.max_epochs=3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(
        study_name="lstm", storage=f"sqlite:///{tmp_path / 'search' / 'optuna.db'}"
    )
    states = {t.number: t.state.name for t in study.trials}
    manifests = {
        int(p.parent.name): json.loads(p.read_text())["status"]
        for p in (tmp_path / "search").glob("*/manifest.json")
    }
    assert "PRUNED" in states.values() and "COMPLETE" in states.values()
    assert manifests == {
        n: {"PRUNED": "pruned", "COMPLETE": "completed"}[s] for n, s in states.items()
    }
    summary = (tmp_path / "search" / "summary.md").read_text()
    assert f"{list(states.values()).count('PRUNED')} pruned" in summary


def test_a_preempted_slurm_job_is_requeued_and_resumes(tmp_path: Path) -> None:
    """Through submitit's local executor (the SLURM launcher's own code path): a job
    preempted mid-epoch is requeued with resume=true and ends with the metrics of a job
    that never stopped."""
    straight = run_cli(*RESUMABLE_RUN, "hydra.run.dir=straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    preempted = run_cli(
        "-m",
        "hydra/launcher=slurm_local",
        *RESUMABLE_RUN,
        "hydra.sweep.dir=sweep",
        "+callbacks.preempt._target_=tests.helpers.PreemptAtStep",
        "+callbacks.preempt.step=18",  # 12 steps an epoch: mid-epoch 2
        f"+callbacks.preempt.marker={tmp_path / 'preempted-once'}",
        cwd=tmp_path,
        env=ENV,
    )
    assert preempted.returncode == 0, preempted.stderr[-3000:]
    assert (tmp_path / "preempted-once").exists()
    job = tmp_path / "sweep" / "0"
    assert (
        f"Resuming {job} from {job / 'checkpoints' / 'last.ckpt'}"
        in (job / "train.log").read_text()
    )
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((job / "metrics.json").read_text())
    assert b["best_val"] == a["best_val"] and b["test"] == a["test"]


def test_a_lost_database_connection_fails_the_current_trial_only(postgres_server, tmp_path):
    """Every connection to the study's database is cut in the middle of a trial (the job's,
    which reports to its trial, and the worker's): that trial may fail, with the reason in
    its manifest, but the worker reconnects and the search runs all its trials."""
    url = postgres_server()
    result = run_cli(
        "-m",
        *SEARCH,
        f"hydra.sweeper.storage={url}",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.pruner=median",
        "hydra.sweep.dir=search",
        "+callbacks.cut._target_=tests.helpers.DropDatabaseConnections",
        f"+callbacks.cut.url='{url}'",
        "+callbacks.cut.step=8",
        f"+callbacks.cut.once={tmp_path / 'cut-once'}",
        cwd=tmp_path,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "cut-once").exists()
    study = optuna.load_study(study_name="lstm", storage=url)
    assert len(study.trials) == 3
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) >= 2
    for trial in study.trials:
        manifest = json.loads(
            (tmp_path / "search" / str(trial.number) / "manifest.json").read_text()
        )
        if trial.state.name == "FAIL":
            assert manifest["status"] == "failed" and "Storage" in manifest["error"]


def test_optuna_search_interrupted_and_resumed_is_one_study(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    search = ["-m", "hparams_search=optuna", "hydra.sweep.dir=search", *QUICK]
    first = run_cli(*search, "hydra.sweeper.n_trials=2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_cli(*search, "hydra.sweeper.n_trials=3", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    study = optuna.load_study(
        study_name="lstm", storage=f"sqlite:///{tmp_path / 'search' / 'optuna.db'}"
    )
    assert len(study.trials) == 3
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    # The continued study's sampler does not restart its seed: no trial is drawn again.
    params = [t.params for t in study.trials]
    assert params[2] not in params[:2]
    assert sorted(p.name for p in (tmp_path / "search").iterdir() if p.name.isdigit()) == [
        "0",
        "1",
        "2",
    ]


def test_joblib_launcher_shares_the_cores(tmp_path: Path) -> None:
    result = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=cnn",
        "seed=1,2",
        "hydra.sweep.dir=sweep",
        *QUICK,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        manifest = json.loads((tmp_path / "sweep" / job / "manifest.json").read_text())
        assert manifest["status"] == "completed"
        assert manifest["hardware"]["torch_threads"] == max(1, (os.cpu_count() or 1) // 2)
    # A joblib job reproduced on its own: same config (threads and sweep paths aside), and
    # the same metrics, as it runs with the job's thread count.
    again = reproduce(tmp_path, "sweep/0", "again")
    assert again["checks"]["same config"] and again["all_match"]


def test_slurm_launcher_config_composes(tmp_path: Path) -> None:
    make_cfg(tmp_path, ["hydra/launcher=slurm", "hydra.launcher.partition=gpu"])
    from hydra.core.hydra_config import HydraConfig

    launcher = HydraConfig.get().launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min) == ("gpu", 1, 240)
