"""Mixed-precision group PE (MixPE style): low-bit integer weights times int8, fp16 or bf16
activations, the product formed by shift-and-add on the weight bits, the group's partial sum
kept exact, and the dequantization (scale, zero point) applied once per group of ``group``
products. The spec (the cycle rule, the numerics, the specials) is in :mod:`golden.pe.mixpe`,
its golden model, and docs/pe.md.

MixPE (Zhang et al., 2024, arXiv 2411.16158) observes that with group quantization the scale
and zero point are common to a whole group, so a PE can sum the group's integer-weight
products first and dequantize once; its int4 x fp16 multiplier is a shift-and-add of the
activation by the weight bits. Its claims (2.6x speedup, 1.4x energy against prior
quantization accelerators) are system-level; bench/qor_pe.py measures this PE against the
baseline below in the same flow.

Datapaths
---------
``shift-add`` (MixPE)
    Stage 1, every cycle: the activation is split into significand and exponent
    (:func:`hdl.pe.dequant.act_parts`; int8: its value), the product ``w * sig`` is the
    array of weight-bit-times-significand dots (shift-and-add), shifted by the exponent and
    added to the group's exact fixed-point sum ``sum w*b`` through one bit-matrix reduction
    and final adder (and, for unsigned weights, whose zero point is applied at the close,
    to ``sum b`` by a plain adder). Stage 2, once per group: ``P = sum w*b - z * sum b`` (the
    ``z * sum b`` dots in the same matrix), rounded once to fp32
    (:func:`hdl.pe.dequant.to_float`); stage 3: ``acc <- round(P32 * scale + acc)``
    (:func:`hdl.pe.dequant.step`, the exact FMA datapath). The stage registers load only on a
    close, so the dequantizer's inputs switch once per group.
``dequant`` (the baseline)
    Stage 1: ``w_F = round_F((w - z) * scale)`` (an exact FMA datapath with addend -0) and the
    activation in ``F``; stage 2: the exact FP MAC ``acc <- round_fp32(w_F * b_F + base)``.

Members
-------
a : In(w_width)
    The weight (two's complement if ``w_signed``).
b : In(8 or 16)
    The activation in ``act``.
scale : In(16)
    The group's fp16 scale: read on a group's closing cycle (``dequant``: every cycle).
zero : In(w_width)
    The zero point of unsigned weights (only when ``w_signed`` is false), read like ``scale``.
clear, enable : In(1)
    Start a new accumulation (the open group is dropped); add this cycle's product.
last : In(1)
    This cycle's product closes its group even before its ``group``-th product (a tile's
    last beat in an engine); ``shift-add`` only (the baseline has no groups).
result : Out(32)
    The fp32 accumulator, ``latency`` clock edges after a closing product (shift-add: 3,
    dequant: 2).
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import FmaConfig, MixPeConfig
from tpegen.dtypes import dequant_format
from tpegen.formats import FORMATS

from ..arith import BitMatrix, add_product, final_add, reduce_matrix
from ..fp.fma import datapath
from . import dequant

__all__ = ["MixPe"]


def _bits(n):
    return int(n).bit_length()


class MixPe(wiring.Component):
    """MixPE group PE generator; see the module docstring.

    Parameters
    ----------
    config : MixPeConfig, optional
        The parameters; alternatively pass them as keyword arguments.
    """

    def __init__(self, config=None, **params):
        self.config = config = MixPeConfig.given(config, **params)
        self.stats = {}
        act_bits = 8 if config.act == "int8" else 16
        members = {"a": In(config.w_width), "b": In(act_bits), "scale": In(16)}
        if not config.w_signed:
            members["zero"] = In(config.w_width)
        members.update({"clear": In(1), "enable": In(1)})
        if config.datapath == "shift-add":
            members["last"] = In(1)
        members["result"] = Out(32)
        super().__init__(members)
        # the manifest's ``formats``: the weights' integer format, the activations', fp16
        # scale, fp32 result
        self.formats = {"a": config.w_format, "b": config.act, "scale": "fp16",
                        "result": "fp32"}

    @property
    def latency(self):
        return self.config.latency

    def widths(self):
        """Bits of the exact group sums: the registers ``sum_wb`` and ``sum_b``, and the
        (combinational) ``P = sum_wb - z * sum_b`` of the close stage."""
        cfg = self.config
        amax = dequant.act_max(cfg.act) * cfg.group
        wmax = (1 << (cfg.w_width - 1)) if cfg.w_signed else (1 << cfg.w_width) - 1
        return (_bits(wmax * amax) + 1, _bits(amax) + 1,
                _bits(2 * ((1 << cfg.w_width) - 1) * amax) + 1)

    def elaborate(self, platform):
        m = Module()
        if self.config.datapath == "dequant":
            self._baseline(m)
        else:
            self._shift_add(m)
        return m

    # --- MixPE -----------------------------------------------------------------------------

    def _closes(self, count_new):
        """Whether this cycle's product closes its group: the ``group``-th, or ``last``."""
        return self.enable & ((count_new == self.config.group) | self.last)

    def _product(self, m, parts, w, enable):
        """``(w*b, b)`` of this cycle (0 unless ``enable``), as signed values."""
        cfg = self.config
        W = cfg.w_width
        if parts.shift is None:                      # int8: the dots of w x b directly
            return None, Mux(enable, parts.sig, 0)
        # the sign of b folded into the weight: (-1)**s * w, W + 1 bits
        ws = Signal(signed(W + 1), name="w_signed")
        m.d.comb += ws.eq(Mux(enable, Mux(parts.sign, -w, w), 0))
        n = W + 1 + len(parts.sig) + 1
        prod_m = BitMatrix(n)
        self.stats["partial_product_rows"] = add_product(
            m, prod_m, ws.as_unsigned(), True, parts.sig, False, mult="array", prefix="shadd")
        reduced, stats = reduce_matrix(m, prod_m, tree=cfg.tree, prefix="shadd_t")
        self.stats.update({f"product_{k}": v for k, v in stats.items()})
        r0, r1 = reduced.rows()
        prod = final_add(m, r0, r1, n, kind=cfg.final_adder, prefix="shadd_cpa")
        bval = Signal(signed(len(parts.sig) + 1), name="b_signed")
        m.d.comb += bval.eq(Mux(enable, Mux(parts.sign, -parts.sig, parts.sig), 0))
        return prod.as_signed() << parts.shift, bval << parts.shift

    def _shift_add(self, m):
        cfg = self.config
        W, G = cfg.w_width, cfg.group
        wwb, wb, wp = self.widths()
        w = self.a.as_signed() if cfg.w_signed else self.a
        parts = dequant.act_parts(m, self.b, cfg.act, label="act")
        fp = parts.shift is not None
        keep = ~self.clear

        # stage 1: the open group
        sum_wb = Signal(signed(wwb), name="sum_wb")
        count = Signal(range(G + 1), name="count")
        fresh = Signal(init=1, name="fresh")
        aligned, bval = self._product(m, parts, w, self.enable)
        acc_m = BitMatrix(wwb)
        acc_m.add_value(Mux(keep, sum_wb, 0).as_signed())
        if aligned is None:
            wg = Signal(W, name="w_gated")
            m.d.comb += wg.eq(Mux(self.enable, self.a, 0))
            self.stats["partial_product_rows"] = add_product(
                m, acc_m, wg, cfg.w_signed, self.b, True, mult="array", prefix="shadd")
        else:
            acc_m.add_value(aligned)
        reduced, stats = reduce_matrix(m, acc_m, tree=cfg.tree, prefix="sum_t")
        self.stats.update(stats)
        r0, r1 = reduced.rows()
        new_wb = final_add(m, r0, r1, wwb, kind=cfg.final_adder, prefix="sum_cpa")

        count_new = Signal(range(G + 1), name="count_new")
        m.d.comb += count_new.eq(Mux(keep, count, 0) + self.enable)
        close = Signal(name="close")
        m.d.comb += close.eq(self._closes(count_new))
        fresh_base = Signal(name="fresh_base")
        m.d.comb += fresh_base.eq(fresh | self.clear)

        st_valid = Signal(name="st_valid")
        st_wb = Signal(signed(wwb), name="st_sum_wb")
        st_scale = Signal(16, name="st_scale")
        st_fresh = Signal(name="st_fresh")
        m.d.sync += [st_valid.eq(close), count.eq(Mux(close, 0, count_new)),
                     sum_wb.eq(Mux(close, 0, new_wb)), fresh.eq(fresh_base & ~close)]
        with m.If(close):
            m.d.sync += [st_wb.eq(new_wb), st_scale.eq(self.scale), st_fresh.eq(fresh_base)]

        zero = Const(0, 1)
        if not cfg.w_signed:                         # sum b, for the zero point
            sum_b = Signal(signed(wb), name="sum_b")
            st_b = Signal(signed(wb), name="st_sum_b")
            st_zero = Signal(W, name="st_zero")
            new_b = Signal(signed(wb), name="new_sum_b")
            m.d.comb += new_b.eq(Mux(keep, sum_b, 0) + bval)
            m.d.sync += sum_b.eq(Mux(close, 0, new_b))
            with m.If(close):
                m.d.sync += [st_b.eq(new_b), st_zero.eq(self.zero)]
            zero = st_zero

        nan = pinf = ninf = 0
        if fp:                                       # the flags of inf/NaN activations
            tally = dequant.InfTally(W, cfg.w_signed, name="tally")
            st_tally = dequant.InfTally(W, cfg.w_signed, name="st_tally")
            new = tally.next(m, w, parts, keep, self.enable, label="tally_new")
            for reg, nxt in zip(tally.signals(), new.signals()):
                m.d.sync += reg.eq(Mux(close, 0, nxt))
            with m.If(close):
                m.d.sync += [r.eq(n) for r, n in zip(st_tally.signals(), new.signals())]
            nan, pinf, ninf = dequant.special(m, st_tally, zero, label="special")

        # stage 2: P = sum w*b - z * sum b, rounded once to fp32, scaled into acc
        if cfg.w_signed:
            psum = st_wb
        else:
            neg_b = Signal(signed(wb + 1), name="st_neg_sum_b")
            m.d.comb += neg_b.eq(-st_b)
            p_m = BitMatrix(wp)
            p_m.add_value(st_wb)
            add_product(m, p_m, st_zero, False, neg_b.as_unsigned(), True, mult="array",
                        prefix="zp")
            reduced, _ = reduce_matrix(m, p_m, tree=cfg.tree, prefix="zp_t")
            r0, r1 = reduced.rows()
            psum = final_add(m, r0, r1, wp, kind=cfg.final_adder, prefix="zp_cpa").as_signed()
        p32 = dequant.to_float(m, psum, FORMATS["fp32"], unit=dequant.act_unit(cfg.act),
                               nan=nan, pinf=pinf, ninf=ninf, label="p32")
        # stage 3: the registered fp32 group sum times the scale, into acc
        st3_valid, st3_fresh = Signal(name="st3_valid"), Signal(name="st3_fresh")
        st3_p32, st3_scale = Signal(32, name="st3_p32"), Signal(16, name="st3_scale")
        m.d.sync += st3_valid.eq(st_valid)
        with m.If(st_valid):
            m.d.sync += [st3_p32.eq(p32), st3_scale.eq(st_scale), st3_fresh.eq(st_fresh)]
        acc = dequant.scale_into(m, valid=st3_valid, p32=st3_p32, scale=st3_scale,
                                 fresh=st3_fresh)
        m.d.comb += self.result.eq(acc)

    # --- the baseline ----------------------------------------------------------------------

    def _baseline(self, m):
        cfg = self.config
        W = cfg.w_width
        F = dequant_format(cfg.act)
        fF = FORMATS[F]
        d = Signal(signed(W + 1), name="w_minus_z")
        m.d.comb += d.eq(self.a.as_signed() if cfg.w_signed else self.a - self.zero)
        d_f = dequant.to_float(m, d, fF, unit=0, label="w_int")
        minus_zero = Const(1 << 15, 16)
        w_f = datapath(m, FmaConfig(fmt_a=F, fmt_b="fp16", fmt_acc=F), d_f, self.scale,
                       minus_zero)
        if cfg.act == "int8":
            b_f = dequant.to_float(m, self.b.as_signed(), fF, unit=0, label="act_f")
        else:
            b_f = self.b
        st_w, st_b = Signal(16, name="st_w"), Signal(16, name="st_b")
        st_en, st_clr = Signal(name="st_enable"), Signal(name="st_clear")
        m.d.sync += [st_w.eq(w_f), st_b.eq(b_f), st_en.eq(self.enable), st_clr.eq(self.clear)]
        acc = Signal(32, name="acc")
        base = Signal(32, name="acc_base")
        m.d.comb += base.eq(Mux(st_clr, 0, acc))
        mac = datapath(m, FmaConfig(fmt_a=F, fmt_b=F, fmt_acc="fp32"), st_w, st_b, base)
        m.d.sync += acc.eq(Mux(st_en, mac, base))
        m.d.comb += self.result.eq(acc)
