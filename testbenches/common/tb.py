"""Manifest-driven testbench parts shared by every unit: clock/reset, driver, monitor,
scoreboard. They find ports by *role* through the design manifest, never by hard-coded name.

The timing convention is one for all tpegen units: inputs are driven, and outputs sampled, at
the falling edge of ``clk``, half a period away from the rising edge where registers update.
cocotb applies writes at the end of the time step (its ReadWrite phase), so everything read in
a falling-edge callback is the value of before that step's writes: an input read back there
is the value the *previous* rising edge saw, and an output is the value after it.

Two families of parts:

* this module's, for units without handshake, where every cycle is a transaction:
  :class:`Driver` (writes inputs), :class:`Monitor` (reads ports: the inputs the last edge saw,
  the outputs after it) and :class:`CycleScoreboard`, which feeds the golden model the inputs
  the input monitor *observed* and compares its outputs with the observed ones in numpy
  batches. :class:`Scoreboard` is its base, with the value-by-value :meth:`~Scoreboard.check`.
* :mod:`testbenches.common.stream`'s, for valid/ready streams (handshake designs).
"""

import bisect
import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock

__all__ = ["load_manifest", "Run", "Ports", "Driver", "Monitor", "Scoreboard",
           "CycleScoreboard", "Check", "Progress", "start_clock", "Mismatch", "XValue",
           "reader", "readers", "column", "run_phases", "stepper"]


def load_manifest():
    """The manifest of the design under test (its path is in ``TPEGEN_MANIFEST``)."""
    with open(os.environ["TPEGEN_MANIFEST"]) as f:
        return json.load(f)


class Run:
    """What a testbench starts from, read from the environment the harness sets: the
    ``manifest``, its configuration ``cfg``, the ``seed`` (logged) and its ``rng``, and
    ``random_cycles``."""

    def __init__(self, dut):
        from numpy.random import default_rng

        from tpegen.registry import config_from_dict
        self.manifest = load_manifest()
        self.cfg = config_from_dict(self.manifest["kind"], self.manifest["parameters"])
        self.seed = int(os.environ.get("TPEGEN_SEED", "1"))
        self.log = dut._log
        self.log.info("design %s, seed %d", self.cfg.name, self.seed)
        self.rng = default_rng(self.seed)
        self.random_cycles = int(os.environ.get("TPEGEN_RANDOM_CYCLES", "100000"))
        self.quick = os.environ.get("TPEGEN_QUICK") == "1"


class Ports:
    """Role -> handle lookup for the design under test (and name -> handle, for designs
    where a role occurs more than once, such as the ``valid`` of two streams)."""

    def __init__(self, dut, manifest):
        self.dut = dut
        self.by_role = {p["role"]: p for p in manifest["ports"]}
        self.by_name = {p["name"]: p for p in manifest["ports"]}

    def has(self, role):
        return role in self.by_role

    def handle(self, role):
        return getattr(self.dut, self.by_role[role]["name"])

    def width(self, role):
        return self.by_role[role]["width"]

    def named(self, name):
        return getattr(self.dut, name)


async def start_clock(dut, ports, period_ns=10):
    clk = ports.handle("clk")
    cocotb.start_soon(Clock(clk, period_ns, unit="ns").start())
    return clk


class XValue(AssertionError):
    """A port read as X or Z (4-state simulators) where a 0/1 value was expected."""


def _binstr_getter(handle):
    return getattr(getattr(handle, "_handle", None), "get_signal_val_binstr", None)


def readers(handles):
    """A function that returns the current values of ``handles`` as a tuple of unsigned
    integers.

    cocotb's ``handle.value`` builds a ``LogicArray`` on every read (about 1.2 us under
    Verilator); this reads the simulator's bit strings through the handles' GPI objects and
    converts them with ``int(s, 2)`` (about 0.2 us each), which keeps a testbench that reads
    every input and output port every cycle as fast as one that reads only the outputs. An X
    or Z raises :class:`XValue` naming the port. Falls back to ``handle.value`` for a handle
    without the GPI object."""
    handles = list(handles)
    gets = [_binstr_getter(h) for h in handles]
    if any(g is None for g in gets):
        gets = [(lambda h=h: str(h.value)) for h in handles]

    def read():
        try:
            return tuple([int(get(), 2) for get in gets])
        except ValueError:
            for handle, get in zip(handles, gets):
                bits = get()
                if set(bits) - {"0", "1"}:
                    raise XValue(f"{getattr(handle, '_name', handle)} = {bits}: not a 0/1 "
                                 "value") from None
            raise
    return read


def reader(handle):
    """A function that returns ``handle``'s current value as an unsigned integer (see
    :func:`readers`)."""
    read = readers([handle])
    return lambda: read()[0]


def column(values, width):
    """A numpy array of unsigned port values: ``uint64`` up to 64 bits, Python ints above."""
    return np.array(values, dtype=np.uint64 if width <= 64 else object)


class Driver:
    """Writes integers (negative allowed) to input ports as their two's complement bits.
    A port is written only when its value changes (a write costs about 1.2 us; in the MAC's
    exhaustive phase most ports keep their value from one cycle to the next)."""

    def __init__(self, ports, roles):
        self.handles = [(ports.handle(r), (1 << ports.width(r)) - 1) for r in roles]
        self.roles = list(roles)
        self.last = [None] * len(self.handles)

    def drive(self, *values):
        last = self.last
        i = 0
        for value in values:
            if value != last[i]:
                handle, mask = self.handles[i]
                handle.value = int(value) & mask
                last[i] = value
            i += 1


class Monitor:
    """Reads ports (by role) as unsigned integers: :meth:`read` (a tuple, in ``roles``
    order) or :meth:`sample` (a dict)."""

    def __init__(self, ports, roles):
        self.roles = list(roles)
        self.handles = {r: ports.handle(r) for r in roles}
        #: ``read()``: the ports' values, a tuple in ``roles`` order
        self.read = readers(self.handles.values())
        self.widths = [ports.width(r) for r in roles]

    def sample(self):
        return dict(zip(self.roles, self.read()))


class Mismatch(AssertionError):
    pass


def _hex(value, width):
    return f"{value} (0x{value:0{(width + 3) // 4}x})" if width else str(value)


class Scoreboard:
    """Compares observed values with expected ones and stops at the first mismatch.

    The failure message gives the cycle, the phase, the inputs of the last few cycles, the
    expected and observed values, and the seed that reproduces it.
    """

    def __init__(self, log, seed, history=4):
        self.log = log
        self.seed = seed
        self.checks = 0
        self.cycles = 0
        self.recent = []
        self.history = history

    def note_inputs(self, cycle, phase, inputs):
        self.recent.append((cycle, phase, inputs))
        del self.recent[:-self.history]

    def check(self, cycle, name, observed, expected, width=None):
        self.checks += 1
        if observed != expected:
            self.fail(cycle, name, observed, expected, width, self.recent)

    def fail(self, cycle, name, observed, expected, width, recent):
        fmt = (lambda v: _hex(v, width)) if width else str
        lines = [f"MISMATCH at cycle {cycle}, {name}: expected {fmt(expected)}, "
                 f"observed {fmt(observed)} (seed {self.seed})",
                 "last inputs (cycle, phase, inputs):"]
        lines += [f"  {c} {p} {i}" for c, p, i in recent]
        raise Mismatch("\n".join(lines))


class Check:
    """One comparison a :class:`CycleScoreboard` makes every cycle.

    Parameters
    ----------
    name : str
        As the failure message names it (``result``, ``(sum+carry) mod 2^W``).
    width : int
        Bits of the compared value (for the message's hex, and numpy's dtype).
    observed : callable
        ``observed(columns)`` -> array, from ``{output role: array of observed values}``.
    expected : int
        Index of the value in the tuple the model step returns.
    """

    def __init__(self, name, width, observed, expected):
        self.name, self.width, self.observed, self.expected = name, width, observed, expected


class CycleScoreboard(Scoreboard):
    """Scoreboard of a unit without handshake: every cycle is one transaction.

    Each cycle the testbench calls :meth:`add` with what the monitors read at a falling
    edge: the inputs the previous rising edge saw (the input monitor) and the outputs after
    that edge (the output monitor). Every ``batch`` cycles (and at :meth:`flush`), the
    scoreboard feeds the golden model those observed inputs in order, ``step(*inputs)`` ->
    the tuple of expected values after the edge, and compares every :class:`Check` over the
    whole batch as numpy arrays; the first failing cycle is reported with the inputs of the
    cycles before it, the phase, and the seed.

    Cycle numbering: sample ``k`` (the ``k``-th call of :meth:`add`) holds the outputs after
    the edge that ends cycle ``k - 1`` and the inputs driven in cycle ``k - 1``.

    Instead of ``step``, a batch model can be given: ``model(inputs)`` takes the batch's list
    of observed input tuples (in order; the model keeps its own state from one batch to the
    next) and returns the expected columns, indexed by :attr:`Check.expected` (arrays or
    lists of one value per sample). A vectorized golden model computes a whole batch in a
    few numpy calls this way.
    """

    def __init__(self, log, seed, step, checks, input_names, outputs, *, batch=4096,
                 history=4, model=None):
        super().__init__(log, seed, history)
        if (step is None) == (model is None):
            raise ValueError("give a CycleScoreboard either step or model")
        self.step, self.checks_list = step, list(checks)
        self.model = model
        self.input_names = list(input_names)
        self.output_widths = dict(outputs)      # output name -> width, in sample order
        self.batch = batch
        self.inputs, self.outputs = [], []
        self.first = 0                  # sample index of self.inputs[0]
        self.phases, self.phase_names = [], []
        self.previous = []              # the last few inputs of the batch before

    def phase(self, cycle, name):
        """Phase ``name`` drives its first inputs in ``cycle``."""
        self.phases.append(cycle)
        self.phase_names.append(name)

    def phase_of(self, cycle):
        i = bisect.bisect_right(self.phases, cycle) - 1
        return self.phase_names[i] if i >= 0 else "reset"

    def add(self, inputs, outputs):
        self.inputs.append(inputs)
        self.outputs.append(outputs)
        if len(self.outputs) >= self.batch:
            self.flush()

    def flush(self):
        """Feed the model the observed inputs of this batch and compare the batch."""
        inputs, outputs = self.inputs, self.outputs
        if not outputs:
            return
        if self.model is not None:
            columns = self.model(inputs)
        else:
            step = self.step
            columns = list(zip(*[step(*i) for i in inputs]))
        observed = {name: column([o[j] for o in outputs], width) for j, (name, width) in
                    enumerate(self.output_widths.items())}
        for check in self.checks_list:
            got = check.observed(observed)
            want = column(columns[check.expected], check.width)
            bad = np.flatnonzero(got != want)
            if bad.size:
                i = int(bad[0])
                cycle = self.first + i
                recent = [(cycle - 1 - k, self.phase_of(cycle - 1 - k), inp) for k, inp in
                          self._recent(i)]
                self.fail(cycle, check.name, int(got[i]), int(want[i]), check.width,
                          recent[::-1])
            self.checks += len(outputs)
        self.cycles += len(outputs)
        self.previous = (self.previous + inputs)[-self.history:]
        self.first += len(outputs)
        self.inputs, self.outputs = [], []

    def _recent(self, i):
        """(distance back, named inputs) of the inputs driven before sample ``i``."""
        history = (self.previous + self.inputs[:i + 1])[-self.history:]
        return [(k, dict(zip(self.input_names, inp))) for k, inp in
                enumerate(reversed(history))]


class Progress:
    """Logs progress of a long run every ``every`` seconds."""

    def __init__(self, log, total, label, every=10.0, unit="cycles"):
        self.log, self.total, self.label, self.every = log, total, label, every
        self.unit = unit
        self.start = self.last = time.monotonic()

    def update(self, done, cycles=None):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            if cycles is None:
                rate = done / (now - self.start)
                self.log.info("%s: %d/%d %s (%.0f cycles/s)", self.label, done, self.total,
                              self.unit, rate)
            else:
                self.log.info("%s: %d/%d %s, %d cycles (%.0f cycles/s)", self.label, done,
                              self.total, self.unit, cycles, cycles / (now - self.start))

    def rate(self, done):
        return done / max(time.monotonic() - self.start, 1e-9)


async def run_phases(clk, phases, drive, board, observe_inputs, observe_outputs, *, log,
                     label, seed):
    """Drive ``phases`` (``[(name, column, column, ...)]``, one input value per column per
    cycle, in the order ``drive`` takes them) one cycle each at the falling edge of ``clk``,
    handing the :class:`CycleScoreboard` ``board`` what the monitors observed every cycle;
    flush it and log the PASS line. Returns the cycles run."""
    from cocotb.triggers import FallingEdge
    total = sum(len(p[1]) for p in phases)
    progress = Progress(log, total, label)
    add = board.add
    edge = FallingEdge(clk)
    cycle = 0
    for phase, *columns in phases:
        log.info("phase %s: %d cycles", phase, len(columns[0]))
        board.phase(cycle, phase)
        for values in zip(*(c.tolist() for c in columns)):
            add(observe_inputs(), observe_outputs())
            drive(*values)
            await edge
            cycle += 1
            if not cycle & 0xFFF:
                progress.update(cycle)
    add(observe_inputs(), observe_outputs())     # the last cycle's edge
    board.flush()
    log.info("PASS %s: %d cycles, %d checks, %.0f cycles/s, seed %d", label, cycle,
             board.checks, progress.rate(cycle), seed)
    return cycle


def stepper(model, read=lambda model: (model.result,)):
    """The ``step`` a :class:`CycleScoreboard` takes, from a cycle model: ``step(*inputs,
    rst)`` applies a synchronous reset, or one rising edge ``model.tick(*inputs)`` on the
    observed inputs, then returns the expected outputs ``read(model)``."""
    def step(*inputs):
        *values, rst = inputs
        if rst:
            model.reset()
        else:
            model.tick(*values)
        return read(model)
    return step
