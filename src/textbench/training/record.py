"""The record every run leaves: `manifest.json` (how it ran) and `metrics.json` (what it got).

Files are written atomically (temp file + rename) and by global rank 0 only, so neither a
crash nor a second process leaves a half-written result.
"""

import hashlib
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

import textbench
from textbench.errors import ConfigError
from textbench.files import write_json, write_text
from textbench.training.machine import cpu_model

PACKAGES = (
    "textbench",
    "torch",
    "lightning",
    "hydra-core",
    "omegaconf",
    "torchmetrics",
    "datasets",
    "tokenizers",
)


def _git(*args: str) -> str | None:
    """Git in the directory the user runs from: the code of the experiment is theirs."""
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def code_version(output_dir: Path) -> dict[str, Any]:
    """The commit of the repository the run started from, whether its tree had changes
    (tracked or new files), with the diff saved when it had, and textbench's version."""
    version = {"textbench": textbench.__version__}
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {**version, "commit": None, "note": "not run from inside a git repository"}
    status = _git("status", "--porcelain") or ""
    diff = _git("diff", "HEAD") or ""
    if diff:
        write_text(output_dir / "git.diff", diff)
    return {
        **version,
        "repository": (_git("rev-parse", "--show-toplevel") or "").strip(),
        "commit": commit.strip(),
        "dirty": bool(status.strip()),
    }


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _hardware() -> dict[str, Any]:
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpus": gpus,
    }


class RunRecord:
    """Context manager around a run: manifest at start, final status at exit."""

    def __init__(self, cfg: DictConfig, output_dir: Path) -> None:
        self.cfg = cfg
        self.output_dir = output_dir
        self.started = time.time()
        self.manifest: dict[str, Any] = {
            "status": "running",
            "command": sys.argv,
            "config_sha256": _config_hash(cfg),
            "seed": cfg.get("seed"),
            "tags": list(cfg.get("tags") or []),
            "start_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    @rank_zero_only
    def _write_manifest(self) -> None:
        write_json(self.output_dir / "manifest.json", self.manifest)

    def __enter__(self) -> "RunRecord":
        if rank_zero_only.rank == 0:
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                resolved = OmegaConf.to_yaml(self.cfg, resolve=True)
                write_text(self.output_dir / "resolved_config.yaml", resolved)
            except OSError as error:
                raise ConfigError(
                    f"The run directory {self.output_dir} is not writable ({error}); nothing "
                    "was trained. Choose another place with paths.log_dir=DIR."
                ) from error
            self.manifest.update(
                code=code_version(self.output_dir), versions=_versions(), hardware=_hardware()
            )
        self._write_manifest()
        return self

    def add(self, **fields: Any) -> None:
        self.manifest.update(fields)
        self._write_manifest()

    def add_hardware(self, **fields: Any) -> None:
        """E.g. the accelerator the trainer runs on: it decides how exactly a rerun must match."""
        self.manifest.setdefault("hardware", {}).update(fields)
        self._write_manifest()

    @property
    def wall_time(self) -> float:
        return time.time() - self.started

    @rank_zero_only
    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json(self.output_dir / "metrics.json", metrics)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            status = "completed"
        elif issubclass(kind, KeyboardInterrupt | SystemExit):  # Lightning exits on Ctrl-C
            status = "interrupted"
        elif kind.__name__ == "TrialPruned":  # optuna's, raised by the pruning callback
            status = "pruned"
        else:
            status = "failed"
        self.manifest.update(
            status=status,
            end_time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            wall_time_s=round(self.wall_time, 3),
        )
        if error is not None:
            self.manifest["error"] = f"{kind.__name__}: {error}"
        self._write_manifest()


# Keys that never change what a run computes: where it writes (paths, and the logger
# nodes, which name sweep directories), launcher-injected thread counts, labels, resuming,
# the Optuna trial it reports to.
_NOT_HASHED = ("paths", "logger", "num_threads", "tags", "resume", "optuna_trial", "verbose")


def _config_hash(cfg: DictConfig) -> str:
    """Hash of the resolved config, blind to where the run writes and how it was launched,
    so that a rerun of the same experiment (a joblib job by `textbench-reproduce`) matches."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg))
    for key in list(copy.get("paths", {})):
        copy.paths[key] = f"<{key}>"  # other keys that interpolate a path see the placeholder
    for key in _NOT_HASHED:
        if key != "paths":
            copy.pop(key, None)
    resolved = OmegaConf.to_container(copy, resolve=True)
    resolved.pop("paths", None)
    text = OmegaConf.to_yaml(resolved, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
