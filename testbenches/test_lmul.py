"""The L-Mul multiplier against its golden model, cycle by cycle, in cocotb: every operand
pair of the 8- and 4-bit formats, and 100,000 random cycles (Icarus: 5,000) of the 16-bit ones,
with the corner values mixed in; and the L-Mul MAC against its cycle model (every pair of
e4m3fn, random bf16), with random ``clear``/``enable``."""

import pytest

from testbenches.conftest import simulate
from testbenches.grid import LMAC_GRID, LMUL_GRID, config_id

SEED = 20261124


@pytest.mark.parametrize("config", LMUL_GRID, ids=config_id)
def test_lmul(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)


@pytest.mark.parametrize("config", LMAC_GRID, ids=config_id)
def test_lmac(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)
