"""The FP tree reduction's golden models (:mod:`golden.fp.fdot`, the spec and the scalar
reference on Fractions; :mod:`golden.fp.vfdot`, vectorized): the two agree bit for bit on
random and special operands, and the spec's two promises hold -- correctly rounded when
every term lies within the window, and terms below the window dropped (so *not* correctly
rounded otherwise, by design)."""

import numpy as np
import pytest

from golden.fp import fdot as sfdot
from golden.fp import vfdot
from golden.fp.codec import decode, encode
from tpegen.formats import parse_format

SEED = 20261202
BF16, FP32 = parse_format("bf16"), parse_format("fp32")


def _rng(*salt):
    seed = [SEED, *(sum(map(ord, str(s))) for s in salt)]
    print(f"seed {seed}")
    return np.random.default_rng(seed)


def _operands(rng, n, terms, fmt, special=0.05):
    """Random bit patterns: mostly finite values of a few nearby binades, with zeros,
    subnormals, infinities and NaNs mixed in."""
    bits = rng.integers(0, 1 << fmt.width, (n, terms))
    near = rng.random((n, terms)) < 0.6       # exponents near 1.0: cancellation happens
    exp = rng.integers(fmt.bias - 3, fmt.bias + 4, (n, terms))
    man = rng.integers(0, 1 << fmt.man_bits, (n, terms))
    sign = rng.integers(0, 2, (n, terms))
    nearby = (sign << (fmt.width - 1)) | (exp << fmt.man_bits) | man
    bits = np.where(near, nearby, bits)
    pick = rng.random((n, terms))
    bits = np.where(pick < special / 2, 0, bits)                                # zeros
    bits = np.where((pick >= special / 2) & (pick < special),
                    rng.integers(1, 1 << fmt.man_bits, (n, terms)), bits)       # subnormals
    return bits


@pytest.mark.parametrize("terms", [1, 3, 8, 16])
@pytest.mark.parametrize("rounding,subnormals", [("rne", True), ("rtz", True),
                                                 ("rne", False)])
def test_vectorized_equals_scalar(terms, rounding, subnormals):
    rng = _rng(terms, rounding, subnormals)
    n = 1500
    a = _operands(rng, n, terms, BF16)
    b = _operands(rng, n, terms, BF16)
    c = _operands(rng, n, 1, FP32)[:, 0]
    c[:40] = [0x7F800000, 0xFF800000, 0x7FC00000, 0x80000000] * 10      # specials in c
    a[40:60, 0] = 0x7F80                                                 # inf products
    b[50:60, 0] = 0                                                      # inf * 0
    opts = dict(fmt_acc="fp32", fmt_a="bf16", rounding=rounding, subnormals=subnormals)
    got = vfdot.fdot(a, b, c, **opts)
    for k in range(n):
        want = sfdot.fdot([int(x) for x in a[k]], [int(x) for x in b[k]], int(c[k]), **opts)
        assert int(got[k]) == want, (k, [hex(int(x)) for x in a[k]],
                                     [hex(int(x)) for x in b[k]], hex(int(c[k])))


def _exact_rounded(a, b, c, rounding="rne"):
    total = decode(c, FP32).exact + sum(decode(x, BF16).exact * decode(y, BF16).exact
                                        for x, y in zip(a, b))
    return encode(total, FP32, rounding=rounding, overflow="inf")


def test_correctly_rounded_within_the_window():
    """Products of operands in [1, 2) (tops within one bit of each other) and c = +0: every
    term lands on the grid whole, so the one rounding is the correctly rounded sum."""
    rng = _rng("window")
    for _ in range(400):
        T = int(rng.integers(1, 17))
        a = [int((s << 15) | (BF16.bias << 7) | m) for s, m in
             zip(rng.integers(0, 2, T), rng.integers(0, 128, T))]
        b = [int((BF16.bias << 7) | m) for m in rng.integers(0, 128, T)]
        assert sfdot.fdot(a, b, 0, fmt_acc="fp32", fmt_a="bf16") == _exact_rounded(a, b, 0)


def test_terms_below_the_window_are_dropped():
    """1.0 - 2**-30 rounded toward zero is 0x3F7FFFFF; the reduction drops -2**-30 (below
    the grid 2**(2 - 27) set by the product 1.0 * 1.0) and gives 1.0 exactly."""
    one, tiny = 0x3F80, 0x3080 | 0x8000           # bf16 1.0 and -2**-30
    a, b = [one, tiny], [one, one]
    assert _exact_rounded(a, b, 0, "rtz") == 0x3F7FFFFF
    opts = dict(fmt_acc="fp32", fmt_a="bf16", rounding="rtz")
    assert sfdot.fdot(a, b, 0, **opts) == 0x3F800000
    assert int(vfdot.fdot(np.array([a]), np.array([b]), np.array([0]), **opts)[0]) == \
        0x3F800000


def test_dot_mac_cycle_models_agree():
    rng = _rng("mac")
    shape, T = (3, 4), 5
    vec = vfdot.DotMac(shape, terms=T, fmt_acc="fp32", fmt_a="bf16")
    ref = [sfdot.DotMac(fmt_acc="fp32", fmt_a="bf16") for _ in range(12)]
    for t in range(80):
        a = _operands(rng, 12, T, BF16, special=0.01).reshape(shape + (T,))
        b = _operands(rng, 12, T, BF16, special=0.01).reshape(shape + (T,))
        clear, enable = rng.random(shape) < 0.15, rng.random(shape) < 0.9
        got = vec.tick(a, b, clear, enable).reshape(-1)
        for n in range(12):
            i, j = divmod(n, 4)
            want = ref[n].tick([int(x) for x in a[i, j]], [int(x) for x in b[i, j]],
                               bool(clear[i, j]), bool(enable[i, j]))
            assert int(got[n]) == want, (t, n)
