"""Callbacks every run gets: self-contained checkpoints, a stop on a diverging loss, and a
checkpoint on Ctrl-C."""

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

log = logging.getLogger(__name__)


class CheckpointArtifacts(Callback):
    """Puts what inference needs into every checkpoint, as plain data (no pickled objects):
    the resolved config, the fitted tokenizer, the label names and the sequence length.
    `textbench-eval`, `-predict` and `-export` need nothing else."""

    def __init__(
        self,
        config: dict[str, Any],
        tokenizer_json: str,
        tokenizer_config: dict,
        label_names: list[str],
        max_length: int,
    ) -> None:
        self.artifacts = {
            "config": config,
            "tokenizer": tokenizer_json,
            "tokenizer_config": tokenizer_config,
            "label_names": list(label_names),
            "max_length": max_length,
        }

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["textbench"] = self.artifacts
        # The RNG state, so that a resumed run draws the same dropout masks as one that
        # never stopped (the samplers are seeded by epoch and need nothing).
        checkpoint["rng"] = {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all()}

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        rng = checkpoint.get("rng")
        if rng:
            torch.set_rng_state(rng["torch"])
            if rng["cuda"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(rng["cuda"])


class NonFiniteLossError(RuntimeError):
    """Training diverged: the loss became NaN or infinite."""


class StopOnNonFiniteLoss(Callback):
    """Stops at the first NaN or infinite training loss, before a checkpoint can store the
    broken weights, and says where the last good checkpoint is."""

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss):
            checkpoint = trainer.checkpoint_callback
            last = getattr(checkpoint, "last_model_path", "") or "none saved yet"
            raise NonFiniteLossError(
                f"The training loss became {loss.item()} at epoch {trainer.current_epoch}, "
                f"step {trainer.global_step}: training diverged. The last good checkpoint is "
                f"{last}. Lower optimizer.lr, keep trainer.gradient_clip_val set, or check "
                "the data."
            )


class CheckpointOnInterrupt(Callback):
    """On Ctrl-C (SIGINT), save `checkpoints/interrupted.ckpt`; resume with ckpt_path=it."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.state.fn == "fit":
            path = self.dirpath / "interrupted.ckpt"
            trainer.save_checkpoint(path)
            log.warning("Interrupted: saved %s; resume with ckpt_path=%s", path, path)
