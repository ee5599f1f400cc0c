"""Decode and encode floating-point bit patterns exactly, written from the format definition
(:mod:`tpegen.formats`), with Python integers and :class:`fractions.Fraction`.

:func:`decode` maps a bit pattern to a :class:`Value` (zero, finite, inf or NaN, with its sign
and exact magnitude). :func:`encode` rounds an exact value once:

rounding
    ``rne`` (to nearest, ties to even) or ``rtz`` (toward zero).
subnormals
    ``True``: gradual underflow. ``False``: a result whose exact magnitude is below the smallest
    normal flushes to a zero of its sign (inputs are flushed by :func:`decode` likewise).
overflow
    what a magnitude beyond the largest finite number becomes after rounding: ``inf`` (IEEE
    with ``rne``; ``rtz`` gives the largest finite), ``nan`` (the conversion policy of ``fn``
    formats in ml_dtypes), or ``saturate`` (the largest finite; the default of ``finite``
    formats, and tpegen's FMA policy for ``fn`` formats).

These agree with ml_dtypes over every bit pattern of every 4-, 8- and 16-bit format, and on
rounding float32 values (``testbenches/test_fp_golden.py``).
"""

from dataclasses import dataclass
from fractions import Fraction

from tpegen.formats import parse_format

__all__ = ["Value", "decode", "encode", "encode_floats", "round_integer",
           "default_overflow", "ROUNDINGS", "OVERFLOWS"]

ROUNDINGS = ("rne", "rtz")
OVERFLOWS = ("inf", "nan", "saturate")


@dataclass(frozen=True)
class Value:
    """A decoded number: ``kind`` is ``zero``, ``finite``, ``inf`` or ``nan``; ``magnitude``
    is exact (0 for zero, inf and NaN)."""

    kind: str
    sign: int
    magnitude: Fraction = Fraction(0)

    @property
    def exact(self):
        """Signed exact value (finite and zero only)."""
        return -self.magnitude if self.sign else self.magnitude


def decode(bits, fmt, *, subnormals=True):
    """Decode the bit pattern ``bits`` of format ``fmt``."""
    fmt = parse_format(fmt)
    sign = (bits >> (fmt.width - 1)) & 1
    exp = (bits >> fmt.man_bits) & fmt.exp_max_code
    man = bits & ((1 << fmt.man_bits) - 1)
    if exp == fmt.exp_max_code:
        if fmt.policy == "ieee":
            return Value("nan" if man else "inf", sign)
        if fmt.policy == "fn" and man == (1 << fmt.man_bits) - 1:
            return Value("nan", sign)
    if exp == 0:
        if man == 0 or not subnormals:
            return Value("zero", sign)
        return Value("finite", sign, Fraction(man) * fmt.min_subnormal)
    magnitude = Fraction((1 << fmt.man_bits) | man, 1 << fmt.man_bits) * \
        Fraction(2) ** (exp - fmt.bias)
    return Value("finite", sign, magnitude)


def default_overflow(fmt):
    return {"ieee": "inf", "fn": "nan", "finite": "saturate"}[parse_format(fmt).policy]


def round_integer(q, r, rounding):
    """Round ``q + r`` (``0 <= r < 1``, a Fraction) to an integer."""
    if rounding == "rtz" or r == 0:
        return q
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and q & 1):
        return q + 1
    return q


def _nan(fmt, sign=0):
    fmt = parse_format(fmt)
    if not fmt.has_nan:
        raise ValueError(f"{fmt.name} has no NaN")
    return fmt.nan_code | (sign << (fmt.width - 1))


def encode(value, fmt, *, rounding="rne", subnormals=True, overflow=None):
    """Round a :class:`Value` (or an exact Fraction/int, with sign from its value) once to
    ``fmt``; returns the bit pattern."""
    fmt = parse_format(fmt)
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding={rounding!r}: choose one of {', '.join(ROUNDINGS)}")
    overflow = default_overflow(fmt) if overflow is None else overflow
    if overflow not in OVERFLOWS:
        raise ValueError(f"overflow={overflow!r}: choose one of {', '.join(OVERFLOWS)}")
    if not isinstance(value, Value):
        value = Fraction(value)
        value = Value("zero" if value == 0 else "finite", int(value < 0), abs(value))
    sign_bit = value.sign << (fmt.width - 1)
    max_code = (fmt.emax + fmt.bias) << fmt.man_bits | fmt.max_mantissa
    if value.kind == "nan":
        return _nan(fmt, value.sign) if fmt.has_nan else sign_bit | max_code
    if value.kind == "zero":
        return sign_bit
    if value.kind == "inf":
        if fmt.has_inf:
            return sign_bit | (fmt.exp_max_code << fmt.man_bits)
        return _overflow(fmt, value.sign, "saturate" if overflow == "inf" else overflow,
                         max_code)
    m = value.magnitude
    if not subnormals and m < fmt.min_normal:
        return sign_bit
    # exponent e with 2**e <= m < 2**(e+1), clamped below at emin (subnormal range)
    e = m.numerator.bit_length() - m.denominator.bit_length()
    if Fraction(2) ** e > m:
        e -= 1
    e = max(e, fmt.emin)
    scaled = m / Fraction(2) ** (e - fmt.man_bits)  # significand in units of the last place
    q = scaled.numerator // scaled.denominator
    n = round_integer(q, scaled - q, rounding)
    if n >> (fmt.man_bits + 1):          # rounding carried into the next binade
        n >>= 1
        e += 1
    if n == 0:
        return sign_bit
    if n < (1 << fmt.man_bits):          # subnormal
        if not subnormals:
            return sign_bit
        return sign_bit | n
    if e > fmt.emax or (e == fmt.emax and (n & ((1 << fmt.man_bits) - 1)) > fmt.max_mantissa):
        if rounding == "rtz" and overflow == "inf":
            return sign_bit | max_code
        return _overflow(fmt, value.sign, overflow, max_code)
    return sign_bit | ((e + fmt.bias) << fmt.man_bits) | (n & ((1 << fmt.man_bits) - 1))


def _overflow(fmt, sign, overflow, max_code):
    sign_bit = sign << (fmt.width - 1)
    if overflow == "inf" and fmt.has_inf:
        return sign_bit | (fmt.exp_max_code << fmt.man_bits)
    if overflow == "nan" and fmt.has_nan:
        return _nan(fmt, sign)
    return sign_bit | max_code


def encode_floats(values, fmt, *, rounding="rne"):
    """Bit patterns of float ``values`` rounded once into ``fmt``, saturating on overflow
    (operand streams for benchmarks and power runs)."""
    return [encode(Fraction(float(v)), fmt, rounding=rounding, overflow="saturate")
            for v in values]
