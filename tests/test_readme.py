"""The README's Python snippets run as written, from the directory they imply (a project
root, where runs land in outputs/)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

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
    export = subprocess.run(
        [sys.executable, "-m", "textbench.export", f"ckpt={run}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert export.returncode == 0, export.stderr[-3000:]
    label = _python(exported.replace("<run>", run.name), tmp_path).stdout.split()[0]
    assert label in ("negative", "positive")
