"""The benchmark scripts run (tiny sizes); their timings are never asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_runs_on_tiny_sizes(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--results", str(results)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    text = results.read_text()
    for section in (
        "Overhead: textbench vs a plain PyTorch loop",
        "Start-up",
        "Sweep parallelism",
        "CPU efficiency: CNN training FLOP/s",
        "GPU: bf16-mixed vs fp32",
        "Optuna pruning",
        "Optuna workers on one study",
    ):
        assert f"## {section}" in text
    for row in ("cnn", "tiny", "none", "median"):  # --quick: one model, one size
        assert f"| {row} |" in text
    for command in ("eval", "predict", "export"):
        assert f"| `textbench-{command} --help` |" in text
    assert "| `textbench-predict`, one text, launch → exit |" in text


def test_the_bench_models_compose_and_pass_the_schema(tmp_path: Path) -> None:
    """--quick trains only the CNN: the other models' bench settings are checked here."""
    from bench.run import MODELS
    from tests.conftest import make_cfg
    from textbench.schema import validate

    for overrides in MODELS.values():
        validate(make_cfg(tmp_path, overrides), "train")


@pytest.mark.slow
def test_data_scaling_bench_runs_on_tiny_sizes(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "data.py"),
            "--scale=2000",
            "--repeats=1",
            "--amazon=3000",
            f"--generated={tmp_path / 'data'}",
            f"--results={results}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    text = results.read_text()
    assert "## Data at scale: preparation time and memory" in text
    assert "| 2,000 |" in text
    assert "## Data at scale: an Amazon-sized set" in text
    assert "test accuracy, 1 epoch" in text
