"""`hydra/sweeper=textbench_optuna`: Optuna trials launched as Hydra jobs.

The study lives in an SQLite file in the sweep directory (unless `storage` says
otherwise), so re-running the same command with the same `hydra.sweep.dir` continues the
same study: finished trials count towards `n_trials`, trials a crash left running are
marked failed, and new jobs are numbered after the old ones.
"""

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
DIRECTIONS = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.textbench_optuna.optuna_sweeper.OptunaSweeper"
    study_name: str = "textbench"
    # default: sqlite:///<sweep dir>/optuna.db
    storage: str | None = None
    # maximize | minimize (or max | min, as the monitor_mode key says)
    direction: str = "maximize"
    n_trials: int = 10
    # trials launched together (the launcher runs them, in parallel with joblib)
    n_jobs: int = 1
    seed: int | None = None
    # key: {type: float|int|categorical, low, high, log, step, choices}
    params: dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="textbench_optuna", node=OptunaSweeperConf, provider="textbench"
)


def suggest(trial: Any, name: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type", "float")
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec["choices"]))
    if kind == "int":
        return trial.suggest_int(
            name,
            int(spec["low"]),
            int(spec["high"]),
            step=int(spec.get("step", 1)),
            log=bool(spec.get("log", False)),
        )
    if kind == "float":
        return trial.suggest_float(
            name,
            float(spec["low"]),
            float(spec["high"]),
            step=spec.get("step"),
            log=bool(spec.get("log", False)),
        )
    raise ValueError(
        f"hydra.sweeper.params.{name}: type={kind!r} is unknown; use float, int or categorical."
    )


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        study_name: str,
        storage: str | None,
        direction: str,
        n_trials: int,
        n_jobs: int,
        seed: int | None,
        params: dict[str, Any],
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(
                f"hydra.sweeper.direction={direction!r}; choose one of {', '.join(DIRECTIONS)}."
            )
        self.study_name = study_name
        self.storage = storage
        self.direction = DIRECTIONS[direction]
        self.n_trials = n_trials
        self.n_jobs = max(1, n_jobs)
        self.seed = seed
        self.params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else params

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        import optuna
        from optuna.trial import TrialState

        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        storage = self.storage or f"sqlite:///{sweep_dir / 'optuna.db'}"
        study = optuna.create_study(
            study_name=self.study_name,
            storage=storage,
            direction=self.direction,
            load_if_exists=True,
        )
        # Seeded by the seed and the trials already there: a fresh study starts as `seed`
        # says, and a continued one does not draw the first trials' parameters again.
        seed = None if self.seed is None else self.seed + len(study.trials)
        study.sampler = optuna.samplers.TPESampler(seed=seed)
        for trial in study.trials:
            if trial.state == TrialState.RUNNING:  # left so by an interrupted sweep
                study.tell(trial.number, state=TrialState.FAIL)
        finished = sum(t.state.is_finished() for t in study.trials)
        if finished:
            log.info(
                "Continuing study %r in %s: %d trials done", self.study_name, storage, finished
            )
        remaining = self.n_trials - finished
        while remaining > 0:
            trials = [study.ask() for _ in range(min(self.n_jobs, remaining))]
            overrides = [
                (*arguments, *(f"{k}={suggest(t, k, spec)}" for k, spec in self.params.items()))
                for t in trials
            ]
            returns = self.launcher.launch(overrides, initial_job_idx=trials[0].number)
            for trial, result in zip(trials, returns, strict=True):
                value = result.return_value if result.status == JobStatus.COMPLETED else None
                if isinstance(value, int | float) and math.isfinite(value):
                    study.tell(trial, float(value))
                else:
                    study.tell(trial, state=TrialState.FAIL)
            remaining -= len(trials)
        self._write_best(study, sweep_dir)

    def _write_best(self, study: Any, sweep_dir: Path) -> None:
        complete = [t for t in study.trials if t.value is not None]
        if not complete:
            log.warning("No trial of study %r completed.", self.study_name)
            return
        best = study.best_trial
        result = {
            "study": self.study_name,
            "direction": self.direction,
            "trials": len(study.trials),
            "completed": len(complete),
            "best_trial": best.number,
            "best_value": best.value,
            "best_params": best.params,
        }
        OmegaConf.save(OmegaConf.create(result), sweep_dir / "optimization_results.yaml")
        log.info("Best trial %d: %s = %s with %s", best.number, "value", best.value, best.params)
