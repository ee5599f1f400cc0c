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
    so (the utilization stays that of the design itself). A design whose logic fits but whose
    ports outnumber the package's pins (an 8x8 engine on a CABGA381) is placed and routed
    *out of context* (:func:`_ooc_wrapper`: four pins, the inputs through a shift register,
    the outputs registered and XOR-folded): ``pnr`` is ``routed out of context``, ``fmax_mhz``
    that run's, ``fits`` stays false with ``fits_logic`` true, and ``out_of_context`` holds
    the wrapped run's LUTs and utilization.

Every flow reads every Verilog file of the manifest (its ``files`` of type ``verilog``): an
engine is its top plus its PE cell (``engine.pe_module``), instantiated ``R*C`` times.

Engines (``kind`` ``engine``) in ``asic``: flat as above, or hierarchical (:mod:`synth.hier`:
the PE mapped and characterized once, the array mapped with the PE as a blackbox, area and
critical path composed); hierarchical by default from :data:`HIER_MIN_PES` PEs. Where both
run (by default up to :data:`HIER_CHECK_MAX_PES` PEs) the report has ``asic.hier_vs_flat``
(``(hier - flat) / flat`` of area and critical path), and a hierarchical result off by more
than 3 % area or 10 % critical path is replaced by the flat one: ``asic.method`` is then
``flat (hier differed by ...)`` (else ``hier`` or ``flat``).

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

def _log(progress, message):
    if progress:
        progress(message)


from .asic import (ABC_SCRIPT, DEFAULT_PERIOD_NS, _sources, _yosys,  # noqa: E402
                   map_asic, parse_paths, run_sta, verilog_files)

def _asic(manifest, vfile, workdir, *, booth, period_ns, abc_delay_ps=None):
    lib = tools.liberty()
    top = manifest["top"]
    module, stat, netlist = map_asic(top, vfile, workdir, booth=booth,
                                     abc_delay_ps=abc_delay_ps, name="asic")
    area = float(module.get("area", stat.get("design", {}).get("area", 0.0)))
    cells = int(module.get("num_cells", 0))
    seq_area = float(module.get("sequential_area", 0.0))
    out = run_sta(top, netlist, workdir, period_ns=period_ns,
                  name="sta", extra="report_checks -path_delay max -group_count 1 -digits 4\n")
    paths = parse_paths(out, workdir / "sta.log")
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


def _ooc_wrapper(manifest, path):
    """Write ``<top>_ooc``: ``<top>`` out of context, for place and route of a design with
    more I/O than the package: four pins (``clk``, ``rst``, serial ``si``, ``so``). Every
    input bit comes from one shift register fed by ``si``; every output bit is registered
    and the registers are XOR-folded, registered again, into ``so``. So no logic is
    constant or unobserved, and the core's register-to-register paths are what nextpnr
    times (the wrapper adds one FF per port bit and the XOR tree's LUTs)."""
    top = manifest["top"]
    ins = [p for p in manifest["ports"] if p["direction"] == "input"
           and p["role"] not in ("clk", "rst")]
    outs = [p for p in manifest["ports"] if p["direction"] == "output"]
    n_in = sum(p["width"] for p in ins)
    n_out = sum(p["width"] for p in outs)
    lines = [f"module {top}_ooc(input clk, input rst, input si, output reg so);",
             f"  reg [{max(n_in, 1) - 1}:0] sh;",
             f"  always @(posedge clk) sh <= {{sh[{max(n_in, 2) - 2}:0], si}};"
             if n_in > 1 else "  always @(posedge clk) sh <= si;",
             f"  wire [{n_out - 1}:0] outs;",
             f"  reg [{n_out - 1}:0] outs_q;",
             "  always @(posedge clk) begin outs_q <= outs; so <= ^outs_q; end"]
    conns, lo = [".clk(clk)", ".rst(rst)"], 0
    for p in ins:
        conns.append(f".{p['name']}(sh[{lo + p['width'] - 1}:{lo}])")
        lo += p["width"]
    lo = 0
    for p in outs:
        conns.append(f".{p['name']}(outs[{lo + p['width'] - 1}:{lo}])")
        lo += p["width"]
    lines += [f"  {top} core ({', '.join(conns)});", "endmodule", ""]
    path.write_text("\n".join(lines))
    return f"{top}_ooc"


def _fpga(family, manifest, vfile, workdir, *, part, pnr=True, freq_mhz=100,
          register_inputs=False, out_of_context=False):
    spec = _FPGA[family]
    top = manifest["top"]
    netjson = workdir / f"{top}.{family}.json"
    sources = _sources(vfile)
    if register_inputs or out_of_context:
        wrap = _ooc_wrapper if out_of_context else _input_register_wrapper
        wrapper = workdir / f"{top}_{'ooc' if out_of_context else 'inreg'}.v"
        top = wrap(manifest, wrapper)
        netjson = workdir / f"{top}.{family}.json"
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
    io_bits = 4 if out_of_context else sum(p["width"] for p in manifest["ports"])
    estimate = _yosys_utilization(family, part, cell_types, io_bits)
    if pnr and not out_of_context and not _fits(estimate) and \
            [k for k, e in estimate.items() if e["used"] > e["available"]] == ["io"]:
        # the logic fits, the package's pins do not: place and route out of context
        ooc = _fpga(family, manifest, vfile, workdir, part=part, freq_mhz=freq_mhz,
                    out_of_context=True)
        return {**out, "fmax_mhz": ooc["fmax_mhz"], "pnr": "routed out of context",
                "utilization_source": "yosys", "utilization": estimate, "fits": False,
                "fits_logic": True,
                "out_of_context": {k: ooc[k] for k in ("luts", "utilization", "fits")},
                "note": f"{io_bits} I/O bits > {part.io} package pins: placed and routed "
                        "out of context (inputs through a shift register, outputs "
                        "XOR-folded: 4 pins); Fmax and the out_of_context utilization "
                        "include that wrapper"}
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


#: an engine with at least this many PEs is synthesized hierarchically by default
HIER_MIN_PES = 64
#: ... and checked against flat synthesis by default when it has at most this many
HIER_CHECK_MAX_PES = 256
#: hierarchical figures that differ from flat by more than this fall back to flat
HIER_TOLERANCE = {"area": 0.03, "critical_path": 0.10}


def _engine_asic(manifest, vfile, workdir, *, booth, period_ns, hier, hier_check, progress):
    """The ``asic`` report of an engine: flat, or hierarchical (:mod:`synth.hier`) checked
    against flat; ``method`` says which, and why when hierarchical fell back to flat."""
    from .hier import hier_asic
    eng = manifest["engine"]
    pes = int(eng["rows"]) * int(eng["cols"])
    use_hier = pes >= HIER_MIN_PES if hier is None else bool(hier)
    check = (pes <= HIER_CHECK_MAX_PES) if hier_check is None else bool(hier_check)
    flat = h = None
    if use_hier or check:
        start = time.monotonic()
        h = hier_asic(manifest, vfile, workdir, booth=booth, period_ns=period_ns)
        h["seconds"] = round(time.monotonic() - start, 1)
        _log(progress, f"[{manifest['top']}] asic (hier): {h['area_um2']:.0f} um^2, "
                       f"{h['critical_path_ns']:.3f} ns ({h['seconds']} s)")
    if not use_hier or check:
        start = time.monotonic()
        flat = _asic(manifest, vfile, workdir, booth=booth, period_ns=period_ns)
        flat["seconds"] = round(time.monotonic() - start, 1)
        flat["method"] = "flat"
        _log(progress, f"[{manifest['top']}] asic (flat): {flat['area_um2']:.0f} um^2, "
                       f"{flat['critical_path_ns']:.3f} ns ({flat['seconds']} s)")
    if h is None:
        return flat
    if flat is None:
        h["hier_vs_flat"] = None
        h["method"] = f"hier (not checked against flat: {pes} PEs > {HIER_CHECK_MAX_PES})" \
            if hier_check is None else "hier (not checked against flat)"
        return h
    diff = {"area": round((h["area_um2"] - flat["area_um2"]) / flat["area_um2"], 4),
            "critical_path": round((h["critical_path_ns"] - flat["critical_path_ns"])
                                   / flat["critical_path_ns"], 4)}
    over = {k: v for k, v in diff.items() if abs(v) > HIER_TOLERANCE[k]}
    keys = ("area_um2", "cells", "critical_path_ns", "critical_startpoint", "critical_endpoint",
            "seconds")
    if not use_hier:
        return {**flat, "hier_vs_flat": diff, "hier": {k: h[k] for k in keys + ("pe", "top")}}
    if over:
        text = ", ".join(f"{k.replace('_', ' ')} {100 * v:+.1f} %" for k, v in diff.items())
        return {**flat, "method": f"flat (hier differed by {text})", "hier_vs_flat": diff,
                "hier": {k: h[k] for k in keys + ("pe", "top")}}
    return {**h, "hier_vs_flat": diff, "flat": {k: flat[k] for k in keys}}


def synthesize(design, *, flows=("asic", "ecp5"), booth=False, period_ns=DEFAULT_PERIOD_NS,
               ecp5_part="25k", ice40_part="hx8k", pnr=True, workdir=None, progress=None,
               report_path=None, hier=None, hier_check=None):
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
    hier : bool, optional
        Engines only (``kind`` ``engine``): synthesize the ASIC hierarchically
        (:mod:`synth.hier`: the PE once, the array with the PE as a blackbox, composed).
        Default: hierarchical when the engine has ``R*C >= 64`` PEs (:data:`HIER_MIN_PES`).
    hier_check : bool, optional
        Also run the other method and report ``asic.hier_vs_flat`` (``(hier - flat) /
        flat`` of area and critical path); a hierarchical result that differs by more than
        3 % area or 10 % critical path is replaced by the flat one, and ``asic.method``
        says ``flat (hier differed by ...)``. Default: check when ``R*C <= 256``.

    Returns
    -------
    dict
        ``{"design", "kind", "parameters", "asic": {...}, "ecp5": {...}, ...}``. Each FPGA
        flow's dict holds ``part``, ``package``, ``luts``, ``dsps``, ``fmax_mhz``, ``cells``,
        ``pnr`` (``routed``, ``routed out of context``, ``does not fit`` or ``not run``),
        ``utilization`` (``luts``,
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
    if "power" in flows:           # its own stimulus must exist before any tool runs
        from .power import check_stimulus
        check_stimulus(manifest)
    vfile = verilog_files(manifest)
    if workdir is None:
        workdir = Path(manifest["_path"]).parent / "synth" / (top + ("_booth" if booth else ""))
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with tools.exclusive(workdir):   # one run at a time in this folder
        report = {"design": top, "kind": manifest["kind"], "variant": "booth" if booth else "plain",
                  "parameters": manifest["parameters"], "latency": manifest["latency"]}
        for flow in flows:
            start = time.monotonic()
            _log(progress, f"[{top}] {flow}: running")
            if flow == "asic" and manifest["kind"] == "engine" and "engine" in manifest:
                report["asic"] = r = _engine_asic(manifest, vfile, workdir, booth=booth,
                                                  period_ns=period_ns, hier=hier,
                                                  hier_check=hier_check, progress=progress)
                diff = r.get("hier_vs_flat")
                summary = (f"{r['area_um2']:.0f} um^2, {r['cells']} cells, "
                           f"{r['critical_path_ns']:.3f} ns, method {r['method']}"
                           + (f" (hier vs flat: area {100 * diff['area']:+.2f} %, critical path "
                              f"{100 * diff['critical_path']:+.2f} %)" if diff else ""))
            elif flow == "asic":
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
                if r["pnr"] in ("routed", "routed out of context") and r["fmax_mhz"] is None:
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
                           + f"; {'fits' if r['fits'] else 'does NOT fit'}"
                           + (" (logic fits; I/O does not)" if r.get("fits_logic") else "")
                           + f" (P&R: {r['pnr']})")
                if not r["fits"]:
                    over = [k for k, e in u.items() if e["used"] > e["available"]]
                    r["does_not_fit"] = over
            _log(progress, f"[{top}] {flow}: {summary} ({time.monotonic() - start:.1f} s)")
        if report_path is None:
            report_path = Path(manifest["_path"]).with_name(
                f"{top}{'_booth' if booth else ''}.report.json")
        Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
        report["_path"] = str(report_path)
        return report
