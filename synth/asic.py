"""The ASIC steps every synthesis flow shares (:mod:`synth.flow`, :mod:`synth.hier`): yosys
mapping onto the OSU 0.18 um liberty (:func:`map_asic`), OpenSTA timing (:func:`run_sta`,
:func:`parse_paths`), and the manifest's Verilog files (:func:`verilog_files`)."""

import json
import re
from pathlib import Path

from tpegen import tools

__all__ = ["ABC_SCRIPT", "DEFAULT_PERIOD_NS", "ABC_DELAY_PS", "map_asic", "run_sta",
           "parse_paths", "verilog_files"]

#: Timing-driven mapping with buffering and gate sizing. ``{D}`` is the delay target in ps;
#: yosys does not substitute it inside a script file, so the flow does.
ABC_SCRIPT = ("strash; dch; map -B 0.9 -D {D}; topo; buffer -p; upsize -D {D}; dnsize -D {D}; "
              "stime -p")

DEFAULT_PERIOD_NS = 10.0
ABC_DELAY_PS = 1000


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


def verilog_files(manifest):
    """Every Verilog file of a manifest (its ``files`` of type ``verilog``: an engine's top
    and its PE cell), resolved; a manifest without ``files`` has its one ``verilog``."""
    base = Path(manifest["_path"]).parent
    files = [f["path"] for f in manifest.get("files", []) if f.get("type") == "verilog"]
    if not files:
        files = [manifest["verilog"]]
    return [(base / f).resolve() for f in files]


def _sources(vfiles):
    return " ".join(str(f) for f in ([vfiles] if isinstance(vfiles, (str, Path)) else vfiles))


def map_asic(top, vfiles, workdir, *, booth, abc_delay_ps=None, blackboxes=(), name="asic"):
    """yosys onto the OSU liberty: ``(stat of top, mapped netlist path)``. Modules named in
    ``blackboxes`` are kept as blackbox instances (their area is not counted)."""
    abc_delay_ps = ABC_DELAY_PS if abc_delay_ps is None else abc_delay_ps
    lib = tools.liberty()
    script = ABC_SCRIPT.replace("{D}", str(abc_delay_ps)).replace("; ", "\n")
    (workdir / "abc.script").write_text(script + "\n")
    netlist = workdir / (f"{top}.netlist.v" if name == "asic" else f"{top}.{name}.netlist.v")
    bb = "".join(f"blackbox {m}\n" for m in blackboxes)
    _yosys(f"""read_verilog {_sources(vfiles)}
{bb}synth -top {top} -flatten{' -booth' if booth else ''}
dfflibmap -liberty {lib}
abc -liberty {lib} -script {workdir / 'abc.script'}
setundef -zero
opt_clean -purge
tee -q -o {workdir / f'stat_{name}.json'} stat -json -liberty {lib}
write_verilog -noattr -noexpr -simple-lhs {netlist}
""", workdir, name)
    stat = json.loads((workdir / f"stat_{name}.json").read_text())
    module = stat["modules"].get(f"\\{top}") or next(iter(stat["modules"].values()))
    netlist.write_text(_sta_compatible(netlist.read_text()))
    return module, stat, netlist


def run_sta(top, netlists, workdir, *, period_ns, liberties=(), name="sta", extra=""):
    """OpenSTA on a mapped netlist: the text of ``report_checks`` (one worst path per group,
    inputs and outputs at 0 ns against ``clk``) plus anything ``extra`` reports."""
    lib = tools.liberty()
    reads = "".join(f"read_liberty {l}\n" for l in liberties)
    nets = "".join(f"read_verilog {n}\n" for n in ([netlists] if isinstance(netlists, Path)
                                                     else netlists))
    sta_script = workdir / f"{name}.tcl"
    sta_script.write_text(f"""read_liberty {lib}
{reads}{nets}link_design {top}
create_clock -name clk -period {period_ns} [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
{extra}""")
    return tools.run([tools.sta(), "-no_splash", "-exit", str(sta_script)], cwd=workdir,
                     log=workdir / f"{name}.log")


def parse_paths(out, log):
    """``[(startpoint, endpoint, slack)]``: one worst path per path group (reg-to-reg, I/O)
    of a ``report_checks``; the critical path is the worst of all."""
    paths = re.findall(r"Startpoint:\s+(\S+).*?Endpoint:\s+(\S+).*?(-?[\d.]+)\s+slack \(",
                       out, re.S)
    if not paths:
        raise RuntimeError(f"OpenSTA reported no path; see {log}")
    return paths
