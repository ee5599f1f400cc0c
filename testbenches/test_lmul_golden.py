"""The L-Mul golden model (``golden/fp/lmul.py``, integer-adder semantics) against an
arithmetic restatement of the same definition, over every operand pair of the 8-bit formats
and a random sample of bf16:

    s = xm + ym + 2**-l(m);  result = 2**(xe + ye) * (1 + s     if s < 1,
                                                     2 s       if 1 <= s < 2,
                                                     4 (s - 1) if s >= 2)

then truncated to the format (the adder keeps exactly m mantissa bits, so no rounding happens:
the value must be representable), with the documented zero/overflow/underflow policy."""

from fractions import Fraction

import numpy as np
import pytest

from golden.fp.codec import decode, encode
from golden.fp.lmul import lmul, lmul_formula, offset_exponent
from tpegen.formats import FORMATS

SEED = 3


def _split(v):
    m = v.magnitude
    e = m.numerator.bit_length() - m.denominator.bit_length()
    if Fraction(2) ** e > m:
        e -= 1
    return e, m / Fraction(2) ** e - 1


def reference(a, b, fmt):
    va, vb = decode(a, fmt, subnormals=False), decode(b, fmt, subnormals=False)
    kinds = {va.kind, vb.kind}
    sign = va.sign ^ vb.sign
    if "nan" in kinds or kinds == {"inf", "zero"}:
        return "nan"
    if "inf" in kinds:
        return ("inf", sign)
    if "zero" in kinds:
        return ("zero", sign)
    (ea, ma), (eb, mb) = _split(va), _split(vb)
    s = ma + mb + Fraction(1, 1 << offset_exponent(fmt.man_bits))
    # the mantissa field sum carries 0, 1 or 2 into the exponent
    value = (1 + s if s < 1 else 2 * s if s < 2 else 4 * (s - 1)) * Fraction(2) ** (ea + eb)
    if value < fmt.min_normal:
        return ("zero", sign)
    if value > fmt.max_finite:
        return ("inf", sign) if fmt.has_inf else ("finite", sign, fmt.max_finite)
    return ("finite", sign, value)


def check(a, b, fmt):
    got = decode(lmul(a, b, fmt), fmt)
    want = reference(a, b, fmt)
    if want == "nan":
        assert got.kind == "nan", (fmt.name, hex(a), hex(b))
    elif want[0] == "finite":
        assert got.kind == "finite" and got.sign == want[1] and got.magnitude == want[2], \
            (fmt.name, hex(a), hex(b), got, want)
    else:
        assert (got.kind, got.sign) == want, (fmt.name, hex(a), hex(b), got, want)


@pytest.mark.parametrize("name", ["e4m3fn", "e5m2", "e2m1fn"])
def test_every_pair(name):
    fmt = FORMATS[name]
    for a in range(1 << fmt.width):
        for b in range(1 << fmt.width):
            check(a, b, fmt)


def test_bf16_sample():
    fmt = FORMATS["bf16"]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    for a, b in rng.integers(0, 1 << 16, (20000, 2)).tolist():
        check(a, b, fmt)


def test_adder_and_formula_differ_when_the_mantissa_sum_carries():
    bf16 = FORMATS["bf16"]
    x = encode(Fraction(3, 2), bf16)
    assert decode(lmul(x, x, bf16), bf16).exact == Fraction(17, 8)     # 2.125, the adder
    assert lmul_formula(x, x, bf16) == Fraction(33, 16)                  # 2.0625, the formula
    one = encode(1, bf16)
    assert decode(lmul(one, one, bf16), bf16).exact == 1 + Fraction(1, 16)  # l(7) = 4
