"""Shared fixtures: offline Hub, composed configs for in-process runs, the shared data."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Tests never touch the network: with the Hub offline a missing file fails at once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# A token cache of the test session's own, so that no test reads another machine's state.
os.environ["TEXTBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="textbench-cache-")

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


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """A throw-away PostgreSQL server on 127.0.0.1 for this test session; yields a function
    that creates a fresh database and returns its SQLAlchemy URL."""
    from bench.postgres import PostgresServer, Unavailable

    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    try:
        server.start()
    except Unavailable as reason:
        pytest.skip(str(reason))
    yield server.new_database
    server.stop()
