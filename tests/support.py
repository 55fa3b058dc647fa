"""What tests share: where things are, tiny configs, composing a config as the command
line would, and running the command line. (Fixtures live in conftest.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import DictConfig

from textbench.api import compose_config

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "imdb" / "train.parquet").is_file(),
    reason=f"real data not found under {SHARED_DATA}",
)

# Small and fast: 600 synthetic texts, small models, a couple of epochs.
TINY = [
    "data.n_train=600",
    "data.n_test=200",
    "trainer.max_epochs=2",
    "callbacks.model_summary=null",
]

# Each model at a size that trains in seconds (the pretrained encoder is what it is: its
# texts are cut short instead).
SMALL = {
    "lstm": ["model.encoder.hidden_size=16", "model.encoder.embedding_dim=16"],
    "cnn": ["model.encoder.num_filters=8", "model.encoder.embedding_dim=16"],
    "transformer": ["model.encoder.d_model=16", "model.encoder.dim_feedforward=32"],
    "boe": ["model.encoder.embedding_dim=16", "model.encoder.buckets=1000"],
    "nbsvm": ["model.encoder.buckets=1000"],
    "pretrained": ["tokenizer=pretrained", "data.max_length=32", "data.n_train=200"],
}

# A sweep's jobs at their quickest: a few batches an epoch (debug=limit), little data.
QUICK = ["debug=limit", "data.n_train=400", "data.n_test=200", "callbacks.model_summary=null"]

# A small LSTM, 3 epochs of 12 steps (720 training texts in batches of 64): the run the
# interruption tests stop mid-epoch and compare with one that never stopped.
RESUMABLE_RUN = [
    "model=lstm",
    "model.encoder.hidden_size=16",
    "model.encoder.embedding_dim=16",
    "data.n_train=800",
    "data.n_test=200",
    "trainer.max_epochs=3",
    "callbacks.model_summary=null",
]


def make_cfg(output_dir: Path, overrides: list[str]) -> DictConfig:
    """Compose the train config as the command line would, writing into `output_dir`."""
    return compose_config(overrides, output_dir)


def run_cli(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `textbench-train` (through this Python) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "textbench.cli.train", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def reproduce(cwd: Path, run: str, out: str) -> dict:
    """`textbench-reproduce RUN --out OUT` from `cwd`; its reproduce.json."""
    import json

    again = subprocess.run(
        [sys.executable, "-m", "textbench.cli.reproduce", run, "--out", out],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    return json.loads((cwd / out / "reproduce.json").read_text())


def summary_rows(directory: Path) -> list[dict[str, str]]:
    """A sweep report's summary.csv, one dict a job."""
    import csv

    with (directory / "summary.csv").open() as f:
        return list(csv.DictReader(f))
