"""The FMA generator against its golden models, cycle by cycle, in cocotb (``FMA_GRID``):
every multiplicand pair of the 8- and 4-bit formats with a set of addends (zeros, subnormals,
+-max, inf, NaN; Icarus: one addend per pair, in turn), the directed corner list, and
100,000 random cycles (Icarus: 5,000) with a quarter of the addends cancelling the product.
The FP MAC (``FMAC_GRID``) likewise, with random ``clear``/``enable``, against its cycle
model; and the exact FP multiplier (the FMA datapath with a ``-0`` addend, ``FPMUL_GRID``).

The grids include per-operand formats (``a`` in ``fmt_a``, ``b`` in ``fmt_b``; names
``<a>x<b>``, e.g. ``fma_e4m3fnxe5m2_fp16_d2``): the testbench draws each operand from its own
format, and the manifest gives each port its format and width.

A planted bug (the generated Verilog edited so that the registered ``result`` has its last bit
flipped whenever the value it registers ends in the hex digit 5) must fail with the first
failing cycle reported: its phase, the inputs before it, expected and observed, and the seed."""

import json
import re

import pytest

from testbenches.conftest import require, simulate
from testbenches.grid import FMA_GRID, FMAC_GRID, FPMUL_GRID, config_id
from testbenches.test_harness import copy_design
from tpegen import api
from tpegen.harness import SimulationFailed, run_design_test

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


# --- a planted bug ----------------------------------------------------------------------------

def _flip_last_bit_on_5(text):
    """``result <= X ;`` -> ``result <= X ^ {0, X[3:0] == 5} ;`` (one line, as before)."""
    width = int(re.search(r"^\s*output \[(\d+):0\] result;", text, re.M).group(1)) + 1
    return re.sub(r"^(\s*result <= )(\\\S+) ;",
                  rf"\1\2  ^ {{{width - 1}'h0, \2 [3:0] == 4'h5}} ;", text, count=1, flags=re.M)


PLANTED = [c for c in FMA_GRID if c.name == "fma_e4m3fnxe5m2_fp16_d2"] + FMAC_GRID[:1]


@pytest.mark.parametrize("config", PLANTED, ids=config_id)
def test_planted_result_bug_is_caught(config, tmp_path):
    require("verilator")
    good = api.generate(config, tmp_path / "good")
    bad = copy_design(good, tmp_path / "bad")
    vfile = bad.with_suffix(".v")
    text = vfile.read_text()
    edited = _flip_last_bit_on_5(text)
    assert edited != text and edited.count("\n") == text.count("\n")
    vfile.write_text(edited)
    with pytest.raises(SimulationFailed) as failure:
        run_design_test(bad, seed=SEED, quick=True, random_cycles=2000, waves_on_failure=False)
    message = str(failure.value)
    print(message)
    found = re.search(r"MISMATCH at cycle (\d+), result \(latency (\d+)\): expected (\d+) "
                      r"\(0x[0-9a-f]+\), observed (\d+) \(0x[0-9a-f]+\) \(seed (\d+)\)", message)
    assert found, message
    cycle, latency, expected, observed, seed = map(int, found.groups())
    assert latency == json.loads(good.read_text())["latency"] and seed == SEED
    assert expected & 0xF == 5 and observed == expected ^ 1, message
    assert re.search(rf"^\s*{cycle - latency} exhaustive \{{'a': \d+", message, re.M), message
