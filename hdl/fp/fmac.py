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

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import FMacConfig

from .fma import datapath

__all__ = ["FMac"]


class FMac(wiring.Component):
    """Floating-point MAC generator; see the module docstring."""

    def __init__(self, config=None, **params):
        if config is None:
            config = FMacConfig(**params)
        self.config = config
        self.fin, self.facc = config.fin, config.facc
        self.formats = {"a": self.fin.name, "b": self.fin.name, "result": self.facc.name}
        self.stats = {"window_bits": config.fma.layout.width}
        super().__init__({"a": In(self.fin.width), "b": In(self.fin.width), "clear": In(1),
                          "enable": In(1), "result": Out(self.facc.width)})

    @property
    def latency(self):
        return self.config.latency

    def elaborate(self, platform):
        m = Module()
        acc = Signal(self.facc.width, name="acc")
        base = Signal(self.facc.width, name="base")
        m.d.comb += [base.eq(Mux(self.clear, 0, acc)), self.result.eq(acc)]
        total = datapath(m, self.config.fma, self.a, self.b, base)
        m.d.sync += acc.eq(Mux(self.enable, total, base))
        return m
