"""The README's Python snippets run as written, from the directory they imply (a project
root, where runs land in outputs/)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, TINY

pytestmark = pytest.mark.slow


def _python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_readme_python_snippets_run(tmp_path: Path) -> None:
    exported, api = _python_snippets()
    assert "textbench.train(" in api and "onnxruntime.InferenceSession(" in exported
    printed = _python(api, tmp_path).stdout  # also holds the run's own progress output
    (run,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    assert re.search(rf"^[01]\.\d+ outputs/train/runs/{run.name}$", printed, re.M)
    assert "\n['negative', 'positive']\n" in printed
    from textbench.cli.export import main as export

    export([f"ckpt={run}"])  # as `textbench-export ckpt=<run>`, in this process
    label = _python(exported.replace("<run>", run.name), tmp_path).stdout.split()[0]
    assert label in ("negative", "positive")


def _command_block(first: str) -> list[str]:
    """The README's indented command block that starts with the line `first`."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    " + first))
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line.split("  #")[0].strip())
    return block


def test_the_readme_commands_for_a_trained_model_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """ "Use what you trained": each command as printed, from a project root holding a run
    trained on the user's own CSV (so data.test_file means what the README says), called
    in-process through the same entry points as the console commands."""
    import io
    import shlex

    import pandas as pd

    from textbench.api import train
    from textbench.cli.evaluate import main as evaluate
    from textbench.cli.export import main as export
    from textbench.cli.predict import main as predict

    commands = {"textbench-eval": evaluate, "textbench-predict": predict}
    commands["textbench-export"] = export
    monkeypatch.chdir(tmp_path)
    words = ["good", "great", "bad", "awful", "film", "plot", "the", "a"]
    rows = [
        {"text": f"the film was {words[i % 4]} and {words[(i * 7) % 8]}", "label": i % 4 // 2}
        for i in range(400)
    ]
    pd.DataFrame(rows).to_csv("reviews.csv", index=False)
    pd.DataFrame(rows[:60]).to_csv("new_reviews.csv", index=False)
    Path("reviews.txt").write_text("a great film\nawful plot\n")
    run = "outputs/train/runs/readme"
    train(["data=files", "data.train_file=reviews.csv", "model=cnn", *TINY[2:]], run)

    block = _command_block("textbench-eval ckpt=outputs/train/runs/<run>")
    assert len(block) == 6
    for line in block:
        stdin = ""
        if " | " in line:
            echo, line = line.split(" | ")
            stdin = shlex.split(echo)[1] + "\n"
        line = line.replace("outputs/train/runs/<run>", run).replace("<run>", run)
        name, *args = shlex.split(line)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        commands[name](args)
    printed = capsys.readouterr().out
    assert (tmp_path / "eval-dev" / "metrics.json").is_file()
    assert len(list((tmp_path / "outputs" / "eval").glob("*/metrics.json"))) == 2
    assert len(pd.read_csv("predictions.csv")) == 2
    assert "a wonderful, moving film" in printed  # predict to standard output
    assert (tmp_path / run / "export" / "model.onnx").is_file()
