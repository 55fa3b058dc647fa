"""A callback for the start-up benchmark: writes the wall-clock time of the first
optimizer step to a file, then stops the run."""

import time
from pathlib import Path

from lightning.pytorch.callbacks import Callback


class FirstStepClock(Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == 1:
            self.path.write_text(repr(time.time()))
            trainer.should_stop = True
