"""One synthesis flow for every tpegen design: area, timing and FPGA figures from open tools.

``asic``
    yosys ``synth -flatten`` (``-booth`` on request), ``dfflibmap`` and ``abc`` onto the OSU
    0.18 um liberty (``qflow-tech-osu018``) with a timing-driven ABC script that also buffers
    and sizes (the script OpenROAD-flow-scripts uses; yosys's default ABC script does not
    buffer, and an unbuffered high-fanout net then reads as the critical path). ``stat
    -liberty`` gives area (um^2) and cells; OpenSTA gives the critical path: the minimum clock
    period, ``period - worst slack`` over every path group (register-to-register and I/O,
    inputs and outputs constrained at 0 ns against the clock).
``power``
    (after ``asic``) gate-level simulation of the mapped netlist on a realistic operand
    stream, checked against the golden model, and OpenSTA ``report_power`` from the measured
    toggle rates (:mod:`synth.power`).
``ecp5`` / ``ice40``
    yosys ``synth_ecp5``/``synth_ice40`` then nextpnr (LFE5U-25F / iCE40-HX8K) with a fixed
    seed: LUTs, DSPs (MULT18X18D) and the achieved Fmax of ``clk``. A feed-forward design
    (no register-to-register path: only its outputs are registered) is run again with a
    register on every input, so that its Fmax is measured; its report says so.

Each design gets ``<top>.report.json`` beside its manifest (see :func:`synthesize`).
"""

import json
import re
import time
from pathlib import Path

from tpegen import tools
from tpegen.manifest import read_manifest

__all__ = ["synthesize", "FLOWS", "ABC_SCRIPT"]

FLOWS = ("asic", "ecp5", "ice40", "power")

#: Timing-driven mapping with buffering and gate sizing. ``{D}`` is the delay target in ps;
#: yosys does not substitute it inside a script file, so the flow does.
ABC_SCRIPT = ("strash; dch; map -B 0.9 -D {D}; topo; buffer -p; upsize -D {D}; dnsize -D {D}; "
              "stime -p")

DEFAULT_PERIOD_NS = 10.0
ABC_DELAY_PS = 1000


def _log(progress, message):
    if progress:
        progress(message)


def _yosys(script_text, workdir, name):
    script = workdir / f"{name}.ys"
    script.write_text(script_text)
    return tools.run(tools.yosys_cmd() + ["-s", str(script)], cwd=workdir,
                     log=workdir / f"{name}.log")


def _expand_concat_assign(match):
    """``assign {a[3], b[1:0]} = 3'h5;`` -> one ``assign`` per bit."""
    targets, width, radix, digits = match.groups()
    value = int(digits.replace("_", ""), {"h": 16, "d": 10, "b": 2, "o": 8}[radix.lower()])
    bits = []
    for target in reversed([t.strip() for t in targets.split(",")]):  # LSB first
        ranged = re.fullmatch(r"(.+)\[(\d+):(\d+)\]", target)
        if ranged:
            name, hi, lo = ranged.group(1), int(ranged.group(2)), int(ranged.group(3))
            bits += [f"{name}[{i}]" for i in range(lo, hi + 1)]
        else:
            bits.append(target)
    return "\n".join(f"  assign {bit} = 1'b{(value >> i) & 1};" for i, bit in enumerate(bits))


def _sta_compatible(netlist):
    """Rewrite yosys netlist constructs that Debian 12's OpenSTA (2019) cannot parse."""
    netlist = re.sub(r"\b(input|output|wire)\s+signed\b", r"\1", netlist)
    return re.sub(r"^\s*assign\s*\{([^}]*)\}\s*=\s*(\d+)'([hdbo])([0-9a-fA-F_]+)\s*;",
                  _expand_concat_assign, netlist, flags=re.M)


def _asic(manifest, vfile, workdir, *, booth, period_ns, abc_delay_ps=None):
    abc_delay_ps = ABC_DELAY_PS if abc_delay_ps is None else abc_delay_ps
    lib = tools.liberty()
    top = manifest["top"]
    script = ABC_SCRIPT.replace("{D}", str(abc_delay_ps)).replace("; ", "\n")
    (workdir / "abc.script").write_text(script + "\n")
    netlist = workdir / f"{top}.netlist.v"
    _yosys(f"""read_verilog {vfile}
synth -top {top} -flatten{' -booth' if booth else ''}
dfflibmap -liberty {lib}
abc -liberty {lib} -script {workdir / 'abc.script'}
setundef -zero
opt_clean -purge
tee -q -o {workdir / 'stat.json'} stat -json -liberty {lib}
write_verilog -noattr -noexpr {netlist}
""", workdir, "asic")
    stat = json.loads((workdir / "stat.json").read_text())
    module = stat["modules"].get(f"\\{top}") or next(iter(stat["modules"].values()))
    area = float(module.get("area", stat.get("design", {}).get("area", 0.0)))
    cells = int(module.get("num_cells", 0))
    seq_area = float(module.get("sequential_area", 0.0))
    netlist.write_text(_sta_compatible(netlist.read_text()))
    sta_script = workdir / "sta.tcl"
    sta_script.write_text(f"""read_liberty {lib}
read_verilog {netlist}
link_design {top}
create_clock -name clk -period {period_ns} [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
report_checks -path_delay max -group_count 1 -digits 4
""")
    out = tools.run([tools.sta(), "-no_splash", "-exit", str(sta_script)], cwd=workdir,
                    log=workdir / "sta.log")
    # One worst path per path group (reg-to-reg, I/O); the critical path is the worst of all.
    paths = re.findall(r"Startpoint:\s+(\S+).*?Endpoint:\s+(\S+).*?(-?[\d.]+)\s+slack \(",
                       out, re.S)
    if not paths:
        raise RuntimeError(f"OpenSTA reported no path; see {workdir / 'sta.log'}")
    start, end, slack = min(paths, key=lambda p: float(p[2]))
    critical = period_ns - float(slack)
    return {
        "liberty": lib.name,
        "area_um2": round(area, 1),
        "sequential_area_um2": round(seq_area, 1),
        "cells": cells,
        "critical_path_ns": round(critical, 4),
        "fmax_mhz": round(1000.0 / critical, 1) if critical > 0 else None,
        "area_delay_um2_ns": round(area * critical, 1),
        "critical_startpoint": start,
        "critical_endpoint": end,
        "booth_synth": booth,
    }


_FPGA = {
    "ecp5": {"synth": "synth_ecp5", "pnr": ["--25k", "--package", "CABGA381"],
             "luts": ("LUT4",), "dsps": ("MULT18X18D", "ALU54B")},
    "ice40": {"synth": "synth_ice40", "pnr": ["--hx8k", "--package", "ct256"],
              "luts": ("SB_LUT4",), "dsps": ("SB_MAC16",)},
}


def _input_register_wrapper(manifest, path):
    """Write ``<top>_inreg``: ``<top>`` with a register on every input but clock and reset,
    so that nextpnr has a register-to-register path to time in a feed-forward unit."""
    top = manifest["top"]
    ports = manifest["ports"]
    decl = ", ".join(p["name"] for p in ports)
    lines = [f"module {top}_inreg({decl});"]
    for p in ports:
        rng = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        lines.append(f"  {p['direction']} {rng}{p['name']};")
        if p["direction"] == "input" and p["role"] not in ("clk", "rst"):
            lines.append(f"  reg {rng}{p['name']}_q;")
            lines.append(f"  always @(posedge clk) {p['name']}_q <= {p['name']};")
    conns = ", ".join(f".{p['name']}({p['name']}"
                      + ("_q)" if p["direction"] == "input" and p["role"] not in ("clk", "rst")
                         else ")") for p in ports)
    lines += [f"  {top} core ({conns});", "endmodule", ""]
    path.write_text("\n".join(lines))
    return f"{top}_inreg"


def _fpga(family, manifest, vfile, workdir, *, freq_mhz=100, register_inputs=False):
    spec = _FPGA[family]
    top = manifest["top"]
    netjson = workdir / f"{top}.{family}.json"
    sources = str(vfile)
    if register_inputs:
        wrapper = workdir / f"{top}_inreg.v"
        top = _input_register_wrapper(manifest, wrapper)
        sources += f" {wrapper}"
    _yosys(f"""read_verilog {sources}
{spec['synth']} -top {top} -json {netjson}
tee -q -o {workdir / f'stat_{family}.json'} stat -json
""", workdir, family)
    stat = json.loads((workdir / f"stat_{family}.json").read_text())
    module = next(iter(stat["modules"].values()))
    cell_types = module.get("num_cells_by_type", {})
    luts = sum(cell_types.get(t, 0) for t in spec["luts"])
    dsps = sum(cell_types.get(t, 0) for t in spec["dsps"])
    report = workdir / f"nextpnr_{family}.json"
    # Relative paths: the YoWASP (WebAssembly) nextpnr sees only its working directory.
    tools.run([tools.nextpnr(family), *spec["pnr"], "--json", netjson.name, "--freq",
               str(freq_mhz), "--seed", "1", "--report", report.name, "--timing-allow-fail",
               "-q"], cwd=workdir, log=workdir / f"nextpnr_{family}.log")
    data = json.loads(report.read_text())
    fmax = [v["achieved"] for k, v in data.get("fmax", {}).items() if "clk" in k]
    return {
        "device": " ".join(spec["pnr"][:1] + spec["pnr"][2:]).replace("--", ""),
        "luts": luts,
        "dsps": dsps,
        "fmax_mhz": round(min(fmax), 1) if fmax else None,
        "cells": {k: v for k, v in sorted(cell_types.items())},
    }


def synthesize(design, *, flows=("asic", "ecp5"), booth=False, period_ns=DEFAULT_PERIOD_NS,
               workdir=None, progress=None, report_path=None):
    """Run the flows on a generated design and write its JSON report.

    Parameters
    ----------
    design : path
        Manifest of the design, or its directory.
    flows : sequence of str
        Any of ``asic``, ``ecp5``, ``ice40``.
    booth : bool
        Use yosys ``synth -booth`` in the ASIC flow (the baseline a user gets without tpegen).
    period_ns : float
        Clock period for OpenSTA; the critical path does not depend on it.
    progress : callable, optional
        Called with one line per step (the CLI prints them).

    Returns
    -------
    dict
        ``{"design", "kind", "parameters", "asic": {...}, "ecp5": {...}, ...}``.
    """
    for flow in flows:
        if flow not in FLOWS:
            raise ValueError(f"flow={flow!r} is not allowed: choose from {', '.join(FLOWS)}")
    if "power" in flows:           # power needs the ASIC netlist, and runs after it
        flows = [f for f in flows if f not in ("asic", "power")]
        flows = ["asic"] + flows + ["power"]
    manifest = read_manifest(design)
    top = manifest["top"]
    vfile = Path(manifest["_path"]).with_name(manifest["verilog"]).resolve()
    if workdir is None:
        workdir = Path(manifest["_path"]).parent / "synth" / (top + ("_booth" if booth else ""))
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    report = {"design": top, "kind": manifest["kind"], "variant": "booth" if booth else "plain",
              "parameters": manifest["parameters"], "latency": manifest["latency"]}
    for flow in flows:
        start = time.monotonic()
        _log(progress, f"[{top}] {flow}: running")
        if flow == "asic":
            report["asic"] = _asic(manifest, vfile, workdir, booth=booth, period_ns=period_ns)
            r = report["asic"]
            summary = (f"{r['area_um2']:.0f} um^2, {r['cells']} cells, "
                       f"{r['critical_path_ns']:.3f} ns")
        elif flow == "power":
            from .power import power
            report["power"] = r = power(design, period_ns=period_ns, workdir=workdir)
            summary = (f"{r['power_mw']:.3f} mW at {1000 / period_ns:.0f} MHz, "
                       f"{r['energy_pj_per_op']:.2f} pJ/op, netlist == golden over "
                       f"{r['checked']} cycles")
        else:
            report[flow] = r = _fpga(flow, manifest, vfile, workdir)
            if r["fmax_mhz"] is None:   # feed-forward: no register-to-register path to time
                report[flow] = r = _fpga(flow, manifest, vfile, workdir, register_inputs=True)
                r["note"] = "Fmax with input registers added by the flow"
            summary = f"{r['luts']} LUTs, {r['dsps']} DSPs, Fmax {r['fmax_mhz']} MHz"
        _log(progress, f"[{top}] {flow}: {summary} ({time.monotonic() - start:.1f} s)")
    if report_path is None:
        report_path = Path(manifest["_path"]).with_name(
            f"{top}{'_booth' if booth else ''}.report.json")
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    report["_path"] = str(report_path)
    return report
