"""A Hydra callback that writes the sweep report when a multirun ends."""

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class ReportOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from textbench.reporting.summary import write_report

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            files = write_report(
                [sweep_dir],
                sweep_dir,
                metric=config.get("monitor", "val/acc"),
                maximize=config.get("monitor_mode", "max") == "max",
            )
        except FileNotFoundError as error:
            log.warning("No report: %s", error)
            return
        log.info("Sweep report: %s", ", ".join(str(p) for p in files.values()))
