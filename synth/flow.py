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
    yosys ``synth_ecp5``/``synth_ice40`` then nextpnr with a fixed seed on the chosen part
    (``ecp5_part``, default ``25k`` = LFE5U-25F; ``ice40_part``, default ``hx8k`` =
    iCE40-HX8K; see :data:`ECP5_PARTS`, :data:`ICE40_PARTS`): LUTs, DSPs (MULT18X18D), the
    achieved Fmax of ``clk``, and the utilization of the part (LUTs, FFs, DSPs, BRAM, I/O: used
    / available / percent, and whether the design ``fits``). Utilization comes from nextpnr's
    report; when P&R is not run (``pnr=False``) or fails because the design does not fit, it
    is estimated from yosys's ``stat`` against the part's capacity (:func:`_yosys_utilization`).
    A feed-forward design (no register-to-register path: only its outputs are registered) is
    run again with a register on every input, so that its Fmax is measured; its report says
    so (the utilization stays that of the design itself).

Each design gets ``<top>.report.json`` beside its manifest (see :func:`synthesize`).
"""

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tpegen import tools
from tpegen.config import ParameterError
from tpegen.manifest import read_manifest

__all__ = ["synthesize", "FLOWS", "ABC_SCRIPT", "ECP5_PARTS", "ICE40_PARTS", "FpgaPart"]

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


@dataclass(frozen=True)
class FpgaPart:
    """One FPGA part: its name, nextpnr's device flag and package, and its capacity (the
    ``available`` counts nextpnr reports for it: LUTs and FFs, or logic cells on iCE40, where
    each holds one LUT and one FF; MULT18X18D / SB_MAC16 DSPs; block RAMs; package I/O)."""

    name: str
    flag: str
    package: str
    luts: int
    ffs: int
    dsps: int
    bram: int
    io: int


#: ``ecp5_part`` choices: nextpnr-ecp5 ``--<key>``. All in the CABGA381 package. (``--12k``
#: is left out: nextpnr models it as the 25k die and reports the 25k's capacity.)
ECP5_PARTS = {
    "25k": FpgaPart("LFE5U-25F", "--25k", "CABGA381", 24288, 24288, 28, 56, 197),
    "45k": FpgaPart("LFE5U-45F", "--45k", "CABGA381", 43848, 43848, 72, 108, 245),
    "85k": FpgaPart("LFE5U-85F", "--85k", "CABGA381", 83640, 83640, 156, 208, 365),
    "um-25k": FpgaPart("LFE5UM-25F", "--um-25k", "CABGA381", 24288, 24288, 28, 56, 197),
    "um-45k": FpgaPart("LFE5UM-45F", "--um-45k", "CABGA381", 43848, 43848, 72, 108, 245),
    "um-85k": FpgaPart("LFE5UM-85F", "--um-85k", "CABGA381", 83640, 83640, 156, 208, 365),
    "um5g-25k": FpgaPart("LFE5UM5G-25F", "--um5g-25k", "CABGA381", 24288, 24288, 28, 56, 197),
    "um5g-45k": FpgaPart("LFE5UM5G-45F", "--um5g-45k", "CABGA381", 43848, 43848, 72, 108, 245),
    "um5g-85k": FpgaPart("LFE5UM5G-85F", "--um5g-85k", "CABGA381", 83640, 83640, 156, 208,
                         365),
}

#: ``ice40_part`` choices: nextpnr-ice40 ``--<key>``, each in one of its larger packages (the
#: I/O count is that package's). (``hx4k``/``lp4k``/``up3k`` are left out: nextpnr models
#: them as the 8k/5k dies and reports those capacities.) LUTs and FFs share the logic cells.
#: Every capacity here was checked against nextpnr's report (testbenches/test_synth.py
#: checks the parts it runs).
ICE40_PARTS = {
    "lp384": FpgaPart("iCE40LP384", "--lp384", "cm49", 384, 384, 0, 0, 37),
    "lp1k": FpgaPart("iCE40LP1K", "--lp1k", "cm121", 1280, 1280, 0, 16, 95),
    "lp8k": FpgaPart("iCE40LP8K", "--lp8k", "cm225", 7680, 7680, 0, 32, 178),
    "hx1k": FpgaPart("iCE40HX1K", "--hx1k", "tq144", 1280, 1280, 0, 16, 96),
    "hx8k": FpgaPart("iCE40HX8K", "--hx8k", "ct256", 7680, 7680, 0, 32, 206),
    "u4k": FpgaPart("iCE5LP4K", "--u4k", "sg48", 3520, 3520, 4, 20, 39),
    "up5k": FpgaPart("iCE40UP5K", "--up5k", "sg48", 5280, 5280, 8, 30, 39),
}

_FPGA = {
    "ecp5": {"synth": "synth_ecp5", "parts": ECP5_PARTS, "option": "ecp5_part",
             "luts": ("LUT4",), "dsps": ("MULT18X18D", "ALU54B"),
             # utilization entry -> nextpnr cell type
             "pnr_cells": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "dsps": "MULT18X18D",
                           "bram": "DP16KD", "io": "TRELLIS_IO"}},
    "ice40": {"synth": "synth_ice40", "parts": ICE40_PARTS, "option": "ice40_part",
              "luts": ("SB_LUT4",), "dsps": ("SB_MAC16",),
              "pnr_cells": {"logic_cells": "ICESTORM_LC", "dsps": "ICESTORM_DSP",
                            "bram": "ICESTORM_RAM", "io": "SB_IO"}},
}

#: nextpnr errors that mean "the design does not fit the part" (as opposed to a tool failure)
_DOES_NOT_FIT = re.compile(r"no BELs remaining|Unable to find a placement location|"
                           r"Unable to place cell")


def _part(family, key):
    """The :class:`FpgaPart` of ``ecp5_part``/``ice40_part`` = ``key``, or
    :class:`ParameterError` naming the option and its choices."""
    spec = _FPGA[family]
    if key not in spec["parts"]:
        raise ParameterError(f"{spec['option']}={key!r} is not allowed: choose one of "
                             + ", ".join(spec["parts"]))
    return spec["parts"][key]


def _entry(used, available):
    percent = round(100.0 * used / available, 2) if available else (0.0 if not used else None)
    return {"used": int(used), "available": int(available), "percent": percent}


def _count(cell_types, pattern):
    return sum(n for t, n in cell_types.items() if re.fullmatch(pattern, t))


def _yosys_utilization(family, part, cell_types, io_bits):
    """Utilization estimated from yosys's cell counts (before packing): on ECP5 a CCU2C carry
    cell takes two LUT sites and a TRELLIS_DPR16X4 RAM two; on iCE40 a logic cell holds one
    LUT and one FF, so ``logic_cells`` is a lower bound (max of LUTs, FFs and carries)."""
    if family == "ecp5":
        used = {"luts": _count(cell_types, "LUT4") + 2 * _count(cell_types, "CCU2C")
                + 2 * _count(cell_types, "TRELLIS_DPR16X4"),
                "ffs": _count(cell_types, "TRELLIS_FF"),
                "dsps": _count(cell_types, "MULT18X18D"),
                "bram": _count(cell_types, "(PDPW16KD|DP16KD)")}
    else:
        luts, ffs = _count(cell_types, "SB_LUT4"), _count(cell_types, r"SB_DFF\w*")
        used = {"luts": luts, "ffs": ffs,
                "logic_cells": max(luts, ffs, _count(cell_types, "SB_CARRY")),
                "dsps": _count(cell_types, "SB_MAC16"),
                "bram": _count(cell_types, r"SB_RAM40_4K\w*")}
    used["io"] = io_bits
    capacity = {"logic_cells": part.luts}
    return {k: _entry(v, capacity.get(k, getattr(part, k, 0))) for k, v in used.items()}


def _pnr_utilization(family, cell_types, data):
    """Utilization from nextpnr's ``--report`` (``utilization``: cell type -> used,
    available). iCE40 reports logic cells only, so its ``luts``/``ffs`` are yosys's counts
    against the logic cells."""
    spec = _FPGA[family]
    table = data.get("utilization", {})
    out = {}
    for key, cell in spec["pnr_cells"].items():
        row = table.get(cell, {"used": 0, "available": 0})
        out[key] = _entry(row["used"], row["available"])
    if family == "ice40":
        lcs = out["logic_cells"]["available"]
        out = {"luts": _entry(_count(cell_types, "SB_LUT4"), lcs),
               "ffs": _entry(_count(cell_types, r"SB_DFF\w*"), lcs), **out}
    return out


def _fits(utilization):
    return all(e["used"] <= e["available"] for e in utilization.values())


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


def _fpga(family, manifest, vfile, workdir, *, part, pnr=True, freq_mhz=100,
          register_inputs=False):
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
    out = {
        "part": part.name,
        "package": part.package,
        "device": f"{part.name} {part.package}",
        "luts": luts,
        "dsps": dsps,
        "fmax_mhz": None,
        "cells": {k: v for k, v in sorted(cell_types.items())},
    }
    io_bits = sum(p["width"] for p in manifest["ports"])
    estimate = _yosys_utilization(family, part, cell_types, io_bits)
    if not pnr:
        return {**out, "pnr": "not run", "utilization_source": "yosys",
                "utilization": estimate, "fits": _fits(estimate)}
    report = workdir / f"nextpnr_{family}.json"
    report.unlink(missing_ok=True)
    # Relative paths: the YoWASP (WebAssembly) nextpnr sees only its working directory.
    log = workdir / f"nextpnr_{family}.log"
    cmd = [tools.nextpnr(family), part.flag, "--package", part.package, "--json", netjson.name,
           "--freq", str(freq_mhz), "--seed", "1", "--report", report.name,
           "--timing-allow-fail", "-q"]
    text = tools.run(cmd, cwd=workdir, log=log, check=False)
    if not report.exists():
        errors = [line for line in text.splitlines() if line.startswith("ERROR")]
        if errors and _DOES_NOT_FIT.search(errors[0]):
            return {**out, "pnr": "does not fit", "pnr_error": errors[0],
                    "utilization_source": "yosys", "utilization": estimate, "fits": False}
        tail = "\n".join(text.splitlines()[-25:])
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed (see {log}):\n{tail}")
    data = json.loads(report.read_text())
    fmax = [v["achieved"] for k, v in data.get("fmax", {}).items() if "clk" in k]
    utilization = _pnr_utilization(family, cell_types, data)
    return {**out, "fmax_mhz": round(min(fmax), 1) if fmax else None, "pnr": "routed",
            "utilization_source": "nextpnr", "utilization": utilization,
            "fits": _fits(utilization)}


def synthesize(design, *, flows=("asic", "ecp5"), booth=False, period_ns=DEFAULT_PERIOD_NS,
               ecp5_part="25k", ice40_part="hx8k", pnr=True, workdir=None, progress=None,
               report_path=None):
    """Run the flows on a generated design and write its JSON report.

    Parameters
    ----------
    design : path
        Manifest of the design, or its directory.
    flows : sequence of str
        Any of ``asic``, ``ecp5``, ``ice40``, ``power``.
    booth : bool
        Use yosys ``synth -booth`` in the ASIC flow (the baseline a user gets without tpegen).
    period_ns : float
        Clock period for OpenSTA; the critical path does not depend on it.
    ecp5_part, ice40_part : str
        FPGA parts of the ``ecp5``/``ice40`` flows: a key of :data:`ECP5_PARTS` (``25k``,
        ``45k``, ``85k``, ``um-25k``, ...) or :data:`ICE40_PARTS` (``hx8k``, ``hx1k``,
        ``up5k``, ...). Checked before any tool runs (:class:`ParameterError`).
    pnr : bool
        Run nextpnr in the FPGA flows. Without it the FPGA figures are yosys's alone: no Fmax,
        and the utilization is estimated from its cell counts.
    progress : callable, optional
        Called with one line per step (the CLI prints them).

    Returns
    -------
    dict
        ``{"design", "kind", "parameters", "asic": {...}, "ecp5": {...}, ...}``. Each FPGA
        flow's dict holds ``part``, ``package``, ``luts``, ``dsps``, ``fmax_mhz``, ``cells``,
        ``pnr`` (``routed``, ``does not fit`` or ``not run``), ``utilization`` (``luts``,
        ``ffs``, ``dsps``, ``bram``, ``io`` and on iCE40 ``logic_cells``, each ``{"used",
        "available", "percent"}``), ``utilization_source`` (``nextpnr`` or ``yosys``) and
        ``fits``.
    """
    for flow in flows:
        if flow not in FLOWS:
            raise ParameterError(f"flow={flow!r} is not allowed: choose one of "
                                 f"{', '.join(FLOWS)}")
    parts = {"ecp5": _part("ecp5", ecp5_part), "ice40": _part("ice40", ice40_part)}
    if not isinstance(pnr, bool):
        raise ParameterError(f"pnr={pnr!r} must be true or false")
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
            report[flow] = r = _fpga(flow, manifest, vfile, workdir, part=parts[flow], pnr=pnr)
            if r["pnr"] == "routed" and r["fmax_mhz"] is None:
                # feed-forward: no register-to-register path to time; the utilization and
                # fit stay the design's own
                timed = _fpga(flow, manifest, vfile, workdir, part=parts[flow],
                              register_inputs=True)
                own = {k: r[k] for k in ("utilization", "utilization_source", "fits")}
                report[flow] = r = {**timed, **own,
                                    "note": "Fmax with input registers added by the flow; "
                                            "utilization of the design without them"}
            u = r["utilization"]
            fmax = f"Fmax {r['fmax_mhz']} MHz" if r["fmax_mhz"] else "no Fmax"
            summary = (f"{r['part']}: {r['luts']} LUTs, {r['dsps']} DSPs, {fmax}; "
                       + ", ".join(f"{k} {e['used']}/{e['available']}" for k, e in u.items())
                       + f"; {'fits' if r['fits'] else 'does NOT fit'} (P&R: {r['pnr']})")
        _log(progress, f"[{top}] {flow}: {summary} ({time.monotonic() - start:.1f} s)")
    if report_path is None:
        report_path = Path(manifest["_path"]).with_name(
            f"{top}{'_booth' if booth else ''}.report.json")
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    report["_path"] = str(report_path)
    return report
