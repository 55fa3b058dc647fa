"""Collect the jobs of sweeps and runs from their directories, whatever state they are in."""

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textbench.config import as_typed

# jobs that differ only by these belong to one group (repeats of one configuration)
IGNORED_IN_GROUPS = ("seed", "cv.fold", "resume", "hydra.")


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
        kept = [
            o
            for o in self.overrides
            if o not in common and not o.lstrip("+~").startswith(IGNORED_IN_GROUPS)
        ]
        return " ".join(kept) or "(defaults)"

    def repeat(self) -> tuple:
        """Which repeat of its configuration the job is: its seed and cross-validation
        fold, so that two configurations' runs pair up."""
        fold = next((o.split("=", 1)[1] for o in self.overrides if o.startswith("cv.fold=")), None)
        return (self.manifest.get("seed"), fold)


def relative(path: Path, root: Path) -> str:
    """`path` as seen from `root` (for links and tables), or whole where it lies elsewhere."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def load_job(path: Path) -> Job:
    overrides_file = path / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
    # the Optuna trial a job reported to is bookkeeping, not a setting
    overrides = [as_typed(o) for o in overrides or [] if not o.startswith("optuna_trial=")]
    metrics = _read_json(path / "metrics.json")
    manifest = _read_json(path / "manifest.json")
    if metrics.get("status") == "completed":
        status = "completed"
    elif manifest:
        status = manifest.get("status", "running")
    else:  # Hydra made the directory, but the job failed before its record began
        status = "failed"
    return Job(path, list(overrides or []), status, metrics, manifest)


def find_jobs(paths: list[Path]) -> list[Job]:
    """Every job directory at or below `paths`: one holding `.hydra/` or `manifest.json`."""
    found: dict[Path, None] = {}
    for root in paths:
        candidates = [root, *sorted(root.rglob("*"))] if root.is_dir() else []
        for path in candidates:
            if path.is_dir() and ((path / ".hydra").is_dir() or (path / "manifest.json").exists()):
                found[path.resolve()] = None
    return sorted((load_job(p) for p in found), key=lambda j: _job_order(j.path))


def _job_order(path: Path) -> tuple:
    return (str(path.parent), int(path.name) if path.name.isdigit() else path.name)


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
