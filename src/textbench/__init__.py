"""textbench: config-driven, reproducible text-classification experiments.

`textbench.train(overrides)` runs an experiment; `textbench.load(run)` gives a classifier
with `.predict(texts)`. Both import torch only when called.
"""

from textbench.api import Classifier, Prediction, load, train

__all__ = ["Classifier", "Prediction", "load", "train"]
__version__ = "0.1.0"
