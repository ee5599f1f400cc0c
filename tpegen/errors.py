"""The exception every layer raises for bad input (the CLI turns it into exit code 2)."""

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A generator parameter is out of its allowed range. The message names both."""
