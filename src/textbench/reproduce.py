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


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def compare(
    original: dict[str, Any], again: dict[str, Any], tolerance: float
) -> list[dict[str, Any]]:
    """One row per metric of the best validation epoch and of the test."""
    rows = []
    for section in ("best_val", "test"):
        for key, value in original.get(section, {}).items():
            new = again.get(section, {}).get(key)
            diff = math.inf if new is None else abs(new - value)
            rows.append(
                {
                    "metric": key if section == "test" else f"best {key}",
                    "original": value,
                    "reproduced": new,
                    "difference": diff,
                    "match": diff <= tolerance,
                }
            )
    return rows


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
    on_cpu = not manifest.get("hardware", {}).get("gpus")
    tolerance = args.tolerance if args.tolerance is not None else (0.0 if on_cpu else 1e-3)
    out = args.out or Path("outputs/reproduce") / stamped_name()
    overrides = yaml.safe_load(overrides_file.read_text()) or []
    command = [sys.executable, "-m", "textbench.train", *overrides, f"hydra.run.dir={out}"]
    print(f"Reproducing {args.run_dir} in {out}", file=sys.stderr)
    if subprocess.run(command, env=os.environ.copy()).returncode != 0:
        parser.exit(1, f"error: the reproduction failed; see {out}.\n")
    again = _load(out / "metrics.json")
    rows = compare(original, again, tolerance)
    new_manifest = _load(out / "manifest.json")
    checks = {
        "same config": manifest.get("config_sha256") == new_manifest.get("config_sha256"),
        "same data": original["data"]["fingerprint"] == again["data"]["fingerprint"],
        "same code": manifest.get("code", {}).get("commit")
        == new_manifest.get("code", {}).get("commit"),
    }
    report = {
        "original": str(args.run_dir),
        "reproduction": str(out),
        "tolerance": tolerance,
        "all_match": all(r["match"] for r in rows),
        "checks": checks,
        "metrics": rows,
    }
    (out / "reproduce.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        print(
            f"{r['metric']:<{width}}  {r['original']:.6f}  {r['reproduced']:.6f}  "
            f"{'match' if r['match'] else 'DIFFERS by ' + format(r['difference'], '.2e')}"
        )
    print(", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items()))
    verdict = "all metrics match" if report["all_match"] else "metrics differ"
    print(f"{verdict} (tolerance {tolerance:g}); report: {out / 'reproduce.json'}")
    sys.exit(0 if report["all_match"] else 1)


if __name__ == "__main__":
    main()
