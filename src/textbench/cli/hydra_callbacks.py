"""Hydra callbacks: refuse an output directory that cannot be written before anything runs,
and write the sweep report when a multirun ends."""

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class CheckOutputDirectory(Callback):
    """Hydra creates the run (or sweep) directory before the app starts, with a traceback
    when it cannot; this says so in one sentence and exits with status 2 instead."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_writable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")


def _check_writable(directory: str, key: str) -> None:
    """Writable, and without symbolic links inside: Hydra writes .hydra/ and the log, and
    the run its record, before textbench could look again (a run or sweep directory
    someone handed over, resumed with resume=true, may hold links to your files)."""
    from textbench.errors import ConfigError
    from textbench.training.resume import check_no_links

    try:
        check_no_links(Path(directory), f"The {key.split('.')[1]} directory")
    except ConfigError as error:
        from textbench.terminal import printable

        print(f"error: {printable(str(error))}", file=sys.stderr)
        sys.exit(2)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        print(
            f"error: the output directory {directory} cannot be created or written "
            f"({error.strerror or error}); nothing was run. Choose another place with "
            f"{key}=DIR or paths.log_dir=DIR.",
            file=sys.stderr,
        )
        sys.exit(2)


class ReportOnMultirunEnd(Callback):
    """A sweep ends in its verdict: which group is best, and whether each other one is
    significantly worse; the tables and plots are in summary.html beside it."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from textbench.reporting.sweep import write_report

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            report = write_report(
                [sweep_dir],
                sweep_dir,
                metric=config.get("monitor", "val/acc"),
                maximize=config.get("monitor_mode", "max") == "max",
            )
        except FileNotFoundError as error:
            log.warning("No report: %s", error)
            return
        plain = str.maketrans("", "", "`")  # the verdicts are Markdown
        if report.verdict:
            log.info("Verdict: %s", report.verdict.translate(plain))
        if report.test_verdict:
            log.info("On the test split: %s", report.test_verdict.translate(plain))
        others = ", ".join(p.name for key, p in report.files.items() if key != "html")
        log.info("Sweep report: %s (beside it: %s)", report.files["html"].absolute(), others)
