"""L-Mul: linear-complexity multiplication by one integer addition (H. Luo, W. Sun,
"Addition is All You Need for Energy-efficient Language Models", arXiv 2410.00907).

The paper approximates ``(1 + xm)(1 + ym) 2**(xe + ye)`` by
``(1 + xm + ym + 2**-l(m)) 2**(xe + ye)`` with ``l(m) = m`` for ``m <= 3``, ``3`` for
``m = 4`` and ``4`` for ``m > 4`` (``m``: mantissa bits). tpegen implements the hardware form
of it, which is what an integer adder computes on the packed ``[exponent | mantissa]`` fields:

    field(result) = field(x) + field(y) - (bias << m) + 2**(m - l(m))

with the mantissa carry flowing into the exponent. The two differ when
``s = xm + ym + 2**-l(m) >= 1``: the formula gives ``(1 + s) 2**e`` but the adder gives
``2 s 2**e`` (and ``4 (s - 1) 2**e`` when ``s >= 2``, a carry of two); for bf16, ``1.5 * 1.5``
is 2.0625 by the formula and 2.125 by the adder. :func:`lmul_formula` gives the formula for
comparison. Measured on normal operands, the adder form is the more precise of the two
(``bench/lmul_precision.py``).

Special values and ranges (tpegen's policy; the paper does not define them):

* the sign is ``sign(x) XOR sign(y)``;
* zero and subnormal operands read as zero (the field trick holds for normal numbers only),
  and zero times anything finite is a zero of the XOR sign;
* NaN operands, and ``0 * inf``, give NaN; ``inf`` times a non-zero gives inf (IEEE formats);
* a result exponent above the largest finite one gives inf (IEEE formats) or saturates to the
  largest finite number (``fn``/``finite`` formats; an ``fn`` format's NaN code is never
  produced by overflow); below the smallest normal it flushes to a zero of the result's sign.
"""

from fractions import Fraction

from tpegen.formats import lmul_offset_exponent, parse_format

from .codec import Value, decode, encode

__all__ = ["lmul", "lmul_formula", "offset_exponent", "LMac"]


def offset_exponent(man_bits):
    """``l(m)`` of the paper (:func:`tpegen.formats.lmul_offset_exponent`)."""
    return lmul_offset_exponent(man_bits)


def _specials(va, vb, fmt):
    sign = va.sign ^ vb.sign
    if "nan" in (va.kind, vb.kind):
        return encode(Value("nan", 0), fmt, overflow="saturate")
    if "inf" in (va.kind, vb.kind):
        if "zero" in (va.kind, vb.kind):
            return encode(Value("nan", 0), fmt)
        return encode(Value("inf", sign), fmt)
    if "zero" in (va.kind, vb.kind):
        return sign << (fmt.width - 1)
    return None


def lmul(a, b, fmt):
    """L-Mul of two bit patterns of ``fmt`` (adder semantics; both operands and the result
    share this one format); returns a bit pattern."""
    fmt = parse_format(fmt)
    va, vb = decode(a, fmt, subnormals=False), decode(b, fmt, subnormals=False)
    special = _specials(va, vb, fmt)
    if special is not None:
        return special
    sign = va.sign ^ vb.sign
    m = fmt.man_bits
    field_mask = (1 << (fmt.width - 1)) - 1
    field = (a & field_mask) + (b & field_mask) - (fmt.bias << m) + (1 << m >> offset_exponent(m))
    exp = field >> m
    if field < (1 << m):                              # below the smallest normal
        return sign << (fmt.width - 1)
    top = fmt.emax + fmt.bias
    if exp > top or (exp == top and (field & ((1 << m) - 1)) > fmt.max_mantissa):
        return encode(Value("inf", sign), fmt, overflow="saturate") if fmt.has_inf else \
            (sign << (fmt.width - 1)) | (top << m) | fmt.max_mantissa
    return (sign << (fmt.width - 1)) | field


def lmul_formula(a, b, fmt):
    """The paper's formula, exactly (a Fraction; None for special cases), for comparison."""
    fmt = parse_format(fmt)
    va, vb = decode(a, fmt, subnormals=False), decode(b, fmt, subnormals=False)
    if va.kind != "finite" or vb.kind != "finite":
        return None
    m = fmt.man_bits

    def split(v):
        e = v.magnitude.numerator.bit_length() - v.magnitude.denominator.bit_length()
        if Fraction(2) ** e > v.magnitude:
            e -= 1
        return e, v.magnitude / Fraction(2) ** e - 1

    (ea, ma), (eb, mb) = split(va), split(vb)
    value = (1 + ma + mb + Fraction(1, 1 << offset_exponent(m))) * Fraction(2) ** (ea + eb)
    return -value if va.sign ^ vb.sign else value


class LMac:
    """Cycle model of the L-Mul MAC: ``acc <- round(acc + lmul(a, b))`` on ``enable`` (one
    exact addition of the L-Mul product, then one rounding into ``fmt_acc``); ``clear``
    starts from ``+0``. Bit patterns in and out. ``a`` and ``b`` share the one format
    ``fmt_in``: L-Mul adds their ``[exponent | mantissa]`` fields as one integer."""

    def __init__(self, *, fmt_in, fmt_acc, rounding="rne", subnormals=True):
        from tpegen.formats import parse_format

        from .fma import fma
        fin = parse_format(fmt_in)
        one = fin.bias << fin.man_bits
        self.step = lambda a, b, c: fma(lmul(a, b, fin), one, c, fmt_in=fin, fmt_acc=fmt_acc,
                                        rounding=rounding, subnormals=subnormals)
        self.acc = 0

    def reset(self):
        self.acc = 0

    def tick(self, a, b, clear, enable):
        base = 0 if clear else self.acc
        self.acc = self.step(a, b, base) if enable else base
        return self.acc
