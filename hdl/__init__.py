"""tpegen hardware generators (Amaranth 0.5 ``wiring.Component`` subclasses)."""

from .fp.lmul import LMul
from .mac import Mac

GENERATORS = {"mac": Mac, "lmul": LMul}

__all__ = ["Mac", "LMul", "GENERATORS"]
