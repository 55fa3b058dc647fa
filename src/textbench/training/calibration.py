"""`calibrate=temperature`: after the fit, one temperature T for the best checkpoint's
logits (probabilities softmax(logits / T)), fitted on the validation split by minimising
its negative log-likelihood (Guo et al., 2017). The test split is read by nothing here.

T leaves every prediction's label as it was (argmax is unchanged) and makes the scores
mean what they say: a model too sure of itself gets T > 1. The best checkpoint carries T
(`textbench.temperature`), so test, eval, predict, export and serve all apply it.
"""

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from textbench.files import atomic_path

log = logging.getLogger(__name__)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 that minimises cross-entropy(logits / T, labels); fitted as log T, so it
    stays positive, by L-BFGS (a one-parameter convex problem)."""
    logits, labels = logits.detach().float().clone(), labels.detach().clone()
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


@torch.no_grad()  # not inference mode: the logits then enter autograd to fit T
def validation_logits(model: Any, datamodule: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's logits (temperature 1) and the labels of the whole validation split."""
    model.eval()
    model.temperature.fill_(1.0)
    logits, labels = [], []
    for batch in datamodule.val_dataloader():
        batch = {k: v.to(model.device) for k, v in batch.items()}
        logits.append(model(batch["input_ids"], batch["lengths"]).float().cpu())
        labels.append(batch["labels"].cpu())
    return torch.cat(logits), torch.cat(labels)


def calibrate(
    model: Any, datamodule: Any, best_checkpoint: str, write: bool = True
) -> dict[str, Any]:
    """Fit T on validation with the best checkpoint's weights, write it into that
    checkpoint (`write`: on the first rank only), and say what it changed on validation
    (ECE, negative log-likelihood)."""
    checkpoint = torch.load(best_checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["state_dict"])
    logits, labels = validation_logits(model, datamodule)
    temperature = fit_temperature(logits, labels)
    classes = logits.size(1)

    def scores(t: float) -> tuple[float, float]:
        probs = (logits / t).softmax(dim=-1)
        ece = multiclass_calibration_error(probs, labels, classes, n_bins=15).item()
        return ece, F.cross_entropy(logits / t, labels).item()

    (ece_before, nll_before), (ece_after, nll_after) = scores(1.0), scores(temperature)
    checkpoint["textbench"]["temperature"] = temperature
    if write:
        with atomic_path(Path(best_checkpoint)) as path:
            torch.save(checkpoint, path)
    model.temperature.fill_(temperature)
    log.info(
        "Calibrated on validation: temperature %.3f; ECE %.4f → %.4f, loss %.4f → %.4f.",
        temperature,
        ece_before,
        ece_after,
        nll_before,
        nll_after,
    )
    return {
        "method": "temperature",
        "temperature": round(temperature, 6),
        "val_ece_before": round(ece_before, 6),
        "val_ece_after": round(ece_after, 6),
        "val_loss_before": round(nll_before, 6),
        "val_loss_after": round(nll_after, 6),
        "val_examples": len(labels),
    }
