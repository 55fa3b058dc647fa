"""`textbench-train`: compose an experiment from config groups, train, test, record.

Only Hydra and OmegaConf are imported here, so `--help` and config errors return fast;
torch, Lightning and datasets load once a run really starts.
"""

import logging
import os
import shlex
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from textbench.cli.app import USER_ERRORS, hydra_app

log = logging.getLogger("textbench")


def _share_cores(cfg: DictConfig) -> None:
    """Under the joblib launcher, give each of the N parallel jobs cores / N torch threads,
    so that N jobs on N cores do not oversubscribe them."""
    launcher = HydraConfig.get().launcher
    if cfg.get("num_threads") or "joblib" not in str(launcher.get("_target_", "")):
        return
    cores = os.cpu_count() or 1
    jobs = launcher.get("n_jobs") or cores
    with open_dict(cfg):
        cfg.num_threads = max(1, cores // (cores if jobs < 0 else jobs))


@hydra_app("train")
def main(cfg: DictConfig) -> float | None:
    """Returns `optimized_metric`'s value, so that sweepers can optimise it."""
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        _share_cores(cfg)
        from textbench.training.run import train

        return train(cfg)["optimized_value"]
    except USER_ERRORS:
        raise  # one sentence (hydra_app)
    except KeyboardInterrupt:
        log.error("Interrupted. %s", _resume_hint(hydra_cfg, multirun))
        sys.exit(130)  # 128 + SIGINT, as shells report Ctrl-C
    except Exception as error:
        if type(error).__name__ == "TrialPruned":  # the Optuna sweeper records it
            log.info("Pruned: %s (%s)", hydra_cfg.runtime.output_dir, error)
        elif multirun:
            # Hydra runs the remaining jobs and reports only the first failure at the end.
            log.exception("Job failed: %s", hydra_cfg.runtime.output_dir)
        raise


def _resume_hint(hydra_cfg: DictConfig, multirun: bool) -> str:
    """The exact command that goes on from the last finished epoch."""
    place = (
        f"hydra.sweep.dir={hydra_cfg.sweep.dir}"
        if multirun
        else f"hydra.run.dir={hydra_cfg.runtime.output_dir}"
    )
    kept = [
        a
        for a in sys.argv[1:]
        if not a.startswith(("hydra.run.dir=", "hydra.sweep.dir=", "resume=", "ckpt_path="))
    ]
    command = shlex.join(["textbench-train", *kept, place, "resume=true"])
    interrupted = Path(hydra_cfg.runtime.output_dir) / "checkpoints" / "interrupted.ckpt"
    return (
        f"Go on from the last finished epoch, exactly as if never stopped, with: {command} "
        f"(ckpt_path={interrupted} goes on mid-epoch instead, but not exactly)."
    )


if __name__ == "__main__":
    main()
