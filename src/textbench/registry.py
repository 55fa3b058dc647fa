"""The classes and functions a config read from a file may name: textbench's trust list.

A checkpoint (or any config a user was handed) is data, yet Hydra's `instantiate` calls
whatever its `_target_` names, and Hydra's block list stops only a few targets: a crafted
`{_target_: shutil.copyfile, _args_: [a, b]}` would write files. So before anything is
built from such a config, `check_targets` walks every node of it and refuses any target
that is not named here, nor inside a module the user trusts on the command line
(`trust=[my_package]`, for their own models). Names, not module prefixes: a prefix such
as `textbench.` would also admit helpers that write files.

Kept free of heavy imports: refusals come before torch loads.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from textbench.errors import ConfigError

# Every `_target_` that conf/ and experiments/ name (a test keeps the two in step).
TRUSTED_TARGETS: frozenset[str] = frozenset(
    {
        # model
        "textbench.models.classifier.TextClassifier",
        "textbench.models.boe.BagOfNgramsEncoder",
        "textbench.models.cnn.CNNEncoder",
        "textbench.models.lstm.LSTMEncoder",
        "textbench.models.nbsvm.NBSVMEncoder",
        "textbench.models.pretrained.PretrainedEncoder",
        "textbench.models.transformer.TransformerEncoder",
        # data
        "textbench.data.datamodule.TextDataModule",
        "textbench.data.sources.load_class_files",
        "textbench.data.sources.load_files",
        "textbench.data.sources.load_files_or_hub",
        "textbench.data.sources.load_folder",
        "textbench.data.sources.load_hub",
        "textbench.data.synthetic.load_wordorder",
        # tokenizer
        "textbench.data.tokenizers.BPETokenizer",
        "textbench.data.tokenizers.PretrainedTokenizer",
        "textbench.data.tokenizers.WordPieceTokenizer",
        "textbench.data.tokenizers.WordTokenizer",
        # optimizer and scheduler
        "torch.optim.Adam",
        "torch.optim.AdamW",
        "torch.optim.SGD",
        "textbench.training.schedulers.cosine",
        "textbench.training.schedulers.linear",
        "textbench.training.schedulers.plateau",
        # trainer, loggers, callbacks
        "lightning.pytorch.Trainer",
        "lightning.pytorch.callbacks.EarlyStopping",
        "lightning.pytorch.callbacks.LearningRateMonitor",
        "lightning.pytorch.callbacks.ModelCheckpoint",
        "lightning.pytorch.loggers.CSVLogger",
        "lightning.pytorch.loggers.MLFlowLogger",
        "lightning.pytorch.loggers.TensorBoardLogger",
        "lightning.pytorch.loggers.WandbLogger",
        "textbench.training.callbacks.ModelSize",
        # Hydra's own nodes
        "textbench.hydra_callbacks.CheckOutputDirectory",
        "textbench.hydra_callbacks.ReportOnMultirunEnd",
        "hydra_plugins.textbench_optuna.optuna_sweeper.OptunaSweeper",
        "hydra_plugins.textbench_submitit.launchers.LocalLauncher",
        "hydra_plugins.textbench_submitit.launchers.SlurmLauncher",
    }
)


def is_trusted(target: str, trusted_modules: Iterable[str] = ()) -> bool:
    """A name on the list, or one inside a module the user trusts (`pkg` admits `pkg.X`)."""
    return target in TRUSTED_TARGETS or any(
        target == module or target.startswith(module + ".") for module in trusted_modules
    )


def check_targets(config: Any, source: str, trusted_modules: Iterable[str] = ()) -> None:
    """Refuse, before anything is called, a config that names code we do not trust or that
    holds an interpolation (`${...}` could call a resolver; saved configs are resolved)."""
    trusted_modules = tuple(trusted_modules)
    for path, key, value in _walk(config, ""):
        if key == "_target_":
            if not isinstance(value, str) or not is_trusted(value, trusted_modules):
                raise ConfigError(
                    f"Refused {source}: its config names {value!r} at {path or 'the top'} to "
                    "build, which is not one of textbench's own classes; it may run code you "
                    "did not choose. If it is your own model's module, trust it by name, e.g. "
                    f"trust=[{str(value).rsplit('.', 1)[0]}]."
                )
        elif isinstance(value, str) and "${" in value:
            raise ConfigError(
                f"Refused {source}: its config holds the interpolation {value[:80]!r} at "
                f"{path}; a saved textbench config is fully resolved, so this file was altered."
            )


def targets(config: Any) -> list[str]:
    """Every `_target_` a config names (a config the user composed, so trusted)."""
    return sorted({v for _, k, v in _walk(config, "") if k == "_target_" and isinstance(v, str)})


def _walk(node: Any, path: str) -> Iterable[tuple[str, str, Any]]:
    """(path of the parent node, key, value) for every entry, lists and dicts alike."""
    if isinstance(node, Mapping):
        items: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list | tuple):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield path, str(key), value
        yield from _walk(value, f"{path}.{key}" if path else str(key))
