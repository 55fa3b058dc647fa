"""Record sweeps of the experiments here and make RESULTS.md from every recorded sweep.

    python experiments/results.py add outputs/train/multiruns/<sweep>   # after a sweep
    python experiments/results.py add SWEEP_A SWEEP_B  # one experiment's seeds, run in parts
    python experiments/results.py table                                # RESULTS.md

`add` reads the sweep with textbench's own report code and stores one small JSON per
experiment in experiments/results/ (committed, unlike outputs/), so that rows measured in
different sessions and on different machines add up; `table` writes RESULTS.md from them.
"""

import argparse
import json
import statistics
from datetime import datetime, timezone
from pathlib import Path

import yaml

from textbench.reporting.runs import find_jobs

HERE = Path(__file__).resolve().parent
STORE = HERE / "results"
# test-accuracy targets (mean over seeds) from the issue that asked for these experiments
TARGETS = {
    "imdb_cnn": 0.885,
    "imdb_lstm": 0.88,
    "imdb_transformer": 0.875,
    "imdb_boe": 0.895,
    "mr_cnn": 0.761,
    "mr_lstm": 0.76,
    "mr_transformer": 0.74,
    "mr_pretrained": 0.82,
}


def overrides_of(sweep: Path) -> list[str]:
    """The sweep's command-line overrides, from Hydra's record."""
    return yaml.safe_load((sweep / "multirun.yaml").read_text())["hydra"]["overrides"]["task"]


def add(experiment: str, sweeps: dict[Path, list[str]]) -> Path:
    """Record one experiment from one or more sweeps (each with its overrides), e.g. seeds
    run in different sessions."""
    jobs = [j for j in find_jobs(list(sweeps)) if j.status == "completed"]
    if not jobs:
        raise SystemExit(f"No completed job under {', '.join(map(str, sweeps))}.")
    accs = [j.metrics["test"]["test/acc"] for j in jobs]
    epoch_times = [t for j in jobs for t in j.metrics.get("train_epoch_time_s", [])]
    starts = sorted(j.manifest.get("start_time") or "" for j in jobs)
    codes = [j.manifest.get("code") for j in jobs]
    record = {
        "experiment": experiment,
        "command": " ; ".join("textbench-train -m " + " ".join(t) for t in sweeps.values()),
        "seeds": len(jobs),
        "test_acc": accs,
        "test_acc_mean": statistics.fmean(accs),
        "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "epochs": statistics.fmean(j.metrics["epochs"] for j in jobs),
        "train_epoch_time_s": statistics.median(epoch_times) if epoch_times else None,
        "run_wall_time_s": statistics.fmean(j.metrics["wall_time_s"] for j in jobs),
        "train_tokens_per_s": statistics.median(j.metrics["train_tokens_per_s"] for j in jobs),
        "measured": starts[0],
        "measured_last": starts[-1],
        "machine": jobs[0].manifest.get("hardware"),
        "code": [c for i, c in enumerate(codes) if c not in codes[:i]],
    }
    STORE.mkdir(exist_ok=True)
    path = STORE / f"{experiment}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def code_label(codes: list[dict | None]) -> str:
    """Short commit(s) the runs started from; +diff where the tree had uncommitted changes."""
    labels = []
    for code in codes:
        code = code or {}
        labels.append((code.get("commit") or "?")[:7] + ("+diff" if code.get("dirty") else ""))
    return ", ".join(labels)


def dates(record: dict) -> str:
    first, last = record["measured"][:10], record["measured_last"][:10]
    return first if last == first else f"{first} to {last}"


def table() -> Path:
    records = [json.loads(p.read_text()) for p in sorted(STORE.glob("*.json"))]
    lines = [
        "# Results",
        "",
        "Made by `python experiments/results.py table` from the sweeps recorded in "
        "`experiments/results/` (each by `python experiments/results.py add SWEEP_DIR`).",
        "Test accuracy is the mean ± sample std over seeds (MR: each seed is its own random "
        "80/10/10 split); epoch time is training only, validation excluded; tokens per "
        "second count real (non-padding) tokens; code is the commit the runs started from "
        "(+diff: with uncommitted changes, saved as git.diff in each run directory).",
        "",
        "| experiment | test accuracy | target | seeds | epochs | epoch time | run time "
        "| tokens/s | measured | machine | code | command |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in records:
        target = TARGETS.get(r["experiment"])
        verdict = "" if target is None else (" ✓" if r["test_acc_mean"] >= target else " ✗")
        machine = r.get("machine") or {}
        where = f"{machine.get('cpu_count', '?')} CPU cores" + (
            f", {', '.join(machine['gpus'])}" if machine.get("gpus") else ""
        )
        epoch = r["train_epoch_time_s"]
        lines.append(
            f"| {r['experiment']} | {100 * r['test_acc_mean']:.2f} ± "
            f"{100 * r['test_acc_std']:.2f}%{verdict} | "
            f"{'' if target is None else f'{100 * target:.1f}%'} | {r['seeds']} | "
            f"{r['epochs']:.1f} | {'' if epoch is None else f'{epoch:.0f} s'} | "
            f"{r['run_wall_time_s'] / 60:.1f} min | {r['train_tokens_per_s']:,.0f} | "
            f"{dates(r)} | {where} | {code_label(r['code'])} | `{r['command']}` |"
        )
    missing = sorted(set(TARGETS) - {r["experiment"] for r in records})
    if missing:
        lines += ["", "Not measured yet: " + ", ".join(f"`{m}`" for m in missing) + "."]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["", f"Table written {stamp}."]
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("add").add_argument("sweeps", nargs="+", type=Path)
    sub.add_parser("table")
    args = parser.parse_args()
    if args.command == "add":
        by_experiment: dict[str, dict[Path, list[str]]] = {}
        for sweep in args.sweeps:
            task = overrides_of(sweep)
            experiment = next(o.split("=", 1)[1] for o in task if o.startswith("experiment="))
            by_experiment.setdefault(experiment, {})[sweep] = task
        for experiment, sweeps in by_experiment.items():
            print(f"recorded {add(experiment, sweeps)}")
    print(f"wrote {table()}")


if __name__ == "__main__":
    main()
