"""The approximate-normalization FMA golden model (``golden.fp.fma.fma_approx``), and the
directed corner list used by the FMA testbench:

* with its exact settings (the whole window, granularity 1, no guard bits) it is the exact FMA
  bit for bit, exhaustively for e2m1fn x e2m1fn + e4m3fn and at random for bf16 x bf16 + fp32;
* its errors are those the scheme predicts: with ``guard >= granularity - 1`` and the whole
  window, within one unit in the last place of the exact result (the second rounding); a
  window of ``max(pc, pp) + 4`` bits is exact for normal operands, narrower ones are not;
* the corner list exercises every category of the issue's list that the format pair allows.

Each holds with per-operand formats too (``a`` in ``fmt_a``, ``b`` in ``fmt_b``): the exact
settings over every e4m3fn x e5m2 pair, at random for bf16 x e4m3fn + fp32, the guard-bit
bound and the corner list for both.
"""

from fractions import Fraction

import numpy as np
import pytest

from golden.fp.codec import decode
from golden.fp.fma import fma, fma_approx
from testbenches.fp_corners import CATEGORIES, classify, fma_corners
from testbenches.fp_tb import _cancelling
from tpegen import registry
from tpegen.config import FmaConfig
from tpegen.formats import parse_format

SEED = 11


def _random_triples(cfg, n, rng, moderate=False):
    """Random operands (``a`` of ``cfg.fa``, ``b`` of ``cfg.fb``), half of them with ``c``
    close to ``-a*b``; ``moderate``: normal multiplicands with exponents in -40..40 (with
    per-operand formats: clipped to each format's normal range), so that most products fit
    the accumulator."""
    fa, fb, facc = cfg.fa, cfg.fb, cfg.facc
    a = rng.integers(0, 1 << fa.width, n)
    b = rng.integers(0, 1 << fb.width, n)
    if moderate and fa == fb:
        m = fa.man_bits
        exps = rng.integers(fa.bias - 40, fa.bias + 41, (2, n))
        a = (a & ((1 << m) - 1 | 1 << (fa.width - 1))) | (exps[0] << m)
        b = (b & ((1 << m) - 1 | 1 << (fa.width - 1))) | (exps[1] << m)
    elif moderate:
        def normal(x, f):
            lo, hi = max(1, f.bias - 40), min(f.emax + f.bias, f.bias + 40)
            exps = rng.integers(lo, hi + 1, n)
            return (x & ((1 << f.man_bits) - 1 | 1 << (f.width - 1))) | (exps << f.man_bits)
        a, b = normal(a, fa), normal(b, fb)
    c = rng.integers(0, 1 << facc.width, n)
    cancel = rng.random(n) < 0.5
    c[cancel] = _cancelling(cfg, a[cancel], b[cancel], rng)
    return list(zip(a.tolist(), b.tolist(), c.tolist()))


def test_exact_settings_reproduce_exact_fma_exhaustively():
    fin, facc = parse_format("e2m1fn"), parse_format("e4m3fn")
    for rounding in ("rne", "rtz"):
        for subnormals in (True, False):
            opts = dict(fmt_in=fin, fmt_acc=facc, rounding=rounding, subnormals=subnormals)
            for a in range(16):
                for b in range(16):
                    for c in range(256):
                        assert fma_approx(a, b, c, **opts) == fma(a, b, c, **opts), (a, b, c)


@pytest.mark.parametrize("rounding, subnormals", [("rne", True), ("rtz", False)])
def test_exact_settings_reproduce_exact_fma_for_every_mixed_fp8_pair(rounding, subnormals):
    """Every e4m3fn x e5m2 pair, one addend per pair in turn (a set of fp16 values, and one
    in three cancelling the product), at the exact settings."""
    cfg = FmaConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16", rounding=rounding,
                    subnormals=subnormals)
    rng = np.random.default_rng(SEED)
    addends = [0x0000, 0x8000, 0x0001, 0x83FF, 0x3C00, 0xB555, 0xFBFF, 0x7C00, 0x7E00,
               int(rng.integers(0, 1 << 16))]
    opts = dict(fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc, rounding=rounding,
                subnormals=subnormals)
    a, b = (x.ravel() for x in np.meshgrid(np.arange(256), np.arange(256), indexing="ij"))
    c = np.array(addends)[np.arange(a.size) % len(addends)]
    cancel = np.arange(a.size) % 3 == 0
    c[cancel] = _cancelling(cfg, a[cancel], b[cancel], rng)
    for x, y, z in zip(a.tolist(), b.tolist(), c.tolist()):
        assert fma_approx(x, y, z, window=cfg.layout.width, **opts) == fma(x, y, z, **opts), \
            (hex(x), hex(y), hex(z))


@pytest.mark.parametrize("fa, fb, facc", [("bf16", "bf16", "fp32"), ("fp16", "fp16", "fp16"),
                                          ("e5m2", "e5m2", "bf16"), ("bf16", "e4m3fn", "fp32"),
                                          ("fp16", "e5m2", "fp32")])
def test_exact_settings_reproduce_exact_fma_at_random(fa, fb, facc):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    cfg = FmaConfig(fmt_a=fa, fmt_b=fb, fmt_acc=facc)
    for a, b, c in _random_triples(cfg, 4000, rng):
        opts = dict(fmt_a=fa, fmt_b=fb, fmt_acc=facc)
        assert fma_approx(a, b, c, window=cfg.layout.width, granularity=1, guard=0,
                          **opts) == fma(a, b, c, **opts), (hex(a), hex(b), hex(c))


def _ulps(x, y, fmt):
    """Distance in units in the last place of ``y`` (both finite)."""
    vx, vy = decode(x, fmt).exact, decode(y, fmt).exact
    e = max(abs(vy).numerator.bit_length() - abs(vy).denominator.bit_length(), fmt.emin) \
        if vy else fmt.emin
    return abs(vx - vy) / (Fraction(2) ** (e - fmt.man_bits))


@pytest.mark.parametrize("fb", ["bf16", "e4m3fn"])
@pytest.mark.parametrize("granularity", [2, 4, 8, 16])
def test_enough_guard_bits_cost_at_most_one_ulp(granularity, fb):
    rng = np.random.default_rng(SEED)
    cfg = FmaConfig(fmt_a="bf16", fmt_b=fb, fmt_acc="fp32")
    formats = dict(fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc)
    worst, differ = 0, 0
    for a, b, c in _random_triples(cfg, 3000, rng, moderate=True):
        exact = fma(a, b, c, **formats)
        approx = fma_approx(a, b, c, granularity=granularity, guard=granularity - 1,
                            **formats)
        if decode(exact, cfg.facc).kind != "finite":
            assert approx == exact
            continue
        worst = max(worst, _ulps(approx, exact, cfg.facc))
        differ += approx != exact
    print(f"{cfg.name}, granularity {granularity}: {differ} of 3000 differ, "
          f"worst {float(worst)} ulp")
    assert worst <= 1


def _normal(cfg, a, b, c):
    return all(v.kind == "finite" and v.magnitude >= f.min_normal
               for v, f in ((decode(a, cfg.fa), cfg.fa), (decode(b, cfg.fb), cfg.fb),
                            (decode(c, cfg.facc), cfg.facc)))


@pytest.mark.parametrize("fin, facc", [("bf16", "fp32"), ("fp16", "fp16")])
def test_window_of_p_plus_4_bits_is_exact_for_normal_operands(fin, facc):
    """Without cancellation the leading one lies in the top ``pc + 4`` bits of the alignment
    window (``pc``, ``pp``: addend and product significand bits). A cancellation of ``k``
    binades moves it ``k`` bits lower, but then the sum has at most ``max(pc, pp) - k``
    significant bits, which a rounding ``k`` places too high still keeps when the window has
    ``max(pc, pp) + 4`` bits: such a window is exact for normal operands (subnormal products
    start lower), and narrower windows are not."""
    rng = np.random.default_rng(SEED)
    cfg = FmaConfig(fmt_in=fin, fmt_acc=facc)
    p = max(cfg.layout.pc, cfg.layout.pp)
    cases = [t for t in _random_triples(cfg, 3000, rng, moderate=True) if _normal(cfg, *t)]
    differ = {}
    for window in (p + 4, p + 2, p - 4):
        differ[window] = sum(
            fma_approx(a, b, c, fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc, window=window)
            != fma(a, b, c, fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc) for a, b, c in cases)
    print(f"{len(cases)} normal cases; results that differ from exact, by window: {differ}")
    assert differ[p + 4] == 0
    assert differ[p + 2] <= differ[p - 4] and differ[p - 4] > 0


CORNER_CONFIGS = [FmaConfig(fmt_in="bf16", fmt_acc="fp32"),
                  FmaConfig(fmt_in="fp16", fmt_acc="fp16"),
                  FmaConfig(fmt_in="e5m2", fmt_acc="e5m2"),
                  FmaConfig(fmt_in="e4m3fn", fmt_acc="e4m3fn"),
                  FmaConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16"),
                  FmaConfig(fmt_a="bf16", fmt_b="e4m3fn", fmt_acc="fp32")]


def _inexact_subnormals_impossible(cfg):
    """Whether every product is a multiple of the accumulator's smallest subnormal (the
    products' grid is that of the two smallest subnormals): then every sum below the smallest
    normal is exact, and nothing rounds into or out of the subnormal range."""
    fa, fb = cfg.fa, cfg.fb
    grid = Fraction(2) ** (fa.emin - fa.man_bits + fb.emin - fb.man_bits)
    return (grid / cfg.facc.min_subnormal).denominator == 1


@pytest.mark.parametrize("cfg", CORNER_CONFIGS, ids=lambda c: c.name)
def test_corner_list_covers_every_category(cfg):
    """Every category occurs, except the two that need an inexact sum below the smallest
    normal when the format triple has none (bf16 x e4m3fn + fp32: products are multiples of
    2**-142, fp32's subnormals of 2**-149); those then do not occur."""
    rng = np.random.default_rng(SEED)
    found = {k: 0 for k in CATEGORIES}
    for a, b, c in fma_corners(cfg, rng):
        for kind in classify(a, b, c, cfg):
            found[kind] += 1
    print(cfg.name, found)
    impossible = {"out_of_subnormal", "underflow_subnormal_addend"} \
        if _inexact_subnormals_impossible(cfg) else set()
    assert all(n for k, n in found.items() if k not in impossible), found
    assert not any(found[k] for k in impossible), found


def test_classify_recognises_each_category():
    """Hand-made e5m2 cases, one per category (values in the comments)."""
    cfg = FmaConfig(fmt_in="e5m2", fmt_acc="e5m2")
    one, two = 0x3C, 0x40
    assert classify(0x01, one, 0x00, cfg) == {"to_subnormal"}          # 2^-16 * 1
    assert "overflow" in classify(0x7B, 0x7B, 0x7B, cfg)                # 57344^2
    assert "cancellation" in classify(0x3D, one, 0xBC, cfg)              # 1.25 - 1
    assert "tie" in classify(one, 0x34, 0x40, cfg)                       # 2 + 0.25
    assert classify(0x7F, one, one, cfg) == {"nan"}
    assert classify(two, two, one, cfg) == set()                         # 4 + 1, exact


def test_fpmul_golden_matches_ml_dtypes_bf16():
    """The exact multiplier's golden model (``fma(a, b, -0)``) against ml_dtypes: a bf16
    product is exact in float64 and, inside float32's normal range, exact in float32, whose
    conversion to bf16 ml_dtypes rounds to nearest even; every pair of a random sample."""
    import ml_dtypes
    from tpegen.config import FpMulConfig
    golden = registry.model(FpMulConfig(format="bf16"))
    rng = np.random.default_rng(SEED)
    a = rng.integers(0, 1 << 16, 20000).astype(np.uint16)
    b = rng.integers(0, 1 << 16, 20000).astype(np.uint16)
    with np.errstate(all="ignore"):     # NaN patterns
        fa = a.view(ml_dtypes.bfloat16).astype(np.float64)
        fb = b.view(ml_dtypes.bfloat16).astype(np.float64)
        prod = fa * fb
        ref = prod.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)
    checked = 0
    for x, y, p, r in zip(a.tolist(), b.tolist(), prod.tolist(), ref.tolist()):
        if not np.isfinite(p) or not (p == 0 or 2.0 ** -126 <= abs(p) < 2.0 ** 127):
            continue
        got = golden(x, y)
        assert got == r, (hex(x), hex(y), hex(got), hex(r))
        checked += 1
    print(f"{checked} finite in-range products agree")
    assert checked > 5000


def test_lmac_golden_adds_the_lmul_product_exactly_once():
    """The L-Mul MAC model against float64: the L-Mul product (its golden model) plus a
    float32 accumulator, where float64 holds the sum exactly, rounded by numpy to float32."""
    from golden.fp.lmul import LMac, lmul
    rng = np.random.default_rng(SEED)
    model = LMac(fmt_in="bf16", fmt_acc="fp32")
    fin, facc = parse_format("bf16"), parse_format("fp32")
    checked = 0
    for _ in range(3000):
        a, b = (int(x) for x in rng.integers(0, 1 << 16, 2))
        acc = int(np.float32(rng.normal()).view(np.uint32))
        model.acc = acc
        got = model.tick(a, b, 0, 1)
        p, c = decode(lmul(a, b, fin), fin), decode(acc, facc)
        if p.kind != "finite" or c.kind != "finite":
            continue
        exact = p.exact + c.exact
        if Fraction(float(exact)) != exact:
            continue
        assert got == int(np.float32(float(exact)).view(np.uint32)), (hex(a), hex(b), hex(acc))
        checked += 1
    print(f"{checked} exact sums agree")
    assert checked > 500


@pytest.mark.parametrize("extension", [0, 2, 6])
def test_short_extension_costs_at_most_the_dropped_addend_bits(extension):
    """With ``extension`` addend bits kept below the product's last place (exponent ``Ep``),
    the addend bits below ``2**(Ep - extension)`` only reach the sum as a sticky bit, so the
    result differs from the exact FMA by at most one unit in its last place plus
    ``2**(Ep - extension + 1)``; and it does differ sometimes (the knob is not a no-op)."""
    rng = np.random.default_rng(SEED)
    cfg = FmaConfig(fmt_in="bf16", fmt_acc="fp32")
    differ = 0
    for a, b, c in _random_triples(cfg, 3000, rng, moderate=True):
        if not _normal(cfg, a, b, c):
            continue
        exact = fma(a, b, c, fmt_in=cfg.fin, fmt_acc=cfg.facc)
        approx = fma_approx(a, b, c, fmt_in=cfg.fin, fmt_acc=cfg.facc, extension=extension)
        if approx == exact:
            continue
        differ += 1
        va, vb, ve = decode(a, cfg.fin), decode(b, cfg.fin), decode(exact, cfg.facc)
        ep = sum(max(v.magnitude.numerator.bit_length() - v.magnitude.denominator.bit_length()
                     - (1 if Fraction(2) ** (v.magnitude.numerator.bit_length()
                                             - v.magnitude.denominator.bit_length())
                        > v.magnitude else 0), cfg.fin.emin) - cfg.fin.man_bits
                 for v in (va, vb))
        ulp = _ulps(approx, exact, cfg.facc)          # in units of the exact result's ulp
        e = max(abs(ve.exact).numerator.bit_length() - abs(ve.exact).denominator.bit_length(),
                cfg.facc.emin)
        bound = 1 + Fraction(2) ** (ep - extension + 1) / Fraction(2) ** (e - cfg.facc.man_bits)
        assert ulp <= bound, (hex(a), hex(b), hex(c), float(ulp), float(bound))
    print(f"extension {extension}: {differ} results differ from exact")
    assert differ > 0
