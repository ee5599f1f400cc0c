"""Golden floating-point codec (``golden/fp/codec.py``) against ml_dtypes/numpy, the
independent reference for format rounding.

* decode agrees with ml_dtypes on every bit pattern of every 4-, 8- and 16-bit format;
* encode(decode(x)) gives x back for every non-NaN pattern;
* rounding a float32 value (which ml_dtypes and numpy round correctly, to nearest even) agrees
  on random values and on every midpoint between neighbours of the 8- and 16-bit formats, and
  one float32 step either side of it.
"""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from golden.fp.codec import Value, decode, encode
from tpegen.config import ParameterError
from tpegen.formats import FORMATS, FloatFormat, parse_format

REFERENCE = {
    "bf16": ml_dtypes.bfloat16, "fp16": np.float16, "e4m3fn": ml_dtypes.float8_e4m3fn,
    "e5m2": ml_dtypes.float8_e5m2, "e2m1fn": ml_dtypes.float4_e2m1fn,
}
SEED = 11


def _patterns(name):
    fmt = FORMATS[name]
    return np.arange(1 << fmt.width, dtype=np.uint32)


def _as_reference(name, patterns):
    """float64 values of the reference type for the given bit patterns."""
    t = REFERENCE[name]
    width = FORMATS[name].width
    if width == 4:  # ml_dtypes stores float4 in one byte, low nibble
        raw = patterns.astype(np.uint8)
    else:
        raw = patterns.astype(np.uint8 if width == 8 else np.uint16)
    with np.errstate(invalid="ignore"):
        return raw.view(t).astype(np.float64)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_decode_every_pattern(name):
    fmt = FORMATS[name]
    patterns = _patterns(name)
    ref = _as_reference(name, patterns)
    for bits, r in zip(patterns.tolist(), ref.tolist()):
        v = decode(bits, fmt)
        if np.isnan(r):
            assert v.kind == "nan", (hex(bits), v)
        elif np.isinf(r):
            assert v.kind == "inf" and v.sign == int(r < 0), (hex(bits), v)
        else:
            assert v.kind in ("zero", "finite") and v.exact == Fraction(r), (hex(bits), v, r)
            assert v.sign == int(np.signbit(r)), hex(bits)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_encode_round_trips(name):
    fmt = FORMATS[name]
    for bits in _patterns(name).tolist():
        v = decode(bits, fmt)
        if v.kind == "nan":
            assert decode(encode(v, fmt), fmt).kind == "nan"
        else:
            assert encode(v, fmt) == bits, hex(bits)


def _reference_round(name, values32):
    t = REFERENCE[name]
    with np.errstate(over="ignore"):
        out = values32.astype(t)
    width = FORMATS[name].width
    raw = out.view(np.uint8 if width <= 8 else np.uint16).astype(np.int64)
    return raw & ((1 << width) - 1)


def _midpoints(name):
    """Every midpoint between neighbouring finite values, and one float32 step either side."""
    fmt = FORMATS[name]
    values = sorted({decode(b, fmt).exact for b in range(1 << fmt.width)
                     if decode(b, fmt).kind in ("zero", "finite")})
    mids = [(x + y) / 2 for x, y in zip(values, values[1:])]
    mids.append(fmt.max_finite + (fmt.max_finite - values[-2]) / 2)  # the overflow boundary
    m32 = np.array([float(m) for m in mids], dtype=np.float32)
    assert all(Fraction(float(a)) == b for a, b in zip(m32, mids)), "midpoint not in float32"
    return np.concatenate([m32, np.nextafter(m32, np.float32(np.inf)),
                           np.nextafter(m32, np.float32(-np.inf))])


@pytest.mark.parametrize("name", list(REFERENCE))
def test_rounding_matches_reference(name):
    fmt = FORMATS[name]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    span = min(float(fmt.max_finite) * 1.5, 3e38)
    random = (rng.standard_normal(20000) * rng.choice([1e-6, 1e-3, 1, 1e3], 20000))
    random = np.concatenate([random, rng.uniform(-span, span, 5000)]).astype(np.float32)
    values = np.concatenate([_midpoints(name), random, [np.inf, -np.inf, 0.0, -0.0]]).astype(
        np.float32)
    expected = _reference_round(name, values)
    for x, want in zip(values.tolist(), expected.tolist()):
        if np.isinf(x):
            got = encode(Value("inf", int(x < 0)), fmt)
        elif x == 0:
            got = encode(Value("zero", int(np.signbit(np.float32(x)))), fmt)
        else:
            got = encode(Fraction(x), fmt)
        assert got == want, f"{name}: {x!r} -> {got:#x}, reference {want:#x}"


def test_rtz_and_flush():
    bf16 = FORMATS["bf16"]
    # 1 + 2**-8 + 2**-9 lies above the midpoint: RNE rounds up, RTZ truncates
    x = 1 + Fraction(1, 256) + Fraction(1, 512)
    assert encode(x, bf16) == 0x3F81 and encode(x, bf16, rounding="rtz") == 0x3F80
    tiny = bf16.min_normal / 2
    assert encode(tiny, bf16) == 0x0040 and encode(tiny, bf16, subnormals=False) == 0
    assert encode(-tiny, bf16, subnormals=False) == 0x8000
    assert encode(bf16.max_finite * 4, bf16, rounding="rtz") == 0x7F7F       # max, not inf
    e4m3 = FORMATS["e4m3fn"]
    assert encode(1000, e4m3) == 0x7F and encode(1000, e4m3, overflow="saturate") == 0x7E
    assert decode(0x40, FORMATS["e4m3fn"], subnormals=False).kind == "finite"
    assert decode(0x01, FORMATS["e4m3fn"], subnormals=False).kind == "zero"


def test_format_parameters():
    assert FORMATS["e4m3fn"].max_finite == 448 and FORMATS["e5m2"].max_finite == 57344
    assert FORMATS["e2m1fn"].max_finite == 6 and FORMATS["bf16"].bias == 127
    assert parse_format("e3m2") == FloatFormat(3, 2)
    assert parse_format("e3m4fn").policy == "fn"
    with pytest.raises(ParameterError, match="format='fp12' is not allowed"):
        parse_format("fp12")
    with pytest.raises(ParameterError, match="exp_bits=12 is out of range: allowed 1..11"):
        FloatFormat(12, 3)
