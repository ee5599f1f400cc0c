"""The SIMD multi-precision MAC (:mod:`hdl.pe.simd`): its golden model against independent
references, the RTL against the golden model cycle by cycle in cocotb (every operand pair of
every mode, every mode switch mid-stream; :mod:`testbenches.simd_tb`), a formal proof
against a spec of separate multipliers for small widths, and planted bugs caught by both."""

import numpy as np
import pytest

from testbenches.conftest import expect_mismatch, require, simulate
from tpegen.config import SimdMacConfig

SEED = 20261202

SIMD_GRID = [
    SimdMacConfig(),                                               # W=8, fused, array, Dadda
    SimdMacConfig(datapath="separate"),                            # the baseline
    SimdMacConfig(mult="booth4", tree="wallace", final_adder="kogge_stone"),
    SimdMacConfig(mult="behavioural", datapath="separate"),
    SimdMacConfig(width=4, a_signed=False, acc_width=12),
    SimdMacConfig(width=6, a_signed=False, b_signed=False, acc_width=14, final_adder="ripple"),
    SimdMacConfig(width=8, a_signed=True, b_signed=False, acc_width=18),
]


def _id(config):
    return config.name


# --- the golden model ------------------------------------------------------------------------

def _reference(cfg, a, b, mode):
    """Independent of golden.pe.simd: the lanes through numpy's own two's complement views
    (W/2 = 4 and W = 8 bits: ml_dtypes.int4 and numpy int8) and exact Python integers."""
    import ml_dtypes
    out = []
    for x, y, code in zip(a.tolist(), b.tolist(), mode.tolist()):
        if code == 3:
            out.append(0)
            continue
        _, _, n, wa, wb = cfg.modes()[code]

        def lane(word, i, bits, signed):
            raw = (word >> (i * bits)) & ((1 << bits) - 1)
            if not signed:
                return raw
            if bits == 8:
                return int(np.array([raw], np.uint8).view(np.int8)[0])
            if bits == 4:       # ml_dtypes' int4 from its two's complement bit pattern
                return int(ml_dtypes.int4(raw - 16 if raw >= 8 else raw))
            return raw - (1 << bits) if raw >> (bits - 1) else raw
        out.append(sum(lane(x, i, wa, cfg.a_signed) * lane(y, i, wb, cfg.b_signed)
                       for i in range(n)))
    return out


@pytest.mark.parametrize("config", [SimdMacConfig(), SimdMacConfig(a_signed=False),
                                    SimdMacConfig(width=4, b_signed=False, acc_width=12)],
                         ids=_id)
def test_golden_products_match_the_reference(config):
    from golden.pe.simd import SimdMac, SimdMacArray
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    n = 4000
    a = rng.integers(0, 1 << (2 * config.width), n)
    b = rng.integers(0, 1 << (2 * config.width), n)
    mode = rng.integers(0, 4, n)
    want = _reference(config, a, b, mode)
    scalar = SimdMac(config)
    assert [scalar.products(x, y, m) for x, y, m in zip(a.tolist(), b.tolist(),
                                                        mode.tolist())] == want
    vector = SimdMacArray(config, n)
    assert vector.products(a, b, mode).tolist() == want


def test_golden_accumulates_like_the_scalar_model():
    """The vectorized cycle model over 64 PEs equals 64 scalar models, with clear, enable and
    the accumulator's wrap (acc_width = 2W + 2)."""
    from golden.pe.simd import SimdMac, SimdMacArray
    cfg = SimdMacConfig(acc_width=18)
    rng = np.random.default_rng(SEED)
    pes = 64
    vector = SimdMacArray(cfg, pes)
    scalars = [SimdMac(cfg) for _ in range(pes)]
    for _ in range(200):
        a, b = rng.integers(0, 1 << 16, pes), rng.integers(0, 1 << 16, pes)
        mode, clear, enable = rng.integers(0, 4, pes), rng.random(pes) < .1, rng.random(pes) < .9
        got = vector.tick(a, b, mode, clear, enable)
        want = [s.tick(*v) for s, v in zip(scalars, zip(a.tolist(), b.tolist(), mode.tolist(),
                                                         clear.tolist(), enable.tolist()))]
        assert got.tolist() == want


def test_mode_sequence_holds_every_switch():
    from testbenches.simd_tb import mode_sequence
    seq = mode_sequence(repeat=1).tolist()
    assert {(x, y) for x, y in zip(seq, seq[1:])} == {(x, y) for x in range(4) for y in range(4)}


# --- the RTL in cocotb --------------------------------------------------------------------------

@pytest.mark.parametrize("config", SIMD_GRID, ids=_id)
def test_simd(config, build_root):
    simulate(config, "verilator", build_root, SEED)


def test_simd_icarus(build_root):
    simulate(SimdMacConfig(width=4, acc_width=12), "icarus", build_root, SEED)


def _planted_bricks(monkeypatch):
    """Brick 2 reads a nibbles 1 and 0 swapped in mode 1 (2 x (H x W)) in the RTL only."""
    from hdl.pe import simd
    bricks = list(simd.BRICKS)
    bricks[2] = (bricks[2][0], (0, 3), bricks[2][2])
    monkeypatch.setattr(simd, "BRICKS", tuple(bricks))


def test_simd_planted_bug_is_caught(build_root, monkeypatch):
    """A wiring slip in the fused datapath's mode 1 must fail the unchanged testbench."""
    _planted_bricks(monkeypatch)
    config = SimdMacConfig(name="simd_planted_brick")
    expect_mismatch(config, build_root, SEED, "2x(HxW)")


# --- formal ----------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [SimdMacConfig(width=4, acc_width=12),
                                    SimdMacConfig(width=4, acc_width=12, datapath="separate"),
                                    SimdMacConfig(width=4, a_signed=False, acc_width=12)],
                         ids=_id)
def test_simd_proved_against_separate_multipliers(config, build_root):
    """Every mode of the SIMD MAC equals the spec's separate multipliers (written in the
    proof), for every input sequence: yosys ``sat -tempinduct``."""
    from tpegen.formal_pe import prove_simd
    require("yosys")
    report = prove_simd(config, build_root / "formal_simd" / config.name)
    print(report)
    assert report["engine"] == "sat"


def test_simd_proof_finds_the_planted_bug(build_root, monkeypatch):
    from tpegen.formal import EquivalenceFailed
    from tpegen.formal_pe import prove_simd
    require("yosys")
    _planted_bricks(monkeypatch)
    config = SimdMacConfig(width=4, acc_width=12, name="simd4_planted_brick")
    with pytest.raises(EquivalenceFailed):
        prove_simd(config, build_root / "formal_simd" / "planted")
