"""Checkpoints that cannot run code: every `_target_` a checkpoint names must be trusted.

Each crafted checkpoint is a real one whose config names `shutil.copyfile` (or
`torch.save`) somewhere; every command that loads checkpoints must refuse it with one
sentence and exit status 2, before the file is copied.
"""

import copy
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import ROOT, TINY, make_cfg, run_cli
from textbench.errors import ConfigError
from textbench.evaluate import main as eval_main
from textbench.export import main as export_main
from textbench.inference.checkpoint import load_checkpoint
from textbench.predict import main as predict_main
from textbench.registry import TRUSTED_TARGETS, check_targets
from textbench.training.run import train

SMALL_CNN = ["model=cnn", "model.encoder.num_filters=8", "model.encoder.embedding_dim=16"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict:
    run = tmp_path_factory.mktemp("run")
    train(make_cfg(run, [*SMALL_CNN, *TINY, "trainer.max_epochs=1"]))
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def _copy_file(source: Path, destination: Path) -> dict:
    return {"_target_": "shutil.copyfile", "_args_": [str(source), str(destination)]}


def _plant(config: dict, where: str, node: dict) -> None:
    """Put `node` at the dotted path `where` (creating what is missing)."""
    *parents, last = where.split(".")
    for key in parents:
        config = config.setdefault(key, {})
    config[last] = node


PLACES = [
    "model",  # the whole model node
    "model.encoder",
    "data",
    "data.source",
    "tokenizer",
    "model.encoder.extra.deeper",  # any nested node
    "callbacks.evil",
]


def _crafted(checkpoint: dict, tmp_path: Path, where: str, target: str = "copyfile") -> Path:
    evil = copy.deepcopy(checkpoint)
    secret, stolen = tmp_path / "secret.txt", tmp_path / "stolen.txt"
    secret.write_text("secret")
    node = _copy_file(secret, stolen)
    if target == "torch.save":
        node = {"_target_": "torch.save", "_args_": [{"x": 1}, str(stolen)]}
    _plant(evil["textbench"]["config"], where, node)
    path = tmp_path / "crafted.ckpt"
    torch.save(evil, path)
    return path


@pytest.mark.parametrize("where", PLACES)
def test_every_loader_refuses_a_foreign_target(checkpoint: dict, tmp_path: Path, where: str):
    crafted = _crafted(checkpoint, tmp_path, where)
    stolen = tmp_path / "stolen.txt"
    (tmp_path / "texts.txt").write_text("a good film\n")
    commands = {
        "eval": lambda: eval_main([f"ckpt={crafted}", f"out={tmp_path / 'eval'}"]),
        "predict": lambda: predict_main([f"ckpt={crafted}", f"input={tmp_path / 'texts.txt'}"]),
        "export": lambda: export_main([f"ckpt={crafted}", f"out={tmp_path / 'export'}"]),
    }
    for name, command in commands.items():
        with pytest.raises(SystemExit) as exit_info:
            command()
        assert exit_info.value.code == 2, name
        assert not stolen.exists(), name
    with pytest.raises(ConfigError, match=r"names 'shutil.copyfile' .*not one of textbench's"):
        load_checkpoint(crafted)
    # textbench-train ckpt_path= (resume, or test only) goes through the same check.
    for extra in ([], ["train=false"]):
        with pytest.raises(ConfigError, match=r"shutil\.copyfile"):
            train(
                make_cfg(
                    tmp_path / f"train{len(extra)}",
                    [*SMALL_CNN, *TINY, *extra, f"ckpt_path={crafted}"],
                )
            )
        assert not stolen.exists()


@pytest.mark.slow
def test_commands_refuse_a_crafted_checkpoint_in_one_sentence(
    checkpoint: dict, tmp_path: Path
) -> None:
    """From the command line: exit status 2, one sentence, no traceback, no file written."""
    import subprocess
    import sys

    crafted = _crafted(checkpoint, tmp_path, "model.encoder", target="torch.save")
    for module, args in (
        ("textbench.predict", ["input=-"]),
        ("textbench.evaluate", []),
        ("textbench.export", []),
    ):
        result = subprocess.run(
            [sys.executable, "-m", module, f"ckpt={crafted}", *args],
            input="a film\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert result.returncode == 2, (module, result.stderr[-2000:])
        assert "names 'torch.save'" in result.stderr and "Traceback" not in result.stderr
    result = run_cli(*SMALL_CNN, *TINY, f"ckpt_path={crafted}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "names 'torch.save'" in result.stdout + result.stderr
    assert not (tmp_path / "stolen.txt").exists()


def test_trusted_modules_admit_a_users_own_classes(checkpoint: dict, tmp_path: Path) -> None:
    """A user's own encoder (here a subclass in the tests package) loads once its module is
    trusted by name, and only then; a module named like it is still refused."""
    mine = copy.deepcopy(checkpoint)
    mine["textbench"]["config"]["model"]["encoder"]["_target_"] = "tests.helpers.OwnCNNEncoder"
    torch.save(mine, tmp_path / "mine.ckpt")
    with pytest.raises(ConfigError, match=r"trust=\[tests.helpers\]"):
        load_checkpoint(tmp_path / "mine.ckpt")
    with pytest.raises(ConfigError):
        load_checkpoint(tmp_path / "mine.ckpt", ["tests.help"])
    loaded = load_checkpoint(tmp_path / "mine.ckpt", ["tests.helpers"])
    assert type(loaded.model.encoder).__name__ == "OwnCNNEncoder"


def test_interpolations_in_a_checkpoint_are_refused() -> None:
    with pytest.raises(ConfigError, match="interpolation"):
        check_targets({"data": {"train_file": "${oc.env:HOME}"}}, "x.ckpt")


def test_every_target_in_the_configs_is_trusted() -> None:
    """The trust list and the configs stay in step: every `_target_` conf/ and
    experiments/ name loads back from a checkpoint, and nothing else is listed."""
    named = set()
    for path in [*ROOT.glob("conf/**/*.yaml"), *ROOT.glob("experiments/*.yaml")]:
        text = path.read_text()
        named |= {
            line.split("_target_:")[1].strip()
            for line in text.splitlines()
            if "_target_:" in line and not line.lstrip().startswith("#")
        }
        yaml.safe_load(text)  # each file is plain YAML
    named.add("hydra_plugins.textbench_optuna.optuna_sweeper.OptunaSweeper")  # a ConfigStore node
    assert named == set(TRUSTED_TARGETS)
