"""textbench: config-driven, reproducible text-classification experiments."""

__version__ = "0.1.0"
