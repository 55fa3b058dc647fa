"""Where the configs live and the small OmegaConf resolvers they use.

Kept free of heavy imports: it runs before `--help` and config errors.
"""

import os
import secrets
from importlib.util import find_spec
from pathlib import Path

from omegaconf import OmegaConf


def config_dir() -> str:
    """`conf/` packaged inside an installed wheel, else the checkout's top-level `conf/`."""
    packaged = Path(__file__).parent / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")


def stamped_name() -> str:
    """`<date>_<time>_<run id>`: the name of a new output directory."""
    from datetime import datetime

    return f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{run_id()}"


def run_id() -> str:
    """A short suffix that keeps two runs started in the same second apart."""
    return f"{os.getpid()}{secrets.token_hex(2)}"


def package_dir(package: str) -> str:
    """The folder of an installed package, found without importing it."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        from textbench.errors import ConfigError

        raise ConfigError(
            f"The Python package {package!r} is not installed; pip install "
            f"{package.replace('_', '-')} (or give the path by hand)."
        )
    return spec.submodule_search_locations[0]


def as_typed(override: str) -> str:
    """An override as the user typed it, for display: Hydra hands a sweep's jobs their
    interpolations escaped (`[$\\{paths.data_dir\\}/x]` for `[${paths.data_dir}/x]`)."""
    return override.replace("$\\{", "${").replace("\\}", "}")


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("run_id"):
        OmegaConf.register_new_resolver("run_id", run_id, use_cache=True)
    if not OmegaConf.has_resolver("package_dir"):
        OmegaConf.register_new_resolver("package_dir", package_dir)
    if not OmegaConf.has_resolver("join"):  # a list as one string (MLflow tag values)
        OmegaConf.register_new_resolver("join", lambda items: ",".join(map(str, items)))
