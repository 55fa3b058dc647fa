"""`textbench-export`: an ONNX (or TorchScript) model plus its tokenizer, checked against
PyTorch."""

import sys
from collections.abc import Sequence
from pathlib import Path

from textbench.cli import fail, parse, run, trusted_modules

USAGE = """usage: textbench-export ckpt=RUN_DIR_OR_CKPT [format=onnx|torchscript] [out=DIR]
                        [input=FILE] [text_column=text] [max_texts=512]

Writes model.onnx (format=onnx, the default: run it with onnxruntime) or model.pt
(TorchScript), taking (input_ids [batch, length], lengths [batch]) and giving class
probabilities, with any batch size and length up to the trained max_length; plus
tokenizer.json and export.json, to out (default: the run's export/ folder). The saved
model is run and compared with PyTorch on real texts (input, else the run's test split)
in batches of several sizes; the command fails if any probability differs by more than
1e-5.

trust=[MODULE,...]: modules whose classes the checkpoint's config may name besides
textbench's own (your own models); a checkpoint naming any other code is refused."""

DEFAULTS = {
    "ckpt": None,
    "trust": None,
    "format": "onnx",
    "out": None,
    "input": None,
    "text_column": "text",
    "max_texts": 512,
}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv, USAGE, DEFAULTS, ["ckpt"])
    run(lambda: _export(args))


def _export(args) -> None:
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.exporting import export_model
    from textbench.inference.scoring import build_data
    from textbench.inference.texts_io import read_texts

    loaded = load_checkpoint(args.ckpt, trusted_modules(args.trust))
    if args.input:
        texts = read_texts(str(args.input), args.text_column)
    else:
        texts = build_data(loaded).split_texts("test", int(args.max_texts))
    texts = texts[: int(args.max_texts)]
    out = Path(args.out) if args.out else loaded.path.parent.parent / "export"
    info = export_model(loaded, texts, out, str(args.format))
    print(
        f"Exported to {out}: checked {info['checked_texts']} texts in "
        f"{info['checked_batches']} batches, max |difference| {info['max_abs_difference']:.2e}"
        f" (tolerance {info['tolerance']:.0e})",
        file=sys.stderr,
    )
    if not info["matches"]:
        fail("The exported model does not match PyTorch within the tolerance; see export.json.")


if __name__ == "__main__":
    main()
