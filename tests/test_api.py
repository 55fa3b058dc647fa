"""The Python API: train from a notebook, load the run, predict as the command line does."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import textbench
from tests.support import TINY

pytestmark = pytest.mark.slow
TEXTS = ["the film was good", "although the plot was bad, the acting was great", ""]


def test_train_then_load_and_predict_like_the_command_line(tmp_path: Path) -> None:
    results = textbench.train(["model=cnn", *TINY], output_dir=tmp_path / "run")
    assert results["status"] == "completed" and results["output_dir"] == str(tmp_path / "run")
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk["test"] == results["test"] and results["test"]["test/examples"] == 200

    classifier = textbench.load(tmp_path / "run")
    assert classifier.label_names == on_disk["data"]["label_names"]
    predictions = classifier.predict(TEXTS, batch_size=2)
    assert [p.label for p in predictions] == [
        max(p.probabilities, key=p.probabilities.get) for p in predictions
    ]
    assert all(sum(p.probabilities.values()) == pytest.approx(1.0) for p in predictions)
    # the same numbers as textbench-predict on the same checkpoint
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    arguments = [f"ckpt={tmp_path / 'run'}", f"input={tmp_path / 'texts.txt'}", "output=out.jsonl"]
    cli = subprocess.run(
        [sys.executable, "-m", "textbench.cli.predict", *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for row, prediction in zip(rows, predictions, strict=True):
        assert row["label"] == prediction.label
        for name, p in prediction.probabilities.items():
            assert row["probabilities"][name] == pytest.approx(p, abs=1e-6)


def test_load_refuses_what_the_command_line_refuses(tmp_path: Path) -> None:
    from textbench.errors import ConfigError

    with pytest.raises((ConfigError, FileNotFoundError)):
        textbench.load(tmp_path / "no-such-run")


def test_the_train_command_does_not_hide_the_api_function() -> None:
    """The commands live in textbench.cli: importing the console script's module leaves
    `textbench.train` the Python API's function (a module of that name replaced it)."""
    import textbench
    import textbench.api
    import textbench.cli.train

    assert textbench.train is textbench.api.train
