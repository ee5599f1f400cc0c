"""The vectorized golden models (``golden.fp.vfma``, ``golden.fp.vlmul``, ``golden.vmac``)
against the scalar ones they must equal bit for bit, and against MPFR:

* FMA, 8-bit multiplicands, exhaustive: every pair of e4m3fn, e5m2, e2m1fn (and the mixed
  pairs of the grid) meets every addend of ``fp_tb.addends`` (zeros, subnormals, +-max, inf,
  NaN, a random normal) and two random ones, against gmpy2/MPFR (IEEE accumulators);
  against the scalar model, every pair meets one addend of that set in turn, for every
  8-bit configuration of ``FMA_GRID`` (exact and approximate; every 8th pair where MPFR
  already saw them all);
* the directed corner list (``fp_corners.fma_corners``) of every ``FMA_GRID`` configuration,
  against the scalar model;
* 16-bit multiplicands: ``MPFR_OPS`` (1,000,000) random operations per IEEE configuration
  (bf16 x bf16 + fp32, fp16 x fp16 + fp16, bf16 x bf16 + bf16, and bf16 x bf16 + fp32 with
  RTZ) against MPFR with the format's precision, exponent range and subnormals;
* every approximate configuration of ``FMA_GRID`` (``fma_approx``) and ``FMAC_GRID``
  (rounded approximate and unnormalized MACs as sequences, with random ``clear``/``enable``;
  the unnormalized state compared too): ``SCALAR_OPS`` (200,000) random operations each
  against the scalar model, and the exact FP MACs of the grid likewise;
* the integer MAC (``MacArray``) against ``golden.mac.Mac`` for every ``MAC_GRID``
  configuration, with and without the carry-save pair: random operands (a fifth corner
  values), ``clear``/``enable`` and resets, then accumulation of the extreme products until
  the accumulator wraps;
* L-Mul every pair of the 8-bit and 4-bit formats, 16-bit at random, and the L-Mul MACs;
  the exact multipliers of ``FPMUL_GRID`` likewise;
* planted bugs are caught: the exact FMA with RNE flipped to RTZ, and without its
  round-to-odd step, both fail the comparisons used above.

Random operands are bit patterns, a quarter of each taken from the format's corner values and
a quarter of the addends set to cancel the product (``-a*b`` moved by up to ``2**k`` units in
the last place), as in ``fp_tb``. Seeds are fixed and printed. ``TPEGEN_VEC_SCALE`` (default
1) scales the random counts (e.g. 0.25 for a quick local run).
"""

import os

import gmpy2
import ml_dtypes
import numpy as np
import pytest

from golden.fp import fma as sfma
from golden.fp import lmul as slmul
from golden.fp import vfma, vlmul
from golden.mac import Mac as ScalarMac
from golden.mac import operand_range
from golden.vmac import MacArray
from testbenches.fp_corners import corners, fma_corners
from testbenches.fp_tb import addends
from testbenches.grid import FMA_GRID, FMAC_GRID, FPMUL_GRID, LMAC_GRID, MAC_GRID, config_id
from tpegen import registry
from tpegen.config import FmaConfig
from tpegen.formats import parse_format

SEED = 20250611
SCALE = float(os.environ.get("TPEGEN_VEC_SCALE", "1"))
MPFR_OPS = int(1_000_000 * SCALE)
SCALAR_OPS = int(200_000 * SCALE)


def _rng(*salt):
    """A generator seeded from ``SEED`` and the test's own salt (printed)."""
    seed = [SEED, *(sum(map(ord, str(s))) for s in salt)]
    print(f"seed {seed}")
    return np.random.default_rng(seed)


# --- references -------------------------------------------------------------------------

_NUMPY = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16, "fp32": np.float32,
          "e4m3fn": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2,
          "e2m1fn": ml_dtypes.float4_e2m1fn}
_UINT = {4: np.uint8, 8: np.uint8, 16: np.uint16, 32: np.uint32}


def _floats(bits, fmt):
    """Exact values of bit patterns through ml_dtypes/numpy (independent of vfma.decode)."""
    with np.errstate(invalid="ignore"):           # signalling NaNs
        return (np.asarray(bits).astype(_UINT[fmt.width]).view(_NUMPY[fmt.name])
                .astype(np.float64))


def _bits(values, fmt):
    """Bit patterns of float64 values exactly representable in ``fmt`` (NaN canonical)."""
    values = np.asarray(values, np.float64)
    bits = values.astype(_NUMPY[fmt.name]).view(_UINT[fmt.width]).astype(np.int64)
    return np.where(np.isnan(values), fmt.nan_code, bits)


def mpfr_fma(a, b, c, fa, fb, facc, rounding="rne"):
    """``round(a*b + c)`` by MPFR in ``facc``'s precision and exponent range, subnormals
    included (MPFR's exponents are those of a significand in [1/2, 1): ``emax + 1``, and
    ``emin - m + 1`` for the smallest subnormal)."""
    context = gmpy2.context(precision=facc.man_bits + 1, emin=facc.emin - facc.man_bits + 1,
                            emax=facc.emax + 1, subnormalize=True,
                            round={"rne": gmpy2.RoundToNearest,
                                   "rtz": gmpy2.RoundToZero}[rounding])
    xs, ys, zs = (_floats(a, fa).tolist(), _floats(b, fb).tolist(),
                  _floats(c, facc).tolist())
    with context:
        fused = gmpy2.fma
        out = [float(fused(x, y, z)) for x, y, z in zip(xs, ys, zs)]
    return _bits(out, facc)


def scalar_fma(cfg):
    """The scalar golden function of an FMA configuration, as the testbenches get it."""
    return registry.model(cfg)


def vector_fma(cfg):
    return registry.vector_model(cfg)


def on_scalar(function, *columns):
    return np.array([function(*ops) for ops in zip(*(np.asarray(c).tolist()
                                                      for c in columns))], np.int64)


def mismatches(got, ref, columns, label):
    """Messages for the first mismatches (empty when equal)."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    bad = np.flatnonzero(got != ref)
    lines = [f"{label}: {bad.size} mismatches of {ref.size}"] if bad.size else []
    for i in bad[:5]:
        ops = ", ".join(hex(int(np.asarray(c).ravel()[i])) for c in columns)
        lines.append(f"  ({ops}): vectorized {int(got.ravel()[i]):#x}, "
                     f"reference {int(ref.ravel()[i]):#x}")
    return lines


def check(got, ref, columns, label):
    lines = mismatches(got, ref, columns, label)
    assert not lines, "\n".join(lines)
    print(f"{label}: {np.asarray(ref).size} equal")


# --- stimulus ---------------------------------------------------------------------------

def _with_corners(bits, fmt, rng, share=0.25):
    pick = rng.random(bits.shape) < share
    bits = bits.copy()
    bits[pick] = rng.choice(corners(fmt), int(pick.sum()))
    return bits


def cancelling(a, b, fa, fb, facc, rng):
    """Addends close to ``-a*b``: the product rounded toward zero into ``facc``, negated and
    moved by up to ``2**k`` units in the last place, ``k`` random in ``0..m_acc``."""
    c = vfma.fma(a, b, 0, fmt_a=fa, fmt_b=fb, fmt_acc=facc, rounding="rtz")
    c ^= 1 << (facc.width - 1)
    k = rng.integers(0, facc.man_bits + 1, c.shape)
    move = np.round((rng.random(c.shape) * 2 - 1) * (1 << k)).astype(np.int64)
    return (c + move) % (1 << facc.width)


def operands(fa, fb, facc, n, rng):
    """Random ``(a, b, c)`` bit patterns: a quarter of each from the corner values, a quarter
    of the addends cancelling the product."""
    a = _with_corners(rng.integers(0, 1 << fa.width, n), fa, rng)
    b = _with_corners(rng.integers(0, 1 << fb.width, n), fb, rng)
    c = _with_corners(rng.integers(0, 1 << facc.width, n), facc, rng)
    cancel = rng.random(n) < 0.25
    c[cancel] = cancelling(a[cancel], b[cancel], fa, fb, facc, rng)
    return a, b, c


def exhaustive_pairs(fa, fb):
    a, b = np.meshgrid(np.arange(1 << fa.width), np.arange(1 << fb.width), indexing="ij")
    return a.ravel(), b.ravel()


# --- FMA: 8-bit multiplicands, exhaustive ---------------------------------------------------

MPFR_EXHAUSTIVE = [("e4m3fn", "e4m3fn", "fp16", "rne"), ("e5m2", "e5m2", "e5m2", "rne"),
                   ("e5m2", "e5m2", "e5m2", "rtz"), ("e4m3fn", "e5m2", "fp16", "rne"),
                   ("e4m3fn", "e5m2", "bf16", "rtz"), ("e5m2", "e2m1fn", "fp16", "rne"),
                   ("e2m1fn", "e2m1fn", "bf16", "rne")]


@pytest.mark.parametrize("fa,fb,facc,rounding", MPFR_EXHAUSTIVE,
                         ids=["x".join(c[:2]) + f"_{c[2]}_{c[3]}" for c in MPFR_EXHAUSTIVE])
def test_fma_every_pair_against_mpfr(fa, fb, facc, rounding):
    fa, fb, facc = parse_format(fa), parse_format(fb), parse_format(facc)
    rng = _rng(fa, fb, facc, rounding)
    a, b = exhaustive_pairs(fa, fb)
    cs = np.array(addends(facc, rng) + [int(x) for x in rng.integers(0, 1 << facc.width, 2)])
    a, b, c = np.repeat(a, len(cs)), np.repeat(b, len(cs)), np.tile(cs, a.size)
    got = vfma.fma(a, b, c, fmt_a=fa, fmt_b=fb, fmt_acc=facc, rounding=rounding)
    check(got, mpfr_fma(a, b, c, fa, fb, facc, rounding), (a, b, c),
          f"{fa}x{fb}+{facc} {rounding} every pair x {len(cs)} addends vs MPFR")


EIGHT_BIT = [c for c in FMA_GRID if c.fa.width + c.fb.width <= 16]


def _mpfr_covers(cfg):
    """Whether ``test_fma_every_pair_against_mpfr`` checks this configuration exhaustively."""
    return cfg.normalize == "exact" and cfg.subnormals and any(
        (cfg.fa.name, cfg.fb.name, cfg.facc.name, cfg.rounding) == c for c in MPFR_EXHAUSTIVE)


@pytest.mark.parametrize("cfg", EIGHT_BIT, ids=config_id)
def test_fma_every_pair_against_scalar(cfg):
    """Every pair, the addends of the set in turn (every pair and addend for 4-bit
    operands); every 8th pair where MPFR already checks every pair and addend."""
    rng = _rng(cfg.name)
    a, b = exhaustive_pairs(cfg.fa, cfg.fb)
    cs = np.array(addends(cfg.facc, rng))
    if a.size * len(cs) <= 20_000:
        a, b, c = np.repeat(a, len(cs)), np.repeat(b, len(cs)), np.tile(cs, a.size)
    else:
        c = cs[np.arange(a.size) % len(cs)]
        if _mpfr_covers(cfg):
            a, b, c = a[::8], b[::8], c[::8]
    check(vector_fma(cfg)(a, b, c), on_scalar(scalar_fma(cfg), a, b, c), (a, b, c),
          f"{cfg.name} every pair vs scalar")


@pytest.mark.parametrize("cfg", FMA_GRID, ids=config_id)
def test_fma_corner_list_against_scalar(cfg):
    rng = _rng(cfg.name, "corners")
    cases = np.array(fma_corners(cfg, rng), np.int64).reshape(-1, 3)
    a, b, c = cases.T
    check(vector_fma(cfg)(a, b, c), on_scalar(scalar_fma(cfg), a, b, c), (a, b, c),
          f"{cfg.name} corner list vs scalar")


# --- FMA: 16-bit multiplicands at random ----------------------------------------------------

MPFR_RANDOM = [("bf16", "fp32", "rne"), ("fp16", "fp16", "rne"), ("bf16", "bf16", "rne"),
               ("bf16", "fp32", "rtz")]


@pytest.mark.parametrize("fin,facc,rounding", MPFR_RANDOM,
                         ids=[f"{a}_{c}_{r}" for a, c, r in MPFR_RANDOM])
def test_fma_random_against_mpfr(fin, facc, rounding):
    fin, facc = parse_format(fin), parse_format(facc)
    rng = _rng(fin, facc, rounding)
    n = MPFR_OPS if rounding == "rne" else MPFR_OPS // 4
    a, b, c = operands(fin, fin, facc, n, rng)
    got = vfma.fma(a, b, c, fmt_in=fin, fmt_acc=facc, rounding=rounding)
    check(got, mpfr_fma(a, b, c, fin, fin, facc, rounding), (a, b, c),
          f"{fin}x{fin}+{facc} {rounding}: {n} random ops vs MPFR")


def test_fma_random_mixed_and_flushing_against_scalar():
    """The exact configurations of the grid with 16-bit or mixed operands, and flushing,
    which MPFR does not model, at random against the scalar model."""
    for cfg in [c for c in FMA_GRID if c.normalize == "exact" and c not in EIGHT_BIT] + [
            FmaConfig(fmt_in="bf16", fmt_acc="fp32", rounding="rtz", subnormals=False)]:
        rng = _rng(cfg.name, "random")
        a, b, c = operands(cfg.fa, cfg.fb, cfg.facc, SCALAR_OPS // 10, rng)
        check(vector_fma(cfg)(a, b, c), on_scalar(scalar_fma(cfg), a, b, c), (a, b, c),
              f"{cfg.name}: {a.size} random ops vs scalar")


APPROX_FMA = [c for c in FMA_GRID if c.normalize == "approx"]


@pytest.mark.parametrize("cfg", APPROX_FMA, ids=config_id)
def test_fma_approx_random_against_scalar(cfg):
    rng = _rng(cfg.name, "random")
    a, b, c = operands(cfg.fa, cfg.fb, cfg.facc, SCALAR_OPS, rng)
    check(vector_fma(cfg)(a, b, c), on_scalar(scalar_fma(cfg), a, b, c), (a, b, c),
          f"{cfg.name}: {a.size} random ops vs scalar")


# --- MACs: sequences --------------------------------------------------------------------

def _normal_bits(fmt, shape, rng):
    return vfma.encode(rng.normal(0, 1, shape), fmt, overflow="saturate")


def mac_stimulus(fa, fb, lanes, cycles, rng):
    """``(a, b, clear, enable)`` of shape ``(cycles, lanes)``: half the operands N(0, 1),
    a quarter random bit patterns, a quarter corner values; ``clear`` 1/16, ``enable`` 7/8."""
    def column(fmt):
        x = _normal_bits(fmt, (cycles, lanes), rng)
        pick = rng.random(x.shape) < 0.25
        x[pick] = rng.integers(0, 1 << fmt.width, int(pick.sum()))
        return _with_corners(x, fmt, rng)
    clear = rng.random((cycles, lanes)) < 1 / 16
    enable = rng.random((cycles, lanes)) < 7 / 8
    return column(fa), column(fb), clear, enable


def scalar_mac(cfg):
    """The scalar cycle model of a MAC configuration, as the testbenches get it."""
    return registry.model(cfg)


def run_macs(cfg, lanes, cycles, rng, vector=None):
    """Run the vectorized MAC and ``lanes`` scalar ones side by side; returns the mismatch
    messages (readouts every cycle, and the unnormalized state)."""
    vector = vector if vector is not None else registry.vector_model(cfg, lanes)
    scalars = [scalar_mac(cfg) for _ in range(lanes)]
    a, b, clear, enable = mac_stimulus(cfg.fa, cfg.fb, lanes, cycles, rng)
    got = np.empty((cycles, lanes), np.int64)
    ref = np.empty((cycles, lanes), np.int64)
    states = hasattr(vector, "states")
    lines = []
    for t in range(cycles):
        got[t] = vector.tick(a[t], b[t], clear[t], enable[t])
        ops = zip(a[t].tolist(), b[t].tolist(), clear[t].tolist(), enable[t].tolist())
        ref[t] = [m.tick(x, y, int(c), int(e)) for m, (x, y, c, e) in zip(scalars, ops)]
        if states and not lines:
            want = [(s.kind, s.sign, s.q, s.scale) for s in (m.state for m in scalars)]
            if vector.states() != want:
                lane = next(i for i, (x, y) in enumerate(zip(vector.states(), want)) if x != y)
                lines.append(f"{cfg.name}: state differs at cycle {t}, lane {lane}: "
                             f"{vector.states()[lane]} vs {want[lane]}")
    return lines + mismatches(got, ref, (a, b, clear, enable), f"{cfg.name} sequences")


@pytest.mark.parametrize("cfg", FMAC_GRID + LMAC_GRID, ids=config_id)
def test_macs_against_scalar(cfg):
    rng = _rng(cfg.name, "mac")
    lanes = 64
    approximate = cfg.kind == "fmac" and (cfg.normalize == "approx" or cfg.unnormalized)
    cycles = (SCALAR_OPS if approximate else SCALAR_OPS // 4) // lanes
    lines = run_macs(cfg, lanes, cycles, rng)
    assert not lines, "\n".join(lines)
    print(f"{cfg.name}: {lanes} lanes x {cycles} cycles equal")


# --- the integer MAC --------------------------------------------------------------------

WRAP_CAP = (1 << 17) + 16      # int8 x int8 into 32 bits wraps its sign after 2**17 steps
PAIR_WRAP_CAP = 1 << 12       # the pair's own wrapping shows in the narrower accumulators


def int_mac_phases(cfg, lanes, cycles, rng):
    """``(a, b, clear, enable, rst)`` columns, shape ``(T, lanes)``: random operands (a fifth
    corners), clear 1/16, enable 7/8, resets 1/500."""
    def column(width, signed):
        lo, hi = operand_range(width, signed)
        x = rng.integers(lo, hi, (cycles, lanes), endpoint=True)
        pick = rng.random(x.shape) < 0.2
        x[pick] = rng.choice(sorted({lo, hi, 0, 1, -1 if lo < 0 else hi - 1}), int(pick.sum()))
        return x
    return (column(cfg.a_width, cfg.a_signed), column(cfg.b_width, cfg.b_signed),
            (rng.random((cycles, lanes)) < 1 / 16).astype(np.int64),
            (rng.random((cycles, lanes)) < 7 / 8).astype(np.int64),
            rng.random(cycles) < 1 / 500)


def _compare_int(vec, scalars, t, pair):
    out = vec.outputs()
    for key in ("result", "acc"):
        want = [m.outputs()[key] for m in scalars]
        if [int(v) for v in out[key]] != want:
            return [f"cycle {t}: {key} {[int(v) for v in out[key]]} vs {want}"]
    if pair and ([int(v) for v in vec.s] != [m.s for m in scalars]
                 or [int(v) for v in vec.c] != [m.c for m in scalars]):
        return [f"cycle {t}: carry-save pair differs"]
    return []


@pytest.mark.parametrize("pair", [False, True], ids=["acc", "pair"])
@pytest.mark.parametrize("cfg", MAC_GRID, ids=config_id)
def test_int_mac_against_scalar(cfg, pair):
    rng = _rng(cfg.name, pair)
    lanes, cycles = 16, 2000
    vec = MacArray(cfg, lanes, pair=pair)
    scalars = [ScalarMac(cfg) for _ in range(lanes)]
    a, b, clear, enable, rst = int_mac_phases(cfg, lanes, cycles, rng)
    for t in range(cycles):
        if rst[t]:
            vec.reset()
            for m in scalars:
                m.reset()
        else:
            vec.tick(a[t], b[t], clear[t], enable[t])
            for m, x, y, c, e in zip(scalars, a[t].tolist(), b[t].tolist(), clear[t].tolist(),
                                     enable[t].tolist()):
                m.tick(x, y, c, e)
        lines = _compare_int(vec, scalars, t, pair)
        assert not lines, f"{cfg.name} random: " + lines[0]
    # the extreme products from a clear until the accumulator wraps (lane 0: min*min,
    # lane 1: min*max); compared every 64th cycle and around every wrap
    a_lo, a_hi = operand_range(cfg.a_width, cfg.a_signed)
    b_lo, b_hi = operand_range(cfg.b_width, cfg.b_signed)
    pa, pb = np.array([a_lo or a_hi, a_lo or a_hi]), np.array([b_lo or b_hi, b_hi])
    products = [abs(int(x) * int(y)) for x, y in zip(pa, pb)]
    point = 1 << (cfg.acc_width - 1 if cfg.result_signed else cfg.acc_width)
    n = min(point // min(products) + 8, PAIR_WRAP_CAP if pair else WRAP_CAP)
    vec, scalars = MacArray(cfg, 2, pair=pair), [ScalarMac(cfg) for _ in range(2)]
    one, zero = np.ones(2, np.int64), np.zeros(2, np.int64)
    near = {t for p in products for k in range(1, n * p // point + 1)
            for t in range(k * point // p - 3, k * point // p + 4)}
    for t in range(n):
        vec.tick(pa, pb, one if t == 0 else zero, one)
        for m, x, y in zip(scalars, pa.tolist(), pb.tolist()):
            m.tick(x, y, int(t == 0), 1)
        if t % 64 == 0 or t in near or t == n - 1:
            lines = _compare_int(vec, scalars, t, pair)
            assert not lines, f"{cfg.name} wrap: " + lines[0]
    assert pair or any(n * p >= point for p in products), "the wrap phase must wrap"
    print(f"{cfg.name}: {lanes} lanes x {cycles} random cycles and {n} wrap cycles equal")


def test_int_mac_wide_accumulators():
    """Accumulators of more than 64 bits (two words) and 32 x 32-bit unsigned products."""
    from tpegen.config import MacConfig
    for cfg in (MacConfig(a_width=32, b_width=32, a_signed=False, b_signed=False,
                          acc_width=128),
                MacConfig(a_width=32, b_width=32, acc_width=100, input_reg=True,
                          output_reg=True),
                MacConfig(a_width=32, b_width=31, b_signed=False, acc_width=64,
                          mult="behavioural", accumulate="cpa")):
        for pair in (False, True):
            rng = _rng(cfg.name, pair)
            vec, scalars = MacArray(cfg, 8, pair=pair), [ScalarMac(cfg) for _ in range(8)]
            a, b, clear, enable, rst = int_mac_phases(cfg, 8, 500, rng)
            for t in range(500):
                vec.tick(a[t], b[t], clear[t], enable[t])
                for m, x, y, c, e in zip(scalars, a[t].tolist(), b[t].tolist(),
                                         clear[t].tolist(), enable[t].tolist()):
                    m.tick(x, y, c, e)
                lines = _compare_int(vec, scalars, t, pair)
                assert not lines, f"{cfg.name}: " + lines[0]


# --- L-Mul ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["e4m3fn", "e5m2", "e2m1fn", "bf16", "fp16"])
def test_lmul_against_scalar(fmt):
    fmt = parse_format(fmt)
    rng = _rng(fmt, "lmul")
    if fmt.width <= 8:
        a, b = exhaustive_pairs(fmt, fmt)
    else:
        a = _with_corners(rng.integers(0, 1 << fmt.width, SCALAR_OPS // 2), fmt, rng)
        b = _with_corners(rng.integers(0, 1 << fmt.width, SCALAR_OPS // 2), fmt, rng)
    check(vlmul.lmul(a, b, fmt), on_scalar(lambda x, y: slmul.lmul(x, y, fmt), a, b), (a, b),
          f"lmul {fmt}")


@pytest.mark.parametrize("cfg", FPMUL_GRID, ids=config_id)
def test_fpmul_against_scalar(cfg):
    rng = _rng(cfg.name)
    fmt = cfg.fmt
    if fmt.width <= 8:
        a, b = exhaustive_pairs(fmt, fmt)
    else:
        a = _with_corners(rng.integers(0, 1 << fmt.width, SCALAR_OPS // 4), fmt, rng)
        b = _with_corners(rng.integers(0, 1 << fmt.width, SCALAR_OPS // 4), fmt, rng)
    check(registry.vector_model(cfg)(a, b), on_scalar(registry.model(cfg), a, b), (a, b), cfg.name)


# --- planted bugs ---------------------------------------------------------------------------

def test_planted_bugs_are_caught(monkeypatch):
    """The comparisons above fail on a broken model: RNE flipped to RTZ in the final
    rounding (against MPFR and against the scalar model), and the exact sum rounded to
    nearest instead of to odd before the final rounding (double rounding, against MPFR)."""
    rng = _rng("planted")
    bf16, fp32 = parse_format("bf16"), parse_format("fp32")
    a, b, c = operands(bf16, bf16, fp32, 50_000, rng)

    def rtz(x, y, z, **options):                 # a copy of vfma.fma with the bug
        return vfma.fma(x, y, z, **{**options, "rounding": "rtz"})

    got = rtz(a, b, c, fmt_in=bf16, fmt_acc=fp32, rounding="rne")
    assert mismatches(got, mpfr_fma(a, b, c, bf16, bf16, fp32), (a, b, c), "rtz vs MPFR")
    e4m3, fp16 = parse_format("e4m3fn"), parse_format("fp16")
    x, y = exhaustive_pairs(e4m3, e4m3)
    z = cancelling(x, y, e4m3, e4m3, fp16, rng)
    scalar = on_scalar(lambda p, q, r: sfma.fma(p, q, r, fmt_in=e4m3, fmt_acc=fp16), x, y, z)
    assert mismatches(rtz(x, y, z, fmt_in=e4m3, fmt_acc=fp16), scalar, (x, y, z),
                      "rtz vs scalar")
    # without round to odd: a sum that needs more than 53 bits is rounded twice; with RTZ,
    # c - tiny truncates to c's predecessor, but c - tiny rounded to nearest first is c
    monkeypatch.setattr(vfma, "_sum_odd", lambda p, q: p + q)
    lines = mismatches(vfma.fma(a, b, c, fmt_in=bf16, fmt_acc=fp32, rounding="rtz"),
                       mpfr_fma(a, b, c, bf16, bf16, fp32, "rtz"), (a, b, c),
                       "no round to odd")
    assert lines
    print("\n".join(lines))


TERMS_CONFIGS = [dict(acc_width=32), dict(acc_width=20, input_reg=True, output_reg=True),
                 dict(a_width=32, b_width=32, a_signed=False, b_signed=False, acc_width=100),
                 dict(a_width=32, b_width=32, acc_width=128, input_reg=True),
                 dict(a_width=5, b_width=7, a_signed=False, acc_width=14)]


@pytest.mark.parametrize("params", TERMS_CONFIGS, ids=lambda p: "_".join(f"{k}{v}" for k, v
                                                                          in p.items()))
@pytest.mark.parametrize("terms", [2, 5, 16])
def test_mac_terms_matches_scalar_and_exact(params, terms):
    """``MacArray(terms=T)`` (the cube's and the adder tree's PE model) equals the scalar
    ``Mac(terms=T)`` and exact integer dot products, every cycle, including the carry-save
    pair's invariant; random clear/enable, extremes included."""
    from tpegen.config import MacConfig
    cfg = MacConfig(**params)
    rng = _rng("terms", terms, *params.items())
    shape = (3, 4)
    vec = MacArray(cfg, shape, terms=terms, pair=True)
    ref = [ScalarMac(cfg, terms=terms) for _ in range(12)]
    exact = np.zeros(12, object)
    lo_a, hi_a = operand_range(cfg.a_width, cfg.a_signed)
    lo_b, hi_b = operand_range(cfg.b_width, cfg.b_signed)
    mask = (1 << cfg.acc_width) - 1
    pending = [(0, 0, 0)] * 12
    for t in range(60):
        if t % 7 == 3:        # the extremes: every product at its largest magnitude
            a = np.full(shape + (terms,), lo_a if cfg.a_signed else hi_a, np.int64)
            b = np.full(shape + (terms,), lo_b if cfg.b_signed else hi_b, np.int64)
        else:
            a = rng.integers(lo_a, hi_a + 1, shape + (terms,), dtype=np.int64)
            b = rng.integers(lo_b, hi_b + 1, shape + (terms,), dtype=np.int64)
        clear, enable = rng.integers(0, 2, shape), rng.integers(0, 2, shape)
        vec.tick(a, b, clear, enable)
        got = vec.outputs()["acc"].reshape(-1)
        s_plus_c = (vec.s.astype(object) + vec.c.astype(object)).reshape(-1)
        for n in range(12):
            i, j = divmod(n, 4)
            ra, rb = [int(x) for x in a[i, j]], [int(x) for x in b[i, j]]
            ref[n].tick(ra, rb, int(clear[i, j]), int(enable[i, j]))
            # exact: acc <- (clear ? 0 : acc) + enable * sum(a*b), after the input register
            now = (sum(x * y for x, y in zip(ra, rb)), int(clear[i, j]), int(enable[i, j]))
            if cfg.input_reg:
                now, pending[n] = pending[n], now
            dot, cl, en = now
            if cl or en:
                exact[n] = ((0 if cl else exact[n]) + (dot if en else 0)) & mask
            assert int(got[n]) == ref[n].acc == exact[n], (t, n)
            assert int(s_plus_c[n]) & mask == exact[n], (t, n)
        assert np.array_equal(vec.outputs()["result"].reshape(-1).astype(object),
                              np.array([r.outputs()["result"] for r in ref], object)), t
