"""Learning-rate schedules as Lightning scheduler dicts.

Each builder takes the optimizer and the run's total number of optimizer steps (known only
once the trainer has the data), which is why scheduler configs are partials.
"""

import math
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau


def _warmup_steps(total_steps: int, warmup_steps: int, warmup_ratio: float) -> int:
    return max(warmup_steps, int(warmup_ratio * total_steps))


def cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float = 0.0,
    min_lr_ratio: float = 0.0,
) -> dict[str, Any]:
    """Optional linear warm-up, then cosine decay to `min_lr_ratio` x the base rate."""
    warmup = _warmup_steps(total_steps, warmup_steps, warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return {"scheduler": LambdaLR(optimizer, factor), "interval": "step"}


def linear(
    optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, warmup_ratio: float = 0.1
) -> dict[str, Any]:
    """Linear warm-up to the base rate, then linear decay to zero at the last step."""
    warmup = _warmup_steps(total_steps, warmup_steps, warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return {"scheduler": LambdaLR(optimizer, factor), "interval": "step"}


def plateau(
    optimizer: Optimizer,
    total_steps: int,
    monitor: str = "val/acc",
    mode: str = "max",
    factor: float = 0.5,
    patience: int = 1,
) -> dict[str, Any]:
    """Cut the rate by `factor` when the validation metric stalls for `patience` epochs."""
    del total_steps  # epochs, not steps, drive this schedule
    scheduler = ReduceLROnPlateau(optimizer, mode=mode, factor=factor, patience=patience)
    return {"scheduler": scheduler, "monitor": monitor, "interval": "epoch"}
