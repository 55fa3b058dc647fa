"""All benchmarks in one command, written to bench/RESULTS.md.

    python bench/run.py                 # everything (about 35 minutes on 2 cores)
    python bench/run.py --only overhead,startup --repeats 5
    python bench/run.py --quick --results /tmp/r.md   # tiny sizes: checks that it runs

Sections: data (tokenization, cache, padding), overhead (textbench-train vs a plain PyTorch
loop, same model, batches and steps, alternating), startup (--help, command to first
optimizer step), sweep (4 jobs, joblib with 2 workers vs sequential), efficiency (the
CNN's training FLOP/s vs this machine's fp32 matmul peak), gpu (only with a GPU), pruning
(an Optuna search on MR with and without the median pruner), workers (one PostgreSQL study,
1 worker vs 2).
Figures are medians of repeated runs; timings are never pass/fail tests.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from common import DEFAULT_DATA, RESULTS, median, run_json, write_section  # noqa: E402
from data import SECTION as DATA_SECTION  # noqa: E402
from data import measure as measure_data  # noqa: E402
from scaling import pruning, workers  # noqa: E402

SECTIONS = ("data", "overhead", "startup", "sweep", "efficiency", "gpu", "pruning", "workers")
MODELS = {
    "cnn": ["model=cnn"],
    "lstm": ["model=lstm", "model.encoder.hidden_size=128", "model.encoder.num_layers=1"],
    "transformer": [
        "model=transformer",
        "model.encoder.d_model=128",
        "model.encoder.dim_feedforward=256",
    ],
}


def _train_command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "textbench.cli.train", *overrides]


def _imdb_overrides(args: argparse.Namespace, batch_size: int | None = None) -> list[str]:
    if args.quick:
        return [
            "data.n_train=600",
            "data.n_test=100",
            "data.max_length=64",
            f"data.batch_size={batch_size or 16}",
        ]
    return [
        "data=imdb",
        f"paths.data_dir={args.data_dir}",
        "data.max_samples=4000",
        "data.max_length=256",
        f"data.batch_size={batch_size or 32}",
    ]


def overhead(args: argparse.Namespace, work: Path) -> tuple[str, dict]:
    steps, epochs = (4, 2) if args.quick else (args.steps, 3)
    data = _imdb_overrides(args)
    rows, extra = [], {}
    for name, model in MODELS.items():
        if args.models and name not in args.models.split(","):
            continue
        framework, plain = [], []
        for repeat in range(args.repeats):
            run_dir = work / f"overhead-{name}-{repeat}"
            subprocess.run(
                _train_command(
                    *model,
                    *data,
                    f"trainer.limit_train_batches={steps}",
                    "trainer.limit_val_batches=0",
                    f"trainer.max_epochs={epochs}",
                    "test=false",
                    "callbacks=none",
                    f"hydra.run.dir={run_dir}",
                ),
                check=True,
                capture_output=True,
            )
            times = json.loads((run_dir / "metrics.json").read_text())["train_epoch_time_s"]
            framework.append(median(times[1:]))
            result = run_json(
                [
                    str(BENCH / "plain_loop.py"),
                    "--steps",
                    str(steps),
                    "--epochs",
                    str(epochs),
                    *model,
                    *data,
                ]
            )
            plain.append(median(result["epoch_times"][1:]))
            if result["flops_per_epoch"]:
                extra[name] = {"flops_per_epoch": result["flops_per_epoch"]}
        ratio = median([f / p for f, p in zip(framework, plain, strict=True)])
        extra.setdefault(name, {}).update(framework=median(framework), plain=median(plain))
        rows.append(
            f"| {name} | `{' '.join(model)}` | {median(framework):.2f} s | "
            f"{median(plain):.2f} s | {ratio:.3f} |"
        )
    body = f"""
The same model, data ({" ".join(data)}), batch order, optimizer (Adam) and gradient
clipping, {steps} training steps an epoch, {epochs} epochs; the first epoch is warm-up and
the figure is the median of the others. `textbench-train` runs with `callbacks=none` and
no validation (no checkpoint writing, which the plain loop does not do either) and its
epoch time comes from its own `train/epoch_time_s`; the plain loop is `bench/plain_loop.py`.
The two alternate, {args.repeats} times; the ratio is the median of the pairs' ratios.

| model | config | textbench epoch | plain PyTorch epoch | ratio (target ≤ 1.05) |
| --- | --- | ---: | ---: | ---: |
""" + "\n".join(rows)
    return body, extra


def startup(args: argparse.Namespace, work: Path) -> str:
    """The installed command, as a user starts it (beside this Python: no venv needed)."""
    command = str(Path(sys.executable).with_name("textbench-train"))
    helps, firsts = [], []
    env = {**os.environ, "PYTHONPATH": f"{BENCH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for repeat in range(args.repeats):
        helps.append(_timed([command, "--help"]))
        clock = work / f"first-step-{repeat}"
        cache = work / f"cache-{repeat}"
        launched = time.time()
        subprocess.run(
            [
                command,
                "+callbacks.clock._target_=clock.FirstStepClock",
                f"+callbacks.clock.path={clock}",
                "test=false",
                # one step is all this measures: later steps cannot change when it ended
                "trainer.max_epochs=1",
                "trainer.limit_train_batches=1",
                f"hydra.run.dir={work / f'startup-{repeat}'}",
            ],
            check=True,
            capture_output=True,
            env={**env, "TEXTBENCH_CACHE_DIR": str(cache)},
        )
        firsts.append(float(clock.read_text()) - launched)
    rows = [
        f"| `textbench-train --help` | {median(helps):.2f} s | ≤ 2 s |",
        f"| `textbench-train` → first optimizer step | {median(firsts):.2f} s | ≤ 8 s |",
    ]
    rows += _inference_startup(args, work / "startup-0")
    return f"""
`textbench-train --help`, and `textbench-train` (the default run: built-in data, the
tutorial LSTM) from launching the command to the end of its first optimizer step, with
an empty token cache (the run stops after that step and one validation). Then the
inference commands on that run's checkpoint: `--help`, a bad setting (answered before
torch is imported), and `textbench-predict` of one text from launch to exit (importing
torch alone takes {_import_time("torch"):.2f} s here). Median of {args.repeats} runs.

| measure | value | target |
| --- | ---: | ---: |
""" + "\n".join(rows)


def _timed(command: list[str], returncode: int = 0, **kwargs) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if result.returncode != returncode:
        raise RuntimeError(f"{command} exited {result.returncode}: {result.stderr[-2000:]}")
    return elapsed


def _import_time(module: str) -> float:
    return _timed([sys.executable, "-c", f"import {module}"])


def _inference_startup(args: argparse.Namespace, run: Path) -> list[str]:
    """The run was trained with the bench's clock callback, so its checkpoint names the
    module `clock`, trusted by name."""
    bad = {"eval": "split=dev", "predict": "batch_size=0", "export": "format=tflite"}
    rows = []
    for name, setting in bad.items():
        command = str(Path(sys.executable).with_name(f"textbench-{name}"))
        helps = [_timed([command, "--help"]) for _ in range(args.repeats)]
        refusals = [_timed([command, f"ckpt={run}", setting], 2) for _ in range(args.repeats)]
        rows.append(f"| `textbench-{name} --help` | {median(helps):.2f} s | ≤ 1 s |")
        rows.append(
            f"| `textbench-{name} {setting}` (refused) | {median(refusals):.2f} s | ≤ 1 s |"
        )
    command = str(Path(sys.executable).with_name("textbench-predict"))
    predicts = [
        _timed([command, f"ckpt={run}", "input=-", "trust=[clock]"], input="a film\n")
        for _ in range(args.repeats)
    ]
    rows.append(
        f"| `textbench-predict`, one text, launch → exit | {median(predicts):.2f} s | ≤ 3 s |"
    )
    return rows


def _sweep_wall_times(args: argparse.Namespace, work: Path, jobs: list[str]) -> tuple[float, float]:
    """Median wall time of the whole sweep: sequential launcher, then joblib with 2 workers."""
    sequential, parallel = [], []
    for repeat in range(args.repeats):
        for launcher, times in (
            ([], sequential),
            (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], parallel),
        ):
            sweep_dir = work / f"sweep-{repeat}-{'joblib' if launcher else 'basic'}"
            times.append(_timed(_train_command(*jobs, *launcher, f"hydra.sweep.dir={sweep_dir}")))
    return median(sequential), median(parallel)


def sweep(args: argparse.Namespace, work: Path) -> str:
    """Two job sizes: with tiny jobs the workers' start-up (importing torch and Lightning,
    which the sequential launcher pays once) is a large share of the sweep."""
    model = [
        "-m",
        "model=lstm",
        "model.encoder.hidden_size=64",
        "model.encoder.num_layers=1",
        "seed=1,2" if args.quick else "seed=1,2,3,4",
        "callbacks.model_summary=null",
        f"trainer.max_epochs={1 if args.quick else 4}",
    ]
    sizes = {"tiny": 200} if args.quick else {"tiny": 5000, "small": 25000}
    rows = []
    for size, n_train in sizes.items():
        jobs = [*model, f"data.n_train={n_train}"]
        sequential, parallel = _sweep_wall_times(args, work / size, jobs)
        rows.append(
            f"| {size} | {n_train} | {sequential:.1f} s | {parallel:.1f} s | "
            f"**{sequential / parallel:.2f}** |"
        )
    threads = max(1, (os.cpu_count() or 1) // 2)
    return f"""
4 jobs (`{" ".join(model)} data.n_train=N`), two sizes: the whole sweep's wall time with
the basic (sequential) launcher, each job on all {os.cpu_count()} cores, against
`hydra/launcher=joblib hydra.launcher.n_jobs=2`, each job on {threads} thread(s). Each
joblib worker imports torch and Lightning once (about 4 s), which the sequential launcher
pays once in all: the tiny jobs show that fixed cost, the small ones the parallel gain.
Median of {args.repeats} runs of each.

| jobs | training texts a job | sequential | joblib, 2 workers | speed-up (target ≥ 1.6) |
| --- | ---: | ---: | ---: | ---: |
""" + "\n".join(rows)


def matmul_peak(repeats: int = 5, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / median(times)


def efficiency(args: argparse.Namespace, extra: dict) -> str:
    cnn = extra.get("cnn")
    if not cnn or "flops_per_epoch" not in cnn:
        return "Needs the overhead section (CNN) in the same run."
    peak = matmul_peak()
    achieved = {k: cnn["flops_per_epoch"] / cnn[k] for k in ("framework", "plain")}
    return f"""
FLOPs of the CNN's convolutions per epoch (forward multiply-adds x 2, x 3 for the forward
and both backward products; embedding and head are negligible), over the epoch times of
the overhead section, against a 2048 x 2048 fp32 `torch.mm` on the same machine, same
thread count ({torch.get_num_threads()}).

| measure | GFLOP/s | share of peak |
| --- | ---: | ---: |
| fp32 matmul peak | {peak / 1e9:.1f} | 100% |
| CNN training, textbench | {achieved["framework"] / 1e9:.1f} | {achieved["framework"] / peak:.0%} |
| CNN training, plain PyTorch | {achieved["plain"] / 1e9:.1f} | {achieved["plain"] / peak:.0%} |
"""


def gpu(args: argparse.Namespace, work: Path) -> str:
    """bf16-mixed vs fp32 training throughput of each model on IMDB, on one GPU.

    Two batch sizes: the CPU benches' 32, which leaves a GPU mostly idle, and 256.
    """
    if not torch.cuda.is_available():
        return (
            "No GPU on this machine, and none was lent to the session that made these "
            "figures: bf16-mixed vs fp32 throughput is not measured yet. On a GPU, run "
            "`python bench/run.py --only gpu`."
        )
    rows = []
    for batch_size in (32, 256):
        for name, model in MODELS.items():
            speed = {}
            for precision in ("32-true", "bf16-mixed"):
                run_dir = work / f"gpu-{name}-{batch_size}-{precision}"
                done = subprocess.run(
                    _train_command(
                        *model,
                        *_imdb_overrides(args, batch_size),
                        "trainer=gpu",
                        f"trainer.precision={precision}",
                        "trainer.limit_train_batches=100",
                        "trainer.limit_val_batches=0",
                        "trainer.max_epochs=3",
                        "test=false",
                        "callbacks=none",
                        f"hydra.run.dir={run_dir}",
                    ),
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    sys.exit(f"{name} {precision} failed on the GPU:\n{done.stderr[-3000:]}")
                metrics = json.loads((run_dir / "metrics.json").read_text())
                speed[precision] = metrics["train_tokens_per_s"]
                steps = metrics["global_step"] // metrics["epochs"]
            rows.append(
                f"| {name} | {batch_size} | {steps} | {speed['32-true']:,.0f} | "
                f"{speed['bf16-mixed']:,.0f} | {speed['bf16-mixed'] / speed['32-true']:.2f} |"
            )
    return (
        f"{torch.cuda.get_device_name()}; IMDB, up to 100 steps an epoch, 3 epochs, the "
        "median epoch's training tokens/s (the first epoch holds CUDA's warm-up).\n\n"
        "| model | batch | steps an epoch | fp32 tokens/s | bf16-mixed tokens/s | speed-up |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=80, help="training steps per epoch")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, synthetic data")
    parser.add_argument("--models", default="", help="overhead: only these (cnn,lstm,...)")
    args = parser.parse_args()
    if args.quick:  # one model and few jobs: the smoke test checks that each section runs
        args.repeats = 1
        args.models = args.models or "cnn"
    only = args.only.split(",")
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    imdb = args.data_dir / "imdb"
    if not args.quick and not (imdb / "train.parquet").is_file():
        parser.error(f"IMDB not found under {imdb}; pass --data-dir (or --quick).")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extra: dict = {}
        if "data" in only and not args.quick:
            write_section(DATA_SECTION, measure_data(imdb, args.repeats), args.results)
        if "overhead" in only or "efficiency" in only:
            body, extra = overhead(args, work)
            if "overhead" in only:
                write_section("Overhead: textbench vs a plain PyTorch loop", body, args.results)
        if "efficiency" in only:
            write_section(
                "CPU efficiency: CNN training FLOP/s", efficiency(args, extra), args.results
            )
        if "startup" in only:
            write_section("Start-up", startup(args, work), args.results)
        if "sweep" in only:
            write_section("Sweep parallelism", sweep(args, work), args.results)
        if "gpu" in only:
            write_section("GPU: bf16-mixed vs fp32", gpu(args, work), args.results)
        if "pruning" in only:
            write_section("Optuna pruning", pruning(args, work), args.results)
        if "workers" in only:
            write_section("Optuna workers on one study", workers(args, work), args.results)


if __name__ == "__main__":
    main()
