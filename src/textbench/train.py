"""`textbench-train`: compose an experiment from config groups, train, test, record.

Only Hydra and OmegaConf are imported here, so `--help` and config errors return fast;
torch, Lightning and datasets load once a run really starts.
"""

import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from textbench.checks import check_config
from textbench.config import config_dir, register_resolvers
from textbench.errors import ConfigError

log = logging.getLogger("textbench")
register_resolvers()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Returns `optimized_metric`'s value, so that sweepers can optimise it."""
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        check_config(cfg)
        from textbench.training.run import train

        return train(cfg)["optimized_value"]
    except ConfigError as error:
        log.error("%s", error)
        if multirun:
            raise
        sys.exit(2)
    except Exception:
        if multirun:
            # Hydra runs the remaining jobs and reports only the first failure at the end.
            log.exception("Job failed: %s", HydraConfig.get().runtime.output_dir)
        raise


if __name__ == "__main__":
    main()
