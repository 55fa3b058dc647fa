"""The one way textbench commands that take settings are written: Hydra apps.

`hydra_app("eval")` turns a task function into a console command over `conf/eval.yaml`,
with Hydra's override syntax, `--help` and `--cfg job`; the composed config is checked
against `textbench.schema` before the task starts; and one rule for mistakes: a config or
data error is one sentence on standard error and exit status 2, never a traceback.
Only Hydra and OmegaConf are imported here, so `--help` and config errors return at once.
"""

import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import hydra
import hydra._internal.utils as hydra_internal
from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from textbench.config import config_dir, register_resolvers
from textbench.errors import ConfigError
from textbench.files import write_json
from textbench.schema import validate
from textbench.terminal import printable

log = logging.getLogger("textbench")

# mistakes in what the user typed or wrote, as opposed to bugs in textbench
USER_ERRORS = (
    ConfigError,
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
    OmegaConfBaseException,
)
# OmegaConf's lines that locate an error for a developer, not for the user
_LOCATORS = ("full_key:", "object_type=", "reference_type=", "See https://hydra.cc")


def hydra_app(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[..., Any]]:
    """`hydra.main` over `conf/<config_name>.yaml`; the command also takes `argv` (a list of
    overrides) so tests and notebooks can call it in-process."""
    register_resolvers()

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[..., Any]:
        def guarded(cfg: DictConfig) -> Any:
            try:
                validate(cfg, config_name)
                return task(cfg)
            except (*USER_ERRORS, InstantiationException) as caught:
                # a mistake a constructor finds (a corpus file that is not there) comes
                # wrapped by Hydra's instantiate
                error = caught.__cause__ if isinstance(caught, InstantiationException) else caught
                if not isinstance(error, USER_ERRORS):
                    raise
                hydra_cfg = HydraConfig.get()
                if hydra_cfg.mode != RunMode.MULTIRUN:
                    fail(one_sentence(error))
                # the sweep goes on with its other jobs; this one's refusal is recorded
                log.error("%s", printable(one_sentence(error)))
                _record_refusal(Path(hydra_cfg.runtime.output_dir), error)
                raise

        app = hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)(
            guarded
        )

        def command(argv: Sequence[str] | None = None) -> Any:
            saved = sys.argv
            if argv is not None:
                sys.argv = [saved[0], *argv]
            try:
                with _composition_errors_in_one_sentence():
                    return app()
            except ValueError as error:
                # Hydra's refusal of two modes at once (-m with --cfg) comes before its
                # error reporter, as a traceback
                if not str(error).startswith("Only one of --run"):
                    raise
                fail(
                    f"{str(error).removesuffix('can be specified')}can be given at once; "
                    "drop the others (--cfg job alone prints the composed config)."
                )
            finally:
                sys.argv = saved

        command.__doc__ = task.__doc__
        return command

    return decorate


def _record_refusal(output_dir: Path, error: BaseException) -> None:
    """A sweep's job refused before its run record began still leaves its status for the
    sweep's report."""
    manifest = output_dir / "manifest.json"
    if output_dir.is_dir() and not manifest.exists():
        error_text = f"{type(error).__name__}: {one_sentence(error)}"
        write_json(manifest, {"status": "failed", "error": error_text})


def fail(message: str) -> NoReturn:
    print(f"error: {printable(message)}", file=sys.stderr)
    sys.exit(2)


def one_sentence(error: BaseException) -> str:
    """Hydra's and OmegaConf's messages on one line, without the developer's locators:
    'Could not find model/lstmm. Available options in model: boe, cnn, lstm, ...'."""
    if isinstance(error, MissingMandatoryValue) and error.full_key:
        key = error.full_key
        return f"{key} has no value; give one on the command line ({key}=...)."
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, OverrideParseException):
        return f"Cannot read the override {error.override!r}: {error.message.splitlines()[0]}."
    parts: list[str] = []
    listing = False
    for raw in str(error).splitlines():
        line = raw.strip()
        if line.startswith("Config search path"):
            break
        if not line or line.startswith(_LOCATORS):
            continue
        if listing and raw[:1].isspace():
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
            continue
        listing = line.endswith(":")
        parts.append(line if line.endswith((".", ":")) else line + ".")
    if isinstance(error.__cause__, OmegaConfBaseException) and not parts:
        return one_sentence(error.__cause__)
    return " ".join(parts) or type(error).__name__


@contextmanager
def _composition_errors_in_one_sentence():
    """Hydra reports a composition error (an unknown key, a missing option, a value of the
    wrong type) as several lines and exit status 1; textbench's rule is one sentence and 2.
    Hydra offers no hook for this, so its reporter is wrapped while the command runs;
    HYDRA_FULL_ERROR=1 still gives the whole traceback."""
    original = hydra_internal.run_and_report

    def report(func: Callable[[], Any]) -> Any:
        def guarded() -> Any:
            try:
                return func()
            except USER_ERRORS as error:
                if os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                fail(one_sentence(error))

        return original(guarded)

    hydra_internal.run_and_report = report
    try:
        yield
    finally:
        hydra_internal.run_and_report = original
