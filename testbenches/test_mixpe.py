"""The mixed-precision group PE (:mod:`hdl.pe.mixpe`): its golden model against an independent
reference (exact :class:`fractions.Fraction` sums, IEEE specials through Python floats,
ml_dtypes for the formats), the vectorized model against the scalar one, the RTL against the
golden model cycle by cycle in cocotb (:mod:`testbenches.mixpe_tb`: every weight x int8
activation pair, every fp16/bf16 sign and exponent class, realistic group streams), and a
planted bug caught."""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from testbenches.conftest import expect_mismatch, simulate
from tpegen.config import MixPeConfig

SEED = 20261203

MIXPE_GRID = [
    MixPeConfig(),                                                  # int4 x fp16, G = 32
    MixPeConfig(w_signed=False, group=8),                           # zero point
    MixPeConfig(w_width=8, act="int8", group=4),                    # int8 x int8: 65,536 pairs
    MixPeConfig(w_signed=False, act="int8", group=16, tree="wallace"),
    MixPeConfig(act="bf16", group=8),
    MixPeConfig(w_width=8, w_signed=False, act="bf16", group=3, final_adder="kogge_stone"),
    MixPeConfig(group=1),
    MixPeConfig(datapath="dequant"),                                # the baselines
    MixPeConfig(datapath="dequant", w_signed=False, act="int8", group=16),
    MixPeConfig(datapath="dequant", w_width=8, act="bf16"),
]


def _id(config):
    return config.name


# --- the independent reference -----------------------------------------------------------------

def _float(bits, fmt):
    """Python float (exact: every fp16/bf16 value is a double) through ml_dtypes."""
    dtype = {"fp16": np.float16, "bf16": ml_dtypes.bfloat16, "fp32": np.float32}[fmt]
    raw = np.array([bits], {"fp32": np.uint32}.get(fmt, np.uint16))
    return float(raw.view(dtype)[0])


def _act(bits, act):
    if act == "int8":
        return float(bits - 256 if bits >= 128 else bits)
    return _float(bits, act)


def _encode(x, fmt):
    """Bits of the exact value ``x`` (a Fraction, or a non-finite float) rounded once into
    ``fmt`` (nearest even): the codec of golden.fp, checked itself in test_fp_golden."""
    from golden.fp.codec import encode
    if isinstance(x, float):
        if math.isnan(x):
            return {"fp32": 0x7FC0_0000, "fp16": 0x7E00, "bf16": 0x7FC0}[fmt]
        return encode(Fraction(x), fmt) if math.isfinite(x) else \
            {"fp32": 0x7F80_0000, "fp16": 0x7C00, "bf16": 0x7F80}[fmt] | \
            ((x < 0) << {"fp32": 31}.get(fmt, 15))
    return encode(x, fmt)


def _fma(x, y, z, fmt):
    """``round_fmt(x*y + z)`` of Python floats, exactly (Fractions when finite)."""
    if all(math.isfinite(v) for v in (x, y, z)):
        return _encode(Fraction(x) * Fraction(y) + Fraction(z), fmt)
    return _encode(x * y + z, fmt)


class Reference:
    """The spec of golden.pe.mixpe, on Python floats and Fractions, one PE."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.acc, self.open, self.fresh, self.stage, self.stage3 = 0.0, [], True, None, None

    def tick(self, a, b, scale, zero, clear, enable, last):
        cfg = self.cfg
        w = a - (1 << cfg.w_width) if cfg.w_signed and a >> (cfg.w_width - 1) else a
        z = 0 if cfg.w_signed else zero
        s = _float(scale, "fp16")
        if cfg.datapath == "dequant":
            F = "bf16" if cfg.act == "bf16" else "fp16"
            if self.stage is not None:
                wf, bf, en, clr = self.stage
                base = 0.0 if clr else self.acc
                self.acc = _float(_fma(wf, bf, base, "fp32"), "fp32") if en else base
            wf = _float(_fma(float(w - z), s, -0.0, F), F)
            self.stage = (wf, _act(b, cfg.act), enable, clear)
            return self.acc
        if self.stage3 is not None:                    # the closed group, scaled
            p, s_c, fresh = self.stage3
            self.acc = _float(_fma(p, s_c, 0.0 if fresh else self.acc, "fp32"), "fp32")
        self.stage3, self.stage = self.stage, None     # (its fp32 rounding: one stage)
        if clear:
            self.open, self.fresh = [], True
        if enable:
            self.open.append((w, _act(b, cfg.act)))
            if len(self.open) == cfg.group or last:
                terms = [(w - z, x) for w, x in self.open]
                if all(math.isfinite(x) for _, x in terms):
                    exact = sum((Fraction(d) * Fraction(x) for d, x in terms), Fraction(0))
                    p = _float(_encode(exact, "fp32"), "fp32")
                else:                                  # IEEE: 0*inf, inf-inf are NaN
                    p = sum(d * x for d, x in terms)
                    p = math.nan if math.isnan(p) else p
                self.stage = (p, s, self.fresh)
                self.open, self.fresh = [], False
        return self.acc


def _stream(cfg, rng, n):
    from testbenches.mixpe_tb import realistic_activations
    W = cfg.w_width
    return (rng.integers(0, 1 << W, n), realistic_activations(cfg.act, rng, n),
            np.float16(rng.lognormal(-3, 2, n) * rng.choice([1, -1], n)).view(np.uint16),
            rng.integers(0, 1 << W, n), rng.random(n) < 0.03, rng.random(n) < 0.9,
            rng.random(n) < 0.1)


def _bits32(x):
    return int(np.array([x], np.float32).view(np.uint32)[0])


@pytest.mark.parametrize("config", [MixPeConfig(group=4), MixPeConfig(w_signed=False, group=3),
                                    MixPeConfig(w_width=8, act="int8", group=5),
                                    MixPeConfig(act="bf16", w_width=8, w_signed=False, group=4),
                                    MixPeConfig(datapath="dequant", group=4),
                                    MixPeConfig(datapath="dequant", act="bf16",
                                                w_signed=False)], ids=_id)
def test_golden_matches_the_reference(config):
    """Every cycle of a realistic stream (outlier channels, specials, random groups): the
    golden model's result bits equal the Fraction/float reference's (NaN: any NaN)."""
    from golden.pe.mixpe import MixPe
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    gold, ref = MixPe(config), Reference(config)
    cols = _stream(config, rng, 3000)
    nans = 0
    for t, inputs in enumerate(zip(*(c.tolist() for c in cols))):
        got, want = gold.tick(*inputs), ref.tick(*inputs)
        if math.isnan(want):
            assert (got & 0x7FFF_FFFF) > 0x7F80_0000, t
            nans += 1
        else:
            assert got == _bits32(want), (t, hex(got), want)
    print(f"{nans} NaN cycles")


def test_golden_vector_equals_scalar():
    """64 PEs at once (numpy) equal 64 scalar models, for shift-add and the baseline."""
    from golden.pe.mixpe import MixPe
    rng = np.random.default_rng(SEED)
    for cfg in (MixPeConfig(w_signed=False, group=5), MixPeConfig(datapath="dequant"),
                MixPeConfig(act="bf16", group=2)):
        pes = 64
        vector = MixPe(cfg, (pes,))
        scalars = [MixPe(cfg) for _ in range(pes)]
        for _ in range(60):
            cols = _stream(cfg, rng, pes)
            got = vector.tick(*cols)
            want = [s.tick(*v) for s, v in zip(scalars, zip(*(c.tolist() for c in cols)))]
            assert got.tolist() == want


def test_exact_group_sum_is_rounded_once():
    """A group of 1024 products (-128) * (-128) = 2**24, then 1 * 1 twice: the exact sum
    2**24 + 2 is an fp32 number and the PE gives it; summing in fp32 would lose both ones
    (2**24 + 1 rounds to even, 2**24)."""
    from golden.pe.mixpe import MixPe
    cfg = MixPeConfig(w_width=8, act="int8", group=1026)
    pe = MixPe(cfg)
    one = 0x3C00
    terms = [(0x80, 0x80)] * 1024 + [(1, 1)] * 2
    for k, (w, b) in enumerate(terms):
        pe.tick(w, b, one, 0, k == 0, 1, 0)
    for _ in range(cfg.latency - 1):
        pe.tick(0, 0, one, 0, 0, 0, 0)
    exact = (1 << 24) + 2
    sequential = np.float32(0)
    for w, b in terms:
        sequential = np.float32(sequential + np.float32((w - 256 if w > 127 else w)
                                                        * (b - 256 if b > 127 else b)))
    assert float(sequential) == 1 << 24
    assert pe.result == _encode(Fraction(exact), "fp32") == _bits32(np.float32(exact))


def test_config_errors():
    from tpegen.config import ParameterError
    for kwargs, message in (({"group": 0}, "group=0 is out of range"),
                            ({"w_width": 9}, "w_width=9 is out of range"),
                            ({"act": "fp8"}, "act='fp8' is not allowed")):
        with pytest.raises(ParameterError) as e:
            MixPeConfig(**kwargs)
        assert message in str(e.value), str(e.value)


# --- the RTL in cocotb --------------------------------------------------------------------------

@pytest.mark.parametrize("config", MIXPE_GRID, ids=_id)
def test_mixpe(config, build_root):
    simulate(config, "verilator", build_root, SEED)


def test_mixpe_icarus(build_root):
    simulate(MixPeConfig(w_signed=False, group=4, act="int8"), "icarus", build_root, SEED)


def test_mixpe_planted_group_bug_is_caught(build_root, monkeypatch):
    """A group that ignores ``last`` (closed by the counter only), in the RTL only, must fail
    the unchanged testbench (the pairs phase closes every product with ``last``)."""
    from hdl.pe.mixpe import MixPe
    monkeypatch.setattr(MixPe, "_closes",
                        lambda self, count_new: self.enable & (count_new == self.config.group))
    config = MixPeConfig(group=4, act="int8", name="mixpe_planted_last")
    expect_mismatch(config, build_root, SEED, "pairs")


def test_mixpe_planted_bug_is_caught(build_root, monkeypatch):
    """The dequantizer's FMA rounding toward zero instead of to nearest even, in the RTL
    only, must fail the unchanged testbench."""
    from hdl.pe import dequant
    from tpegen.config import FmaConfig
    monkeypatch.setattr(dequant, "STEP", FmaConfig(fmt_a="fp32", fmt_b="fp16", fmt_acc="fp32",
                                                   rounding="rtz"))
    config = MixPeConfig(group=4, name="mixpe_planted_rtz")
    expect_mismatch(config, build_root, SEED)
