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

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from textbench.config import config_dir, register_resolvers

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


def make_cfg(output_dir: Path, overrides: list[str]) -> DictConfig:
    """Compose the train config as the command line would, writing into `output_dir`."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        del cfg.hydra
    return cfg


def run_cli(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `textbench-train` (through this Python) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "textbench.train", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian keeps them off the PATH)."""
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates = [Path(found.stdout.strip())] if found.returncode == 0 else []
    except OSError:
        candidates = []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((d for d in candidates if (d / "initdb").is_file()), None)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """A throw-away PostgreSQL server on 127.0.0.1 for this test session; yields a function
    that creates a fresh database and returns its SQLAlchemy URL."""
    import shutil
    import socket

    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    root = tmp_path_factory.mktemp("postgres")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start PostgreSQL as postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        root.chmod(0o777)
        for parent in root.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)  # let postgres reach its folder
    data, log = root / "data", root / "server.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)

    initdb = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    if initdb.returncode != 0:
        pytest.skip(f"initdb failed: {initdb.stderr[-500:]}")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=100"
    start = run(
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"
    )
    if start.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {start.stderr[-500:]}")
    count = iter(range(1000))

    def new_database() -> str:
        import psycopg

        name = f"study{next(count)}"
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    new_database.stop = lambda: run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
    yield new_database
    new_database.stop()
