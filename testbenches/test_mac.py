"""The integer MAC family against its golden model, cycle by cycle, in cocotb.

Verilator runs the full stimulus (exhaustive pairs for <= 8-bit operands, 100,000 random
cycles, accumulator wrap, reset); Icarus, a 4-state second simulator, runs the exhaustive and
wrap phases with 5,000 random cycles. A failure prints the first mismatch and the seed, and
writes an FST waveform.
"""

import pytest

from testbenches.common.harness import run_design_test
from testbenches.conftest import require, simulators
from testbenches.grid import MAC_GRID, config_id
from tpegen import api

SEED = 20261124


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", simulators(metafunc.config))


@pytest.mark.parametrize("config", MAC_GRID, ids=config_id)
def test_mac(config, simulator, build_root):
    require("verilator" if simulator == "verilator" else "iverilog")
    design = api.generate(config, build_root / "mac" / config.name)
    print(f"seed {SEED}")
    result = run_design_test(design, simulator=simulator, seed=SEED,
                             quick=(simulator == "icarus"))
    print(result)
