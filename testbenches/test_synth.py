"""The synthesis flow on real tools: yosys + OSU 0.18 um liberty + OpenSTA, and yosys +
nextpnr for ECP5 and iCE40. The figures are cross-checked against the tools' own outputs
(the mapped netlist, the liberty), so a parser that returned constants would fail."""

import json
import re

import numpy as np
import pytest

from synth.flow import ECP5_PARTS, ICE40_PARTS, synthesize
from testbenches.conftest import require
from tpegen import api
from tpegen.config import MacConfig, ParameterError

INT8 = MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
                 accumulate="carry_save")
INT4 = INT8.replace(a_width=4, b_width=4, acc_width=12)

#: The module's fixtures synthesize into fixed folders, and pytest-xdist may run a module
#: fixture on both workers (a stop's CI once read an ``sta.log`` another worker was
#: writing): ``synthesize`` holds a lock on its folder (``tpegen.tools.exclusive``), so the
#: two take turns.


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
    # default parts, utilization from nextpnr
    assert (ecp5["part"], ice40["part"]) == ("LFE5U-25F", "iCE40HX8K")
    for r in (ecp5, ice40):
        assert r["pnr"] == "routed" and r["utilization_source"] == "nextpnr" and r["fits"]
        assert {"luts", "ffs", "dsps", "bram", "io"} <= set(r["utilization"])
        for e in r["utilization"].values():
            assert e["used"] <= e["available"]
            if e["available"]:
                assert e["percent"] == pytest.approx(100 * e["used"] / e["available"], abs=0.01)
    # the int8 MAC's registers: 8 + 8 operand bits are not registered, S and C are (2 x 32)
    assert ecp5["utilization"]["ffs"]["used"] == ice40["utilization"]["ffs"]["used"] == 64
    assert ecp5["utilization"]["luts"]["used"] >= ecp5["luts"]   # + carry-chain halves
    ports = json.loads(open(report["_path"].replace(".report.json", ".json")).read())["ports"]
    assert ecp5["utilization"]["io"]["used"] == sum(p["width"] for p in ports)
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


def test_fpga_part_is_an_option(build_root):
    """The same int8 MAC on LFE5U-25F and -85F: the same cells used, the capacity nextpnr
    reports for each part (which is the table the yosys estimate uses)."""
    for tool in ("yosys", "nextpnr-ecp5"):
        require(tool)
    out = build_root / "synth" / "parts"
    design = api.generate(INT8, out)
    got = {}
    for key in ("25k", "85k"):
        r = synthesize(design, flows=("ecp5",), ecp5_part=key, workdir=out / key,
                       report_path=out / f"{key}.report.json")["ecp5"]
        print(key, json.dumps(r["utilization"]))
        assert r["part"] == ECP5_PARTS[key].name and r["fits"] and r["fmax_mhz"] > 10
        assert json.loads((out / f"{key}.report.json").read_text())["ecp5"]["part"] == r["part"]
        table = ECP5_PARTS[key]
        assert {k: e["available"] for k, e in r["utilization"].items()} == {
            "luts": table.luts, "ffs": table.ffs, "dsps": table.dsps, "bram": table.bram,
            "io": table.io}
        got[key] = r["utilization"]
    assert {k: e["used"] for k, e in got["25k"].items()} == \
        {k: e["used"] for k, e in got["85k"].items()}
    assert got["85k"]["luts"]["percent"] < got["25k"]["luts"]["percent"]


def test_design_too_big_for_the_part(build_root):
    """On an iCE40-HX1K (TQ144: 96 I/O): a 32-bit MAC's logic does not fit, so nextpnr fails
    for size, and the report says so, with yosys's estimate; the int8 MAC's logic fits but its
    116 port bits do not, so it is placed and routed out of context (four pins, through the
    flow's shift-register wrapper) and still marked as not fitting; without P&R the estimate
    alone is reported."""
    for tool in ("yosys", "nextpnr-ice40"):
        require(tool)
    out = build_root / "synth" / "too_big"
    big = api.generate(MacConfig(a_width=32, b_width=32, acc_width=64), out / "mac32")
    r = synthesize(big, flows=("ice40",), ice40_part="hx1k", workdir=out / "pnr32",
                   report_path=out / "pnr32.report.json")["ice40"]
    assert r["part"] == "iCE40HX1K" and r["pnr"] == "does not fit" and not r["fits"]
    assert r["utilization_source"] == "yosys" and r["fmax_mhz"] is None
    assert r["utilization"]["luts"]["used"] > r["utilization"]["luts"]["available"]
    assert "ERROR" in r["pnr_error"]
    design = api.generate(INT8, out)
    r = synthesize(design, flows=("ice40",), ice40_part="hx1k", workdir=out / "pnr",
                   report_path=out / "pnr.report.json")["ice40"]
    print(json.dumps({k: v for k, v in r.items() if k != "cells"}))
    assert r["pnr"] == "routed out of context" and not r["fits"] and r["fits_logic"]
    assert r["utilization"]["io"] == {"used": 116, "available": 96, "percent": 120.83}
    assert r["fmax_mhz"] > 0 and r["out_of_context"]["fits"]
    assert r["out_of_context"]["utilization"]["io"]["used"] == 4
    wrapper = (out / "pnr" / f"{INT8.name}_ooc.v").read_text()
    assert "so <= ^outs_q" in wrapper and "sh <= {sh[" in wrapper
    r = synthesize(design, flows=("ice40",), ice40_part="hx8k", pnr=False, workdir=out / "est",
                   report_path=out / "est.report.json")["ice40"]
    assert r["pnr"] == "not run" and r["utilization_source"] == "yosys" and r["fits"]
    assert r["utilization"]["luts"]["available"] == ICE40_PARTS["hx8k"].luts


@pytest.mark.parametrize("options, message", [
    (dict(ecp5_part="12k"), r"^ecp5_part='12k' is not allowed: choose one of 25k, 45k, 85k"),
    (dict(ice40_part="HX8K"), r"^ice40_part='HX8K' is not allowed: choose one of .*hx8k"),
    (dict(flows=("asic", "fpga")), r"^flow='fpga' is not allowed"),
])
def test_synth_options_checked_before_any_tool(options, message, tmp_path):
    """Checked first: the design (here missing) is not even read."""
    with pytest.raises(ParameterError, match=message) as error:
        synthesize(tmp_path / "missing", **options)
    assert "\n" not in str(error.value)


def test_power_without_a_stimulus_is_refused_before_any_tool(tmp_path, capsys):
    """``tpegen synth --flows power`` on a PE whose inputs the flow cannot drive by itself
    (the LUT PE's ``load``, role ``mode``): exit 2, one line, no synthesis folder."""
    from tpegen import cli
    from tpegen.config import LutPeConfig
    design = api.generate(LutPeConfig(), tmp_path / "lut")
    capsys.readouterr()
    assert cli.main(["synth", str(design), "--flows", "power"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no stimulus of its own for its role 'mode'" in err, err
    assert not (tmp_path / "lut" / "synth").exists()


def test_power_stimulus_follows_the_manifest_formats():
    """Integer ports: normal, a quarter of the range as sigma, clipped; the golden columns
    hold natural values, the stimulus their bit patterns. Float ports: bit patterns."""
    import numpy as np
    from synth.power import _inputs
    manifest = {"ports": [
        {"name": "clk", "direction": "input", "width": 1, "role": "clk"},
        {"name": "a", "direction": "input", "width": 8, "role": "a"},
        {"name": "b", "direction": "input", "width": 8, "role": "b"},
        {"name": "c", "direction": "input", "width": 16, "role": "c"},
        {"name": "clear", "direction": "input", "width": 1, "role": "clear"},
        {"name": "enable", "direction": "input", "width": 1, "role": "enable"}],
        "formats": {"a": "int8", "b": "uint8", "c": "bf16"}}
    golden, bits = _inputs(manifest, np.random.default_rng(1), 4000, "normal")
    a, b = np.array(golden["a"]), np.array(golden["b"])
    assert a.min() >= -128 and a.max() <= 127 and 28 < a.std() < 36 and a.min() < 0
    assert b.min() >= 0 and b.max() <= 255 and b.mean() > 30
    assert bits["a"] == [v & 0xFF for v in golden["a"]] and bits["b"] == golden["b"]
    assert golden["c"] == bits["c"] and max(bits["c"]) < 1 << 16
    assert golden["clear"][:17] == [1] + [0] * 15 + [1] and set(golden["enable"]) == {1}


@pytest.fixture(scope="module", params=["fpmul_e4m3fn", "int8_mac"])
def power_design(request, build_root):
    for tool in ("yosys", "sta", "liberty", "iverilog"):
        require(tool)
    from tpegen.config import FpMulConfig
    config = FpMulConfig(format="e4m3fn") if request.param == "fpmul_e4m3fn" else INT8
    design = api.generate(config, build_root / "synth" / "power" / request.param)
    report = synthesize(design, flows=("power",))
    return design, report


def test_power_from_gate_level_simulation(power_design):
    """The power flow simulates the mapped netlist (checked against the golden model every
    cycle), annotates every net, and gives a figure of the right order: above leakage, and
    below OpenSTA's propagated estimate (which overcounts, see synth/power.py). The FP
    multiplier is checked from the first result (one pipeline edge); the integer MAC, a
    cycle model, from the first sample after reset."""
    _, report = power_design
    p = report["power"]
    print(json.dumps(p))
    assert p["cycles"] == 2000 and p["checked"] >= p["cycles"]
    assert p["nets_annotated"] == report["asic"]["cells"]
    assert 0 < p["leakage_mw"] < p["power_mw"] < p["opensta_mw"]
    assert p["energy_pj_per_op"] == pytest.approx(p["power_mw"] * p["period_ns"], rel=1e-3)
    assert 0.2 < p["mean_input_activity"] < 0.6


def test_power_flow_catches_a_wrong_netlist(power_design):
    """A netlist that disagrees with the golden model fails the power flow's check."""
    from synth.power import power
    design, report = power_design
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


def test_power_with_given_columns_on_the_simd_mac(build_root):
    """``power(columns=...)``: the SIMD MAC driven with given words and modes (its ``mode``
    input has no stream of the flow's own), checked against the golden model every cycle,
    in its own folder; columns that miss a role are refused before any tool runs."""
    from synth.power import power
    from tpegen.config import SimdMacConfig
    for tool in ("yosys", "sta", "liberty", "iverilog"):
        require(tool)
    config = SimdMacConfig(width=4, acc_width=12)
    design = api.generate(config, build_root / "synth" / "power" / "simd4")
    synthesize(design, flows=("asic",))
    rng = np.random.default_rng(3)
    n = 400
    cols = {"a": rng.integers(0, 256, n).tolist(), "b": rng.integers(0, 256, n).tolist(),
            "mode": rng.integers(0, 4, n).tolist(), "clear": [int(t % 16 == 0) for t in range(n)],
            "enable": [1] * n}
    p = power(design, cycles=n, columns=cols, stream="mixed")
    assert p["checked"] >= n and p["power_mw"] > p["leakage_mw"] > 0
    assert (design.parent / "synth" / config.name / "power_mixed" / "results.txt").exists()
    with pytest.raises(ValueError, match="do not match the design's input roles"):
        power(design, cycles=n, columns={k: v for k, v in cols.items() if k != "mode"},
              stream="x")


def test_synth_and_power_of_the_group_pe(build_root, capsys):
    """``tpegen synth --flows power`` on the MixPE group PE (int8 activations): its scale,
    zero point and ``last`` get the flow's own group stimulus, the netlist matches the golden
    model every cycle; registers yosys finds constant leave no concatenated ``assign`` that
    OpenSTA cannot read (``write_verilog -simple-lhs``)."""
    from tpegen import cli
    from tpegen.config import MixPeConfig
    for tool in ("yosys", "sta", "liberty", "iverilog"):
        require(tool)
    config = MixPeConfig(act="int8", w_signed=False, group=4)
    design = api.generate(config, build_root / "synth" / "mixpe" / config.name)
    capsys.readouterr()
    assert cli.main(["synth", str(design), "--flows", "power", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    report = report[0] if isinstance(report, list) else report
    assert report["asic"]["area_um2"] > 0 and report["asic"]["critical_path_ns"] > 0
    assert report["power"]["checked"] >= 2000 and report["power"]["power_mw"] > 0
    netlist = (design.parent / "synth" / config.name / f"{config.name}.netlist.v").read_text()
    assert not re.search(r"assign\s*\{", netlist)


# --- engines: every Verilog file of the manifest, hierarchical synthesis, DSPs -------------

ENGINE_PE = MacConfig(a_width=8, b_width=8, acc_width=32, mult="behavioural",
                      accumulate="carry_save")


@pytest.fixture(scope="module")
def engine_report(build_root):
    for tool in ("yosys", "sta", "liberty", "nextpnr-ecp5"):
        require(tool)
    from tpegen.config import EngineConfig
    config = EngineConfig(arch="systolic-os", rows=2, cols=2, pe=ENGINE_PE)
    design = api.generate(config, build_root / "synth" / "engine" / config.name)
    report = synthesize(design, flows=("asic", "ecp5"), hier=True, hier_check=True,
                        ecp5_part="45k", progress=print)
    return design, report


def test_engine_hierarchical_and_flat_agree(engine_report):
    """The 2x2 engine (its top and its PE cell, two Verilog files) synthesizes both ways; the
    hierarchical area is the top's plus 4 PEs', and agrees with flat within 3 %."""
    design, report = engine_report
    a = report["asic"]
    print(json.dumps({k: a[k] for k in ("method", "hier_vs_flat", "pe", "top", "flat")},
                     indent=1))
    assert a["method"] == "hier" and a["instances"] == 4
    assert a["area_um2"] == pytest.approx(a["top"]["area_um2"] + 4 * a["pe"]["area_um2"],
                                          abs=0.2)
    assert abs(a["hier_vs_flat"]["area"]) < 0.03
    assert abs(a["hier_vs_flat"]["critical_path"]) < 0.10
    flat = a["flat"]
    assert a["hier_vs_flat"]["area"] == pytest.approx(
        (a["area_um2"] - flat["area_um2"]) / flat["area_um2"], abs=1e-3)
    # the PE was characterized once, with its boundary arcs, and the model read by OpenSTA
    assert a["pe"]["worst_in_to_reg_ns"] > 0 and a["pe"]["worst_reg_to_out_ns"] > 0
    assert a["critical_path_ns"] >= a["pe"]["reg_to_reg_ns"]
    workdir = design.parent / "synth" / report["design"]
    sta_log = (workdir / "top_sta.log").read_text()
    assert "Error" not in sta_log and "Warning: module" not in sta_log
    # the flat run mapped the PE logic into the top (no PE instance left)
    flat_netlist = (workdir / f"{report['design']}.netlist.v").read_text()
    assert a["pe"]["module"] not in flat_netlist


def test_engine_behavioural_multiplies_map_to_dsps(engine_report):
    _, report = engine_report
    e = report["ecp5"]
    assert e["part"] == "LFE5U-45F" and e["pnr"] == "routed"
    assert e["dsps"] == 4 and e["cells"]["MULT18X18D"] == 4
    assert e["utilization"]["dsps"] == {"used": 4, "available": 72,
                                        "percent": pytest.approx(5.56, abs=0.01)}
    assert e["fits"] and e["fmax_mhz"] > 10


def test_dsps_beyond_the_part_do_not_fit():
    from synth import flow
    part = ECP5_PARTS["25k"]
    over = flow._yosys_utilization("ecp5", part, {"MULT18X18D": 29, "LUT4": 10}, 10)
    assert over["dsps"] == {"used": 29, "available": 28, "percent": 103.57}
    assert not flow._fits(over)
    assert flow._fits(flow._yosys_utilization("ecp5", part, {"MULT18X18D": 28}, 10))
