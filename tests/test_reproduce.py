"""textbench-reproduce re-runs a finished run and gets its metrics exactly (on CPU)."""

from pathlib import Path

import pytest

from tests.support import reproduce, run_cli

pytestmark = pytest.mark.slow
LSTM = ["model=lstm", "model.encoder.hidden_size=16", "model.encoder.embedding_dim=16"]


def test_reproduce_gives_identical_metrics(tmp_path: Path) -> None:
    result = run_cli(
        *LSTM,
        "trainer.max_epochs=2",
        "data.n_train=600",
        "data.n_test=200",
        "hydra.run.dir=original",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = reproduce(tmp_path, "original", "again")
    assert report["all_match"] and report["tolerance"] == 0
    assert report["checks"]["same config"] and report["checks"]["same data"]
    assert len(report["metrics"]) >= 8
