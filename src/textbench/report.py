"""`textbench-report`: a table and plots across the runs of one or more sweeps."""

import argparse
import glob
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="textbench-report",
        description="Summarise runs: one row per job (overrides, status, best validation "
        "and test metrics, epochs, wall time, checkpoint), then the jobs grouped by all "
        "overrides except the seed (mean ± std, n), best first; with plots. Works on "
        "finished, half-finished and crashed sweeps.",
    )
    parser.add_argument("paths", nargs="+", help="multirun or run directories, or globs")
    parser.add_argument(
        "--metric",
        default="val/acc",
        help="the metric that ranks groups (default val/acc, best epoch)",
    )
    parser.add_argument("--minimize", action="store_true", help="lower is better")
    parser.add_argument("--out", type=Path, help="where to write (default: the first path)")
    args = parser.parse_args(argv)
    paths = [Path(p) for pattern in args.paths for p in (sorted(glob.glob(pattern)) or [pattern])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        parser.exit(2, f"error: {missing} do not exist.\n")
    from textbench.reporting.summary import write_report

    try:
        files = write_report(paths, args.out or paths[0], args.metric, not args.minimize)
    except FileNotFoundError as error:
        parser.exit(2, f"error: {error}\n")
    print((files["md"]).read_text())
    print("Wrote " + ", ".join(str(p) for p in files.values()), file=sys.stderr)


if __name__ == "__main__":
    main()
