"""Inference: load a self-contained checkpoint, then evaluate, predict or export."""
