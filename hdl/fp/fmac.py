"""Floating-point multiply-accumulate: ``acc <- round(acc + a*b)`` through one FMA datapath
(:class:`hdl.fp.fma.Fma`, exact or with approximate normalization) with the accumulator in
the loop, so one operand pair enters every cycle. The golden model is
:class:`golden.fp.fma.Mac`.

Members
-------
a, b : In(fmt_in.width)
    Multiplicand bit patterns.
clear : In(1)
    Start this cycle's accumulation from ``+0`` (with ``enable`` low: load ``+0``).
enable : In(1)
    Accumulate ``a*b`` this cycle.
result : Out(fmt_acc.width)
    The accumulator, ``latency`` (1) clock edge after the operands that updated it.
"""

from amaranth.hdl import Module

from tpegen.config import FMacConfig

from .common import FpUnit, accumulate
from .fma import datapath

__all__ = ["FMac"]


class FMac(FpUnit):
    """Floating-point MAC generator; see the module docstring."""

    config_class = FMacConfig
    shape = "accumulator"

    def elaborate(self, platform):
        m = Module()
        accumulate(m, self, lambda base: datapath(m, self.config.fma, self.a, self.b, base))
        return m
