"""The synthesis flow on real tools: yosys + OSU 0.18 um liberty + OpenSTA, and yosys +
nextpnr for ECP5 and iCE40. The figures are cross-checked against the tools' own outputs
(the mapped netlist, the liberty), so a parser that returned constants would fail."""

import json
import re

import pytest

from synth.flow import synthesize
from testbenches.conftest import require
from tpegen import api
from tpegen.config import MacConfig

INT8 = MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
                 accumulate="carry_save")
INT4 = INT8.replace(a_width=4, b_width=4, acc_width=12)


@pytest.fixture(scope="module")
def reports(build_root):
    for tool in ("yosys", "sta", "liberty", "nextpnr-ecp5", "nextpnr-ice40"):
        require(tool)
    out = {}
    for config, flows in ((INT8, ("asic", "ecp5", "ice40")), (INT4, ("asic",))):
        design = api.generate(config, build_root / "synth" / config.name)
        out[config.name] = synthesize(design, flows=flows, progress=print)
    return out


def test_int8_mac_report_has_area_timing_and_fpga(reports):
    report = reports[INT8.name]
    asic, ecp5, ice40 = report["asic"], report["ecp5"], report["ice40"]
    print(json.dumps({k: report[k] for k in ("asic", "ecp5", "ice40")}, indent=1))
    assert 5_000 < asic["area_um2"] < 200_000
    assert 0.3 < asic["critical_path_ns"] < 20
    assert asic["area_delay_um2_ns"] == pytest.approx(asic["area_um2"] *
                                                      asic["critical_path_ns"], rel=1e-3)
    assert ecp5["luts"] > 50 and ecp5["fmax_mhz"] > 10
    assert ice40["luts"] > 50 and ice40["fmax_mhz"] > 10
    # the report on disk is the one returned, and holds no absolute path
    text = open(report["_path"]).read()
    assert json.loads(text)["asic"] == asic
    assert not re.search(r'"/(usr|home|work|tmp|root)/', text)


def test_area_and_cells_match_the_mapped_netlist(reports, build_root):
    """Recount the cells in the mapped netlist and sum their areas from the liberty."""
    from tpegen import tools
    asic = reports[INT8.name]["asic"]
    workdir = build_root / "synth" / INT8.name / "synth" / INT8.name
    netlist = (workdir / f"{INT8.name}.netlist.v").read_text()
    lib = tools.liberty().read_text()
    areas = {m.group(1): float(m.group(2)) for m in
             re.finditer(r"cell\s*\(\s*\"?(\w+)\"?\s*\)\s*\{.*?area\s*:\s*([\d.]+)", lib, re.S)}
    instances = re.findall(r"^\s*(\w+)\s+\S+\s*\(", netlist, re.M)
    instances = [c for c in instances if c in areas]
    assert len(instances) == asic["cells"]
    assert sum(areas[c] for c in instances) == pytest.approx(asic["area_um2"], rel=1e-3)


def test_bigger_operands_cost_more(reports):
    small, big = reports[INT4.name]["asic"], reports[INT8.name]["asic"]
    assert big["area_um2"] > 2 * small["area_um2"]
    assert big["critical_path_ns"] > small["critical_path_ns"]


@pytest.fixture(scope="module")
def fp8_multiplier(build_root):
    for tool in ("yosys", "sta", "liberty", "iverilog"):
        require(tool)
    from tpegen.config import FpMulConfig
    design = api.generate(FpMulConfig(format="e4m3fn"), build_root / "synth" / "fpmul_e4m3fn")
    report = synthesize(design, flows=("power",))
    return design, report


def test_power_from_gate_level_simulation(fp8_multiplier):
    """The power flow simulates the mapped netlist (checked against the golden model every
    cycle), annotates every net, and gives a figure of the right order: above leakage, and
    below OpenSTA's propagated estimate (which overcounts, see synth/power.py)."""
    _, report = fp8_multiplier
    p = report["power"]
    print(json.dumps(p))
    assert p["checked"] == p["cycles"] == 2000
    assert p["nets_annotated"] == report["asic"]["cells"]
    assert p["leakage_mw"] < p["power_mw"] < p["opensta_mw"]
    assert p["energy_pj_per_op"] == pytest.approx(p["power_mw"] * p["period_ns"], rel=1e-3)
    assert 0.2 < p["mean_input_activity"] < 0.6


def test_power_flow_catches_a_wrong_netlist(fp8_multiplier):
    """A netlist that disagrees with the golden model fails the power flow's check."""
    from synth.power import power
    design, report = fp8_multiplier
    netlist = design.parent / "synth" / report["design"] / f"{report['design']}.netlist.v"
    good = netlist.read_text()
    bad, count = re.subn(r"^(\s*)AND2X2(\s)", r"\1OR2X2\2", good, count=1, flags=re.M)
    assert count == 1
    netlist.write_text(bad)
    try:
        with pytest.raises(RuntimeError, match="gate-level netlist result"):
            power(design, cycles=500)
    finally:
        netlist.write_text(good)
