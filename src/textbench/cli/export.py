"""`textbench-export`: an ONNX (or TorchScript) model plus its tokenizer, checked against
PyTorch."""

import sys
from pathlib import Path

from omegaconf import DictConfig

from textbench.cli.app import fail, hydra_app


@hydra_app("export")
def main(cfg: DictConfig) -> None:
    from textbench.data.text_files import read_texts
    from textbench.inference.checkpoint import resolve_checkpoint

    ckpt = resolve_checkpoint(cfg.ckpt)  # mistyped paths are reported before torch loads
    texts = read_texts(str(cfg.input), cfg.text_column) if cfg.input else None
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.exporting import export_dir, export_model
    from textbench.inference.scoring import build_data

    loaded = load_checkpoint(ckpt, list(cfg.trust))
    if texts is None:
        texts = build_data(loaded, trust=list(cfg.trust)).split_texts("test", cfg.max_texts)
    texts = texts[: cfg.max_texts]
    out = Path(cfg.out) if cfg.out else export_dir(loaded)
    info = export_model(loaded, texts, out, cfg.format)
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
