"""Where the configs live and the small OmegaConf resolvers they use.

Kept free of heavy imports: it runs before `--help` and config errors.
"""

import os
import secrets
from pathlib import Path

from omegaconf import OmegaConf


def config_dir() -> str:
    """`conf/` packaged inside an installed wheel, else the checkout's top-level `conf/`."""
    packaged = Path(__file__).parent / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")


def _run_id() -> str:
    """A short suffix that keeps two runs started in the same second apart."""
    return f"{os.getpid()}{secrets.token_hex(2)}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("run_id"):
        OmegaConf.register_new_resolver("run_id", _run_id, use_cache=True)
