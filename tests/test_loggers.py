"""The optional loggers (MLflow, W&B, TensorBoard) run offline and group a sweep's jobs."""

import json
from pathlib import Path

import pytest

from tests.support import QUICK, run_cli

pytestmark = pytest.mark.slow


def test_optional_loggers_run_offline_and_group_a_sweep(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    result = run_cli(
        "-m",
        "logger=mlflow,wandb,tensorboard",
        "tags=[tagcheck,two]",
        "model=cnn",
        "seed=1",
        "hydra.sweep.dir=sweep",
        *QUICK,
        cwd=tmp_path,
        env={"WANDB_SILENT": "true", "WANDB_MODE": "offline"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["train"])
    assert len(runs) == 1 and runs["tags.sweep"][0] == "sweep"
    assert runs["tags.tags"][0] == "tagcheck,two"  # the run's tags reach MLflow and W&B
    assert runs["metrics.test/acc"][0] == pytest.approx(
        json.loads((tmp_path / "sweep" / "0" / "metrics.json").read_text())["test"]["test/acc"]
    )
    (wandb_run,) = (tmp_path / "sweep" / "1" / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"tagcheck" in wandb_run.read_bytes()
    assert list((tmp_path / "sweep" / "2" / "tensorboard").glob("events.out.tfevents.*"))
