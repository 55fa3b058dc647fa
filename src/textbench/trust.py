"""The trust check: the classes and functions a config read from a file may name.

A checkpoint, a run directory or a sweep someone hands you is data, yet Hydra's
`instantiate` calls whatever a `_target_` names, and Hydra's block list stops only a few
targets: a crafted `{_target_: uuid._get_command_stdout, _args_: [sh, -c, ...]}` runs a
shell. So nothing read from such a file is ever passed to `instantiate`:

- `TRUSTED_TARGETS` are the names textbench's own configs build (`conf/`, `experiments/`),
  derived from the schema catalogue (`textbench.schema`) and a few recorded nodes:
  a config composed from a shared run's overrides (`textbench-reproduce`) may name only
  these, or a class of a module the user trusts by name (`trust=[my_package]`).
- `CHECKPOINT_TARGETS` is the short list a checkpoint may ask to rebuild: the model, its
  encoders, tokenizers, the data module and the local file sources. Loggers, callbacks,
  trainers, launchers and Hub loaders never are; they are recorded, not built.
- `resolve` imports a trusted name by hand; the loaders call it with typed values.

A trusted module admits only objects *defined* in it or below it (their `__module__`),
never a name it merely imports (`my_package.models.torch.load`), and no private or dunder
segment. Kept free of heavy imports: refusals come before torch loads.
"""

import importlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from textbench import schema
from textbench.errors import ConfigError

# What a checkpoint may rebuild: the model, encoders, tokenizers, data module, file sources.
CHECKPOINT_TARGETS: frozenset[str] = frozenset(
    schema.MODELS | schema.ENCODERS | schema.TOKENIZERS | schema.DATA_MODULES
) | frozenset(schema.FILE_SOURCES)

# Nodes textbench's configs name that have no schema of their own: Lightning's callbacks
# and loggers (their settings are Lightning's), and Hydra's nodes.
RECORDED_TARGETS: frozenset[str] = frozenset(
    {
        "lightning.pytorch.callbacks.EarlyStopping",
        "lightning.pytorch.callbacks.LearningRateMonitor",
        "lightning.pytorch.callbacks.ModelCheckpoint",
        "lightning.pytorch.loggers.CSVLogger",
        "lightning.pytorch.loggers.MLFlowLogger",
        "lightning.pytorch.loggers.TensorBoardLogger",
        "lightning.pytorch.loggers.WandbLogger",
        "textbench.training.callbacks.ModelSize",
        "textbench.cli.hydra_callbacks.CheckOutputDirectory",
        "textbench.cli.hydra_callbacks.ReportOnMultirunEnd",
        "hydra_plugins.textbench_optuna.optuna_sweeper.OptunaSweeper",
        "hydra_plugins.textbench_submitit.launchers.LocalLauncher",
        "hydra_plugins.textbench_submitit.launchers.SlurmLauncher",
        # Hydra's defaults, in the hydra node of a config composed by textbench-reproduce
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    }
)

# Every `_target_` that conf/ and experiments/ name (a test keeps the two in step): the
# schema catalogue, every source, and the recorded nodes above.
TRUSTED_TARGETS: frozenset[str] = (
    frozenset(schema.SCHEMAS) | frozenset(schema.SOURCES) | RECORDED_TARGETS
)

# The sections of a checkpoint's config that inference rebuilds; the others (trainer,
# callbacks, loggers, optimizer, ...) are a record of the run, never built from it.
BUILT_SECTIONS = ("model", "data", "tokenizer")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")


def is_trusted(target: Any, trusted_modules: Iterable[str] = ()) -> bool:
    """A name on `TRUSTED_TARGETS`, or an object defined in a module the user trusts (`pkg`
    admits `pkg.X` and `pkg.sub.X` where `X.__module__` is `pkg` or below it)."""
    if isinstance(target, str) and target in TRUSTED_TARGETS:
        return True
    return defined_in(target, tuple(trusted_modules))


def defined_in(target: Any, trusted_modules: tuple[str, ...]) -> bool:
    """Whether `target` names an object defined in one of `trusted_modules` or below."""
    if not isinstance(target, str) or not _NAME.fullmatch(
        target
    ):  # no private or dunder segment: `_x` never matches
        return False
    for module in trusted_modules:
        if not _NAME.fullmatch(module) and not module.isidentifier():
            continue
        if not target.startswith(module + "."):
            continue
        try:
            found = _import(target, module)
        except (ImportError, AttributeError):
            return False
        owner = getattr(found, "__module__", None)
        if isinstance(owner, str) and (owner == module or owner.startswith(module + ".")):
            return True
    return False


def _under(target: Any, trusted_modules: tuple[str, ...]) -> bool:
    """A public name whose module path starts with a trusted module's (no import)."""
    return (
        isinstance(target, str)
        and _NAME.fullmatch(target) is not None
        and any(target.startswith(module + ".") for module in trusted_modules)
    )


def _import(target: str, floor: str = "") -> Any:
    """The object a dotted name names: its longest importable module (never above `floor`,
    the trusted module), then attributes."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        if floor and not (module_name == floor or module_name.startswith(floor + ".")):
            break
        try:
            found: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # this prefix is not a module; try a shorter one
            raise
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(f"no module for {target}")


def resolve(target: Any, source: str, path: str, trusted_modules: Iterable[str] = ()) -> Any:
    """Import a name a checkpoint may rebuild (a class or function); never anything else."""
    if not (target in CHECKPOINT_TARGETS or defined_in(target, tuple(trusted_modules))):
        raise refusal(source, target, path)
    return _import(target)


def check_targets(config: Any, source: str, trusted_modules: Iterable[str] = ()) -> None:
    """Refuse, before anything is called, a config that names code we do not trust or that
    holds an interpolation (`${...}` could call a resolver; saved configs are resolved)."""
    trusted_modules = tuple(trusted_modules)
    for path, key, value in walk(config):
        if key == "_target_":
            if not is_trusted(value, trusted_modules):
                raise refusal(source, value, path)
        elif isinstance(value, str) and "${" in value:
            raise ConfigError(
                f"Refused {source}: its config holds the interpolation {value[:80]!r} at "
                f"{path}; a saved textbench config is fully resolved, so this file was altered."
            )


def refusal(source: str, value: Any, path: str) -> ConfigError:
    """The one sentence for a target we do not trust."""
    return ConfigError(
        f"Refused {source}: it names {str(value)[:120]!r} at {path or 'the top'} to build, "
        "which is not one of the classes textbench rebuilds; it may run code you did not "
        "choose. A class of your own loads once you trust the module that defines it, by "
        "name (trust=[my_package.models]); trust only code you wrote."
    )


def check_checkpoint(
    checkpoint: Mapping[str, Any],
    source: str,
    trusted_modules: Iterable[str] = (),
    trusted_names: Iterable[str] = (),
) -> None:
    """Walk a whole checkpoint: a `_target_` may stand only in its config's built sections
    (`CHECKPOINT_TARGETS`, a trusted module's class, or one of `trusted_names`: those the
    run resuming it names itself) or in the sections it merely records (textbench's own
    names); anywhere else, and any interpolation, is refused."""
    trusted_modules, trusted_names = tuple(trusted_modules), frozenset(trusted_names)
    for path, key, value in walk(checkpoint):
        parts = path.split(".")
        if key == "_target_":
            section = parts[2] if parts[:2] == ["textbench", "config"] and len(parts) > 2 else None
            if section is None:
                raise refusal(source, value, path)
            named = isinstance(value, str) and value in trusted_names
            if section in BUILT_SECTIONS:
                ours = isinstance(value, str) and value in CHECKPOINT_TARGETS
                ok = named or ours or defined_in(value, trusted_modules)
            else:  # recorded, never built: a trusted module's name needs no import
                ok = named or is_trusted(value) or _under(value, trusted_modules)
            if not ok:
                raise refusal(source, value, path)
        elif isinstance(value, str) and "${" in value and (path, key) != ("textbench", "tokenizer"):
            # (the tokenizer's JSON is a string parsed by the `tokenizers` library alone)
            raise ConfigError(
                f"Refused {source}: it holds the interpolation {value[:80]!r} at {path}; a "
                "saved textbench config is fully resolved, so this file was altered."
            )


def targets(config: Any) -> list[str]:
    """Every `_target_` a config names (a config the user composed, so trusted)."""
    return sorted({v for _, k, v in walk(config) if k == "_target_" and isinstance(v, str)})


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path of the parent node, key, value) for every entry, lists and dicts alike."""
    if isinstance(node, Mapping):
        items: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list | tuple):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield path, str(key), value
        yield from walk(value, f"{path}.{key}" if path else str(key))
