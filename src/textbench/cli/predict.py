"""`textbench-predict`: label names and class probabilities for new texts."""

import sys

from omegaconf import DictConfig

from textbench.cli.app import hydra_app


@hydra_app("predict")
def main(cfg: DictConfig) -> None:
    from textbench.data.text_files import read_texts
    from textbench.inference.checkpoint import resolve_checkpoint
    from textbench.inference.output import write_predictions

    ckpt = resolve_checkpoint(cfg.ckpt)  # mistyped paths are reported before torch loads
    texts = read_texts(str(cfg.input), cfg.text_column)
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.probabilities import predict_texts

    loaded = load_checkpoint(ckpt, list(cfg.trust))
    probs = predict_texts(loaded, texts, cfg.batch_size, progress=len(texts) > 10_000)
    write_predictions(str(cfg.output), texts, probs, loaded.label_names)
    if cfg.output != "-":
        print(f"{len(texts)} predictions written to {cfg.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
