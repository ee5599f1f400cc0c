"""The LUT mpGEMM PE (:mod:`hdl.pe.lut`): its golden model against an independent reference
(exact integer dot products), the RTL of both datapaths against the golden model cycle by
cycle in cocotb (every weight value x every activation value for the 4-bit and 8-bit
pairings; :mod:`testbenches.lut_tb`), a planted bug in the table's mirror caught (lint:
testbenches/test_lint.py, grid.PE_GRID)."""

import itertools

import numpy as np
import pytest

from testbenches.conftest import expect_mismatch, simulate
from tpegen.config import LutPeConfig, ParameterError

SEED = 20261202

LUT_GRID = [
    LutPeConfig(),                                                   # K=4, int4 x int8, N=4
    LutPeConfig(datapath="mac"),                                     # the baseline
    LutPeConfig(w_width=8),                                          # int8 x int8
    LutPeConfig(w_width=8, datapath="mac", tree="wallace", final_adder="kogge_stone"),
    LutPeConfig(w_width=4, a_width=4, w_signed=False, cols=3, tree="wallace",
                final_adder="ripple"),                               # uint4 x int4
    LutPeConfig(w_width=8, a_width=4, a_signed=False, k=3, cols=2),  # int8 x uint4, K=3
    LutPeConfig(w_width=1, k=6, cols=5, acc_width=13),              # 1-bit, K=6, wraps
    LutPeConfig(w_width=3, a_width=5, k=2, cols=1, acc_width=10, datapath="mac"),
]


def _id(config):
    return config.name


# --- the golden model against exact integer arithmetic ----------------------------------------

def _to_natural(bits, width, signed):
    """Independent of golden.pe.lut: a bit pattern's value by the definition of two's
    complement (the top bit weighs -2**(width-1))."""
    top = (bits >> (width - 1)) & 1
    return (bits & ((1 << (width - 1)) - 1)) - (top << (width - 1)) if signed else bits


def _reference_dot(weights, acts):
    """Exact dot products of one group, per column (Python integers)."""
    return [sum(w * a for w, a in zip(row, acts)) for row in weights]


def _drive_group(model, cfg, acts, weights, clear):
    """Load ``acts`` and run the n planes of ``weights`` through ``model`` (the planes
    built here from the weights' bit patterns, not by golden.pe.lut)."""
    from golden.pe.lut import pack_lanes
    model.tick(pack_lanes(acts, cfg.a_width), 1, 0, 0, 0)
    for p in range(cfg.w_width):
        word = 0
        for j, row in enumerate(weights):
            for k, w in enumerate(row):
                word |= (((w & ((1 << cfg.w_width) - 1)) >> p) & 1) << (j * cfg.k + k)
        model.tick(0, 0, word, int(clear and p == 0), 1)


@pytest.mark.parametrize("config", [LutPeConfig(), LutPeConfig(w_width=8),
                                    LutPeConfig(w_signed=False, a_signed=False, k=3),
                                    LutPeConfig(w_width=1, k=6, cols=2),
                                    LutPeConfig(w_width=1, w_signed=False, k=2, cols=1)],
                         ids=_id)
def test_golden_group_is_the_exact_dot_product(config):
    """After a group's n planes every column holds the exact sum_k w_jk a_k (random groups,
    and every weight x activation pair through the exhaustive stimulus)."""
    from golden.pe.lut import LutPe
    from testbenches.lut_tb import exhaustive_groups, random_groups
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    model = LutPe(config)
    mask = (1 << config.acc_width) - 1
    groups = exhaustive_groups(config) + random_groups(config, rng, 300, reuse=0)
    for acts, weights in groups:
        _drive_group(model, config, acts, weights, clear=True)
        want = [v & mask for v in _reference_dot(weights, acts)]
        assert model.accumulators == want, (acts, weights)
    # several groups accumulate, modulo 2**acc_width
    total = [0] * config.cols
    model.reset()
    for acts, weights in groups[:50]:
        _drive_group(model, config, acts, weights, clear=False)
        total = [t + d for t, d in zip(total, _reference_dot(weights, acts))]
    assert model.accumulators == [t & mask for t in total]
    assert [_to_natural(v, config.acc_width, True) for v in model.accumulators] == \
        [((t + (1 << (config.acc_width - 1))) & mask) - (1 << (config.acc_width - 1))
         for t in total]


@pytest.mark.parametrize("K", [2, 3, 4, 5, 6])
def test_half_table_is_symmetric_and_exact(K):
    """The paper's table: T(i) from the half table equals sum_k (2 b_k - 1) a_k for every
    index, T(~i) = -T(i), and U(i) = (T(i) + S) / 2 is the plain partial sum."""
    from golden.pe.lut import half_table, lookup
    rng = np.random.default_rng(SEED + K)
    print(f"seed {SEED + K}")
    for _ in range(50):
        acts = rng.integers(-128, 128, K).tolist()
        table = half_table(acts)
        assert len(table) == 1 << (K - 1)
        S = sum(acts)
        for i in range(1 << K):
            t = lookup(table, i, K)
            assert t == sum((a if (i >> k) & 1 else -a) for k, a in enumerate(acts))
            assert lookup(table, ~i & ((1 << K) - 1), K) == -t
            assert (t + S) % 2 == 0
            assert (t + S) // 2 == sum(a for k, a in enumerate(acts) if (i >> k) & 1)


def test_golden_vector_model_matches_the_scalar_model():
    """The numpy model over 32 PEs equals 32 scalar models under random inputs (loads,
    clears and stalls mid-group included) and the accumulator's wrap."""
    from golden.pe.lut import LutPe, LutPeArray, pack_lanes
    cfg = LutPeConfig(w_width=3, cols=3, acc_width=14)
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    pes = 32
    vector = LutPeArray(cfg, pes)
    scalars = [LutPe(cfg) for _ in range(pes)]
    for _ in range(400):
        acts = rng.integers(-128, 128, (pes, cfg.k))
        b = rng.integers(0, 1 << cfg.k, (pes, cfg.cols))
        load, clear, enable = rng.random(pes) < .2, rng.random(pes) < .1, rng.random(pes) < .9
        got = vector.tick(acts, load, b, clear, enable)
        for i, s in enumerate(scalars):
            word = sum(int(x) << (j * cfg.k) for j, x in enumerate(b[i]))
            s.tick(pack_lanes(acts[i].tolist(), cfg.a_width), load[i], word, clear[i],
                   enable[i])
        assert got.tolist() == [s.accumulators for s in scalars]


def test_exhaustive_stimulus_covers_every_pair_and_lane():
    from testbenches.lut_tb import exhaustive_groups
    for cfg in (LutPeConfig(), LutPeConfig(w_width=8), LutPeConfig(k=3, cols=5, a_width=4)):
        groups = exhaustive_groups(cfg, passes=cfg.k)
        seen = set()
        for acts, weights in groups:
            for row in weights:
                seen.update((w, a, k) for k, (w, a) in enumerate(zip(row, acts)))
        pairs = {(w, a) for w, a, _ in seen}
        assert len(pairs) == (1 << cfg.w_width) * (1 << cfg.a_width)
        if (1 << cfg.a_width) % cfg.k == 0:
            assert len(seen) == len(pairs) * cfg.k


def test_config_rejects_out_of_range_parameters():
    for kwargs, words in [({"k": 7}, "k=7 is out of range: allowed 2..6"),
                          ({"w_width": 9}, "w_width=9 is out of range: allowed 1..8"),
                          ({"cols": 0}, "cols=0 is out of range: allowed 1..32"),
                          ({"acc_width": 14}, "acc_width=14 is out of range: allowed 15..128"),
                          ({"datapath": "dequant"}, "datapath='dequant' is not allowed")]:
        with pytest.raises(ParameterError, match=words.replace("(", r"\(")):
            LutPeConfig(**kwargs)
    cfg = LutPeConfig(k=4, w_width=4, cols=8)
    assert cfg.macs_per_cycle == 8 and cfg.latency == 1 and cfg.load_latency == 1


# --- the RTL --------------------------------------------------------------------------------

@pytest.mark.parametrize("config", LUT_GRID, ids=_id)
def test_lut(config, build_root):
    simulate(config, "verilator", build_root, SEED)


def test_lut_icarus(build_root):
    simulate(LutPeConfig(w_width=2, a_width=4, cols=2, acc_width=12), "icarus", build_root,
             SEED)


def _planted_mirror(monkeypatch):
    """The RTL reads an upper-half index's entry without complementing its low bits."""
    from amaranth.hdl import Signal
    from hdl.pe import lut

    def wrong(m, index, K):
        low = Signal(K - 1, name=f"{index.name}_low")
        m.d.comb += low.eq(index[:K - 1])
        return index[K - 1], low
    monkeypatch.setattr(lut, "mirror", wrong)


def test_lut_planted_bug_is_caught(build_root, monkeypatch):
    """A slip in the symmetric lookup (T(i) read as -T(i) for the upper half) must fail the
    unchanged testbench, in the exhaustive phase."""
    _planted_mirror(monkeypatch)
    config = LutPeConfig(name="lut_planted_mirror")
    expect_mismatch(config, build_root, SEED, "exhaustive w4xa8")



def test_manifest_declares_the_ports_and_throughput(build_root):
    import json

    from tpegen import api
    cfg = LutPeConfig(cols=6)
    manifest = json.loads(api.generate(cfg, build_root / "lut" / "manifest" / cfg.name)
                          .read_text())
    roles = {p["name"]: p["role"] for p in manifest["ports"]}
    assert roles == {"clk": "clk", "rst": "rst", "a": "a", "load": "mode", "b": "b",
                     "clear": "clear", "enable": "enable", "result": "result"}
    widths = {p["name"]: p["width"] for p in manifest["ports"]}
    assert widths["result"] == 6 * cfg.acc_width and widths["b"] == 6 * cfg.k
    assert manifest["latency"] == cfg.latency
    assert manifest["stats"]["table_entries"] == 1 << (cfg.k - 1)
    assert [m["name"] for m in manifest["modes"]] == ["keep", "load"]
    assert cfg.macs_per_cycle == 6.0


def test_table_entries_scale_with_k_not_columns():
    """The table (2**(K-1) entries) is one per PE; each column has two rows in the LUT
    datapath and K in the baseline, whatever N."""
    from amaranth.back import rtlil

    from tpegen import api
    for k, cols in itertools.product((2, 4), (1, 4)):
        lut = api.elaborate(LutPeConfig(k=k, cols=cols))
        mac = api.elaborate(LutPeConfig(k=k, cols=cols, datapath="mac"))
        rtlil.convert(lut)
        rtlil.convert(mac)
        assert lut.stats["table_entries"] == 1 << (k - 1)
        assert lut.stats["rows_per_column"] == 2 and mac.stats["rows_per_column"] == k
