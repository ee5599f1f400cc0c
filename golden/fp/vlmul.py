"""Vectorized L-Mul (:mod:`golden.fp.lmul`, which stays the reference): the integer adder on
the packed ``[exponent | mantissa]`` fields of whole arrays of bit patterns, and the batched
L-Mul MAC. Bit-exact to the scalar models (``testbenches/test_golden_vec.py``).

    field(result) = field(x) + field(y) - (bias << m) + 2**(m - l(m))

with the policy of :mod:`golden.fp.lmul`: zero and subnormal operands read as zero, NaN and
``0 * inf`` give NaN, overflow gives inf (IEEE formats) or the largest finite number,
underflow flushes to a zero of the XOR sign.

L-Mul is defined for one format (the fields of ``a`` and ``b`` must line up); ``fmt_a`` and
``fmt_b`` are accepted for symmetry with :mod:`golden.fp.vfma` and must be equal.
"""

import numpy as np

from tpegen.formats import parse_format

from .lmul import offset_exponent
from .vfma import _arr, _values, fma, formats

__all__ = ["lmul", "LMac"]


def _one_format(fmt, fmt_a, fmt_b, fmt_in=None):
    if fmt is not None:
        fin = parse_format(fmt)
        fa, fb = formats(fmt_a or fin, fmt_b or fin, fmt_in)
    else:
        fa, fb = formats(fmt_a, fmt_b, fmt_in)
    if fa != fb:
        raise ValueError(f"L-Mul adds the fields of one format: fmt_a={fa} and fmt_b={fb} "
                         "differ")
    return fa


def lmul(a, b, fmt=None, *, fmt_a=None, fmt_b=None):
    """L-Mul of arrays of bit patterns (:func:`golden.fp.lmul.lmul`); ``int64`` results."""
    fmt = _one_format(fmt, fmt_a, fmt_b)
    a, b = np.broadcast_arrays(_arr(a).astype(np.int64), _arr(b).astype(np.int64))
    m, w = fmt.man_bits, fmt.width
    sign = ((a ^ b) >> (w - 1)) & 1
    sign_bit = sign << (w - 1)
    field_mask = (1 << (w - 1)) - 1
    offset = (1 << m) >> offset_exponent(m)
    field = (a & field_mask) + (b & field_mask) - (fmt.bias << m) + offset
    top = fmt.emax + fmt.bias
    exp = field >> m
    over = (exp > top) | ((exp == top) & ((field & ((1 << m) - 1)) > fmt.max_mantissa))
    result = np.where(over, sign_bit | fmt.inf_code, sign_bit | field)
    result = np.where(field < (1 << m), sign_bit, result)
    # specials (subnormals read as zero)
    with np.errstate(invalid="ignore"):
        va, vb = _values(a, fmt, False), _values(b, fmt, False)
    zero = (va == 0) | (vb == 0)
    inf = np.isinf(va) | np.isinf(vb)
    nan = np.isnan(va) | np.isnan(vb) | (zero & inf)
    result = np.where(zero, sign_bit, result)
    result = np.where(inf, sign_bit | fmt.inf_code, result)
    return np.where(nan, fmt.nan_or_max_code, result)


class LMac:
    """``shape`` L-Mul MACs (:class:`golden.fp.lmul.LMac`): ``acc <- round(acc + lmul(a, b))``
    where ``enable`` (one exact addition, one rounding into ``fmt_acc``); ``clear`` starts
    from ``+0``. :meth:`tick` returns the new accumulators."""

    def __init__(self, shape=1, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None,
                 rounding="rne", subnormals=True):
        fin = _one_format(None, fmt_a, fmt_b, fmt_in)
        facc = parse_format(fmt_acc)
        one = fin.bias << fin.man_bits
        self.step = lambda a, b, c: fma(lmul(a, b, fin), one, c, fmt_in=fin, fmt_acc=facc,
                                        rounding=rounding, subnormals=subnormals)
        self.step(0, 0, 0)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.reset()

    def reset(self):
        self.acc = np.zeros(self.shape, np.int64)

    def tick(self, a, b, clear, enable):
        clear = np.broadcast_to(np.asarray(clear, dtype=bool), self.shape)
        enable = np.broadcast_to(np.asarray(enable, dtype=bool), self.shape)
        base = np.where(clear, 0, self.acc)
        self.acc = np.where(enable, self.step(a, b, base), base)
        return self.acc
