"""Exact floating-point multiplier ``result = round(a*b)``: the FMA datapath
(:func:`hdl.fp.fma.datapath`) with the addend tied to ``-0``, which IEEE 754 makes an exact
multiplication (signed zeros included); synthesis removes the addend's logic. It is the
baseline the L-Mul multiplier is measured against, so it keeps L-Mul's single format: ``a``,
``b`` and ``result`` are all in ``format`` (``config.fa == config.fb == config.fmt``). Golden
model: ``tpegen.registry.model(config)`` (``golden.fp.fma.fma(a, b, -0)``).

Members
-------
a, b : In(format.width)
    Operand bit patterns, both in ``format``.
result : Out(format.width)
    ``round(a*b)``, registered: ``latency`` (1) clock edge after the operands.
"""

from amaranth.hdl import Const, Module

from tpegen.config import FpMulConfig

from .common import FpUnit
from .fma import datapath

__all__ = ["FpMul"]


class FpMul(FpUnit):
    """Exact floating-point multiplier generator; see the module docstring."""

    config_class = FpMulConfig

    def elaborate(self, platform):
        m = Module()
        fmt = self.config.fmt
        minus_zero = Const(1 << (fmt.width - 1), fmt.width)
        m.d.sync += self.result.eq(datapath(m, self.config.fma, self.a, self.b, minus_zero))
        return m
