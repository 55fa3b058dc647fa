"""`TextClassifier`: the one LightningModule; any encoder plus a linear classification head."""

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.aggregation import MeanMetric, SumMetric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassCalibrationError,
    MulticlassF1Score,
)

from textbench.models.feature_cache import FeatureCache, encoder_digest
from textbench.models.network import build_encoder, classification_head

STAGES = ("train", "val", "test")


class TextClassifier(L.LightningModule):
    """Encoder → dropout → linear head, trained with cross-entropy.

    The encoder, optimizer and scheduler arrive as partials from the config; vocabulary
    size, padding id and label names (hence the number of classes) come from the data
    module, never by hand, and are saved in every checkpoint.

    The training loss may use `label_smoothing` and `class_weights` (validation and test
    losses never do, so that they stay comparable). Weight decay skips biases, norms and
    embeddings unless `decay_all`.

    `freeze` trains the head alone: the encoder keeps its starting weights (a pretrained
    model's) and its outputs are cached on disk (`FeatureCache`), so a sweep over heads,
    optimizers, seeds or folds runs the encoder once per text.
    """

    def __init__(
        self,
        encoder: Callable[..., nn.Module],
        vocab_size: int,
        label_names: list[str],
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., dict[str, Any]] | None = None,
        pad_id: int = 0,
        head_dropout: float = 0.0,
        monitor: str = "val/acc",
        monitor_mode: str = "max",
        label_smoothing: float = 0.0,
        class_weights: list[float] | None = None,
        decay_all: bool = False,
        freeze: bool = False,
    ) -> None:
        super().__init__()
        # Plain types only, so that checkpoints load with weights_only=True (no pickle):
        # Hydra's instantiate hands list arguments over as OmegaConf ListConfigs.
        label_names = [str(name) for name in label_names]
        class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.save_hyperparameters(ignore=["encoder", "optimizer", "scheduler"])
        num_classes = len(label_names)
        self.encoder = build_encoder(encoder, vocab_size, pad_id, num_classes)
        self.head = classification_head(self.encoder.output_dim, num_classes, head_dropout)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.label_smoothing = label_smoothing
        self.decay_all = decay_all
        self.freeze = freeze
        if freeze:  # never unfreeze what an encoder froze itself
            self.encoder.requires_grad_(False)
        self.features: FeatureCache | None = None  # set when a frozen encoder starts fitting
        weights = torch.tensor(class_weights, dtype=torch.float) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)
        # logits are divided by it: 1 while training; `calibrate=temperature` fits it on
        # validation after the fit, and checkpoints carry it (textbench.temperature)
        self.register_buffer("temperature", torch.ones(()), persistent=False)
        self.monitor = monitor
        self.sign = 1.0 if monitor_mode == "max" else -1.0
        for stage in STAGES:
            setattr(self, f"{stage}_metrics", StageMetrics(stage, num_classes))
        self.best_val: dict[str, float] = {}
        # class probabilities of the test batches in the order the loader served them; after
        # the test epoch, one tensor per rank (each rank's share, gathered from all ranks)
        self.test_probabilities: list[torch.Tensor] = []

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        encode = self.features or self.encoder
        return self.head(encode(input_ids, lengths)) / self.temperature

    def _step(
        self, batch: dict[str, torch.Tensor], stage: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss and the logits of one batch; the stage's metrics are updated."""
        logits = self(batch["input_ids"], batch["lengths"])
        labels = batch["labels"]
        if stage == "train":
            loss = F.cross_entropy(
                logits, labels, weight=self.class_weights, label_smoothing=self.label_smoothing
            )
            # Lightning turns progress-bar values into Python floats after every step: free
            # on CPU, a host synchronisation per step on a GPU, so there the bar omits it.
            on_cpu = self.device.type == "cpu"
            self.log("train/loss_step", loss, prog_bar=on_cpu, batch_size=labels.size(0))
        else:
            loss = F.cross_entropy(logits, labels)
        self._metrics(stage).update(logits.detach(), labels, loss.detach())
        return loss, logits

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")[0]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self._step(batch, "test")[1]
        self.test_probabilities.append(torch.softmax(logits.detach().float(), dim=-1).cpu())

    def on_fit_start(self) -> None:
        """A frozen encoder gets its output cache (beside the token cache, when the run
        has one). Encoders with statistics of the training split (NBSVM's ratios) count
        them once, before the first step, over every training example (each DDP rank counts
        the whole split: its own share may repeat examples to even out the ranks); a
        resumed run has them."""
        if self.freeze:
            self.encoder.requires_grad_(False)  # also what word vectors loaded since
            tokens = getattr(self.trainer.datamodule, "cache", None)
            digest = encoder_digest(self.encoder, str(self.trainer.precision))
            folder = tokens.root.parent / "features" / digest if tokens else None
            self.features = FeatureCache(self.encoder, folder)
        fit = getattr(self.encoder, "fit_ratios", None)
        if fit is None or bool(self.encoder.fitted):
            return
        fit(self.trainer.datamodule.whole_split_loader("train"))

    def on_test_epoch_start(self) -> None:
        self.test_probabilities = []

    def _save_features(self) -> None:
        if self.features is not None:
            self.features.save()

    def _metrics(self, stage: str) -> "StageMetrics":
        return getattr(self, f"{stage}_metrics")

    def _log_epoch(self, stage: str) -> dict[str, float]:
        """Compute the epoch's metrics over all batches (and all ranks), log and reset."""
        values = self._metrics(stage).compute_and_reset()
        # Already reduced over ranks by torchmetrics; sync_dist only silences the DDP hint.
        # The progress bar shows what moves; the count of examples is logged beside it.
        counts = {k: v for k, v in values.items() if k.endswith("/examples")}
        moving = {k: v for k, v in values.items() if k not in counts}
        self.log_dict(moving, prog_bar=stage == "val", sync_dist=True)
        self.log_dict(counts, sync_dist=True)
        return values

    def on_train_epoch_end(self) -> None:
        self._save_features()
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._save_features()
        values = self._log_epoch("val")
        if self.trainer.sanity_checking:
            return
        best = self.best_val.get(self.monitor)
        if best is None or self.sign * values[self.monitor] > self.sign * best:
            self.best_val = {**values, "epoch": self.current_epoch}
        self.log(f"{self.monitor}_best", self.best_val[self.monitor], prog_bar=True)

    def on_test_epoch_end(self) -> None:
        self._save_features()
        self._log_epoch("test")
        mine = (
            torch.cat(self.test_probabilities)
            if self.test_probabilities
            else torch.zeros(0, self.head[-1].out_features)
        )
        if self.trainer.world_size == 1:
            self.test_probabilities = [mine]
            return
        # ranks hold shares of different sizes: gather the sizes, then the padded shares
        sizes = self.all_gather(torch.tensor(len(mine), device=self.device)).tolist()
        padded = torch.zeros(max(sizes), mine.size(1), device=self.device)
        padded[: len(mine)] = mine.to(self.device)
        shares = self.all_gather(padded).cpu()
        self.test_probabilities = [shares[r, :n] for r, n in enumerate(sizes)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["best_val"] = self.best_val

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.best_val = checkpoint.get("best_val", {})
        temperature = checkpoint.get("textbench", {}).get("temperature", 1.0)
        self.temperature.fill_(float(temperature))

    def _parameter_groups(self) -> list[dict[str, Any]]:
        """Weights of linear, recurrent and convolutional layers decay; biases, norms and
        embeddings do not (the usual practice, e.g. BERT), unless `decay_all`."""
        owner = self.head if self.freeze else self
        trainable = [p for p in owner.parameters() if p.requires_grad]
        if self.decay_all:
            return [{"params": trainable}]
        exempt = {
            id(p)
            for m in self.modules()
            if isinstance(m, nn.Embedding | nn.LayerNorm)
            for p in m.parameters(recurse=False)
        }
        exempt |= {id(p) for name, p in self.named_parameters() if name.endswith("bias")}
        return [
            {"params": [p for p in trainable if id(p) not in exempt]},
            {"params": [p for p in trainable if id(p) in exempt], "weight_decay": 0.0},
        ]

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(params=self._parameter_groups())
        if self.scheduler_factory is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)
        return {
            "optimizer": optimizer,
            "lr_scheduler": self.scheduler_factory(optimizer=optimizer, total_steps=total_steps),
        }


class StageMetrics(nn.Module):
    """Accuracy, macro-F1, expected calibration error (15 equal-width bins of the top
    probability, as Guo et al. 2017), mean loss and example count of one stage, synced
    across ranks."""

    def __init__(self, stage: str, num_classes: int) -> None:
        super().__init__()
        self.stage = stage
        self.scores = MetricCollection(
            {
                # Our own tensors, always valid: skipping torchmetrics' per-update input
                # checks saves a host sync and milliseconds on every step.
                "acc": MulticlassAccuracy(num_classes, average="micro", validate_args=False),
                "f1": MulticlassF1Score(num_classes, average="macro", validate_args=False),
            },
            prefix=f"{stage}/",
        )
        # nan_strategy="disable": no NaN scan (a host sync) on every update; a NaN loss
        # stops training anyway (StopOnNonFiniteLoss).
        self.ece = MulticlassCalibrationError(num_classes, n_bins=15, validate_args=False)
        self.loss = MeanMetric(nan_strategy="disable")
        self.examples = SumMetric(nan_strategy="disable")

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor) -> None:
        self.scores.update(logits, labels)
        self.ece.update(logits.float().softmax(dim=-1), labels)
        self.loss.update(loss, weight=labels.size(0))
        self.examples.update(labels.new_tensor(labels.size(0), dtype=torch.float))

    def compute_and_reset(self) -> dict[str, float]:
        values = {k: v.item() for k, v in self.scores.compute().items()}
        values[f"{self.stage}/ece"] = self.ece.compute().item()
        values[f"{self.stage}/loss"] = self.loss.compute().item()
        values[f"{self.stage}/examples"] = self.examples.compute().item()
        for metric in (self.scores, self.ece, self.loss, self.examples):
            metric.reset()
        return values
