"""The one exception type users see: a problem with their config or data, not a bug."""


class ConfigError(ValueError):
    """Invalid config value or data; the message names the key and how to fix it."""
