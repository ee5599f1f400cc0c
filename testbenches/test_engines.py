"""The tensor engines against their cycle models and against the matrix product, in cocotb
(:mod:`testbenches.engine_tb`): every output and every PE's state, every cycle, under random
bubbles, backpressure and a reset in the middle of a tile; int8 PEs of several kinds and
one bf16 x bf16 + fp32 PE, on every architecture. Verilator runs all; Icarus a small
instance of each architecture."""

import pytest

from testbenches.conftest import simulate
from tpegen.config import EngineConfig, FMacConfig, MacConfig

SEED = 20261201

INT8 = dict(a_width=8, b_width=8, a_signed=True, b_signed=True, acc_width=32)
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
SMALL = [c for c in ENGINE_GRID if c.rows * c.cols <= 8]


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


def test_engine_planted_bug_is_caught(build_root, monkeypatch):
    """A one-PE timing bug (PE(1, 2) reads its flags one cycle late) in the *generated RTL*
    must fail the testbench, whose cycle model and matrix-product check are unchanged."""
    from tpegen.harness import SimulationFailed
    from hdl.engines.systolic_os import SystolicOS
    true_delay = SystolicOS.delay
    monkeypatch.setattr(SystolicOS, "delay", lambda self, i, j: true_delay(self, i, j)
                        + (1 if (i, j) == (1, 2) else 0))
    config = EngineConfig(rows=3, cols=4, debug=True, pe=MacConfig(**INT8),
                          name="os3x4_planted_delay")
    with pytest.raises(SimulationFailed) as failure:
        simulate(config, "verilator", build_root, SEED)
    message = str(failure.value)
    print(message)
    assert "MISMATCH" in message and "seed" in message


def test_engine_ws_planted_bug_is_caught(build_root, monkeypatch):
    """The weight-stationary engine: PE(1, 2) reads its flags (valid = clear/enable, and the
    weight-bank select) one cycle late in the *generated RTL*; the unchanged testbench must
    fail."""
    from tpegen.harness import SimulationFailed
    from hdl.engines.systolic_ws import SystolicWS
    true_delay = SystolicWS.delay
    monkeypatch.setattr(SystolicWS, "delay", lambda self, k, j: true_delay(self, k, j)
                        + (1 if (k, j) == (1, 2) else 0))
    config = EngineConfig(arch="systolic-ws", rows=3, cols=4, debug=True,
                          pe=MacConfig(**INT8), name="ws3x4_planted_delay")
    with pytest.raises(SimulationFailed) as failure:
        simulate(config, "verilator", build_root, SEED)
    message = str(failure.value)
    print(message)
    assert "MISMATCH" in message and "seed" in message
