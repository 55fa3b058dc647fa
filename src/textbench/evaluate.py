"""`textbench-eval`: metrics, confusion matrix and mistakes of a checkpoint on a data split."""

import sys
from collections.abc import Sequence
from pathlib import Path

from textbench.cli import parse, run, trusted_modules

USAGE = """usage: textbench-eval ckpt=RUN_DIR_OR_CKPT [split=test] [out=DIR] [batch_size=256]
                      [data.KEY=VALUE ...]

Evaluates a checkpoint (a run directory means its best checkpoint) on a split of the data
it was trained on: the same files, the same carved splits, its own tokenizer. Override
any data key to evaluate elsewhere, e.g. data.test_file=new.csv or data.files.test_file=...
Writes metrics.json (accuracy, macro-F1, per-class precision/recall/F1), confusion_matrix
.csv/.png and misclassified.jsonl to out (default outputs/eval/<time>_<id>).

trust=[MODULE,...]: modules whose classes the checkpoint's config may name besides
textbench's own (your own models); a checkpoint naming any other code is refused."""

DEFAULTS = {"ckpt": None, "trust": None, "split": "test", "out": None, "batch_size": 256}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv, USAGE, DEFAULTS, ["ckpt"])
    run(lambda: _evaluate(args))


def _evaluate(args) -> None:
    from omegaconf import OmegaConf

    from textbench.config import stamped_name
    from textbench.console import print_evaluation
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.scoring import evaluate

    loaded = load_checkpoint(args.ckpt, trusted_modules(args.trust))
    out = Path(args.out) if args.out else Path("outputs/eval") / stamped_name()
    overrides = OmegaConf.to_container(args.get("data", OmegaConf.create({})))
    results = evaluate(loaded, out, args.split, overrides, int(args.batch_size))
    print_evaluation(results, out)


if __name__ == "__main__":
    main()
