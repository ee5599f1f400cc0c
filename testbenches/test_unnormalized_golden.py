"""The unnormalized-accumulator FP MAC golden model (``golden.fp.fma.UnnormalizedMac``)
against references written independently of its alignment window, with exact fractions:

* with the whole window, granularity 1 and the default extension it is a floating-point
  accumulator with ``p = m_acc + 1 + guard`` significant bits, rounding to odd and no
  exponent range, ``acc <- odd_p(acc + a*b)``, read out by one rounding into ``fmt_acc``:
  equal step by step, subnormal and tiny values included, for both roundings and with
  flushing, and with per-operand formats (``a`` in ``fmt_a``, ``b`` in ``fmt_b``: e4m3fn x
  e5m2, bf16 x e4m3fn, e5m2 x e2m1fn);
* a coarser granularity ``G`` keeps at least ``p - G`` significant bits per step (the
  detector may read ``|sum| - 1``), so each step errs by less than ``2**-(p - G - 1)`` of the
  exact sum, and it does differ sometimes;
* inf and NaN follow IEEE 754: inf is sticky, ``inf - inf`` and ``0 * inf`` give NaN, signed
  zeros as in the exact MAC.
"""

from fractions import Fraction

import numpy as np
import pytest

from golden.fp.codec import Value, decode, encode, encode_floats
from golden.fp.fma import Accumulator, UnnormalizedMac
from tpegen.formats import parse_format

SEED = 29


def _round_odd_p(x, p):
    """``x`` (a Fraction) rounded to odd at ``p`` significant bits, unbounded exponent: the
    truncated magnitude, with its last bit set when anything was cut off."""
    if x == 0:
        return Fraction(0)
    mag = abs(x)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    ulp = Fraction(2) ** (e - p + 1)
    scaled = mag / ulp
    q = scaled.numerator // scaled.denominator
    q |= int(scaled != q)
    return (q * ulp) * (1 if x > 0 else -1)


def _small(fin, facc):
    return max(facc.emin // 2 - 1, fin.emin - fin.man_bits + 1)


def _operands(fin, facc, n, rng, other=None):
    """Finite bit patterns of ``fin``: N(0, 1) values, some huge, some so small that their
    products with the small values of the other operand's format ``other`` (default ``fin``)
    fall below the smallest normal of ``facc`` (where the formats reach that far), and 5 %
    subnormals of ``fin``."""
    if other is None or other == fin:
        small = _small(fin, facc)
    else:
        small = max(facc.emin - _small(other, facc) - 1, fin.emin - fin.man_bits + 1)
    x = rng.normal(0, 1, n) * np.exp2(rng.choice([0, 0, 0, fin.emax // 2, small], n))
    bits = encode_floats(x, fin)
    sub = rng.random(n) < 0.05
    bits = np.where(sub, rng.integers(1, 1 << fin.man_bits, n)
                    | (rng.integers(0, 2, n) << (fin.width - 1)), bits)
    return [int(v) for v in bits]


def _can_be_tiny(fa, fb, facc):
    """Whether a product of an ``fa`` and an ``fb`` number can lie below the smallest normal
    of ``facc``."""
    return (fa.emin - fa.man_bits) + (fb.emin - fb.man_bits) < facc.emin


@pytest.mark.parametrize("fa, fb, facc, guard, rounding, subnormals", [
    ("bf16", "bf16", "fp32", 0, "rne", True), ("bf16", "bf16", "fp32", 3, "rtz", True),
    ("e4m3fn", "e4m3fn", "fp16", 2, "rne", True), ("fp16", "fp16", "bf16", 0, "rne", False),
    ("e5m2", "e5m2", "e5m2", 1, "rtz", False), ("e4m3fn", "e5m2", "fp16", 1, "rne", True),
    ("bf16", "e4m3fn", "fp32", 0, "rtz", False), ("e5m2", "e2m1fn", "bf16", 2, "rne", True)])
def test_whole_window_is_a_p_bit_accumulator(fa, fb, facc, guard, rounding, subnormals):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    fa, fb, facc = parse_format(fa), parse_format(fb), parse_format(facc)
    model = UnnormalizedMac(fmt_a=fa, fmt_b=fb, fmt_acc=facc, rounding=rounding,
                            subnormals=subnormals, guard=guard)
    p = facc.man_bits + 1 + guard
    options = dict(rounding=rounding, subnormals=subnormals,
                   overflow="inf" if facc.policy == "ieee" else "saturate")
    a, b = _operands(fa, facc, 6000, rng, fb), _operands(fb, facc, 6000, rng, fa)
    clear = rng.random(6000) < 1 / 8
    ref, tiny = Fraction(0), 0
    for x, y, c in zip(a, b, clear):
        va, vb = decode(x, fa, subnormals=subnormals), decode(y, fb, subnormals=subnormals)
        ref = _round_odd_p((0 if c else ref) + va.exact * vb.exact, p)
        got = model.tick(x, y, int(c), 1)
        if ref == 0:
            assert decode(got, facc).kind == "zero"
            continue
        want = encode(Value("finite", int(ref < 0), abs(ref)), facc, **options)
        assert got == want, (hex(x), hex(y), float(ref))
        tiny += abs(ref) < Fraction(2) ** facc.emin
    print(f"{tiny} of 6000 accumulator values lay below the smallest normal of {facc.name}")
    assert tiny > 0 or not _can_be_tiny(fa, fb, facc)


@pytest.mark.parametrize("granularity", [2, 4, 8, 16])
def test_granularity_keeps_p_minus_g_plus_1_bits(granularity):
    rng = np.random.default_rng(SEED + granularity)
    print(f"seed {SEED + granularity}")
    fin, facc = parse_format("bf16"), parse_format("fp32")
    model = UnnormalizedMac(fmt_in=fin, fmt_acc=facc, granularity=granularity)
    exact_model = UnnormalizedMac(fmt_in=fin, fmt_acc=facc)
    p = facc.man_bits + 1
    a, b = _operands(fin, facc, 4000, rng), _operands(fin, facc, 4000, rng)
    differ = 0
    for x, y in zip(a, b):
        before = model.state
        value = Fraction(0) if before.kind == "zero" else \
            Fraction(before.q) * Fraction(2) ** before.scale * (-1 if before.sign else 1)
        total = value + decode(x, fin).exact * decode(y, fin).exact
        model.tick(x, y, 0, 1)
        exact_model.state = before
        exact_model.tick(x, y, 0, 1)
        s = model.state
        got = Fraction(0) if s.kind == "zero" else \
            Fraction(s.q) * Fraction(2) ** s.scale * (-1 if s.sign else 1)
        if total:
            assert abs(got - total) < abs(total) * Fraction(2) ** -(p - granularity - 1), (
                hex(x), hex(y))
        differ += s != exact_model.state
    print(f"granularity {granularity}: {differ} of 4000 steps differ from granularity 1")
    assert differ > 0


def test_specials_follow_ieee():
    fin, facc = parse_format("bf16"), parse_format("fp32")
    inf, ninf, nan, one, zero, nzero = 0x7F80, 0xFF80, 0x7FC0, 0x3F80, 0x0000, 0x8000
    model = UnnormalizedMac(fmt_in=fin, fmt_acc=facc, granularity=4, window=12, extension=0)
    read = {"inf": 0x7F800000, "nan": facc.nan_code}
    assert model.tick(inf, one, 1, 1) == read["inf"]
    assert model.tick(one, one, 0, 1) == read["inf"]        # inf is sticky
    assert model.tick(ninf, one, 0, 1) == read["nan"]       # inf - inf
    assert model.tick(one, one, 0, 1) == read["nan"]        # NaN is sticky
    assert model.tick(inf, zero, 1, 1) == read["nan"]       # 0 * inf
    assert model.tick(nan, one, 1, 1) == read["nan"]
    # IEEE: (+0) + (-0) is +0; the cleared accumulator is +0, so -0 needs two negative zeros
    assert model.tick(nzero, one, 1, 1) == 0
    model.state = Accumulator("zero", 1)
    assert model.tick(nzero, one, 0, 1) == 0x80000000        # (-0) + (-0) = -0
    assert model.tick(one, one, 0, 1) == 0x3F800000
    assert model.tick(inf, zero, 0, 0) == 0x3F800000         # enable low: holds
    assert model.tick(0xBF80, one, 0, 1) == 0                # exact cancellation: +0
