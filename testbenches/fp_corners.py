"""Stimulus for floating-point units: corner values of a format, and directed FMA corner
cases, each category found by construction and confirmed with the exact golden arithmetic
(:func:`classify`), so that a test can show that every category of the issue's corner list is
exercised:

``to_subnormal``      a non-zero result in the subnormal range;
``out_of_subnormal``  an exact sum below the smallest normal that rounds up to it;
``overflow``          an exact sum beyond the largest finite number;
``underflow_subnormal_addend``  an inexact subnormal result with a subnormal addend;
``cancellation``      ``a*b ~ -c``: the result is at least ``m_acc`` binades below ``|c|``;
``tie``               the exact sum lies half-way between two neighbours (RNE ties);
``nan``               a NaN operand.

The multiplicands are built in their own formats: ``a`` in ``cfg.fa``, ``b`` in ``cfg.fb``
(equal for most units; an FMA or FP MAC may mix them, e.g. ``e4m3fn`` x ``e5m2``).
"""

from fractions import Fraction

from golden.fp.codec import Value, decode, encode

__all__ = ["corners", "CATEGORIES", "classify", "fma_corners"]

CATEGORIES = ("to_subnormal", "out_of_subnormal", "overflow", "underflow_subnormal_addend",
              "cancellation", "tie", "nan")


def corners(fmt):
    """Bit patterns of a format's corner values, both signs."""
    m, top = fmt.man_bits, fmt.emax + fmt.bias
    values = {0, 1, (1 << m) - 1, 1 << m, (top << m) | fmt.max_mantissa, fmt.bias << m}
    if fmt.has_inf:
        values.add(fmt.exp_max_code << m)
    if fmt.has_nan:
        values.add(fmt.nan_code)
    values = {v & ((1 << (fmt.width - 1)) - 1) for v in values}
    return sorted(values | {v | (1 << (fmt.width - 1)) for v in values})


def classify(a, b, c, cfg):
    """The corner categories the FMA case ``(a, b, c)`` of ``cfg`` falls in."""
    fa, fb, facc = cfg.fa, cfg.fb, cfg.facc
    va, vb, vc = (decode(a, fa, subnormals=cfg.subnormals),
                  decode(b, fb, subnormals=cfg.subnormals),
                  decode(c, facc, subnormals=cfg.subnormals))
    if "nan" in (va.kind, vb.kind, vc.kind):
        return {"nan"}
    if "inf" in (va.kind, vb.kind, vc.kind):
        return set()
    s = va.exact * vb.exact + vc.exact
    found = set()
    mag = abs(s)
    if 0 < mag < facc.min_normal:
        result = decode(encode(s, facc, rounding=cfg.rounding, subnormals=cfg.subnormals),
                        facc, subnormals=True)
        if result.kind == "finite" and result.magnitude < facc.min_normal:
            found.add("to_subnormal")
            if vc.kind == "finite" and vc.magnitude < facc.min_normal and \
                    (mag / facc.min_subnormal).denominator != 1:
                found.add("underflow_subnormal_addend")
        if result.kind == "finite" and result.magnitude == facc.min_normal:
            found.add("out_of_subnormal")
    if mag > facc.max_finite:
        found.add("overflow")
    if vc.kind == "finite" and va.kind == vb.kind == "finite" and s != 0 and \
            mag * 2 ** facc.man_bits <= vc.magnitude:
        found.add("cancellation")
    if mag >= facc.min_subnormal:
        e = max(mag.numerator.bit_length() - mag.denominator.bit_length() - 1, facc.emin)
        ulp = Fraction(2) ** (e - facc.man_bits)
        while ulp * 2 ** (facc.man_bits + 1) <= mag:
            ulp *= 2
        if (mag / ulp - Fraction(1, 2)).denominator == 1:
            found.add("tie")
    return found


def _pattern(fmt, sign, significand, exponent):
    """Bit pattern of ``(-1)**sign * significand * 2**exponent`` (exact, must fit)."""
    return encode(Value("finite", sign, Fraction(significand) * Fraction(2) ** exponent), fmt)


def _exponent(x):
    """``e`` with ``2**e <= x < 2**(e + 1)`` (``x`` a positive Fraction)."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > x else e


def _random_finite(rng, fmt, lo=None, hi=None):
    """A random finite normal bit pattern with its exponent in ``lo..hi``."""
    lo = fmt.emin if lo is None else max(lo, fmt.emin)
    hi = fmt.emax if hi is None else min(hi, fmt.emax)
    e = int(rng.integers(lo, hi + 1))
    sig = (1 << fmt.man_bits) | int(rng.integers(0, fmt.max_mantissa + 1))
    return _pattern(fmt, int(rng.integers(0, 2)), sig, e - fmt.man_bits)


def fma_corners(cfg, rng, per_category=40):
    """Directed ``(a, b, c)`` triples, up to ``per_category`` for each category (fewer when a
    category cannot occur in the configuration, e.g. inexact subnormal results when the
    products are multiples of the accumulator's smallest subnormal)."""
    fa, fb, facc = cfg.fa, cfg.fb, cfg.facc
    ma = facc.man_bits
    sub_ulp, min_normal = facc.min_subnormal, facc.min_normal
    cases = []

    def value(x, fmt):
        return decode(x, fmt).exact

    def nearest(x):          # the accumulator value nearest to x (RTZ), as a pattern
        return encode(x, facc, rounding="rtz", subnormals=True, overflow="saturate")

    def factor(t):
        """Inputs (a, b) whose product is close to ``t``, or None: a random normal ``a`` and
        ``b = t / a``; failing that (``t`` is near the end of the products' reach, as with
        operands of two formats), a power of two ``b`` and ``a = t / b``, chosen without
        drawing from ``rng``."""
        for _ in range(20):
            a = _random_finite(rng, fa)
            b = encode(t / value(a, fa), fb, rounding="rtz", subnormals=True,
                       overflow="saturate")
            if decode(b, fb).kind == "finite":
                return a, b
        e_t = _exponent(abs(t))
        for a_low in (fa.emin, fa.emin - fa.man_bits):     # a normal, else a subnormal
            lo = max(fb.emin - fb.man_bits, e_t - fa.emax)
            hi = min(fb.emax, e_t - a_low)
            if lo <= hi:
                b = _pattern(fb, 0, 1, (lo + hi) // 2)
                a = encode(t / value(b, fb), fa, rounding="rtz", subnormals=True,
                           overflow="saturate")
                if decode(a, fa).kind == "finite":
                    return a, b
        return None

    def moderate():
        """Inputs whose product is well inside the accumulator's normal range (each
        exponent also within its own format's range, see :func:`_random_finite`)."""
        lo, hi = facc.emin // 2 + 1, facc.emax // 2 - 1
        return _random_finite(rng, fa, lo, hi), _random_finite(rng, fb, lo, hi)

    def uniform(lo, hi):
        return lo + (hi - lo) * Fraction(int(rng.integers(1, 1 << 20)), 1 << 20)

    for kind in CATEGORIES:
        for _ in range(per_category):
            sign = -1 if rng.integers(0, 2) else 1
            if kind == "to_subnormal":
                ab = factor(uniform(0, min_normal) * sign)
                c = nearest(uniform(0, min_normal) * (-1 if rng.integers(0, 2) else 1))
            elif kind == "out_of_subnormal":
                ab = factor(uniform(sub_ulp / 2, sub_ulp))
                c = (1 << ma) - 1 if ma else 0        # the largest subnormal
            elif kind == "underflow_subnormal_addend":
                depth = int(rng.integers(0, fa.man_bits + fb.man_bits + 4))
                ab = factor(uniform(min_normal / 2, 2 * min_normal) / 2 ** depth * sign)
                c = int(rng.integers(1, 1 << ma)) if ma else 0
                c |= int(rng.integers(0, 2)) << (facc.width - 1)
            elif kind == "overflow":
                a = _random_finite(rng, fa, fa.emax - 2, fa.emax)
                b = _random_finite(rng, fb, fb.emax - 2, fb.emax)
                ab = a, b
                c = _random_finite(rng, facc, facc.emax - 1, facc.emax)
                same = ((a >> (fa.width - 1)) ^ (b >> (fb.width - 1))) & 1
                c = (c & ~(1 << (facc.width - 1))) | (same << (facc.width - 1))
            elif kind == "cancellation":
                ab = moderate()
                c = nearest(-value(ab[0], fa) * value(ab[1], fb)) ^ int(rng.integers(0, 2))
            elif kind == "tie":
                ab = moderate()
                c = _tie_addend(rng, facc, abs(value(ab[0], fa) * value(ab[1], fb)))
                if c is None:
                    continue
            else:   # nan
                ab = _random_finite(rng, fa), _random_finite(rng, fb)
                c = facc.nan_code if facc.has_nan else 0
                if fa.has_nan and rng.integers(0, 2):
                    ab, c = (fa.nan_code, ab[1]), _random_finite(rng, facc)
                elif fb.has_nan and not fa.has_nan and rng.integers(0, 2):
                    ab, c = (ab[0], fb.nan_code), _random_finite(rng, facc)
            if ab is not None:
                cases.append((ab[0], ab[1], c))
    return cases


def _tie_addend(rng, facc, p):
    """An addend whose last place is twice the lowest set bit of ``p``, so that ``p + c``
    lies half-way between two neighbours (when ``c`` dominates), or None."""
    lsb = Fraction(1)
    while (p / lsb).denominator != 1:
        lsb /= 2
    while (p / (lsb * 2)).denominator == 1:
        lsb *= 2
    place = lsb * 2
    e = place.numerator.bit_length() - place.denominator.bit_length() + facc.man_bits
    if not facc.emin <= e <= facc.emax - 1:
        return None
    sig = (1 << facc.man_bits) | int(rng.integers(0, 1 << facc.man_bits))
    return encode(Fraction(sig) * place * (-1 if rng.integers(0, 2) else 1), facc)
