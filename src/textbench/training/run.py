"""The recipe: config → data module → model → trainer → fit and test → record.

Read top to bottom, `train` is the whole experiment; every piece it builds comes from a
config group, so swapping a part is an override, never a code change.
"""

import copy
import csv
import json
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
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from textbench.console import print_config, print_summary, quiet_console
from textbench.errors import ConfigError
from textbench.inference.checkpoint import read_checkpoint
from textbench.models.embeddings import (
    copy_vectors,
    init_embeddings,
    load_word_vectors,
    word_embedding,
)
from textbench.models.word2vec import word2vec_vectors
from textbench.reporting.curves import plot_learning_curves
from textbench.reporting.predictions import FILE as PREDICTIONS
from textbench.reporting.predictions import write_predictions
from textbench.training.callbacks import (
    CheckpointArtifacts,
    CheckpointOnInterrupt,
    StopAfterEpochs,
    StopOnNonFiniteLoss,
    ThroughputTimer,
)
from textbench.training.machine import warn_if_busy
from textbench.training.record import RunRecord
from textbench.training.resume import check_no_links, check_restored_state
from textbench.trust import targets

log = logging.getLogger(__name__)


def _log_through_hydra() -> None:
    """Send Lightning's messages to Hydra's console and run-log handlers, once each."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    quiet_console()


def _instantiate_all(section: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `callbacks` or `logger` group (entries may be null)."""
    if not section:
        return []
    return [instantiate(entry) for entry in section.values() if entry and "_target_" in entry]


def _tokenizer(cfg: DictConfig) -> Any:
    """The configured tokenizer; with embeddings.word2vec_corpus_vocab=true its vocabulary
    also takes the corpus words that word2vec gives a vector."""
    if not cfg.embeddings.word2vec_corpus_vocab:
        return instantiate(cfg.tokenizer)
    return instantiate(
        cfg.tokenizer,
        corpus=list(cfg.embeddings.word2vec_corpus),
        corpus_min_count=cfg.embeddings.word2vec_min_count,
    )


def _build_model(cfg: DictConfig, datamodule: Any) -> L.LightningModule:
    """The model config plus what only the data knows (vocabulary, labels, class counts)."""
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    model = instantiate(
        cfg.model,
        vocab_size=datamodule.vocab_size,
        label_names=datamodule.label_names,
        pad_id=datamodule.pad_id,
        monitor=cfg.monitor,
        monitor_mode=cfg.monitor_mode,
        label_smoothing=cfg.loss.label_smoothing,
        class_weights=_class_weights(cfg.loss.class_weights, datamodule),
        decay_all=cfg.decay_all,
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
    )
    init_embeddings(model.encoder, cfg.embeddings.init, cfg.embeddings.scale)
    if cfg.embeddings.path:
        load_word_vectors(
            word_embedding(model.encoder, "embeddings.path"),
            datamodule.tokenizer.vocab,
            cfg.embeddings.path,
            cfg.embeddings.freeze,
        )
    if cfg.embeddings.word2vec:
        embedding = word_embedding(model.encoder, "embeddings.word2vec")
        vectors, found = word2vec_vectors(
            datamodule,
            embedding.embedding_dim,
            list(cfg.embeddings.word2vec_corpus),
            cfg.seed,
            datamodule.cache.root.parent if datamodule.cache else None,
            epochs=cfg.embeddings.word2vec_epochs,
            window=cfg.embeddings.word2vec_window,
            min_count=cfg.embeddings.word2vec_min_count,
        )
        corpus = " + ".join(["the training split", *cfg.embeddings.word2vec_corpus])
        copy_vectors(
            embedding,
            torch.from_numpy(vectors),
            torch.from_numpy(found),
            cfg.embeddings.freeze,
            f"word2vec on {corpus}",
        )
    return model


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

        datamodule = instantiate(cfg.data, tokenizer=_tokenizer(cfg))
        datamodule.setup("fit")
        datamodule.save(output_dir)
        data = {
            "fingerprint": datamodule.fingerprint,
            "label_names": datamodule.label_names,
            **datamodule.stats,
        }
        record.add(data=data)

        model = _build_model(cfg, datamodule)
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
        history = _csv_history(output_dir, resumed_step) if resuming else []
        loggers = _instantiate_all(cfg.get("logger"))
        _restore_csv_history(loggers, history)
        callbacks = _instantiate_all(cfg.get("callbacks")) + _pruning(cfg)
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
        tester, tested, refit = trainer, model, {}
        if initial is not None:
            tester, tested, refit = _refit(cfg, initial, datamodule, best_val, trainer, artifacts)
        test: dict[str, float] = {}
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
                write_predictions(
                    output_dir / PREDICTIONS,
                    datamodule.eval_order("test", [len(share) for share in shares]),
                    torch.cat(shares).numpy(),
                    datamodule.splits["test"].labels,
                    datamodule.label_names,
                )
                predicted["file"] = PREDICTIONS
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
        if trainer.is_global_zero:
            curves = output_dir / "csv" / "metrics.csv"
            if curves.is_file():
                results["curves"] = plot_learning_curves(curves, output_dir / "curves.png")
            # Last: a completed metrics.json promises that every output above exists.
            record.write_metrics(results)
            print_summary(results)
    return results


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
    keep = [c for c in _instantiate_all(cfg.get("callbacks")) if not isinstance(c, unused)]
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


def _pruning(cfg: DictConfig) -> list[Any]:
    """Under an Optuna sweep with a pruner: Optuna's Lightning callback, which reports the
    monitored metric to this run's trial after every epoch and stops it when pruned."""
    link = cfg.get("optuna_trial")
    if not link or link.pruner == "none":
        return []
    import optuna
    from optuna_integration import PyTorchLightningPruningCallback

    from hydra_plugins.textbench_optuna.optuna_sweeper import make_pruner

    study = optuna.load_study(
        study_name=link.study,
        storage=link.storage,
        pruner=make_pruner(link.pruner, link.warmup_epochs),
    )
    return [PyTorchLightningPruningCallback(optuna.trial.Trial(study, link.trial_id), cfg.monitor)]


def _csv_history(output_dir: Path, before_step: int) -> list[dict[str, str]]:
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


def _restore_csv_history(loggers: list[Any], rows: list[dict[str, str]]) -> None:
    """Lightning's CSVLogger deletes metrics.csv when it starts; a resumed run puts back
    the rows from before its checkpoint, so curves and epoch times cover the whole run."""
    if not rows or rank_zero_only.rank != 0:
        return
    for logger in loggers:
        if isinstance(logger, CSVLogger):
            logger.experiment.metrics[:0] = rows


def _class_weights(setting: Any, datamodule: Any) -> list[float] | None:
    """`balanced`: inverse class frequency in the training split, mean 1."""
    if setting is None:
        return None
    if setting == "balanced":
        counts = np.bincount(datamodule.splits["train"].labels, minlength=datamodule.num_classes)
        return (counts.sum() / (len(counts) * np.maximum(counts, 1))).tolist()
    weights = [float(w) for w in setting]
    if len(weights) != datamodule.num_classes:
        raise ConfigError(
            f"loss.class_weights has {len(weights)} weights for "
            f"{datamodule.num_classes} classes {datamodule.label_names}."
        )
    return weights


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
