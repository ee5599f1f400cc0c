"""Formal proofs of the mixed-precision PEs against specs written in the proof itself.

:func:`prove_simd`
    The SIMD MAC (:class:`hdl.pe.simd.SimdMac`, either datapath) against a reference
    written here in Verilog from the spec (:mod:`golden.pe.simd`): per mode, separate
    ``*`` multipliers on the mode's lanes (each lane sign- or zero-extended to the
    accumulator), their sum added to a reference accumulator with the same ``clear`` /
    ``enable`` / ``rst`` rule. A miter drives both with the same free inputs and asserts
    every cycle that the design's ``result`` and its accumulator register (exposed with
    yosys ``expose``) equal the reference's. The state assertion makes the property
    1-inductive, so yosys ``sat -tempinduct`` proves it for every input sequence of any
    length, every mode switch included. SAT proves multiplier structures equal only for
    small widths (see :mod:`tpegen.formal`), so the suite proves W = 4 and W = 6.
"""

from pathlib import Path

from .formal import EquivalenceFailed, _run_sat, induction_script

__all__ = ["prove_simd", "simd_reference", "EquivalenceFailed"]

SIMD_MITER = """module miter(input clk, input rst, input [{msb}:0] a, input [{msb}:0] b,
             input [1:0] mode, input clear, input enable);
  wire [{acc_msb}:0] dut_result, dut_acc;
  {dut} dut(.clk(clk), .rst(rst), .a(a), .b(b), .mode(mode), .clear(clear),
    .enable(enable), .result(dut_result), .acc(dut_acc));
  // the reference: the spec's lanes, one multiplier per lane per mode
{lanes}
  wire [{acc_msb}:0] ref_sum = {sum};
  reg [{acc_msb}:0] ref_acc;
  always @(posedge clk)
    if (rst) ref_acc <= 0;
    else if (clear | enable) ref_acc <= (clear ? {acc_w}'d0 : ref_acc) + (enable ? ref_sum : {acc_w}'d0);
  always @* begin
    assert(dut_result == ref_acc);
    assert(dut_acc == ref_acc);  // state acc
  end
endmodule
"""


def simd_reference(config):
    """``(lane declarations, sum expression)``: the reference's Verilog, from the spec."""
    acc = config.acc_width
    lines, terms = [], []
    for code, _, n, wa, wb in config.modes():
        products = []
        for i in range(n):
            for side, bits, signed in (("a", wa, config.a_signed), ("b", wb, config.b_signed)):
                lo, hi = i * bits, (i + 1) * bits - 1
                ext = f"{side}[{hi}]" if signed else "1'b0"
                lines.append(f"  wire [{acc - 1}:0] m{code}_{side}{i} = "
                             f"{{{{{acc - bits}{{{ext}}}}}, {side}[{hi}:{lo}]}};")
            lines.append(f"  wire [{acc - 1}:0] m{code}_p{i} = m{code}_a{i} * m{code}_b{i};")
            products.append(f"m{code}_p{i}")
        lines.append(f"  wire [{acc - 1}:0] m{code}_sum = {' + '.join(products)};")
        terms.append((code, f"m{code}_sum"))
    expression = f"{acc}'d0"
    for code, name in reversed(terms):
        expression = f"(mode == 2'd{code}) ? {name} : {expression}"
    return "\n".join(lines), expression


def prove_simd(config, workdir, *, vfile=None, timeout=600):
    """Prove the SIMD MAC's Verilog (``vfile``, by default generated afresh) equal to the
    spec reference; returns ``{"engine": "sat", "seconds"}`` or raises
    :class:`EquivalenceFailed` with the solver's counterexample."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if vfile is None:
        from amaranth.back import verilog
        from hdl.pe.simd import SimdMac
        vfile = workdir / "design" / f"{config.name}.v"
        vfile.parent.mkdir(parents=True, exist_ok=True)
        vfile.write_text(verilog.convert(SimdMac(config), name=config.name, emit_src=False))
    lanes, total = simd_reference(config)
    (workdir / "miter.v").write_text(SIMD_MITER.format(
        msb=2 * config.width - 1, acc_msb=config.acc_width - 1, acc_w=config.acc_width,
        dut=config.name, lanes=lanes, sum=total))
    script = induction_script(workdir, [Path(vfile).resolve()], f"expose {config.name}/w:acc")
    seconds = _run_sat(script, f"{config.name}: proof against the spec failed", timeout)
    return {"engine": "sat", "seconds": round(seconds, 2)}
