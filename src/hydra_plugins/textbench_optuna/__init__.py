"""A Hydra sweeper on current Optuna (hydra-optuna-sweeper pins optuna<3)."""
