"""The FMA generator against its golden models, cycle by cycle, in cocotb (``FMA_GRID``):
every multiplicand pair of the 8- and 4-bit formats with a set of addends (zeros, subnormals,
+-max, inf, NaN; Icarus: one addend per pair, in turn), the directed corner list, and
100,000 random cycles (Icarus: 5,000) with a quarter of the addends cancelling the product. The FP MAC (``FMAC_GRID``) likewise, with
random ``clear``/``enable``, against its cycle model; and the exact FP multiplier (the FMA
datapath with a ``-0`` addend, ``FPMUL_GRID``)."""

import pytest

from testbenches.conftest import simulate
from testbenches.grid import FMA_GRID, FMAC_GRID, FPMUL_GRID, config_id

SEED = 20261124


@pytest.mark.parametrize("config", FMA_GRID, ids=config_id)
def test_fma(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)


@pytest.mark.parametrize("config", FMAC_GRID, ids=config_id)
def test_fmac(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)


@pytest.mark.parametrize("config", FPMUL_GRID, ids=config_id)
def test_fpmul(config, simulator, build_root):
    simulate(config, simulator, build_root, SEED)
