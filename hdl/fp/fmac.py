"""Floating-point multiply-accumulate: ``acc <- round(acc + a*b)`` through one FMA datapath
(:class:`hdl.fp.fma.Fma`, exact or with approximate normalization) with the accumulator in
the loop, so one operand pair enters every cycle. The golden model is
:class:`golden.fp.fma.Mac`.

With ``accumulator="unnormalized"`` the register holds the internal sum of
:class:`hdl.fp.fma.AccState` (sign, unnormalized significand, wide exponent, inf/NaN flags),
each step rounds it to odd without normalizing it exactly, and ``result`` is its exact
readout into ``fmt_acc`` (docs/fp.md, "Unnormalized accumulator"; golden model
:class:`golden.fp.fma.UnnormalizedMac`).

Members
-------
a : In(fmt_a.width)
    Multiplicand bit pattern in ``fmt_a``.
b : In(fmt_b.width)
    Multiplicand bit pattern in ``fmt_b`` (``fmt_in`` sets both formats; e.g. ``e4m3fn``
    activations times ``e5m2`` gradients).
clear : In(1)
    Start this cycle's accumulation from ``+0`` (with ``enable`` low: load ``+0``).
enable : In(1)
    Accumulate ``a*b`` this cycle.
result : Out(fmt_acc.width)
    The accumulator (or its readout), ``latency`` (1) clock edge after the operands that
    updated it.
"""

from amaranth.hdl import Module

from tpegen.config import FMacConfig

from .common import FpUnit, accumulate
from .fma import AccState, datapath, unnormalized_readout, unnormalized_step

__all__ = ["FMac"]


class FMac(FpUnit):
    """Floating-point MAC generator; see the module docstring."""

    config_class = FMacConfig
    shape = "accumulator"

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        if cfg.unnormalized:
            accumulate(m, self, lambda base: unnormalized_step(m, cfg, self.a, self.b, base),
                       width=AccState(cfg).width,
                       readout=lambda acc: unnormalized_readout(m, cfg, acc))
        else:
            accumulate(m, self, lambda base: datapath(m, cfg.fma, self.a, self.b, base))
        return m
