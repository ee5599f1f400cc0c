"""The exact FMA golden model (``golden/fp/fma.py``) against an independent reference:
IEEE double arithmetic where it is exact, rounded to the accumulator format by numpy (whose
float64 -> float32/float16 conversions round correctly, to nearest even), plus a list of
corner cases written out by hand from IEEE 754."""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden.fp.codec import decode, encode
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
