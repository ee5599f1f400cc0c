"""tpegen hardware generators (Amaranth 0.5 ``wiring.Component`` subclasses)."""

from .fp.fma import Fma
from .fp.fmac import FMac
from .fp.lmul import LMul
from .mac import Mac

GENERATORS = {"mac": Mac, "lmul": LMul, "fma": Fma, "fmac": FMac}

__all__ = ["Mac", "LMul", "Fma", "FMac", "GENERATORS"]
