"""Exact fused multiply-add: ``round(a*b + c)`` with one rounding, written from IEEE 754-2019
§5.4.1 and §6 (special values) with exact rational arithmetic.

``a`` is in ``fmt_a``, ``b`` in ``fmt_b``, ``c`` and the result in ``fmt_acc``; all three may
differ (bf16 x bf16 + fp32 -> fp32, e4m3fn x e5m2 + fp16 -> fp16). ``fmt_in=`` sets ``fmt_a``
and ``fmt_b`` at once. Special cases:

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

from dataclasses import dataclass
from fractions import Fraction

# the alignment window is part of the spec shared with the generators: one definition
from tpegen.formats import Layout, layout, parse_format, unnormalized_layout

from .codec import Value, decode, encode, round_integer

__all__ = ["fma", "Mac", "fma_approx", "layout", "Layout", "UnnormalizedMac",
           "unnormalized_layout", "operand_formats"]


def _overflow_policy(fmt):
    return "inf" if fmt.policy == "ieee" else "saturate"


def operand_formats(fmt_a=None, fmt_b=None, fmt_in=None):
    """``(fa, fb)``, the parsed formats of ``a`` and ``b``: ``fmt_in`` is a shorthand for both;
    ``fmt_b`` defaults to ``fmt_a``."""
    if fmt_in is not None:
        fin = parse_format(fmt_in)
        for given in (fmt_a, fmt_b):
            if given is not None and parse_format(given) != fin:
                raise TypeError(f"fmt_in={fin} conflicts with fmt_a={fmt_a}, fmt_b={fmt_b}")
        return fin, fin
    if fmt_a is None:
        raise TypeError("the operand formats are missing: give fmt_a and fmt_b (or fmt_in)")
    fa = parse_format(fmt_a)
    return fa, fa if fmt_b is None else parse_format(fmt_b)


def fma(a, b, c, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
        subnormals=True):
    """Bit pattern of ``round(a*b + c)``; ``a`` (format ``fmt_a``), ``b`` (``fmt_b``) and ``c``
    (``fmt_acc``) are bit patterns; ``fmt_in`` sets ``fmt_a`` and ``fmt_b``."""
    fa, fb = operand_formats(fmt_a, fmt_b, fmt_in)
    facc = parse_format(fmt_acc)
    va = decode(a, fa, subnormals=subnormals)
    vb = decode(b, fb, subnormals=subnormals)
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
    starts from ``+0``. Bit patterns in and out (``a`` in ``fmt_a``, ``b`` in ``fmt_b``, the
    accumulator in ``fmt_acc``). Given any of ``window``, ``granularity`` or
    ``guard``, each step is :func:`fma_approx` instead."""

    def __init__(self, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
                 subnormals=True, **approx):
        fa, fb = operand_formats(fmt_a, fmt_b, fmt_in)
        options = dict(fmt_a=fa, fmt_b=fb, fmt_acc=fmt_acc, rounding=rounding,
                       subnormals=subnormals)
        step = fma_approx if approx else fma
        self.step = lambda a, b, c: step(a, b, c, **options, **approx)
        self.acc = 0

    def reset(self):
        self.acc = 0

    def tick(self, a, b, clear, enable):
        base = 0 if clear else self.acc
        self.acc = self.step(a, b, base) if enable else base
        return self.acc


# --- approximate normalization ------------------------------------------------------------
#
# The scheme (docs/fp.md, "Approximate-normalization FMA") is defined on the alignment window
# of the FMA datapath, so the window layout is part of the spec:
#
#   position 0                      sticky position (anything below position 1)
#   positions [L, L + pp)           the product significand, L = extension + guard
#                                   (extension = pc + 2 by default)
#   addend LSB at Ec - ref          at most T = L + pp + 2 + guard (then the product is sticky)
#   Wm = T + pc                     magnitude bits of the window
#   ref = max(Ep - L, Ec - T)       exponent of position 0 (Ec - T only for a non-zero addend)
#
# with pp = (m_a + 1) + (m_b + 1) product bits, pc = m_acc + 1 addend bits, Ep the exponent
# of the product's LSB and Ec that of the addend's LSB. ``Layout``, ``layout`` and
# ``unnormalized_layout`` are those of :mod:`tpegen.formats` (re-exported here).

def _significand(value, fmt):
    """``(integer significand, exponent of its last place)`` of a finite value."""
    lsb = _lsb_exponent(value, fmt)
    sig = value.magnitude / Fraction(2) ** lsb
    assert sig.denominator == 1
    return int(sig), lsb


def _window_sum(va, vb, vc, fa, fb, facc, lay):
    """The aligned sum as the datapath forms it: ``(ref, magnitude, sign)``. The product's
    significand sits at position ``L``; the addend's at ``Ec - ref`` (at most ``T``), its bits
    below position 0 ORed into position 0; ``ref = max(Ep - L, Ec - T)`` is the exponent of
    position 0. With the default extension this rounds like the exact sum (docs/fp.md)."""
    addend = _significand(vc, facc) if vc.kind == "finite" else None
    return _align(va, vb, fa, fb, addend, vc.sign, lay)


def _align(va, vb, fa, fb, addend, addend_sign, lay):
    """:func:`_window_sum` with the addend given as ``(significand, exponent of its last
    place)``, or ``None`` for a zero addend; ``va`` is in format ``fa``, ``vb`` in ``fb``."""
    pa, ea = _significand(va, fa)
    pb, eb = _significand(vb, fb)
    product, ref = pa * pb, ea + eb - lay.low
    shifted = 0
    if addend is not None:
        sig_c, ec = addend
        ref = max(ref, ec - lay.top)
        pos = ec - ref
        if pos >= 0:
            shifted = sig_c << pos
        else:
            shifted = (sig_c >> -pos) | int(sig_c & ((1 << -pos) - 1) != 0)
    sp = va.sign ^ vb.sign
    raw = (product << lay.low) + (-shifted if addend_sign != sp else shifted)
    return ref, abs(raw), sp ^ int(raw < 0)


def _lsb_exponent(value, fmt):
    """Exponent of the least significant significand bit of a finite (or zero) value."""
    if value.kind != "finite":
        return fmt.emin - fmt.man_bits
    e = value.magnitude.numerator.bit_length() - value.magnitude.denominator.bit_length()
    if Fraction(2) ** e > value.magnitude:
        e -= 1
    return max(e, fmt.emin) - fmt.man_bits


def _round_fraction(x, rounding):
    """Round a non-negative Fraction to an integer."""
    q = x.numerator // x.denominator
    return round_integer(q, x - q, rounding)


def fma_approx(a, b, c, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
               subnormals=True, window=None, granularity=1, guard=0, extension=None):
    """Bit pattern of the approximate-normalization FMA (docs/fp.md).

    The aligned sum of the alignment window (:func:`_window_sum`; ``extension`` addend bits
    below the product) is rounded once at a position chosen from an approximate leading-one
    position, keeping ``m_acc + 1 + guard`` bits, then normalized exactly and rounded again
    into ``fmt_acc`` (the readout). The leading-zero count ``lz`` in the window is replaced
    by ``floor(min(lz, window) / granularity) * granularity``. With ``window >= Wm``,
    ``granularity=1``, ``guard=0`` and ``extension=None`` this is :func:`fma` bit for bit.
    Formats as for :func:`fma`.
    """
    fa, fb = operand_formats(fmt_a, fmt_b, fmt_in)
    facc = parse_format(fmt_acc)
    va = decode(a, fa, subnormals=subnormals)
    vb = decode(b, fb, subnormals=subnormals)
    vc = decode(c, facc, subnormals=subnormals)
    specials = {"nan", "inf"} & {va.kind, vb.kind, vc.kind}
    product_zero = "zero" in (va.kind, vb.kind)
    if specials or product_zero:
        # no rounding happens: specials, and c (or a signed zero) when the product is zero
        return fma(a, b, c, fmt_a=fa, fmt_b=fb, fmt_acc=facc, rounding=rounding,
                   subnormals=subnormals)
    lay = layout(fa, facc, guard, extension, fmt_b=fb)
    window = lay.width if window is None else window
    ref, mag, sign = _window_sum(va, vb, vc, fa, fb, facc, lay)
    if mag == 0:
        return 0
    lead = mag.bit_length() - 1      # window position of the leading one
    lz = lay.width - 1 - lead
    lz_approx = min(lz, window) // granularity * granularity
    lead_approx = lay.width - 1 - lz_approx
    m = facc.man_bits
    if not subnormals and ref + lead_approx < facc.emin:
        return sign << (facc.width - 1)
    floor = facc.emin - m - ref
    u = max(lead_approx - m - guard, floor - guard)
    q = _round_fraction(Fraction(mag) / Fraction(2) ** u, rounding)
    if q == 0:
        return sign << (facc.width - 1)
    readout = Fraction(q) * Fraction(2) ** (ref + u) * (-1 if sign else 1)
    return encode(Value("finite", sign, abs(readout)), facc, rounding=rounding,
                  subnormals=subnormals, overflow=_overflow_policy(facc))


# --- the unnormalized accumulator -----------------------------------------------------------
#
# (docs/fp.md, "Unnormalized accumulator"). The accumulator is a sign, an integer significand
# q of at most p + 1 bits (p = m_acc + 1 + guard) and the exponent ``scale`` of its last
# place, with no bound on the exponent and no requirement that q be normalized. Each step
# adds the product in the alignment window of ``unnormalized_layout`` (the addend is q), finds
# the leading one approximately (window, granularity) and keeps p bits from there, rounded
# to odd: the last kept bit is ORed with every bit below it. The leading-one detector reads
# the ones' complement of a negative sum, |sum| - 1 (then q may come out as 2**p, exactly).
# The exact normalization, the rounding (``rounding``), the subnormal range, flushing and
# overflow of ``fmt_acc`` apply only when the accumulator is read:
# ``result = round(q * 2**scale)``.

@dataclass(frozen=True)
class Accumulator:
    """State of the unnormalized accumulator: ``kind`` is ``zero``, ``finite``, ``inf`` or
    ``nan``; a finite value is ``(-1)**sign * q * 2**scale`` with ``q > 0``."""

    kind: str
    sign: int = 0
    q: int = 0
    scale: int = 0


ZERO = Accumulator("zero")


class UnnormalizedMac:
    """Cycle model of the FP MAC with the unnormalized accumulator (see the comment above):
    ``state <- step(state, a, b)`` on ``enable`` (``clear``: from ``+0``); :meth:`tick`
    returns the readout of the new state, a bit pattern of ``fmt_acc``. Formats as for
    :func:`fma`."""

    def __init__(self, *, fmt_acc, fmt_a=None, fmt_b=None, fmt_in=None, rounding="rne",
                 subnormals=True, window=None, granularity=1, guard=0, extension=None):
        self.fa, self.fb = operand_formats(fmt_a, fmt_b, fmt_in)
        self.facc = parse_format(fmt_acc)
        self.rounding, self.subnormals = rounding, subnormals
        self.lay = unnormalized_layout(self.fa, self.facc, guard, extension, fmt_b=self.fb)
        self.window = self.lay.width if window is None else window
        self.granularity = granularity
        self.keep = self.facc.man_bits + 1 + guard          # p
        self.state = ZERO

    def reset(self):
        self.state = ZERO

    def tick(self, a, b, clear, enable):
        base = ZERO if clear else self.state
        self.state = self.step(a, b, base) if enable else base
        return self.read()

    def step(self, a, b, acc):
        va = decode(a, self.fa, subnormals=self.subnormals)
        vb = decode(b, self.fb, subnormals=self.subnormals)
        sp = va.sign ^ vb.sign
        kinds = {va.kind, vb.kind}
        product_inf, product_zero = "inf" in kinds, "zero" in kinds
        if "nan" in kinds or acc.kind == "nan" or (product_inf and product_zero) or (
                product_inf and acc.kind == "inf" and acc.sign != sp):
            return Accumulator("nan")
        if product_inf:
            return Accumulator("inf", sp)
        if acc.kind == "inf":
            return acc
        if product_zero:
            return Accumulator("zero", sp & acc.sign) if acc.kind == "zero" else acc
        addend = (acc.q, acc.scale) if acc.kind == "finite" else None
        ref, mag, sign = _align(va, vb, self.fa, self.fb, addend, acc.sign, self.lay)
        if mag == 0:
            return ZERO
        seen = mag - 1 if sign != sp else mag    # the detector's view of a negative sum
        lz = self.lay.width - seen.bit_length()
        lz = min(lz, self.window) // self.granularity * self.granularity
        u = self.lay.width - lz - self.keep     # keep p bits below the assumed leading one
        if u <= 0:
            q = mag << -u
        else:
            q = (mag >> u) | int(mag & ((1 << u) - 1) != 0)      # round to odd
        return Accumulator("finite", sign, q, ref + u)

    def read(self):
        """The accumulator rounded into ``fmt_acc`` (exact normalization, one rounding)."""
        s = self.state
        options = dict(rounding=self.rounding, subnormals=self.subnormals,
                       overflow=_overflow_policy(self.facc))
        if s.kind == "nan":
            return encode(Value("nan", 0), self.facc, **options)
        if s.kind == "inf":
            return encode(Value("inf", s.sign), self.facc, **options)
        if s.kind == "zero":
            return s.sign << (self.facc.width - 1)
        value = Fraction(s.q) * Fraction(2) ** s.scale
        return encode(Value("finite", s.sign, value), self.facc, **options)
