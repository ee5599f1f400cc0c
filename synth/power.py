"""Power from a gate-level simulation: the synthesized OSU 0.18 um netlist runs in Icarus
with the liberty's own cell models (``osu018_stdcells.v``) on a realistic operand stream,
its outputs are checked against the golden model (a netlist check), and the toggle rate of
every net is measured. Two figures come out:

``power_mw``
    the toggle-count estimate of :func:`synth.liberty.toggle_power`: every net's measured
    rate times the liberty's internal energy at its load plus ``C V^2 / 2``, and leakage.
    This is the headline figure.
``opensta_mw``
    OpenSTA's ``report_power`` after ``set_power_activity`` (each input bit) and
    ``sta::set_power_pin_activity`` (each flip-flop output) with the measured rates. OpenSTA
    2.0.17 (Debian 12) accepts activities only there: it derives every combinational net's
    activity by propagating transition densities through the cell functions, which treats
    the inputs of each gate as independent and so overestimates deep arithmetic (XOR-rich
    adders and multipliers) many times over. Kept as a cross-reference.

Both run at one clock period (``period_ns``) with one operation per cycle, so energy per
operation is ``power x period``. The simulation is zero-delay (the cell models' specify
delays are not used), so glitches are not counted by either figure.

Stimulus is driven by the manifest alone: each data input port (roles ``a``, ``b``, ``c``) gets
a column in its number format ``manifest["formats"][port]``, and each control port a fixed
pattern (``clear`` every 16 cycles, ``enable`` always 1). Streams (``stream``):

``normal``
    floating-point ports: multiplicands (``a``, ``b``) N(0, 1) and addends (``c``) N(0, 2)
    (standard deviations), rounded once into the format (saturating); integer ports
    (``intN``/``uintN``): N(0, sigma) with sigma a quarter of the largest magnitude
    (``2**(N-1) / 4``, 32 for int8; unsigned ports take ``|x|`` with ``2**N / 4``), rounded
    and clipped to the format's range.
``uniform``
    floating-point ports: uniform bit patterns; integer ports: uniform over the range.

The expected result of every sampling point comes from the registry's golden model
(:func:`tpegen.registry.golden_stream`), given the operands as the golden models take them:
bit patterns for floating-point ports, natural (signed) values for integer ports.
"""

import re
from pathlib import Path

import numpy as np

from golden.fp.codec import encode_floats
from tpegen import tools
from tpegen.errors import ParameterError
from tpegen.formats import parse_format
from tpegen.manifest import read_manifest
from tpegen.registry import config_from_dict, golden_stream

from .liberty import toggle_power

__all__ = ["power", "STREAMS"]

STREAMS = ("normal", "uniform")
CELLS_V = "osu018_stdcells.v"
DOT_LENGTH = 16


#: Standard deviation of the N(0, sigma) floating-point stream by data role.
FLOAT_SIGMA = {"a": 1.0, "b": 1.0, "c": 2.0}
#: Control roles and their pattern per cycle.
CONTROLS = {"clear": lambda t: int(t % DOT_LENGTH == 0), "enable": lambda t: 1,
            # a quantization group ends with the dot product (the group PE's ``last``)
            "last": lambda t: int(t % DOT_LENGTH == DOT_LENGTH - 1)}
#: Quantization-group inputs (``role: f(width)``), constant over the run: the scale 1/64
#: (fp16 0x2400), the zero point at mid-range of the unsigned weights.
GROUP_INPUTS = {"scale": lambda width: 0x2400, "zero": lambda width: 1 << (width - 1)}
_INT_FORMAT = re.compile(r"(u?)int(\d+)")


def _column(fmt_name, role, width, rng, cycles, stream):
    """``(golden operands, bit patterns)`` of one data port in format ``fmt_name``."""
    match = _INT_FORMAT.fullmatch(fmt_name)
    if match:
        signed, bits = not match.group(1), int(match.group(2))
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if stream == "uniform":
            values = rng.integers(lo, hi + 1, cycles)
        elif signed:
            values = np.rint(rng.normal(0, (1 << (bits - 1)) / 4, cycles))
        else:
            values = np.rint(np.abs(rng.normal(0, (1 << bits) / 4, cycles)))
        values = [int(v) for v in np.clip(values, lo, hi)]
        return values, [v & ((1 << bits) - 1) for v in values]
    fmt = parse_format(fmt_name)
    if fmt.width != width:
        raise ValueError(f"power: format {fmt_name} is {fmt.width} bits, its port {width}")
    if stream == "uniform":
        codes = rng.integers(0, 1 << width, cycles).tolist()
    else:
        codes = encode_floats(rng.normal(0, FLOAT_SIGMA[role], cycles), fmt)
    return codes, codes


def check_stimulus(manifest):
    """Raise :class:`ParameterError` unless the flow's own streams can drive every input
    role of ``manifest`` (the flow itself calls it before any tool runs)."""
    _inputs(manifest, np.random.default_rng(0), 1, "normal")


def _inputs(manifest, rng, cycles, stream):
    """``(golden columns {role: values}, stimulus columns {role: bit patterns})`` for every
    input role of a scalar design, from its manifest's ports and formats."""
    golden, bits = {}, {}
    for port in manifest["ports"]:
        role, width, name = port["role"], port["width"], port["name"]
        if port["direction"] != "input" or role in ("clk", "rst"):
            continue
        if role in golden:
            raise ValueError(f"power: role {role!r} has several ports (a port array); the "
                             "power flow drives scalar units only")
        if role in FLOAT_SIGMA:
            fmt = manifest.get("formats", {}).get(name)
            if fmt is None:
                raise ValueError(f"power: data port {name} has no format in the manifest")
            golden[role], bits[role] = _column(fmt, role, width, rng, cycles, stream)
        elif role in CONTROLS:
            golden[role] = bits[role] = [CONTROLS[role](t) for t in range(cycles)]
        elif role in GROUP_INPUTS:
            golden[role] = bits[role] = [GROUP_INPUTS[role](width)] * cycles
        else:
            raise ParameterError(f"flows=power is not allowed for {manifest['top']}: the "
                                 f"power flow has no stimulus of its own for its role "
                                 f"{role!r} (allowed: designs with a, b, c, clear, enable, "
                                 "last, scale, zero; others: synth.power.power(columns=...), "
                                 "as bench/qor_pe.py does)")
    return golden, bits


def _testbench(top, manifest, roles, cycles, period_ns):
    ports = {p["role"]: p for p in manifest["ports"]}
    width = sum(ports[r]["width"] for r in roles)
    result = ports["result"]["name"]
    connect = ", ".join(f".{p['name']}({p['name']})" for p in manifest["ports"])
    decls = "\n".join(
        f"  {'wire' if p['direction'] == 'output' else 'reg'} [{p['width'] - 1}:0] {p['name']};"
        for p in manifest["ports"])
    unpack, pos = [], 0
    for r in reversed(roles):
        name, w = ports[r]["name"], ports[r]["width"]
        unpack.append(f"      {name} = word[{pos + w - 1}:{pos}];")
        pos += w
    half = period_ns / 2
    return f"""`timescale 1ns/1ps
module tb;
{decls}
  reg [{width - 1}:0] stim [0:{cycles - 1}];
  reg [{width - 1}:0] word;
  integer t, f;
  {top} dut ({connect});
  always #{half} clk = ~clk;
  initial begin
    $readmemh("stimulus.hex", stim);
    f = $fopen("results.txt", "w");
    clk = 0; rst = 1; word = 0;
{chr(10).join(unpack)}
    #{period_ns * 2};      // a falling edge: inputs change half a period from the edges
    rst = 0;
    $dumpfile("activity.vcd");
    $dumpvars(0, dut);
    for (t = 0; t < {cycles}; t = t + 1) begin
      $fwrite(f, "%h\\n", {result});
      word = stim[t];
{chr(10).join(unpack)}
      #{period_ns};
    end
    $fwrite(f, "%h\\n", {result});
    $dumpoff;
    $fclose(f);
    $finish;
  end
endmodule
"""


def _toggles(vcd_path):
    """``{net bit name: (toggles, time high)}`` from a VCD (scalars and vectors), and the
    dumped time span."""
    ids = {}
    scope = []
    last = {}
    time, start = 0, None
    stats = {}
    with open(vcd_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith("$scope"):
                scope.append(line.split()[2])
            elif line.startswith("$upscope"):
                scope.pop()
            elif line.startswith("$var"):
                parts = line.split()
                width, code, name = int(parts[2]), parts[3], parts[4]
                if len(scope) == 2:     # tb.dut: the design's nets, not the cell models'
                    if parts[5].startswith("[") and width > 1:
                        lo = int(parts[5].strip("[]").split(":")[-1])
                        names = [f"{name}[{lo + i}]" for i in range(width)]
                    else:
                        names = [name]
                    ids.setdefault(code, []).append(names)
            elif line[0] == "#":
                time = int(line[1:])
                if start is None:
                    start = time
            elif line[0] in "01xzXZ" and line[1:] in ids:
                _change(stats, last, line[1:], ids, line[0], time)
            elif line[0] in "bB":
                value, code = line[1:].split()
                if code in ids:
                    _change(stats, last, code, ids, value, time)
    for key, (value, since) in last.items():
        if value == "1":
            stats.setdefault(key, [0, 0])[1] += time - since
    return stats, time - (start or 0)


def _change(stats, last, code, ids, value, time):
    for names in ids[code]:
        value = value.rjust(len(names), "0")[-len(names):]
        for i, name in enumerate(names):
            bit = value[len(names) - 1 - i]
            prev = last.get(name)
            entry = stats.setdefault(name, [0, 0])
            if prev is not None:
                if prev[0] != bit and bit in "01" and prev[0] in "01":
                    entry[0] += 1
                if prev[0] == "1":
                    entry[1] += time - prev[1]
            last[name] = (bit, time)


def power(design, *, cycles=2000, seed=1, stream="normal", period_ns=10.0, workdir=None,
          progress=None, columns=None):
    """Gate-level power of a synthesized design (run ``synthesize(..., flows=["asic"])``
    first). Returns ``{"power_mw", "internal_mw", "switching_mw", "leakage_mw",
    "energy_pj_per_op", "opensta_mw", "cycles", "stream", "checked", ...}``; raises ``RuntimeError`` when the
    netlist disagrees with the golden model.

    ``columns`` drives given operands instead of the flow's own ``stream``: ``{role: list}``
    for every input role, ``cycles`` values each, the ports' bit patterns and the golden
    model's inputs at once (kinds whose model takes bit patterns, such as ``simd``; roles
    the model takes without a port are left out of the stimulus), or a
    pair ``(golden columns, bit-pattern columns)``. ``stream`` then only names the run: it is
    in the progress line, the result, and the simulation folder ``<workdir>/power_<stream>``
    (``<workdir>/power`` for the flow's own streams)."""
    if columns is None and stream not in STREAMS:
        raise ValueError(f"stream={stream!r} is not allowed: choose one of {', '.join(STREAMS)}")
    manifest = read_manifest(design)
    top = manifest["top"]
    cfg = config_from_dict(manifest["kind"], manifest["parameters"])
    if workdir is None:
        workdir = Path(manifest["_path"]).parent / "synth" / top
    workdir = Path(workdir)
    netlist = workdir / f"{top}.netlist.v"
    if not netlist.exists():
        raise FileNotFoundError(f"{netlist} is missing: run `tpegen synth` (asic flow) first")
    lib = tools.liberty()
    cells = lib.with_name(CELLS_V)
    iverilog = tools.iverilog()
    vvp = str(Path(iverilog).with_name("vvp"))
    sim = workdir / ("power" if columns is None else f"power_{stream}")
    sim.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    if columns is None:
        cols, patterns = _inputs(manifest, rng, cycles, stream)
    else:
        wanted = {p["role"] for p in manifest["ports"]
                  if p["direction"] == "input" and p["role"] not in ("clk", "rst")}
        # one dict: the golden model's inputs, of which the ports take their roles' (a
        # model input with no port, such as the group PE's zero point, may be extra)
        cols, patterns = columns if isinstance(columns, tuple) else (
            columns, {r: c for r, c in columns.items() if r in wanted})
        if set(patterns) != wanted or any(len(c) != cycles for c in patterns.values()):
            raise ValueError(f"power: columns {sorted(patterns)} of {cycles} cycles do not "
                             f"match the design's input roles {sorted(wanted)}")
    roles = list(patterns)
    ports = {p["role"]: p for p in manifest["ports"]}
    with open(sim / "stimulus.hex", "w") as f:
        for t in range(cycles):
            word = 0
            for r in roles:
                word = (word << ports[r]["width"]) | patterns[r][t]
            f.write(f"{word:x}\n")
    (sim / "tb.v").write_text(_testbench(top, manifest, roles, cycles, period_ns))
    if progress:
        progress(f"[{top}] power: gate-level simulation of {cycles} cycles ({stream})")
    tools.run([iverilog, "-g2005", "-o", "sim.vvp", "tb.v", str(netlist), str(cells)], cwd=sim,
              log=sim / "iverilog.log")
    tools.run([vvp, "-n", "sim.vvp"], cwd=sim, log=sim / "vvp.log")
    # netlist check: sample t is taken before the inputs of cycle t are applied
    expected = golden_stream(cfg, cols, cycles)
    observed = (sim / "results.txt").read_text().split()
    checked = 0
    for t, (obs, exp) in enumerate(zip(observed, expected)):
        if exp is None:
            continue
        if "x" in obs.lower() or int(obs, 16) != exp:
            raise RuntimeError(f"{top}: gate-level netlist result {obs} != golden {exp:x} at "
                               f"cycle {t}; see {sim}")
        checked += 1
    stats, span = _toggles(sim / "activity.vcd")
    per_cycle = {name: (toggles * period_ns * 1000 / span, high / span if span else 0.5)
                 for name, (toggles, high) in stats.items()}
    flops = re.findall(r"^\s*(DFF\w+)\s+(\S+)\s*\((.*?)\);", netlist.read_text(), re.S | re.M)
    lines = [f"read_liberty {lib}", f"read_verilog {netlist}", f"link_design {top}",
             f"create_clock -name clk -period {period_ns} [get_ports clk]",
             "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]"]
    for port in manifest["ports"]:
        if port["direction"] != "input" or port["role"] == "clk":
            continue
        for i in range(port["width"]):
            bit = f"{port['name']}[{i}]" if port["width"] > 1 else port["name"]
            act, duty = per_cycle.get(bit, (0.0, 0.0))
            lines.append(f"set_power_activity -input_ports [get_ports {{{bit}}}] "
                         f"-activity {act:.6f} -duty {min(max(duty, 0.0), 1.0):.6f}")
    for _, inst, body in flops:
        q = re.search(r"\.Q\(([^)]*)\)", body)
        if q:
            net = q.group(1).strip().lstrip("\\")
            act, duty = per_cycle.get(net, (0.0, 0.5))
            lines.append(f"sta::set_power_pin_activity [get_pins {{{inst}/Q}}] {act:.6f} "
                         f"{min(max(duty, 0.0), 1.0):.6f}")
    lines.append("report_power -digits 6")
    (sim / "power.tcl").write_text("\n".join(lines) + "\n")
    out = tools.run([tools.sta(), "-no_splash", "-exit", str(sim / "power.tcl")], cwd=sim,
                    log=sim / "power.log")
    total = re.search(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if total is None:
        raise RuntimeError(f"OpenSTA reported no power; see {sim / 'power.log'}")
    opensta_w = float(total.group(4))
    seconds = span * 1e-12
    rates = {name: toggles / seconds for name, (toggles, _) in stats.items()}
    est = toggle_power(netlist, lib, rates)
    watts = est["total_w"]
    return {
        "stream": stream, "cycles": cycles, "checked": checked, "period_ns": period_ns,
        "power_mw": round(watts * 1e3, 4), "internal_mw": round(est["internal_w"] * 1e3, 4),
        "switching_mw": round(est["switching_w"] * 1e3, 4),
        "leakage_mw": round(est["leakage_w"] * 1e3, 6),
        "energy_pj_per_op": round(watts * period_ns * 1e-9 * 1e12, 3),
        "nets_annotated": est["nets_annotated"],
        "opensta_mw": round(opensta_w * 1e3, 4),
        "mean_input_activity": round(float(np.mean([per_cycle.get(
            f"{p['name']}[{i}]" if p["width"] > 1 else p["name"], (0, 0))[0]
            for p in manifest["ports"] if p["role"] in ("a", "b", "c")
            for i in range(p["width"])])), 4),
    }
