"""The command line: help, start-up cost, and clear errors for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, TINY, make_cfg, run_cli


def test_help_lists_every_group_and_its_options(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for line in (
        "model: boe, cnn, lstm, pretrained, transformer",
        "optimizer: adam, adamw, sgd",
        "scheduler: cosine, linear, none, plateau",
        "debug: fdr, limit, overfit, profiler",
    ):
        assert line in result.stdout
    for group in ("data:", "trainer:", "logger:", "callbacks:", "paths:", "experiment:"):
        assert group in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_cli_module_does_not_import_heavy_libraries() -> None:
    heavy = "{'torch', 'lightning', 'datasets'}"
    code = f"import sys, textbench.train; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is invalid: it must be a positive number"),
        ("data.max_length=0", "data.max_length=0 is invalid: it must be a positive integer"),
        (
            "model.encoder.pooling=median",
            "model.encoder.pooling='median' is not allowed here; choose one of last, max, mean",
        ),
        ("data.val_fraction=1.5", "data.val_fraction=1.5 must lie strictly between 0 and 1"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 with train=true trains nothing"),
        (
            "embeddings.init=xavier",
            "embeddings.init='xavier' is not allowed here; choose one of auto, uniform, normal, "
            "pytorch",
        ),
    ],
)
def test_invalid_values_fail_with_one_clear_sentence(
    tmp_path: Path, override: str, expected: str
) -> None:
    result = run_cli(override, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("outputs/train/runs/*/metrics.json"))


@pytest.mark.parametrize(
    ("override", "expected"),
    [("modle=cnn", "Key 'modle' is not in struct"), ("model=rnn", "Could not find 'model/rnn'")],
)
def test_unknown_keys_and_options_fail_before_data_loads(
    tmp_path: Path, override: str, expected: str
) -> None:
    result = run_cli(override, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr
    assert not list(tmp_path.glob("outputs/train/runs/*/manifest.json"))


def test_test_classes_unseen_in_train_are_an_error(tmp_path: Path) -> None:
    imdb = tmp_path / "data" / "imdb"
    imdb.mkdir(parents=True)
    texts = [f"text number {i}" for i in range(40)]
    pd.DataFrame({"text": texts, "label": [i % 2 for i in range(40)]}).to_parquet(
        imdb / "train.parquet"
    )
    pd.DataFrame({"text": texts[:9], "label": [0, 1, 2] * 3}).to_parquet(imdb / "test.parquet")
    result = run_cli(
        "data=imdb",
        "data.label_names=null",
        *TINY[2:],
        cwd=tmp_path,
        env={"TEXTBENCH_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "The test split has labels ['2'] that never occur in train" in result.stdout
    manifest = json.loads(next(tmp_path.glob("outputs/train/runs/*/manifest.json")).read_text())
    assert manifest["status"] == "failed"
    assert not list(tmp_path.glob("outputs/train/runs/*/metrics.json"))


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir"])
def test_an_impossible_output_directory_is_one_sentence(tmp_path: Path, key: str) -> None:
    args = ["-m", "model=cnn"] if key == "hydra.sweep.dir" else []
    result = run_cli(*args, f"{key}=/proc/textbench/x", cwd=tmp_path)
    assert result.returncode == 2
    assert "the output directory /proc/textbench/x cannot be created or written" in result.stderr
    assert f"{key}=DIR" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
)
def test_every_experiment_composes_and_passes_the_checks(tmp_path: Path, experiment: str) -> None:
    """The saved experiments stay valid as the config grows; MR ones are cross-validated."""
    from textbench.checks import check_config

    cfg = make_cfg(tmp_path, [f"experiment={experiment}"])
    check_config(cfg)
    assert (cfg.cv.folds == 10) == experiment.startswith("mr_")


def test_a_run_tells_its_story_in_a_few_lines(tmp_path: Path) -> None:
    """What it trains (groups, overrides, where the config is), progress, a summary with
    whole paths; no Lightning tips or third-party deprecation notices."""
    result = run_cli("model=cnn", *TINY, "hydra.run.dir=" + "deep/" * 12 + "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    lines = console.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("textbench-train: "))
    assert lines[start].startswith("textbench-train: data=wordorder tokenizer=word model=cnn")
    assert lines[start + 1] == "overrides: model=cnn " + " ".join(TINY)
    for noise in ("Tip", "GPU available", "is deprecated", "was configured so", "embedding_dim:"):
        assert noise not in console
    run = str(tmp_path / ("deep/" * 12) / "run")
    assert f"outputs:     {run}" in lines  # long paths stay on one line
    assert "Tip" in (tmp_path / ("deep/" * 12) / "run" / "train.log").read_text()


def test_verbose_prints_the_whole_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from textbench.console import print_config

    cfg = make_cfg(tmp_path, ["model=cnn", "verbose=true"])
    print_config(cfg, tmp_path)
    printed = capsys.readouterr().err
    assert "kernel_sizes:" in printed and "max_epochs:" in printed
