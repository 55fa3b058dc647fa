"""Optuna's pruning, shared by the sweeper (which makes the study) and each job (which
reports to its trial): one pruner by name, and the Lightning callback that reports the
monitored metric after every epoch. Optuna loads only under an Optuna sweep."""

from typing import Any

PRUNERS = ("none", "median", "successive_halving", "hyperband")


def make_pruner(name: str, warmup_epochs: int = 1) -> Any:
    """The pruner by name: the sweeper and every job build the same one (Optuna keeps
    pruners in memory, not in the study)."""
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=warmup_epochs)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise ValueError(f"hydra.sweeper.pruner={name!r} is unknown; choose one of {PRUNERS}.")


def pruning_callbacks(link: Any, monitor: str) -> list[Any]:
    """Under an Optuna sweep with a pruner (`optuna_trial` set by the sweeper): Optuna's
    Lightning callback, which reports `monitor` to this run's trial after every epoch and
    stops the run when the pruner says so; none otherwise."""
    if not link or link.pruner == "none":
        return []
    import optuna
    from optuna_integration import PyTorchLightningPruningCallback

    study = optuna.load_study(
        study_name=link.study,
        storage=link.storage,
        pruner=make_pruner(link.pruner, link.warmup_epochs),
    )
    return [PyTorchLightningPruningCallback(optuna.trial.Trial(study, link.trial_id), monitor)]
