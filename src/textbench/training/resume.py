"""Going on from a checkpoint or an earlier attempt at a run, without trusting either.

`resume_point` finds what an earlier attempt left; `csv_history` and
`restore_csv_history` keep the learning curves of the epochs before an interruption.

Lightning restores a `ModelCheckpoint`'s paths from the checkpoint it resumes, and later
deletes "its old" files by them: a crafted `last_model_path="local:///victim"` would
delete any file or folder. `check_restored_state` refuses such state before the fit. A run
directory handed over may also hold symbolic links where textbench writes (a
`resolved_config.yaml` pointing at a file of yours): `check_no_links` refuses it before
anything is written there.
"""

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only

from textbench.errors import ConfigError

# the paths a ModelCheckpoint keeps in its state (best_k_models: a dict keyed by path)
_PATH_KEYS = ("dirpath", "best_model_path", "kth_best_model_path", "last_model_path")


def _inside(path: str, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def check_restored_state(checkpoint: Mapping[str, Any], folder: Path, source: str) -> None:
    """Every path in a checkpoint's callback state is a plain local path (no `scheme://`,
    no `::` chains) and, where Lightning would take it over (the state's `dirpath` is this
    run's checkpoint folder, or absent), lies inside that folder."""
    callbacks = checkpoint.get("callbacks") or {}
    if not isinstance(callbacks, Mapping):
        raise ConfigError(f"Refused {source}: its callback state is not a mapping.")
    for name, state in callbacks.items():
        if not isinstance(state, Mapping):
            continue
        paths = [state.get(k) for k in _PATH_KEYS]
        best_k = state.get("best_k_models") or {}
        paths += list(best_k) if isinstance(best_k, Mapping) else [best_k]
        for path in paths:
            if path in (None, ""):
                continue
            if not isinstance(path, str) or "://" in path or "::" in path:
                raise ConfigError(
                    f"Refused {source}: its {str(name)[:40]} state names {str(path)[:80]!r}, "
                    "which is not a local path; this file was altered."
                )
        dirpath = state.get("dirpath")
        if dirpath not in (None, "") and not _same(dirpath, folder):
            continue  # Lightning keeps this run's own paths, all but best_model_path
        for path in paths:
            if path not in (None, "") and not _inside(path, folder):
                raise ConfigError(
                    f"Refused {source}: its {str(name)[:40]} state names {path[:80]!r}, "
                    f"outside this run's {folder}; Lightning would delete it later. This "
                    "file was altered."
                )


def _same(a: str, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


def check_no_links(run_dir: Path, what: str) -> None:
    """Refuse a run or sweep directory that holds a symbolic link anywhere in it: textbench
    (and Hydra, and Lightning) would write through it, outside the directory."""
    if not run_dir.is_dir():
        return
    for path in [run_dir, *run_dir.rglob("*")]:
        if path != run_dir and path.is_symlink():
            raise ConfigError(
                f"{what} {run_dir} holds a symbolic link, {path.relative_to(run_dir)} -> "
                f"{str(path.readlink())[:80]}; textbench would write through it. Remove it, "
                "or resume into a copy made without links."
            )


def resume_point(output_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """What an earlier attempt at this run left: its results if it completed, else the
    checkpoint to go on from. `last.ckpt` (an epoch's end) comes first: resuming from it
    gives exactly the metrics of a run that never stopped; `interrupted.ckpt` (mid-epoch,
    from Ctrl-C) is the fallback."""
    metrics = output_dir / "metrics.json"
    if metrics.is_file():
        results = json.loads(metrics.read_text())
        if results.get("status") == "completed":
            return results, None
    for name in ("last.ckpt", "interrupted.ckpt"):
        if (output_dir / "checkpoints" / name).is_file():
            return None, str(output_dir / "checkpoints" / name)
    return None, None


def csv_history(output_dir: Path, before_step: int) -> list[dict[str, str]]:
    """The metrics.csv rows an interrupted attempt logged before its checkpoint."""
    path = output_dir / "csv" / "metrics.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [
            {k: v for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
            if int(float(row.get("step") or 0)) < before_step
        ]


def restore_csv_history(loggers: list[Any], rows: list[dict[str, str]]) -> None:
    """Lightning's CSVLogger deletes metrics.csv when it starts; a resumed run puts back
    the rows from before its checkpoint, so curves and epoch times cover the whole run."""
    if not rows or rank_zero_only.rank != 0:
        return
    for logger in loggers:
        if isinstance(logger, CSVLogger):
            logger.experiment.metrics[:0] = rows
