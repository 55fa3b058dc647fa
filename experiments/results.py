"""Record sweeps of the experiments here and make RESULTS.md from every recorded sweep.

    python experiments/results.py add outputs/train/multiruns/<sweep>   # after a sweep
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


def add(sweep: Path) -> Path:
    overrides = yaml.safe_load((sweep / "multirun.yaml").read_text())["hydra"]["overrides"]
    task = overrides["task"]
    experiment = next(o.split("=", 1)[1] for o in task if o.startswith("experiment="))
    jobs = [j for j in find_jobs([sweep]) if j.status == "completed"]
    if not jobs:
        raise SystemExit(f"No completed job under {sweep}.")
    accs = [j.metrics["test"]["test/acc"] for j in jobs]
    epoch_times = [t for j in jobs for t in j.metrics.get("train_epoch_time_s", [])]
    manifest = jobs[0].manifest
    record = {
        "experiment": experiment,
        "command": "textbench-train -m " + " ".join(task),
        "seeds": len(jobs),
        "test_acc": accs,
        "test_acc_mean": statistics.fmean(accs),
        "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "epochs": statistics.fmean(j.metrics["epochs"] for j in jobs),
        "train_epoch_time_s": statistics.median(epoch_times) if epoch_times else None,
        "run_wall_time_s": statistics.fmean(j.metrics["wall_time_s"] for j in jobs),
        "train_tokens_per_s": statistics.median(j.metrics["train_tokens_per_s"] for j in jobs),
        "measured": manifest.get("start_time"),
        "machine": manifest.get("hardware"),
        "code": manifest.get("code"),
    }
    STORE.mkdir(exist_ok=True)
    path = STORE / f"{experiment}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


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
        code = r.get("code") or {}
        commit = (code.get("commit") or "?")[:7] + ("+diff" if code.get("dirty") else "")
        lines.append(
            f"| {r['experiment']} | {100 * r['test_acc_mean']:.2f} ± "
            f"{100 * r['test_acc_std']:.2f}%{verdict} | "
            f"{'' if target is None else f'{100 * target:.1f}%'} | {r['seeds']} | "
            f"{r['epochs']:.1f} | {'' if epoch is None else f'{epoch:.0f} s'} | "
            f"{r['run_wall_time_s'] / 60:.1f} min | {r['train_tokens_per_s']:,.0f} | "
            f"{(r.get('measured') or '')[:10]} | {where} | {commit} | `{r['command']}` |"
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
        for sweep in args.sweeps:
            print(f"recorded {add(sweep)}")
    print(f"wrote {table()}")


if __name__ == "__main__":
    main()
