"""Nothing a shared checkpoint, run directory or sweep holds decides which code runs, or
what is written, read or deleted outside the user's named outputs.

Each crafted input is an honest run's file with one change. The gadget is the one the
audit used, `{_target_: uuid._get_command_stdout, _args_: [sh, -c, ...]}` (Hydra's block
list does not stop it): it would create a marker file; every test asserts the refusal (one
sentence, exit status 2 for commands) and that the marker, or the victim file, is untouched.
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.support import ROOT, TINY, make_cfg, run_cli
from textbench.cli.evaluate import main as eval_main
from textbench.cli.export import main as export_main
from textbench.cli.predict import main as predict_main
from textbench.cli.reproduce import main as reproduce_main
from textbench.errors import ConfigError
from textbench.inference.checkpoint import load_checkpoint, resolve_checkpoint
from textbench.training.run import train
from textbench.trust import CHECKPOINT_TARGETS, TRUSTED_TARGETS, check_targets, is_trusted

SMALL_CNN = ["model=cnn", "model.encoder.num_filters=8", "model.encoder.embedding_dim=16"]


@pytest.fixture
def run_dir(trained_run) -> Path:
    """The session's honest tiny CNN run, whose files the tests below alter (in copies)."""
    return trained_run("cnn")


@pytest.fixture
def checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)


def gadget(marker: Path) -> dict:
    return {"_target_": "uuid._get_command_stdout", "_args_": ["sh", "-c", f"touch {marker}"]}


def _plant(config: dict, where: str, node: object) -> None:
    """Put `node` at the dotted path `where` (creating what is missing)."""
    *parents, last = where.split(".")
    for key in parents:
        config = config.setdefault(key, {})
    config[last] = node


def _save(checkpoint: dict, path: Path) -> Path:
    torch.save(checkpoint, path)
    return path


def _commands(crafted: Path, tmp_path: Path) -> dict:
    (tmp_path / "texts.txt").write_text("a good film\n")
    return {
        "eval": lambda: eval_main([f"ckpt={crafted}", f"out={tmp_path / 'eval'}"]),
        "predict": lambda: predict_main([f"ckpt={crafted}", f"input={tmp_path / 'texts.txt'}"]),
        "export": lambda: export_main([f"ckpt={crafted}", f"out={tmp_path / 'export'}"]),
    }


def _refused_by_every_loader(crafted: Path, tmp_path: Path, marker: Path) -> None:
    for name, command in _commands(crafted, tmp_path).items():
        with pytest.raises(SystemExit) as exit_info:
            command()
        assert exit_info.value.code == 2, name
        assert not marker.exists(), name
    with pytest.raises(ConfigError, match="Refused"):
        load_checkpoint(crafted)
    assert not marker.exists()


PLACES = [
    "textbench.config.model",
    "textbench.config.model.encoder",
    "textbench.config.model.encoder.extra.deeper",
    "textbench.config.data",
    "textbench.config.data.source",
    "textbench.config.tokenizer",
    "textbench.config.callbacks.evil",
    "textbench.label_names",  # hole 2: eval and export set it on the data config
    "textbench.tokenizer_config.extra",
    "hyper_parameters.label_names",  # hole 1: passed to instantiate as a keyword
    "hyper_parameters.class_weights",
    "callbacks.evil",
    "loops.evil",
]


@pytest.mark.parametrize("where", PLACES)
def test_a_target_anywhere_in_a_checkpoint_is_refused_by_every_loader(
    checkpoint: dict, tmp_path: Path, where: str
) -> None:
    marker = tmp_path / "marker"
    evil = copy.deepcopy(checkpoint)
    _plant(evil, where, gadget(marker))
    _refused_by_every_loader(_save(evil, tmp_path / "crafted.ckpt"), tmp_path, marker)


def test_another_allowlisted_model_target_is_refused(checkpoint: dict, tmp_path: Path) -> None:
    """Hole 1 as the audit built it: the model's `_target_` swapped for another name on
    the list, so that the typed-looking hyper-parameters became its keyword arguments."""
    marker = tmp_path / "marker"
    evil = copy.deepcopy(checkpoint)
    evil["textbench"]["config"]["model"]["_target_"] = "textbench.data.sources.load_class_files"
    _refused_by_every_loader(_save(evil, tmp_path / "crafted.ckpt"), tmp_path, marker)
    evil["textbench"]["config"]["model"]["_target_"] = "textbench.models.cnn.CNNEncoder"
    with pytest.raises(ConfigError, match="loads models built as"):
        load_checkpoint(_save(evil, tmp_path / "crafted.ckpt"))


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("hyper_parameters.label_names", "${oc.env:HOME}"),
        ("hyper_parameters.label_names", [1, 2]),
        ("hyper_parameters.vocab_size", "100"),
        ("hyper_parameters.pad_id", True),
        ("hyper_parameters.class_weights", ["${oc.env:HOME}"]),
        ("textbench.label_names", [{"x": 1}, "b"]),
        ("textbench.max_length", "64"),
        ("textbench.config.model.encoder.unknown_setting", 1),  # closed schema
        ("textbench.config.model.encoder.num_filters", "many"),
        ("textbench.config.model.head_dropout", "${oc.env:HOME}"),
    ],
)
def test_checkpoint_values_are_typed_before_anything_is_built(
    checkpoint: dict, tmp_path: Path, where: str, value: object
) -> None:
    evil = copy.deepcopy(checkpoint)
    _plant(evil, where, value)
    with pytest.raises(ConfigError, match="Refused"):
        load_checkpoint(_save(evil, tmp_path / "crafted.ckpt"))


def test_a_logger_with_side_effects_is_never_built_from_a_checkpoint(
    checkpoint: dict, tmp_path: Path
) -> None:
    """Hole 7: MLFlowLogger is on the training list, not on the checkpoint's; under
    model.encoder it would have created a database on `textbench.load`."""
    import textbench

    database = tmp_path / "mlflow.db"
    evil = copy.deepcopy(checkpoint)
    evil["textbench"]["config"]["model"]["encoder"] = {
        "_target_": "lightning.pytorch.loggers.MLFlowLogger",
        "tracking_uri": f"sqlite:///{database}",
    }
    with pytest.raises(ConfigError, match="MLFlowLogger"):
        textbench.load(_save(evil, tmp_path / "crafted.ckpt"))
    assert not database.exists()
    assert "lightning.pytorch.loggers.MLFlowLogger" not in CHECKPOINT_TARGETS


def test_trust_admits_only_what_a_trusted_module_defines(checkpoint: dict, tmp_path: Path) -> None:
    """Hole 4: `trust=[tests.helpers]` admits its own encoder class, not a name it merely
    imports (`tests.helpers.torch.save`), nor a private one; and the refusal suggests
    trusting nothing by the crafted name."""
    assert is_trusted("tests.helpers.OwnCNNEncoder", ["tests.helpers"])
    for name in (
        "tests.helpers.torch.save",
        "tests.helpers.Path",
        "tests.helpers.os.system",
        "tests.helpers._private",
        "tests.helpers.OwnCNNEncoder.__init__",
        "tests.helpersx.OwnCNNEncoder",
    ):
        assert not is_trusted(name, ["tests.helpers"]), name
    mine = copy.deepcopy(checkpoint)
    mine["textbench"]["config"]["model"]["encoder"]["_target_"] = "tests.helpers.OwnCNNEncoder"
    _save(mine, tmp_path / "mine.ckpt")
    with pytest.raises(ConfigError, match="trust only code you wrote"):
        load_checkpoint(tmp_path / "mine.ckpt")
    with pytest.raises(ConfigError):
        load_checkpoint(tmp_path / "mine.ckpt", ["tests.help"])
    assert type(
        load_checkpoint(tmp_path / "mine.ckpt", ["tests.helpers"]).model.encoder
    ).__name__ == ("OwnCNNEncoder")
    evil = copy.deepcopy(checkpoint)
    evil["textbench"]["config"]["model"]["encoder"]["_target_"] = "tests.helpers.torch.save"
    with pytest.raises(ConfigError) as refused:
        load_checkpoint(_save(evil, tmp_path / "evil.ckpt"), ["tests.helpers"])
    assert "trust=[tests.helpers.torch]" not in str(refused.value)


def _with_callback_state(checkpoint: dict, **paths: str) -> dict:
    evil = copy.deepcopy(checkpoint)
    for state in evil["callbacks"].values():
        if "best_model_path" in state:
            state.pop("dirpath", None)
            state.update(paths)
    return evil


@pytest.mark.parametrize("resume", [True, False])
def test_restored_lightning_state_cannot_delete_files_outside_the_run(
    checkpoint: dict, tmp_path: Path, resume: bool
) -> None:
    """Hole 5: a restored ModelCheckpoint deletes its "old" last checkpoint by the path it
    was given; `local://` paths, and paths outside the run, are refused before the fit."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    out = tmp_path / "out"
    for paths in ({"last_model_path": f"local://{victim}"}, {"last_model_path": str(victim)}):
        evil = _with_callback_state(checkpoint, **paths)
        if resume:
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            _save(evil, out / "checkpoints" / "last.ckpt")
            overrides = ["resume=true"]
        else:
            overrides = [f"ckpt_path={_save(evil, tmp_path / 'crafted.ckpt')}"]
        cfg = make_cfg(out, [*SMALL_CNN, *TINY, "trainer.max_epochs=2", *overrides])
        with pytest.raises(ConfigError, match="state names"):
            train(cfg)
        assert (victim / "precious.txt").read_text() == "keep me"


def test_a_run_directory_is_only_read_through_its_own_checkpoints(
    run_dir: Path, tmp_path: Path
) -> None:
    """Hole 6: metrics.json names the checkpoint by name only, within checkpoints/."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(
        (run_dir / "checkpoints/last.ckpt").read_bytes()
    )
    elsewhere = tmp_path / "elsewhere.ckpt"
    elsewhere.write_bytes(b"not yours")
    (run / "metrics.json").write_text(json.dumps({"best_checkpoint": str(elsewhere)}))
    assert resolve_checkpoint(run) == run / "checkpoints" / "last.ckpt"
    (run / "metrics.json").write_text(json.dumps({"best_checkpoint": "../../elsewhere.ckpt"}))
    assert resolve_checkpoint(run) == run / "checkpoints" / "last.ckpt"
    (run / "checkpoints" / "best.ckpt").symlink_to(elsewhere)
    (run / "metrics.json").write_text(json.dumps({"best_checkpoint": "/x/best.ckpt"}))
    assert resolve_checkpoint(run) == run / "checkpoints" / "last.ckpt"


def test_export_never_writes_through_links_planted_in_a_run(run_dir: Path, tmp_path: Path) -> None:
    """Hole 6: links in a shared run's export/ are replaced, never written through; an
    export/ folder that is itself a link out of the run is refused."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    victims = {name: tmp_path / f"victim-{name}" for name in ("model.onnx", "tokenizer.json")}
    (run / "export").mkdir()
    for name, victim in victims.items():
        victim.write_text("keep me")
        (run / "export" / name).symlink_to(victim)
    export_main([f"ckpt={run}", "max_texts=8"])
    assert all(v.read_text() == "keep me" for v in victims.values())
    assert not (run / "export" / "model.onnx").is_symlink()
    shutil.rmtree(run / "export")
    (tmp_path / "outside").mkdir()
    (run / "export").symlink_to(tmp_path / "outside")
    with pytest.raises(SystemExit) as exit_info:
        export_main([f"ckpt={run}", "max_texts=8"])
    assert exit_info.value.code == 2 and not any((tmp_path / "outside").iterdir())


def test_eval_reads_only_data_files_the_user_chose(
    checkpoint: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Hole 8: a checkpoint's data config naming a file outside its run, the data
    directory and the project (here a "secret" of two lines), or a hidden file in the
    project, is refused; named on the command line it is read; what is read is listed."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("TEXTBENCH_DATA_DIR", str(tmp_path / "data"))
    secret, hidden = tmp_path / "secret.txt", project / ".env"
    for file in (secret, hidden):
        file.write_text("my password is hunter2\nthe other one is swordfish\n")
    evil = copy.deepcopy(checkpoint)
    data = evil["textbench"]["config"]["data"]
    data["source"]["_target_"] = "textbench.data.sources.load_class_files"
    for key in ("n_train", "n_test", "generator_seed"):
        data.pop(key)
    crafted, out = tmp_path / "crafted.ckpt", tmp_path / "eval"
    for file in (secret, hidden):
        data["class_files"] = {"negative": str(file), "positive": str(file)}
        with pytest.raises(SystemExit) as exit_info:
            eval_main([f"ckpt={_save(evil, crafted)}", f"out={out}"])
        assert exit_info.value.code == 2 and not out.exists()
        assert "reads such a file only when you name it" in capsys.readouterr().err
    # in the data directory (or the project), it is read, and said so
    (tmp_path / "data").mkdir()
    mine = tmp_path / "data" / "mine.txt"
    mine.write_text("".join(f"text number {i} is good\n" for i in range(40)))
    data["class_files"] = {"negative": str(mine), "positive": str(mine)}
    eval_main([f"ckpt={_save(evil, crafted)}", f"out={out}", "data.max_samples=10"])
    assert f"data: reading {mine}" in capsys.readouterr().err
    # named on the command line, the secret is the user's choice
    data["class_files"] = {"negative": str(secret), "positive": str(secret)}
    named = f"data.class_files={{negative: {mine}, positive: {secret}}}"
    eval_main([f"ckpt={_save(evil, crafted)}", f"out={out}", named])
    assert str(secret) in capsys.readouterr().err


@pytest.mark.slow
def test_resume_refuses_a_run_directory_with_links(run_dir: Path, tmp_path: Path) -> None:
    """Hole 9: resume=true in a shared run directory whose resolved_config.yaml links to
    a file of yours is refused before anything is written (in-process and from the
    command line, where Hydra writes .hydra/ and the log first)."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "metrics.json").unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (run / "resolved_config.yaml").unlink()
    (run / "resolved_config.yaml").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        train(make_cfg(run, [*SMALL_CNN, *TINY, "trainer.max_epochs=1", "resume=true"]))
    (run / ".hydra").mkdir(exist_ok=True)
    for name in ("train.log", ".hydra/config.yaml"):  # Hydra writes these first
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(victim)
    result = run_cli(*SMALL_CNN, *TINY, f"hydra.run.dir={run}", "resume=true", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert victim.read_text() == "keep me"


def _fake_run(root: Path, overrides: object) -> Path:
    run = root / "shared-run"
    (run / ".hydra").mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"status": "completed"}))
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return run


@pytest.mark.parametrize(
    ("override", "why"),
    [
        (
            "+callbacks.x={_target_: uuid._get_command_stdout, _args_: [sh, -c, 'touch MARKER']}",
            "it names 'uuid._get_command_stdout' at callbacks.x",
        ),
        ("+model.encoder.extra={_target_: uuid._get_command_stdout}", "model.encoder.extra"),
        ("--config-dir=/tmp", "is not a setting"),
        ("hydra.job.chdir=true", "is not a setting"),
        ("hydra/launcher=joblib", "is not a setting"),
        ("+hydra.callbacks.x={_target_: uuid._get_command_stdout}", "is not a setting"),
        ("data.n_train=${oc.decode:'{_target_: uuid._get_command_stdout}'}", "resolver"),
        ("callbacks.model_checkpoint.dirpath=/tmp/elsewhere", "is not a setting"),
    ],
)
def test_reproduce_refuses_overrides_that_would_run_code_or_write_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, override: str, why: str, capsys
) -> None:
    """Hole 3: the saved overrides compose, in process, into a config checked whole
    (Hydra's node included) before anything runs."""
    monkeypatch.chdir(tmp_path)
    run = _fake_run(tmp_path, ["model=cnn", override])
    with pytest.raises(SystemExit) as exit_info:
        reproduce_main([str(run), "--out", str(tmp_path / "again")])
    assert exit_info.value.code == 2
    assert why in capsys.readouterr().err
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "again").exists()


def test_reproduce_refuses_a_run_that_trusted_modules_you_did_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    for overrides in (["trust=[uuid]"], "model=cnn", [["nested"]]):
        run = _fake_run(tmp_path / str(len(str(overrides))), overrides)
        with pytest.raises(SystemExit) as exit_info:
            reproduce_main([str(run)])
        assert exit_info.value.code == 2
    assert "--trust uuid" in capsys.readouterr().err


@pytest.mark.slow
def test_reproduce_runs_isolated_from_the_current_directory(tmp_path: Path) -> None:
    """Hole 3: `python -m` would import ./hydra_plugins from where the user stands; the
    rerun runs with `python -I`."""
    result = run_cli(*SMALL_CNN, *TINY, "trainer.max_epochs=1", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    marker = tmp_path / "MARKER"
    plugin = tmp_path / "hydra_plugins" / "evil"
    plugin.mkdir(parents=True)
    (tmp_path / "hydra_plugins" / "__init__.py").write_text("")
    (plugin / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    for command in (
        [str(Path(sys.executable).parent / "textbench-reproduce")],
        [sys.executable, "-m", "textbench.cli.reproduce"],
    ):
        again = subprocess.run(
            [*command, "run", "--out", f"again{len(command)}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 0, again.stderr[-3000:]
        assert not marker.exists()


def test_report_links_and_reads_only_inside_its_sweep(tmp_path: Path) -> None:
    """Holes 10 and 11, and the crash: a job folder named like a `javascript:` URL links
    as a quoted relative path; an overrides.yaml linking to a file outside is not read; a
    YAML string is no list of overrides; digit and other folder names sort together."""
    from textbench.cli.report import main as report_main

    sweep = tmp_path / "sweep"
    secret = tmp_path / "secret.txt"
    secret.write_text("- TOP-SECRET-LINE\n")
    jobs = {"0": ["model=cnn"], "javascript:alert(1)": ["model=lstm"], "named": "model=boe"}
    for name, overrides in jobs.items():
        job = sweep / name
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        metrics = {"status": "completed", "best_val": {"val/acc": 0.5}, "test": {}}
        (job / "metrics.json").write_text(json.dumps(metrics))
    linked = sweep / "1"
    (linked / ".hydra").mkdir(parents=True)
    (linked / ".hydra" / "overrides.yaml").symlink_to(secret)
    report_main([str(sweep)])
    page = (sweep / "summary.html").read_text()
    assert 'href="javascript:' not in page and 'href="javascript%3Aalert%281%29/"' in page
    for name in ("summary.md", "summary.csv", "summary.html"):
        text = (sweep / name).read_text()
        assert "TOP-SECRET" not in text and "m o d e l" not in text
    summary = (sweep / "summary.csv").read_text()
    assert "model=boe" not in summary  # a string is not a list of overrides


def test_results_refuses_an_experiment_name_that_is_a_path(tmp_path: Path) -> None:
    """Hole 12: the name from a sweep's multirun.yaml becomes a file name."""
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import results
    finally:
        sys.path.pop(0)
    for name in ("../../escaped", "a/b", ".hidden", ".."):
        with pytest.raises(SystemExit, match="not a plain name"):
            results.experiment_of([f"experiment={name}"], tmp_path)
    assert results.experiment_of(["experiment=mr_cnn"], tmp_path) == "mr_cnn"


def test_label_names_reach_the_terminal_without_control_characters(
    checkpoint: dict, tmp_path: Path, capfd
) -> None:
    """Hole 13: a label named with an escape sequence prints without it."""
    crafted = copy.deepcopy(checkpoint)
    names = ["\x1b]0;pwned\x07neg\x1b[2J", "pos"]
    crafted["textbench"]["label_names"] = names
    crafted["hyper_parameters"]["label_names"] = names
    path = _save(crafted, tmp_path / "crafted.ckpt")
    eval_main([f"ckpt={path}", f"out={tmp_path / 'eval'}"])
    err = capfd.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "neg" in err


def test_interpolations_in_a_checkpoint_are_refused() -> None:
    with pytest.raises(ConfigError, match="interpolation"):
        check_targets({"data": {"train_file": "${oc.env:HOME}"}}, "x.ckpt")


def test_datasets_that_cannot_run_dataset_scripts() -> None:
    """`datasets` 4.0 removed dataset scripts; an older release would run a Hub data set's
    code when a config names it."""
    text = (ROOT / "pyproject.toml").read_text()
    assert '"datasets>=4.0"' in text


def test_every_target_in_the_configs_is_trusted() -> None:
    """The trust list and the configs stay in step: every `_target_` conf/ and
    experiments/ name is on it, and nothing else but Hydra's own defaults; a checkpoint's
    list is a part of it."""
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
    hydra_defaults = {t for t in TRUSTED_TARGETS if t.startswith("hydra._internal.")}
    assert named | hydra_defaults == set(TRUSTED_TARGETS)
    assert CHECKPOINT_TARGETS < TRUSTED_TARGETS


@pytest.mark.slow
def test_commands_refuse_a_crafted_checkpoint_in_one_sentence(
    checkpoint: dict, tmp_path: Path
) -> None:
    """From the command line: exit status 2, one sentence, no traceback, no marker."""
    marker = tmp_path / "marker"
    evil = copy.deepcopy(checkpoint)
    evil["hyper_parameters"]["label_names"] = gadget(marker)
    crafted = _save(evil, tmp_path / "crafted.ckpt")
    for module, args in (
        ("textbench.cli.predict", ["input=-"]),
        ("textbench.cli.evaluate", []),
        ("textbench.cli.export", []),
    ):
        result = subprocess.run(
            [sys.executable, "-m", module, f"ckpt={crafted}", *args],
            input="a film\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert result.returncode == 2, (module, result.stderr[-2000:])
        assert "uuid._get_command_stdout" in result.stderr and "Traceback" not in result.stderr
    result = run_cli(*SMALL_CNN, *TINY, f"ckpt_path={crafted}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "uuid._get_command_stdout" in result.stdout + result.stderr
    assert not marker.exists()


def test_a_checkpoint_written_by_an_earlier_release_still_loads() -> None:
    """tests/data/checkpoint_0.1.0_cnn.ckpt was written at ca6e1af, before textbench's
    modules moved: it loads through the same trust check and predicts as it did then."""
    import numpy as np

    import textbench

    expected = json.loads((ROOT / "tests" / "data" / "checkpoint_0.1.0_cnn.json").read_text())
    classifier = textbench.load(ROOT / "tests" / "data" / "checkpoint_0.1.0_cnn.ckpt")
    probabilities = classifier.predict_proba(expected["texts"])
    assert np.allclose(probabilities, expected["probabilities"], atol=1e-6)
