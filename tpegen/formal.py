"""Formal proofs that every MAC architecture equals the behavioural reference.

Two engines, each used where it is strong, both on the design's Verilog file: the shipped one
(``vfile``, what ``tpegen prove`` passes) or, without it, one generated afresh.

``sat`` (yosys ``sat -tempinduct``), :func:`prove_equivalent`
    A Verilog miter instantiates the design's module, read from its Verilog file, and the
    behavioural reference (same widths, signedness and registers; ``mult="behavioural"``,
    ``accumulate="cpa"``, generated from the configuration) on shared free inputs, and
    asserts every cycle that their ``result`` ports are equal *and* that their architectural
    states correspond (same input/output registers; the same accumulator, where a carry-save
    design's is ``(S + C) mod 2**acc_width``). The registers holding that state are made
    ports of both modules (yosys ``expose``), so the design's own registers are compared, by
    the names the spec gives them (:func:`state_registers`). The state assertion makes the
    property 1-inductive, so the proof covers every input sequence of any length, with ``clear``,
    ``enable`` and ``rst``. SAT solvers cannot prove two different multiplier structures equal
    beyond a few bits (an 8x8 array-vs-``$mul`` miter ran for more than 8 minutes here without
    an answer, as did ABC ``dprove``), so this engine is used for the behavioural-multiplier
    designs, whose product is the reference's own, and for operands of at most 4 bits, as a
    cross-check of the other engine.
``algebra`` (backward rewriting, :mod:`tpegen.algebra`), :func:`prove_spec`
    The design's gate netlist (yosys ``techmap`` of the generated Verilog) is proved equal to
    the spec as word-level polynomial identities, one per register group, which together say
    that the design refines the spec's state machine cycle by cycle from reset. The final
    carry-propagate adders, where rewriting blows up, are cut out and proved separately by
    SAT (:func:`prove_adder_lemmas`). An 8-bit MAC takes about a second, a 16-bit one two.

:func:`prove` picks the engine for a configuration.
"""

import subprocess
import time
from pathlib import Path

from tpegen import tools

__all__ = ["prove", "prove_spec", "prove_equivalent", "prove_adder_lemmas", "state_registers",
           "reference_config", "write_verilog", "EquivalenceFailed"]


class EquivalenceFailed(AssertionError):
    """The solver found a counterexample (or did not finish)."""


def reference_config(config):
    return config.replace(mult="behavioural", accumulate="cpa", tree="dadda",
                          compressor="3:2", final_adder="behavioural")


def state_registers(config):
    """The canonical architectural state of a MAC (``hdl.mac.Mac.state``: the same names for
    every architecture of one configuration) as ``{name: (registers, expression, width)}``:
    ``registers`` maps the Verilog register names it reads to their widths, ``expression``
    is a Verilog expression over them (``{r}`` stands for register ``r``), taken modulo
    ``2**width``."""
    c = config
    state = {}
    if c.input_reg:
        for name, width in (("a_reg", c.a_width), ("b_reg", c.b_width), ("clear_reg", 1),
                            ("enable_reg", 1)):
            state[name] = ({name: width}, f"{{{name}}}", width)
    if c.accumulate == "carry_save":
        state["acc"] = ({"acc_s": c.acc_width, "acc_c": c.acc_width}, "{acc_s} + {acc_c}",
                        c.acc_width)
    else:
        state["acc"] = ({"acc": c.acc_width}, "{acc}", c.acc_width)
    if c.output_reg:
        state["result_reg"] = ({"result_reg": c.acc_width}, "{result_reg}", c.acc_width)
    return state


def _elaborated_state_names(config):
    from amaranth.hdl import Fragment
    from hdl.mac import Mac
    mac = Mac(config)
    Fragment.get(mac, None)  # elaborate: fills mac.state
    return set(mac.state)


def write_verilog(config, path):
    """Write the Verilog of ``config`` to ``path``, the text ``tpegen generate`` writes (the
    file a proof reads when it is given none), and return ``path``."""
    from amaranth.back import verilog
    from hdl.mac import Mac
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog.convert(Mac(config), name=config.name, emit_src=False))
    return path


MITER = """module miter(input clk, input rst, input [{a_msb}:0] a, input [{b_msb}:0] b,
             input clear, input enable);
{wires}
  {dut} dut(.clk(clk), .rst(rst), .a(a), .b(b), .clear(clear), .enable(enable),
    .result(dut_result){dut_connections});
  {ref} ref(.clk(clk), .rst(rst), .a(a), .b(b), .clear(clear), .enable(enable),
    .result(ref_result){ref_connections});
  always @* begin
    assert(dut_result == ref_result);
{asserts}
  end
endmodule
"""


def _miter(config, reference, dut_top, ref_top):
    """Verilog of the miter, and the registers to expose in each module."""
    dut_state, ref_state = state_registers(config), state_registers(reference)
    if dut_state.keys() != ref_state.keys():
        raise ValueError(f"state maps differ: {sorted(dut_state)} vs {sorted(ref_state)}")
    for cfg in (config, reference):   # the spec's state names are the generator's
        if _elaborated_state_names(cfg) != set(state_registers(cfg)):
            raise ValueError(f"{cfg.name}: hdl.mac.Mac.state has "
                             f"{sorted(_elaborated_state_names(cfg))}, the proof expects "
                             f"{sorted(state_registers(cfg))}")
    wires = [f"  wire [{config.acc_width - 1}:0] dut_result, ref_result;"]
    connections = {"dut": "", "ref": ""}
    asserts = []
    for name in dut_state:
        width = dut_state[name][2]
        for side, state in (("dut", dut_state), ("ref", ref_state)):
            registers, expression, _ = state[name]
            for reg, reg_width in registers.items():
                wires.append(f"  wire [{reg_width - 1}:0] {side}_{reg};")
                connections[side] += f", .{reg}({side}_{reg})"
            value = expression.format(**{r: f"{side}_{r}" for r in registers})
            wires.append(f"  wire [{width - 1}:0] {side}_state_{name} = {value};")
        asserts.append(f"    assert(dut_state_{name} == ref_state_{name});  // state {name}")
    text = MITER.format(a_msb=config.a_width - 1, b_msb=config.b_width - 1,
                        wires="\n".join(wires), dut=dut_top, ref=ref_top,
                        dut_connections=connections["dut"],
                        ref_connections=connections["ref"], asserts="\n".join(asserts))
    exposed = {side: sorted({r for regs, _, _ in state.values() for r in regs})
               for side, state in (("dut", dut_state), ("ref", ref_state))}
    return text, exposed


def prove_equivalent(config, workdir, *, vfile=None, reference=None, timeout=600):
    """Prove the Verilog of ``config`` (the file ``vfile``, by default generated afresh)
    equivalent to ``reference`` (default: the behavioural reference of
    :func:`reference_config`, generated here); returns the seconds taken.

    Raises :class:`EquivalenceFailed` with the solver's log tail (its counterexample trace)
    when the proof fails.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if vfile is None:
        vfile = write_verilog(config, workdir / "design" / f"{config.name}.v")
    reference = (reference or reference_config(config)).replace(
        name=f"{config.name}_reference")
    write_verilog(reference, workdir / "reference.v")
    text, exposed = _miter(config, reference, config.name, reference.name)
    (workdir / "miter.v").write_text(text)
    expose = "\n".join(f"expose {' '.join(f'{top}/w:{r}' for r in exposed[side])}"
                       for side, top in (("dut", config.name), ("ref", reference.name)))
    script = induction_script(workdir, [Path(vfile).resolve(), "reference.v"], expose)
    return _run_sat(script, f"{config.name}: equivalence proof failed", timeout)


def induction_script(workdir, sources, expose, miter="miter.v"):
    """Write ``workdir/prove.ys``: read the Verilog ``sources`` (absolute, or relative to
    ``workdir``), ``expose`` (yosys commands
    making registers ports), the formal ``miter``, and prove its assertions for every input
    sequence from the all-zero initial state (``sat -tempinduct``). Returns its path."""
    script = Path(workdir) / "prove.ys"
    reads = "\n".join(f"read_verilog -sv {s}" for s in sources)
    script.write_text(f"""{reads}
proc
{expose}
read_verilog -formal {miter}
hierarchy -check -top miter
proc
flatten
chformal -lower
opt -fast
sat -tempinduct -prove-asserts -set-init-zero -seq 1 -verify -show-ports
""")
    return script


def _run_sat(script, failure, timeout):
    """Run a yosys script whose last command is ``sat ... -verify``; returns the seconds
    taken, or raises :class:`EquivalenceFailed` with ``failure`` and the log's tail."""
    log = script.with_suffix(".log")
    start = time.monotonic()
    proc = subprocess.run(tools.yosys_cmd() + ["-s", script.name], cwd=script.parent,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    log.write_text(proc.stdout)
    if proc.returncode != 0 or "SUCCESS!" not in proc.stdout:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise EquivalenceFailed(f"{failure} (log {log}):\n{tail}")
    return time.monotonic() - start


# ---------------------------------------------------------------------------------------------
# Algebraic proof against the spec, for operands up to 8 bits and beyond.
# ---------------------------------------------------------------------------------------------

NETLIST_SCRIPT = """read_verilog -sv {vfile}
hierarchy -top {top}
proc
flatten
opt_clean
techmap
opt_clean
write_json {json}
"""


def extract_netlist(vfile, top, workdir):
    """Gate netlist (:class:`~tpegen.algebra.Netlist`) of a generated Verilog file."""
    from tpegen.algebra import Netlist
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "netlist.ys"
    script.write_text(NETLIST_SCRIPT.format(vfile=Path(vfile).resolve(), top=top,
                                            json="netlist.json"))
    tools.run(tools.yosys_cmd() + ["-s", script.name], cwd=workdir, log=workdir / "netlist.log")
    return Netlist(workdir / "netlist.json", top)


def spec_claims(net, config):
    """The MAC spec (``hdl/mac.py``'s docstring) as word-level polynomial identities between
    the netlist's flip-flop inputs/outputs and ports, modulo ``2**acc_width``.

    Returns ``[(label, lhs, rhs)]``; ``lhs`` is over netlist bits (rewritten to inputs), ``rhs``
    is already over ports and flip-flop outputs. Together the claims say that the map
    ``acc = S + C`` (or ``acc``) from the design's registers to the spec's state commutes with
    every clock edge, and that ``result`` reads the spec's value: by induction over cycles
    from reset, the design equals the spec for every input sequence.
    """
    from tpegen import algebra as al
    c = config
    ports = net.ports

    def reg(name):
        if name not in net.regs:
            raise al.RewriteError(f"register {name} not found in the netlist "
                                  f"(registers: {', '.join(sorted(net.regs))})")
        return net.regs[name]

    keep = al.complement(al.bit_poly(ports["rst"][0]))   # 1 - rst
    operands = {"a": ports["a"], "b": ports["b"], "clear": ports["clear"],
                "enable": ports["enable"]}
    claims = []
    if c.input_reg:
        for name in ("a", "b", "clear", "enable"):
            q, d = reg(f"{name}_reg")
            claims.append((f"{name}_reg' = (1 - rst) * {name}", al.word(d),
                           al.mul(keep, al.word(ports[name]))))
            operands[name] = q
    A = al.word(operands["a"], c.a_signed)
    B = al.word(operands["b"], c.b_signed)
    clear = al.bit_poly(operands["clear"][0])
    enable = al.bit_poly(operands["enable"][0])
    if c.accumulate == "carry_save":
        (s_q, s_d), (c_q, c_d) = reg("acc_s"), reg("acc_c")
        acc = al.add(al.word(s_q), al.word(c_q))
        acc_next = al.add(al.word(s_d), al.word(c_d))
        claims += [("sum port = S", al.word(ports["sum"]), al.word(s_q)),
                   ("carry port = C", al.word(ports["carry"]), al.word(c_q))]
        label = "S' + C' = (1 - rst) * ((1 - clear) * (S + C) + enable * a * b)"
    else:
        acc_q, acc_d = reg("acc")
        acc, acc_next = al.word(acc_q), al.word(acc_d)
        label = "acc' = (1 - rst) * ((1 - clear) * acc + enable * a * b)"
    spec_next = al.mul(keep, al.add(al.mul(al.complement(clear), acc),
                                    al.mul(enable, al.mul(A, B))))
    claims.append((label, acc_next, spec_next))
    if c.output_reg:
        r_q, r_d = reg("result_reg")
        claims += [("result_reg' = (1 - rst) * acc", al.word(r_d), al.mul(keep, acc)),
                   ("result = result_reg", al.word(ports["result"]), al.word(r_q))]
    else:
        claims.append(("result = acc", al.word(ports["result"]), acc))
    return claims


def _describe(net, monomial):
    names = {}
    for name, bits in net.ports.items():
        for i, bit in enumerate(bits):
            names.setdefault(bit, f"{name}[{i}]")
    for name, (q, _) in net.regs.items():
        for i, bit in enumerate(q):
            names.setdefault(bit, f"{name}[{i}]")
    return sorted(names.get(v, f"net{v}") for v in monomial)


def prove_spec(config, workdir, *, vfile=None, progress=None, random_check=True):
    """Prove the generated Verilog of ``config`` (or ``vfile``) equal to the MAC spec, for all
    input sequences, by algebraic rewriting; returns ``{"seconds", "peak_terms", "claims"}``.

    Raises :class:`EquivalenceFailed` naming the failing claim and a counterexample: the
    inputs and register bits set to 1 (all others 0) under which the two sides differ. Unless
    ``random_check`` is off, the claims are first evaluated on random vectors, which refutes
    most wrong designs at once.
    """
    from tpegen.algebra import Poly
    workdir = Path(workdir)
    start = time.monotonic()
    if vfile is None:
        vfile = write_verilog(config, workdir / f"{config.name}.v")
    net = extract_netlist(vfile, config.name, workdir)
    adders = _adder_prefixes(config)
    lemma_seconds = prove_adder_lemmas(vfile, config.name, adders, config.acc_width, workdir)
    lemmas = [_adder_lemma(net, p) for p in adders]
    peak = 0
    claims = spec_claims(net, config)
    if random_check:
        _random_check(net, config, claims)
    for label, lhs, rhs in claims:
        poly = Poly(config.acc_width)
        poly.add_poly(lhs)
        poly.add_poly(rhs, factor=-1)
        net.reduce(poly, lemmas=lemmas, progress=progress)
        peak = max(peak, poly.peak)
        if len(poly):
            monomial = min(poly.terms, key=len)
            raise EquivalenceFailed(
                f"{config.name}: claim '{label}' fails. Counterexample: set "
                f"{', '.join(_describe(net, monomial)) or 'every input to 0'} to 1 and every "
                f"other input and register bit to 0; the two sides then differ by "
                f"{poly.terms[monomial]} (mod 2**{config.acc_width}).")
    return {"engine": "algebra", "seconds": round(time.monotonic() - start, 2),
            "peak_terms": peak,
            "claims": len(claims), "adder_lemmas": len(adders),
            "sat_seconds": round(lemma_seconds, 2)}


def _random_check(net, config, claims, vectors=512, seed=1):
    """Evaluate every claim on random inputs and register values before rewriting: a wrong
    design is refuted at once with a concrete counterexample (rewriting a wrong design may
    grow without bound, since nothing cancels)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    sources = set(net.inputs) | net.flop_bits
    inputs = {b: rng.integers(0, 2, vectors, dtype=np.uint8) for b in sources}
    mask = (1 << config.acc_width) - 1
    for label, lhs, rhs in claims:
        diff = net.simulate(lhs, inputs) - net.simulate(rhs, inputs)
        bad = [i for i, d in enumerate(diff) if int(d) & mask]
        if bad:
            i = bad[0]
            ones = _describe(net, [b for b in sources if inputs[b][i]])
            raise EquivalenceFailed(
                f"{config.name}: claim '{label}' fails on random vector {i} (seed {seed}). "
                f"Counterexample: set {', '.join(ones) or 'nothing'} to 1 and every other "
                f"input and register bit to 0; the two sides then differ by "
                f"{int(diff[i]) & mask} (mod 2**{config.acc_width}).")


def _adder_lemma(net, prefix):
    """``(sum bits, x + y)`` of one final adder. A sum bit that is the same net as an operand
    bit (``sum[0] = x[0]`` when ``y[0]`` is constant zero) is taken out of both sides, so that
    it stays an ordinary net for the rewriter."""
    from tpegen import algebra as al
    s = list(net.netnames[f"{prefix}_sum"])
    x = list(net.netnames[f"{prefix}_x"])
    y = list(net.netnames[f"{prefix}_y"])
    for i in range(len(s)):
        if s[i] == x[i] and y[i] == "0":
            s[i] = x[i] = "0"
        elif s[i] == y[i] and x[i] == "0":
            s[i] = y[i] = "0"
    return s, al.add(al.word(x), al.word(y))


def _adder_prefixes(config):
    from hdl.mac import Mac
    from amaranth.hdl import Fragment
    mac = Mac(config)
    Fragment.get(mac, None)  # elaborate: fills mac.adders
    return list(mac.adders)


LEMMA_WRAPPER = """module adder_lemmas(input clk, input rst);
{wires}
  {top} dut(.clk(clk), .rst(rst){connections});
  always @* begin
{asserts}
  end
endmodule
"""


def prove_adder_lemmas(vfile, top, prefixes, width, workdir, *, timeout=600):
    """Prove ``<p>_sum == <p>_x + <p>_y (mod 2**width)`` for each final adder ``p`` of the
    generated Verilog, by SAT (yosys ``sat``) with the operands cut free (``cutpoint``), so the
    proof covers every operand value whatever drives it. Returns the seconds taken."""
    if not prefixes:
        return 0.0
    workdir = Path(workdir)
    names = [f"{p}_{part}" for p in prefixes for part in ("x", "y", "sum")]
    wires = "\n".join(f"  wire [{width - 1}:0] {n};" for n in names)
    connections = "".join(f", .{n}({n})" for n in names)
    asserts = "\n".join(f"    assert({p}_sum == {p}_x + {p}_y);" for p in prefixes)
    (workdir / "adder_lemmas.v").write_text(LEMMA_WRAPPER.format(
        wires=wires, top=top, connections=connections, asserts=asserts))
    cut = " ".join(f"w:{p}_x w:{p}_y" for p in prefixes)
    script = workdir / "adder_lemmas.ys"
    script.write_text(f"""read_verilog -sv {Path(vfile).resolve()}
hierarchy -top {top}
proc
flatten
cutpoint {cut}
expose {' '.join('w:' + n for n in names)}
read_verilog -formal adder_lemmas.v
hierarchy -top adder_lemmas
proc
flatten
chformal -lower
opt -fast
sat -prove-asserts -verify -show-inputs
""")
    return _run_sat(script, f"{top}: a final adder is not x + y", timeout)


def prove(config, workdir, *, vfile=None):
    """Prove the Verilog file ``vfile`` of ``config`` (by default one generated afresh) equal
    to the behavioural reference with the engine that suits it (see the module docstring);
    every engine reads that one file. Returns ``{"engine", "seconds", ...}``."""
    workdir = Path(workdir)
    if vfile is None:
        vfile = write_verilog(config, workdir / "design" / f"{config.name}.v")
    if config.mult == "behavioural":
        seconds = prove_equivalent(config, workdir, vfile=vfile)
        return {"engine": "sat", "seconds": round(seconds, 2)}
    report = prove_spec(config, workdir / "algebra", vfile=vfile)
    if config.a_width <= 4 and config.b_width <= 4:
        report["sat_cross_check_seconds"] = round(
            prove_equivalent(config, workdir / "sat", vfile=vfile), 2)
    return report
