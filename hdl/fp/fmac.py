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

Dot-product terms
-----------------
``FMac(config, terms=T)`` with ``T > 1`` is the PE of the tree engines (``cube``,
``adder-tree``): ``a`` and ``b`` are arrays of ``T`` lanes and each enabled cycle does
``acc <- fdot(a, b, acc)``, the tree reduction of :mod:`golden.fp.fdot` (every term aligned
to the largest within a window, one bit-matrix sum, one rounding; RTL
:func:`hdl.fp.fdot.dot_datapath`). Its golden model is :class:`golden.fp.fdot.DotMac`
(vectorized: :class:`golden.fp.vfdot.DotMac`). It takes the exact, rounded accumulator only
(``normalize="exact"``, ``accumulator="rounded"``). With ``T = 1`` it is the FMA loop above.
"""

from amaranth.hdl import Module

from tpegen.config import MAX_TERMS, FMacConfig, ParameterError

from .common import FpUnit, accumulate
from .fdot import dot_datapath
from .fma import AccState, datapath, unnormalized_readout, unnormalized_step

__all__ = ["FMac"]


class FMac(FpUnit):
    """Floating-point MAC generator; see the module docstring."""

    config_class = FMacConfig
    shape = "accumulator"

    def __init__(self, config=None, *, terms=1, **params):
        if isinstance(terms, bool) or not isinstance(terms, int) or not 1 <= terms <= MAX_TERMS:
            raise ParameterError(f"terms={terms!r} is out of range: allowed 1..{MAX_TERMS}")
        super().__init__(config, terms=terms, **params)
        if terms > 1 and (self.config.unnormalized or self.config.normalize != "exact"):
            raise ParameterError("terms > 1 (a dot-product PE) takes normalize='exact' and "
                                 "accumulator='rounded' only (allowed: exact, rounded)")

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        if self.terms > 1:
            T = self.terms
            accumulate(m, self, lambda base: dot_datapath(
                m, cfg, [self.a[t] for t in range(T)], [self.b[t] for t in range(T)], base))
        elif cfg.unnormalized:
            accumulate(m, self, lambda base: unnormalized_step(m, cfg, self.a, self.b, base),
                       width=AccState(cfg).width,
                       readout=lambda acc: unnormalized_readout(m, cfg, acc))
        else:
            accumulate(m, self, lambda base: datapath(m, cfg.fma, self.a, self.b, base))
        return m
