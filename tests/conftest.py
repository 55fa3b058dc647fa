"""Fixtures, and the environment every test runs in: the Hub offline and a token cache
of the session's own. Shared constants and helpers are in tests/support.py."""

import os
import tempfile
from pathlib import Path

import pytest

# Tests never touch the network: with the Hub offline a missing file fails at once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# A token cache of the test session's own, so that no test reads another machine's state.
os.environ["TEXTBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="textbench-cache-")
# Under pytest-xdist (-n 2 on 2 cores), one torch thread a process, the commands a test
# starts included: two workers with two threads each would compete for the cores (4x
# slower each), and every run would warn that other processes keep the cores busy.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"

from tests.support import SMALL, TINY, make_cfg


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory):
    """A function giving the directory of a small finished run of each model (SMALL, on
    TINY data), trained once per test session, whatever the number of xdist workers (a
    file lock in their shared temporary folder); copy it before changing it."""
    from filelock import FileLock

    from textbench.training.run import train

    shared = tmp_path_factory.getbasetemp().parent / "trained_runs"
    shared.mkdir(exist_ok=True)

    def run(model: str) -> Path:
        directory = shared / model
        with FileLock(shared / f"{model}.lock"):
            if not (directory / "metrics.json").is_file():
                train(make_cfg(directory, [f"model={model}", *TINY, *SMALL[model]]))
        return directory

    return run


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
