"""cocotb testbench of the SIMD multi-precision MAC (:mod:`hdl.pe.simd`) against
:mod:`golden.pe.simd`.

Checked every cycle: ``result`` against the golden model, fed the inputs the input monitor
read back from the ports (:class:`~testbenches.common.tb.CycleScoreboard`, numpy batches);
the first failing cycle is reported with its phase, the inputs before it and the seed.

Stimulus phases (one seeded generator; the seed is logged):

``exhaustive <mode>``  every operand pair of the mode's lane widths once, in every lane
                       (lane ``i`` takes the pairs rotated by ``i * pairs / lanes``, so each
                       lane sees all of them), ``enable=1``, ``clear`` every 16th cycle;
                       for W = 8: all 65,536 int8 x int8 pairs, all 4,096 int4 x int8 and
                       all 256 int4 x int4 pairs;
``mode switches``      a mode sequence that holds every ordered pair of the four codes
                       (reserved 3 included) as consecutive cycles, several times, random
                       operands, random ``clear``/``enable``;
``random``             ``TPEGEN_RANDOM_CYCLES`` cycles (default 100,000) of random words and
                       modes, a fifth of the lanes from the corners min/max/0/1/-1;
``reset``              a synchronous reset in the middle of an accumulation.

The quick stimulus (Icarus) keeps the narrow modes' exhaustive phases, the mode switches
and 2,000 random cycles.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.mac import operand_range
from golden.pe.simd import SimdMac as GoldenSimd
from golden.pe.simd import pack
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   run_phases, start_clock, stepper)


def mode_sequence(codes=4, repeat=3):
    """A mode sequence in which every ordered pair ``(x, y)`` of codes appears as two
    consecutive cycles (an Eulerian circuit of the complete digraph with loops), ``repeat``
    times."""
    pairs = {x: [y for y in range(codes)] for x in range(codes)}
    seq, stack = [], [0]                 # Hierholzer
    while stack:
        x = stack[-1]
        if pairs[x]:
            stack.append(pairs[x].pop())
        else:
            seq.append(stack.pop())
    return np.array(seq[::-1] * repeat, dtype=np.int64)


def stimulus(cfg, rng, random_cycles, quick):
    """List of ``(phase, a, b, mode, clear, enable, rst)`` columns."""
    W = 2 * cfg.width
    phases = []
    for code, name, n, wa, wb in cfg.modes():
        if quick and code == 0 and wa + wb > 12:
            continue
        (alo, ahi), (blo, bhi) = operand_range(wa, cfg.a_signed), operand_range(wb, cfg.b_signed)
        x, y = np.meshgrid(np.arange(alo, ahi + 1), np.arange(blo, bhi + 1), indexing="ij")
        x, y = x.ravel(), y.ravel()
        count = x.size
        a = pack(np.stack([np.roll(x, i * count // n) for i in range(n)], 1), wa)
        b = pack(np.stack([np.roll(y, i * count // n) for i in range(n)], 1), wb)
        clear = (np.arange(count) % 16 == 0).astype(np.int64)
        phases.append((f"exhaustive {name}", a, b, np.full(count, code), clear,
                       np.ones(count, np.int64), np.zeros(count, np.int64)))

    def words(count):
        """Random words, a fifth of the mode-0 lanes from the corners."""
        out = rng.integers(0, 1 << W, size=count, dtype=np.uint64).astype(object)
        lo, hi = operand_range(cfg.width, cfg.a_signed)
        corners = np.array(sorted({lo, hi, 0, 1, -1 if lo < 0 else hi - 1}), dtype=np.int64)
        pick = rng.random(count) < 0.2
        low = rng.choice(corners, size=count) & ((1 << cfg.width) - 1)
        out[pick] = [(int(w) >> cfg.width << cfg.width) | int(c) for w, c in
                     zip(out[pick], low[pick])]
        return out

    modes = mode_sequence()
    count = len(modes)
    phases.append(("mode switches", words(count), words(count), modes,
                   (rng.random(count) < 1 / 8).astype(np.int64),
                   (rng.random(count) < 7 / 8).astype(np.int64), np.zeros(count, np.int64)))
    count = 2000 if quick else random_cycles
    if count:
        phases.append(("random", words(count), words(count), rng.integers(0, 4, count),
                       (rng.random(count) < 1 / 16).astype(np.int64),
                       (rng.random(count) < 7 / 8).astype(np.int64), np.zeros(count, np.int64)))
    count = 12
    rst = np.zeros(count, np.int64)
    rst[6] = 1
    top = (1 << W) - 1
    phases.append(("reset", np.full(count, top, dtype=object), np.full(count, top, dtype=object),
                   np.arange(count) % 3, np.eye(1, count, 0, np.int64)[0],
                   np.ones(count, np.int64), rst))
    return phases


def model_step(cfg):
    """``step(a, b, mode, clear, enable, rst)`` of the golden model on the observed bit
    patterns: one rising edge, then the expected ``(result,)``."""
    return stepper(GoldenSimd(cfg))


@cocotb.test()
async def simd_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    in_roles = ["a", "b", "mode", "clear", "enable", "rst"]
    drive = Driver(ports, in_roles).drive
    observe_inputs = Monitor(ports, in_roles).read
    observe_outputs = Monitor(ports, ["result"]).read
    checks = [Check("result", cfg.acc_width, lambda o: o["result"], 0)]
    board = CycleScoreboard(log, seed, model_step(cfg), checks, in_roles,
                            {"result": ports.width("result")})

    drive(0, 0, 0, 0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)

    phases = stimulus(cfg, rng, run.random_cycles, run.quick)
    await run_phases(clk, phases, lambda *v: drive(*(int(x) for x in v)), board,
                     observe_inputs, observe_outputs, log=log, label=cfg.name, seed=seed)
