"""tpegen hardware generators (Amaranth 0.5 ``wiring.Component`` subclasses)."""

from .mac import Mac

GENERATORS = {"mac": Mac}

__all__ = ["Mac", "GENERATORS"]
