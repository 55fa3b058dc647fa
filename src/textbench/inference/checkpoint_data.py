"""The data a checkpoint's config names, read only from places the user chose.

`textbench-eval` (and `-export`, for texts to check on) rebuild a run's data from the data
config its checkpoint carries. A checkpoint may have come from someone else, so that
config is data too, and the files it names are read only when they are

1. named by the user on this command line (`data.test_file=...`, `data.class_files=...`),
2. inside the run directory the checkpoint lies in,
3. inside this machine's data directory (`$TEXTBENCH_DATA_DIR`, else `./data`): a path
   under the run's own `paths.data_dir` is looked up there, so a run trained on IMDB
   elsewhere is evaluated on this machine's copy, or
4. below the current directory (the project the user works in), through no hidden
   folder or file (`.ssh/`, `.env`).

Anything else, and any Hub data set the user did not name (`data.name=`,
`data.hub_name=`), is refused in one sentence that says how to name it. The files that
will be read are listed before they are.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from textbench.errors import ConfigError
from textbench.inference.checkpoint import inside
from textbench.trust import resolve

DATA_MODULE = "textbench.data.datamodule.TextDataModule"
SOURCES = "textbench.data.sources."
HUB = SOURCES + "load_hub"
FILES_OR_HUB = SOURCES + "load_files_or_hub"
# the options of textbench's sources that name files or folders (a dict: one per class)
PATH_OPTIONS = {
    SOURCES + "load_files": ("train_file", "validation_file", "test_file"),
    SOURCES + "load_class_files": ("class_files",),
    SOURCES + "load_folder": ("path",),
    FILES_OR_HUB: ("files",),
    "textbench.data.synthetic.load_wordorder": (),
}


def local_data_dir() -> Path:
    """This machine's data directory, as `paths.data_dir` in conf/paths/default.yaml."""
    return Path(os.environ.get("TEXTBENCH_DATA_DIR", "data"))


class CheckpointData:
    """The checked data config of a checkpoint with the user's `data.*` overrides: what it
    will read (`reads`), then the data module (`build`)."""

    def __init__(
        self,
        config: dict[str, Any],
        source: str,
        run_dir: Path | None,
        overrides: dict[str, Any] | None = None,
        trusted_modules: tuple[str, ...] = (),
    ) -> None:
        node = config.get("data")
        if not isinstance(node, dict) or node.get("_target_") != DATA_MODULE:
            raise ConfigError(f"Refused {source}: its data config names no {DATA_MODULE}.")
        self.source, self.run_dir, self.trusted = source, run_dir, trusted_modules
        self.node = _merge(copy.deepcopy(node), overrides or {})
        self.named = set(_dotted(overrides or {}))
        paths = config.get("paths") if isinstance(config.get("paths"), dict) else {}
        stored = paths.get("data_dir")
        self.stored_data_dir = stored if isinstance(stored, str) else None
        source_node = self.node.get("source")
        if not isinstance(source_node, dict):
            raise ConfigError(f"Refused {source}: its data config names no source.")
        self.target = source_node.get("_target_")
        self.reads: list[str] = []
        self.options = self._source_options()

    def _source_options(self) -> dict[str, Any]:
        """The data module's settings and the source's options, each typed by its schema
        (`schema.check_data`: no key that is neither's), each path checked by the rule."""
        from dataclasses import fields

        from omegaconf import OmegaConf

        from textbench.schema import check_data, check_node

        if self.target != HUB:  # a Hub source is never imported from a checkpoint's name
            resolve(self.target, self.source, "data.source", self.trusted)
        try:
            module, source = check_data(OmegaConf.create(self.node), "data.")
        except ConfigError as error:
            raise ConfigError(f"Refused {self.source}: {error}") from None
        names = {f.name for f in fields(module)}
        keep = ("cache_dir", "_target_", "source")
        self.module_settings = {
            k: getattr(module, k) for k in self.node if k in names and k not in keep
        }
        if source is None:  # a source of the user's own (trusted): plain values
            rest = {k: v for k, v in self.node.items() if k not in names and k not in keep}
            options = check_node(rest, "data.", self.source)
        else:
            options = {f.name: getattr(source, f.name) for f in fields(source)}
        if self.target in (HUB, FILES_OR_HUB):
            return self._hub_or_files(options)
        return self._checked_paths(options)

    def _hub_or_files(self, options: dict[str, Any]) -> dict[str, Any]:
        """A Hub data set is read only when the user names it; IMDB's preset
        (`load_files_or_hub`) reads its local files when they are here."""
        if self.target == FILES_OR_HUB:
            files = options.get("files")
            if not isinstance(files, dict):
                raise ConfigError(f"Refused {self.source}: data.files is not a mapping.")
            local = {k: self._local(f"files.{k}", v) for k, v in files.items()}
            if all(Path(p).is_file() for p in local.values()) or "data.hub_name" not in self.named:
                checked = self._checked_paths({**options, "files": files})
                self.target = SOURCES + "load_files"
                rest = {k: v for k, v in checked.items() if k not in ("files", "hub_name")}
                return {**checked["files"], **rest}
            self.reads = [f"the Hub data set {options['hub_name']!r}"]
            self.target = HUB
            return {"name": options["hub_name"]}
        if "data.name" not in self.named:
            raise ConfigError(
                f"This checkpoint's data is the Hub data set {options.get('name')!r}; "
                f"textbench-eval reads a data set a checkpoint names only when you name it: "
                f"add data.name={options.get('name')} to read it."
            )
        self.reads = [f"the Hub data set {options['name']!r}"]
        return options

    def _checked_paths(self, options: dict[str, Any]) -> dict[str, Any]:
        keys = PATH_OPTIONS.get(str(self.target))
        if keys is None:  # a source of the user's own: any option naming a file counts
            keys = tuple(k for k, v in options.items() if isinstance(v, str) and Path(v).exists())
        checked = dict(options)
        for key in keys:
            value = options.get(key)
            if value is None:
                continue
            if isinstance(value, dict):
                checked[key] = {k: self._allowed(f"{key}.{k}", v) for k, v in value.items()}
            else:
                checked[key] = self._allowed(key, value)
        return checked

    def _named(self, key: str) -> bool:
        """Whether the user gave `data.<key>` (or a node holding it) on the command line."""
        dotted = f"data.{key}"
        return dotted in self.named or any(dotted.startswith(n + ".") for n in self.named)

    def _local(self, key: str, value: Any) -> str:
        """A stored path as this machine reads it: under the run's data directory, then
        under this machine's; else as stored."""
        if not isinstance(value, str):
            raise ConfigError(f"Refused {self.source}: data.{key} is not a path.")
        if f"data.{key}" in self.named or any(
            f"data.{key}".startswith(n + ".") for n in self.named
        ):
            return value
        stored = self.stored_data_dir
        if stored:
            relative = os.path.relpath(os.path.normpath(value), os.path.normpath(stored))
            if not relative.startswith(".."):
                return str(local_data_dir() / relative)
        return value

    def _allowed(self, key: str, value: Any) -> str:
        path = self._local(key, value)
        named = self._named(key)
        roots = [local_data_dir(), *([self.run_dir] if self.run_dir else [])]
        chosen = named or _in_project(Path(path))
        if not chosen and not any(inside(Path(path), root) for root in roots):
            raise ConfigError(
                f"This checkpoint's data config reads data.{key}={value!r}, which lies "
                "neither in its run directory, nor in the data directory "
                f"{local_data_dir()} (TEXTBENCH_DATA_DIR), nor below the current "
                "directory; textbench-eval reads such a file only when you name it: add "
                f"data.{key}=PATH (or point TEXTBENCH_DATA_DIR at its folder)."
            )
        self.reads.append(path)
        return path

    def build(self, tokenizer: Any, label_names: list[str]) -> Any:
        """The data module with the checkpoint's tokenizer and label names, its cache off
        (evaluation writes nothing but its outputs)."""
        from textbench.data.datamodule import TextDataModule

        if self.target == HUB:
            from textbench.data.sources import load_hub

            function: Callable[..., Any] = load_hub
        else:
            function = resolve(self.target, self.source, "data.source", self.trusted)
        settings = {**self.module_settings, "cache_dir": None, "label_names": label_names}
        return TextDataModule(partial(function), tokenizer, **settings, **self.options)


def _in_project(path: Path) -> bool:
    """Below the current directory (the project the user runs from), through no hidden
    folder or file (`.ssh/`, `.env`) and no link out of it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return False
    return not any(part.startswith(".") for part in relative.parts)


def _merge(node: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The user's `data.*` overrides onto the stored node; a key it lacks is refused."""
    for key, value in overrides.items():
        if key not in node:
            raise ConfigError(
                f"data.{key} is not a key of this run's data config; its keys are "
                f"{sorted(k for k in node if not k.startswith('_'))}."
            )
        if isinstance(value, dict) and isinstance(node[key], dict) and key != "class_files":
            _merge(node[key], value)
        else:
            node[key] = value
    return node


def _dotted(overrides: dict[str, Any], prefix: str = "data") -> list[str]:
    keys = []
    for key, value in overrides.items():
        keys.append(f"{prefix}.{key}")
        if isinstance(value, dict):
            keys += _dotted(value, f"{prefix}.{key}")
    return keys
