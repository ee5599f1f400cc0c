"""Exact fused multiply-add: ``round(a*b + c)`` with one rounding, written from IEEE 754-2019
§5.4.1 and §6 (special values) with exact rational arithmetic.

``a`` and ``b`` are in ``fmt_in``; ``c`` and the result in ``fmt_acc`` (they may differ: bf16 x
bf16 + fp32 -> fp32, fp8 x fp8 + fp16 -> fp16). Special cases:

* any NaN operand, ``0 * inf``, and ``inf - inf`` give the accumulator format's canonical NaN;
* an infinite product or addend gives that infinity;
* an exact zero result is ``-0`` only when the product and the addend are both zeros of sign
  ``-`` (or the result rounds to zero from a negative value); exact cancellation gives ``+0``
  (RNE and RTZ);
* overflow: IEEE formats give inf (``rne``) or the largest finite (``rtz``); formats without
  inf (``fn``, ``finite``) saturate to the largest finite number;
* ``subnormals=False``: subnormal inputs read as zero and tiny results flush to zero.

The result of a format without NaN (``e2m1fn``) for a NaN case is its largest finite number
with the NaN's sign; tpegen never uses such a format as an accumulator by default.
"""

from fractions import Fraction

from tpegen.formats import parse_format

from .codec import Value, decode, encode

__all__ = ["fma", "Mac"]


def _overflow_policy(fmt):
    return "inf" if fmt.policy == "ieee" else "saturate"


def fma(a, b, c, *, fmt_in, fmt_acc, rounding="rne", subnormals=True):
    """Bit pattern of ``round(a*b + c)``; ``a``, ``b``, ``c`` are bit patterns."""
    fin, facc = parse_format(fmt_in), parse_format(fmt_acc)
    va = decode(a, fin, subnormals=subnormals)
    vb = decode(b, fin, subnormals=subnormals)
    vc = decode(c, facc, subnormals=subnormals)
    sp = va.sign ^ vb.sign
    nan = Value("nan", 0)
    options = dict(rounding=rounding, subnormals=subnormals, overflow=_overflow_policy(facc))
    if "nan" in (va.kind, vb.kind, vc.kind):
        return encode(nan, facc, **options)
    product_inf = "inf" in (va.kind, vb.kind)
    if product_inf and "zero" in (va.kind, vb.kind):
        return encode(nan, facc, **options)
    if product_inf:
        if vc.kind == "inf" and vc.sign != sp:
            return encode(nan, facc, **options)
        return encode(Value("inf", sp), facc, **options)
    if vc.kind == "inf":
        return encode(vc, facc, **options)
    product = va.exact * vb.exact
    total = product + vc.exact
    if total == 0:
        product_zero = va.kind == "zero" or vb.kind == "zero"
        sign = 1 if (product_zero and vc.kind == "zero" and sp and vc.sign) else 0
        return encode(Value("zero", sign), facc, **options)
    return encode(Fraction(total), facc, **options)


class Mac:
    """Cycle model of an accumulating FMA: ``acc <- fma(a, b, acc)`` on ``enable``; ``clear``
    starts from ``+0``. Bit patterns in and out."""

    def __init__(self, *, fmt_in, fmt_acc, rounding="rne", subnormals=True):
        self.options = dict(fmt_in=fmt_in, fmt_acc=fmt_acc, rounding=rounding,
                            subnormals=subnormals)
        self.acc = 0

    def tick(self, a, b, clear, enable):
        base = 0 if clear else self.acc
        self.acc = fma(a, b, base, **self.options) if enable else base
        return self.acc
