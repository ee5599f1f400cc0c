"""The bit-serial PE (:mod:`hdl.pe.bitserial`): its golden model against independent
references (ml_dtypes' e2m1 for the weight values, numpy's float16/float32 casts and exact
:class:`fractions.Fraction` arithmetic for the numerics, a direct count for the cycles), the
scalar and vectorized cycle models against each other, the RTL against the golden model cycle
by cycle in cocotb (every code of every dtype x corner activations on every configuration,
every code x every fp16 activation x every dtype on one, random streams with gaps; acceptance edges against the closed-form cycle prediction;
:mod:`testbenches.bitserial_tb`), planted bugs caught (lint: testbenches/test_lint.py,
grid.PE_GRID)."""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from testbenches.conftest import expect_mismatch, simulate
from tpegen.config import BitSerialConfig, ParameterError

SEED = 20261203

BITSERIAL_GRID = [
    BitSerialConfig(),                                             # L=4, G=32, skip, dadda
    BitSerialConfig(lanes=2, group=4, skip_zeros=False),
    BitSerialConfig(lanes=1, group=1),
    BitSerialConfig(lanes=3, group=6, tree="wallace", final_adder="kogge_stone"),
    BitSerialConfig(lanes=2, group=8, act="bf16"),
    BitSerialConfig(lanes=2, datapath="parallel"),                 # the baseline
    BitSerialConfig(lanes=1, act="bf16", datapath="parallel"),
]


def _id(config):
    return config.name


# --- independent references -----------------------------------------------------------------

def _ref_values():
    """``{dtype name: 16 values}`` from the formats themselves: int4 sign-magnitude, fp4 twice
    ml_dtypes' e2m1, er / ea fp4 with the negative zero as +10 / +16 (BitMoD's extra values
    in half-e2m1 units: e2m1 5 and 8)."""
    e2m1 = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    fp4 = [int(2 * x) for x in e2m1]
    int4 = [c & 7 if c < 8 else -(c & 7) for c in range(16)]
    return {"int4": int4, "fp4": fp4, "er": fp4[:8] + [10] + fp4[9:],
            "ea": fp4[:8] + [16] + fp4[9:]}


def _round_fp32(x):
    """fp32 bit pattern of the exact rational ``x`` rounded to nearest even (overflow: inf)."""
    if x == 0:
        return 0
    sign = (1 << 31) if x < 0 else 0
    x = abs(x)
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    e = max(e, -126)
    q = Fraction(2) ** (e - 23)
    n, r = divmod(x, q)
    n = int(n)
    if r * 2 > q or (r * 2 == q and n & 1):
        n += 1
    if n == 1 << 24:
        n, e = 1 << 23, e + 1
    if e > 127:
        return sign | 0x7F80_0000
    if n < 1 << 23:                                   # subnormal
        return sign | n
    return sign | ((e + 127) << 23) | (n - (1 << 23))


def _fp32_value(bits):
    bits = int(bits)
    return Fraction(float(np.array([bits], np.uint32).view(np.float32)[0]))


def _act_value(bits, act):
    dt = np.float16 if act == "fp16" else ml_dtypes.bfloat16
    return float(np.array([bits], np.uint16).view(dt)[0])


def test_weight_tables_match_the_formats():
    from golden.pe.bitserial import DTYPE_MASK, DTYPES, VALUES
    ref = _ref_values()
    assert DTYPES == ("int4", "fp4", "er", "ea")
    for k, name in enumerate(DTYPES):
        assert VALUES[k].tolist() == ref[name], name
    assert DTYPE_MASK == (0b111, 0b1111, 0b1111, 0b11111)


def test_group_numerics_exhaustive_against_numpy_casts():
    """One weight (G = 1) times every fp16 activation, for every code of every dtype and a
    positive and a negative scale: the golden numerics equal numpy's own float16 -> float64
    (exact product) -> float32 (one rounding) -> exact scale product -> float32 (4,194,304
    products per scale)."""
    from golden.pe.bitserial import DTYPES, group_result
    ref = _ref_values()
    acts = np.arange(1 << 16, dtype=np.int64)
    a64 = acts.astype(np.uint16).view(np.float16).astype(np.float64)
    for scale_bits in (0x3C00, 0xB555):
        s = float(np.array([scale_bits], np.uint16).view(np.float16)[0])
        for k, name in enumerate(DTYPES):
            for code in range(16):
                v = ref[name][code]
                with np.errstate(invalid="ignore", over="ignore"):
                    p32 = (a64 * v).astype(np.float32)
                    want = (p32.astype(np.float64) * s + 0.0).astype(np.float32)
                got = group_result(acts[:, None], np.full((1 << 16, 1), code), k, scale_bits,
                                   0)
                gotf = got.astype(np.uint32).view(np.float32)
                nan = np.isnan(want)
                assert (np.isnan(gotf) == nan).all(), (name, code)
                assert (got[~nan].astype(np.uint32) == want[~nan].view(np.uint32)).all(), \
                    (name, code, scale_bits)


@pytest.mark.parametrize("act", ["fp16", "bf16"])
def test_group_numerics_against_fractions(act):
    """Groups of 8 products with a random accumulator: exact Fraction sum, rounded to fp32,
    times the scale plus acc exactly, rounded once (the reference's own rounder)."""
    from golden.pe.bitserial import DTYPES, group_result
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    ref = _ref_values()
    n, G = 3000, 8
    a = rng.integers(0, 1 << 16, (n, G))
    mb = 10 if act == "fp16" else 7
    a = np.where(((a >> mb) & ((1 << (15 - mb)) - 1)) == (1 << (15 - mb)) - 1, a ^ (1 << mb), a)
    tight = rng.random(n) < 0.5                     # groups of nearby exponents: cancellations
    a[tight] = (a[tight] & 0x83FF) | ((rng.integers(10, 20, (tight.sum(), 1)) << mb)
                                      & 0x7FFF)
    codes = rng.integers(0, 16, (n, G))
    dtype = rng.integers(0, 4, n)
    scale = rng.integers(0, 0x7C00, n) | (rng.integers(0, 2, n) << 15)
    acc = rng.integers(0, 0x7F800000, n) | (rng.integers(0, 2, n) << 31)
    acc[rng.random(n) < 0.3] = 0
    got = group_result(a, codes, dtype, scale, acc, act)
    overflowed = 0
    for i in range(n):
        v = [ref[DTYPES[dtype[i]]][c] for c in codes[i]]
        exact = sum(Fraction(_act_value(x, act)) * w for x, w in zip(a[i], v))
        p32 = _round_fp32(exact)
        if p32 & 0x7FFF_FFFF == 0x7F80_0000:         # the group sum overflowed fp32
            overflowed += 1
            continue
        s = Fraction(float(np.array([scale[i]], np.uint16).view(np.float16)[0]))
        total = _fp32_value(p32) * s + _fp32_value(acc[i])
        if total == 0:                               # a zero result: +0 (RNE), or -0 + -0
            assert int(got[i]) & 0x7FFF_FFFF == 0, (i, hex(int(got[i])))
            continue
        assert int(got[i]) == _round_fp32(total), (i, hex(int(got[i])),
                                                   hex(_round_fp32(total)))
    assert overflowed < n // 20


def test_group_specials():
    """Infinite and NaN activations: 0 * inf and inf - inf are NaN, else the product's sign."""
    from golden.pe.bitserial import group_result
    inf, ninf, nan, one = 0x7C00, 0xFC00, 0x7E00, 0x3C00
    cases = [([inf, one], [1, 1], 0x7F800000), ([inf, one], [9, 1], 0xFF800000),
             ([ninf, one], [9, 0], 0x7F800000), ([inf, one], [0, 1], None),
             ([inf, ninf], [1, 1], None), ([inf, inf], [1, 9], None), ([nan, one], [0, 0], None),
             ([inf, one], [8, 1], None)]             # int4: code 8 is 0, 0 * inf
    for acts, codes, want in cases:
        got = int(group_result(np.array([acts]), np.array([codes]), 0, 0x3C00, 0)[0])
        if want is None:
            assert (got & 0x7F800000) == 0x7F800000 and got & 0x7FFFFF, hex(got)
        else:
            assert got == want, (acts, codes, hex(got))
    # er's code 8 is +10, and the scale's sign flips an infinite group sum
    assert int(group_result(np.array([[inf]]), np.array([[8]]), 2, 0xBC00, 0)[0]) == 0xFF800000
    assert int(group_result(np.array([[inf]]), np.array([[8]]), 1, 0x3C00, 0)[0]) == 0x7FC00000


# --- the cycle models --------------------------------------------------------------------------

def _cycle_count_reference(codes, dtype, lanes, skip):
    """Cycles of each beat, counted directly: the distinct bit positions of the lanes'
    magnitudes (or of every value the dtype has), at least one."""
    ref = _ref_values()
    names = ("int4", "fp4", "er", "ea")
    out = []
    for row, d in zip(codes.tolist(), dtype.tolist()):
        mags = [abs(ref[names[d]][c]) for c in row] if skip else \
            [abs(x) for c, x in enumerate(ref[names[d]]) if c != 8 or d >= 2]
        positions = {j for x in mags for j in range(5) if x >> j & 1}
        out.append(max(1, len(positions)))
    return out


@pytest.mark.parametrize("skip", [True, False])
def test_cycle_prediction(skip):
    """:func:`schedule` against a direct count, and against the cycle model run back to
    back (the edges where it accepts each beat)."""
    from golden.pe.bitserial import BitSerialPe, beat_cycles, pack, schedule
    rng = np.random.default_rng(SEED)
    cfg = BitSerialConfig(lanes=3, group=6, skip_zeros=skip)
    B = 400
    codes = np.where(rng.random((B, 3)) < 0.5, 0, rng.integers(0, 16, (B, 3)))
    dtype = rng.integers(0, 4, B)
    assert beat_cycles(codes, dtype, cfg).tolist() == _cycle_count_reference(codes, dtype, 3,
                                                                              skip)
    accept, total = schedule(codes, dtype, cfg)
    model = BitSerialPe(cfg)
    a = pack(rng.integers(0, 0x7C00, (B, 3)), 16)
    b = pack(codes, 4)
    seen, k, t = [], 0, 0
    while k < B:
        if model.ready:
            seen.append(t)
            model.tick(a[k], b[k], dtype[k], 0x3C00, 0, 1)
            k += 1
        else:
            model.tick(0, 0, 0, 0, 0, 1)
        t += 1
    assert seen == accept.tolist()
    assert total == sum(_cycle_count_reference(codes, dtype, 3, skip)) + cfg.latency
    # total: the edge (the first acceptance edge is 1) after which result shows the last
    # group, on a stream where every group strictly increases the accumulator
    positive = rng.integers(1, 8, (B, 3))
    accept, total = schedule(positive, dtype, cfg)
    model, changed = BitSerialPe(cfg), []
    b, k, t = pack(positive, 4), 0, 0
    while t < total + 10:
        ready, before = model.ready, model.result
        if k < B and ready:
            model.tick(a[k], b[k], dtype[k], 0x3C00, 0, 1)
            k += 1
        else:
            model.tick(0, 0, 0, 0, 0, k < B)
        t += 1
        if model.result != before:
            changed.append(t)
    assert len(changed) == B // cfg.steps and changed[-1] == total
    # the data dependence: int4 beats without skipping take 3 cycles, ea 5
    if not skip:
        assert beat_cycles(np.zeros((4, 1)), np.arange(4), cfg).tolist() == [3, 4, 4, 5]


@pytest.mark.parametrize("config", [BitSerialConfig(lanes=4, group=8),
                                    BitSerialConfig(lanes=2, group=2, skip_zeros=False),
                                    BitSerialConfig(lanes=2, group=4, act="bf16"),
                                    BitSerialConfig(lanes=3, datapath="parallel")], ids=_id)
def test_vector_model_equals_scalar(config):
    from golden.pe.bitserial import BitSerialPe, BitSerialPeArray, pack
    rng = np.random.default_rng(SEED)
    N, L = 16, config.lanes
    vector = BitSerialPeArray(config, N)
    scalars = [BitSerialPe(config) for _ in range(N)]
    for _ in range(300):
        acts = rng.integers(0, 1 << 16, (N, L))
        acts[rng.random((N, L)) < .5] &= 0x3FFF
        a, b = pack(acts, 16), pack(rng.integers(0, 16, (N, L)), 4)
        d, s = rng.integers(0, 4, N), rng.integers(0, 1 << 16, N) & 0xBFFF
        c, v, t = rng.random(N) < .1, rng.random(N) < .8, rng.random(N) < .15
        got = vector.tick(a, b, d, s, c, v, t)
        want = [p.tick(*x) for p, x in zip(scalars, zip(a.tolist(), b.tolist(), d.tolist(),
                                                         s.tolist(), c.tolist(), v.tolist(),
                                                         t.tolist()))]
        assert got.tolist() == want
        assert vector.ready.tolist() == [p.ready for p in scalars]


def test_serial_accumulates_groups_like_group_result():
    """A whole stream through the scalar cycle model equals the groups folded with
    :func:`group_result`."""
    from golden.pe.bitserial import BitSerialPe, group_result, pack
    rng = np.random.default_rng(SEED)
    cfg = BitSerialConfig(lanes=2, group=6)
    groups = 20
    a = rng.integers(0, 0x5800, (groups * 3, 2))
    codes = rng.integers(0, 16, (groups * 3, 2))
    dtype = np.repeat(rng.integers(0, 4, groups), 3)
    scale = np.repeat(rng.integers(0x2000, 0x4000, groups), 3)
    model = BitSerialPe(cfg)
    pa, pb = pack(a, 16), pack(codes, 4)
    for k in range(len(pa)):
        model.tick(pa[k], pb[k], dtype[k], scale[k], int(k == 0), 1)
        while not model.ready:
            model.tick(0, 0, 0, 0, 0, 0)
    for _ in range(4):
        model.tick(0, 0, 0, 0, 0, 0)
    acc = 0
    for g in range(groups):
        rows = slice(3 * g, 3 * g + 3)
        acc = int(group_result(a[rows].reshape(1, 6), codes[rows].reshape(1, 6), dtype[3 * g],
                               scale[3 * g], acc)[0])
    assert model.result == acc


def test_last_closes_the_group_early():
    """``last`` on a beat closes its group there (an engine's tile end): groups of 1..3
    beats, each ended by ``last`` or by the count, equal the groups folded with
    :func:`group_result`, on the scalar and the vector model."""
    from golden.pe.bitserial import BitSerialPe, BitSerialPeArray, group_result, pack
    rng = np.random.default_rng(SEED + 1)
    cfg = BitSerialConfig(lanes=2, group=6)
    sizes = rng.integers(1, 4, 24)
    beats = int(sizes.sum())
    a = rng.integers(0, 0x5800, (beats, 2))
    codes = rng.integers(0, 16, (beats, 2))
    dtype = np.repeat(rng.integers(0, 4, len(sizes)), sizes)
    scale = np.repeat(rng.integers(0x2000, 0x4000, len(sizes)), sizes)
    ends = np.cumsum(sizes) - 1
    last = np.isin(np.arange(beats), ends) & (np.repeat(sizes, sizes) < 3)
    model, vector = BitSerialPe(cfg), BitSerialPeArray(cfg, 1)
    pa, pb = pack(a, 16), pack(codes, 4)
    for k in range(beats):
        for m in (model, vector):
            m.tick(pa[k], pb[k], dtype[k], scale[k], int(k == 0), 1, int(last[k]))
        while not model.ready:
            for m in (model, vector):
                m.tick(0, 0, 0, 0, 0, 0)
    for _ in range(4):
        for m in (model, vector):
            m.tick(0, 0, 0, 0, 0, 0)
    acc, start = 0, 0
    for end in ends:
        rows = slice(start, end + 1)
        n = 2 * (end + 1 - start)
        acc = int(group_result(a[rows].reshape(1, n), codes[rows].reshape(1, n), dtype[start],
                               scale[end], acc)[0])
        start = end + 1
    assert model.result == acc and int(vector.result[0]) == acc


def test_config_errors():
    for params, text in ((dict(lanes=0), "lanes=0 is out of range: allowed 1..16"),
                         (dict(lanes=17), "lanes=17 is out of range"),
                         (dict(lanes=4, group=6), "group=6 is not allowed with lanes=4"),
                         (dict(group=8192), "group=8192 is out of range"),
                         (dict(act="int8"), "act='int8' is not allowed"),
                         (dict(datapath="booth"), "datapath='booth' is not allowed"),
                         (dict(skip_zeros="yes"), "skip_zeros='yes' must be true or false")):
        with pytest.raises(ParameterError, match=text.replace("(", r"\(")):
            BitSerialConfig(**params)
    assert BitSerialConfig(lanes=3).group == 30


# --- the RTL in cocotb --------------------------------------------------------------------------

@pytest.mark.parametrize("config", BITSERIAL_GRID, ids=_id)
def test_bitserial(config, build_root):
    simulate(config, "verilator", build_root, SEED)


def test_bitserial_exhaustive(build_root, monkeypatch):
    """Every code of every dtype times every fp16 bit pattern through the RTL (4,194,304
    products, 16 per beat), plus the standard phases."""
    monkeypatch.setenv("TPEGEN_BITSERIAL_EXHAUSTIVE", "1")
    simulate(BitSerialConfig(lanes=16, group=16, name="bitserial_l16_exhaustive"), "verilator",
             build_root, SEED)


def test_bitserial_icarus(build_root):
    simulate(BitSerialConfig(lanes=2, group=4), "icarus", build_root, SEED)


def test_bitserial_planted_bug_is_caught(build_root, monkeypatch):
    """ea's extra value decoded as 8 instead of 16 in the RTL only: the unchanged testbench
    must fail, naming the phase and the seed."""
    from hdl.pe import bitserial
    table = list(bitserial.MAG_TABLE)
    table[3 * 16 + 8] = (8, False)
    monkeypatch.setattr(bitserial, "MAG_TABLE", tuple(table))
    config = BitSerialConfig(lanes=2, group=4, name="bitserial_planted_ea")
    expect_mismatch(config, build_root, SEED, "codes ea")


def test_bitserial_planted_skip_bug_is_caught(build_root, monkeypatch):
    """The zero-skipping mask misses bit 4 (the only bit of ea's 16) in the RTL only: the
    result and the data-dependent ready differ from the golden model."""
    from hdl.pe import bitserial
    original = bitserial.BitSerialPe._decode

    def decode(self, m, code, label):
        mag, neg = original(self, m, code, label)
        from amaranth.hdl import Signal
        cut = Signal(5, name=f"{label}_cut")
        m.d.comb += cut.eq(mag & 0b01111)
        return cut, neg
    monkeypatch.setattr(bitserial.BitSerialPe, "_decode", decode)
    config = BitSerialConfig(lanes=2, group=4, name="bitserial_planted_skip")
    expect_mismatch(config, build_root, SEED)


def test_manifest_roles_and_stream():
    from tpegen import api
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = api.generate(BitSerialConfig(lanes=2, group=4), tmp)
        manifest = json.loads(open(path).read())
    roles = {p["name"]: p["role"] for p in manifest["ports"]}
    assert roles == {"clk": "clk", "rst": "rst", "a": "a", "b": "b", "dtype": "dtype",
                     "scale": "scale", "clear": "clear", "last": "last", "valid": "valid",
                     "ready": "ready", "result": "result"}
    assert manifest["streams"][0]["valid"] == "valid"
    assert manifest["latency"] == BitSerialConfig(lanes=2, group=4).latency
