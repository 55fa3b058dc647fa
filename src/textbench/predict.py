"""`textbench-predict`: label names and class probabilities for new texts."""

import sys
from collections.abc import Sequence

from textbench.cli import parse, run, trusted_modules

USAGE = """usage: textbench-predict ckpt=RUN_DIR_OR_CKPT input=FILE|- [output=FILE|-]
                         [text_column=text] [batch_size=256]

input: plain text with one example a line (- reads standard input), or a .csv, .tsv or
.jsonl file whose text_column holds the texts. output: .csv, or JSON lines (default: -,
standard output). Each row holds the input index, the predicted label, every class
probability and the text, in input order; empty lines get a prediction too.

trust=[MODULE,...]: modules whose classes the checkpoint's config may name besides
textbench's own (your own models); a checkpoint naming any other code is refused."""

DEFAULTS = {
    "ckpt": None,
    "trust": None,
    "input": None,
    "output": "-",
    "text_column": "text",
    "batch_size": 256,
}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv, USAGE, DEFAULTS, ["ckpt", "input"])
    run(lambda: _predict(args))


def _predict(args) -> None:
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.probabilities import predict_texts
    from textbench.inference.texts_io import read_texts, write_predictions

    texts = read_texts(str(args.input), args.text_column)
    loaded = load_checkpoint(args.ckpt, trusted_modules(args.trust))
    probs = predict_texts(loaded, texts, int(args.batch_size), progress=len(texts) > 10_000)
    write_predictions(str(args.output), texts, probs, loaded.label_names)
    if args.output != "-":
        print(f"{len(texts)} predictions written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
