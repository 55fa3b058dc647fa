"""The command line end to end: sweeps, distributed runs, real data, an installed wheel."""

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from tests.support import ROOT, SHARED_DATA, make_cfg, needs_shared_data, run_cli

pytestmark = pytest.mark.slow
QUICK = [
    "debug=limit",
    "data.n_train=400",
    "data.n_test=200",
    "callbacks.model_summary=null",
]


def _job_metrics(sweep_root: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sweep_root.glob("outputs/train/multiruns/*/*/metrics.json")
    }


def test_a_failing_job_does_not_stop_the_sweep(tmp_path: Path) -> None:
    result = run_cli("-m", "model=cnn", "optimizer.lr=-1,0.001", *QUICK, cwd=tmp_path)
    assert result.returncode != 0
    assert "optimizer.lr=-1 is invalid" in result.stdout + result.stderr
    jobs = _job_metrics(tmp_path)
    assert list(jobs) == ["1"]
    assert jobs["1"]["status"] == "completed"


def test_two_runs_in_the_same_second_never_share_a_directory(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "textbench.cli.train",
        "debug=fdr",
        "model=cnn",
        "data.n_train=200",
        "data.n_test=50",
    ]
    runs = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=300) for p in runs] == [0, 0]
    assert len(list(tmp_path.glob("outputs/train/runs/*/metrics.json"))) == 2


def test_ddp_cpu_counts_each_example_once_and_keeps_buckets(tmp_path: Path) -> None:
    """Two gloo processes, two epochs: each rank takes whole length buckets; validation
    and test count every example exactly once and equal a one-process evaluation of the
    same checkpoint. The model is NBSVM, whose ratios must count each training example
    once too, although a rank's share repeats a batch to even out the steps."""
    result = run_cli(
        "trainer=ddp_cpu",
        "model=nbsvm",
        "model.encoder.buckets=1000",
        "trainer.max_epochs=2",
        "data.n_train=1000",
        "data.n_test=401",
        "callbacks.model_summary=null",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_val"]["val/examples"] == 100
    assert metrics["test"]["test/examples"] == 401
    assert metrics["epochs"] == 2 and "train_ddp_process_1.log" in os.listdir(run)
    # 900 training texts in batches of 64: 15 batches, 8 steps a rank (one batch repeated).
    assert metrics["global_step"] == 16
    assert metrics["data"]["padding_fraction"]["train"] < 0.1  # buckets kept, as logged
    evaluated = subprocess.run(
        [sys.executable, "-m", "textbench.cli.evaluate", f"ckpt={run}", "out=eval"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    single = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert single["examples"] == 401
    assert single["acc"] == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)
    assert single["f1"] == pytest.approx(metrics["test"]["test/f1"], abs=1e-6)
    # each rank's test predictions gathered: every test row once, as accurate as logged
    with (run / "test_predictions.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["row"]) for r in rows] == list(range(401))
    right = sum(r["label"] == r["predicted"] for r in rows) / 401
    assert right == pytest.approx(metrics["test"]["test/acc"], abs=1e-6)
    from hydra.utils import instantiate

    from textbench.inference.checkpoint import load_checkpoint
    from textbench.models.nbsvm import NBSVMEncoder

    cfg = make_cfg(tmp_path / "check", ["data.n_train=1000", "data.n_test=401"])
    data = instantiate(cfg.data, tokenizer=instantiate(cfg.tokenizer))
    data.setup()
    counted = NBSVMEncoder(data.vocab_size, 2, buckets=1000)
    counted.fit_ratios(data.whole_split_loader("train"))
    assert torch.equal(counted.ratio, load_checkpoint(run).model.encoder.ratio)


@needs_shared_data
def test_imdb_slice_trains_and_learns(tmp_path: Path) -> None:
    result = run_cli(
        "data=imdb",
        "model=cnn",
        "data.max_samples=3000",
        "data.max_length=200",
        "model.encoder.embedding_dim=64",
        "data.batch_size=32",  # 188 steps: test accuracy 0.66-0.72 over seeds 1, 2, 3, 42
        "trainer.max_epochs=2",
        "callbacks.model_summary=null",
        cwd=tmp_path,
        env={"TEXTBENCH_DATA_DIR": str(SHARED_DATA)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics_file,) = tmp_path.glob("outputs/train/runs/*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["data"]["label_names"] == ["neg", "pos"]
    assert metrics["test"]["test/examples"] == 3000
    assert metrics["test"]["test/acc"] > 0.6


def test_installed_wheel_finds_its_configs(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("textbench-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "textbench" / "conf" / "train.yaml").is_file()
    assert (site / "textbench" / "conf" / "experiment" / "imdb_cnn.yaml").is_file()
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-m", "textbench.cli.train", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "experiment: imdb_boe, imdb_cnn," in out.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import textbench.config as c; print(c.config_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(site / "textbench" / "conf")
