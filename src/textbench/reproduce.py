"""`textbench-reproduce`: re-run a finished run from its saved overrides and compare its
metrics with the original's, key by key."""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from textbench.config import stamped_name
from textbench.files import write_json


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def compare(
    original: dict[str, Any], again: dict[str, Any], tolerance: float
) -> list[dict[str, Any]]:
    """One row per metric of the best validation epoch and of the test, on either side; a
    metric that one side lacks is a row that does not match, with `None` on that side."""
    rows = []
    for section in ("best_val", "test"):
        before, after = original.get(section, {}), again.get(section, {})
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key), after.get(key)
            diff = math.inf if old is None or new is None else abs(new - old)
            rows.append(
                {
                    "metric": key if section == "test" else f"best {key}",
                    "original": old,
                    "reproduced": new,
                    "difference": diff,
                    "match": diff <= tolerance,
                }
            )
    return rows


def tolerance_for(manifest: dict[str, Any]) -> tuple[float, str]:
    """Exact for a run that trained on the CPU (deterministic), 1e-3 on an accelerator,
    where kernels may not be; decided by what the run used, not by this machine."""
    accelerator = manifest.get("hardware", {}).get("accelerator")
    if accelerator == "cpu":
        return 0.0, "the run trained on the CPU"
    if accelerator is None:
        return 1e-3, "the run's manifest does not say which accelerator it used"
    return 1e-3, f"the run trained on {accelerator}"


def format_row(row: dict[str, Any]) -> str:
    def value(v: float | None) -> str:
        return "missing" if v is None else f"{v:.6f}"

    if row["match"]:
        verdict = "match"
    elif row["original"] is None or row["reproduced"] is None:
        verdict = "MISSING on one side"
    else:
        verdict = f"DIFFERS by {row['difference']:.2e}"
    return f"{value(row['original'])}  {value(row['reproduced'])}  {verdict}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="textbench-reproduce",
        description="Re-run a finished run from its saved config overrides into a new "
        "directory and report, key by key, whether its metrics match the original: exactly "
        "for a CPU run (deterministic), within --tolerance for a GPU run.",
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--tolerance", type=float, help="default: 0 for CPU runs, 1e-3 else")
    parser.add_argument("--out", type=Path, help="default: outputs/reproduce/<time>_<id>")
    args = parser.parse_args(argv)
    original = _load(args.run_dir / "metrics.json")
    overrides_file = args.run_dir / ".hydra" / "overrides.yaml"
    if original.get("status") != "completed" or not overrides_file.is_file():
        parser.exit(
            2,
            f"error: {args.run_dir} is not a completed run (it needs metrics.json "
            "and .hydra/overrides.yaml).\n",
        )
    manifest = _load(args.run_dir / "manifest.json")
    tolerance, why = tolerance_for(manifest)
    if args.tolerance is not None:
        tolerance, why = args.tolerance, "given by --tolerance"
    out = args.out or Path("outputs/reproduce") / stamped_name()
    # A rerun reports to no Optuna trial.
    overrides = [
        o
        for o in yaml.safe_load(overrides_file.read_text()) or []
        if not o.startswith("optuna_trial=")
    ]
    # The same number of torch threads (a launcher may have set it): CPU sums then add up
    # in the same order.
    threads = manifest.get("hardware", {}).get("torch_threads")
    if threads:
        overrides = [o for o in overrides if not o.startswith("num_threads=")]
        overrides.append(f"num_threads={threads}")
    command = [sys.executable, "-m", "textbench.train", *overrides, f"hydra.run.dir={out}"]
    print(f"Reproducing {args.run_dir} in {out}", file=sys.stderr)
    if subprocess.run(command, env=os.environ.copy()).returncode != 0:
        parser.exit(1, f"error: the reproduction failed; see {out}.\n")
    again = _load(out / "metrics.json")
    rows = compare(original, again, tolerance)
    new_manifest = _load(out / "manifest.json")
    checks = {
        "same config": manifest.get("config_sha256") == new_manifest.get("config_sha256"),
        "same data": original.get("data", {}).get("fingerprint")
        == again.get("data", {}).get("fingerprint"),
        "same code": manifest.get("code", {}).get("commit")
        == new_manifest.get("code", {}).get("commit"),
    }
    report = {
        "original": str(args.run_dir),
        "reproduction": str(out),
        "tolerance": tolerance,
        "tolerance_reason": why,
        "all_match": all(r["match"] for r in rows),
        "checks": checks,
        "metrics": rows,
    }
    write_json(out / "reproduce.json", report)
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        print(f"{r['metric']:<{width}}  {format_row(r)}")
    print(", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items()))
    verdict = "all metrics match" if report["all_match"] else "metrics differ"
    print(f"{verdict} (tolerance {tolerance:g}: {why}); report: {out / 'reproduce.json'}")
    sys.exit(0 if report["all_match"] else 1)


if __name__ == "__main__":
    main()
