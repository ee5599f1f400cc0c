"""The configuration grid the test suite runs: 4-, 8- and 16-bit operands, mixed signedness,
every multiplier, both trees (and 4:2 compressors), both accumulations, every final adder, and
the optional registers."""

from tpegen.config import (BitSerialConfig, FMacConfig, FmaConfig, FpMulConfig, LMacConfig,
                           LMulConfig, LutPeConfig, MacConfig, MixPeConfig, SimdMacConfig)

MAC_GRID = [
    MacConfig(a_width=4, b_width=4, acc_width=12, mult="array", tree="wallace",
              accumulate="cpa"),
    MacConfig(a_width=4, b_width=4, a_signed=False, acc_width=10, mult="booth4", tree="dadda",
              accumulate="carry_save", final_adder="ripple"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="behavioural", accumulate="cpa"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="array", tree="wallace",
              accumulate="cpa"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="array", tree="dadda",
              accumulate="carry_save"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="wallace",
              accumulate="carry_save", final_adder="kogge_stone"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
              accumulate="cpa", final_adder="sklansky"),
    MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
              accumulate="carry_save"),
    MacConfig(a_width=8, b_width=8, a_signed=False, b_signed=False, acc_width=24,
              mult="booth4", tree="dadda", accumulate="carry_save", input_reg=True,
              output_reg=True),
    MacConfig(a_width=8, b_width=8, b_signed=False, acc_width=20, mult="array",
              tree="wallace", compressor="4:2", accumulate="carry_save", output_reg=True),
    MacConfig(a_width=8, b_width=8, a_signed=False, acc_width=16, mult="behavioural",
              tree="wallace", accumulate="carry_save", input_reg=True),
    MacConfig(a_width=8, b_width=4, b_signed=False, acc_width=16, mult="booth4",
              tree="wallace", compressor="4:2", accumulate="cpa", final_adder="ripple"),
    MacConfig(a_width=16, b_width=16, acc_width=40, mult="booth4", tree="dadda",
              accumulate="carry_save"),
    MacConfig(a_width=16, b_width=16, a_signed=False, acc_width=40, mult="array",
              tree="wallace", accumulate="cpa", final_adder="kogge_stone"),
    MacConfig(a_width=16, b_width=16, acc_width=40, mult="behavioural", accumulate="cpa",
              input_reg=True, output_reg=True),
]

#: Configurations small enough for the formal proofs (operands of at most 8 bits).
FORMAL_GRID = [c for c in MAC_GRID if c.a_width <= 8 and c.b_width <= 8]


#: L-Mul formats: the 8- and 4-bit ones exhaustively, the 16-bit ones at random.
LMUL_GRID = [LMulConfig(format=f) for f in ("e4m3fn", "e5m2", "e2m1fn", "bf16", "fp16")]


#: FMA configurations: 8-bit inputs exhaustively (every pair, each with a set of addends), the
#: 16-bit ones at random; mixed formats, both roundings, flushing, every depth, and both
#: normalizations. Per-operand formats (names ``<a>x<b>``): the FP8 GEMM mix e4m3fn x e5m2
#: (exact and approximate, exhaustive), operands of different widths exhaustively
#: (e5m2 x e2m1fn) and at random (bf16 x e4m3fn).
FMA_GRID = [
    FmaConfig(fmt_in="e4m3fn", fmt_acc="fp16", depth=2),
    FmaConfig(fmt_in="e5m2", fmt_acc="e5m2", rounding="rtz", subnormals=False, depth=1),
    FmaConfig(fmt_in="e4m3fn", fmt_acc="fp16", depth=3, normalize="approx", window=8,
              granularity=4, guard=2, extension=0),
    FmaConfig(fmt_in="e2m1fn", fmt_acc="bf16", depth=1),
    FmaConfig(fmt_in="bf16", fmt_acc="fp32", depth=4),
    FmaConfig(fmt_in="bf16", fmt_acc="fp32", depth=2, normalize="approx", window=16,
              granularity=4, guard=3),
    FmaConfig(fmt_in="fp16", fmt_acc="fp16", depth=3),
    FmaConfig(fmt_in="bf16", fmt_acc="bf16", rounding="rtz", subnormals=False, depth=2,
              normalize="approx", window=12, granularity=8, guard=0, extension=1),
    # per-operand formats
    FmaConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16"),
    FmaConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="bf16", rounding="rtz", depth=3,
              normalize="approx", window=10, granularity=2, guard=1, extension=2),
    FmaConfig(fmt_a="e5m2", fmt_b="e2m1fn", fmt_acc="fp16", depth=1),
    FmaConfig(fmt_a="bf16", fmt_b="e4m3fn", fmt_acc="fp32", subnormals=False, depth=4),
]


#: FP MAC configurations (the FMA datapath in an accumulation loop).
FMAC_GRID = [
    FMacConfig(fmt_in="e4m3fn", fmt_acc="fp16"),
    FMacConfig(fmt_in="bf16", fmt_acc="fp32"),
    FMacConfig(fmt_in="bf16", fmt_acc="fp32", normalize="approx", window=30, granularity=4,
               guard=3, extension=2),
    # the unnormalized accumulator: exact normalization only at the output
    FMacConfig(fmt_in="e4m3fn", fmt_acc="fp16", normalize="approx", granularity=8, guard=2,
               accumulator="unnormalized"),
    FMacConfig(fmt_in="e5m2", fmt_acc="bf16", rounding="rtz", subnormals=False,
               accumulator="unnormalized"),
    FMacConfig(fmt_in="bf16", fmt_acc="fp32", subnormals=False, normalize="approx",
               window=16, granularity=16, extension=0, accumulator="unnormalized"),
    # the whole window with extension 0: kept bits reach below window position 0
    FMacConfig(fmt_in="bf16", fmt_acc="fp32", normalize="approx", granularity=8,
               extension=0, accumulator="unnormalized"),
    # per-operand formats: e4m3fn x e5m2 (every pair), rounded and unnormalized
    FMacConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp32"),
    FMacConfig(fmt_a="e4m3fn", fmt_b="e5m2", fmt_acc="fp16", normalize="approx", window=16,
               granularity=4, guard=1, extension=0, accumulator="unnormalized"),
]


#: The exact FP multiplier (the L-Mul baseline) and the L-Mul MAC.
FPMUL_GRID = [FpMulConfig(format="e4m3fn"), FpMulConfig(format="bf16", subnormals=False)]
LMAC_GRID = [LMacConfig(fmt_in="e4m3fn", fmt_acc="fp16"), LMacConfig(fmt_in="bf16",
                                                                      fmt_acc="fp32")]

#: Every floating-point configuration.
FP_GRID = LMUL_GRID + FMA_GRID + FMAC_GRID + FPMUL_GRID + LMAC_GRID

#: The mixed-precision PEs (issue 11), both datapaths of each (testbenches/test_simd.py,
#: test_mixpe.py, test_lut.py, test_bitserial.py have the simulation grids).
PE_GRID = [SimdMacConfig(), SimdMacConfig(datapath="separate"),
           SimdMacConfig(width=4, a_signed=False, acc_width=12, mult="booth4"),
           MixPeConfig(), MixPeConfig(w_signed=False, act="int8"),
           MixPeConfig(w_width=8, act="bf16", final_adder="kogge_stone"),
           MixPeConfig(datapath="dequant"), MixPeConfig(datapath="dequant", w_signed=False,
                                                         act="int8"),
           LutPeConfig(), LutPeConfig(datapath="mac", w_signed=False, k=3),
           BitSerialConfig(), BitSerialConfig(skip_zeros=False, act="bf16"),
           BitSerialConfig(datapath="parallel")]


def config_id(config):
    return config.name
