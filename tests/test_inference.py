"""Using a trained model: evaluate, predict, export; safe loading; failure handling."""

import copy
import csv
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import ROOT, SMALL, TINY, make_cfg, run_cli
from textbench.cli.evaluate import main as eval_main
from textbench.cli.export import main as export_main
from textbench.cli.predict import main as predict_main
from textbench.errors import ConfigError
from textbench.inference.checkpoint import load_checkpoint
from textbench.inference.probabilities import predict_texts
from textbench.training.callbacks import NonFiniteLossError
from textbench.training.run import train


@pytest.fixture(scope="module")
def runs(trained_run) -> dict[str, Path]:
    """One small trained run per model, shared by the session (tests/conftest.py)."""
    return {model: trained_run(model) for model in SMALL}


def test_eval_reproduces_the_runs_test_metrics(runs: dict[str, Path], tmp_path: Path) -> None:
    metrics = json.loads((runs["cnn"] / "metrics.json").read_text())
    eval_main([f"ckpt={runs['cnn']}", f"out={tmp_path}"])
    results = json.loads((tmp_path / "metrics.json").read_text())
    assert results["acc"] == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)
    assert results["f1"] == pytest.approx(metrics["test"]["test/f1"], abs=1e-6)
    assert sum(c["support"] for c in results["per_class"].values()) == results["examples"] == 200
    for name in ("confusion_matrix.csv", "confusion_matrix.png", "misclassified.jsonl"):
        assert (tmp_path / name).is_file()
    wrong = [json.loads(line) for line in (tmp_path / "misclassified.jsonl").open()]
    assert len(wrong) == round((1 - results["acc"]) * 200)
    assert all(w["label"] != w["predicted"] for w in wrong)


def test_eval_takes_data_overrides_and_refuses_unknown_keys(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    eval_main([f"ckpt={runs['cnn']}", f"out={tmp_path}", "data.n_test=120", "split=test"])
    assert json.loads((tmp_path / "metrics.json").read_text())["examples"] == 120
    with pytest.raises(SystemExit) as exit_info:
        eval_main([f"ckpt={runs['cnn']}", "data.no_such_key=1"])
    assert exit_info.value.code == 2


def test_predict_files_in_input_order(runs: dict[str, Path], tmp_path: Path) -> None:
    texts = ["the film was not bad.", "", "the plot was awful 😀 — ünïcödé", "x " * 50_000]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"review": t}) + "\n" for t in texts))
    predict_main(
        [f"ckpt={runs['lstm']}", f"input={tmp_path / 'in.txt'}", f"output={tmp_path / 'out.csv'}"]
    )
    predict_main(
        [
            f"ckpt={runs['lstm']}",
            f"input={tmp_path / 'in.jsonl'}",
            "text_column=review",
            f"output={tmp_path / 'out.jsonl'}",
            "batch_size=1",
        ]
    )
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").open()]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert [r["text"] for r in rows] == texts
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0].startswith("index,label,p_negative,p_positive")
    assert len(lines) == 5
    loaded = load_checkpoint(runs["lstm"])
    one_by_one = [predict_texts(loaded, [t])[0] for t in texts]
    for row, alone in zip(rows, one_by_one, strict=True):
        assert list(row["probabilities"].values()) == pytest.approx(alone.tolist(), abs=1e-5)
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-4


def test_predict_reads_standard_input_without_loading_lightning(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Prediction rebuilds only the network (TextNetwork): Lightning, torchmetrics and
    datasets, seconds of imports, are never loaded, and the numbers are the same."""
    code = (
        "import sys\nfrom textbench.cli.predict import main\n"
        f"main(['ckpt={runs['cnn']}', 'input=-'])\n"
        "heavy = {'lightning', 'torchmetrics', 'datasets', 'transformers'}\n"
        "print(sorted(heavy & set(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input="good film\n\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["good film", ""]
    trained = torch.load(Path(runs["cnn"]) / "checkpoints" / "last.ckpt", weights_only=True)
    loaded = load_checkpoint(runs["cnn"])
    assert type(loaded.model).__name__ == "TextNetwork"
    assert set(loaded.model.state_dict()) == set(trained["state_dict"])


def test_a_pretrained_encoder_loads_from_the_architecture_its_checkpoint_carries(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Loading reads no model folder and downloads nothing: the encoder is rebuilt from
    the model config in the checkpoint (a name_or_path pointing elsewhere is never read);
    a checkpoint written before it carried one reads config.json from the local folder."""
    checkpoint = torch.load(runs["pretrained"] / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["textbench"]["encoder_architecture"]["model_type"] == "bert"
    expected = predict_texts(load_checkpoint(runs["pretrained"]), ["a good film"])
    moved = copy.deepcopy(checkpoint)
    moved["textbench"]["config"]["model"]["encoder"]["name_or_path"] = "/nowhere/at/all"
    torch.save(moved, tmp_path / "moved.ckpt")
    assert predict_texts(load_checkpoint(tmp_path / "moved.ckpt"), ["a good film"]) == (
        pytest.approx(expected, abs=1e-6)
    )
    older = copy.deepcopy(checkpoint)
    del older["textbench"]["encoder_architecture"]
    torch.save(older, tmp_path / "older.ckpt")
    assert predict_texts(load_checkpoint(tmp_path / "older.ckpt"), ["a good film"]) == (
        pytest.approx(expected, abs=1e-6)
    )
    del moved["textbench"]["encoder_architecture"]
    torch.save(moved, tmp_path / "older_moved.ckpt")
    with pytest.raises(ConfigError, match="offline"):
        load_checkpoint(tmp_path / "older_moved.ckpt")


def test_nbsvm_checkpoint_carries_ratios_counted_on_the_training_split_only(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """The ratios were counted once, before training, from the training split's batches
    (not validation or test): a fresh count over them gives the checkpoint's ratios."""
    from hydra.utils import instantiate

    from textbench.models.nbsvm import NBSVMEncoder

    loaded = load_checkpoint(runs["nbsvm"]).model.encoder
    assert bool(loaded.fitted) and loaded.ratio.abs().sum() > 0 and loaded.weight.abs().sum() > 0
    cfg = make_cfg(tmp_path, ["model=nbsvm", *TINY, *SMALL["nbsvm"]])
    data = instantiate(cfg.data, tokenizer=instantiate(cfg.tokenizer))
    data.setup()
    counted = {}
    for split in ("train", "validation"):
        counted[split] = NBSVMEncoder(data.vocab_size, 2, buckets=1000)
        counted[split].fit_ratios(data.whole_split_loader(split))
    assert torch.equal(counted["train"].ratio, loaded.ratio)
    assert not torch.equal(counted["validation"].ratio, loaded.ratio)


@pytest.mark.parametrize("model", list(SMALL))
def test_onnx_export_matches_pytorch_in_onnxruntime(
    runs: dict[str, Path], tmp_path: Path, model: str
) -> None:
    export_main([f"ckpt={runs[model]}", f"out={tmp_path}"])  # format=onnx by default
    info = json.loads((tmp_path / "export.json").read_text())
    assert info["format"] == "onnx" and info["matches"] and info["max_abs_difference"] <= 1e-5
    assert info["checked_texts"] == 200 and info["checked_batches"] == 5  # 1 alone + 4 of 64
    # The documented way to run it: onnxruntime plus the tokenizers library only, any
    # batch size and length (dynamic axes).
    import onnxruntime
    from tokenizers import Tokenizer

    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    tokenizer = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    texts = ["the film was good", "although the plot was bad the acting was great and fun"]
    tokenizer.enable_padding(pad_id=info["pad_id"])
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    lengths = np.array([sum(e.attention_mask) for e in encodings], dtype=np.int64)
    probs = session.run(None, {"input_ids": ids, "lengths": lengths})[0]
    expected = predict_texts(load_checkpoint(runs[model]), texts)
    assert probs == pytest.approx(expected, abs=1e-5)


def test_torchscript_export_still_matches(runs: dict[str, Path], tmp_path: Path) -> None:
    export_main([f"ckpt={runs['lstm']}", f"out={tmp_path}", "format=torchscript"])
    info = json.loads((tmp_path / "export.json").read_text())
    assert info["format"] == "torchscript" and info["matches"]
    from tokenizers import Tokenizer

    scripted = torch.jit.load(str(tmp_path / "model.pt"))
    encoding = Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode("the film was good")
    probs = scripted(torch.tensor([encoding.ids]), torch.tensor([len(encoding.ids)]))
    expected = predict_texts(load_checkpoint(runs["lstm"]), ["the film was good"])
    assert probs.detach().numpy() == pytest.approx(expected, abs=1e-5)


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_checkpoint_with_a_pickled_payload_is_refused(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    checkpoint = torch.load(runs["cnn"] / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["payload"] = _Payload()
    with (tmp_path / "evil.ckpt").open("wb") as f:
        pickle.dump(checkpoint, f)
    with pytest.raises(ConfigError, match=r"Refused to load .*evil\.ckpt: it holds pickled"):
        load_checkpoint(tmp_path / "evil.ckpt")
    assert not (tmp_path / "PWNED").exists()


def test_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    cfg = make_cfg(
        tmp_path,
        [
            "model=cnn",
            *TINY,
            *SMALL["cnn"],
            "trainer.max_epochs=3",
            "+callbacks.poison._target_=tests.helpers.PoisonAtStep",
            "+callbacks.poison.step=12",
        ],
    )
    with pytest.raises(NonFiniteLossError, match="The training loss became nan at epoch 1"):
        train(cfg)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())
    assert json.loads((tmp_path / "manifest.json").read_text())["status"] == "failed"
    assert not (tmp_path / "metrics.json").exists()


def test_unwritable_output_directory_fails_before_training(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not writable"):
        train(make_cfg(tmp_path / "file" / "run", ["model=cnn", *TINY]))


@pytest.mark.slow
def test_ctrl_c_leaves_a_checkpoint_that_resumes(tmp_path: Path) -> None:
    """Ctrl-C mid-epoch (at step 15 of 9-step epochs): exit status 130, a message with the
    exact resume command, and `interrupted.ckpt`, from which training goes on at that
    step with the best validation result so far, not from the start."""
    common = [*SMALL["cnn"], "model=cnn", *TINY[:2], "callbacks.model_summary=null"]
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    interrupted = run_cli(
        *common,
        "trainer.max_epochs=3",
        "hydra.run.dir=run",
        "+callbacks.stop._target_=tests.helpers.InterruptAtStep",
        "+callbacks.stop.step=15",
        cwd=tmp_path,
        env=env,
    )
    assert interrupted.returncode == 130, interrupted.stderr[-2000:]
    output = interrupted.stdout + interrupted.stderr
    run = tmp_path / "run"
    assert f"hydra.run.dir={run} resume=true" in output and "Traceback" not in output
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"
    saved = torch.load(run / "checkpoints" / "interrupted.ckpt", weights_only=True)
    assert (saved["epoch"], saved["global_step"]) == (1, 15)
    assert saved["best_val"]["epoch"] == 0  # epoch 0 was validated before the interrupt
    resumed = run_cli(
        *common,
        "trainer.max_epochs=3",
        "hydra.run.dir=resumed",
        f"ckpt_path={run / 'checkpoints' / 'interrupted.ckpt'}",
        "trust=[tests.helpers]",  # the checkpoint's config names the test's own callback
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert metrics["global_step"] == 27 and metrics["epochs"] == 3  # 12 steps after 15
    assert metrics["best_val"]["val/acc"] >= saved["best_val"]["val/acc"]
    with (tmp_path / "resumed" / "csv" / "metrics.csv").open() as f:
        epochs = {row["epoch"] for row in csv.DictReader(f) if row.get("val/acc")}
    assert epochs == {"1", "2"}  # epoch 0 was not trained again


def test_predict_input_lines_end_only_at_newlines(tmp_path: Path) -> None:
    """Output line i answers input line i, also when a text holds a form feed, NEL or
    U+2028 (which str.splitlines would break at)."""
    from textbench.data.text_files import read_texts

    texts = ["page one\x0cpage two", "", "next\x85line", "para\u2029graph and\u2028more"]
    (tmp_path / "in.txt").write_bytes(("\r\n".join(texts) + "\n").encode())
    assert read_texts(str(tmp_path / "in.txt")) == texts
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    (tmp_path / "in.jsonl").write_text(lines.replace("\\u2028", "\u2028"))
    assert read_texts(str(tmp_path / "in.jsonl")) == texts
