"""L-Mul multiplier: one integer addition of the packed ``[exponent | mantissa]`` fields.

Semantics, special values and their policy are those of :mod:`golden.fp.lmul` (the spec):

    field = field(a) + field(b) - (bias << m) + 2**(m - l(m)),   sign = sign(a) ^ sign(b)

with zero/subnormal operands giving a signed zero, NaN for NaN operands and 0 x inf, inf for
inf x non-zero (IEEE formats), overflow to inf (IEEE) or the largest finite number (fn/finite
formats), and underflow (``field < 2**m``) to a signed zero.

L-Mul adds the two operands' ``[exponent | mantissa]`` fields as one integer, so both operands
have one format (``config.fa == config.fb == config.fmt``); the L-Mul MAC likewise
(``fmt_in``).

Members
-------
a, b : In(width)
    Operand bit patterns, both in ``format``.
result : Out(width)
    Product bit pattern, registered: ``latency`` (1) clock edge after the operands.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed

from tpegen.config import LMacConfig, LMulConfig
from tpegen.formats import lmul_offset_exponent as offset_exponent

from .common import FpUnit, accumulate, unpack
from .fma import datapath

__all__ = ["LMul", "LMac", "lmul_product"]


class LMul(FpUnit):
    """L-Mul generator; see the module docstring."""

    config_class = LMulConfig

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.result.eq(lmul_product(m, self.config.fmt, self.a, self.b))
        return m


def lmul_product(m, f, a_bits, b_bits):
    """Add the L-Mul logic of ``a_bits * b_bits`` (format ``f``) to ``m``; returns the
    product."""
    mb, w = f.man_bits, f.width
    # subnormal operands count as zero (the L-Mul policy): unpack them flushed
    a = unpack(m, a_bits, f, subnormals=False, label="a")
    b = unpack(m, b_bits, f, subnormals=False, label="b")
    a_zero, a_nan, a_inf = a.zero, a.nan, a.inf
    b_zero, b_nan, b_inf = b.zero, b.nan, b.inf
    sign = Signal(name="sign")
    m.d.comb += sign.eq(a_bits[w - 1] ^ b_bits[w - 1])

    field = Signal(signed(w + 2), name="field")
    offset = (1 << mb) >> offset_exponent(mb)
    m.d.comb += field.eq(a_bits[:w - 1] + b_bits[:w - 1] - (f.bias << mb) + offset)
    underflow = Signal(name="underflow")
    overflow = Signal(name="overflow")
    m.d.comb += [
        underflow.eq(field < (1 << mb)),
        overflow.eq(field > f.max_code),
    ]
    sign_bit = sign << (w - 1)
    zero_out = sign_bit
    max_out = sign_bit | ((f.emax + f.bias) << mb) | f.max_mantissa
    inf_out = sign_bit | f.inf_code if f.has_inf else max_out
    nan_out = f.nan_code if f.has_nan else max_out
    normal = sign_bit | field[:w - 1]

    value = Signal(w, name="value")
    m.d.comb += value.eq(
        Mux(a_nan | b_nan | ((a_inf | b_inf) & (a_zero | b_zero)), nan_out,
            Mux(a_inf | b_inf, inf_out,
                Mux(a_zero | b_zero | underflow, zero_out,
                    Mux(overflow, inf_out, normal)))))
    return value


class LMac(FpUnit):
    """L-Mul multiply-accumulate: ``acc <- round(acc + lmul(a, b))`` (golden model
    :class:`golden.fp.lmul.LMac`). The L-Mul product enters the FMA datapath
    (:func:`hdl.fp.fma.datapath`) as ``product * 1.0 + acc``; synthesis removes the
    multiplication by the constant one.

    Members
    -------
    a, b : In(fmt_in.width)
        Operand bit patterns, both in ``fmt_in`` (L-Mul's single operand format).
    clear, enable : In(1)
        As for :class:`hdl.fp.fmac.FMac`.
    result : Out(fmt_acc.width)
        The accumulator, ``latency`` (1) clock edge after the operands that updated it.
    """

    config_class = LMacConfig
    shape = "accumulator"

    def elaborate(self, platform):
        m = Module()
        fin = self.config.fin
        product = Signal(fin.width, name="lmul_product")
        m.d.comb += product.eq(lmul_product(m, fin, self.a, self.b))
        one = Const(fin.bias << fin.man_bits, fin.width)
        accumulate(m, self, lambda base: datapath(m, self.config.fma, product, one, base))
        return m
