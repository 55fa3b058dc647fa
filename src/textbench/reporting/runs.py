"""Collect the jobs of sweeps and runs from their directories, whatever state they are in."""

import json
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textbench.config import as_typed

# jobs that differ only by these keys belong to one group (repeats of one configuration);
# exact keys: `cv.folds`, unlike `cv.fold`, is a setting that separates groups
REPEAT_KEYS = frozenset({"seed", "cv.fold", "resume"})


@dataclass
class Job:
    path: Path
    overrides: list[str]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> float | None:
        """A metric by name: `val/...` reads the best validation epoch, `test/...` the test."""
        if key.endswith("_best"):
            key = key.removesuffix("_best")
        section = "test" if key.startswith("test/") else "best_val"
        value = self.metrics.get(section, {}).get(key)
        return None if value is None or math.isnan(value) else value

    def group(self, common: frozenset[str] = frozenset()) -> str:
        """All overrides except the seed and cross-validation fold (and those every job
        shares): the jobs that differ only by seed or fold belong together."""
        kept = [o for o in self.overrides if o not in common and not _repeat_key(o)]
        return " ".join(kept) or "(defaults)"

    def repeat(self) -> tuple:
        """Which repeat of its configuration the job is: its seed and cross-validation
        fold, so that two configurations' runs pair up."""
        fold = next((o.split("=", 1)[1] for o in self.overrides if o.startswith("cv.fold=")), None)
        return (self.manifest.get("seed"), fold)


def _repeat_key(override: str) -> bool:
    key = override.split("=", 1)[0].lstrip("+~")
    return key in REPEAT_KEYS or key.startswith("hydra.")


def relative(path: Path, root: Path) -> str:
    """`path` as seen from `root` (for links and tables), or whole where it lies elsewhere."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def own_file(job_dir: Path, name: str) -> Path | None:
    """`job_dir/name` if it is a plain file of the job's own: not a symbolic link, nor
    reached through one (a sweep someone handed over may link to your files)."""
    path = job_dir / name
    parts = [job_dir / Path(*Path(name).parts[: i + 1]) for i in range(len(Path(name).parts))]
    if any(p.is_symlink() for p in parts) or not path.is_file():
        return None
    return path


def read_record(job_dir: Path, name: str) -> dict[str, Any]:
    """A JSON record of a job's own (`metrics.json`, `manifest.json`), or {}."""
    return _read_json(own_file(job_dir, name))


def _read_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _read_overrides(path: Path | None) -> list[str]:
    """A job's overrides: a YAML list of strings, else none (the file was altered)."""
    if path is None:
        return []
    try:
        overrides = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        return []
    return overrides


def load_job(path: Path) -> Job:
    overrides = _read_overrides(own_file(path, ".hydra/overrides.yaml"))
    # the Optuna trial a job reported to is bookkeeping, not a setting
    overrides = [as_typed(o) for o in overrides if not o.startswith("optuna_trial=")]
    metrics = read_record(path, "metrics.json")
    manifest = read_record(path, "manifest.json")
    if metrics.get("status") == "completed":
        status = "completed"
    elif manifest:
        status = str(manifest.get("status", "running"))
    else:  # Hydra made the directory, but the job failed before its record began
        status = "failed"
    return Job(path, overrides, status, metrics, manifest)


def find_jobs(paths: list[Path]) -> list[Job]:
    """Every job directory at or below `paths`: one holding `.hydra/` or `manifest.json`.
    Symbolic links are not followed: a report reads only what lies inside its roots."""
    found: dict[Path, None] = {}
    for root in paths:
        if not root.is_dir():
            continue
        for folder, subfolders, _ in os.walk(root):
            here = Path(folder)
            subfolders[:] = sorted(d for d in subfolders if not (here / d).is_symlink())
            if ((here / ".hydra").is_dir() and not (here / ".hydra").is_symlink()) or own_file(
                here, "manifest.json"
            ):
                found[here.resolve()] = None
    return sorted((load_job(p) for p in found), key=lambda j: _job_order(j.path))


def _job_order(path: Path) -> tuple:
    """Sweep order: numbered jobs by number, then other folders by name."""
    name = path.name
    return (str(path.parent), (0, int(name), "") if name.isdigit() else (1, 0, name))


@dataclass
class Group:
    name: str
    jobs: list[Job]
    metrics: dict[str, tuple[float, float, int]]  # mean, std, n over completed jobs


def common_overrides(jobs: list[Job]) -> frozenset[str]:
    if len(jobs) < 2:
        return frozenset()
    return frozenset.intersection(*(frozenset(j.overrides) for j in jobs))


def group_jobs(jobs: list[Job], metric_keys: list[str]) -> list[Group]:
    common = common_overrides(jobs)
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.group(common), []).append(job)
    result = []
    for name, members in groups.items():
        stats = {}
        for key in metric_keys:
            values = [
                v
                for j in members
                if j.status == "completed"
                for v in [j.value(key)]
                if v is not None
            ]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                stats[key] = (statistics.fmean(values), std, len(values))
        result.append(Group(name, members, stats))
    return result
