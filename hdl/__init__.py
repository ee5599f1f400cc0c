"""tpegen hardware generators (Amaranth 0.5 ``wiring.Component`` subclasses)."""

from .fp.fma import Fma
from .fp.fmac import FMac
from .fp.fpmul import FpMul
from .fp.lmul import LMac, LMul
from .mac import Mac

__all__ = ["Mac", "LMul", "Fma", "FMac", "FpMul", "LMac"]
