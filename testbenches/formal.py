"""Formal equivalence of a tpegen MAC architecture with the behavioural reference.

The miter instantiates the design under test and the reference (same widths, signedness and
registers; ``mult="behavioural"``, ``accumulate="cpa"``) on shared free inputs, and asserts
every cycle that

* their ``result`` ports are equal, and
* their architectural states correspond: the same input and output registers, and the same
  accumulator value, where a carry-save design's value is ``(S + C) mod 2**acc_width``.

The second assertion is the inductive strengthening: it makes the property provable by
one-step induction (yosys ``sat -tempinduct``) from the all-zero reset state, for every input
sequence of any length, including ``clear``, ``enable`` and ``rst``. The induction step is
exactly the statement that the compressor tree computes ``S' + C' == S + C + a*b`` (or
``acc + a*b`` through the fused tree and final adder) for *all* states, not only reachable
ones.
"""

import subprocess
import time
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Assert, Elaboratable, Module, Signal

from tpegen import tools

__all__ = ["MacMiter", "prove_equivalent", "reference_config"]


def reference_config(config):
    return config.replace(mult="behavioural", accumulate="cpa", tree="dadda",
                          compressor="3:2", final_adder="behavioural")


class MacMiter(Elaboratable):
    def __init__(self, config, reference=None):
        from hdl.mac import Mac
        self.dut = Mac(config)
        self.ref = Mac(reference or reference_config(config))
        self.a = Signal(config.a_width)
        self.b = Signal(config.b_width)
        self.clear = Signal()
        self.enable = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        m.submodules.ref = ref = self.ref
        for port in ("a", "b", "clear", "enable"):
            m.d.comb += [getattr(dut, port).eq(getattr(self, port)),
                         getattr(ref, port).eq(getattr(self, port))]
        m.d.comb += Assert(dut.result == ref.result, "result differs")
        # Elaborating the submodules fills their .state dicts, so read them afterwards.
        m.submodules.state_check = _StateCheck(dut, ref)
        return m


class _StateCheck(Elaboratable):
    def __init__(self, dut, ref):
        self.dut, self.ref = dut, ref

    def elaborate(self, platform):
        m = Module()
        assert self.dut.state.keys() == self.ref.state.keys(), "state maps differ"
        for name in self.dut.state:
            m.d.comb += Assert(self.dut.state[name] == self.ref.state[name],
                               f"state {name} differs")
        return m


def prove_equivalent(config, workdir, *, timeout=600):
    """Prove ``config`` equivalent to the behavioural reference; returns the seconds taken.

    Raises ``AssertionError`` with the solver's log tail when the proof fails.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    miter = MacMiter(config)
    il = workdir / "miter.il"
    il.write_text(rtlil.convert(miter, ports=[miter.a, miter.b, miter.clear, miter.enable],
                                name="miter"))
    script = workdir / "prove.ys"
    script.write_text(f"""read_rtlil {il.name}
hierarchy -top miter
proc
flatten
chformal -lower
opt -fast
sat -tempinduct -prove-asserts -set-init-zero -seq 1 -verify -show-ports
""")
    start = time.monotonic()
    proc = subprocess.run(tools.yosys_cmd() + ["-s", script.name], cwd=workdir,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    (workdir / "prove.log").write_text(proc.stdout)
    seconds = time.monotonic() - start
    if proc.returncode != 0 or "SUCCESS!" not in proc.stdout:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise AssertionError(f"{config.name}: equivalence proof failed "
                             f"(log {workdir / 'prove.log'}):\n{tail}")
    return seconds
