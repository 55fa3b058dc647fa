"""textbench from Python (a notebook, a service): train an experiment, load a run, predict.

    import textbench
    results = textbench.train(["model=cnn", "trainer.max_epochs=2"])
    classifier = textbench.load(results["output_dir"])
    classifier.predict(["a gripping, beautifully shot film", "dull and far too long"])

The same configs, checks and run directories as `textbench-train`, through Hydra's
compose API; loading goes through the same safe checkpoint reader as `textbench-predict`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]


class Classifier:
    """A trained run, ready to label new texts."""

    def __init__(self, loaded: Any) -> None:
        self._loaded = loaded

    @property
    def label_names(self) -> list[str]:
        return list(self._loaded.label_names)

    @property
    def checkpoint(self) -> Path:
        return self._loaded.path

    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities [len(texts), classes], columns in `label_names` order."""
        from textbench.inference.probabilities import predict_texts

        return predict_texts(self._loaded, list(texts), batch_size)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        """The most probable label of each text, with every class's probability."""
        names = self.label_names
        return [
            Prediction(names[int(row.argmax())], dict(zip(names, map(float, row), strict=True)))
            for row in self.predict_proba(texts, batch_size)
        ]


def load(run: str | Path, trust: Sequence[str] = ()) -> Classifier:
    """A run directory (its best checkpoint) or a checkpoint file; `trust` names modules
    besides textbench's whose classes the checkpoint may use (your own models)."""
    from textbench.inference.checkpoint import load_checkpoint

    return Classifier(load_checkpoint(run, list(trust)))


def compose_config(overrides: Sequence[str], output_dir: str | Path) -> Any:
    """The train config as `textbench-train OVERRIDES` composes it, writing into
    `output_dir` (Hydra's compose API; Hydra's own settings set aside)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from textbench.config import config_dir, register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        del cfg.hydra
    return cfg


def train(overrides: Sequence[str] = (), output_dir: str | Path | None = None) -> dict[str, Any]:
    """Run one experiment as `textbench-train OVERRIDES` would, in this process; returns
    what its metrics.json holds (metrics, output_dir, checkpoints). `output_dir` defaults
    to a new directory under outputs/train/runs/, as on the command line."""
    from textbench.config import stamped_name
    from textbench.schema import validate

    cfg = compose_config(overrides, output_dir or "")
    out = Path(output_dir or Path(cfg.paths.log_dir) / cfg.task_name / "runs" / stamped_name())
    cfg.paths.output_dir = str(out)
    validate(cfg, "train")
    out.mkdir(parents=True, exist_ok=True)
    from textbench.training.run import train as run

    return run(cfg)
