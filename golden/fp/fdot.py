"""The FP tree reduction of the tree engines (``cube``, ``adder-tree``): a dot product of T
products and an addend, aligned to the largest term within a window and rounded once.
Bit-exact reference written from this spec with :mod:`golden.fp.codec` (Python integers and
:class:`fractions.Fraction`); :mod:`golden.fp.vfdot` is the vectorized form, tested against
it. (The RTL of this reduction is not built yet: the tree engines take integer PEs.)

Spec: ``fdot(a[0..T-1], b[0..T-1], c)`` with ``a`` in ``fmt_a``, ``b`` in ``fmt_b``, ``c``
and the result in ``fmt_acc``:

1. **Decode** every operand (without ``subnormals``, subnormal inputs read as zeros).
2. **Specials.** NaN if an operand is NaN, a product is ``inf * 0``, or infinite terms (the
   infinite products and an infinite ``c``) have both signs; else, with an infinite term,
   the infinity of its sign.
3. **Terms.** Each product is ``sig_a * sig_b * 2**(lsb_a + lsb_b)`` exactly (``sig`` the
   integer significand with its hidden bit, ``lsb`` the exponent of its last place), in a
   field of ``w_p = (m_a + 1) + (m_b + 1)`` bits; the addend is ``sig_c * 2**lsb_c`` in
   ``w_c = m_acc + 1`` bits. A term's *top* is ``lsb + w``, read from the exponent fields
   alone (no leading-one search per term: a subnormal's field counts whole).
4. **Window.** ``ref`` = the largest top over the non-zero terms; the grid is
   ``g = ref - W`` with ``W = m_acc + 1 + guard`` bits. Every term is truncated toward zero
   onto the grid: ``t = sign * floor(|x| / 2**g)``.
5. **One rounding.** ``S = sum(t)`` exactly; the result is ``S * 2**g`` rounded once to
   ``fmt_acc`` (``rounding``, ``subnormals``; an overflow gives infinity for IEEE formats,
   else the largest finite, as the FMA). If ``S == 0``: ``-0`` when every term is a zero of
   sign ``-`` (all products ``-0`` and ``c = -0``), else ``+0``.

Bits below the grid are dropped before the sum, so the result is not always the correctly
rounded dot product: it is when every term's top is within ``guard`` bits of ``ref`` and
``W`` covers the products (``test_fdot_golden.py`` shows both). The hardware this describes
has one alignment shifter per term, one bit-matrix reduction of the T + 1 aligned terms and
one normalize-and-round.

Members
-------
fdot
    The reduction above, on bit patterns.
DotMac
    Its accumulating cycle model: ``acc <- fdot(a, b, acc)`` on ``enable``; ``clear``
    starts from ``+0``.
GUARD
    The default ``guard``.
"""

from fractions import Fraction

from tpegen.config import DOT_GUARD
from tpegen.formats import parse_format

from .codec import Value, decode, encode

__all__ = ["fdot", "DotMac", "GUARD", "window_bits"]

#: guard bits of the window below the accumulator's significand (one constant shared with
#: the RTL: tpegen.config.DOT_GUARD)
GUARD = DOT_GUARD


def window_bits(fmt_acc, guard=GUARD):
    """``W``: the window's width, ``m_acc + 1 + guard``."""
    return parse_format(fmt_acc).man_bits + 1 + guard


def _term(v, fmt):
    """``(sign, sig, lsb)`` of a finite or zero decoded value of ``fmt``."""
    if v.kind == "zero" or v.magnitude == 0:
        return v.sign, 0, 0
    m = v.magnitude
    e = m.numerator.bit_length() - m.denominator.bit_length()     # 2**e <= m < 2**(e+1)
    if Fraction(2) ** e > m:
        e -= 1
    lsb = max(fmt.emin, e) - fmt.man_bits                        # subnormals: emin
    sig = m / Fraction(2) ** lsb
    assert sig.denominator == 1
    return v.sign, int(sig), lsb


def fdot(a, b, c, *, fmt_acc, fmt_a, fmt_b=None, rounding="rne", subnormals=True,
         guard=GUARD):
    """The reduction of the module docstring; ``a``, ``b``: sequences of T bit patterns,
    ``c``: one; returns the result's bit pattern."""
    fa, fb, fc = parse_format(fmt_a), parse_format(fmt_b or fmt_a), parse_format(fmt_acc)
    va = [decode(x, fa, subnormals=subnormals) for x in a]
    vb = [decode(x, fb, subnormals=subnormals) for x in b]
    vc = decode(c, fc, subnormals=subnormals)
    overflow = "inf" if fc.policy == "ieee" else "saturate"
    if len(va) != len(vb):
        raise ValueError(f"a has {len(va)} terms, b {len(vb)}")
    # specials
    nan = vc.kind == "nan" or any(x.kind == "nan" for x in va + vb)
    inf_signs = {vc.sign} if vc.kind == "inf" else set()
    for x, y in zip(va, vb):
        if "inf" in (x.kind, y.kind):
            if "zero" in (x.kind, y.kind):
                nan = True
            inf_signs.add(x.sign ^ y.sign)
    if nan or len(inf_signs) > 1:
        return encode(Value("nan", 0), fc, rounding=rounding, overflow=overflow)
    if inf_signs:
        return encode(Value("inf", inf_signs.pop()), fc, rounding=rounding, overflow=overflow)
    # the terms: (sign, sig, lsb, width)
    wp = (fa.man_bits + 1) + (fb.man_bits + 1)
    terms = []
    for x, y in zip(va, vb):
        sx, mx, ex = _term(x, fa)
        sy, my, ey = _term(y, fb)
        terms.append((sx ^ sy, mx * my, ex + ey, wp))
    terms.append((*_term(vc, fc), fc.man_bits + 1))
    live = [t for t in terms if t[1]]
    if not live:
        negative = all(t[0] for t in terms)
        return encode(Value("zero", int(negative)), fc, rounding=rounding, overflow=overflow)
    ref = max(lsb + w for _, _, lsb, w in live)
    g = ref - window_bits(fc, guard)
    total = 0
    for sign, sig, lsb, _ in live:
        mag = Fraction(sig) * Fraction(2) ** (lsb - g)
        total += -(mag.numerator // mag.denominator) if sign else \
            mag.numerator // mag.denominator
    if total == 0:
        return encode(Value("zero", 0), fc, rounding=rounding, overflow=overflow)
    return encode(Fraction(total) * Fraction(2) ** g, fc, rounding=rounding,
                  subnormals=subnormals, overflow=overflow)


class DotMac:
    """Cycle model: ``acc <- fdot(a, b, acc)`` on ``enable``; ``clear`` starts from ``+0``
    (``clear`` without ``enable``: ``+0``). Bit patterns in and out."""

    def __init__(self, *, fmt_acc, fmt_a, fmt_b=None, rounding="rne", subnormals=True,
                 guard=GUARD):
        self.options = dict(fmt_acc=fmt_acc, fmt_a=fmt_a, fmt_b=fmt_b, rounding=rounding,
                            subnormals=subnormals, guard=guard)
        self.acc = 0

    def reset(self):
        self.acc = 0

    def tick(self, a, b, clear, enable):
        base = 0 if clear else self.acc
        self.acc = fdot(a, b, base, **self.options) if enable else base
        return self.acc
