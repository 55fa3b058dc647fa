"""Test-only callbacks, selected from the command line as `+callbacks.NAME._target_=...`."""

import torch
from lightning.pytorch.callbacks import Callback


class PoisonAtStep(Callback):
    """Turns the weights to NaN at a given step, to make the training loss diverge."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            with torch.no_grad():
                for parameter in pl_module.parameters():
                    parameter.fill_(float("nan"))
