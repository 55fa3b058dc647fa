"""The benchmark scripts run (tiny sizes); their timings are never asserted."""

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, SHARED_DATA, needs_shared_data

# bench/run.py --quick, section by section (so that test workers share them out): the
# headings each writes to RESULTS.md and a row it must hold
SECTIONS = {
    "overhead,efficiency": [
        ("Overhead: textbench vs a plain PyTorch loop", "| cnn |"),
        ("CPU efficiency: CNN training FLOP/s", "CNN training"),
    ],
    "startup": [
        ("Start-up", "| `textbench-predict`, one text, launch → exit |"),
        ("Start-up", "| `textbench-eval --help` |"),
        ("Start-up", "| `textbench-export --help` |"),
    ],
    "sweep": [("Sweep parallelism", "| tiny |")],
    "gpu": [("GPU: bf16-mixed vs fp32", "GPU")],
    "pruning": [("Optuna pruning", "| median |"), ("Optuna pruning", "| none |")],
    "workers": [("Optuna workers on one study", "|")],
}


@pytest.mark.slow
@pytest.mark.parametrize("only", list(SECTIONS))
def test_bench_runs_on_tiny_sizes(tmp_path: Path, only: str) -> None:
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only",
            only,
            "--results",
            str(results),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    text = results.read_text()
    for heading, row in SECTIONS[only]:
        section = text.split(f"## {heading}", 1)[1]
        assert row in section.split("\n## ", 1)[0], (heading, row)


def test_every_bench_section_is_smoke_tested() -> None:
    from bench.run import SECTIONS as RUN_SECTIONS

    tested = {name for key in SECTIONS for name in key.split(",")}
    assert tested == set(RUN_SECTIONS) - {"data"}  # data: test_data_scaling_bench below


def test_the_bench_models_compose_and_pass_the_schema(tmp_path: Path) -> None:
    """--quick trains only the CNN: the other models' bench settings are checked here."""
    from bench.run import MODELS
    from tests.support import make_cfg
    from textbench.schema import validate

    for name, overrides in MODELS.items():
        cfg = make_cfg(tmp_path, overrides)
        validate(cfg, "train")  # a wrong value raises
        assert cfg.model.encoder._target_.split(".")[-2] == name


@pytest.mark.slow
def test_data_scaling_bench_runs_on_tiny_sizes(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "data.py"),
            "--scale=2000",
            "--repeats=1",
            "--amazon=3000",
            f"--generated={tmp_path / 'data'}",
            f"--results={results}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    text = results.read_text()
    assert "## Data at scale: preparation time and memory" in text
    assert "| 2,000 |" in text
    assert "## Data at scale: an Amazon-sized set" in text
    assert "test accuracy, 1 epoch" in text


@pytest.mark.slow
@needs_shared_data
def test_peers_train_on_the_experiments_folds_and_sit_beside_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/peers.py on two MR folds: each peer chooses on validation, is tested on the
    fold the experiments test on, and its row lands in RESULTS.md's MR table."""
    from bench import peers

    results = importlib.import_module("results")  # experiments/, on the path peers sets

    monkeypatch.setenv("TEXTBENCH_DATA_DIR", str(SHARED_DATA))
    monkeypatch.setattr(results, "STORE", tmp_path / "store")
    monkeypatch.setattr(results, "HERE", tmp_path)
    monkeypatch.setattr("sys.argv", ["peers.py", "mr", "--folds", "2", "--allow-dirty"])
    peers.main()
    folds = [peers.splits("mr", fold) for fold in (0, 1)]
    assert not set(folds[0]["test"][0]) & set(folds[1]["test"][0])  # folds do not overlap
    assert len(folds[0]["test"][0]) == 1067  # a tenth of MR's 10,662 sentences
    for name in peers.PEERS:
        record = json.loads((tmp_path / "store" / f"peer_mr_{name}.json").read_text())
        assert record["seeds"] == 2 and record["protocol"] == ["10-fold CV"]
        assert all(0.7 < acc < 0.85 for acc in record["test_acc"]), record["test_acc"]
        assert record["command"] == "python bench/peers.py mr --folds 2 --allow-dirty"
    shutil.copy(ROOT / "experiments" / "results" / "mr_cnn.json", tmp_path / "store")
    results.table()
    table = (tmp_path / "RESULTS.md").read_text()
    mr_section = table[table.index("## MR") :]
    assert mr_section.count("| peer: ") == 2 and "| mr_cnn ‡ |" in mr_section


@pytest.mark.slow
def test_serving_bench_runs_on_tiny_sizes(tmp_path: Path) -> None:
    """bench/serve.py --quick: every server answers at each level, side by side with the
    plain FastAPI + onnxruntime server."""
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "serve.py"), "--quick", "--results", str(results)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    section = results.read_text().split("## Serving", 1)[1]
    servers = ("(default", "waiting up to 5 ms", "no batching", "int8", "plain FastAPI")
    for server in servers:
        rows = [line for line in section.splitlines() if server in line]
        assert len(rows) == 2, server  # --quick: 1 and 4 clients
        assert all(float(row.split("|")[3].replace(",", "")) > 0 for row in rows)
        assert all(row.split("|")[8].strip() == "0" for row in rows)  # no failed request
