"""Exact floating-point multiplier ``result = round(a*b)``: the FMA datapath
(:func:`hdl.fp.fma.datapath`) with the addend tied to ``-0``, which IEEE 754 makes an exact
multiplication (signed zeros included); synthesis removes the addend's logic. It is the
baseline the L-Mul multiplier is measured against. Golden model: ``FpMulConfig.golden``.

Members
-------
a, b : In(format.width)
    Operand bit patterns.
result : Out(format.width)
    ``round(a*b)``, registered: ``latency`` (1) clock edge after the operands.
"""

from amaranth.hdl import Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import FpMulConfig

from .fma import datapath

__all__ = ["FpMul"]


class FpMul(wiring.Component):
    """Exact floating-point multiplier generator; see the module docstring."""

    def __init__(self, config=None, **params):
        if config is None:
            config = FpMulConfig(**params)
        self.config = config
        self.fmt = config.fmt
        self.formats = {"a": self.fmt.name, "b": self.fmt.name, "result": self.fmt.name}
        self.stats = {}
        width = self.fmt.width
        super().__init__({"a": In(width), "b": In(width), "result": Out(width)})

    @property
    def latency(self):
        return self.config.latency

    def elaborate(self, platform):
        m = Module()
        minus_zero = Const(1 << (self.fmt.width - 1), self.fmt.width)
        m.d.sync += self.result.eq(datapath(m, self.config.fma, self.a, self.b, minus_zero))
        return m
