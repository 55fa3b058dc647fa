"""`textbench-report`: a table and plots across the runs of one or more sweeps."""

import argparse
import glob
import sys
from collections.abc import Sequence
from pathlib import Path

from textbench.terminal import printable


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="textbench-report",
        description="Summarise runs: a verdict (the best group, and whether each other one "
        "is significantly worse), the jobs grouped by all overrides except the seed and "
        "cross-validation fold (mean ± std, 95%% interval, paired or Welch t-test against "
        "the best, Holm-corrected), one row per job; with plots. Works on finished, "
        "half-finished and crashed sweeps. --compare RUN_A RUN_B: McNemar's test.",
    )
    parser.add_argument("paths", nargs="*", help="multirun or run directories, or globs")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("RUN_A", "RUN_B"),
        type=Path,
        help="two run directories tested on the same data: McNemar's test on their test "
        "predictions, example by example",
    )
    parser.add_argument(
        "--metric",
        default="val/acc",
        help="the metric that ranks groups (default val/acc, best epoch)",
    )
    parser.add_argument("--minimize", action="store_true", help="lower is better")
    parser.add_argument("--out", type=Path, help="where to write (default: the first path)")
    args = parser.parse_args(argv)
    if args.compare:
        _compare(parser, *args.compare)
        return
    if not args.paths:
        parser.exit(2, "error: give sweep or run directories, or --compare RUN_A RUN_B.\n")
    paths = [Path(p) for pattern in args.paths for p in (sorted(glob.glob(pattern)) or [pattern])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        parser.exit(2, f"error: {missing} do not exist.\n")
    from textbench.reporting.sweep import write_report

    try:
        files = write_report(paths, args.out or paths[0], args.metric, not args.minimize).files
    except FileNotFoundError as error:
        parser.exit(2, f"error: {printable(error)}\n")
    print(printable((files["md"]).read_text()))
    print("Wrote " + printable(", ".join(str(p) for p in files.values())), file=sys.stderr)


def _compare(parser: argparse.ArgumentParser, run_a: Path, run_b: Path) -> None:
    from textbench.reporting.predictions import compare_runs, describe

    try:
        print(printable(describe(compare_runs(run_a, run_b))))
    except ValueError as error:
        parser.exit(2, f"error: {printable(error)}\n")


if __name__ == "__main__":
    main()
