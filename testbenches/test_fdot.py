"""The FP tree reduction's RTL (:class:`hdl.fp.fdot.FDot`, combinational) against its golden
model (:func:`golden.fp.vfdot.fdot`, bit-exact to the scalar spec :func:`golden.fp.fdot.fdot`)
in Amaranth's simulator, on several configurations: directed cases (signed zeros, infinities,
NaN, ``inf * 0``, cancellation to an exact zero, a term far below the window, ties, subnormal
results, overflow, the whole window filled with terms of one sign), structured random
operands (exponents clustered so that terms overlap, cancel and fall out of the window) and
raw random bit patterns. The directed cases are also checked against the scalar model.

A planted bug (the RTL built with ``guard=2``, the model at the default 3) must be caught.
"""

import itertools

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.sim import Simulator

from golden.fp import fdot as sfdot
from golden.fp import vfdot
from hdl.fp.fdot import GUARD, FDot
from tpegen.config import FMacConfig

SEED = 20261203

#: (id, FMacConfig parameters, T, random vectors)
CONFIGS = [
    ("bf16_fp32_t2", dict(fmt_a="bf16", fmt_b="bf16", fmt_acc="fp32"), 2, 1200),
    ("bf16_fp32_t4", dict(fmt_a="bf16", fmt_b="bf16", fmt_acc="fp32"), 4, 800),
    ("e4m3fnxe5m2_fp16_t3", dict(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16"), 3, 1200),
    ("bf16_fp32_t3_rtz", dict(fmt_a="bf16", fmt_b="bf16", fmt_acc="fp32", rounding="rtz"),
     3, 1000),
    ("e4m3fnxe5m2_fp16_t2_ftz", dict(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16",
                                     subnormals=False), 2, 1500),
    # products wider than the window (w_p = 22 > W = 11): their low bits are dropped
    # statically; T = 1 and a format without inf/NaN (e2m1fn)
    ("fp16_bf16_t2", dict(fmt_a="fp16", fmt_b="fp16", fmt_acc="bf16"), 2, 800),
    ("e2m1fnxe4m3fn_bf16_t1_rtz", dict(fmt_a="e2m1fn", fmt_b="e4m3fn", fmt_acc="bf16",
                                       rounding="rtz"), 1, 600),
]


def _rng(*salt):
    seed = [SEED, *(sum(map(ord, str(s))) for s in salt)]
    print(f"seed {seed}")
    return np.random.default_rng(seed)


def _golden(cfg, a, b, c, guard=GUARD):
    return vfdot.fdot(a, b, c, fmt_acc=cfg.fmt_acc, fmt_a=cfg.fmt_a, fmt_b=cfg.fmt_b,
                      rounding=cfg.rounding, subnormals=cfg.subnormals, guard=guard)


def _simulate(dut, a, b, c):
    """``result`` of the combinational ``dut`` for each row of ``a``, ``b`` (n x T) and
    ``c`` (n)."""
    T, wa, wb = dut.terms, dut.config.fa.width, dut.config.fb.width
    pa = [sum(int(x) << (wa * t) for t, x in enumerate(row)) for row in a]
    pb = [sum(int(x) << (wb * t) for t, x in enumerate(row)) for row in b]
    pc = [int(x) for x in c]
    got = []
    va, vb = Value.cast(dut.a), Value.cast(dut.b)     # all lanes in one write

    async def bench(ctx):
        for x, y, z in zip(pa, pb, pc):
            ctx.set(va, x)
            ctx.set(vb, y)
            ctx.set(dut.c, z)
            got.append(ctx.get(dut.result))
    assert T == a.shape[1]
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.int64)


# --- operands ----------------------------------------------------------------------------------

def _normal(fmt, e, man=0, sign=0):
    """Bit pattern of ``(-1)**sign * (1 + man / 2**m) * 2**e`` (a normal number of ``fmt``)."""
    field = e + fmt.bias
    assert fmt.emin <= e <= fmt.emax and 0 <= man < (1 << fmt.man_bits), (fmt, e, man)
    if e == fmt.emax:
        man = min(man, fmt.max_mantissa)
    return (sign << (fmt.width - 1)) | (field << fmt.man_bits) | man


def _split(fa, fb, e):
    """``(ea, eb)`` with ``ea + eb == e``, both normal exponents, or None."""
    for ea in range(fa.emin, fa.emax + 1):
        if fb.emin <= e - ea <= fb.emax:
            return ea, e - ea
    return None


def _nan(fmt, sign=0):
    return fmt.nan_code | (sign << (fmt.width - 1))


def _inf(fmt, sign=0):
    return (fmt.exp_max_code << fmt.man_bits) | (sign << (fmt.width - 1))


def _directed(cfg, T):
    """Directed cases ``(a, b, c)`` (a, b: lists of T bit patterns)."""
    fa, fb, fc = cfg.fa, cfg.fb, cfg.facc
    W = fc.man_bits + 1 + GUARD
    sa, sb, sc = (1 << (f.width - 1) for f in (fa, fb, fc))
    one_a, one_b, one_c = _normal(fa, 0), _normal(fb, 0), _normal(fc, 0)
    cases = []

    def pad(a, b):          # the other terms: +0 * +1
        return (list(a) + [0] * (T - len(a)), list(b) + [one_b] * (T - len(b)))

    def add(a, b, c):
        a, b = pad(a, b)
        cases.append((a[:T], b[:T], c))

    def product(e, man_a=0, man_b=0, sign=0):
        """``(a, b)`` of a product of exponent ``e`` (normal operands), or None."""
        split = _split(fa, fb, e)
        if split is None:
            return None
        return (_normal(fa, split[0], man_a % (1 << fa.man_bits), sign),
                _normal(fb, split[1], man_b % (1 << fb.man_bits)))

    # signed zeros: every sign pattern of all-zero terms, zero times non-zero, flushed inputs
    for signs in itertools.product((0, 1), repeat=3):
        za, zb, zc = signs[0] * sa, signs[1] * sb, signs[2] * sc
        cases.append(([za] * T, [zb] * T, zc))
        cases.append(([za] * T, [one_b ^ zb] * T, zc))
        cases.append(([za ^ one_a] * T, [zb] * T, zc))
        cases.append(([za] * T, [zb] * T, 1 | zc))             # subnormal addend
        cases.append(([za | 1] * T, [zb | 1] * T, zc))         # subnormal products
    if T > 1:
        cases.append(([sa] + [0] * (T - 1), [0] * T, sc))       # one product +0: +0
        cases.append(([sa] * T, [0] * T, sc))                   # all -0: -0
    # infinities and NaN
    for x, s in ((fa, "a"), (fb, "b")):
        if not x.has_inf:
            continue
        for sign in (0, 1):
            inf = _inf(x, sign)
            other = one_b if s == "a" else one_a
            ai, bi = (inf, other) if s == "a" else (other, inf)
            add([ai], [bi], one_c)                              # inf
            add([ai], [bi ^ (sb if s == "a" else sa)], one_c)   # -inf
            if s == "a":
                add([ai], [0], one_c)                           # inf * 0: NaN
            else:
                add([0], [bi], one_c)
            if fc.has_inf:
                add([ai], [bi], _inf(fc, 0))                    # inf + inf
                add([ai], [bi], _inf(fc, 1))                    # inf - inf: NaN
            if T > 1:
                add([ai, ai ^ (sa if s == "a" else 0)],
                    [bi, bi ^ (sb if s == "b" else 0)], 0)      # inf - inf: NaN
    if fc.has_inf:
        add([one_a], [one_b], _inf(fc, 0))
        add([one_a], [one_b], _inf(fc, 1))
        add([0], [one_b], _inf(fc, 1))
    for x in (fa, fb, fc):
        if x.has_nan:
            for sign in (0, 1):
                nan = _nan(x, sign)
                if x is fa:
                    add([nan], [one_b], one_c)
                elif x is fb:
                    add([one_a], [nan], one_c)
                else:
                    add([one_a], [one_b], nan)
    if fa.has_nan and fb.has_inf:
        add([_nan(fa)], [_inf(fb)], one_c)
    # cancellation to an exact zero: +0 (both rounding modes give +0 for an exact zero)
    x = product(0, 1 << (fa.man_bits - 1) if fa.man_bits else 0,
                1 << (fb.man_bits - 1) if fb.man_bits else 0)
    if T > 1:
        for c in (0, sc):
            add([x[0], x[0] ^ sa], [x[1], x[1]], c)
            add([x[0], x[0]], [x[1], x[1] ^ sb], c)
    # c = -(a*b): 1.5 * 1.5 = 2.25 when m_acc >= 3
    if fc.man_bits >= 3 and fa.man_bits and fb.man_bits:
        add([x[0]], [x[1]], _normal(fc, 1, 1 << (fc.man_bits - 3), 1))
        add([x[0] ^ sa], [x[1]], _normal(fc, 1, 1 << (fc.man_bits - 3), 0))
    # one term far below the window, either sign; and just inside / just outside
    for k in range(fc.emin + W + 8, fc.emax, max(1, (fc.emax - fc.emin) // 6)):
        for d in (W + 8, W + 1, W, W - 1, W - 3, 2 * W + 20):
            p = product(k - d, 3, 5)
            if p is None:
                continue
            for sign in (0, 1):
                add([p[0] ^ (sign * sa)], [p[1]], _normal(fc, k))
                add([p[0] ^ (sign * sa)], [p[1]], _normal(fc, k, 1, 1))
    # ties and near-ties around 1.0 (half an ulp of the accumulator)
    for d in (fc.man_bits + 1, fc.man_bits + 2, fc.man_bits):
        p = product(-d)
        if p is None:
            continue
        for man in (0, 1, 2):
            for sign in (0, 1):
                add([p[0] ^ (sign * sa)], [p[1]], _normal(fc, 0, man))
                if T > 1:                                       # the same tie from 2 terms
                    q = product(-d - 1)
                    if q is not None:
                        add([q[0] ^ (sign * sa), q[0] ^ (sign * sa)], [q[1], q[1]],
                            _normal(fc, 0, man))
    # subnormal and underflowing results
    deep = fc.emin - fc.man_bits
    for e in sorted({deep - 3, deep - 2, deep - 1, deep, deep + 1, (deep + fc.emin) // 2,
                     fc.emin - 2, fc.emin - 1, fc.emin, fc.emin + 1}):
        for man_a, man_b in ((0, 0), (1, 0), (-1, -1), (3, 7)):
            p = product(e, man_a, man_b)
            if p is None:
                continue
            for sign in (0, 1):
                add([p[0] ^ (sign * sa)], [p[1]], 0)
                add([p[0] ^ (sign * sa)], [p[1]], 3 | (sc * (1 - sign)))   # + subnormal c
                if T > 1:
                    add([p[0] ^ (sign * sa), p[0]], [p[1], p[1] + 1], 0)
    # overflow: the largest finite plus half an ulp and more, both signs; everything at max
    half = fc.emax - fc.man_bits - 1
    for d in (0, 1, -1, 3):
        p = product(half + d)
        if p is None:
            continue
        for sign in (0, 1):
            add([p[0] ^ (sign * sa)], [p[1]], fc.max_code | (sign * sc))
            add([p[0] ^ (sign * sa)], [p[1]], (fc.max_code - 1) | (sign * sc))
    for sign in (0, 1):
        cases.append(([fa.max_code | (sign * sa)] * T, [fb.max_code] * T,
                      fc.max_code | (sign * sc)))
        top = product(fc.emax - 1, -1, -1)
        if top is not None:
            cases.append(([top[0] | (sign * sa)] * T, [top[1]] * T, fc.max_code | (sign * sc)))
    # the whole window filled, one sign (the grid sum's worst case): every term at the top
    # with all-ones significands (a product's top = the addend's top = 2)
    if fa.man_bits and fb.man_bits:
        ma, mb = (1 << fa.man_bits) - 1, (1 << fb.man_bits) - 1
        for ea in (0, -1):
            if not (fa.emin <= ea <= fa.emax and fb.emin <= -ea <= fb.emax):
                continue
            for sign in (0, 1):
                a = [_normal(fa, ea, min(ma, fa.max_mantissa if ea == fa.emax else ma),
                             sign)] * T
                b = [_normal(fb, -ea, mb)] * T
                for c_man in ((1 << fc.man_bits) - 1, 0):
                    cases.append((a, b, _normal(fc, 1, c_man, sign)))
                    cases.append((a, b, _normal(fc, 1, c_man, 1 - sign)))
    return cases


def _structured(rng, n, T, fa, fb, fc):
    """Operands with clustered exponents: terms of one vector overlap, cancel, fall below
    the window; the addend sits anywhere from above the products to far below them."""
    W = fc.man_bits + 1 + GUARD

    def operand(fmt, centre, shape):
        e = np.clip(centre + rng.integers(-3, 4, shape), fmt.emin, fmt.emax)
        man = rng.integers(0, 1 << fmt.man_bits, shape)
        man = np.where(e == fmt.emax, np.minimum(man, fmt.max_mantissa), man)
        bits = ((e + fmt.bias) << fmt.man_bits) | man
        pick = rng.random(shape)
        bits = np.where(pick < 0.04, 0, bits)                                   # zeros
        if fmt.man_bits:
            bits = np.where((pick >= 0.04) & (pick < 0.08),
                            rng.integers(1, 1 << fmt.man_bits, shape), bits)    # subnormals
        return bits | (rng.integers(0, 2, shape) << (fmt.width - 1))

    wide = rng.random((n, 1)) < 0.4
    ca = np.where(wide, rng.integers(fa.emin, fa.emax + 1, (n, 1)), rng.integers(-2, 3, (n, 1)))
    cb = np.where(wide, rng.integers(fb.emin, fb.emax + 1, (n, 1)), rng.integers(-2, 3, (n, 1)))
    a, b = operand(fa, ca, (n, T)), operand(fb, cb, (n, T))
    # the addend: near the first product, or above it, or far below it
    ec = (ca + cb)[:, 0] + rng.integers(-(W + 6), 7, n)
    c = operand(fc, np.clip(ec, fc.emin - 3, fc.emax + 3)[:, None], (n, 1))[:, 0]
    if T > 1:                                   # exact cancellation of two products
        cancel = rng.random(n) < 0.15
        a[cancel, 1] = a[cancel, 0] ^ (1 << (fa.width - 1))
        b[cancel, 1] = b[cancel, 0]
        c = np.where(cancel & (rng.random(n) < 0.5), c & (1 << (fc.width - 1)), c)
    return a, b, c


def _vectors(cfg, T, n):
    fa, fb, fc = cfg.fa, cfg.fb, cfg.facc
    cases = _directed(cfg, T)
    da = np.array([x for x, _, _ in cases], dtype=np.int64).reshape(-1, T)
    db = np.array([y for _, y, _ in cases], dtype=np.int64).reshape(-1, T)
    dc = np.array([z for _, _, z in cases], dtype=np.int64)
    rng = _rng(cfg.name, T)
    n_raw = n // 4
    ra = rng.integers(0, 1 << fa.width, (n_raw, T))
    rb = rng.integers(0, 1 << fb.width, (n_raw, T))
    rc = rng.integers(0, 1 << fc.width, n_raw)
    sa, sb, sc = _structured(rng, n - n_raw, T, fa, fb, fc)
    return (np.concatenate([da, ra, sa]), np.concatenate([db, rb, sb]),
            np.concatenate([dc, rc, sc]), len(cases))


def _mismatches(a, b, c, got, want):
    bad = np.nonzero(got != want)[0]
    return [f"a={[hex(int(x)) for x in a[k]]} b={[hex(int(x)) for x in b[k]]} "
            f"c={hex(int(c[k]))}: rtl {hex(int(got[k]))}, model {hex(int(want[k]))}"
            for k in bad]


# --- tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,params,T,n", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_fdot_matches_golden(name, params, T, n):
    cfg = FMacConfig(**params)
    a, b, c, directed = _vectors(cfg, T, n)
    want = _golden(cfg, a, b, c)
    # the directed cases against the scalar spec too (the vectorized model is tested
    # against it elsewhere; this keeps the directed expectations independent of it)
    for k in range(directed):
        assert int(want[k]) == sfdot.fdot(
            [int(x) for x in a[k]], [int(x) for x in b[k]], int(c[k]), fmt_acc=cfg.fmt_acc,
            fmt_a=cfg.fmt_a, fmt_b=cfg.fmt_b, rounding=cfg.rounding,
            subnormals=cfg.subnormals), k
    dut = FDot(cfg, terms=T)
    got = _simulate(dut, a, b, c)
    bad = _mismatches(a, b, c, got, want)
    print(f"{name}: {len(a) - len(bad)}/{len(a)} vectors pass ({directed} directed), "
          f"stats {dut.stats}")
    assert not bad, f"{len(bad)} mismatches, first: " + "\n".join(bad[:5])


def test_directed_cases_cover_the_specials():
    """The directed list really produces what it is meant to: NaN, both infinities, both
    zeros, subnormal results, overflow (per the model)."""
    cfg = FMacConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16")
    fc = cfg.facc
    cases = _directed(cfg, 3)
    a = np.array([x for x, _, _ in cases])
    b = np.array([y for _, y, _ in cases])
    c = np.array([z for _, _, z in cases])
    want = _golden(cfg, a, b, c)
    s = 1 << (fc.width - 1)
    seen = set(int(x) for x in want)
    assert {fc.nan_code, fc.inf_code, fc.inf_code | s, 0, s} <= seen
    assert any(0 < (int(x) & ~s) < (1 << fc.man_bits) for x in want)         # subnormals
    assert fc.max_code in seen


def test_planted_bug_is_caught():
    """The RTL built with guard=2 (a window one bit too narrow) against the model's guard=3:
    the comparison must find mismatches."""
    cfg = FMacConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16")
    T = 3
    rng = _rng("planted")
    a, b, c = _structured(rng, 400, T, cfg.fa, cfg.fb, cfg.facc)
    want = _golden(cfg, a, b, c)
    got = _simulate(FDot(cfg, terms=T, guard=GUARD - 1), a, b, c)
    bad = _mismatches(a, b, c, got, want)
    print(f"planted guard={GUARD - 1}: {len(bad)}/{len(a)} mismatches, first: {bad[:1]}")
    assert bad
    # and the model at guard=2 agrees with it: the bug is the window, not the comparison
    assert (got == _golden(cfg, a, b, c, guard=GUARD - 1)).all()


def test_verilog_converts():
    cfg = FMacConfig(fmt_a="bf16", fmt_b="bf16", fmt_acc="fp32")
    text = verilog.convert(FDot(cfg, terms=4), name="fdot_t")
    assert "module fdot_t" in text
