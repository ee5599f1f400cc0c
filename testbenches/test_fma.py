"""The FMA generator against its golden models, cycle by cycle, in cocotb (``FMA_GRID``):
every multiplicand pair of the 8- and 4-bit formats with a set of addends (zeros, subnormals,
+-max, inf, NaN; Icarus: one addend per pair, in turn), the directed corner list, and
100,000 random cycles (Icarus: 5,000) with a quarter of the addends cancelling the product.
The FP MAC (``FMAC_GRID``) likewise, with random ``clear``/``enable``, against its cycle
model; and the exact FP multiplier (the FMA datapath with a ``-0`` addend, ``FPMUL_GRID``).

The grids include per-operand formats (``a`` in ``fmt_a``, ``b`` in ``fmt_b``; names
``<a>x<b>``, e.g. ``fma_e4m3fnxe5m2_fp16_d2``): the testbench draws each operand from its own
format, and the manifest gives each port its format and width."""

import json

import pytest

from testbenches.conftest import simulate
from testbenches.grid import FMA_GRID, FMAC_GRID, FPMUL_GRID, config_id
from tpegen import api

MIXED = [c for c in FMA_GRID + FMAC_GRID if c.fmt_a != c.fmt_b]

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


@pytest.mark.parametrize("config", MIXED, ids=config_id)
def test_mixed_ports_have_their_own_formats(config, tmp_path):
    """Each multiplicand port is as wide as its own format and says so in the manifest."""
    manifest = json.loads(api.generate(config, tmp_path).read_text())
    widths = {p["name"]: p["width"] for p in manifest["ports"]}
    assert (widths["a"], widths["b"]) == (config.fa.width, config.fb.width)
    assert widths["result"] == config.facc.width
    assert manifest["formats"]["a"] == config.fmt_a and manifest["formats"]["b"] == config.fmt_b
    assert manifest["formats"]["result"] == config.fmt_acc
