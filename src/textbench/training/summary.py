"""What a run tells the person watching: the composed config first, a summary last."""

from typing import Any

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

_GROUPS = ("data", "tokenizer", "model", "optimizer", "scheduler", "trainer")


@rank_zero_only
def print_config(cfg: DictConfig) -> None:
    """The resolved config of the parts that define the experiment, as YAML."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    text = OmegaConf.to_yaml({k: resolved[k] for k in ("seed", *_GROUPS) if k in resolved})
    Console(stderr=True).print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))


@rank_zero_only
def print_summary(results: dict[str, Any]) -> None:
    """Best validation and test metrics side by side, then where everything was written."""
    table = Table(title="textbench run summary")
    table.add_column("metric")
    table.add_column("best validation", justify="right")
    table.add_column("test", justify="right")
    names = sorted(
        {k.split("/", 1)[1] for k in (*results["best_val"], *results["test"]) if "/" in k}
    )
    for name in names:
        val, test = results["best_val"].get(f"val/{name}"), results["test"].get(f"test/{name}")
        table.add_row(name, _fmt(val), _fmt(test))
    console = Console(stderr=True)
    console.print(table)
    console.print(
        f"epochs {results['epochs']} (best {results['best_val'].get('epoch', '-')}), "
        f"wall time {results['wall_time_s']:.1f} s"
    )
    if results.get("train_tokens_per_s"):
        epoch = results["train_epoch_time_s"]
        console.print(
            f"training {sum(epoch) / len(epoch):.1f} s an epoch, "
            f"{results['train_tokens_per_s']:,.0f} tokens/s"
        )
    console.print(f"outputs:     {results['output_dir']}")
    if results.get("best_checkpoint"):
        console.print(f"checkpoint:  {results['best_checkpoint']}")
    if results.get("curves"):
        console.print(f"curves:      {results['curves']}")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() and value > 1 else f"{value:.4f}"


def print_evaluation(results: dict[str, Any], out_dir: Any) -> None:
    """Overall scores, then precision / recall / F1 / support per class."""
    table = Table(
        title=f"{results['split']} split: accuracy {results['acc']:.4f}, "
        f"macro-F1 {results['f1']:.4f}, {results['examples']} examples"
    )
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in results["per_class"].items():
        table.add_row(
            name, *(_fmt(row[m]) for m in ("precision", "recall", "f1")), str(row["support"])
        )
    console = Console(stderr=True)
    console.print(table)
    console.print(f"outputs: {out_dir}")
