"""cocotb testbench of handshake designs (``handshake=True``: :class:`hdl.stream.Handshake`
around an FMA or an FP MAC) against their golden models, through valid/ready streams.

Parts (:mod:`testbenches.common.stream`): a :class:`StreamDriver` presents the transactions
on the ``in`` stream with random bubbles, a :class:`Backpressure` drives the ``out`` stream's
ready at random (regimes from free flow to heavy backpressure, and stalls longer than the
design's storage), two :class:`StreamMonitor` record the transfers, and the
:class:`Scoreboard` feeds the golden model (:func:`tpegen.registry.model`: a function, or an
accumulator stepped once per input transfer) the *observed* input transfers and compares
every output transfer with it. Everything about the design comes from its manifest: the
streams, their ports and roles, and the latency.

Checked:

* every output transfer against the model's result for the input transfer of the same
  index; a dropped or duplicated transaction is named as such;
* at the end, that every input transfer had exactly one output transfer;
* every cycle, the AXI4-Stream source rules on both streams (a valid transaction stays
  valid and unchanged until accepted; the design's output is empty after a reset);
* for the first 2,000 cycles, that ``in_ready``, ``out_valid`` and the output data do not
  depend combinationally on the testbench's inputs;
* no output transfer earlier than the manifest's latency after its input;
* a *fill* phase: with ``out_ready`` held low, the design accepts exactly as many
  transactions as its FIFO holds (``stats.handshake_fifo_depth`` in the manifest), then
  holds ``in_ready`` low, and delivers them all once released; the random phases never see
  it hold more;
* a final *throughput* phase: with ``out_ready`` held high and no bubbles, inputs are
  accepted on consecutive cycles and the outputs follow on consecutive cycles exactly
  ``latency`` cycles later.

Stimulus: the phases of :func:`testbenches.fp_tb.stimulus` (exhaustive 8-bit pairs, the FMA
corner list, random operands, and a reset in the middle of the stream, which drops the
transactions in flight), quick on Icarus.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from testbenches.common.stream import (Backpressure, ProtocolError, Scoreboard, StreamDriver,
                                       StreamMonitor, registered_outputs)
from testbenches.common.tb import Ports, Progress, Run, start_clock
from testbenches.fp_tb import inputs, stimulus
from tpegen import registry

BUBBLE = 0.2                # probability of an idle cycle before an input transaction
REGISTERED_CHECK_CYCLES = 2000


def stream(manifest, name):
    for entry in manifest["streams"]:
        if entry["name"] == name:
            return entry
    raise KeyError(f"{manifest['top']}: no stream {name!r} in the manifest")


def input_ports(manifest, cfg):
    """The ``in`` stream's data ports in the order of the model's arguments (by role)."""
    ports = {p["name"]: p for p in manifest["ports"]}
    data = stream(manifest, "in")["data"]
    by_role = {ports[n]["role"]: n for n in data}
    order = [by_role[role] for role in inputs(cfg)]
    if sorted(order) != sorted(data):
        raise ValueError(f"in stream {data} does not match the model's inputs {inputs(cfg)}")
    return order


def converter(manifest, names):
    """Observed unsigned patterns -> natural values, for signed ports (None if none)."""
    ports = {p["name"]: p for p in manifest["ports"]}
    signed = [(i, ports[n]["width"]) for i, n in enumerate(names) if ports[n]["signed"]]
    if not signed:
        return None

    def convert(values):
        values = list(values)
        for i, w in signed:
            if values[i] >> (w - 1):
                values[i] -= 1 << w
        return values
    return convert


class Bench:
    """The parts and the clock loop."""

    def __init__(self, dut, run, clk):
        self.dut, self.run, self.clk, self.log = dut, run, clk, run.log
        manifest, cfg, seed = run.manifest, run.cfg, run.seed
        s_in, s_out = stream(manifest, "in"), stream(manifest, "out")
        self.latency = s_out["latency"]
        ports = {p["name"]: p for p in manifest["ports"]}
        handle = lambda name: getattr(dut, name)    # noqa: E731
        self.rst = handle(manifest["reset"]["port"])
        self.in_names = input_ports(manifest, cfg)
        self.out_names = list(s_out["data"])
        golden = registry.model(cfg)
        if registry.kind(cfg.kind).style == "cycle":    # an accumulator: one step per input
            step, reset = golden.tick, golden.reset
        else:
            step, reset = golden, None
        self.board = Scoreboard(step, reset=reset, inputs=self.in_names,
                                outputs=self.out_names,
                                widths={n: ports[n]["width"] for n in self.out_names},
                                convert=converter(manifest, self.in_names),
                                latency=self.latency, log=self.log, seed=seed)
        in_data = [handle(n) for n in self.in_names]
        out_data = [handle(n) for n in self.out_names]
        self.in_ready, self.out_valid = handle(s_in["ready"]), handle(s_out["valid"])
        self.out_data = out_data
        self.in_mon = StreamMonitor(handle(s_in["valid"]), self.in_ready, in_data,
                                    source="testbench", rst=self.rst, name="in", seed=seed)
        self.out_mon = StreamMonitor(self.out_valid, handle(s_out["ready"]), out_data,
                                     source="design", rst=self.rst, name="out", seed=seed)
        self.in_mon.callbacks.append(self.board.input)
        self.in_mon.reset_callbacks.append(self.board.reset)
        self.out_mon.callbacks.append(self.board.output)
        self.stall_max = 4 * (self.latency + 1)
        self.driver = StreamDriver(handle(s_in["valid"]), self.in_ready, in_data, run.rng,
                                   bubble=BUBBLE, rst=self.rst)
        self.backpressure = Backpressure(handle(s_out["ready"]), run.rng,
                                         stall_max=self.stall_max)
        #: transactions the design can hold (its output FIFO), if the manifest says
        self.capacity = manifest["stats"].get("handshake_fifo_depth")
        self.cycle = 0
        self.idle_limit = 200 + 4 * self.stall_max
        self.progress = None

    async def run_until(self, done, what, cycles=None):
        """Clock until ``done()`` (or for ``cycles`` cycles); fail when nothing moves for
        :attr:`idle_limit` cycles."""
        edge = FallingEdge(self.clk)
        in_mon, out_mon = self.in_mon, self.out_mon
        sample_in, sample_out = in_mon.sample, out_mon.sample
        drive, press = self.driver.tick, self.backpressure.tick
        moved, quiet = -1, 0
        cycle = self.cycle
        end = None if cycles is None else cycle + cycles
        while not (done() if end is None else cycle >= end):
            sample_in()
            sample_out()
            drive()
            press()
            await edge
            cycle += 1
            now = in_mon.transfers + out_mon.transfers
            if now != moved:
                moved, quiet = now, 0
            elif end is None:
                quiet += 1
                if quiet > self.idle_limit:
                    self.cycle = cycle
                    raise ProtocolError(
                        f"STALL during {what}: no transfer for {quiet} cycles at cycle {cycle} "
                        f"({self.board.inputs_seen} input and {self.board.outputs_seen} output "
                        f"transfers so far; in_ready={int(self.in_ready.value)}, "
                        f"out_valid={int(self.out_valid.value)}) (seed {self.run.seed})")
            if not cycle & 0xFFF and self.progress is not None:
                self.progress.update(out_mon.transfers, cycle)
        self.cycle = cycle

    def pending(self):
        return len(self.board.ins) - len(self.board.outs)

    async def drain(self, what):
        await self.run_until(lambda: self.driver.idle and self.pending() == 0, what)
        # a few more cycles: a late duplicate would show up here
        await self.run_until(None, what, cycles=4 * (self.latency + 1))

    async def fill(self, rows):
        """With out_ready held low and no bubbles: the design accepts exactly as many
        transactions as it can hold (its FIFO depth), then holds in_ready low."""
        driver, backpressure = self.driver, self.backpressure
        backpressure.hold(0)
        bubble, driver.bubble = driver.bubble, 0
        self.in_mon.record, self.out_mon.record = [], []
        driver.send(rows)
        await self.run_until(None, "fill", cycles=len(rows) + 4 * (self.latency + 1))
        accepted, delivered = len(self.in_mon.record), len(self.out_mon.record)
        self.in_mon.record = self.out_mon.record = None
        backpressure.hold(None)
        driver.bubble = bubble
        if delivered:
            raise ProtocolError(f"FILL: {delivered} output transfer(s) with out_ready low "
                                f"(seed {self.run.seed})")
        if self.capacity is not None and accepted != self.capacity:
            raise ProtocolError(f"CAPACITY: with out_ready held low the design accepted "
                                f"{accepted} transactions, its FIFO has {self.capacity} "
                                f"entries (seed {self.run.seed})")
        if accepted == 0:
            raise ProtocolError(f"CAPACITY: with out_ready low the design accepted nothing "
                                f"(seed {self.run.seed})")
        self.log.info("fill: out_ready held low, %d transactions accepted, then in_ready "
                      "low", accepted)
        await self.drain("drain after fill")

    async def throughput(self, rows):
        """With out_ready held high and no bubbles: back-to-back transfers, exact latency."""
        driver, backpressure = self.driver, self.backpressure
        backpressure.hold(1)
        bubble, driver.bubble = driver.bubble, 0
        self.in_mon.record, self.out_mon.record = [], []
        driver.send(rows)
        await self.drain("throughput")
        ins, outs = self.in_mon.record, self.out_mon.record
        self.in_mon.record = self.out_mon.record = None
        backpressure.hold(None)
        driver.bubble = bubble
        seed = self.run.seed
        cycles_in = [c for c, _ in ins]
        cycles_out = [c for c, _ in outs]
        n = len(rows)
        if len(ins) != n or cycles_in != list(range(cycles_in[0], cycles_in[0] + n)):
            raise ProtocolError(f"THROUGHPUT: with out_ready held high and no bubbles, the "
                                f"{n} input transfers came at cycles {cycles_in} (not one per "
                                f"cycle) (seed {seed})")
        if len(outs) != n or cycles_out != list(range(cycles_out[0], cycles_out[0] + n)):
            raise ProtocolError(f"THROUGHPUT: with out_ready held high, the {n} output "
                                f"transfers came at cycles {cycles_out} (not one per cycle) "
                                f"(seed {seed})")
        if cycles_out[0] - cycles_in[0] != self.latency:
            raise ProtocolError(f"LATENCY: first input transfer at cycle {cycles_in[0]}, its "
                                f"output at cycle {cycles_out[0]}: {cycles_out[0] - cycles_in[0]}"
                                f" cycles, the manifest says {self.latency} (seed {seed})")
        self.log.info("throughput: %d transactions back to back, latency %d", n, self.latency)


def _transactions(columns, rst):
    """Rows of one phase, ``None`` for a reset row."""
    rows = list(zip(*(c.tolist() for c in columns)))
    resets = set(np.flatnonzero(rst).tolist())
    return [(None if i in resets else row) for i, row in enumerate(rows)]


@cocotb.test()
async def stream_vs_golden(dut):
    run = Run(dut)
    cfg, log = run.cfg, run.log
    clk = await start_clock(dut, Ports(dut, run.manifest))
    bench = Bench(dut, run, clk)
    log.info("streams in %s -> out %s, latency %d", bench.in_names, bench.out_names,
             bench.latency)

    bench.rst.value = 1
    await FallingEdge(clk)
    await FallingEdge(clk)
    bench.rst.value = 0
    check = cocotb.start_soon(registered_outputs(
        clk, [bench.in_ready, bench.out_valid] + bench.out_data, REGISTERED_CHECK_CYCLES,
        seed=run.seed))

    phases = stimulus(cfg, run.rng, run.random_cycles, quick=run.quick)
    total = sum(len(cols[0]) for _, cols, _ in phases)
    bench.progress = Progress(log, total, cfg.name, unit="transactions")
    throughput_rows = None
    for phase, columns, rst in phases:
        rows = _transactions(columns, rst)
        log.info("phase %s: %d transactions%s", phase, len(rows),
                 ", with a reset" if None in rows else "")
        for row in rows:
            if row is None:
                bench.driver.reset()
            else:
                bench.driver.queue.append(row)
        if throughput_rows is None or phase == "random":
            throughput_rows = [r for r in rows if r is not None][:8 * (bench.latency + 1)]
        await bench.run_until(lambda: bench.driver.idle, phase)
    await bench.drain("drain")
    await bench.fill(throughput_rows[:(bench.capacity or bench.latency + 1) + 2])
    await bench.throughput(throughput_rows)
    bench.board.finish()
    await check
    board = bench.board
    log.info("transfers: %d in, %d out, %d dropped by %d reset(s), in %d cycles; at most %d "
             "transactions held at once", board.inputs_seen, board.outputs_seen,
             board.in_flight_at_reset, board.resets, bench.cycle, board.max_in_flight)
    if bench.capacity is not None and board.max_in_flight > bench.capacity:
        raise ProtocolError(f"CAPACITY: the design held {board.max_in_flight} transactions "
                            f"at once, more than its {bench.capacity} FIFO entries "
                            f"(seed {run.seed})")
    log.info("PASS %s: %d cycles, %d checks, %.0f cycles/s, seed %d", cfg.name, bench.cycle,
             board.checks, bench.progress.rate(bench.cycle), run.seed)
