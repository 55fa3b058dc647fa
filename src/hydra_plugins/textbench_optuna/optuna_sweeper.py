"""`hydra/sweeper=textbench_optuna`: Optuna trials launched as Hydra jobs, by one worker or
by many sharing one study.

The study lives in an SQLite file in the sweep directory unless `storage` names a shared
database (`postgresql://...`, `mysql://...`): then every process that runs the same command
against it is one more worker of the same study, on this machine or another. Workers ask
the study for trials, so no trial is run twice; `n_trials` counts the trials of the whole
study; each job's directory is named by its trial number, so directories never collide.

Each running trial records a heartbeat; a trial whose worker died (SIGKILL, a lost node)
is marked failed after `grace_period_s` by the next worker that looks, and run again with
the same parameters (`max_retry` times). With a `pruner`, each job reports the monitored
validation metric after every epoch and stops early when the pruner says so (status
`pruned`). Re-running the same command continues the study.
"""

import logging
import math
import random
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from textbench.training.pruning import make_pruner

log = logging.getLogger(__name__)
DIRECTIONS = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.textbench_optuna.optuna_sweeper.OptunaSweeper"
    study_name: str = "textbench"
    # an SQLAlchemy URL shared by all workers; default: sqlite:///<sweep dir>/optuna.db
    storage: str | None = None
    # maximize | minimize (or max | min, as the monitor_mode key says)
    direction: str = "maximize"
    # trials of the whole study, over all workers
    n_trials: int = 10
    # trials this worker launches together (the launcher runs them, in parallel with joblib)
    n_jobs: int = 1
    seed: int | None = None
    # none | median | successive_halving | hyperband: stop unpromising trials early
    pruner: str = "none"
    # epochs every trial runs before the median pruner may stop it
    pruner_warmup_epochs: int = 1
    # a running trial's worker writes a heartbeat this often; a trial silent for
    # grace_period_s is taken as dead, failed, and run again (up to max_retry times)
    heartbeat_interval_s: int = 10
    grace_period_s: int = 30
    max_retry: int = 2
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


def connect(url: str, heartbeat_interval_s: int, grace_period_s: int, max_retry: int) -> Any:
    """The study's storage. Workers starting together against an empty database race to
    create Optuna's tables: the losers retry. A database that stays unreachable is one
    sentence and exit status 2."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    last: Exception | None = None
    for attempt in range(6):
        try:
            return optuna.storages.RDBStorage(
                url,
                # a connection lost while a trial runs is replaced, not reused broken
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=heartbeat_interval_s,
                grace_period=grace_period_s,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry),
            )
        except (SQLAlchemyError, ImportError) as error:
            last = error
            if isinstance(error, ImportError | OperationalError) and attempt >= 1:
                break  # no driver, or no server: waiting longer will not help
            time.sleep(0.5 * (attempt + 1) * random.uniform(0.5, 1.5))
    reason = str(getattr(last, "orig", None) or last).strip().splitlines()[0]
    print(
        f"error: the Optuna storage {_hide_password(url)} cannot be used ({reason}); check "
        "that the database is running and reachable, the URL, and its driver (PostgreSQL: "
        'pip install "textbench[postgres]").',
        file=sys.stderr,
    )
    sys.exit(2)


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL at all: shown as given
        return url


class _Heartbeat:
    """Records the heartbeat of the trials this worker runs, from a background thread."""

    def __init__(self, storage: Any, trial_ids: list[int], interval_s: float) -> None:
        self.storage, self.trial_ids, self.interval_s = storage, trial_ids, interval_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            for trial_id in self.trial_ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as error:  # a lost connection must not end the worker
                    log.warning("Could not record the heartbeat of trial %s: %s", trial_id, error)
            if self.stopped.wait(self.interval_s):
                return

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        study_name: str,
        storage: str | None,
        direction: str,
        n_trials: int,
        n_jobs: int,
        seed: int | None,
        pruner: str,
        pruner_warmup_epochs: int,
        heartbeat_interval_s: int,
        grace_period_s: int,
        max_retry: int,
        params: dict[str, Any],
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(
                f"hydra.sweeper.direction={direction!r}; choose one of {', '.join(DIRECTIONS)}."
            )
        make_pruner(pruner)  # refuse an unknown name before anything runs
        self.study_name = study_name
        self.storage_url = storage
        self.direction = DIRECTIONS[direction]
        self.n_trials = n_trials
        self.n_jobs = max(1, n_jobs)
        self.seed = seed
        self.pruner = pruner
        self.pruner_warmup_epochs = pruner_warmup_epochs
        self.heartbeat = (heartbeat_interval_s, grace_period_s, max_retry)
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

        # Heartbeats and retries are marked experimental, and Optuna expects them with
        # study.optimize, not ask-and-tell; both work here and are tested.
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be")

        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        url = self.storage_url or f"sqlite:///{sweep_dir / 'optuna.db'}"
        storage = connect(url, *self.heartbeat)
        study = optuna.create_study(
            study_name=self.study_name,
            storage=storage,
            direction=self.direction,
            pruner=make_pruner(self.pruner, self.pruner_warmup_epochs),
            load_if_exists=True,
        )
        # Seeded by the seed and the trials already there: a fresh study starts as `seed`
        # says, and a continued one (or a second worker) does not draw the same trials.
        seed = None if self.seed is None else self.seed + len(study.trials)
        study.sampler = optuna.samplers.TPESampler(seed=seed)
        self._log_start(study, url)
        while trials := self._ask(study):
            self._run(study, storage, url, arguments, trials)
        self._write_best(study, sweep_dir)

    def _log_start(self, study: Any, url: str) -> None:
        done = sum(t.state.is_finished() for t in study.trials)
        log.info(
            "Optuna study %r in %s: %d of %d trials finished; this worker joins it",
            self.study_name,
            _hide_password(url),
            done,
            self.n_trials,
        )

    def _ask(self, study: Any) -> list[Any]:
        """The next trials for this worker (up to n_jobs), within the study's budget:
        re-queued trials of dead workers first, then new ones while fewer than n_trials
        are finished, running or queued."""
        from optuna.storages import fail_stale_trials
        from optuna.trial import TrialState

        asked: list[Any] = []
        while len(asked) < self.n_jobs:
            fail_stale_trials(study)  # a dead worker's trials: failed, and queued again
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == TrialState.WAITING for t in trials)
            if not waiting and len(_counted(trials)) >= self.n_trials:
                running = [t for t in trials if t.state == TrialState.RUNNING]
                if asked or not running:
                    break
                # The budget is full, but another worker's trial may still die: stay
                # until it finishes, or goes stale and is queued again for us.
                time.sleep(1.0)
                continue
            trial = study.ask()
            counted = _counted(study.get_trials(deepcopy=False))
            if trial.number not in {t.number for t in counted[: self.n_trials]}:
                # Another worker asked at the same moment for the last place.
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=TrialState.FAIL)
                break
            asked.append(trial)
        return asked

    def _run(
        self, study: Any, storage: Any, url: str, arguments: list[str], trials: list[Any]
    ) -> None:
        import optuna
        from optuna.trial import TrialState

        overrides = []
        for trial in trials:
            chosen = [f"{k}={suggest(trial, k, spec)}" for k, spec in self.params.items()]
            link = {"storage": url, "study": self.study_name, "trial": trial.number}
            link |= {"trial_id": trial._trial_id, "pruner": self.pruner}
            link |= {"warmup_epochs": self.pruner_warmup_epochs}
            overrides.append(
                (
                    *arguments,
                    *chosen,
                    # the job reports to its trial (pruning); its folder is its number
                    f"optuna_trial={_override_value(link)}",
                    f"hydra.sweep.subdir={trial.number}",
                )
            )
        ids = [t._trial_id for t in trials]
        with _Heartbeat(storage, ids, self.heartbeat[0]):
            returns = self.launcher.launch(overrides, initial_job_idx=trials[0].number)
        for trial, result in zip(trials, returns, strict=True):
            try:
                value = result.return_value  # raises what the job raised
            except optuna.TrialPruned as pruned:
                study.tell(trial, state=TrialState.PRUNED)
                log.info("Trial %d pruned: %s", trial.number, pruned)
                continue
            except Exception as error:
                value = error
            if result.status == JobStatus.COMPLETED and _finite(value):
                study.tell(trial, float(value))
            else:
                study.tell(trial, state=TrialState.FAIL)
                log.warning("Trial %d failed: %s", trial.number, value)

    def _write_best(self, study: Any, sweep_dir: Path) -> None:
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.value is not None]
        if not complete:
            log.warning("No trial of study %r completed.", self.study_name)
            return
        best = study.best_trial
        states = [t.state.name.lower() for t in _counted(trials)]
        result = {
            "study": self.study_name,
            "direction": self.direction,
            "trials": len(states),
            **{state: states.count(state) for state in dict.fromkeys(states)},
            "best_trial": best.number,
            "best_value": best.value,
            "best_params": best.params,
        }
        OmegaConf.save(OmegaConf.create(result), sweep_dir / "optimization_results.yaml")
        log.info("Best trial %d: value %s with %s", best.number, best.value, best.params)


def _counted(trials: list[Any]) -> list[Any]:
    """The trials that count towards n_trials, in order: all but those re-queued after
    their worker died (their copy counts) and the surplus of a race."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    requeued = {RetryHeartbeatStaleTrialCallback.retried_trial_number(t) for t in trials}
    return [
        t
        for t in sorted(trials, key=lambda t: t.number)
        if not t.user_attrs.get("surplus")
        and not (t.state == TrialState.FAIL and t.number in requeued)
    ]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _override_value(values: dict[str, Any]) -> str:
    """A dict as one Hydra override value, strings quoted (URLs hold ':' and '/')."""

    def quoted(value: Any) -> str:
        return "'" + str(value).replace("'", "\\'") + "'"

    items = (f"{k}:{v if isinstance(v, int) else quoted(v)}" for k, v in values.items())
    return "{" + ",".join(items) + "}"
