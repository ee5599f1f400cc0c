"""Golden model of the mixed-precision group PE (MixPE style; :class:`hdl.pe.mixpe.MixPe`, same
name and parameters), written from the spec here and in docs/pe.md, not from the RTL.

Spec
----
Operands: ``a`` a weight of ``w_width`` bits (two's complement if ``w_signed``, else unsigned
with the zero point ``zero``), ``b`` an activation in ``act`` (int8, fp16 or bf16), ``scale``
the group's fp16 scale. The dequantized weight is ``(w - z) * scale`` (``z = 0`` for signed
weights); ``result`` is an fp32 accumulator.

``datapath="shift-add"`` (MixPE). Every enabled cycle adds one product to the open group;
the group keeps ``sum w * b`` and ``sum b`` exactly (fixed point, :mod:`golden.pe.dequant`),
plus the flags of infinite and NaN activations. The product that is the group's ``group``-th
since it opened, or that comes with ``last``, *closes* it: ``scale`` and ``zero`` are read on
that cycle; on the next clock edge the partial sum ``P = sum w*b - z * sum b`` is rounded
once to fp32, and on the one after ``acc <- round(P32 * scale + acc)`` (one fused rounding;
``acc`` is taken as +0 for the first group after a ``clear``). ``clear`` discards the open
group and starts a new accumulation with this cycle's product (if ``enable``); the
accumulator itself restarts at the first group that closes after it, so a closing group
still in the pipeline is not lost. ``result`` is ``acc``: a closing product shows in it
``latency`` = 3 clock edges later.

``datapath="dequant"`` (the baseline). Every product is dequantized first, the way a
general FP MAC array runs a quantized model: ``w_F = round_F((w - z) * scale)`` with
``F = fp16`` (int8 and fp16 activations; an int8 activation is exact in fp16) or bf16, then
the exact FP MAC ``acc <- round_fp32(w_F * b_F + (0 if clear else acc))`` one edge later
(latency 2; ``scale`` and ``zero`` read every cycle; it has no ``last`` input, and ignores
the one :meth:`MixPe.tick` takes).

Members
-------
MixPe
    The cycle model of ``shape`` independent PEs (numpy; ``shape=()`` for one):
    ``reset()``, ``tick(a, b, scale, zero, clear, enable, last)``, ``result``.
"""

import numpy as np

from golden.fp import vfma
from tpegen.config import MixPeConfig
from tpegen.dtypes import dequant_format

from . import dequant

__all__ = ["MixPe"]


def _weights(a, cfg):
    a = np.asarray(a).astype(np.int64) & ((1 << cfg.w_width) - 1)
    if cfg.w_signed:
        a = a - ((a >> (cfg.w_width - 1)) << cfg.w_width)
    return a


class MixPe:
    """Cycle model of ``shape`` MixPE group PEs (see the module docstring).

    Parameters
    ----------
    config : MixPeConfig, optional
        The parameters; alternatively pass them as keyword arguments.
    shape : tuple
        Independent PEs (``()``: one, with scalar inputs).
    """

    takes = ("a", "b", "scale", "zero", "clear", "enable", "last")

    def __init__(self, config=None, shape=(), **params):
        self.config = config = MixPeConfig.given(config, **params)
        self.shape = tuple(shape)
        self.reset()

    def reset(self):
        """The synchronous reset: no open group, no group in the second stage, ``acc = +0``."""
        z = np.zeros(self.shape, np.int64)
        wide = self.config.act == "bf16"
        self.sum_wb = z.astype(object) if wide else z.copy()
        self.sum_b = z.astype(object) if wide else z.copy()
        self.count = z.copy()
        self.fresh = np.ones(self.shape, bool)
        self.tally = dequant.InfTally(self.shape)
        self.stage = (np.zeros(self.shape, bool), z.copy(), z.copy(), np.zeros(self.shape, bool))
        self.stage3 = self.stage
        self.acc = z.copy()

    @property
    def result(self):
        """The ``result`` port's bits (fp32) now."""
        return self.acc if self.shape else int(self.acc)

    def tick(self, a, b, scale, zero, clear, enable, last):
        """One rising edge with these inputs (bit patterns; arrays of ``shape`` or scalars);
        returns :attr:`result` after it."""
        cfg = self.config
        shape = self.shape
        clear, enable, last = (np.broadcast_to(np.asarray(x).astype(bool), shape)
                               for x in (clear, enable, last))
        scale = np.broadcast_to(np.asarray(scale).astype(np.int64) & 0xFFFF, shape)
        w = np.broadcast_to(_weights(a, cfg), shape)
        z = (np.zeros(shape, np.int64) if cfg.w_signed else
             np.broadcast_to(np.asarray(zero).astype(np.int64) & ((1 << cfg.w_width) - 1),
                             shape))
        if cfg.datapath == "dequant":
            return self._tick_dequant(w, b, scale, z, clear, enable)
        # stage 3: the group rounded to fp32 on the previous edge is scaled into acc
        valid, p32, s, fresh = self.stage3
        base = np.where(fresh, 0, self.acc)
        self.acc = np.where(valid, dequant.step(base, p32, s).reshape(shape), self.acc)
        # stage 2: the group that closed on the previous edge, rounded to fp32
        self.stage3 = self.stage
        # stage 1: the open group
        value, inf, nan = dequant.act_fixed(np.broadcast_to(b, shape), cfg.act)
        keep = ~clear
        dt = self.sum_wb.dtype                     # Python integers for bf16

        def sel(c, x, y):                          # np.where, keeping dt (0-d arrays too)
            return np.asarray(np.where(c, np.asarray(x, dt), np.asarray(y, dt)), dt)
        wb = np.asarray(w.astype(dt) * value.astype(dt), dt)
        self.sum_wb = np.asarray(sel(keep, self.sum_wb, 0) + sel(enable, wb, 0), dt)
        self.sum_b = np.asarray(sel(keep, self.sum_b, 0) + sel(enable, value, 0), dt)
        self.count = np.where(keep, self.count, 0) + enable
        self.fresh = self.fresh | clear
        self.tally.clear(clear)
        self.tally.add(w, inf, nan, enable)
        close = enable & ((self.count == cfg.group) | last)
        psum = np.asarray(self.sum_wb - z.astype(dt) * self.sum_b, dtype=dt)
        flags = dequant.special(self.tally.snapshot(), z)
        p32_new = dequant.to_fp32(sel(close, psum, 0), cfg.act, nan=flags[0],
                                  pinf=flags[1], ninf=flags[2])
        self.stage = (close.copy(), p32_new, scale.copy(), self.fresh & close)
        self.fresh = self.fresh & ~close
        self.sum_wb = sel(close, 0, self.sum_wb)
        self.sum_b = sel(close, 0, self.sum_b)
        self.count = np.where(close, 0, self.count)
        self.tally.clear(close)
        return self.result

    def _tick_dequant(self, w, b, scale, z, clear, enable):
        cfg = self.config
        F = dequant_format(cfg.act)
        # stage 2: the exact FP MAC on the registered dequantized weight and activation
        valid, w_f, b_f, st_clear = self.stage
        base = np.where(st_clear, 0, self.acc)
        self.acc = np.where(valid, vfma.fma(w_f, b_f, base, fmt_in=F, fmt_acc="fp32")
                            .reshape(self.shape), base)
        # stage 1: dequantize the weight, convert the activation
        d = vfma.encode((w - z).astype(np.float64), F)
        w_f = vfma.fma(d, scale, 1 << 15, fmt_a=F, fmt_b="fp16", fmt_acc=F).reshape(self.shape)
        # (+ -0: the product alone, rounded once)
        b = np.broadcast_to(np.asarray(b).astype(np.int64), self.shape)
        if cfg.act == "int8":
            value, _, _ = dequant.act_fixed(b, "int8")
            b = vfma.encode(value.astype(np.float64), "fp16").reshape(self.shape)
        self.stage = (enable.copy(), w_f, b, clear.copy())
        return self.result
