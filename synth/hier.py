"""Hierarchical ASIC synthesis of a tensor engine: the PE once, the array around it once.

An engine instantiates one PE module (``engine.pe_module`` of its manifest) ``R*C`` times.
Flat synthesis maps ``R*C`` copies of it; this flow maps it once and composes.

Method
------
1. **The PE** (:func:`characterize`): yosys maps the PE module alone (same script as the flat
   flow: ``synth -flatten``, ``dfflibmap``, the buffering ABC script, OSU 0.18 um). Its area
   is ``stat -liberty``'s. OpenSTA then times the mapped PE with every input at 0 ns, every
   output loaded with :data:`CHAR_LOAD_PF` per bit, and gives, per pin bit:

   * ``input -> register``: the worst arrival at a register's D plus its setup (the
     constraint an input puts on the clock period, ``period - slack``);
   * ``register -> output``: the worst arrival at the output after the clock edge
     (clock-to-Q and the logic behind it);
   * ``input -> output``: the worst purely combinational delay, for every pair that has one;
   * ``register -> register``: the worst internal path (one number).

   Before timing, :func:`buffer_inputs` puts a ``BUFX4`` tree behind every PE input that
   drives more than :data:`MAX_FANOUT` cell inputs (ABC takes the module's inputs as ideal
   and leaves them unbuffered; in flat synthesis they are internal nets that ABC buffers);
   the buffers count in the PE's area. The timing runs twice, with output loads 0 and
   :data:`CHAR_LOAD_PF`, so that the output arcs of the model depend on the load linearly (a
   two-point table that OpenSTA extrapolates).
2. **The model** (:func:`write_model`): a liberty cell named after the PE module with those
   arcs: ``rising_edge`` arcs clk -> output, ``setup_rising`` constraints clk -> input,
   combinational arcs, and each input's capacitance (the sum of the liberty input
   capacitances of the cells its net drives in the mapped PE).
3. **The top**: yosys maps the engine with the PE module as a ``blackbox``; ABC does not see
   the PE pins' load, so a net of the top that drives many PE inputs (the array's
   ``advance`` into every ``ce``) is left unbuffered by ABC. :func:`buffer_fanout` then puts
   a tree of ``BUFX4`` on every top net that drives more than :data:`MAX_FANOUT` PE pins (the
   fanout repair that a hierarchical back end does at the top level); its area counts in the
   top's area.
4. **Compose**: ``area = top area + R*C * PE area``; OpenSTA times the top netlist against the
   OSU liberty and the PE model, which gives the top's own paths and every path that crosses
   a PE boundary (top register -> PE register, PE register -> top register or output, and
   through a PE's combinational arcs); ``critical path = max(that, PE register -> register)``.

Assumptions (why hier and flat differ): no optimization crosses the PE boundary (flat
synthesis can remove PE logic whose outputs the array does not read, propagate constants
into it, and retime/size across it); the PE's input arcs are timed with an ideal (zero-slew)
input, and its output slew is :data:`OUTPUT_SLEW_NS`; wires have no load (as in the flat
flow); ABC maps a small module (the PE alone) differently from a large one (the flat array),
so either can come out faster. :func:`synth.flow.synthesize` compares this with the flat
flow where it runs both, and falls back to flat when they differ by more than 3 % area or
10 % critical path.
"""

import json
import re
from pathlib import Path

from tpegen import tools

from . import asic      # the shared ASIC steps (synth.flow imports this module)
from .liberty import _instances, read_liberty

__all__ = ["characterize", "write_model", "buffer_fanout", "buffer_inputs", "hier_asic",
           "CHAR_LOAD_PF", "MAX_FANOUT"]

#: output load of the PE's characterization, per bit (about four OSU gate inputs)
CHAR_LOAD_PF = 0.04
#: output transition of the PE model (the OSU cells' typical slew at a moderate load)
OUTPUT_SLEW_NS = 0.15
#: the most PE input pins that one top-level net drives, and the most cell inputs that one PE
#: input drives, before a buffer tree is added
MAX_FANOUT = 8

_CHAR_TCL = r"""
proc worst {paths} {
  set w ""
  foreach p $paths {
    set s [get_property $p slack]
    if {$s ne "" && ($w eq "" || $s < $w)} { set w $s }
  }
  return $w
}
set ins [delete_from_list [all_inputs] [get_ports clk]]
set regs_d [all_registers -data_pins]
set regs_ck [all_registers -clock_pins]
set w [worst [find_timing_paths -from $regs_ck -to $regs_d -path_delay max]]
puts "R2R - $w"
foreach p $ins {
  set n [get_full_name $p]
  set w [worst [find_timing_paths -from $p -to $regs_d -path_delay max]]
  puts "I2R $n $w"
}
foreach o [all_outputs] {
  set n [get_full_name $o]
  set w [worst [find_timing_paths -from $regs_ck -to $o -path_delay max]]
  puts "R2O $n $w"
}
set any [find_timing_paths -from $ins -to [all_outputs] -path_delay max]
if {[llength $any] > 0} {
  foreach o [all_outputs] {
    set on [get_full_name $o]
    foreach p $ins {
      set w [worst [find_timing_paths -from $p -to $o -path_delay max]]
      if {$w ne ""} { puts "I2O [get_full_name $p]>$on $w" }
    }
  }
}
"""


def _char_sta(top, netlist, workdir, period_ns, load_pf, name):
    extra = (f"set_load {load_pf} [all_outputs]\n" if load_pf else "") + _CHAR_TCL
    out = asic.run_sta(top, netlist, workdir, period_ns=period_ns, name=name, extra=extra)
    res = {"r2r": None, "i2r": {}, "r2o": {}, "i2o": {}}
    for kind, pin, slack in re.findall(r"^(R2R|I2R|R2O|I2O) (\S+) ?(\S*)$", out, re.M):
        if not slack:
            continue
        delay = round(period_ns - float(slack), 4)
        if kind == "R2R":
            res["r2r"] = delay
        else:
            res[kind.lower()][pin] = delay
    return res


def _input_caps(netlist, ports):
    """Capacitance (pF) of each input bit of a mapped module: the liberty input capacitances
    of the cell pins on its net (through the netlist's ``assign`` aliases)."""
    _, cells = read_liberty(tools.liberty())
    text = Path(netlist).read_text()
    alias = {}
    for lhs, rhs in re.findall(r"^\s*assign\s+(\S+(?:\s*\[\d+\])?)\s*=\s*(\S+(?:\s*\[\d+\])?)\s*;",
                               text, re.M):
        alias.setdefault(rhs.replace(" ", "").lstrip("\\"), []).append(
            lhs.replace(" ", "").lstrip("\\"))
    loads = {}
    for cell, _inst, pins in _instances(text, cells):
        for pin, net in pins.items():
            if cells[cell]["pins"].get(pin, {}).get("direction") == "input":
                net = net.replace(" ", "")
                loads[net] = loads.get(net, 0.0) + cells[cell]["pins"][pin]["capacitance"]
    caps = {}
    for bit in ports:
        seen, todo, total = set(), [bit], 0.0
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            total += loads.get(n, 0.0)
            todo += alias.get(n, [])
        caps[bit] = round(total, 5)
    return caps


def buffer_inputs(netlist, ports, max_fanout=None, buffer="BUFX4"):
    """Put a tree of ``buffer`` cells behind every input bit of a mapped module that drives
    more than ``max_fanout`` cell inputs (ABC buffers internal nets, not the module's own
    inputs, which it takes as ideal; flat synthesis buffers them as internal nets). Returns
    the buffers added."""
    max_fanout = MAX_FANOUT if max_fanout is None else max_fanout
    _, cells = read_liberty(tools.liberty())
    text = Path(netlist).read_text()
    alias = {}
    for lhs, rhs in re.findall(r"^\s*assign\s+(\S+(?:\s*\[\d+\])?)\s*=\s*(\S+(?:\s*\[\d+\])?)\s*;",
                               text, re.M):
        alias.setdefault(rhs.replace(" ", "").lstrip("\\"), []).append(
            lhs.replace(" ", "").lstrip("\\"))
    group = {}
    for bit in ports:
        seen, todo = set(), [bit]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo += alias.get(n, [])
        for n in seen:
            group[n] = bit
    inst_re = re.compile(r"^(\s*)(\w+)(\s+\\?\S+\s*)\((.*?)\);", re.S | re.M)
    pin_re = re.compile(r"\.(\w+)\(([^()]*)\)")
    fanout = {}
    for m in inst_re.finditer(text):
        cell = cells.get(m.group(2))
        if cell is None:
            continue
        for pin, net in pin_re.findall(m.group(4)):
            key = net.replace(" ", "").lstrip("\\")
            if key in group and cell["pins"].get(pin, {}).get("direction") == "input":
                fanout[group[key]] = fanout.get(group[key], 0) + 1
    heavy = {b: n for b, n in fanout.items() if n > max_fanout}
    if not heavy:
        return 0
    wires, bufs, leaves = [], [], {}
    fresh = iter(range(10 ** 9))

    def new():
        name = f"_ibuf{next(fresh)}_"
        wires.append(name)
        return name

    def source(bit):
        name, _, idx = bit.partition("[")
        esc = not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name)
        return (f"\\{name} " if esc else name) + (f"[{idx}" if idx else "")

    for bit, n in heavy.items():
        level = leaves[bit] = [new() for _ in range(-(-n // max_fanout))]
        while len(level) > max_fanout:
            parents = [new() for _ in range(-(-len(level) // max_fanout))]
            bufs += [(parents[i // max_fanout], w) for i, w in enumerate(level)]
            level = parents
        bufs += [(source(bit), w) for w in level]
    count = {b: 0 for b in heavy}

    def rewire(m):
        cell = cells.get(m.group(2))
        if cell is None:
            return m.group(0)

        def sub(pm):
            pin, net = pm.group(1), pm.group(2)
            bit = group.get(net.replace(" ", "").lstrip("\\"))
            if bit not in heavy or cell["pins"].get(pin, {}).get("direction") != "input":
                return pm.group(0)
            count[bit] += 1
            return f".{pin}({leaves[bit][(count[bit] - 1) // max_fanout]})"
        return f"{m.group(1)}{m.group(2)}{m.group(3)}({pin_re.sub(sub, m.group(4))});"

    text = inst_re.sub(rewire, text)
    lines = [f"  wire {w};" for w in wires]
    lines += [f"  {buffer} _ibuf_cell{k}_ (.A({src}), .Y({dst}));"
              for k, (src, dst) in enumerate(bufs)]
    idx = text.rindex("endmodule")
    Path(netlist).write_text(text[:idx] + "\n".join(lines) + "\n" + text[idx:])
    return len(bufs)


def characterize(module, vfiles, workdir, *, booth=False, period_ns=asic.DEFAULT_PERIOD_NS):
    """Map ``module`` alone and time it (see the module docstring): a dict with ``area_um2``,
    ``cells``, ``sequential_area_um2``, ``netlist``, the per-bit ``ports`` (name, direction),
    ``reg_to_reg_ns`` and the arcs ``in_to_reg``, ``reg_to_out`` (at loads 0 and
    :data:`CHAR_LOAD_PF`), ``in_to_out`` and ``input_cap_pf``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stat, _, netlist = asic.map_asic(module, vfiles, workdir, booth=booth, name="pe_asic")
    ports = []
    for direction, rng, names in re.findall(r"^\s*(input|output)\s*(\[\d+:\d+\])?\s*([^;]+);",
                                            netlist.read_text(), re.M):
        for name in (n.strip().lstrip("\\") for n in names.split(",")):
            if rng:
                hi, lo = map(int, re.findall(r"\d+", rng))
                ports.append({"name": name, "direction": direction, "msb": hi, "lsb": lo})
            else:
                ports.append({"name": name, "direction": direction, "msb": None, "lsb": None})
    bits = [b for p in ports if p["direction"] == "input" for b in _bits(p)]
    n_buf = buffer_inputs(netlist, [b for b in bits if b != "clk"])
    buf_area = n_buf * read_liberty(tools.liberty())[1]["BUFX4"]["area"]
    light = _char_sta(module, netlist, workdir, period_ns, 0.0, "pe_sta0")
    heavy = _char_sta(module, netlist, workdir, period_ns, CHAR_LOAD_PF, "pe_sta1")
    return {
        "module": module,
        "area_um2": float(stat.get("area", 0.0)) + buf_area,
        "sequential_area_um2": float(stat.get("sequential_area", 0.0)),
        "cells": int(stat.get("num_cells", 0)) + n_buf,
        "input_buffers": n_buf,
        "netlist": str(netlist),
        "ports": ports,
        "reg_to_reg_ns": light["r2r"],
        "in_to_reg": light["i2r"],
        "reg_to_out": {"0": light["r2o"], str(CHAR_LOAD_PF): heavy["r2o"]},
        "in_to_out": {"0": light["i2o"], str(CHAR_LOAD_PF): heavy["i2o"]},
        "input_cap_pf": _input_caps(netlist, bits),
    }


def _bits(port):
    if port["msb"] is None:
        return [port["name"]]
    lo, hi = sorted((port["lsb"], port["msb"]))
    return [f"{port['name']}[{i}]" for i in range(lo, hi + 1)]


def _table(values):
    """A 1-D load table (two points: 0 and CHAR_LOAD_PF)."""
    v0, v1 = values
    return (f'index_1 ("0.0, {CHAR_LOAD_PF}"); values ("{max(v0, 0.0):.4f}, '
            f'{max(v1, v0, 0.0):.4f}");')


def write_model(char, path):
    """Write the liberty model of a characterized module (see the module docstring)."""
    load = str(CHAR_LOAD_PF)
    lines = [f"library ({char['module']}_model) {{",
             '  delay_model : table_lookup;', '  time_unit : "1ns";', '  voltage_unit : "1V";',
             '  current_unit : "1uA";', '  capacitive_load_unit (1,pf);',
             '  pulling_resistance_unit : "1kohm";', '  leakage_power_unit : "1nW";',
             '  input_threshold_pct_rise : 50;', '  input_threshold_pct_fall : 50;',
             '  output_threshold_pct_rise : 50;', '  output_threshold_pct_fall : 50;',
             '  slew_lower_threshold_pct_rise : 20;', '  slew_upper_threshold_pct_rise : 80;',
             '  slew_lower_threshold_pct_fall : 20;', '  slew_upper_threshold_pct_fall : 80;',
             '  nom_process : 1;', '  nom_voltage : 1.8;', '  nom_temperature : 25;',
             '  lu_table_template (load_2) { variable_1 : total_output_net_capacitance; '
             f'index_1 ("0.0, {CHAR_LOAD_PF}"); }}']
    widths = sorted({abs(p["msb"] - p["lsb"]) + 1 for p in char["ports"] if p["msb"] is not None})
    for w in widths:
        lines.append(f"  type (bus{w}) {{ base_type : array; data_type : bit; bit_width : {w}; "
                     f"bit_from : {w - 1}; bit_to : 0; downto : true; }}")
    lines += [f"  cell ({char['module']}) {{", f"    area : {char['area_um2']};",
              "    dont_use : true;", "    dont_touch : true;"]
    comb = {}
    for key, arcs in char["in_to_out"].items():
        for pair, d in arcs.items():
            src, dst = pair.split(">")
            comb.setdefault(dst, {}).setdefault(src, {})[key] = d

    def pin_body(bit, direction):
        body = [f"direction : {direction};"]
        if bit == "clk":
            body += ["clock : true;", "capacitance : 0.01;"]
            return body
        if direction == "input":
            body.append(f"capacitance : {char['input_cap_pf'].get(bit, 0.01) or 0.01};")
            c = char["in_to_reg"].get(bit)
            if c is not None:
                body.append("timing () { related_pin : \"clk\"; timing_type : setup_rising; "
                            f"rise_constraint (scalar) {{ values (\"{c:.4f}\"); }} "
                            f"fall_constraint (scalar) {{ values (\"{c:.4f}\"); }} }}")
            return body
        d = (char["reg_to_out"]["0"].get(bit), char["reg_to_out"][load].get(bit))
        if d[0] is not None:
            t = _table((d[0], d[1] if d[1] is not None else d[0]))
            body.append("timing () { related_pin : \"clk\"; timing_type : rising_edge; "
                        f"cell_rise (load_2) {{ {t} }} cell_fall (load_2) {{ {t} }} "
                        f"rise_transition (scalar) {{ values (\"{OUTPUT_SLEW_NS}\"); }} "
                        f"fall_transition (scalar) {{ values (\"{OUTPUT_SLEW_NS}\"); }} }}")
        for src, by_load in comb.get(bit, {}).items():
            v0 = by_load.get("0")
            t = _table((v0, by_load.get(load, v0)))
            body.append(f"timing () {{ related_pin : \"{src}\"; timing_sense : non_unate; "
                        f"cell_rise (load_2) {{ {t} }} cell_fall (load_2) {{ {t} }} "
                        f"rise_transition (scalar) {{ values (\"{OUTPUT_SLEW_NS}\"); }} "
                        f"fall_transition (scalar) {{ values (\"{OUTPUT_SLEW_NS}\"); }} }}")
        return body

    for p in char["ports"]:
        if p["msb"] is None:
            lines.append(f"    pin ({p['name']}) {{ " + " ".join(pin_body(p["name"],
                                                                      p["direction"])) + " }")
            continue
        w = abs(p["msb"] - p["lsb"]) + 1
        lines.append(f"    bus ({p['name']}) {{ bus_type : bus{w}; direction : {p['direction']};")
        for bit in _bits(p):
            lines.append(f"      pin ({bit}) {{ " + " ".join(pin_body(bit, p["direction"]))
                         + " }")
        lines.append("    }")
    lines += ["  }", "}", ""]
    Path(path).write_text("\n".join(lines))
    return Path(path)


def buffer_fanout(netlist, module, max_fanout=None, buffer="BUFX4"):
    """Put a tree of ``buffer`` cells on every net of the top netlist that drives more than
    ``max_fanout`` pins of ``module`` instances (each leaf buffer drives ``max_fanout`` of
    them, and no buffer more than ``max_fanout`` others). Returns the buffers added."""
    max_fanout = MAX_FANOUT if max_fanout is None else max_fanout
    text = Path(netlist).read_text()
    widths = {}
    for rng, names in re.findall(r"^\s*(?:wire|input|output|reg)\s*(\[\d+:\d+\])?\s*([^;]+);",
                                 text, re.M):
        w = abs(int(re.findall(r"\d+", rng)[0]) - int(re.findall(r"\d+", rng)[1])) + 1 \
            if rng else 1
        for name in names.split(","):
            widths[name.strip()] = w
    inst_re = re.compile(rf"^(\s*){re.escape(module)}\s+(\\?\S+)\s*\((.*?)\);", re.S | re.M)
    pin_re = re.compile(r"\.(\w+)\(\s*([^(){},]+?)\s*\)")
    uses = {}
    for m in inst_re.finditer(text):
        for pin, net in pin_re.findall(m.group(3)):
            if pin != "clk" and not re.fullmatch(r"\d+'[bhd][0-9a-fA-F_]+", net):
                uses[net] = uses.get(net, 0) + 1
    heavy = {net: n for net, n in uses.items() if n > max_fanout}
    if not heavy:
        return 0
    wires, bufs, leaves = [], [], {}
    fresh = iter(range(10 ** 9))

    def new(width):
        name = f"_hfo{next(fresh)}_"
        wires.append((name, width))
        return name

    for net, n in heavy.items():
        width = 1 if "[" in net else widths.get(net, 1)
        level = leaves[net] = [new(width) for _ in range(-(-n // max_fanout))]
        while len(level) > max_fanout:
            parents = [new(width) for _ in range(-(-len(level) // max_fanout))]
            bufs += [(parents[i // max_fanout], w, width) for i, w in enumerate(level)]
            level = parents
        bufs += [(net, w, width) for w in level]
    count = {net: 0 for net in heavy}

    def rewire(m):
        def sub(pm):
            pin, net = pm.group(1), pm.group(2).strip()
            if pin == "clk" or net not in heavy:
                return pm.group(0)
            count[net] += 1
            return f".{pin}({leaves[net][(count[net] - 1) // max_fanout]})"
        return f"{m.group(1)}{module} {m.group(2)} ({pin_re.sub(sub, m.group(3))});"

    text = inst_re.sub(rewire, text)
    lines = [f"  wire [{w - 1}:0] {name};" if w > 1 else f"  wire {name};" for name, w in wires]
    k = 0
    for src, dst, width in bufs:
        for i in range(width):
            s = f"{src} [{i}]" if width > 1 else (src + " " if src.startswith("\\") else src)
            d = f"{dst}[{i}]" if width > 1 else dst
            lines.append(f"  {buffer} _hfo_buf{k}_ (.A({s}), .Y({d}));")
            k += 1
    idx = text.rindex("endmodule")
    Path(netlist).write_text(text[:idx] + "\n".join(lines) + "\n" + text[idx:])
    return k


def hier_asic(manifest, vfiles, workdir, *, booth, period_ns):
    """The hierarchical ASIC figures of an engine (see the module docstring); same keys as the
    flat flow's ``asic`` report plus ``method``, ``pe`` and ``top``."""
    eng = manifest["engine"]
    pe_module, top = eng["pe_module"], manifest["top"]
    # PE instances: the manifest says (the adder tree has N, not N*K); else R*C
    n = int(eng.get("pe_instances", int(eng["rows"]) * int(eng["cols"])))
    workdir = Path(workdir)
    char = characterize(pe_module, vfiles, workdir / "pe", booth=booth, period_ns=period_ns)
    model = write_model(char, workdir / f"{pe_module}.model.lib")
    stat, _, netlist = asic.map_asic(top, vfiles, workdir, booth=booth,
                                     blackboxes=(pe_module,), name="top_asic")
    lib_cells = read_liberty(tools.liberty())[1]
    n_buf = buffer_fanout(netlist, pe_module)
    buf_area = n_buf * lib_cells["BUFX4"]["area"]
    top_area = float(stat.get("area", 0.0)) + buf_area
    top_cells = int(stat.get("num_cells", 0)) - n + n_buf
    out = asic.run_sta(top, netlist, workdir, period_ns=period_ns, liberties=(model,),
                       name="top_sta",
                       extra="report_checks -path_delay max -group_count 1 -digits 4\n")
    paths = asic.parse_paths(out, workdir / "top_sta.log")
    start, end, slack = min(paths, key=lambda p: float(p[2]))
    top_crit = period_ns - float(slack)
    pe_r2r = char["reg_to_reg_ns"] or 0.0
    if pe_r2r > top_crit:
        critical, start, end = pe_r2r, f"{pe_module}:reg", f"{pe_module}:reg"
    else:
        critical = top_crit
    area = top_area + n * char["area_um2"]
    seq = float(stat.get("sequential_area", 0.0)) + n * char["sequential_area_um2"]
    summary = {k: char[k] for k in ("module", "area_um2", "cells", "reg_to_reg_ns",
                                     "input_buffers")}
    summary["worst_in_to_reg_ns"] = max(char["in_to_reg"].values(), default=None)
    summary["worst_reg_to_out_ns"] = max(char["reg_to_out"]["0"].values(), default=None)
    summary["comb_arcs"] = len(char["in_to_out"]["0"])
    (workdir / "pe_characterization.json").write_text(json.dumps(char, indent=1))
    return {
        "liberty": tools.liberty().name,
        "area_um2": round(area, 1),
        "sequential_area_um2": round(seq, 1),
        "cells": top_cells + n * char["cells"],
        "critical_path_ns": round(critical, 4),
        "fmax_mhz": round(1000.0 / critical, 1) if critical > 0 else None,
        "area_delay_um2_ns": round(area * critical, 1),
        "critical_startpoint": start,
        "critical_endpoint": end,
        "booth_synth": booth,
        "method": "hier",
        "pe": summary,
        "top": {"area_um2": round(top_area, 1), "cells": top_cells,
                "critical_path_ns": round(top_crit, 4), "fanout_buffers": n_buf},
        "instances": n,
    }
