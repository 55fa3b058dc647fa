"""What the commands tell the person watching: what a run trains in a few lines first, a
summary last, an evaluation's scores; third-party chatter stays in the run's log file, out
of the console."""

import logging
import warnings
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from textbench.config import as_typed
from textbench.terminal import printable

_GROUPS = ("data", "tokenizer", "model", "optimizer", "scheduler", "trainer")
# Lightning's messages that tell a user of textbench nothing they can act on
_NOISE = (
    "💡 Tip",
    "GPU available",
    "TPU available",
    "HPU available",
    "was configured so 100%",
    "Restoring states from the checkpoint path",
    "Loaded model weights from the checkpoint",
    "to estimate number of stepping batches",
    "`Trainer.fit` stopped",  # the summary gives the epochs; early stopping says why
)
# where deprecation notices come from that only the libraries' authors can act on
_THIRD_PARTY = (
    r"(lightning|lightning_fabric|pytorch_lightning|torch|torchmetrics|datasets|transformers"
    r"|hydra|omegaconf)(\.|$)"
)


# loggers whose info lines go to the run's log file only (their warnings still reach the
# console): the model's table of layers (the console gets print_model_size's line), and
# the token cache entry's path (the Data line says "tokens hit")
_FILE_ONLY = ("lightning.pytorch.callbacks.model_summary", "textbench.data.cache")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _FILE_ONLY and record.levelno < logging.WARNING:
            return False
        return not (
            record.name.startswith("lightning") and any(n in record.getMessage() for n in _NOISE)
        )


def quiet_console() -> None:
    """Keep Lightning's tips and third-party deprecation notices off the console (the run's
    log file still has Lightning's messages)."""
    for handler in logging.getLogger().handlers:
        console = type(handler) is logging.StreamHandler
        if console and not any(isinstance(f, _DropNoise) for f in handler.filters):
            handler.addFilter(_DropNoise())
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=_THIRD_PARTY)


def _console() -> Console:
    """Where the commands print: stderr, long paths whole even in a log file, and markup off
    (overrides and paths are the user's text, "x=[a,b]")."""
    return Console(stderr=True, soft_wrap=True, markup=False)


@rank_zero_only
def print_config(cfg: DictConfig, output_dir: Path) -> None:
    """What this run trains, in a few lines: the config groups chosen and the overrides;
    the whole resolved config with `verbose=true` (always saved as resolved_config.yaml)."""
    console = _console()
    if cfg.get("verbose"):
        resolved = OmegaConf.to_container(cfg, resolve=True)
        text = OmegaConf.to_yaml({k: resolved[k] for k in ("seed", *_GROUPS) if k in resolved})
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
        return
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    choices = hydra.runtime.choices if hydra else {}
    chosen = [f"{g}={choices[g]}" for g in _GROUPS if choices.get(g)]
    console.print(f"textbench-train: {' '.join(chosen) or 'defaults'}, seed {cfg.seed}")
    overrides = [printable(as_typed(o)) for o in hydra.overrides.task] if hydra else []
    if overrides:
        console.print(f"overrides: {' '.join(overrides)}")
    console.print(f"config:    {output_dir / 'resolved_config.yaml'} (verbose=true prints it)")


@rank_zero_only
def print_model_size(total: str, trainable: str) -> None:
    """The model's size in one line; its layers are in the run's log file."""
    console = _console()
    console.print(f"model:     {total} parameters, {trainable} trained (layers in train.log)")


@rank_zero_only
def print_summary(results: dict[str, Any]) -> None:
    """Best validation and test metrics side by side, then where everything was written."""
    table = Table(title="textbench run summary")
    table.add_column("metric")
    table.add_column("best validation", justify="right")
    table.add_column("test", justify="right")
    names = sorted(
        {k.split("/", 1)[1] for k in (*results["best_val"], *results["test"]) if "/" in k}
    )
    for name in names:
        val, test = results["best_val"].get(f"val/{name}"), results["test"].get(f"test/{name}")
        table.add_row(name, _metric(val), _metric(test))
    console = _console()
    console.print(table)
    console.print(
        f"epochs {results['epochs']} (best {results['best_val'].get('epoch', '-')}), "
        f"wall time {results['wall_time_s']:.1f} s"
    )
    if results.get("train_tokens_per_s"):
        epoch = results["train_epoch_time_s"]
        console.print(
            f"training {sum(epoch) / len(epoch):.1f} s an epoch, "
            f"{results['train_tokens_per_s']:,.0f} tokens/s"
        )
    predicted = results.get("test_predictions") or {}
    if predicted.get("rows") is not None and predicted["rows"] < predicted.get("of", 0):
        console.print(
            f"test:        {predicted['rows']:,} of the {predicted['of']:,} test examples "
            "(a limited pass: trainer.limit_test_batches or debug=); not a test score"
        )
    refit = results.get("refit")
    if refit:
        console.print(
            f"refit:       {refit['epochs']} epoch{'s' * (refit['epochs'] != 1)} on train + "
            f"validation ({refit['train_examples']:,} texts) in {refit['wall_time_s']:.1f} s; "
            "test is this model's"
        )
    calibration = results.get("calibration")
    if calibration:
        console.print(
            f"calibrated:  temperature {calibration['temperature']:.3f}, fitted on validation "
            f"(ECE {calibration['val_ece_before']:.4f} → {calibration['val_ece_after']:.4f}); "
            "test is calibrated, best validation is not"
        )
    console.print(f"outputs:     {printable(results['output_dir'])}")
    checkpoint = refit["checkpoint"] if refit else results.get("best_checkpoint")
    if checkpoint:
        console.print(f"checkpoint:  {printable(checkpoint)}")
    if results.get("curves"):
        console.print(f"curves:      {printable(results['curves'])}")
    if results.get("reliability"):
        console.print(f"reliability: {printable(results['reliability'])}")


def _metric(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() and value > 1 else f"{value:.4f}"


def print_evaluation(results: dict[str, Any], out_dir: Any) -> None:
    """Overall scores, then precision / recall / F1 / support per class."""
    table = Table(
        title=f"{results['split']} split: accuracy {results['acc']:.4f}, "
        f"macro-F1 {results['f1']:.4f}, {results['examples']} examples"
    )
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in results["per_class"].items():
        table.add_row(
            printable(name),
            *(_metric(row[m]) for m in ("precision", "recall", "f1")),
            str(row["support"]),
        )
    console = _console()
    console.print(table)
    console.print(f"outputs: {printable(out_dir)}")
