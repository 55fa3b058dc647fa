"""Callbacks every run gets: self-contained checkpoints, a stop on a diverging loss, and a
checkpoint on Ctrl-C; and the model summary that `callbacks=default` adds."""

import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelSummary
from lightning.pytorch.utilities.model_summary import get_human_readable_count

from textbench.console import print_model_size


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
        checkpoint["textbench"] = dict(self.artifacts)
        # a pretrained encoder's architecture, so that loading rebuilds it offline
        architecture = getattr(pl_module.encoder, "architecture", None)
        if callable(architecture):
            checkpoint["textbench"]["encoder_architecture"] = architecture()
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
    broken weights, and says where the last good checkpoint is.

    On the CPU every step is checked at once. On an accelerator the losses are checked
    every `every` steps and before each validation and epoch end (checkpoints are written
    after those hooks), so that no step waits for the device.
    """

    def __init__(self, every: int = 50) -> None:
        self.every = every
        self.pending: list[torch.Tensor] = []

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self.pending.append(loss.detach())
        if loss.device.type == "cpu" or len(self.pending) >= self.every:
            self._check(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: L.Trainer) -> None:
        if not self.pending:
            return
        losses = torch.stack(self.pending)
        self.pending = []
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            checkpoint = trainer.checkpoint_callback
            last = getattr(checkpoint, "last_model_path", "") or "none saved yet"
            raise NonFiniteLossError(
                f"The training loss became {losses[bad[0, 0]].item()} at epoch "
                f"{trainer.current_epoch}, step {trainer.global_step}: training diverged. The "
                f"last good checkpoint is {last}. Lower optimizer.lr, keep "
                "trainer.gradient_clip_val set, or check the data."
            )


class StopAfterEpochs(Callback):
    """Ends training after `epochs` epochs, whatever `trainer.max_epochs` says: a refit
    stops where its fit's best epoch was, on that fit's learning-rate schedule (which
    spans max_epochs)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


class ThroughputTimer(Callback):
    """Training time per epoch (validation excluded) and real (non-padding) tokens per
    second, logged as `train/epoch_time_s` and `train/tokens_per_s`; kept in checkpoints,
    so a resumed run still reports every epoch."""

    def __init__(self) -> None:
        self.epoch_times: list[float] = []
        self.tokens_per_s: list[float] = []

    def state_dict(self) -> dict[str, list[float]]:
        return {"epoch_times": self.epoch_times, "tokens_per_s": self.tokens_per_s}

    def load_state_dict(self, state_dict: dict[str, list[float]]) -> None:
        self.epoch_times = list(state_dict["epoch_times"])
        self.tokens_per_s = list(state_dict["tokens_per_s"])

    def _reset(self, pl_module: L.LightningModule) -> None:
        self.start = time.perf_counter()
        self.excluded = 0.0
        self.tokens = torch.zeros((), dtype=torch.long, device=pl_module.device)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._reset(pl_module)  # a run resumed mid-epoch starts without an epoch start

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._reset(pl_module)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.tokens += batch["lengths"].sum()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.validation_start = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and hasattr(self, "start"):
            self.excluded += time.perf_counter() - self.validation_start

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self.start - self.excluded
        self.epoch_times.append(seconds)
        self.tokens_per_s.append(self.tokens.item() * trainer.world_size / seconds)
        pl_module.log_dict(
            {"train/epoch_time_s": seconds, "train/tokens_per_s": self.tokens_per_s[-1]}
        )


class CheckpointOnInterrupt(Callback):
    """On Ctrl-C (SIGINT), save `checkpoints/interrupted.ckpt` (mid-epoch: resuming from it
    with ckpt_path= is not exact; `resume=true` goes on from the last finished epoch)."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.state.fn == "fit":
            path = self.dirpath / "interrupted.ckpt"
            trainer.save_checkpoint(path)


class ModelSize(ModelSummary):
    """Lightning's table of layers, in the run's log file only (the console filter keeps it
    off the console), and one line for the console: how many parameters, how many trained.
    Taken when training starts, after the module's `on_fit_start` has frozen what it
    freezes, so the trainable count is the true one."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pass

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        ModelSummary.summarize(
            summary_data, total_parameters, trainable_parameters, *args, **kwargs
        )
        # Lightning pads the counts for its table's columns
        print_model_size(
            get_human_readable_count(total_parameters).strip(),
            get_human_readable_count(trainable_parameters).strip(),
        )
