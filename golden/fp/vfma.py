"""Vectorized golden models of the FMA datapath: numpy arrays of bit patterns in, bit patterns
out, bit-exact to the scalar models of :mod:`golden.fp.fma` (which stay the independent
references; ``testbenches/test_golden_vec.py`` checks the two against each other and against
MPFR).

Public functions and classes (``a`` in ``fmt_a``, ``b`` in ``fmt_b``, ``c``, the accumulator
and the results in ``fmt_acc``; ``fmt_in=`` sets ``fmt_a`` and ``fmt_b`` at once):

* :func:`fma` and :func:`fma_approx`: the functions of :mod:`golden.fp.fma`, elementwise over
  broadcast arrays;
* :class:`Mac` and :class:`UnnormalizedMac`: ``shape`` independent accumulators, one clock
  edge per :meth:`tick` with arrays of operands, ``clear`` and ``enable``;
* :func:`decode` and :func:`encode`: bit patterns to exact ``float64`` values and back, with
  one rounding (the vectorized :mod:`golden.fp.codec` for these formats).

How it computes (and why it is exact)
-------------------------------------
Every operand of a supported format is exactly a ``float64``, and so is every product of
two of them (``(m_a + 1) + (m_b + 1) <= 53`` significant bits, exponents well inside
float64's normal range). The sum of a product and an addend is not (its alignment window has
up to ~100 bits), so it is formed as an error-free pair with Knuth's TwoSum, ``s + e = p + c``
exactly, and then *rounded to odd* at 53 bits: ``s``'s last bit is forced to 1 (moving ``s``
one unit toward ``e``) when ``e != 0`` and that bit is 0. Rounding to odd at 53 bits followed
by any rounding (nearest-even or toward zero) at a position at least two bits higher is the
same as rounding the exact value there once (Boldo & Melquiond, "Emulation of FMA and
correctly rounded sums: proved algorithms using rounding to odd", IEEE TC 2008), and every
rounding here keeps at most ``m_acc + 1 + guard <= 51`` bits. Round to odd also never moves a
value across a power of two, so the float64 exponent of the rounded-to-odd sum is the
exponent of the exact sum (the approximate schemes need the exact leading-one position).

The final rounding into ``fmt_acc`` (:func:`encode`) works on the float64 bit pattern with
integer operations: the exponent picks the shift (clamped at the subnormal floor), the
significand is rounded there, and ``((biased - 1) << m) + q`` lets a carry move the exponent.
For an fp32 accumulator with RNE and subnormals, numpy's float64 -> float32 conversion (the
hardware's, nearest-even with subnormals and overflow to inf) does the same in one step.

The approximate schemes (docs/fp.md) are defined on the integer alignment window of the
datapath. The window's content is a sum of two float64 values as well: the product placed at
``L`` (which is the product itself, or a larger stand-in when the addend pushes position 0
up, exactly as the scalar ``_align`` does) and the addend with its bits below position 0
jammed into position 0 (an integer shift with a sticky OR). The leading-one position, the
approximate count and the first rounding follow the scalar definitions on that value. The
unnormalized accumulator keeps its state as integer arrays (kind, sign, ``q``, ``scale``); its
step rounds to odd at the absolute position ``ref + u``, which composes exactly with the
53-bit round to odd.

Limits: the product of the two operand formats must fit float64's significand
(``(m_a + 1) + (m_b + 1) <= 53``: any two formats of at most 16 bits, fp32 x fp32 too),
``m_acc + 1 + guard <= 51``, and every exponent must stay inside float64's normal range (at
most 9 exponent bits). Other formats raise ``ValueError``; use the scalar models for them.
Bit patterns must be non-negative integers below ``2**width`` (any integer dtype); results
are ``int64`` arrays.
"""

from functools import lru_cache

import numpy as np

from tpegen.formats import parse_format

__all__ = ["fma", "fma_approx", "Mac", "UnnormalizedMac", "decode", "encode", "formats",
           "ZERO", "FINITE", "INF", "NAN"]

_MAG = np.int64(0x7FFF_FFFF_FFFF_FFFF)
_M52 = np.int64((1 << 52) - 1)
_H52 = np.int64(1 << 52)
_ONE = np.int64(1)

#: state kinds of :class:`UnnormalizedMac`
ZERO, FINITE, INF, NAN = 0, 1, 2, 3
_KINDS = ("zero", "finite", "inf", "nan")


# --- formats ---------------------------------------------------------------------------------

def formats(fmt_a=None, fmt_b=None, fmt_in=None):
    """``(fa, fb)``: the parsed formats of ``a`` and ``b`` (:func:`golden.fp.fma.operand_formats`:
    ``fmt_in`` sets both; ``fmt_b`` defaults to ``fmt_a``)."""
    from .fma import operand_formats
    return operand_formats(fmt_a, fmt_b, fmt_in)


def _arr(x):
    """``x`` as an array of at least one dimension (float64 views need arrays)."""
    x = np.asarray(x)
    return x if x.ndim else x.reshape(1)


def _lsb_min(fmt):
    return fmt.emin - fmt.man_bits


@lru_cache(maxsize=None)
def _check(fa, fb, facc, guard=0):
    """Raise ``ValueError`` unless float64 holds every value this datapath forms exactly."""
    problems = []
    if fa.man_bits + fb.man_bits + 2 > 53:
        problems.append(f"the product of {fa} x {fb} has more than 53 bits")
    if facc.man_bits + 1 + guard > 51:
        problems.append(f"{facc} with guard {guard} keeps more than 51 bits")
    lowest = min(_lsb_min(fa) + _lsb_min(fb), _lsb_min(facc) - guard - 2)
    highest = max(fa.emax + fb.emax + 2, facc.emax + 1)
    if lowest < -1000 or highest > 1000:
        problems.append(f"exponents of {fa} x {fb} + {facc} leave float64's normal range")
    if problems:
        raise ValueError("golden.fp.vfma: " + "; ".join(problems)
                         + " (use the scalar models of golden.fp.fma)")


def _overflow_policy(fmt):
    return "inf" if fmt.policy == "ieee" else "saturate"


# --- decode ----------------------------------------------------------------------------------

def _fields(bits, fmt, subnormals):
    """``(value, significand, lsb exponent)`` of int64 bit patterns: the exact float64 value
    (signed zeros, inf, NaN), the integer significand (0 for zeros and specials) and the
    exponent of its last place (as ``golden.fp.fma._significand``)."""
    m = fmt.man_bits
    sign = (bits >> (fmt.width - 1)) & 1
    e = (bits >> m) & fmt.exp_max_code
    man = bits & ((1 << m) - 1)
    sub = e == 0
    sig = np.where(sub, man if subnormals else 0, man | (1 << m))
    lsb = np.where(sub, fmt.emin - m, e - fmt.bias - m)
    nan = np.zeros(bits.shape, bool)
    inf = np.zeros(bits.shape, bool)
    if fmt.policy == "ieee":
        top = e == fmt.exp_max_code
        nan, inf = top & (man != 0), top & (man == 0)
    elif fmt.policy == "fn":
        nan = (e == fmt.exp_max_code) & (man == (1 << m) - 1)
    sig = np.where(nan | inf, 0, sig)
    with np.errstate(over="ignore"):
        value = np.ldexp(sig.astype(np.float64), lsb)
    value = np.where(inf, np.inf, value)
    value = np.where(nan, np.nan, value)
    value = np.where(sign == 1, -value, value)
    return value, sig.astype(np.int64), lsb.astype(np.int64)


@lru_cache(maxsize=None)
def _tables(fmt, subnormals):
    """Decode tables of a format of at most 16 bits, indexed by bit pattern."""
    value, sig, lsb = _fields(np.arange(1 << fmt.width, dtype=np.int64), fmt, subnormals)
    return value, sig, lsb


def _is_native(fmt, exp_bits, man_bits):
    return (fmt.policy == "ieee" and fmt.exp_bits == exp_bits and fmt.man_bits == man_bits
            and fmt.bias == (1 << (exp_bits - 1)) - 1)


def _values(bits, fmt, subnormals):
    """Exact float64 values of bit patterns (callers ignore the invalid-operation warning of
    casting a signalling NaN)."""
    if fmt.width <= 16:
        return _tables(fmt, subnormals)[0][bits]
    if _is_native(fmt, 8, 23):
        v = bits.astype(np.uint32, copy=False).view(np.float32).astype(np.float64)
        if not subnormals:
            v = np.where(np.abs(v) < 2.0 ** -126, np.copysign(0.0, v), v)
        return v
    return _fields(bits.astype(np.int64), fmt, subnormals)[0]


def _all_fields(bits, fmt, subnormals):
    if fmt.width <= 16:
        value, sig, lsb = _tables(fmt, subnormals)
        return value[bits], sig[bits], lsb[bits]
    return _fields(np.asarray(bits).astype(np.int64), fmt, subnormals)


def decode(bits, fmt, *, subnormals=True):
    """Exact float64 values of the bit patterns ``bits`` of ``fmt`` (signed zeros, inf, NaN);
    ``subnormals=False`` reads subnormals as zeros of their sign."""
    fmt = parse_format(fmt)
    _check(fmt, fmt, fmt)
    with np.errstate(invalid="ignore"):
        return _values(_arr(bits), fmt, subnormals)


# --- the exact sum, rounded to odd at 53 bits ----------------------------------------------

def _sum_odd(p, c):
    """``p + c`` rounded to odd at float64 precision (TwoSum, then the last bit forced to 1
    toward the error when the sum is inexact). Infinite and NaN sums are left as they are."""
    s = p + c
    bb = s - p
    e = (p - (s - bb)) + (c - bb)
    sb = s.view(np.int64)
    eb = e.view(np.int64)
    fix = (~sb & _ONE) * (np.abs(e) > 0)          # inexact (e NaN when s is not finite)
    step = ((sb ^ eb) >> 63) | _ONE               # +1 when e has s's sign, else -1
    return (sb + fix * step).view(np.float64)


# --- encode ----------------------------------------------------------------------------------

def _encode(x, fmt, rounding, subnormals, overflow):
    """Bit patterns (int64) of float64 values ``x`` rounded once into ``fmt``. ``x`` is exact
    or rounded to odd at 53 bits (see the module docstring)."""
    m, w = fmt.man_bits, fmt.width
    xb = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    mag = xb & _MAG
    sign = (xb >> 63) & np.int64(1 << (w - 1))
    e64 = mag >> 52
    sig = (mag & _M52) | _H52
    eb = e64 + (fmt.bias - 1023)                   # biased exponent in fmt, if normal
    ebc = np.maximum(eb, 1)
    sh = np.minimum(ebc - eb + (52 - m), 63)
    if rounding == "rne":
        q = (sig + ((_ONE << (sh - 1)) - 1) + ((sig >> sh) & 1)) >> sh
    elif rounding == "rtz":
        q = sig >> sh
    else:
        raise ValueError(f"rounding={rounding!r}: choose one of rne, rtz")
    code = ((ebc - 1) << m) + q
    if not subnormals:
        code = np.where(eb < 1, 0, code)
    if overflow == "inf" and fmt.has_inf:
        over = fmt.inf_code if rounding == "rne" else fmt.max_code
    elif overflow == "nan" and fmt.has_nan:
        over = fmt.nan_code
    else:
        over = fmt.max_code
    code = np.where(code > fmt.max_code, over, code)
    code = np.where(e64 == 2047, fmt.inf_code, code) | sign
    return np.where(mag > np.int64(0x7FF0_0000_0000_0000), fmt.nan_or_max_code, code)


def encode(x, fmt, *, rounding="rne", subnormals=True, overflow=None):
    """Bit patterns of exact float64 values ``x`` rounded once into ``fmt``, with the options of
    :func:`golden.fp.codec.encode` (``overflow`` ``inf``, ``nan`` or ``saturate``; default by the
    format's policy); NaN gives the canonical NaN (or the largest finite without NaN)."""
    fmt = parse_format(fmt)
    _check(fmt, fmt, fmt)
    if overflow is None:
        overflow = {"ieee": "inf", "fn": "nan", "finite": "saturate"}[fmt.policy]
    return _encode(_arr(np.asarray(x, dtype=np.float64)), fmt, rounding, subnormals,
                   overflow)


# --- the exact FMA ---------------------------------------------------------------------------

def _setup(fmt_a, fmt_b, fmt_in, fmt_acc, guard=0):
    fa, fb = formats(fmt_a, fmt_b, fmt_in)
    facc = parse_format(fmt_acc)
    _check(fa, fb, facc, guard)
    return fa, fb, facc


def fma(a, b, c, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
        subnormals=True):
    """Bit patterns of ``round(a*b + c)`` elementwise (:func:`golden.fp.fma.fma`)."""
    fa, fb, facc = _setup(fmt_a, fmt_b, fmt_in, fmt_acc)
    with np.errstate(invalid="ignore", over="ignore"):
        va = _values(_arr(a), fa, subnormals)
        vb = _values(_arr(b), fb, subnormals)
        vc = _values(_arr(c), facc, subnormals)
        x = _sum_odd(va * vb, vc)
        if rounding == "rne" and subnormals and _is_native(facc, 8, 23):
            # the hardware conversion rounds to nearest even, subnormals and overflow
            # included: one rounding of the rounded-to-odd sum, as _encode does
            out = x.astype(np.float32).view(np.uint32).astype(np.int64)
            return np.where(np.isnan(x), facc.nan_code, out)
    return _encode(x, facc, rounding, subnormals, _overflow_policy(facc))


# --- the alignment window ----------------------------------------------------------------

def _layout(fa, fb, pc, guard, extension):
    """``(L, T, Wm)`` of the window (``tpegen.formats.Layout``): the product's ``pp`` bits at
    ``L``, the addend's last place at most at ``T``, ``Wm`` magnitude bits."""
    pp = fa.man_bits + 1 + fb.man_bits + 1
    low = (pc + 2 if extension is None else extension) + guard
    top = low + pp + 2 + guard
    return low, top, top + pc


def _window(p, ea, eb, vc_sign, sig_c, ec, present, low, top):
    """The window's content as a float64 rounded to odd, and the exponent ``ref`` of its
    position 0 (``golden.fp.fma._align``): the product ``p`` (exponents ``ea + eb`` of its
    last place) at ``L``, the addend ``sig_c * 2**ec`` (where ``present``) with its bits below
    position 0 ORed into position 0. ``vc_sign`` is a float array whose sign is the addend's."""
    ref = ea + eb - low
    ref = np.where(present, np.maximum(ref, ec - top), ref)
    pw = np.ldexp(p, ref + low - (ea + eb))               # the product at position L
    k = np.clip(ref - ec, 0, 63)
    lost = sig_c & ((_ONE << k) - 1)
    jam = (sig_c >> k) | (lost != 0)
    cj = np.copysign(np.ldexp(jam.astype(np.float64), np.maximum(ec, ref)), vc_sign)
    cj = np.where(present, cj, 0.0)
    return _sum_odd(pw, cj), ref


def _exponent(x):
    """Unbiased float64 exponent of non-zero finite values."""
    return ((x.view(np.int64) & _MAG) >> 52) - 1023


def _round_at(x, position, rounding):
    """``x`` (float64, rounded to odd at 53 bits) rounded to a multiple of ``2**position``:
    ``(integer magnitude q, exponent of its last place)``; ``rounding`` ``rne``, ``rtz`` or
    ``odd`` (the last kept bit ORed with everything below it)."""
    xb = x.view(np.int64) & _MAG
    sig = (xb & _M52) | _H52
    lsb = (xb >> 52) - 1075
    sh = np.clip(position - lsb, 0, 63)
    if rounding == "rne":
        q = (sig + ((_ONE << (sh - 1)) - 1) + ((sig >> sh) & 1)) >> sh
        q = np.where(sh == 0, sig, q)
    elif rounding == "rtz":
        q = sig >> sh
    else:
        q = (sig >> sh) | ((sig & ((_ONE << sh) - 1)) != 0)
    return q, np.maximum(position, lsb)


# --- approximate normalization -----------------------------------------------------------

def fma_approx(a, b, c, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
               subnormals=True, window=None, granularity=1, guard=0, extension=None):
    """Bit patterns of the approximate-normalization FMA elementwise
    (:func:`golden.fp.fma.fma_approx`, docs/fp.md)."""
    fa, fb, facc = _setup(fmt_a, fmt_b, fmt_in, fmt_acc, guard)
    a, b, c = np.broadcast_arrays(_arr(a), _arr(b), _arr(c))
    m = facc.man_bits
    low, top, width = _layout(fa, fb, m + 1, guard, extension)
    window = width if window is None else window
    with np.errstate(all="ignore"):
        va, _, ea = _all_fields(a, fa, subnormals)
        vb, _, eb = _all_fields(b, fb, subnormals)
        vc, sig_c, ec = _all_fields(c, facc, subnormals)
        p = va * vb
        exact = _encode(_sum_odd(p, vc), facc, rounding, subnormals, _overflow_policy(facc))
        # no rounding happens for specials and zero products: the exact FMA gives them
        plain = ~np.isfinite(p + vc) | (p == 0)
        x, ref = _window(p, ea, eb, vc, sig_c, ec, vc != 0, low, top)
        lead = _exponent(x) - ref                   # window position of the leading one
        lz = np.minimum(width - 1 - lead, window) // granularity * granularity
        lead_a = width - 1 - lz
        u = np.maximum(lead_a - m - guard, facc.emin - m - ref - guard)
        q, place = _round_at(x, ref + u, rounding)
        readout = np.copysign(np.ldexp(q.astype(np.float64), place), x)
        result = _encode(readout, facc, rounding, subnormals, _overflow_policy(facc))
    if not subnormals:
        sign = np.where(np.signbit(x), np.int64(1 << (facc.width - 1)), 0)
        result = np.where(ref + lead_a < facc.emin, sign, result)
    result = np.where(x == 0, 0, result)
    return np.where(plain, exact, result)


# --- cycle models ----------------------------------------------------------------------------

def _flags(x, shape):
    return np.broadcast_to(np.asarray(x, dtype=bool), shape)


class Mac:
    """``shape`` independent accumulating FMAs (:class:`golden.fp.fma.Mac`):
    ``acc <- fma(a, b, acc)`` where ``enable``; ``clear`` starts from ``+0``. Given any of
    ``window``, ``granularity``, ``guard`` or ``extension``, each step is :func:`fma_approx`.
    :meth:`tick` takes arrays (broadcast to ``shape``) and returns the new accumulators."""

    def __init__(self, shape=1, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None,
                 rounding="rne", subnormals=True, **approx):
        fa, fb = formats(fmt_a, fmt_b, fmt_in)
        options = dict(fmt_a=fa, fmt_b=fb, fmt_acc=parse_format(fmt_acc), rounding=rounding,
                       subnormals=subnormals)
        step = fma_approx if approx else fma
        self.step = lambda a, b, c: step(a, b, c, **options, **approx)
        self.step(0, 0, 0)                            # validates the options
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.reset()

    def reset(self):
        self.acc = np.zeros(self.shape, np.int64)

    def tick(self, a, b, clear, enable):
        clear, enable = _flags(clear, self.shape), _flags(enable, self.shape)
        base = np.where(clear, 0, self.acc)
        self.acc = np.where(enable, self.step(a, b, base), base)
        return self.acc


class UnnormalizedMac:
    """``shape`` independent FP MACs with the unnormalized accumulator
    (:class:`golden.fp.fma.UnnormalizedMac`, docs/fp.md): per lane a kind (:data:`ZERO`,
    :data:`FINITE`, :data:`INF`, :data:`NAN`), a sign, an integer significand ``q`` and the
    exponent ``scale`` of its last place. :meth:`tick` returns the readout of the new state."""

    def __init__(self, shape=1, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None,
                 rounding="rne", subnormals=True, window=None, granularity=1, guard=0,
                 extension=None):
        self.fa, self.fb = formats(fmt_a, fmt_b, fmt_in)
        self.facc = parse_format(fmt_acc)
        _check(self.fa, self.fb, self.facc, guard + 2)
        if rounding not in ("rne", "rtz"):
            raise ValueError(f"rounding={rounding!r}: choose one of rne, rtz")
        self.rounding, self.subnormals = rounding, subnormals
        pc = self.facc.man_bits + 2 + guard
        self.low, self.top, self.width = _layout(self.fa, self.fb, pc, 0, extension)
        self.window = self.width if window is None else window
        self.granularity = granularity
        self.keep = self.facc.man_bits + 1 + guard          # p
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.reset()

    def reset(self):
        self.kind = np.zeros(self.shape, np.int8)
        self.sign = np.zeros(self.shape, np.int64)
        self.q = np.zeros(self.shape, np.int64)
        self.scale = np.zeros(self.shape, np.int64)

    def tick(self, a, b, clear, enable):
        clear, enable = _flags(clear, self.shape), _flags(enable, self.shape)
        state = [np.where(clear, 0, s) for s in (self.kind, self.sign, self.q, self.scale)]
        new = self.step(a, b, *state)
        self.kind, self.sign, self.q, self.scale = (np.where(enable, n, s)
                                                    for n, s in zip(new, state))
        return self.read()

    def step(self, a, b, kind, sign, q, scale):
        """The new state ``(kind, sign, q, scale)`` after adding ``a*b``."""
        a, b = np.broadcast_arrays(_arr(a), _arr(b))
        va, _, ea = _all_fields(a, self.fa, self.subnormals)
        vb, _, eb = _all_fields(b, self.fb, self.subnormals)
        sp = (np.signbit(va) ^ np.signbit(vb)).astype(np.int64)
        nan_in = np.isnan(va) | np.isnan(vb)
        pinf = np.isinf(va) | np.isinf(vb)
        pzero = (va == 0) | (vb == 0)
        with np.errstate(all="ignore"):
            p = va * vb
            finite = kind == FINITE
            x, ref = _window(p, ea, eb, np.where(sign == 1, -1.0, 1.0), q, scale, finite,
                             self.low, self.top)
            neg = np.signbit(x) != (sp == 1)        # the datapath's sum is negative
            pow2 = (x.view(np.int64) & _M52) == 0
            seen = _exponent(x) - ref + 1 - (neg & pow2)    # bit length of |sum| - neg
            lz = np.minimum(self.width - seen, self.window) // self.granularity \
                * self.granularity
            u = self.width - lz - self.keep
            new_q, new_scale = _round_at(x, ref + u, "odd")
        new_sign = np.signbit(x).astype(np.int64)
        new_kind = np.where(x == 0, ZERO, FINITE).astype(np.int8)
        new_sign = np.where(x == 0, 0, new_sign)
        new_q = np.where(x == 0, 0, new_q)
        new_scale = np.where(x == 0, 0, new_scale)
        # product zero: the state stays, except for the sign of a zero
        zero_acc = kind == ZERO
        pz_sign = np.where(zero_acc, sp & sign, sign)
        choose = [(pzero, (kind, pz_sign, q, scale))]
        # inf stays inf; an infinite product gives inf; NaN cases
        acc_inf = kind == INF
        choose.insert(0, (acc_inf, (kind, sign, q, scale)))
        choose.insert(0, (pinf, (np.full_like(kind, INF), sp, 0 * q, 0 * scale)))
        to_nan = nan_in | (kind == NAN) | (pinf & pzero) | (pinf & acc_inf & (sign != sp))
        choose.insert(0, (to_nan, (np.full_like(kind, NAN), 0 * sign, 0 * q, 0 * scale)))
        out = [new_kind, new_sign, new_q, new_scale]
        for mask, values in reversed(choose):
            out = [np.where(mask, v, o) for v, o in zip(values, out)]
        return tuple(out)

    def read(self):
        """The accumulators rounded into ``fmt_acc`` (exact normalization, one rounding)."""
        with np.errstate(all="ignore"):
            value = np.ldexp(self.q.astype(np.float64), self.scale)
        value = np.where(self.kind == INF, np.inf, value)
        value = np.where(self.sign == 1, -value, value)
        value = np.where(self.kind == NAN, np.nan, value)
        return _encode(value, self.facc, self.rounding, self.subnormals,
                       _overflow_policy(self.facc))

    def states(self):
        """The lanes' states as ``(kind name, sign, q, scale)`` tuples, in the form of
        :class:`golden.fp.fma.Accumulator` (comparisons with the scalar model)."""
        return [(_KINDS[k], int(s), int(q), int(e)) for k, s, q, e in
                zip(self.kind.ravel(), self.sign.ravel(), self.q.ravel(), self.scale.ravel())]
