"""Testbench parts for valid/ready streams, in the pattern of cocotb's ``matrix_multiplier``
example: a driver, monitors, a model and a scoreboard as small classes, the model fed from
what the *input monitor observed* at the ports, not from what the driver meant to send.

* :class:`StreamDriver` presents a queue of transactions on an input stream, with random
  bubbles (idle cycles between transactions, seeded), holding each transaction until it is
  accepted (AXI4-Stream: valid may not drop, nor data change, before the transfer).
* :class:`Backpressure` drives a stream's ``ready`` at random (in regimes: a probability
  that changes every few hundred cycles, plus occasional long stalls).
* :class:`StreamMonitor` records every transfer (``valid & ready`` at a rising edge, no
  reset) with its cycle, and asserts the source's rules every cycle: a valid transaction
  stays valid and unchanged until accepted; a design's stream is empty after a reset.
* :class:`Scoreboard` feeds the golden model the observed input transfers, in order, and
  compares the observed output transfers with its results in numpy batches. It reports the
  first disagreement with the transaction indices, cycles, inputs, expected and observed
  values and the seed, and says when it is a *dropped* or a *duplicated* transaction (the
  outputs from there on are those of the next input, or repeat the previous output); at the
  end it checks the counts.
* :func:`registered_outputs` checks, for the first cycles, that the design's handshake
  outputs do not depend combinationally on the testbench's inputs.

Timing (the one convention of :mod:`testbenches.common.tb`): everything is driven and read
at the falling edge of ``clk``, and cocotb applies writes only at the end of that time step.
So at the falling edge that starts cycle ``k``, a signal the *design* drives reads as the value
the rising edge of cycle ``k`` will see (it is a function of registers: the TVALID rule, which
:func:`registered_outputs` checks), and a signal the *testbench* drives reads back as the
value the rising edge of cycle ``k - 1`` saw. A monitor combines the two: at each falling edge
it settles the previous cycle's edge. Cycle ``k`` starts at the ``k``-th falling edge after
the initial reset.
"""

import logging
from collections import deque

import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from testbenches.common.tb import Mismatch, column, readers

__all__ = ["StreamDriver", "Backpressure", "StreamMonitor", "Scoreboard", "ProtocolError",
           "Random", "registered_outputs", "RESET"]

class _Reset:
    def __repr__(self):
        return "RESET"


#: a queue entry of :class:`StreamDriver`: a one-cycle synchronous reset, in order
RESET = _Reset()


class ProtocolError(AssertionError):
    """A handshake rule was broken (the design's or the testbench's)."""


class Random:
    """Uniform floats in [0, 1) from a seeded numpy generator, drawn in blocks (one numpy
    call per 4,096 draws instead of one per cycle)."""

    def __init__(self, rng, block=4096):
        self.rng, self.block = rng, block
        self.values, self.i = [], 0

    def __call__(self):
        if self.i == len(self.values):
            self.values, self.i = self.rng.random(self.block).tolist(), 0
        self.i += 1
        return self.values[self.i - 1]

    def integer(self, lo, hi):
        """An integer in ``lo..hi``."""
        return lo + int(self() * (hi - lo + 1))


class _Writer:
    """Writes integers to handles, only when the value changes (a write costs ~1 us)."""

    def __init__(self, handles):
        self.handles = list(handles)
        self.masks = [(1 << len(h)) - 1 for h in self.handles]
        self.last = [None] * len(self.handles)

    def write(self, values):
        last = self.last
        for i, value in enumerate(values):
            if value != last[i]:
                self.handles[i].value = int(value) & self.masks[i]
                last[i] = value


class StreamDriver:
    """Drives an input stream (``valid``, data) from a queue of transactions.

    Call :meth:`tick` at every falling edge. When no transaction is pending, the next one
    is presented with probability ``1 - bubble`` (else an idle cycle); a presented
    transaction is held, valid and unchanged, until the design's ``ready`` accepts it. The
    entry :data:`RESET` in the queue drives the reset ``rst`` for one cycle (with ``valid``
    low) once the transaction before it has been accepted.

    Parameters
    ----------
    valid, ready : handle
        The stream's valid (driven) and ready (read).
    data : list of handles
        The data ports, in the order of each transaction's values.
    rng : numpy Generator
        The seeded generator of the bubbles.
    bubble : float
        Probability of an idle cycle before each transaction.
    rst : handle, optional
        The reset, for :data:`RESET` entries.
    """

    def __init__(self, valid, ready, data, rng, *, bubble=0.0, rst=None):
        self.valid, self.rst = valid, rst
        self.ready = readers([ready])
        self.data = _Writer(data)
        self.bubble = bubble
        self.random = Random(rng)
        self.queue = deque()
        self.current = None         # the transaction on the port, not yet accepted
        self.accepted = False       # it is accepted at the coming rising edge
        self.resetting = False
        self.sent = 0
        self._valid = None
        self._write_valid(0)

    def send(self, transactions):
        """Queue transactions (tuples of integers, one per data port)."""
        self.queue.extend(tuple(t) for t in transactions)

    def reset(self):
        """Queue a one-cycle reset."""
        if self.rst is None:
            raise ValueError("StreamDriver has no rst handle")
        self.queue.append(RESET)

    @property
    def idle(self):
        """Nothing queued, presented or resetting."""
        return not self.queue and self.current is None and not self.resetting

    def _write_valid(self, value):
        if value != self._valid:
            self.valid.value = value
            self._valid = value

    def tick(self):
        if self.accepted:                   # accepted at the rising edge just past
            self.current, self.accepted = None, False
            self.sent += 1
        if self.resetting:
            self.rst.value = 0
            self.resetting = False
        if self.current is None:
            queue = self.queue
            if queue and queue[0] is RESET:
                queue.popleft()
                self._write_valid(0)
                self.rst.value = 1
                self.resetting = True
                return
            if queue and (self.bubble <= 0 or self.random() >= self.bubble):
                self.current = queue.popleft()
                self.data.write(self.current)
                self._write_valid(1)
            else:
                self._write_valid(0)
        if self.current is not None:
            self.accepted = self.ready()[0] == 1


class Backpressure:
    """Drives a stream's ``ready`` from the testbench side, at random.

    Every ``regime`` cycles on average (uniformly 1/2..3/2 of it) a new probability of
    ``ready`` is drawn from ``levels``; and with probability ``stall`` per cycle a stall of
    1..``stall_max`` cycles with ``ready`` low begins. :meth:`hold` fixes ``ready`` (``None``
    returns to random). Call :meth:`tick` at every falling edge.
    """

    def __init__(self, ready, rng, *, levels=(1.0, 0.9, 0.7, 0.5, 0.2), regime=600,
                 stall=1 / 400, stall_max=16):
        self.ready = ready
        self.random = Random(rng)
        self.levels, self.regime = list(levels), regime
        self.stall, self.stall_max = stall, stall_max
        self.p = self.levels[0]
        self.left = 0               # cycles of this regime
        self.stalled = 0            # cycles of stall left
        self.fixed = None
        self.value = None
        self._write(0)

    def hold(self, value=None):
        self.fixed = value

    def _write(self, value):
        if value != self.value:
            self.ready.value = value
            self.value = value

    def tick(self):
        if self.fixed is not None:
            self._write(self.fixed)
            return
        if self.left <= 0:
            self.p = self.levels[self.random.integer(0, len(self.levels) - 1)]
            self.left = self.random.integer(self.regime // 2, 3 * self.regime // 2)
        self.left -= 1
        if self.stalled:
            self.stalled -= 1
            self._write(0)
        elif self.stall and self.random() < self.stall:
            self.stalled = self.random.integer(1, self.stall_max) - 1
            self._write(0)
        else:
            self._write(1 if self.p >= 1 or self.random() < self.p else 0)


class StreamMonitor:
    """Observes one stream and records its transfers.

    Call :meth:`sample` at every falling edge (see the module docstring: it settles the
    previous cycle's rising edge). A transfer is ``valid & ready`` at a rising edge where
    ``rst`` is low; each one goes to the callbacks as ``(cycle, data tuple)`` and, when
    :attr:`record` is a list, into it. At an edge with ``rst`` high the reset callbacks get
    the cycle instead.

    Rules asserted at every edge (:class:`ProtocolError`, with the cycle and the seed):

    * a transaction that is valid and not accepted stays valid, with the same data, at the
      next edge (AXI4-Stream: once TVALID is asserted it must remain asserted, with TDATA
      stable, until the handshake);
    * (``source="design"``) the stream carries nothing at the edge after a reset.

    Parameters
    ----------
    valid, ready : handle
    data : list of handles
    source : str
        ``"testbench"``: the testbench drives valid and data (an input of the design);
        ``"design"``: the design does (an output).
    rst : handle, optional
    name : str
        The stream's name in messages.
    seed : int, optional
        For messages.
    """

    def __init__(self, valid, ready, data, *, source, rst=None, name="stream", seed=None):
        if source not in ("testbench", "design"):
            raise ValueError(f"source={source!r}: testbench or design")
        self.name, self.seed, self.source = name, seed, source
        self.names = [getattr(h, "_name", str(h)) for h in data]
        self.valid_name = getattr(valid, "_name", "valid")
        self.read_valid = readers([valid])
        self.read_ready = readers([ready])
        self.read_data = readers(data)
        self.read_rst = readers([rst]) if rst is not None else (lambda: (0,))
        self.callbacks, self.reset_callbacks = [], []
        self.record = None
        self.transfers = 0
        self.cycle = -1             # the cycle whose edge the next sample settles
        self.pending = None         # design-driven values read for the coming edge
        self.last = None            # (valid, ready, rst, data) at the edge before

    def sample(self):
        design_drives_valid = self.source == "design"
        now = self._read_design(design_drives_valid)
        if self.pending is not None:
            rst = self.read_rst()[0]
            if design_drives_valid:
                valid, data = self.pending
                ready = self.read_ready()[0]
            else:
                ready = self.pending
                valid = self.read_valid()[0]
                data = self.read_data() if valid else None
            self._edge(self.cycle, valid, ready, rst, data)
        self.pending = now
        self.cycle += 1

    def _read_design(self, design_drives_valid):
        if design_drives_valid:
            valid = self.read_valid()[0]
            return valid, (self.read_data() if valid else None)
        return self.read_ready()[0]

    def _edge(self, cycle, valid, ready, rst, data):
        last = self.last
        if last is not None:
            l_valid, l_ready, l_rst, l_data = last
            if l_valid and not l_ready and not l_rst:
                if not valid:
                    self._fail(cycle, f"{self.valid_name} dropped at cycle {cycle} before the "
                               f"transaction of cycle {cycle - 1} was accepted "
                               f"(data {self._show(l_data)})")
                if data != l_data:
                    self._fail(cycle, f"data changed at cycle {cycle} while the transaction "
                               f"of cycle {cycle - 1} waited: {self._show(l_data)} -> "
                               f"{self._show(data)}")
            if l_rst and valid and self.source == "design":
                self._fail(cycle, f"{self.valid_name} is 1 at cycle {cycle}, the first edge "
                           "after a reset (the design must be empty)")
        self.last = (valid, ready, rst, data)
        if rst:
            for callback in self.reset_callbacks:
                callback(cycle)
        elif valid and ready:
            self.transfers += 1
            for callback in self.callbacks:
                callback(cycle, data)
            if self.record is not None:
                self.record.append((cycle, data))

    def _show(self, data):
        if data is None:
            return "-"
        return "{" + ", ".join(f"{n}=0x{v:x}" for n, v in zip(self.names, data)) + "}"

    def _fail(self, cycle, what):
        raise ProtocolError(f"PROTOCOL on stream {self.name}: {what} (seed {self.seed})")


class Scoreboard:
    """Compares a stream design's output transfers with its golden model.

    The input monitor's transfers go to :meth:`input` and the output monitor's to
    :meth:`output`. Every ``batch`` outputs (and at :meth:`flush`), the observed inputs are
    fed to the model in order, ``step(*inputs)`` -> the expected output (an int, or a tuple
    of one value per output port), and the observed outputs are compared with them as numpy
    columns, ``lookahead`` outputs being kept back so that a disagreement can be named:

    * **dropped**: output ``i`` onwards equal the results of inputs ``i + 1`` onwards;
    * **duplicated**: output ``i + 1`` onwards equal the results of inputs ``i`` onwards
      (output ``i`` repeats an earlier one);
    * otherwise a plain mismatch.

    An output transfer with no input transfer left to pair with is a duplicate (or a spurious
    transfer), and :meth:`finish` checks that every input has had its output. At a reset
    (:meth:`reset`) what has come out is compared, the transactions still in flight are
    dropped with the design's state (counted, not an error), and the model is reset.

    Parameters
    ----------
    step : callable
        The model: a function of one transaction's input values (natural values, see
        ``convert``), or an accumulator's ``tick`` (called once per input, in order).
    reset : callable, optional
        Resets the model (an accumulator's ``reset``).
    inputs, outputs : list of str
        Port names, for messages.
    widths : dict
        Output port name -> width (numpy dtype, hex in messages).
    convert : callable, optional
        Observed input tuple (unsigned bit patterns) -> the model's arguments.
    latency : int, optional
        Least cycles from an input transfer to its output transfer; an earlier output fails.
    log, seed
        A logger, and the seed for messages.
    """

    def __init__(self, step, *, inputs, outputs, widths, reset=None, convert=None,
                 latency=None, log=None, seed=None, batch=1024, lookahead=8):
        self.step, self.reset_model, self.convert = step, reset, convert
        self.input_names, self.output_names = list(inputs), list(outputs)
        self.widths = [widths[n] for n in self.output_names]
        self.latency = latency
        self.log = log or logging.getLogger("tpegen.scoreboard")
        self.seed, self.batch, self.lookahead = seed, batch, lookahead
        self.ins, self.exp, self.outs = [], [], []   # (cycle, values), expected, (cycle, values)
        self.in_first = self.out_first = 0           # transaction index of ins[0] / outs[0]
        self.inputs_seen = self.outputs_seen = 0
        self.checks = 0
        self.in_flight_at_reset = 0
        self.resets = 0
        self.last_output = None                      # the last output compared
        self.max_in_flight = 0                       # most inputs accepted, not yet answered

    # --- what the monitors call -------------------------------------------------------

    def input(self, cycle, values):
        self.ins.append((cycle, values))
        self.inputs_seen += 1
        held = len(self.ins) - len(self.outs)
        if held > self.max_in_flight:
            self.max_in_flight = held

    def output(self, cycle, values):
        self.outs.append((cycle, values))
        self.outputs_seen += 1
        if len(self.outs) > len(self.ins):
            self.flush(final=True)              # names a misalignment before it, if any
            self._extra(cycle)
        if len(self.outs) >= self.batch + self.lookahead:
            self.flush()

    def reset(self, cycle):
        """A reset at ``cycle``'s edge: compare what came out, drop what is in flight."""
        self.flush(final=True)
        dropped = len(self.ins)
        if dropped:
            self.log.info("reset at cycle %d: %d transaction(s) in flight dropped with it",
                          cycle, dropped)
        self.in_flight_at_reset += dropped
        self.in_first += dropped
        self.ins, self.exp = [], []
        self.resets += 1
        if self.reset_model is not None:
            self.reset_model()

    # --- comparison -------------------------------------------------------------------

    def _expect(self):
        """Expected outputs of every observed input (the model steps once per input)."""
        step, convert, exp = self.step, self.convert, self.exp
        for _, values in self.ins[len(exp):]:
            result = step(*(convert(values) if convert else values))
            exp.append(result if isinstance(result, tuple) else (result,))

    def _columns(self, rows, start, stop):
        return [column([r[j] for r in rows[start:stop]], w) for j, w in enumerate(self.widths)]

    def _differs(self, o_start, e_start, n):
        """Boolean array: output ``o_start + j`` differs from expected ``e_start + j``."""
        outs = [v for _, v in self.outs[o_start:o_start + n]]
        exp = self.exp[e_start:e_start + n]
        bad = np.zeros(n, dtype=bool)
        for got, want in zip(self._columns(outs, 0, n), self._columns(exp, 0, n)):
            bad |= np.asarray(got != want, dtype=bool)
        return bad

    def flush(self, final=False):
        """Compare the outputs observed so far (all of them when ``final``, else all but
        the last ``lookahead``) with the model's results for the observed inputs."""
        n = min(len(self.outs), len(self.ins)) - (0 if final else self.lookahead)
        if n <= 0:
            return
        self._expect()
        bad = np.flatnonzero(self._differs(0, 0, n))
        if bad.size:
            self._diagnose(int(bad[0]))
        if self.latency is not None:
            gaps = (np.array([c for c, _ in self.outs[:n]])
                    - np.array([c for c, _ in self.ins[:n]]))
            early = np.flatnonzero(gaps < self.latency)
            if early.size:
                i = int(early[0])
                raise Mismatch(
                    f"DUPLICATED transaction (an output too many): {self._where(i)} came "
                    f"{int(gaps[i])} cycle(s) after input transfer #{self.in_first + i} "
                    f"(cycle {self.ins[i][0]}), less than the latency {self.latency}, so it "
                    f"cannot be its result: an earlier output answered no input (the values "
                    f"happened to agree) (seed {self.seed})\n{self._around(i)}")
        self.checks += n
        self.last_output = self.outs[n - 1][1]
        del self.ins[:n], self.exp[:n], self.outs[:n]
        self.in_first += n
        self.out_first += n

    def finish(self):
        """Compare everything, then check that every input transfer had its output."""
        self.flush(final=True)
        if self.ins:
            cycle, values = self.ins[0]
            self._expect()
            raise Mismatch(
                f"DROPPED transaction(s): {self.inputs_seen} input transfers, "
                f"{self.outputs_seen} output transfers ({self.in_flight_at_reset} dropped by "
                f"{self.resets} reset(s)): {len(self.ins)} input(s) have no output; the first "
                f"is input transfer #{self.in_first} (cycle {cycle}, {self._inputs(values)}), "
                f"expected {self._values(self.exp[0])} (seed {self.seed})")

    def _extra(self, cycle):
        raise Mismatch(
            f"DUPLICATED transaction: output transfer #{self.out_first + len(self.outs) - 1} "
            f"(cycle {cycle}, {self._values(self.outs[-1][1])}) has no input transfer left to "
            f"answer ({self.inputs_seen} inputs, {self.outputs_seen} outputs so far; outputs "
            f"before it matched) (seed {self.seed})")

    def _diagnose(self, i):
        """Raise for the first disagreeing output ``i``: name a dropped or a duplicated
        transaction when the outputs around it are those of the inputs shifted by one (or a
        few) places, else a plain mismatch; show the neighbourhood either way."""
        self._expect()
        outs, exp, window = [v for _, v in self.outs], self.exp, self.lookahead
        previous = outs[i - 1] if i > 0 else self.last_output
        following = outs[i + 1] if i + 1 < len(outs) else None
        around = self._around(i)
        if previous is not None and outs[i] == previous and following in (None, exp[i]):
            raise Mismatch(
                f"DUPLICATED transaction: {self._where(i)} = {self._values(outs[i])} repeats "
                f"the output transfer before it and answers no new input (expected here "
                f"{self._values(exp[i])}, the result of input transfer #{self.in_first + i}, "
                f"cycle {self.ins[i][0]}, {self._inputs(self.ins[i][1])}"
                + (", which is what the next output carries" if following is not None else "")
                + f") (seed {self.seed})\n{around}")
        for d in range(1, window + 1):
            if i + d < len(exp) and outs[i] == exp[i + d] and (
                    following is None or following in exp[i + d + 1:i + d + 1 + window]):
                raise Mismatch(
                    f"DROPPED transaction: {self._where(i)} carries the result of a later "
                    f"input transfer (#{self.in_first + i + d}); the output of input transfer "
                    f"#{self.in_first + i} (cycle {self.ins[i][0]}, "
                    f"{self._inputs(self.ins[i][1])}) is missing: expected "
                    f"{self._values(exp[i])} (seed {self.seed})\n{around}")
        raise Mismatch(
            f"MISMATCH at {self._where(i)}, the result of input transfer "
            f"#{self.in_first + i} (cycle {self.ins[i][0]}, {self._inputs(self.ins[i][1])}): "
            f"expected {self._values(exp[i])}, observed {self._values(outs[i])} "
            f"(seed {self.seed})\n{around}")

    def _around(self, i, before=2, after=3):
        lo = max(0, i - before)
        rows = []
        for j in range(lo, i + after + 1):
            got = self._values(self.outs[j][1]) if j < len(self.outs) else "-"
            want = self._values(self.exp[j]) if j < len(self.exp) else "-"
            rows.append(f"  #{self.out_first + j}: observed {got}, expected {want}"
                        + ("   <--" if j == i else ""))
        return "outputs around it (observed vs the results of the inputs in order):\n" + \
            "\n".join(rows)

    def _where(self, i):
        return f"output transfer #{self.out_first + i} (cycle {self.outs[i][0]})"

    def _inputs(self, values):
        return ", ".join(f"{n}=0x{v:x}" for n, v in zip(self.input_names, values))

    def _values(self, values):
        return ", ".join(f"{n}=0x{v:0{(w + 3) // 4}x}" for n, v, w in
                         zip(self.output_names, values, self.widths))


async def registered_outputs(clk, handles, cycles, *, seed=None):
    """For ``cycles`` cycles, assert that the design's ``handles`` (its handshake outputs:
    ``in_ready``, ``out_valid``, and the output data) read the same at the falling edge,
    before that time step's testbench writes take effect, as after them (``ReadOnly``): they
    depend on registers only, not combinationally on ``in_valid`` or ``out_ready``."""
    handles = list(handles)
    read = readers(handles)
    edge, settled = FallingEdge(clk), ReadOnly()
    for cycle in range(cycles):
        await edge
        before = read()
        await settled
        after = read()
        if before != after:
            changed = [getattr(h, "_name", str(h)) for h, x, y in zip(handles, before, after)
                       if x != y]
            raise ProtocolError(f"PROTOCOL: {', '.join(changed)} changed within cycle {cycle} "
                                f"when the testbench's inputs changed: a combinational path "
                                f"from in_valid/out_ready/data (seed {seed})")
