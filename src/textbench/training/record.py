"""The record every run leaves: `manifest.json` (how it ran) and `metrics.json` (what it got).

Files are written atomically (temp file + rename) and by global rank 0 only, so neither a
crash nor a second process leaves a half-written result.
"""

import hashlib
import json
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


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=Path(textbench.__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def code_version(output_dir: Path) -> dict[str, Any]:
    """Git commit and dirty flag of the code that ran; the diff is saved when dirty."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "note": "not a git checkout; see versions.textbench"}
    diff = _git("diff", "HEAD") or ""
    if diff:
        (output_dir / "git.diff").write_text(diff)
    return {"commit": commit.strip(), "dirty": bool(diff)}


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
        "cpu": platform.processor() or platform.machine(),
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
            "start_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    @rank_zero_only
    def _write_manifest(self) -> None:
        write_json(self.output_dir / "manifest.json", self.manifest)

    def __enter__(self) -> "RunRecord":
        if rank_zero_only.rank == 0:
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                OmegaConf.save(self.cfg, self.output_dir / "resolved_config.yaml", resolve=True)
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


def _config_hash(cfg: DictConfig) -> str:
    """Hash of the resolved config, blind to where the run writes (that differs per run)."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg))
    copy.paths.output_dir = "<output_dir>"
    copy.paths.cache_dir = "<cache_dir>"
    text = OmegaConf.to_yaml(copy, resolve=True, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
