"""The L-Mul multiplier against its golden model, cycle by cycle, in cocotb: every operand
pair of the 8- and 4-bit formats, and 100,000 random cycles (Icarus: 5,000) of the 16-bit ones,
with the corner values mixed in."""

import pytest

from testbenches.common.harness import run_design_test
from testbenches.conftest import require, simulators
from testbenches.grid import LMUL_GRID, config_id
from tpegen import api

SEED = 20261124


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", simulators(metafunc.config))


@pytest.mark.parametrize("config", LMUL_GRID, ids=config_id)
def test_lmul(config, simulator, build_root):
    require("verilator" if simulator == "verilator" else "iverilog")
    design = api.generate(config, build_root / "lmul" / config.name)
    print(f"seed {SEED}")
    print(run_design_test(design, simulator=simulator, seed=SEED,
                          quick=(simulator == "icarus")))
