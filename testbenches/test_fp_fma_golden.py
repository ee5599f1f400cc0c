"""The exact FMA golden model (``golden/fp/fma.py``) against an independent reference:
IEEE double arithmetic where it is exact, rounded to the accumulator format by numpy (whose
float64 -> float32/float16 conversions round correctly, to nearest even), plus a list of
corner cases written out by hand from IEEE 754.

Per-operand formats (``a`` in ``fmt_a``, ``b`` in ``fmt_b``): every e4m3fn x e5m2 pair with a
set of fp16 addends (and one that cancels the product) against exact fractions, the product
of ``decode(a, e4m3fn)`` and ``decode(b, e5m2)`` plus ``c`` rounded once by
``golden.fp.codec.encode`` with the special cases written out here, in both roundings and
with flushing; every pair against ml_dtypes decoding and numpy arithmetic (exact in float64)
for fp16 and fp32 accumulators; and the accumulating model against float64 sums."""

from fractions import Fraction
from functools import lru_cache

import ml_dtypes
import numpy as np
import pytest

from golden.fp.codec import Value, decode, encode
from golden.fp.fma import Mac, fma
from tpegen.formats import FORMATS

SEED = 5
F64_TARGET = {"fp32": np.float32, "fp16": np.float16}
IN_TYPES = {"bf16": ml_dtypes.bfloat16, "e4m3fn": ml_dtypes.float8_e4m3fn,
            "e5m2": ml_dtypes.float8_e5m2, "fp16": np.float16}
PAIRS = [("bf16", "fp32"), ("e4m3fn", "fp16"), ("e5m2", "fp16"), ("fp16", "fp32")]


def _value(bits, name):
    fmt = FORMATS[name]
    t = IN_TYPES.get(name) or F64_TARGET[name]
    raw = np.array([bits], dtype=np.uint8 if fmt.width == 8 else
                   np.uint16 if fmt.width == 16 else np.uint32)
    with np.errstate(invalid="ignore"):
        return float(raw.view(t).astype(np.float64)[0])


def _bits(x, name):
    fmt = FORMATS[name]
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.array([x], dtype=np.float64).astype(F64_TARGET[name])
    return int(y.view(np.uint16 if fmt.width == 16 else np.uint32)[0])


@pytest.mark.parametrize("fin, facc", PAIRS, ids=[f"{a}x{a}+{b}" for a, b in PAIRS])
def test_fma_matches_fp64_where_exact(fin, facc):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    wi, wa = FORMATS[fin].width, FORMATS[facc].width
    n, checked = 20000, 0
    a = rng.integers(0, 1 << wi, n)
    b = rng.integers(0, 1 << wi, n)
    c = rng.integers(0, 1 << wa, n)
    # addends near the product's magnitude, so that cancellation and rounding both happen
    near = rng.random(n) < 0.5
    for i in range(n):
        xa, xb = _value(int(a[i]), fin), _value(int(b[i]), fin)
        if near[i] and np.isfinite(xa * xb) and xa * xb != 0:
            xc_bits = _bits(-xa * xb * (1 + rng.standard_normal() * 2.0 ** -rng.integers(
                1, 20)), facc)
        else:
            xc_bits = int(c[i])
        xc = _value(xc_bits, facc)
        with np.errstate(all="ignore"):
            exact64 = xa * xb + xc
        if np.isfinite(exact64) and not np.isnan(exact64):
            truth = Fraction(xa) * Fraction(xb) + Fraction(xc)
            if Fraction(exact64) != truth:
                continue  # fp64 rounded: not a reference here
            if truth == 0:
                continue  # zero signs are checked by hand below
        got = fma(int(a[i]), int(b[i]), xc_bits, fmt_in=fin, fmt_acc=facc)
        want = _bits(exact64, facc)
        if np.isnan(exact64):
            assert decode(got, facc).kind == "nan", (fin, hex(a[i]), hex(b[i]), hex(xc_bits))
        else:
            assert got == want, (fin, facc, hex(a[i]), hex(b[i]), hex(xc_bits), got, want)
        checked += 1
    print(f"{checked} of {n} cases checked against fp64")
    assert checked > n // 2


BF, FP32 = "bf16", "fp32"


def f32(x):
    return int(np.array([x], np.float32).view(np.uint32)[0])


def bf(x):
    return int(np.array([x], np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)[0])


def test_special_values():
    nan, inf, ninf = 0x7FC0, 0x7F80, 0xFF80
    assert decode(fma(nan, bf(1), f32(1), fmt_in=BF, fmt_acc=FP32), FP32).kind == "nan"
    assert decode(fma(bf(0), inf, f32(1), fmt_in=BF, fmt_acc=FP32), FP32).kind == "nan"
    assert decode(fma(inf, bf(1), f32(-np.inf), fmt_in=BF, fmt_acc=FP32), FP32).kind == "nan"
    assert fma(inf, bf(-2), f32(1), fmt_in=BF, fmt_acc=FP32) == f32(-np.inf)
    assert fma(bf(2), bf(3), f32(np.inf), fmt_in=BF, fmt_acc=FP32) == f32(np.inf)
    assert fma(ninf, ninf, f32(0), fmt_in=BF, fmt_acc=FP32) == f32(np.inf)


def test_signed_zeros():
    nz, pz = bf(-0.0), bf(0.0)
    assert fma(nz, pz, f32(-0.0), fmt_in=BF, fmt_acc=FP32) == f32(-0.0)   # -0 + -0
    assert fma(nz, pz, f32(0.0), fmt_in=BF, fmt_acc=FP32) == f32(0.0)     # -0 + +0
    assert fma(bf(2), bf(3), f32(-6), fmt_in=BF, fmt_acc=FP32) == f32(0.0)  # cancellation
    assert fma(bf(2), bf(3), f32(-6), fmt_in=BF, fmt_acc=FP32, rounding="rtz") == f32(0.0)


def test_massive_cancellation_is_exact():
    # a*b = (1 + 2**-7)**2 = 1 + 2**-6 + 2**-14; c = -(1 + 2**-6): the result 2**-14 is exact
    a = bf(1 + 2 ** -7)
    assert fma(a, a, f32(-(1 + 2 ** -6)), fmt_in=BF, fmt_acc=FP32) == f32(2.0 ** -14)


def test_rne_ties_and_rtz():
    # fp16 accumulator: 1 + 2**-11 is a tie between 1 and 1 + 2**-10 -> even (1)
    e5, one = "e5m2", 0x3C   # 1.0 in e5m2
    c_tie = int(np.array([2.0 ** -11], np.float16).view(np.uint16)[0])
    assert fma(one, one, c_tie, fmt_in=e5, fmt_acc="fp16") == 0x3C00
    c_up = int(np.array([3 * 2.0 ** -11], np.float16).view(np.uint16)[0])  # 1 + 3*2**-11
    assert fma(one, one, c_up, fmt_in=e5, fmt_acc="fp16") == 0x3C02           # tie -> even up
    assert fma(one, one, c_up, fmt_in=e5, fmt_acc="fp16", rounding="rtz") == 0x3C01


def test_subnormal_results_and_flush():
    fp16 = FORMATS["fp16"]
    tiny = fp16.min_subnormal
    a = int(np.array([2.0 ** -8], ml_dtypes.float8_e5m2).view(np.uint8)[0])
    b = int(np.array([2.0 ** -8], ml_dtypes.float8_e5m2).view(np.uint8)[0])
    # 2**-16 is subnormal in fp16 (min normal 2**-14)
    assert decode(fma(a, b, 0, fmt_in="e5m2", fmt_acc="fp16"), fp16).exact == 2 ** Fraction(-16)
    assert fma(a, b, 0, fmt_in="e5m2", fmt_acc="fp16", subnormals=False) == 0
    # rounding out of the subnormal range: just below min normal rounds up to it
    c = encode(fp16.min_normal - tiny, fp16)                     # largest subnormal
    half = int(np.array([2.0 ** -13], ml_dtypes.float8_e5m2).view(np.uint8)[0])
    quarter = int(np.array([2.0 ** -12], ml_dtypes.float8_e5m2).view(np.uint8)[0])
    # c + 2**-25 (half a subnormal step): tie -> even = min normal (0x0400)
    assert fma(half, quarter, c, fmt_in="e5m2", fmt_acc="fp16") == 0x0400
    # underflow rounding with a subnormal addend: -tiny + tiny/2 = -tiny/2, a tie between -0
    # and -tiny; the even one is -0
    c = encode(-tiny, fp16)
    assert fma(half, quarter, c, fmt_in="e5m2", fmt_acc="fp16") == 0x8000


def test_overflow_inf_or_saturate():
    big = bf(2.0 ** 127)
    assert fma(big, big, f32(0), fmt_in=BF, fmt_acc=FP32) == f32(np.inf)
    assert fma(big, big, f32(0), fmt_in=BF, fmt_acc=FP32, rounding="rtz") == 0x7F7FFFFF
    e4 = int(np.array([448], ml_dtypes.float8_e4m3fn).view(np.uint8)[0])
    # fn accumulator: saturate to 448, never NaN
    assert fma(e4, e4, 0, fmt_in="e4m3fn", fmt_acc="e4m3fn") == 0x7E


def test_mac_accumulates_with_one_rounding_per_step():
    """acc <- round(acc + a*b) each cycle, against float64 arithmetic (exact here: bf16
    products have 16 significant bits) rounded to float32 by numpy."""
    mac = Mac(fmt_in=BF, fmt_acc=FP32)
    rng = np.random.default_rng(SEED)
    xs = rng.standard_normal((200, 2)).astype(np.float32)
    reference = np.float32(0)
    for i, (x, y) in enumerate(xs):
        xb, yb = bf(x), bf(y)
        acc = mac.tick(xb, yb, clear=(i == 0), enable=True)
        exact = np.float64(reference) + np.float64(_value(xb, BF)) * np.float64(_value(yb, BF))
        assert Fraction(exact) == Fraction(float(reference)) + Fraction(_value(xb, BF)) * \
            Fraction(_value(yb, BF))
        reference = np.float32(exact)
        assert acc == f32(reference), i
    assert mac.tick(0, 0, clear=True, enable=False) == 0


# --- per-operand formats ------------------------------------------------------------------

E4, E5 = FORMATS["e4m3fn"], FORMATS["e5m2"]
FP16_ADDENDS = [0x0000, 0x8000, 0x0001, 0x83FF, 0x3C00, 0xB555, 0xFBFF, 0x7C00, 0x7E00]


@lru_cache(maxsize=None)
def _decoded(bits, fmt, subnormals=True):
    """``decode`` of the reference, memoized: the every-pair loops decode each of the 256
    patterns of ``a`` and ``b`` (and each addend of the set) thousands of times. ``decode`` is
    a pure function of its arguments and returns a frozen :class:`Value`, so the cache changes
    no result; the model under test (``fma``) still decodes on its own every time."""
    return decode(bits, fmt, subnormals=subnormals)


def _reference(a, b, c, fa, fb, facc, rounding="rne", subnormals=True):
    """``decode(a, fa) * decode(b, fb) + decode(c, facc)``, exactly, rounded once into
    ``facc`` by ``encode``; IEEE 754's special cases written out here: NaN in, ``0 * inf`` and
    ``inf - inf`` give NaN; an exact zero is ``-0`` only for ``(-0) + (-0)``; overflow gives
    inf (IEEE formats; RTZ: the largest finite) or saturates (formats without inf)."""
    opts = dict(rounding=rounding, subnormals=subnormals,
                overflow="inf" if facc.has_inf else "saturate")
    va = _decoded(a, fa, subnormals)
    vb = _decoded(b, fb, subnormals)
    vc = _decoded(c, facc, subnormals)
    nan = _encoded_special("nan", 0, facc, rounding, subnormals)
    sign = va.sign ^ vb.sign
    kinds = {va.kind, vb.kind}
    if "nan" in kinds or vc.kind == "nan":
        return nan
    if "inf" in kinds:
        if "zero" in kinds or (vc.kind == "inf" and vc.sign != sign):
            return nan
        return _encoded_special("inf", sign, facc, rounding, subnormals)
    if vc.kind == "inf":
        return encode(vc, facc, **opts)
    product = va.exact * vb.exact
    total = product + vc.exact
    if total == 0:
        negative = product == 0 and vc.kind == "zero" and sign and vc.sign
        return encode(Value("zero", int(negative)), facc, **opts)
    return encode(total, facc, **opts)


@lru_cache(maxsize=None)
def _encoded_special(kind, sign, facc, rounding, subnormals):
    """``encode(Value(kind, sign), facc, ...)`` for NaN and inf (memoized, a pure function)."""
    return encode(Value(kind, sign), facc, rounding=rounding, subnormals=subnormals,
                  overflow="inf" if facc.has_inf else "saturate")


def _cancel(a, b, fa, fb, facc):
    """The addend that cancels ``a*b`` as far as ``facc`` allows (a zero for specials)."""
    va, vb = _decoded(a, fa), _decoded(b, fb)
    if va.kind != "finite" or vb.kind != "finite":
        return 0
    return encode(-(va.exact * vb.exact), facc, rounding="rtz", overflow="saturate")


def test_mixed_fp8_every_pair_against_exact_fractions():
    """Every e4m3fn x e5m2 pair with every addend of ``FP16_ADDENDS`` and the cancelling one,
    RNE with subnormals; ``a`` and ``b`` swapped formats would differ (the test would see)."""
    fp16 = FORMATS["fp16"]
    opts = dict(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16")
    checked = 0
    for a in range(256):
        for b in range(256):
            for c in FP16_ADDENDS + [_cancel(a, b, E4, E5, fp16)]:
                want = _reference(a, b, c, E4, E5, fp16)
                assert fma(a, b, c, **opts) == want, (hex(a), hex(b), hex(c), hex(want))
                checked += 1
    print(f"{checked} cases agree")
    # the formats are not interchangeable: swapping them changes results
    assert fma(0x01, 0x3C, 0, **opts) != fma(0x01, 0x3C, 0, fmt_a="e5m2", fmt_b="e4m3fn",
                                             fmt_acc="fp16")


@pytest.mark.parametrize("rounding, subnormals", [("rtz", True), ("rne", False),
                                                  ("rtz", False)])
def test_mixed_fp8_every_pair_roundings_and_flushing(rounding, subnormals):
    """Every e4m3fn x e5m2 pair (and every e5m2 x e4m3fn pair), the addends of the set taken
    in turn, against exact fractions, with RTZ and with subnormals flushed; the accumulator
    also bf16 (overflow, the subnormal range below the products' reach)."""
    bf16, fp16 = FORMATS["bf16"], FORMATS["fp16"]
    rng = np.random.default_rng(SEED)
    bf_addends = [0x0000, 0x8000, 0x0001, 0x807F, 0x3F80, 0xFF7F, 0x7F80, 0x7FC0,
                  int(rng.integers(0, 1 << 16))]
    for fa, fb, facc, addends in ((E4, E5, fp16, FP16_ADDENDS), (E5, E4, bf16, bf_addends)):
        opts = dict(fmt_a=fa, fmt_b=fb, fmt_acc=facc, rounding=rounding,
                    subnormals=subnormals)
        i = 0
        for a in range(256):
            for b in range(256):
                c = addends[i % len(addends)] if i % 5 else _cancel(a, b, fa, fb, facc)
                i += 1
                want = _reference(a, b, c, fa, fb, facc, rounding, subnormals)
                assert fma(a, b, c, **opts) == want, (fa.name, fb.name, hex(a), hex(b), hex(c))


def _f64(name, bits):
    """Every value of the bit patterns ``bits`` of an 8-bit format, decoded by ml_dtypes."""
    return np.asarray(bits, np.uint8).view(IN_TYPES[name]).astype(np.float64)


@pytest.mark.parametrize("facc", ["fp16", "fp32"])
def test_mixed_fp8_every_pair_against_ml_dtypes(facc):
    """Every e4m3fn x e5m2 pair with a set of addends (random, specials, and ones that cancel
    the product), against ml_dtypes' decoding and numpy: the product of two fp8 values is exact
    in float64, and so is the sum where TwoSum's error term is zero (always for fp16: every
    value there lies on a 2**-25 grid below 2**26); numpy then rounds it to nearest even,
    signed zeros and infinities included (RNE, subnormals)."""
    rng = np.random.default_rng(SEED)
    target, fmt = F64_TARGET[facc], FORMATS[facc]
    utype = np.uint16 if fmt.width == 16 else np.uint32
    a, b = (x.ravel() for x in np.meshgrid(np.arange(256), np.arange(256), indexing="ij"))
    xa, xb = _f64("e4m3fn", a), _f64("e5m2", b)
    with np.errstate(all="ignore"):
        product = xa * xb
    specials = [1 << (fmt.width - 1), fmt.inf_code | 1 << (fmt.width - 1)]
    if facc == "fp16":         # beside the largest or the smallest fp32, fp64 rounds
        specials += [fmt.max_code, 1]
    columns = [np.full(a.size, c) for c in specials]
    if facc == "fp16":
        columns.append(rng.integers(0, 1 << fmt.width, a.size))       # anything
    with np.errstate(all="ignore"):
        moderate = rng.standard_normal(a.size) * 2.0 ** rng.integers(-12, 13, a.size)
        near = -product * (1 + rng.standard_normal(a.size) * 2.0 ** -rng.integers(
            1, fmt.man_bits + 3, a.size))      # near -a*b: cancellation, then rounding
        columns += [x.astype(target).view(utype).astype(np.int64) for x in (moderate, near)]
    checked = skipped = 0
    for c in columns:
        with np.errstate(all="ignore"):
            xc = np.asarray(c, utype).view(target).astype(np.float64)
            total = product + xc
            err = (product - (total - (total - product))) + (xc - (total - product))
            want = total.astype(target).view(utype)
        exact = ~np.isfinite(total) | (err == 0)
        skipped += int((~exact).sum())
        for i in np.flatnonzero(exact).tolist():
            got = fma(int(a[i]), int(b[i]), int(c[i]), fmt_a="e4m3fn", fmt_b="e5m2",
                      fmt_acc=facc)
            if np.isnan(total[i]):
                assert decode(got, fmt).kind == "nan", (hex(a[i]), hex(b[i]), hex(c[i]))
            else:
                assert got == int(want[i]), (hex(a[i]), hex(b[i]), hex(c[i]), hex(got))
            checked += 1
    print(f"{facc}: {checked} cases agree with ml_dtypes/numpy, {skipped} inexact in fp64")
    assert checked > 0.75 * len(columns) * a.size
    if facc == "fp16":
        assert skipped == 0


def test_mixed_mac_accumulates_with_one_rounding_per_step():
    """``Mac(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp32")`` against float64 sums (exact:
    checked) rounded to float32 by numpy, ml_dtypes decoding the operands."""
    mac = Mac(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp32")
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((300, 2)) * 4
    a = x[:, 0].astype(ml_dtypes.float8_e4m3fn).view(np.uint8).tolist()
    b = x[:, 1].astype(ml_dtypes.float8_e5m2).view(np.uint8).tolist()
    reference = np.float32(0)
    for i, (xa, xb) in enumerate(zip(a, b)):
        acc = mac.tick(xa, xb, clear=(i == 0), enable=True)
        pa, pb = float(_f64("e4m3fn", [xa])[0]), float(_f64("e5m2", [xb])[0])
        exact = np.float64(reference) + np.float64(pa) * np.float64(pb)
        assert Fraction(exact) == Fraction(float(reference)) + Fraction(pa) * Fraction(pb)
        reference = np.float32(exact)
        assert acc == f32(reference), i
