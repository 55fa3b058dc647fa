"""The command line: help, start-up cost, and clear errors for bad input."""

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support import ROOT, TINY, make_cfg, run_cli


def test_help_lists_every_group_and_its_options(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for line in (
        "model: boe, cnn, lstm, nbsvm, pretrained, transformer",
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
    code = f"import sys, textbench.cli.train; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is invalid: it must be a positive number."),
        (
            "model.encoder.pooling=median",
            "model.encoder.pooling='median' is invalid: it must be one of last, max, mean.",
        ),
        (
            "model.encoder.hidden_size=big",
            "model.encoder.hidden_size='big' is invalid: it must be an integer.",
        ),
        ("modle=cnn", "Could not override 'modle'. To append to your config use +modle=cnn."),
        (
            "model=rnn",
            "Could not find 'model/rnn'. Available options in 'model': boe, cnn, lstm, "
            "nbsvm, pretrained, transformer",
        ),
        ("data=files", "data.train_file has no value; give one on the command line"),
    ],
)
@pytest.mark.slow
def test_config_mistakes_are_one_sentence_before_anything_loads(
    tmp_path: Path, override: str, expected: str
) -> None:
    """The command line path: exit status 2, one line on stderr, no run directory."""
    result = run_cli(override, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == f"error: {result.stderr[7:]}" and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not list(tmp_path.glob("outputs/train/runs/*/manifest.json"))


@pytest.mark.slow
def test_a_mistake_found_while_building_an_object_is_one_sentence(tmp_path: Path) -> None:
    """Hydra's instantiate wraps what a constructor raises; the user still gets our one
    sentence and exit status 2 (here the tokenizer's missing corpus file)."""
    result = run_cli(
        "embeddings.word2vec=true",
        "embeddings.word2vec_corpus=[nowhere.txt]",
        "embeddings.word2vec_corpus_vocab=true",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Error in call to target" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: embeddings.word2vec_corpus: 'nowhere.txt' does not exist; give text files "
        "(one text a line), CSV/TSV/JSONL or Parquet files with a 'text' column."
    )


def test_two_hydra_modes_at_once_are_one_sentence(tmp_path: Path) -> None:
    result = run_cli("-m", "model=cnn,lstm", "--cfg", "job", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: Only one of --run, --multirun, --cfg")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data.max_length=0"], "data.max_length=0 is invalid: it must be a positive integer."),
        (["data.val_fraction=1.5"], "data.val_fraction=1.5 is invalid: it must be a number "),
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 with train=true trains nothing"),
        (["refit=true", "train=false"], "refit=true trains again after the fit, so it needs"),
        (["embeddings.init=xavier"], "one of auto, uniform, normal, pytorch."),
        (["embeddings.word2vec=true", "embeddings.path=v.txt"], "(choose one)"),
        (["embeddings.word2vec_corpus=[a.txt]"], "empty unless embeddings.word2vec=true"),
        (["embeddings.word2vec_epochs=0"], "embeddings.word2vec_epochs=0 is invalid: it must"),
        (["embeddings.word2vec_window=8"], "must be 5 (the default) unless embeddings.word2vec"),
        (
            ["embeddings.word2vec=true", "embeddings.word2vec_corpus_vocab=true"],
            "false unless embeddings.word2vec_corpus names the files",
        ),
        (
            [
                "tokenizer=bpe",
                "embeddings.word2vec=true",
                "embeddings.word2vec_corpus=[a.txt]",
                "embeddings.word2vec_corpus_vocab=true",
            ],
            "adds corpus words to a word vocabulary; use tokenizer=word",
        ),
        (["model=nbsvm", "model.encoder.alpha=0"], "model.encoder.alpha=0 is invalid: it"),
        (["model=cnn", "model.encoder.kernel_sizes=[3,0]"], "a non-empty list of positive"),
        (["model=cnn", "model.encoder.kernel_sizes=[3,x]"], "must be a list of integers."),
        (["model=transformer", "model.encoder.nhead=3"], "a multiple of nhead=3"),
        (["+model.encoder.hiden_size=3"], "model.encoder.hiden_size is not a setting of "),
        (["optimizer.betas=[0.9]"], "optimizer.betas=[0.9] is invalid: it must be two numbers"),
        (["optimizer=sgd", "optimizer.momentum=0", "optimizer.nesterov=true"], "Nesterov"),
        (["scheduler=plateau", "scheduler.factor=2"], "scheduler.factor=2 is invalid"),
        (["tokenizer=bpe", "tokenizer.vocab_size=-5"], "tokenizer.vocab_size=-5 is invalid"),
        (["cv.folds=10", "cv.fold=10"], "cv.fold=10 is invalid: it must be from 0 to 9"),
        (["loss.label_smoothing=1"], "loss.label_smoothing=1 is invalid"),
        (["num_threads=0"], "num_threads=0 is invalid: it must be a positive integer."),
        (["monitor_mode=up"], "monitor_mode='up' is invalid: it must be one of min, max."),
    ],
)
def test_the_schema_rejects_bad_values_when_composed(
    tmp_path: Path, overrides: list[str], expected: str
) -> None:
    """Types (OmegaConf structured configs), ranges and choices (the dataclasses), for each
    config group, checked right after composition (`textbench.schema.validate`)."""
    from textbench.errors import ConfigError
    from textbench.schema import validate

    cfg = make_cfg(tmp_path, overrides)
    with pytest.raises(ConfigError) as refused:
        validate(cfg, "train")
    assert expected in str(refused.value)


COMMANDS = {
    "eval": "textbench.cli.evaluate",
    "predict": "textbench.cli.predict",
    "export": "textbench.cli.export",
}


REFUSALS = [
    ("eval", [], "ckpt has no value; give one on the command line (ckpt=...)."),
    ("eval", ["ckpt=nowhere", "split=dev"], "split='dev' is invalid: it must be one of"),
    ("eval", ["ckpt=nowhere", "batch_size=0"], "batch_size=0 is invalid"),
    ("eval", ["ckpt=nowhere"], "ckpt='nowhere' does not exist"),
    ("predict", ["ckpt=nowhere"], "input has no value"),
    ("predict", ["ckpt=nowhere", "input=-", "colour=red"], "Could not override 'colour'"),
    ("export", ["ckpt=nowhere", "format=tflite"], "one of onnx, torchscript."),
    ("export", ["ckpt=nowhere", "max_texts=many"], "max_texts='many' is invalid"),
]


def test_inference_commands_refuse_bad_settings_before_loading_torch(tmp_path: Path) -> None:
    """eval, predict and export are Hydra apps with the same one-sentence errors as
    textbench-train, given before torch, Lightning or datasets are imported (that is what
    makes them answer within a second). One interpreter runs every case, as the console
    commands would, and reports each one's exit status and standard error."""
    code = """
import contextlib, io, json, sys
from textbench.cli.evaluate import main as eval
from textbench.cli.export import main as export
from textbench.cli.predict import main as predict
results = []
for command, args in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            globals()[command](args)
            code = 0
        except SystemExit as exit:
            code = exit.code
    results.append([code, err.getvalue()])
heavy = sorted({"torch", "lightning", "datasets"} & set(sys.modules))
print(json.dumps({"results": results, "heavy": heavy}))
"""
    cases = json.dumps([[command, args] for command, args, _ in REFUSALS])
    result = subprocess.run(
        [sys.executable, "-c", code, cases], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["heavy"] == []
    for (command, args, expected), (code, err) in zip(REFUSALS, answer["results"], strict=True):
        assert code == 2, (command, args, err)
        assert err.startswith("error: ") and expected in err, (command, args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
def test_inference_commands_have_help_and_print_their_config(
    tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import importlib

    module = {"eval": "evaluate"}.get(command, command)
    main = importlib.import_module(f"textbench.cli.{module}").main
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as shown:
        main(["--help"])
    help_text = capsys.readouterr().out
    assert shown.value.code in (0, None) and f"textbench-{command}:" in help_text
    assert "ckpt: ???" in help_text and "trust: []" in help_text
    main(["--cfg", "job", "ckpt=run", "trust=[my.models]"])
    job = capsys.readouterr().out
    assert "ckpt: run" in job and "- my.models" in job
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
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
    assert "The test split has labels ['2'] that never occur in train" in result.stderr
    manifest = json.loads(next(tmp_path.glob("outputs/train/runs/*/manifest.json")).read_text())
    assert manifest["status"] == "failed"
    assert not list(tmp_path.glob("outputs/train/runs/*/metrics.json"))


@pytest.mark.slow
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
    from textbench.schema import validate

    cfg = make_cfg(tmp_path, [f"experiment={experiment}"])
    validate(cfg, "train")
    assert (cfg.cv.folds == 10) == experiment.startswith("mr_")


@pytest.mark.slow
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
    for noise in (
        "Tip",
        "GPU available",
        "is deprecated",
        "was configured so",
        "Seed set to",  # the first line gives the seed
        "Test metric",  # Lightning's test table: the summary has a test column
        "embedding_dim:",
        "val/examples",  # the progress bar shows what moves
        "`Trainer.fit` stopped",  # the summary gives the epochs
    ):
        assert noise not in console
    run = str(tmp_path / ("deep/" * 12) / "run")
    assert f"outputs:     {run}" in lines  # long paths stay on one line
    assert "Tip" in (tmp_path / ("deep/" * 12) / "run" / "train.log").read_text()
    assert "Name" not in console  # callbacks.model_summary=null: no summary, not Lightning's


def test_the_console_drops_cache_details_but_not_cache_warnings() -> None:
    """The Data line says "tokens hit"; the cache entry's path is for the log file."""
    from textbench.console import _DropNoise

    def record(level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord("textbench.data.cache", level, __file__, 1, message, None, None)

    console = _DropNoise()
    assert not console.filter(record(logging.INFO, "Token cache hit: /cache/tokens/ab12"))
    assert console.filter(record(logging.WARNING, "Token cache not written (disk full)"))


@pytest.mark.slow
def test_the_model_summary_is_one_line_that_counts_what_is_trained(tmp_path: Path) -> None:
    """The console gets the model's size in one line, its layers go to train.log; with the
    encoder frozen (+model.freeze=true) only the head's parameters count as trained."""
    tiny = [o for o in TINY if not o.startswith("callbacks.model_summary")]
    result = run_cli("model=cnn", "+model.freeze=true", *tiny, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    count = r"([\d.]+ ?[KMB]?)"
    pattern = rf"model:     {count} parameters, {count} trained \(layers in train.log\)"
    sizes = re.findall(pattern, console)
    assert len(sizes) == 1, console[-3000:]
    total, trained = (_count(text) for text in sizes[0])
    assert 0 < trained < total / 10, sizes  # the head only; the embeddings hold the most
    assert "Name" not in console
    assert "| Name" in (tmp_path / "run" / "train.log").read_text()


def _count(text: str) -> float:
    """A count as Lightning writes it ("6.2 M") as a number."""
    number, _, unit = text.partition(" ")
    return float(number) * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[unit]


def test_verbose_prints_the_whole_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from textbench.console import print_config

    cfg = make_cfg(tmp_path, ["model=cnn", "verbose=true"])
    print_config(cfg, tmp_path)
    printed = capsys.readouterr().err
    assert "kernel_sizes:" in printed and "max_epochs:" in printed
