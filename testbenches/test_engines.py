"""The tensor engines against their cycle models and against the matrix product, in cocotb
(:mod:`testbenches.engine_tb`): every output and every PE's state, every cycle, under random
bubbles, backpressure and a reset in the middle of a tile; int8 PEs of several kinds and
one bf16 x bf16 + fp32 PE, on every architecture. Verilator runs all; Icarus a small
instance of each architecture."""

import pytest

from testbenches.conftest import expect_mismatch, simulate
from tpegen.config import (BitSerialConfig, EngineConfig, FMacConfig, LutPeConfig, MacConfig,
                           MixPeConfig, SimdMacConfig)

SEED = 20261201

INT8 = dict(a_width=8, b_width=8, a_signed=True, b_signed=True, acc_width=32)
#: int8 with yosys' own multiplier and adder: the quickest to build (planted bugs, tiling)
BEHAVIOURAL = dict(INT8, mult="behavioural", accumulate="cpa")
ENGINE_GRID = []
for _arch in ("systolic-os", "matrix2d"):
    ENGINE_GRID += [
        EngineConfig(arch=_arch, rows=3, cols=4, debug=True, pe=MacConfig(**INT8)),
        EngineConfig(arch=_arch, rows=4, cols=2, debug=True,
                     pe=MacConfig(**INT8, mult="behavioural", accumulate="cpa",
                                  input_reg=True, output_reg=True)),
        EngineConfig(arch=_arch, rows=1, cols=1, debug=True,
                     pe=MacConfig(a_width=4, b_width=6, acc_width=12, mult="array")),
        EngineConfig(arch=_arch, rows=2, cols=3, debug=True,
                     pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32")),
    ]
ENGINE_GRID += [
    EngineConfig(arch="systolic-ws", rows=3, cols=4, debug=True, pe=MacConfig(**INT8)),
    EngineConfig(arch="systolic-ws", rows=4, cols=2, debug=True,
                 pe=MacConfig(**INT8, mult="behavioural", accumulate="cpa",
                              input_reg=True, output_reg=True)),
    EngineConfig(arch="systolic-ws", rows=2, cols=3, debug=True,
                 pe=MacConfig(**INT8, mult="booth4", accumulate="carry_save",
                              input_reg=True)),
    EngineConfig(arch="systolic-ws", rows=1, cols=1, debug=True,
                 pe=MacConfig(a_width=4, b_width=6, acc_width=12, mult="array")),
    EngineConfig(arch="systolic-ws", rows=2, cols=3, debug=True,
                 pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32")),
]
# the tree-reducing engines (integer MAC PEs of several kinds: each PE's D or K products and
# its accumulator go through one bit-matrix tree; and the FP PE)
ENGINE_GRID += [
    EngineConfig(arch="cube", rows=2, cols=3, depth=4, debug=True, pe=MacConfig(**INT8)),
    EngineConfig(arch="cube", rows=3, cols=2, depth=2, debug=True,
                 pe=MacConfig(**INT8, mult="behavioural", accumulate="cpa",
                              input_reg=True, output_reg=True)),
    EngineConfig(arch="cube", rows=1, cols=2, depth=3, debug=True,
                 pe=MacConfig(**INT8, mult="array", tree="wallace", compressor="4:2",
                              accumulate="cpa", final_adder="kogge_stone")),
    EngineConfig(arch="cube", rows=1, cols=1, depth=5, debug=True,
                 pe=MacConfig(a_width=4, b_width=6, acc_width=12, mult="array")),
    EngineConfig(arch="adder-tree", rows=3, cols=4, debug=True, pe=MacConfig(**INT8)),
    EngineConfig(arch="adder-tree", rows=4, cols=2, debug=True,
                 pe=MacConfig(**INT8, mult="behavioural", accumulate="cpa",
                              input_reg=True, output_reg=True)),
    EngineConfig(arch="adder-tree", rows=2, cols=5, debug=True,
                 pe=MacConfig(a_width=8, b_width=8, a_signed=False, b_signed=True,
                              acc_width=24, mult="booth4", tree="wallace",
                              accumulate="carry_save", input_reg=True)),
    EngineConfig(arch="adder-tree", rows=1, cols=1, debug=True,
                 pe=MacConfig(a_width=4, b_width=6, acc_width=12, mult="array")),
    # the FP PE: bf16 x bf16 products reduced with the fp32 accumulator in one FP tree
    # (golden.fp.fdot: aligned to the largest term, one bit-matrix sum, one rounding)
    EngineConfig(arch="cube", rows=2, cols=2, depth=3, debug=True,
                 pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32")),
    EngineConfig(arch="adder-tree", rows=2, cols=4, debug=True,
                 pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32")),
]
# the mixed-precision PEs (issue 11): the group PE, int4 weights x fp16 activations in groups of 4
# (a tile's last beat closes its last group), and unsigned int4 x int8
ENGINE_GRID += [
    EngineConfig(arch="systolic-os", rows=4, cols=4, debug=True, pe=MixPeConfig(group=4)),
    EngineConfig(arch="matrix2d", rows=2, cols=3, debug=True,
                 pe=MixPeConfig(w_signed=False, act="int8", group=3)),
    # the SIMD MAC, its mode tied by the engine: 2 x int4 x int8 per PE and beat (packed
    # words in A and B), and 4 x uint4 x int4 at W = 4
    EngineConfig(arch="systolic-os", rows=4, cols=4, debug=True,
                 pe=SimdMacConfig(engine_mode=1)),
    EngineConfig(arch="matrix2d", rows=2, cols=2, debug=True,
                 pe=SimdMacConfig(width=4, a_signed=False, acc_width=12, engine_mode=2)),
]
# the bit-serial PE (one weight and one fp16/bf16 activation per beat, dtype tied): each
# beat held for the digit schedule its C weights share (zero positions skipped:
# data-dependent cycles, which every cycle's tready/tvalid check), and the fixed schedule of
# the ea datatype (5 positions)
ENGINE_GRID += [
    EngineConfig(arch="systolic-os", rows=4, cols=4, debug=True,
                 pe=BitSerialConfig(lanes=1, group=4, engine_dtype="fp4")),
    EngineConfig(arch="matrix2d", rows=2, cols=3, debug=True,
                 pe=BitSerialConfig(lanes=1, group=2, skip_zeros=False, engine_dtype="ea")),
]
# the LUT PE (one column: K activations and K whole weights per beat, its n bit-planes in
# the n cycles after it): int4 x int8 in groups of K = 4, and unsigned 3-bit weights x
# unsigned 6-bit activations in groups of 2
ENGINE_GRID += [
    EngineConfig(arch="systolic-os", rows=4, cols=4, debug=True, pe=LutPeConfig(cols=1)),
    EngineConfig(arch="matrix2d", rows=2, cols=3, debug=True,
                 pe=LutPeConfig(cols=1, k=2, w_width=3, w_signed=False, a_width=6,
                                a_signed=False, acc_width=16)),
]
SMALL = [c for c in ENGINE_GRID if c.rows * c.cols * c.terms <= 12]


def _id(config):
    return config.name


@pytest.mark.parametrize("config", ENGINE_GRID, ids=_id)
def test_engine(config, build_root):
    simulate(config, "verilator", build_root, SEED)


#: Icarus (quick stimulus): the largest small integer instance of each architecture
ICARUS = [max((c for c in SMALL if c.pe.kind == "mac" and c.arch == arch),
              key=lambda c: c.rows * c.cols) for arch in dict.fromkeys(c.arch for c in SMALL)]


@pytest.mark.parametrize("config", ICARUS, ids=_id)
def test_engine_icarus(config, build_root):
    simulate(config, "icarus", build_root, SEED)


def _caught(config, build_root):
    """The planted bug's design must fail the unchanged testbench with a MISMATCH."""
    expect_mismatch(config, build_root, SEED)


def test_engine_planted_bug_is_caught(build_root, monkeypatch):
    """A one-PE timing bug (PE(1, 2) reads its flags one cycle late) in the *generated RTL*
    must fail the testbench, whose cycle model and matrix-product check are unchanged."""
    from hdl.engines.systolic_os import SystolicOS
    true_delay = SystolicOS.delay
    monkeypatch.setattr(SystolicOS, "delay", lambda self, i, j: true_delay(self, i, j)
                        + (1 if (i, j) == (1, 2) else 0))
    config = EngineConfig(rows=3, cols=4, debug=True, pe=MacConfig(**BEHAVIOURAL),
                          name="os3x4_planted_delay")
    _caught(config, build_root)


def test_engine_cube_planted_bug_is_caught(build_root, monkeypatch):
    """The cube: PE(1, 2) gets lanes d = 0 and 1 of its A block swapped in the *generated
    RTL* (a wiring slip in one PE's tree inputs); the unchanged testbench must fail."""
    from amaranth.hdl import Cat
    from hdl.engines.cube import Cube
    true_feed = Cube.feed

    def feed(self, m, a_lanes, b_lanes, advance):
        A, B = true_feed(self, m, a_lanes, b_lanes, advance)
        w = self.a_shape.width
        x = A[1][2]
        A[1][2] = Cat(x[w:2 * w], x[:w], x[2 * w:])
        return A, B
    monkeypatch.setattr(Cube, "feed", feed)
    config = EngineConfig(arch="cube", rows=2, cols=3, depth=2, debug=True,
                          pe=MacConfig(**BEHAVIOURAL), name="cube2x3x2_planted_lanes")
    _caught(config, build_root)


def test_engine_tree_planted_bug_is_caught(build_root, monkeypatch):
    """The adder tree: its result rows enter the output FIFO one cycle late (the units'
    latency taken as L + 1) in the *generated RTL*; the unchanged testbench must fail."""
    from hdl.engines.adder_tree import AdderTree
    monkeypatch.setattr(AdderTree, "psum_delay", property(lambda self: self.pe_latency + 1))
    config = EngineConfig(arch="adder-tree", rows=3, cols=4, debug=True,
                          pe=MacConfig(**BEHAVIOURAL), name="tree3x4_planted_latency")
    _caught(config, build_root)


def test_engine_ws_planted_bug_is_caught(build_root, monkeypatch):
    """The weight-stationary engine: PE(1, 2) reads its flags (valid = clear/enable, and the
    weight-bank select) one cycle late in the *generated RTL*; the unchanged testbench must
    fail."""
    from hdl.engines.systolic_ws import SystolicWS
    true_delay = SystolicWS.delay
    monkeypatch.setattr(SystolicWS, "delay", lambda self, k, j: true_delay(self, k, j)
                        + (1 if (k, j) == (1, 2) else 0))
    config = EngineConfig(arch="systolic-ws", rows=3, cols=4, debug=True,
                          pe=MacConfig(**BEHAVIOURAL), name="ws3x4_planted_delay")
    _caught(config, build_root)


#: (the tiling is what is tested: behavioural PEs, quick to build)
TREE_GEMM = [EngineConfig(arch="cube", rows=2, cols=2, depth=3, pe=MacConfig(**BEHAVIOURAL)),
             EngineConfig(arch="adder-tree", rows=2, cols=3, pe=MacConfig(**BEHAVIOURAL))]


@pytest.mark.parametrize("config", TREE_GEMM, ids=_id)
def test_tree_engine_run_gemm(config, build_root):
    """``run_gemm`` on the tree-reducing engines: M, K, N not multiples of the array (nor of
    D), the product exact against numpy and the cycle count equal to the cycle model's
    ``stream_cycles`` for the plan's back-to-back tiles."""
    import numpy as np
    from tpegen import api, gemm, run_gemm
    from tpegen.registry import model
    from testbenches.conftest import require
    require("verilator")
    design = api.generate(config, build_root / "gemm" / config.name)
    rng = np.random.default_rng(SEED)
    eng = model(config)
    for M, K, N in ((7, 11, 5), (3, 2, 1), (1, 13, 3)):
        A = rng.integers(-128, 128, (M, K))
        B = rng.integers(-128, 128, (K, N))
        C, cycles = run_gemm(design, A, B)
        assert np.array_equal(C, A @ B), (M, K, N)
        p = gemm.plan(design, M, K, N)
        exact = (config.arch == "adder-tree"
                 or eng.beats(p.stream_length) >= config.rows + 1)
        if exact:
            assert cycles == eng.stream_cycles(p.tiles, p.stream_length), (M, K, N, cycles)
        else:
            assert cycles >= eng.tile_cycles(p.stream_length), (M, K, N, cycles)


#: the FP tree PE through the tiling driver (bf16 x bf16 + fp32)
TREE_GEMM_BF16 = [EngineConfig(arch="cube", rows=2, cols=2, depth=3,
                               pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32")),
                  EngineConfig(arch="adder-tree", rows=2, cols=4,
                               pe=FMacConfig(fmt_in="bf16", fmt_acc="fp32"))]


@pytest.mark.parametrize("config", TREE_GEMM_BF16, ids=_id)
def test_tree_engine_run_gemm_bf16(config, build_root):
    """``run_gemm`` with the FP tree PE: floats rounded to bf16, C decoded from fp32, equal
    bit for bit to the reduction's golden model folded over K the way the engine does it
    (groups of D into the accumulator: the cube; one dot product of K per unit, partial
    results of K chunks summed in float64: the tree), and close to the float64 product."""
    import ml_dtypes
    import numpy as np
    from testbenches.engine_tb import _products
    from tpegen import api, run_gemm
    from testbenches.conftest import require
    require("verilator")
    design = api.generate(config, build_root / "gemm" / config.name)
    rng = np.random.default_rng(SEED)
    bits = lambda x: x.astype(ml_dtypes.bfloat16).view(np.uint16).astype(np.int64)
    fp32 = lambda words: np.asarray(words, np.int64).astype(np.uint32).view(np.float32)
    # the cube holds all of K in its accumulators; the tree reduces K in chunks of its K
    chunk = config.cols if config.arch == "adder-tree" else None
    for M, K, N in ((5, 7, 3), (3, 4, 5), (1, 1, 1)):
        A, B = rng.normal(size=(M, K)), rng.normal(size=(K, N))
        C, _ = run_gemm(design, A, B)
        Ab, Bb = bits(A), bits(B)
        step = chunk or K
        want = np.zeros((M, N))
        for k in range(0, K, step):
            want += fp32(_products(config, [(Ab[:, k:k + step], Bb[k:k + step])])[0])
        np.testing.assert_array_equal(C, want.astype(np.float32), err_msg=str((M, K, N)))
        exact = Ab.astype(np.uint16).view(ml_dtypes.bfloat16).astype(np.float64) @ \
            Bb.astype(np.uint16).view(ml_dtypes.bfloat16).astype(np.float64)
        np.testing.assert_allclose(C, exact, rtol=1e-5, atol=1e-6)


def test_engine_bitserial_short_schedule_is_caught(build_root, monkeypatch):
    """The bit-serial PE's shared digit schedule one cycle short in the *generated RTL* (the
    engine accepts the next beat while the PEs still work on this one) must fail the
    unchanged testbench: the golden model predicts every beat's cycles."""
    from amaranth.hdl import Mux

    from hdl.pe.bitserial import BitSerialPe
    true_cycles = BitSerialPe.beat_cycles

    def short(self, m, codes):
        n = true_cycles(self, m, codes)
        return Mux(n > 1, n - 1, n)
    monkeypatch.setattr(BitSerialPe, "beat_cycles", short)
    config = EngineConfig(rows=2, cols=2, debug=True,
                          pe=BitSerialConfig(lanes=1, group=4, skip_zeros=False),
                          name="os2x2_bitserial_planted_schedule")
    _caught(config, build_root)


def test_engine_lut_planted_bug_is_caught(build_root, monkeypatch):
    """The LUT PE's mirror slip (:func:`testbenches.test_lut._planted_mirror`: an upper-half
    index read without complementing) in an engine's word PEs must fail the unchanged
    testbench (the cycle model's PE state, the numpy product)."""
    from testbenches.test_lut import _planted_mirror
    _planted_mirror(monkeypatch)
    config = EngineConfig(rows=2, cols=2, debug=True,
                          pe=LutPeConfig(cols=1, k=2, w_width=3, acc_width=16),
                          name="os2x2_lut_planted_mirror")
    _caught(config, build_root)
