"""Formal proof that an output-accumulating engine (``systolic-os``, ``matrix2d``) computes
matrix products: the engine's shipped Verilog against a spec written in the proof itself.

The spec is not another engine and not the golden model: it is ``C[i][j] = sum over k < K of
A[i][k] * B[k][j] (mod 2**acc_width)``, with the operands sign- or zero-extended as the PE's
``a_signed``/``b_signed`` say, over the beats the monitor itself sends.

The monitor (:func:`monitor_verilog`, module ``spec_monitor``) instantiates the engine's top
module, read from the design's Verilog files (the top and the PE cell ``<pe>_ce.v``, as the
manifest lists them), and drives it:

* **reset**: the engine's ``rst`` is high in the first cycle and low afterwards. The engine's
  registers have *no* initial value in the proof (their ``init`` attributes are removed), so
  the proof also checks that reset puts every register into a good state. During the reset
  cycle the sources offer nothing and the sink is not ready.
* **sources** (``s_axis_a``, ``s_axis_b``): each a legal AXI4-Stream master with its own free
  ``tvalid`` choice every cycle: an arbitrary stall pattern. Once ``tvalid`` is high it stays
  high, with the same beat, until the beat transfers. Each source sends ``TILES`` = 2 tiles
  back to back (no gap forced, none required); tile ``t`` has a free depth ``K_t`` in
  ``1..KMAX`` (``KMAX`` = 3 by default) and both streams set ``tlast`` on beat ``K_t - 1``.
  The data of beat ``k`` of tile ``t`` is a free value ``a_d_t_k`` / ``b_d_t_k`` chosen in
  the reset cycle and held (registers loaded from free inputs, so every value is covered and
  no assumption is needed); while ``tvalid`` is low, ``tdata`` is a free input (garbage).
* **sink** (``m_axis_c``): ``tready`` is a free input every cycle: arbitrary back-pressure.

The spec is ``S_t[i][j] = sum over k < K_t of ext(lane i of a_d_t_k) * ext(lane j of
b_d_t_k) mod 2**W`` (products at their exact width ``a_width + b_width``, then extended),
so beat ``k`` of A is paired with beat ``k`` of B by index, whenever each transferred.
The monitor asserts, every cycle after reset:

1. ``ok_data``: when a row of C transfers, it equals ``S`` of the row the monitor expects
   (row ``o_row`` of tile ``o_tile``, counted by the monitor);
2. ``ok_beats``: a row of tile ``t`` transfers only after both streams sent all its beats;
   ``ok_last``: ``tlast`` exactly on row ``R - 1``; ``ok_count``: at most ``TILES * R``
   rows transfer; ``ok_no_extra``: no row is even offered after that;
3. ``ok_stable``: the output is a legal master (a row offered and not taken is offered
   again, unchanged);
4. ``ok_live``: bounded liveness: after ``LIVE`` consecutive *fair* cycles (sink ready, and
   each source offering a beat or finished), all rows have been sent (``LIVE`` =
   :func:`live_bound`, 23 for the 2x2 engine).

Method and bounds (bounded model checking from reset, not an unbounded proof). The AIGER of
the flattened monitor (yosys ``write_aiger -zinit``) is checked with ABC ``bmc3`` (yosys'
own ``sat`` without ABC, much slower), in two runs of the same monitor:

* **control** (every assertion but ``ok_data``): ``bound`` cycles, default ``LIVE + 6``
  (29 for the 2x2 engine): two tiles of any depth 1..3 complete within it with at least 6
  stall cycles anywhere, and ``ok_live`` is exercised;
* **data** (``ok_data``): ``data_bound`` cycles, default 12. Comparing the engine's sums
  with the spec's under every stall interleaving is hard for CDCL (measured on this 2x2
  int2/acc8 engine: ABC ``bmc3`` needs ~1 s for 9 cycles, ~6 s for 10, ~24 s for 11,
  ~90 s for 12, and each cycle more costs about 3x, on a loaded 2-CPU machine; yosys
  ``sat`` took > 10 minutes for 20 cycles; ABC ``pdr`` found no proof in minutes).
  Measured reachability (cycle 1 = reset): the first tile's last row can transfer at cycle
  ``K_0 + 8`` at the earliest, so 12 cycles check both rows of the first tile for every
  ``K_0`` with up to ``4 - K_0`` stall cycles anywhere (any number of stalls that still let a
  row out within 12 cycles); the second tile's last row transfers at cycle 12 at the
  earliest (``K_0 = K_1 = 1``, no stall), so the second tile's data is checked only for the
  shortest, stall-free traces. Longer traces' data is not covered.

Every trace of up to the bound is covered: every ``tvalid``/``tready`` pattern on the three
streams, every depth, every operand value, but not longer traces. A counterexample is
replayed with yosys ``sat -seq`` and shown as a per-cycle table (:func:`trace`), with the
failing assertion.
"""

import time
from pathlib import Path

from tpegen import tools
from tpegen.formal import EquivalenceFailed, _run_sat

__all__ = ["prove_engine", "monitor_verilog", "live_bound", "EquivalenceFailed"]

ARCHES = ("systolic-os", "matrix2d")
#: the monitor's assertions, by the wire that holds each (shown in a counterexample)
CHECKS = [("ok_no_extra", 2), ("ok_stable", 3), ("ok_live", 4), ("ok_count", 1),
          ("ok_beats", 1), ("ok_last", 1), ("ok_data", 1)]


def _load(design_or_config, workdir):
    """``(manifest, config, verilog files)`` of a design (manifest path, its directory, or a
    configuration, generated here into ``workdir/design``)."""
    from tpegen import api
    from tpegen.config import Config
    if isinstance(design_or_config, Config):
        path = api.generate(design_or_config, Path(workdir) / "design")
    else:
        path = design_or_config
    manifest, config = api.load(path)
    return manifest, config, api.design_files(manifest, "verilog")


def live_bound(config, kmax, tiles=2):
    """Fair cycles after which every row must be out (property 4): the tiles' beats enter
    (``tiles * kmax``, plus ``min_spacing`` per tile, an upper bound on the spacing stalls),
    the latency of the last one to its row's last PE and the capture, and the ``R`` rows of
    each tile (rows leave one per cycle), plus the input register and a reset cycle."""
    from tpegen.api import elaborate
    engine = elaborate(config)
    return (tiles * (kmax + engine.min_spacing) + engine.latency + tiles * config.rows + 2)


def _ext(expr, width, signed, to):
    if width >= to:
        return f"{expr}[{to - 1}:0]"
    fill = f"{{{to - width}{{{expr}[{width - 1}]}}}}" if signed else f"{to - width}'d0"
    return f"{{{fill}, {expr}}}"


def monitor_verilog(config, top, *, kmax=3, tiles=2, live=None, spec_bug=False, asserts=None):
    """Verilog of the ``spec_monitor`` module for engine ``config`` whose top module is
    ``top`` (see the module docstring). ``spec_bug`` plants an error in the spec (beat 0's
    product of C[0][0] left out), to show the proof refutes a wrong spec."""
    pe = config.pe
    if getattr(pe, "kind", None) != "mac":
        raise ValueError(f"the engine proof needs an integer MAC PE, not {pe.kind!r}")
    if config.arch not in ARCHES:
        raise ValueError(f"the engine proof covers {', '.join(ARCHES)}, not {config.arch!r}")
    R, C, W = config.rows, config.cols, pe.acc_width
    WA, WB = pe.a_width, pe.b_width
    KB = max(kmax, 1).bit_length() + 1          # holds 0..kmax
    TB = tiles.bit_length() + 1                 # holds 0..tiles
    RB = max(R - 1, 1).bit_length()
    live = live_bound(config, kmax, tiles) if live is None else live
    LB = (live + 1).bit_length() + 1
    L = []
    add = L.append
    beats = [(t, k) for t in range(tiles) for k in range(kmax)]
    ports = [f"  input [{R * WA - 1}:0] a_data_in, input a_valid_in",
             f"  input [{C * WB - 1}:0] b_data_in, input b_valid_in", "  input c_ready_in"]
    KR = max(kmax - 1, 1).bit_length()
    ports += [f"  input [{KR - 1}:0] k_in_{t}" for t in range(tiles)]
    ports += [f"  input [{R * WA - 1}:0] a_din_{t}_{k}, input [{C * WB - 1}:0] b_din_{t}_{k}"
              for t, k in beats]
    add("module spec_monitor(input clk,")
    add(",\n".join(ports) + ");")
    add("  reg first = 1;                        // the reset cycle")
    add("  always @(posedge clk) first <= 0;")
    add("  wire rst = first;")
    # free constants, chosen in the reset cycle and held: the tile depths (1..kmax) and the
    # data of every beat (registers loaded from free inputs: no assumption needed)
    consts = [(f"kraw_{t}", KR, f"k_in_{t}") for t in range(tiles)]
    consts += [(f"{s}_d_{t}_{k}", w, f"{s}_din_{t}_{k}") for t, k in beats
               for s, w in (("a", R * WA), ("b", C * WB))]
    for name, width, port in consts:
        add(f"  reg [{width - 1}:0] {name};  always @(posedge clk) {name} <= first ? {port} : "
            f"{name};")
    for t in range(tiles):
        add(f"  wire [{KB - 1}:0] k_{t} = kraw_{t} >= {kmax - 1} ? {kmax} : kraw_{t} + 1;")
    # sources
    for s, n, w in (("a", R, WA), ("b", C, WB)):
        add(f"  // source {s}: legal AXI4-Stream master, free stalls; beat (t, k) carries "
            f"{s}_d_t_k (free data input {s}_data_in while tvalid is low)")
        add(f"  reg [{TB - 1}:0] {s}_tile = 0;  reg [{KB - 1}:0] {s}_k = 0;  reg {s}_hold = 0;")
        add(f"  wire [{KB - 1}:0] {s}_K = " + " : ".join(
            [f"{s}_tile == {t} ? k_{t}" for t in range(tiles - 1)] + [f"k_{tiles - 1}"])
            + ";")
        add(f"  wire {s}_tvalid = !first && {s}_tile < {tiles} && ({s}_hold || {s}_valid_in);")
        add(f"  wire [{n * w - 1}:0] {s}_beat = " + " : ".join(
            f"{s}_tile == {t} && {s}_k == {k} ? {s}_d_{t}_{k}" for t, k in beats)
            + f" : {n * w}'d0;")
        add(f"  wire [{n * w - 1}:0] {s}_tdata = {s}_tvalid ? {s}_beat : {s}_data_in;")
        add(f"  wire {s}_tlast = {s}_k == {s}_K - 1;")
        add(f"  wire {s}_tready;")
        add(f"  wire {s}_xfer = {s}_tvalid && {s}_tready;")
        add("  always @(posedge clk) begin")
        add(f"    if ({s}_xfer) begin")
        add(f"      {s}_hold <= 0;")
        add(f"      if ({s}_tlast) begin {s}_k <= 0; {s}_tile <= {s}_tile + 1; end")
        add(f"      else {s}_k <= {s}_k + 1;")
        add(f"    end else if ({s}_tvalid) {s}_hold <= 1;")
        add("  end")
    # the engine
    add(f"  wire [{C * W - 1}:0] c_tdata;  wire c_tvalid, c_tlast;")
    add("  wire c_ready = c_ready_in && !rst;")
    add(f"  {top} dut(.clk(clk), .rst(rst),")
    add("    .s_axis_a_tdata(a_tdata), .s_axis_a_tvalid(a_tvalid), .s_axis_a_tlast(a_tlast),"
        " .s_axis_a_tready(a_tready),")
    add("    .s_axis_b_tdata(b_tdata), .s_axis_b_tvalid(b_tvalid), .s_axis_b_tlast(b_tlast),"
        " .s_axis_b_tready(b_tready),")
    add("    .m_axis_c_tdata(c_tdata), .m_axis_c_tvalid(c_tvalid), .m_axis_c_tlast(c_tlast),"
        " .m_axis_c_tready(c_ready));")
    # the spec: S_t[i][j] = sum over k < K_t of A_t[i][k] * B_t[k][j] (mod 2**W)
    add(f"  // the spec: S_t[i][j] = sum over k < K_t of A_t[i][k] * B_t[k][j] (mod 2**{W}),"
        f" A_t[i][k] = lane i of a_d_t_k, B_t[k][j] = lane j of b_d_t_k")
    P = WA + WB          # the product's exact width (signed when either operand is)
    signed = pe.a_signed or pe.b_signed
    for t in range(tiles):
        for i in range(R):
            for j in range(C):
                terms = []
                for k in range(kmax):
                    if spec_bug and (t, i, j, k) == (0, 0, 0, 0):
                        continue                  # planted: a product left out
                    add(f"  wire [{WA - 1}:0] A_{t}_{i}_{k}_{j} = "
                        f"a_d_{t}_{k}[{i * WA + WA - 1}:{i * WA}];")
                    add(f"  wire [{WB - 1}:0] B_{t}_{k}_{j}_{i} = "
                        f"b_d_{t}_{k}[{j * WB + WB - 1}:{j * WB}];")
                    a = _ext(f"A_{t}_{i}_{k}_{j}", WA, pe.a_signed, P)
                    b = _ext(f"B_{t}_{k}_{j}_{i}", WB, pe.b_signed, P)
                    add(f"  wire [{P - 1}:0] q_{t}_{i}_{j}_{k} = {a} * {b};")
                    q = _ext(f"q_{t}_{i}_{j}_{k}", P, signed, W)
                    add(f"  wire [{W - 1}:0] p_{t}_{i}_{j}_{k} = k_{t} > {k} ? {q} : {W}'d0;")
                    terms.append(f"p_{t}_{i}_{j}_{k}")
                add(f"  wire [{W - 1}:0] S_{t}_{i}_{j} = "
                    + (" + ".join(terms) or f"{W}'d0") + ";")
    # the checks
    add(f"  reg [{TB - 1}:0] o_tile = 0;  reg [{RB - 1}:0] o_row = 0;")
    add("  wire c_xfer = !rst && c_tvalid && c_ready;")
    rows = [(t, i) for t in range(tiles) for i in range(R)]
    add(f"  wire [{C * W - 1}:0] spec_row = " + " : ".join(
        [f"o_tile == {t} && o_row == {i} ? "
         f"{{{', '.join(f'S_{t}_{i}_{j}' for j in reversed(range(C)))}}}"
         for t, i in rows] + [f"{C * W}'d0"]) + ";")
    add(f"  reg c_pend = 0;  reg [{C * W - 1}:0] c_pend_data = 0;  reg c_pend_last = 0;")
    add(f"  reg [{LB - 1}:0] fair = 0;")
    add(f"  wire fair_now = !rst && c_ready_in && (a_tvalid || a_tile == {tiles})"
        f" && (b_tvalid || b_tile == {tiles});")
    add("  always @(posedge clk) begin")
    add("    c_pend <= !rst && c_tvalid && !c_ready;  c_pend_data <= c_tdata;"
        "  c_pend_last <= c_tlast;")
    add(f"    fair <= !fair_now ? 0 : (fair == {live} ? fair : fair + 1);")
    add("    if (c_xfer) begin")
    add(f"      if (o_row == {R - 1}) begin o_row <= 0; o_tile <= o_tile + 1; end")
    add("      else o_row <= o_row + 1;")
    add("    end")
    add("  end")
    checks = [
        ("ok_no_extra", f"rst || !(o_tile == {tiles} && c_tvalid)",
         f"no row offered after {tiles} tiles of {R} rows"),
        ("ok_stable", "rst || !c_pend || (c_tvalid && c_tdata == c_pend_data"
                      " && c_tlast == c_pend_last)", "an offered row stays until taken"),
        ("ok_live", f"rst || fair < {live} || o_tile == {tiles}",
         f"all rows out after {live} fair cycles"),
        ("ok_count", f"!c_xfer || o_tile < {tiles}", "no extra row transfers"),
        ("ok_beats", "!c_xfer || (a_tile > o_tile && b_tile > o_tile)",
         "a row leaves only after all its tile's beats were sent"),
        ("ok_last", f"!c_xfer || c_tlast == (o_row == {R - 1})", "tlast on row R-1"),
        ("ok_data", "!c_xfer || c_tdata == spec_row", "the row equals the spec sums"),
    ]
    for name, cond, comment in checks:
        add(f"  wire {name} = {cond};  // {comment}")
    add("  always @* begin")
    for name, _, _ in checks:
        if asserts is None or name in asserts:
            add(f"    assert({name});")
    add("  end")
    add("endmodule")
    return "\n".join(L) + "\n"


def prove_engine(design_or_config, workdir, *, bound=None, kmax=3, tiles=2, live=None,
                 data_bound=None, timeout=600, spec_bug=False):
    """Prove the engine (a manifest path or directory, or a configuration generated here)
    against the matrix-product spec of the monitor (module docstring) by bounded model
    checking, ``bound`` cycles from reset (default ``live + 12``).

    Returns ``{"method", "bound", "kmax", "tiles", "live", "seconds", "proved"}``; raises
    :class:`~tpegen.formal.EquivalenceFailed` with the solver's counterexample (the ports
    of the monitor per cycle; a VCD ``counterexample.vcd`` is written into ``workdir``).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    manifest, config, vfiles = _load(design_or_config, workdir)
    top = config.name
    live = live_bound(config, kmax, tiles) if live is None else live
    bound = live + 6 if bound is None else bound
    data_bound = min(bound, 12) if data_bound is None else data_bound
    results = {}
    start = time.monotonic()
    for part, names, depth in (("control", [n for n, _ in CHECKS if n != "ok_data"], bound),
                               ("data", ["ok_data"], data_bound)):
        sub = workdir / part
        sub.mkdir(exist_ok=True)
        (sub / "spec_monitor.v").write_text(
            monitor_verilog(config, top, kmax=kmax, tiles=tiles, live=live,
                            spec_bug=spec_bug, asserts=names))
        results[part] = _check(sub, config, vfiles, tiles, depth, timeout)
    return {"method": results["data"]["method"], "bound": bound, "data_bound": data_bound,
            "kmax": kmax, "tiles": tiles, "live": live,
            "seconds": round(time.monotonic() - start, 2),
            "control_seconds": results["control"]["seconds"],
            "data_seconds": results["data"]["seconds"], "proved": True}


def _check(workdir, config, vfiles, tiles, bound, timeout):
    top = config.name
    reads = "\n".join(f"read_verilog -sv {Path(f).resolve()}" for f in vfiles)
    prep = f"""{reads}
hierarchy -top {top}
proc
setattr -unset init w:*
read_verilog -formal spec_monitor.v
hierarchy -check -top spec_monitor
proc
flatten
chformal -lower
opt
wreduce
opt_clean
"""
    start = time.monotonic()
    abc = _abc()
    if abc is None:           # no ABC: yosys' own SAT (much slower beyond ~10 cycles)
        _sat_bmc(workdir, prep, config, tiles, bound, timeout)
        method = "bmc, yosys sat -tempinduct-baseonly -maxsteps N -prove-asserts"
    else:
        failed = _abc_bmc(workdir, prep, abc, bound, timeout)
        if failed is not None:  # replay the failing depth in yosys sat, for a readable trace
            _sat_bmc(workdir, prep, config, tiles, failed, timeout, seq=True)
            raise EquivalenceFailed(f"{top}: ABC bmc3 found a failure in frame {failed - 1} "
                                    f"that yosys sat -seq {failed} does not reproduce")
        method = "bmc, ABC bmc3 on the AIGER of yosys (write_aiger -zinit)"
    return {"method": method, "seconds": round(time.monotonic() - start, 2)}


def _abc():
    """The ``yosys-abc`` executable (shipped with pyosys), or ``None``."""
    import importlib.util
    import shutil
    spec = importlib.util.find_spec("pyosys")
    if spec is not None and spec.origin:
        exe = Path(spec.origin).parent / "yosys-abc"
        if exe.exists():
            return str(exe)
    return shutil.which("yosys-abc")


def _abc_bmc(workdir, prep, abc, bound, timeout):
    """Bounded check of every assertion in cycles 1..``bound`` with ABC ``bmc3``: ``None``
    when none fails, else the number of cycles of the shortest counterexample."""
    import re
    import subprocess
    script = workdir / "aiger.ys"
    script.write_text(prep + """async2sync
techmap
opt -fast
dffunmap
abc -g AND
opt_clean
write_aiger -zinit monitor.aig
""")
    tools.run(tools.yosys_cmd() + ["-s", script.name], cwd=workdir,
              log=workdir / "aiger.log", timeout=timeout)
    # frames are numbered from 0: -F bound checks cycles 1..bound
    cmd = [abc, "-c", f"read_aiger monitor.aig; fold; strash; bmc3 -F {bound} -v"]
    proc = subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    (workdir / "bmc3.log").write_text(proc.stdout)
    found = re.search(r"was asserted in frame (\d+)", proc.stdout)
    if found:
        return int(found.group(1)) + 1
    if re.search(rf"No output asserted in {bound} frames", proc.stdout):
        return None
    raise EquivalenceFailed(f"ABC bmc3 gave no verdict (log {workdir / 'bmc3.log'}):\n"
                            + "\n".join(proc.stdout.splitlines()[-15:]))


def _sat_bmc(workdir, prep, config, tiles, bound, timeout, seq=False):
    top = config.name
    show = " ".join(f"-show {n}" for n in _shown(config, tiles))
    mode = f"-seq {bound}" if seq else f"-tempinduct-baseonly -maxsteps {bound}"
    script = workdir / "prove_engine.ys"
    keep = " ".join(f"w:{n}" for n in _shown(config, tiles))
    prep = prep.replace("flatten\n", f"flatten\nsetattr -set keep 1 {keep}\n")
    script.write_text(prep + f"sat {mode} -prove-asserts -set-assumes -verify -show-inputs "
                             f"{show} -timeout {timeout} -dump_vcd counterexample.vcd\n")
    try:
        _run_sat(script, f"{top}: the engine does not meet the matrix-product spec "
                         f"(bounded, {bound} cycles)", timeout + 60)
    except EquivalenceFailed as failure:
        log = script.with_suffix(".log").read_text()
        if "SAT model" not in log and "Time Signal" not in log:
            raise
        raise EquivalenceFailed(
            f"{top}: the engine does not meet the matrix-product spec (bounded proof, "
            f"{bound} cycles; log {script.with_suffix('.log')}, waveform "
            f"{workdir / 'counterexample.vcd'}). Counterexample, cycle 1 = reset "
            f"(tdata lane 0 in the low bits; spec_row = the spec's row o_row of tile "
            f"o_tile):\n{trace(log)}") from failure


TRACE_COLUMNS = ["rst", "a_tvalid", "a_tready", "a_tlast", "a_tdata", "a_tile", "b_tvalid",
                 "b_tready", "b_tlast", "b_tdata", "b_tile", "c_tvalid", "c_ready", "c_tlast",
                 "c_tdata", "o_tile", "o_row", "spec_row", "k_0", "k_1", "fair"]


def trace(log_text):
    """The counterexample of a failed ``sat`` run (its model table) as a compact table, one
    line per cycle (values in hex), followed by the assertions that fail and when."""
    import re
    steps = {}
    for m in re.finditer(r"^\s+(\d+)\s+\\(\S+)\s+\S+\s+([0-9a-fA-FxX-]+)\s+[01xX-]+\s*$",
                         log_text, re.M):
        steps.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    if not steps:
        return ""
    cols = [c for c in TRACE_COLUMNS if any(c in v for v in steps.values())]
    width = {c: max(len(c), *(len(v.get(c, "")) for v in steps.values())) for c in cols}
    lines = ["cycle " + " ".join(c.rjust(width[c]) for c in cols)]
    for n in sorted(steps):
        lines.append(f"{n:5d} " + " ".join(steps[n].get(c, "").rjust(width[c]) for c in cols))
    failing = [f"{name} fails in cycle {n}" for n in sorted(steps)
               for name, _ in CHECKS if steps[n].get(name) == "0"]
    return "\n".join(lines + failing)


def _shown(config, tiles):
    """The monitor's signals a counterexample shows, besides its free inputs."""
    names = ["rst", "a_tvalid", "a_tready", "a_tdata", "a_tlast", "a_tile", "b_tvalid",
             "b_tready", "b_tdata", "b_tlast", "b_tile", "c_tvalid", "c_ready", "c_tdata",
             "c_tlast", "o_tile", "o_row", "fair", "spec_row"] + [n for n, _ in CHECKS]
    names += [f"k_{t}" for t in range(tiles)]
    return names


def _modules(vfiles):
    """Names of the modules defined in the Verilog files (escaped names kept escaped)."""
    import re
    names = []
    for f in vfiles:
        for m in re.finditer(r"^module\s+(\\\S+|\w+)", Path(f).read_text(), re.M):
            names.append(m.group(1))
    return names
