"""Optuna at scale: the same search with and without pruning, and one study shared by two
workers against one (PostgreSQL), each measured side by side in one run."""

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import yaml
from postgres import PostgresServer, Unavailable


def _search(work: Path, overrides: list[str], workers: int = 1) -> float:
    """Wall time of a whole search run by `workers` processes started together."""
    command = [sys.executable, "-m", "textbench.cli.train", "-m", *overrides]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [*command, f"hydra.sweep.dir={work}/w{i}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    for process in processes:
        _, errors = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"search failed: {errors[-2000:]}")
    return time.perf_counter() - start


def _epochs_trained(sweep: Path) -> int:
    """Validation epochs over every job of a sweep (pruned ones stop early)."""
    total = 0
    for metrics in sweep.glob("*/csv/metrics.csv"):
        with metrics.open() as f:
            total += len({row["epoch"] for row in csv.DictReader(f) if row.get("val/acc")})
    return total


def pruning(args: argparse.Namespace, work: Path) -> str:
    if args.quick:
        search = ["hparams_search=optuna_cnn", "hydra.sweeper.n_trials=2", "data.n_train=400"]
        search += ["trainer.max_epochs=2", "model.encoder.embedding_dim=16"]
    else:
        search = ["experiment=mr_cnn", "hparams_search=optuna_cnn", "seed=0"]
        search += [f"paths.data_dir={args.data_dir}", "trainer.max_epochs=4"]
        search.append("hydra.sweeper.n_trials=12")  # 2 searches in about 25 min on 2 cores
    search.append("callbacks.model_summary=null")
    rows, measured = [], {}
    for pruner in ("none", "median"):
        sweep = work / f"pruner-{pruner}"
        seconds = _search(sweep, [*search, f"hydra.sweeper.pruner={pruner}"])
        best = yaml.safe_load((sweep / "w0" / "optimization_results.yaml").read_text())
        epochs = _epochs_trained(sweep / "w0")
        measured[pruner] = (seconds, epochs, best["best_value"])
        pruned = best.get("pruned", 0)
        rows.append(
            f"| {pruner} | {best['trials']} | {pruned} | {epochs} | {seconds:.0f} s | "
            f"{100 * best['best_value']:.2f}% |"
        )
    (t0, e0, v0), (t1, e1, v1) = measured["none"], measured["median"]
    return f"""
The same TPE search (`{" ".join(search)}`, seed 1234 for the sampler) without a pruner and
with the median pruner (a trial stops when its validation accuracy after an epoch is below
the median of earlier trials at that epoch; 2 trials before it starts, 1 epoch of warm-up).

| pruner | trials | pruned | training epochs | wall time | best validation accuracy |
| --- | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

With pruning: **{e1 / e0:.2f}x** the training epochs and **{t1 / t0:.2f}x** the wall time of
the search without it, for a best validation accuracy {100 * (v1 - v0):+.2f} points.
"""


def workers(args: argparse.Namespace, work: Path) -> str:
    server = PostgresServer(work / "postgres")
    try:
        server.start()
    except Unavailable as reason:
        return f"Not measured: no PostgreSQL server could be started here ({reason})."
    trials = 2 if args.quick else 8
    search = ["hparams_search=optuna", "num_threads=1", "hydra.sweeper.pruner=none"]
    search += [f"hydra.sweeper.n_trials={trials}", "model.encoder.num_layers=1"]
    search += ["callbacks.model_summary=null", "trainer.max_epochs=2"]
    search.append("data.n_train=400" if args.quick else "data.n_train=4000")
    try:
        seconds = {}
        for count in (2,) if args.quick else (1, 2):  # --quick: that the section runs
            url = server.new_database()
            seconds[count] = _search(
                work / f"workers-{count}", [*search, f"hydra.sweeper.storage={url}"], count
            )
    finally:
        server.stop()
    speedup = f"{seconds[1] / seconds[2]:.2f}" if 1 in seconds else "-"
    return f"""
One Optuna study of {trials} LSTM trials (`{" ".join(search)}`) in a PostgreSQL database
on 127.0.0.1, run by 1 worker process, then by 2 started together (each with 1 torch
thread, so 2 workers use the 2 cores): the whole search's wall time.

| workers | wall time | speed-up |
| ---: | ---: | ---: |
| 1 | {_seconds(seconds, 1)} | 1.00 |
| 2 | {_seconds(seconds, 2)} | **{speedup}** |
"""


def _seconds(measured: dict[int, float], workers: int) -> str:
    return f"{measured[workers]:.0f} s" if workers in measured else "not run (--quick)"
