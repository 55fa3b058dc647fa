"""Argument parsing for the inference commands: `key=value` pairs, as textbench-train takes.

Kept free of heavy imports so that `--help` and argument errors return at once.
"""

import sys
from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textbench.errors import ConfigError


def parse(
    argv: Sequence[str], usage: str, defaults: dict[str, Any], required: Sequence[str]
) -> DictConfig:
    """`key=value` arguments over `defaults`; `data.*` keys pass through unchecked."""
    if any(a in ("-h", "--help") for a in argv):
        print(usage)
        sys.exit(0)
    bad = [a for a in argv if "=" not in a]
    if bad:
        fail(f"Arguments are key=value pairs; got {bad}.", usage)
    pairs = dict(a.split("=", 1) for a in argv)
    unknown = sorted(k for k in pairs if k not in defaults and not k.startswith("data."))
    if unknown:
        fail(
            f"Unknown argument(s) {unknown}; the arguments are {sorted(defaults)} and data.*.",
            usage,
        )
    # Our own keys stay strings (input=- is a path, not YAML); data.* values are YAML typed,
    # as on the textbench-train command line.
    data = OmegaConf.from_dotlist([f"{k}={v}" for k, v in pairs.items() if k.startswith("data.")])
    ours = {k: v for k, v in pairs.items() if k in defaults}
    merged = OmegaConf.merge(defaults, ours, data)
    missing = [k for k in required if merged.get(k) in (None, "")]
    if missing:
        fail(f"Missing required argument(s): {', '.join(f'{k}=...' for k in missing)}.", usage)
    return merged


def trusted_modules(value: str | None) -> list[str]:
    """`trust=pkg.models` or `trust=[a.models,b]`: modules a checkpoint may name classes of."""
    if not value:
        return []
    return [m.strip() for m in str(value).strip("[]").split(",") if m.strip()]


def fail(message: str, usage: str = "") -> None:
    print(f"error: {message}" + (f"\n\n{usage}" if usage else ""), file=sys.stderr)
    sys.exit(2)


def run(command: Callable[[], None]) -> None:
    """Run a command; config and data errors become one message and exit status 2."""
    try:
        command()
    except ConfigError as error:
        fail(str(error))
