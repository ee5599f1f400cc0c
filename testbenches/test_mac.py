"""The integer MAC family against its golden model, cycle by cycle, in cocotb.

Verilator runs the full stimulus (exhaustive pairs for <= 8-bit operands, 100,000 random
cycles, accumulator wrap, reset); Icarus, a 4-state second simulator, runs the exhaustive and
wrap phases with 5,000 random cycles. A failure prints the first mismatch and the seed, and
writes an FST waveform.
"""

import pytest

from testbenches.conftest import simulate
from testbenches.grid import MAC_GRID, config_id

SEED = 20261124


@pytest.mark.parametrize("config", MAC_GRID, ids=config_id)
def test_mac(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)
