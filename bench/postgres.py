"""A throw-away PostgreSQL server on 127.0.0.1, for the tests and the scaling bench.

Debian keeps the server programs off the PATH (`pg_config --bindir`); PostgreSQL refuses
to run as root, so as root the server runs as the `postgres` user.
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path


class Unavailable(RuntimeError):
    """No server can be started here; the message says why."""


def _bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((d for d in candidates if (d / "initdb").is_file()), None)


class PostgresServer:
    """`start()`, then `new_database()` for each study's URL, then `stop()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bindir = _bindir()
        self.as_user: list[str] = []
        self.port = 0
        self.count = 0

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [*self.as_user, str(self.bindir / program), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self.bindir is None:
            raise Unavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise Unavailable("running as root, without runuser to start PostgreSQL")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            self.root.chmod(0o777)
            for parent in self.root.parents:  # let the postgres user reach its folder
                if parent != Path("/"):
                    parent.chmod(parent.stat().st_mode | 0o011)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = self.root / "data"
        made = self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust")
        if made.returncode != 0:
            raise Unavailable(f"initdb failed: {made.stderr[-500:]}")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        log = str(self.root / "server.log")
        started = self._run("pg_ctl", "-D", str(data), "-l", log, "-o", options, "-w", "start")
        if started.returncode != 0:
            raise Unavailable(f"PostgreSQL did not start: {started.stderr[-500:]}")

    def new_database(self) -> str:
        """A fresh database; its SQLAlchemy URL (driver: psycopg)."""
        import psycopg

        self.count += 1
        name = f"study{self.count}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "stop")
