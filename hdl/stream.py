"""Valid/ready streams around a fixed-latency unit: :class:`Handshake`.

The wrapped unit (``inner``) takes its data inputs every cycle and shows ``result``
``inner.latency`` clock edges later (initiation interval 1); it cannot stall. The wrapper adds
an input stream and an output stream with AXI4-Stream-style handshakes: a *transfer* happens at
a rising edge of ``clk`` where ``valid`` and ``ready`` are both 1.

How it works (a credit scheme):

* ``v`` is a shift register of ``L = inner.latency`` bits beside the unit's pipeline: ``v[0]``
  is set by an input transfer, and ``v[L-1]`` (*arrive*) marks the cycle in which
  ``inner.result`` shows that transfer's result.
* An arriving result leaves at once when the output FIFO is empty and ``out_ready`` is 1
  (bypass); otherwise it is written into the FIFO (``fifo_we``). The FIFO's head leaves on
  an output transfer (``fifo_re``).
* ``in_ready`` = (results in flight + results queued) < ``DEPTH``, with ``DEPTH = L + 1``
  FIFO entries. Every accepted input therefore has a FIFO entry reserved for its result, so
  none is lost however long ``out_ready`` stays low; and with ``out_ready`` held high the
  pipeline holds ``L`` results, so ``in_ready`` stays 1: one transfer per cycle, no bubble.
* ``in_ready`` and ``out_valid`` are functions of registers only: neither depends
  combinationally on ``in_valid`` or ``out_ready`` (no loop through a neighbour's handshake,
  and a valid output stays valid, with the same data, until it is accepted).

An accumulator (a unit with ``clear``/``enable`` inputs) steps only on an input transfer: its
``clear`` and ``enable`` are ANDed with the transfer, so between transfers its register holds,
and the output stream carries the accumulator after each accepted input.

Latency: an input transfer at edge ``t`` makes ``out_valid`` 1 after edge ``t + L - 1``, that
is ``L`` edges from (and counting) the transfer edge, as for the bare unit; the earliest output
transfer is at edge ``t + L``. A reset empties the pipeline and the FIFO: transactions in
flight are dropped.

Members
-------
in_valid : In(1)
    The data inputs carry a transaction this cycle.
in_ready : Out(1)
    The unit accepts a transaction this cycle.
a, b, c / a, b, clear, enable : In
    The inner unit's data inputs (same names, shapes and roles).
out_valid : Out(1)
    ``result`` (and any other output of the unit) carries a transaction this cycle.
out_ready : In(1)
    The receiver accepts the output transaction this cycle.
result : Out
    The inner unit's result for the oldest accepted input not yet delivered.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Flow, In, Out

__all__ = ["Handshake", "CONTROL"]

#: the inner inputs that make an accumulator step (gated by the input transfer)
CONTROL = ("clear", "enable")


class Handshake(wiring.Component):
    """Valid/ready wrapper of a fixed-latency unit; see the module docstring.

    Parameters
    ----------
    inner : wiring.Component
        The unit: ``latency`` (>= 1) edges from its inputs to its outputs, initiation
        interval 1; every output has that latency.
    config : Config, optional
        The handshake configuration (``handshake=True``); kept as :attr:`config`.

    Attributes
    ----------
    latency : int
        Edges from an input transfer to the earliest ``out_valid`` (the inner latency).
    depth : int
        Output FIFO entries (``latency + 1``), also the most transactions held at once.
    roles, streams, formats, stats
        What the manifest builder reads (see :func:`tpegen.manifest.build_manifest`).
    """

    def __init__(self, inner, config=None):
        self.inner = inner
        self.config = config
        latency = int(inner.latency)
        if latency < 1:
            raise ValueError(f"Handshake needs a registered unit (latency >= 1), got {latency}")
        if getattr(inner, "state_latency", latency) != latency:
            raise ValueError("Handshake needs every output of the unit at one latency")
        self._latency = latency
        self.depth = latency + 1
        members = inner.signature.members
        self.data_inputs = [n for n, m in members.items() if m.flow == Flow.In]
        self.data_outputs = [n for n, m in members.items() if m.flow == Flow.Out]
        if not self.data_outputs:
            raise ValueError("Handshake needs a unit with an output")
        self.accumulator = all(n in self.data_inputs for n in CONTROL)
        ports = {"in_valid": In(1), "in_ready": Out(1)}
        ports.update({n: In(members[n].shape) for n in self.data_inputs})
        ports.update({"out_valid": Out(1), "out_ready": In(1)})
        ports.update({n: Out(members[n].shape) for n in self.data_outputs})
        super().__init__(ports)
        inner_roles = getattr(inner, "roles", {})
        self.roles = {"in_valid": "valid", "in_ready": "ready",
                      "out_valid": "valid", "out_ready": "ready"}
        self.roles.update({n: inner_roles.get(n, n) for n in self.data_inputs + self.data_outputs})
        self.streams = [
            {"name": "in", "direction": "input", "valid": "in_valid", "ready": "in_ready",
             "last": None, "data": list(self.data_inputs), "latency": 0},
            {"name": "out", "direction": "output", "valid": "out_valid", "ready": "out_ready",
             "last": None, "data": list(self.data_outputs), "latency": latency},
        ]
        if hasattr(inner, "formats"):
            self.formats = dict(inner.formats)

    @property
    def latency(self):
        return self._latency

    @property
    def stats(self):
        """The inner unit's statistics (filled when it elaborates) and the FIFO depth."""
        return {**getattr(self.inner, "stats", {}), "handshake_fifo_depth": self.depth}

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        L, depth = self._latency, self.depth

        xfer_in = Signal(name="xfer_in")
        m.d.comb += xfer_in.eq(self.in_valid & self.in_ready)

        # the data inputs; an accumulator steps only on an input transfer
        for name in self.data_inputs:
            port = getattr(self, name)
            m.d.comb += getattr(inner, name).eq(port & xfer_in if self.accumulator
                                                 and name in CONTROL else port)

        # which pipeline slots carry an accepted transaction; the last one arrives
        inflight = Signal(L, name="inflight")
        m.d.sync += inflight.eq(Cat(xfer_in, inflight[:-1]) if L > 1 else xfer_in)
        arrive = inflight[-1]

        # the output FIFO (a ring of ``depth`` registers)
        word = Cat(*(getattr(inner, n) for n in self.data_outputs))
        width = len(word)
        ptr = Shape.cast(range(depth))
        # (no reset: ``fifo_count`` says which entries hold data)
        mem = Array(Signal(width, name=f"fifo_{i}", reset_less=True) for i in range(depth))
        head = Signal(ptr, name="fifo_head")
        tail = Signal(ptr, name="fifo_tail")
        count = Signal(range(depth + 1), name="fifo_count")
        empty = Signal(name="fifo_empty")
        fifo_we = Signal(name="fifo_we")
        fifo_re = Signal(name="fifo_re")
        m.d.comb += [empty.eq(count == 0),
                     fifo_we.eq(arrive & ~(empty & self.out_ready)),
                     fifo_re.eq(~empty & self.out_ready)]

        def step(pointer):
            return Mux(pointer == depth - 1, 0, pointer + 1)

        for i, entry in enumerate(mem):
            with m.If(fifo_we & (tail == i)):
                m.d.sync += entry.eq(word)
        with m.If(fifo_we):
            m.d.sync += tail.eq(step(tail))
        with m.If(fifo_re):
            m.d.sync += head.eq(step(head))
        m.d.sync += count.eq(count + fifo_we - fifo_re)

        # credits: a FIFO entry is reserved for every transaction in flight
        held = Signal(range(depth + L + 1), name="held")
        m.d.comb += held.eq(sum((inflight[i] for i in range(L)), Const(0, range(L + 1)))
                            + count)
        m.d.comb += self.in_ready.eq(held < depth)

        out = Signal(width, name="out_word")
        m.d.comb += [self.out_valid.eq(~empty | arrive),
                     out.eq(Mux(empty, word, mem[head]))]
        offset = 0
        for name in self.data_outputs:
            port = getattr(self, name)
            m.d.comb += port.eq(out[offset:offset + len(port)])
            offset += len(port)
        return m
