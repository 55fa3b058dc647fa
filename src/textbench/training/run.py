"""The recipe: config → data module → model → trainer → fit and test → record.

Read top to bottom, `train` is the whole experiment; every piece it builds comes from a
config group, so swapping a part is an override, never a code change.
"""

import copy
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    ModelSummary,
)
from omegaconf import DictConfig, OmegaConf

from textbench.console import print_config, print_summary, quiet_console
from textbench.errors import ConfigError
from textbench.inference.checkpoint import read_checkpoint
from textbench.reporting.curves import plot_learning_curves, plot_reliability
from textbench.reporting.predictions import FILE as PREDICTIONS
from textbench.reporting.predictions import write_predictions
from textbench.training.build import build_model, build_tokenizer, instantiate_all
from textbench.training.calibration import calibrate
from textbench.training.callbacks import (
    CheckpointArtifacts,
    CheckpointOnInterrupt,
    StopAfterEpochs,
    StopOnNonFiniteLoss,
    ThroughputTimer,
)
from textbench.training.machine import warn_if_busy
from textbench.training.pruning import pruning_callbacks
from textbench.training.record import RunRecord
from textbench.training.resume import (
    check_no_links,
    check_restored_state,
    csv_history,
    restore_csv_history,
    resume_point,
)
from textbench.trust import targets

log = logging.getLogger(__name__)


def _log_through_hydra() -> None:
    """Send Lightning's messages to Hydra's console and run-log handlers, once each."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    quiet_console()


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit and/or test the configured model; returns what `metrics.json` holds.

    `textbench-train` checks the config's values first (`textbench.schema`). Ctrl-C ends
    it with `KeyboardInterrupt` after `checkpoints/interrupted.ckpt` is saved.
    """
    _log_through_hydra()
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = cfg.get("ckpt_path")
    resuming = False
    if cfg.get("resume"):
        check_no_links(output_dir, "The run directory")
        done, checkpoint = resume_point(output_dir)
        if done is not None:
            log.info("Skipped: %s already completed (resume=true).", output_dir)
            return done
        resuming = checkpoint is not None and not ckpt_path
        ckpt_path = ckpt_path or checkpoint
        log.info("Resuming %s from %s", output_dir, ckpt_path or "the start (no checkpoint)")
    resumed_step = 0
    if ckpt_path:
        # The same safe path as eval/predict: plain data only, and only code we trust
        # (ours, the classes this run's own config names, and modules in `trust`); then
        # Lightning's own state, which it restores, must stay inside this run.
        checkpoint_data = read_checkpoint(
            ckpt_path, list(cfg.get("trust", [])), targets(OmegaConf.to_container(cfg))
        )
        check_restored_state(checkpoint_data, output_dir / "checkpoints", str(ckpt_path))
        resumed_step = int(checkpoint_data.get("global_step", 0))
    if cfg.get("num_threads"):
        torch.set_num_threads(int(cfg.num_threads))
    warn_if_busy(torch.get_num_threads())
    with RunRecord(cfg, output_dir) as record:
        print_config(cfg, output_dir)
        L.seed_everything(cfg.seed, workers=True, verbose=False)  # the first line says the seed

        datamodule = instantiate(cfg.data, tokenizer=build_tokenizer(cfg))
        datamodule.setup("fit")
        datamodule.save(output_dir)
        data = {
            "fingerprint": datamodule.fingerprint,
            "label_names": datamodule.label_names,
            **datamodule.stats,
        }
        record.add(data=data)

        model = build_model(cfg, datamodule)
        # the refit starts where the fit did: the same weights, word vectors included
        initial = copy.deepcopy(model) if cfg.get("refit") and cfg.train else None
        if cfg.get("compile"):  # after the copy, which would drop it
            for built in filter(None, (model, initial)):
                built.encoder.compile()  # in place: checkpoints keep their parameter names
        timer = ThroughputTimer()
        artifacts = CheckpointArtifacts(
            config=OmegaConf.to_container(cfg, resolve=True),
            tokenizer_json=datamodule.tokenizer.to_json(),
            tokenizer_config=datamodule.tokenizer.config,
            label_names=datamodule.label_names,
            max_length=datamodule.max_length,
        )
        always = [
            artifacts,
            timer,
            StopOnNonFiniteLoss(),
            CheckpointOnInterrupt(output_dir / "checkpoints"),
        ]
        history = csv_history(output_dir, resumed_step) if resuming else []
        loggers = instantiate_all(cfg.get("logger"))
        restore_csv_history(loggers, history)
        callbacks = instantiate_all(cfg.get("callbacks")) + pruning_callbacks(
            cfg.get("optuna_trial"), cfg.monitor
        )
        if not loggers:  # the learning-rate monitor has nowhere to write and would refuse to run
            callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
        trainer: L.Trainer = instantiate(
            cfg.trainer, callbacks=callbacks + always, logger=loggers or False
        )
        record.add_hardware(accelerator=trainer.strategy.root_device.type)

        if cfg.train:
            _fit(trainer, model, datamodule, ckpt_path)
        # Before testing: loading the best checkpoint restores the module's and callbacks'
        # state as it was at that epoch.
        best_val = dict(model.best_val)
        epoch_times, tokens_per_s = list(timer.epoch_times), list(timer.tokens_per_s)
        checkpoint = trainer.checkpoint_callback
        best_path = checkpoint.best_model_path if checkpoint else ""
        calibration = None
        if cfg.get("calibrate") == "temperature":
            if not best_path:
                raise ConfigError(
                    "calibrate=temperature needs the fit's best checkpoint, and this fit "
                    "saved none (e.g. debug=fdr); calibrate a run that checkpoints."
                )
            calibration = calibrate(model, datamodule, best_path, trainer.is_global_zero)
            trainer.strategy.barrier("calibrated")  # every rank tests the written T
        tester, tested, refit = trainer, model, {}
        if initial is not None:
            tester, tested, refit = _refit(cfg, initial, datamodule, best_val, trainer, artifacts)
        test: dict[str, float] = {}
        reliability = None
        if cfg.test:
            test_ckpt = None if refit else best_path or (ckpt_path if not cfg.train else None)
            if not test_ckpt and not refit:
                log.warning("No best checkpoint (e.g. fast_dev_run): testing the current weights.")
            tester.test(  # not verbose: the summary below gives test beside validation
                tested,
                datamodule=datamodule,
                ckpt_path=test_ckpt,
                weights_only=True,
                verbose=False,
            )
            test = {
                k: v.item() for k, v in tester.callback_metrics.items() if k.startswith("test/")
            }
            shares = tested.test_probabilities  # every rank's, gathered in rank order
            predicted = {"file": None, "rows": sum(map(len, shares))}
            predicted["of"] = len(datamodule.splits["test"])
            if tester.is_global_zero and predicted["rows"]:
                order = datamodule.eval_order("test", [len(share) for share in shares])
                probabilities = torch.cat(shares).numpy()
                labels = datamodule.splits["test"].labels
                write_predictions(
                    output_dir / PREDICTIONS, order, probabilities, labels, datamodule.label_names
                )
                predicted["file"] = PREDICTIONS
                reliability = plot_reliability(
                    probabilities,
                    np.asarray(labels)[order],
                    test.get("test/ece"),
                    output_dir / "reliability.png",
                )
            record.add(test_predictions=predicted)

        results = {
            "status": "completed",
            "test_predictions": record.manifest.get("test_predictions"),
            "optimized_metric": cfg.get("optimized_metric"),
            "optimized_value": _lookup(cfg.get("optimized_metric"), best_val, test),
            "best_val": best_val,
            "test": test,
            "epochs": trainer.current_epoch,
            "global_step": trainer.global_step,
            "wall_time_s": round(record.wall_time, 3),
            "train_epoch_time_s": [round(t, 3) for t in epoch_times],
            "train_tokens_per_s": round(statistics.median(tokens_per_s), 1)
            if tokens_per_s
            else None,
            "best_checkpoint": best_path or None,
            "last_checkpoint": _last_checkpoint(checkpoint),
            "output_dir": str(output_dir),
            "data": data,
        }
        if refit:
            results["refit"] = refit
        if calibration:
            results["calibration"] = calibration
        if reliability:
            results["reliability"] = str(reliability)
        _finish_runs(loggers)
        if trainer.is_global_zero:
            curves = output_dir / "csv" / "metrics.csv"
            if curves.is_file():
                results["curves"] = plot_learning_curves(curves, output_dir / "curves.png")
            # Last: a completed metrics.json promises that every output above exists.
            record.write_metrics(results)
            print_summary(results)
    return results


def _finish_runs(loggers: list[Any]) -> None:
    """End each logger's run with the job: a W&B run stays open until its process exits
    (in a sweep, after every later job), and only then is its offline file written."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger" and logger._experiment is not None:
            logger.experiment.finish()


def _fit(trainer: L.Trainer, model: L.LightningModule, datamodule: Any, ckpt_path: Any) -> None:
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit as exit_:
        # Lightning turns Ctrl-C into exit status 1 (other exits, e.g. a requeue by
        # submitit, pass as they are)
        if isinstance(exit_.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise


def _refit(
    cfg: DictConfig,
    model: L.LightningModule,
    datamodule: Any,
    best_val: dict[str, float],
    fitted: L.Trainer,
    artifacts: CheckpointArtifacts,
) -> tuple[L.Trainer, L.LightningModule, dict[str, Any]]:
    """`refit=true`: train `model` (the fit's starting point) again on train + validation
    for as many epochs as the fit's best checkpoint had, on the same learning-rate
    schedule, without looking at validation; that final model is the one tested and kept.
    The tokenizer and word vectors stay as fitted on the training split."""
    epochs = int(best_val["epoch"]) + 1 if "epoch" in best_val else max(1, fitted.current_epoch)
    datamodule.train_on_validation()
    examples = len(datamodule.splits["train"])
    log.info(
        "Refit: training again from the start on train + validation (%d texts) for %d "
        "epochs, the fit's best; the test is this model's.",
        examples,
        epochs,
    )
    # what reads validation (early stopping, checkpoints by it) has nothing to read, the
    # learning-rate monitor no logger, and the model's size was printed once already
    unused = EarlyStopping | ModelCheckpoint | LearningRateMonitor | ModelSummary
    keep = [c for c in instantiate_all(cfg.get("callbacks")) if not isinstance(c, unused)]
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=[*keep, artifacts, StopOnNonFiniteLoss(), StopAfterEpochs(epochs)],
        logger=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
    )
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    started = time.perf_counter()
    _fit(trainer, model, datamodule, None)
    path = Path(cfg.paths.output_dir) / "checkpoints" / "refit.ckpt"
    trainer.save_checkpoint(path, weights_only=False)
    return (
        trainer,
        model,
        {
            "epochs": trainer.current_epoch,
            "train_examples": examples,
            "wall_time_s": round(time.perf_counter() - started, 3),
            "checkpoint": str(path),
        },
    )


def _lookup(metric: str | None, best_val: dict[str, float], test: dict[str, float]) -> float | None:
    """The value sweepers optimise: `<val metric>_best` reads the best validation epoch."""
    if not metric:
        return None
    if metric.endswith("_best"):
        return best_val.get(metric.removesuffix("_best"))
    return {**best_val, **test}.get(metric)


def _last_checkpoint(checkpoint: Any) -> str | None:
    path = getattr(checkpoint, "last_model_path", "") if checkpoint else ""
    return path or None
