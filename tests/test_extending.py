"""A model defined outside textbench: trained through the user's own config folder, then
evaluated, used for predictions and exported from its checkpoint, trusted by name."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY, run_cli

pytestmark = pytest.mark.slow

ENCODER = '''
import torch
from torch import nn


class MeanEncoder(nn.Module):
    """The mean of the word embeddings: the smallest model textbench can train."""

    def __init__(self, vocab_size: int, pad_id: int = 0, embedding_dim: int = 32) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.output_dim = embedding_dim

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        summed = self.embedding(input_ids).sum(dim=1)
        return summed / lengths.clamp(min=1).unsqueeze(-1).to(summed.dtype)
'''

CONFIG = """_target_: textbench.models.classifier.TextClassifier
encoder:
  _target_: my_models.MeanEncoder
  _partial_: true
  embedding_dim: 16
head_dropout: 0.0
"""


def _command(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", f"textbench.{name}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_model_from_the_users_own_package(tmp_path: Path) -> None:
    (tmp_path / "my_models.py").write_text(ENCODER)
    (tmp_path / "my_conf" / "model").mkdir(parents=True)
    (tmp_path / "my_conf" / "model" / "mean.yaml").write_text(CONFIG)
    trained = run_cli(
        "model=mean",
        f"hydra.searchpath=[file://{tmp_path / 'my_conf'}]",
        "trust=[my_models]",
        *TINY,
        "hydra.run.dir=run",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["test"]["test/examples"] == 200

    # without trust the checkpoint is refused, in one sentence
    refused = _command("evaluate", "ckpt=run", "out=eval", cwd=tmp_path)
    assert refused.returncode == 2 and "my_models.MeanEncoder" in refused.stderr
    assert "Traceback" not in refused.stderr

    evaluated = _command("evaluate", "ckpt=run", "out=eval", "trust=[my_models]", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    scores = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert scores["acc"] == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)

    (tmp_path / "texts.txt").write_text("the film was good\nnot good at all\n")
    predicted = _command(
        "predict", "ckpt=run", "input=texts.txt", "trust=[my_models]", cwd=tmp_path
    )
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert len(predicted.stdout.splitlines()) == 2

    exported = _command("export", "ckpt=run", "out=export", "trust=[my_models]", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert json.loads((tmp_path / "export" / "export.json").read_text())["matches"]
