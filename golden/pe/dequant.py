"""Golden model of the group dequantization stage the mixed-precision PEs share (the MixPE
group PE, :mod:`golden.pe.mixpe`; the bit-serial PE): a group's products summed *exactly* as
a fixed-point integer, converted once to fp32 and scaled into an fp32 accumulator. Written
from the spec below (docs/pe.md), not from the RTL (:mod:`hdl.pe.dequant`).

Spec
----
**Activations as fixed point.** An activation of format ``act`` is an integer multiple of
``2**unit(act)``: int8 (``unit`` 0) is its two's complement value; an fp16/bf16 value is a
multiple of the format's smallest subnormal (``unit`` -24 / -133), ``(-1)**s * M * 2**(e-1)``
units for a normal number (``M`` the significand with its hidden bit, ``e`` the biased
exponent) and ``(-1)**s * m`` for a subnormal one. A product with an integer weight ``d`` is
then the integer ``d * value`` and a group's sum of them is exact in a wide enough register.
Signed zeros are not kept: an exact zero sum is ``+0``.

**Infinities and NaN.** An activation that is infinite or NaN is not a fixed-point value; the
group keeps flags instead. The sum is NaN when any activation is NaN, when a weight times an
infinite activation is ``0 * inf``, or when infinities of both signs meet; else it is the sign
of its infinities. With a zero point ``z`` (read when the group closes) the weight of an
infinite activation is ``w - z``, which is not known before then: the group keeps, per sign of
infinity, the smallest and largest raw weight it met (:class:`InfTally`), which is enough to
decide the signs of every ``w - z`` at once.

**Close** (:func:`to_fp32`). The exact sum rounded once, to nearest even, to fp32 (overflow:
infinity; the sum's units are above fp32's smallest subnormal, so it never underflows).

**Scale** (:func:`step`). ``acc <- round_fp32(p32 * scale + acc)``: one fused multiply-add
with the fp16 group scale, rounded once to nearest even (the project's exact FMA,
:func:`golden.fp.vfma.fma`). The issue's order "dequantize once per group, after the group's
partial sum" is MixPE's (Zhang et al., "MixPE: Quantization and Hardware Co-design for
Efficient LLM Inference", 2024, arXiv 2411.16158).

Members
-------
ACTS
    The activation formats: ``int8``, ``fp16``, ``bf16``.
unit
    Exponent of one unit of the exact sum.
act_fixed
    Activations (bit patterns, numpy) as ``(value, inf, nan)``.
InfTally
    The per-group flags of infinite and NaN activations.
special
    ``(nan, pinf, ninf)`` of a closed group from its flags and the zero point.
to_fp32
    fp32 bit patterns of exact group sums.
step
    The scale-and-accumulate step.
NAN32, INF32
    fp32 bit patterns of the default NaN and of +inf.
"""

import numpy as np

from golden.fp import vfma
from tpegen import dtypes
from tpegen.formats import FORMATS

__all__ = ["ACTS", "unit", "act_fixed", "InfTally", "special", "to_fp32", "step", "NAN32",
           "INF32"]

ACTS = ("int8", "fp16", "bf16")
#: fp32 bit patterns: the default NaN, +inf (``INF32 | 1 << 31`` is -inf)
NAN32, INF32 = 0x7FC0_0000, 0x7F80_0000


def _check(act):
    if act not in ACTS:
        raise ValueError(f"act={act!r} is not allowed: choose one of {', '.join(ACTS)}")


def unit(act):
    """Exponent of one unit of the exact sum of ``act`` activations times integers: 0 for
    int8, the smallest subnormal's exponent for fp16 (-24) and bf16 (-133)
    (:func:`tpegen.dtypes.act_unit`)."""
    _check(act)
    return dtypes.act_unit(act)


def act_fixed(bits, act):
    """Activations as fixed point (see the module docstring).

    Parameters
    ----------
    bits : array_like of int
        Bit patterns.
    act : str
        Their format.

    Returns
    -------
    value : numpy.ndarray
        Signed integers in units of ``2**unit(act)`` (0 where the activation is infinite or
        NaN); ``int64`` for int8 and fp16, Python integers (``object``) for bf16.
    inf : numpy.ndarray of int64
        +1 / -1 for an infinite activation, else 0.
    nan : numpy.ndarray of bool
        NaN activations.
    """
    bits = np.asarray(bits).astype(np.int64)
    if act == "int8":
        bits = bits & 0xFF
        return bits - ((bits >> 7) << 8), np.zeros(bits.shape, np.int64), \
            np.zeros(bits.shape, bool)
    _check(act)
    fmt = FORMATS[act]
    mb, eb = fmt.man_bits, fmt.exp_bits
    sign = (bits >> (fmt.width - 1)) & 1
    exp = (bits >> mb) & ((1 << eb) - 1)
    man = bits & ((1 << mb) - 1)
    special = exp == (1 << eb) - 1
    nan = special & (man != 0)
    inf = np.where(special & (man == 0), 1 - 2 * sign, 0)
    sig = np.where(exp != 0, man | (1 << mb), man)
    shift = np.maximum(exp - 1, 0)
    if act == "bf16":               # up to ~2**261: exact Python integers
        sig, shift = sig.astype(object), shift.astype(object)
    value = np.asarray(sig << shift, dtype=object if act == "bf16" else np.int64)
    value = np.where(special, 0, value)
    value = np.where(sign == 1, -value, value)
    return value, inf, nan


class InfTally:
    """Per-group flags of infinite and NaN activations over ``shape`` lanes (see the module
    docstring): for each sign of infinity, whether the group met one and the smallest and
    largest raw weight multiplying it; and whether it met a NaN.

    Parameters
    ----------
    shape : tuple
        Lanes.
    """

    def __init__(self, shape):
        self.shape = shape
        self.clear(np.ones(shape, bool))

    def clear(self, where):
        """Forget the flags of the lanes ``where``."""
        where = np.broadcast_to(where, self.shape)
        if not hasattr(self, "nan"):
            self.nan = np.zeros(self.shape, bool)
            self.seen = np.zeros((2,) + self.shape, bool)
            self.lo = np.zeros((2,) + self.shape, np.int64)
            self.hi = np.zeros((2,) + self.shape, np.int64)
        self.nan = np.where(where, False, self.nan)
        self.seen = np.where(where, False, self.seen)

    def add(self, w, inf, nan, where):
        """Note the products ``w * a`` (raw weights ``w``; ``inf``/``nan`` of ``a``) of the
        lanes ``where``."""
        self.nan = self.nan | (np.asarray(nan) & where)
        for k, s in enumerate((1, -1)):
            hit = (np.asarray(inf) == s) & where
            first = hit & ~self.seen[k]
            self.lo[k] = np.where(first, w, np.where(hit, np.minimum(self.lo[k], w), self.lo[k]))
            self.hi[k] = np.where(first, w, np.where(hit, np.maximum(self.hi[k], w), self.hi[k]))
            self.seen[k] = self.seen[k] | hit

    def snapshot(self):
        """A copy of the flags: ``(nan, seen, lo, hi)``."""
        return self.nan.copy(), self.seen.copy(), self.lo.copy(), self.hi.copy()


def special(snapshot, zero):
    """``(nan, pinf, ninf)`` of a group's sum from its :meth:`InfTally.snapshot` and the zero
    point ``zero`` (0 for signed weights)."""
    nan, seen, lo, hi = snapshot
    signs = []
    for k in range(2):
        positive = seen[k] & (lo[k] > zero)            # every w - z > 0
        negative = seen[k] & (hi[k] < zero)            # every w - z < 0
        nan = nan | (seen[k] & ~positive & ~negative)  # a 0 * inf, or both signs
        signs.append((positive, negative))
    (pp, pn), (np_, nn) = signs
    pinf = pp | nn                  # +inf * (w - z > 0), -inf * (w - z < 0)
    ninf = pn | np_
    nan = nan | (pinf & ninf)
    return nan, pinf & ~nan, ninf & ~nan


def _round24(v, e):
    """fp32 bits of the nonzero Python integer ``v`` times ``2**e``, rounded once."""
    sign = v < 0
    m = -v if sign else v
    n = m.bit_length()
    shift = max(n - 24, 0)
    q = m >> shift
    if shift:
        r, half = m - (q << shift), 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
    with np.errstate(over="ignore"):
        f = np.float32(np.ldexp(float(q), e + shift))       # exact, or overflow to inf
    bits = int(f.view(np.uint32))
    return bits | (1 << 31) if sign else bits


def to_fp32(psum, act, *, nan=False, pinf=False, ninf=False):
    """fp32 bit patterns (``int64``) of exact group sums ``psum`` (integers in units of
    ``2**unit(act)``), rounded once to nearest even; the special flags (from :func:`special`)
    win over the sum."""
    e = unit(act)
    psum = np.asarray(psum)
    flat = [0 if v == 0 else _round24(int(v), e) for v in psum.ravel().tolist()]
    out = np.array(flat, np.int64).reshape(psum.shape)
    out = np.where(pinf, INF32, out)
    out = np.where(ninf, INF32 | (1 << 31), out)
    return np.where(nan, NAN32, out)


def step(acc, p32, scale):
    """fp32 bits of ``round(p32 * scale + acc)`` (``scale`` fp16), once, to nearest even."""
    return vfma.fma(p32, scale, acc, fmt_a="fp32", fmt_b="fp16", fmt_acc="fp32")
