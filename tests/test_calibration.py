"""calibrate=temperature: one temperature fitted on validation, carried by the best
checkpoint and applied by test, eval, predict and export; ECE in every run's metrics and
a reliability diagram beside them."""

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import SMALL, TINY, make_cfg
from textbench.errors import ConfigError
from textbench.training.calibration import fit_temperature


def test_fit_temperature_recovers_the_temperature_that_made_the_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(20_000, 3, generator=generator) * 2
    labels = torch.multinomial(true_logits.softmax(-1), 1, generator=generator).squeeze(1)
    assert fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(true_logits / 2, labels) == pytest.approx(0.5, rel=0.05)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from textbench.training.run import train

    run = tmp_path_factory.mktemp("calibrated")
    train(make_cfg(run, ["model=cnn", *TINY, *SMALL["cnn"], "calibrate=temperature"]))
    return run


def test_the_temperature_is_fitted_on_validation_and_recorded(calibrated: Path) -> None:
    metrics = json.loads((calibrated / "metrics.json").read_text())
    calibration = metrics["calibration"]
    assert calibration["method"] == "temperature" and calibration["temperature"] > 0
    assert calibration["temperature"] != pytest.approx(1.0, abs=1e-3)
    # T = 1 is one of the candidates, so the fitted one is never worse on validation
    assert calibration["val_loss_after"] <= calibration["val_loss_before"] + 1e-6
    assert calibration["val_examples"] == metrics["data"]["sizes"]["validation"]
    checkpoint = torch.load(metrics["best_checkpoint"], weights_only=True)
    assert checkpoint["textbench"]["temperature"] == pytest.approx(calibration["temperature"])
    assert "val/ece" in metrics["best_val"] and "test/ece" in metrics["test"]
    assert (calibrated / "reliability.png").stat().st_size > 0


def _recorded_test_probabilities(run: Path) -> np.ndarray:
    with open(run / "test_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[k]) for k in r if k.startswith("p_")] for r in rows])


def test_eval_predict_and_export_apply_the_temperature(calibrated: Path, tmp_path: Path) -> None:
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.exporting import export_model
    from textbench.inference.probabilities import predict_encoded
    from textbench.inference.scoring import build_data

    loaded = load_checkpoint(calibrated)
    data = build_data(loaded)
    test = data.splits["test"]
    recorded = _recorded_test_probabilities(calibrated)
    probabilities = predict_encoded(loaded, test)
    assert probabilities == pytest.approx(recorded, abs=2e-6)
    texts = data.split_texts("test", 50)
    info = export_model(loaded, texts, tmp_path / "export", "onnx")
    assert info["matches"]
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "export" / "model.onnx"))
    ids = loaded.tokenizer.encode_batch(texts[:1], loaded.max_length)
    onnx = session.run(
        None,
        {"input_ids": np.array(ids, dtype=np.int64), "lengths": np.array([len(ids[0])])},
    )[0]
    assert onnx[0] == pytest.approx(probabilities[data_index(data, texts[0])], abs=1e-5)
    loaded.model.temperature.fill_(1.0)  # without it the scores differ, labels do not
    plain = predict_encoded(loaded, test)
    assert np.abs(plain - recorded).max() > 1e-3
    assert (plain.argmax(1) == recorded.argmax(1)).all()


def data_index(data, text: str) -> int:
    return data.split_texts("test", None).index(text)


def test_calibration_needs_validation_it_has_not_trained_on(tmp_path: Path) -> None:
    from textbench.schema import validate

    for overrides in (["refit=true"], ["train=false", "ckpt_path=x.ckpt"]):
        cfg = make_cfg(tmp_path, ["calibrate=temperature", *overrides])
        with pytest.raises(ConfigError, match="calibrate=temperature fits on validation"):
            validate(cfg, "train")


@pytest.mark.parametrize("temperature", [-1.0, float("nan"), "2", 0.0])
def test_a_checkpoint_with_a_bad_temperature_is_refused(
    calibrated: Path, tmp_path: Path, temperature
) -> None:
    from textbench.inference.checkpoint import load_checkpoint

    best = json.loads((calibrated / "metrics.json").read_text())["best_checkpoint"]
    crafted = copy.deepcopy(torch.load(best, weights_only=True))
    crafted["textbench"]["temperature"] = temperature
    torch.save(crafted, tmp_path / "crafted.ckpt")
    with pytest.raises(ConfigError, match="temperature"):
        load_checkpoint(tmp_path / "crafted.ckpt")
