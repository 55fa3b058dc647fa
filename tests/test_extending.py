"""A model defined outside textbench, as README's "Extending textbench" shows it: trained
through the user's own config folder, then evaluated, used for predictions and exported
from its checkpoint, trusted by name; the commands and the config are the README's own."""

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.support import ROOT, TINY, run_cli
from tests.test_readme import _command_block

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


def test_a_model_from_the_users_own_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from textbench.cli.evaluate import main as evaluate
    from textbench.cli.export import main as export
    from textbench.cli.predict import main as predict

    readme = (ROOT / "README.md").read_text()
    config = re.search(r"```yaml\n# my_conf/model/mean.yaml.*?\n(.*?)```", readme, re.S)[1]
    (tmp_path / "my_models.py").write_text(ENCODER)
    (tmp_path / "my_conf" / "model").mkdir(parents=True)
    (tmp_path / "my_conf" / "model" / "mean.yaml").write_text(config)
    (tmp_path / "texts.txt").write_text("the film was good\nnot good at all\n")
    block = _command_block("cd my_project")
    assert block[0] == "cd my_project" and len(block) == 5
    lines = [shlex.split(line.removeprefix("PYTHONPATH=. ")) for line in block[1:]]

    # training, as a user runs it: its own process, from the project folder
    assert lines[0][0] == "textbench-train"
    trained = run_cli(
        *lines[0][1:],
        *TINY,
        "hydra.run.dir=outputs/train/runs/mine",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = tmp_path / "outputs" / "train" / "runs" / "mine"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["test"]["test/examples"] == 200

    # the other commands in this process (the same entry points), from the project folder
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    commands = {"textbench-eval": evaluate, "textbench-predict": predict}
    commands["textbench-export"] = export
    ckpt = f"ckpt={run}"

    # without trust the checkpoint is refused, in one sentence
    with pytest.raises(SystemExit) as refused:
        evaluate([ckpt, "out=refused"])
    assert refused.value.code == 2
    assert "my_models.MeanEncoder" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()

    for name, *args in lines[1:]:
        commands[name]([ckpt if a.startswith("ckpt=") else a for a in args])
    (scores,) = (tmp_path / "outputs" / "eval").glob("*/metrics.json")
    assert json.loads(scores.read_text())["acc"] == pytest.approx(
        metrics["test"]["test/acc"], abs=1e-6
    )
    assert len([r for r in capsys.readouterr().out.splitlines() if '"label"' in r]) == 2
    assert json.loads((run / "export" / "export.json").read_text())["matches"]
