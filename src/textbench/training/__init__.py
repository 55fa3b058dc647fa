"""Training: the `train` recipe, schedulers, and the record each run leaves behind."""
