"""Checks of config values that run before any data is loaded or heavy library imported.

Each failure is one `ConfigError` sentence naming the key, the value and what is allowed.
"""

from omegaconf import DictConfig

from textbench.errors import ConfigError

POOLINGS = {
    "lstm": ("last", "max", "mean"),
    "transformer": ("cls", "mean"),
    "pretrained": ("cls", "mean"),
}
EMBEDDING_INITS = ("auto", "uniform", "normal", "pytorch")


def check_config(cfg: DictConfig) -> None:
    _positive(cfg, "optimizer.lr", example="1e-3")
    _positive(cfg, "data.max_length", example="256", integer=True)
    _positive(cfg, "data.batch_size", example="64", integer=True)
    val_fraction = cfg.data.get("val_fraction")
    if val_fraction is not None and not 0 < val_fraction < 1:
        raise ConfigError(f"data.val_fraction={val_fraction} must lie strictly between 0 and 1.")
    if cfg.get("train") and cfg.get("trainer", {}).get("max_epochs") == 0:
        raise ConfigError(
            "trainer.max_epochs=0 with train=true trains nothing; set trainer.max_epochs to 1 "
            "or more, or train=false ckpt_path=CKPT to only test a checkpoint."
        )
    init = cfg.get("embeddings", {}).get("init")
    if init is not None:
        check_choice("embeddings.init", init, EMBEDDING_INITS)
    _positive(cfg, "embeddings.scale", example="0.25")
    encoder = cfg.model.get("encoder") or {}
    kind = str(encoder.get("_target_", "")).rsplit(".", 2)[-2] if encoder else ""
    if "pooling" in encoder and kind in POOLINGS:
        check_choice("model.encoder.pooling", encoder.pooling, POOLINGS[kind])


def check_choice(key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{key}={value!r} is not allowed here; choose one of {', '.join(allowed)}."
        )


def _positive(cfg: DictConfig, key: str, example: str, integer: bool = False) -> None:
    section, name = key.split(".")
    value = cfg.get(section, {}).get(name)
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value <= 0
        or (integer and not isinstance(value, int))
    ):
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{key}={value!r} is invalid: it must be {kind} (e.g. {key}={example}).")
