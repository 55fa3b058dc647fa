"""Test-only callbacks, selected from the command line as `+callbacks.NAME._target_=...`."""

import json
import os
import signal
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from textbench.models.cnn import CNNEncoder


class PoisonAtStep(Callback):
    """Turns the weights to NaN at a given step, to make the training loss diverge."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            with torch.no_grad():
                for parameter in pl_module.parameters():
                    parameter.fill_(float("nan"))


class KillAtStep(Callback):
    """Kills its own process (SIGKILL: no clean-up at all) at a given step, mid-epoch;
    with a `marker` file, only once, so that the same command can then resume."""

    sends = signal.SIGKILL

    def __init__(self, step: int, marker: str | None = None) -> None:
        self.step = step
        self.marker = Path(marker) if marker else None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step != self.step:
            return
        if self.marker is not None:
            try:  # created atomically: of two processes at this step, one goes on
                self.marker.open("x").close()
            except FileExistsError:
                return
        os.kill(os.getpid(), self.sends)


class InterruptAtStep(KillAtStep):
    """Presses Ctrl-C (SIGINT to its own process) at a given step, mid-epoch; with a
    `marker` file, only once."""

    sends = signal.SIGINT

    def on_train_start(self, trainer, pl_module) -> None:
        # A process started in the background by a non-interactive shell (as CI may be)
        # inherits SIGINT ignored, and Python then installs no handler; a terminal's
        # Ctrl-C always reaches the default one.
        signal.signal(signal.SIGINT, signal.default_int_handler)


class OwnCNNEncoder(CNNEncoder):
    """A user's own encoder, defined outside textbench."""


class RecordOptimizer(Callback):
    """Writes the class and learning rate of the optimizer a run really built."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_start(self, trainer, pl_module) -> None:
        optimizer = trainer.optimizers[0]
        record = {"class": type(optimizer).__name__, "lr": optimizer.param_groups[0]["lr"]}
        self.path.write_text(json.dumps(record))


class PreemptAtStep(KillAtStep):
    """Sends the preemption signal of SLURM via submitit (SIGUSR2) to its own process at a
    given step; with a `marker` file, only once."""

    sends = signal.SIGUSR2


class DropDatabaseConnections(Callback):
    """At a given step, ends every other connection to the database (as a restarted
    server or a dropped network link would); `once` makes it happen in one job only."""

    def __init__(self, url: str, step: int, once: str) -> None:
        self.url, self.step, self.once = url, step, Path(once)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step != self.step:
            return
        try:
            self.once.open("x").close()
        except FileExistsError:
            return
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql")) as c:
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
