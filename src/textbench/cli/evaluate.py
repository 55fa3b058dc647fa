"""`textbench-eval`: metrics, confusion matrix and mistakes of a checkpoint on a data split."""

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from textbench.cli.app import hydra_app


@hydra_app("eval")
def _evaluate(cfg: DictConfig) -> None:
    from textbench.inference.checkpoint import resolve_checkpoint

    ckpt = resolve_checkpoint(cfg.ckpt)  # a mistyped path is reported before torch loads
    from textbench.console import print_evaluation
    from textbench.inference.checkpoint import load_checkpoint
    from textbench.inference.scoring import evaluate

    loaded = load_checkpoint(ckpt, list(cfg.trust))
    out = Path(cfg.out)
    overrides = OmegaConf.to_container(cfg.data, resolve=True)
    results = evaluate(loaded, out, cfg.split, overrides, cfg.batch_size, list(cfg.trust))
    print_evaluation(results, out)


def main(argv: Sequence[str] | None = None) -> None:
    """`data.KEY=VALUE` changes the checkpoint's own data settings, which this command's
    config cannot list in advance: Hydra is told to add them (`++`), so they are typed as
    they would be for textbench-train, and checked against the checkpoint's keys."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    _evaluate([f"++{a}" if a.startswith("data.") and "=" in a else a for a in args])


if __name__ == "__main__":
    main()
