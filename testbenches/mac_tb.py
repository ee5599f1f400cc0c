"""cocotb testbench of the integer MAC (:mod:`hdl.mac`) against :mod:`golden.mac`.

Checked every cycle: ``result`` against the golden model and, for carry-save designs, the
invariant ``(sum + carry) mod 2**acc_width == acc`` of the golden accumulator. The model is
fed the inputs the input monitor read back from the ports (not the driver's intent), and
the comparisons run in numpy batches of 4,096 cycles (:class:`~testbenches.common.tb.
CycleScoreboard`); the first failing cycle is reported with its phase, the inputs of the
cycles before it and the seed.

Stimulus phases (all from one seeded generator; the seed is logged):

``exhaustive``  every operand pair once (when ``a_width + b_width <= 16``), ``enable=1``,
                ``clear`` every 16th cycle, so each pair's product shows up in the result;
``random``      ``TPEGEN_RANDOM_CYCLES`` cycles (default 100,000) of random operands (a fifth
                of them drawn from the corners min/max/0/1/-1), ``clear`` with p=1/16 and
                ``enable`` with p=7/8;
``wrap``        min*min (and max*max, min*max) accumulated from a clear until the accumulator
                overflows and wraps (capped at 2**18 cycles);
``reset``       a synchronous reset in the middle of an accumulation.
"""

import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.mac import Mac as GoldenMac
from golden.mac import operand_range
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   run_phases, start_clock)

WRAP_CAP = 1 << 18


def stimulus(cfg, rng, random_cycles, wrap_cap=WRAP_CAP):
    """List of ``(phase, a, b, clear, enable, rst)`` tuples."""
    a_lo, a_hi = operand_range(cfg.a_width, cfg.a_signed)
    b_lo, b_hi = operand_range(cfg.b_width, cfg.b_signed)
    phases = []

    if cfg.a_width + cfg.b_width <= 16:
        a, b = np.meshgrid(np.arange(a_lo, a_hi + 1), np.arange(b_lo, b_hi + 1), indexing="ij")
        n = a.size
        clear = (np.arange(n) % 16 == 0).astype(np.int64)
        phases.append(("exhaustive", a.ravel(), b.ravel(), clear, np.ones(n, np.int64),
                       np.zeros(n, np.int64)))

    n = random_cycles
    if n:
        def operands(lo, hi):
            values = rng.integers(lo, hi, size=n, endpoint=True)
            corners = np.array(sorted({lo, hi, 0, 1, -1 if lo < 0 else hi - 1}))
            pick = rng.random(n) < 0.2
            values[pick] = rng.choice(corners, size=int(pick.sum()))
            return values
        phases.append(("random", operands(a_lo, a_hi), operands(b_lo, b_hi),
                       (rng.random(n) < 1 / 16).astype(np.int64),
                       (rng.random(n) < 7 / 8).astype(np.int64), np.zeros(n, np.int64)))

    modulus_point = 1 << (cfg.acc_width - 1 if cfg.result_signed else cfg.acc_width)
    pairs = [(a_lo, b_lo), (a_hi, b_hi), (a_lo, b_hi)]
    for i, (pa, pb) in enumerate(pairs):
        product = abs(pa * pb)
        if product == 0:
            continue
        cap = wrap_cap if i == 0 else min(wrap_cap, 4096)
        n = min(-(-modulus_point // product) + 4, cap)
        clear = np.zeros(n, np.int64)
        clear[0] = 1
        phases.append((f"wrap {pa}*{pb}", np.full(n, pa), np.full(n, pb), clear,
                       np.ones(n, np.int64), np.zeros(n, np.int64)))

    n = 12
    rst = np.zeros(n, np.int64)
    rst[6] = 1
    phases.append(("reset", np.full(n, a_hi), np.full(n, b_hi), np.eye(1, n, 0, np.int64)[0],
                   np.ones(n, np.int64), rst))
    return phases


def model_step(cfg):
    """``step(a, b, clear, enable, rst)`` of the golden model on the *observed* input bit
    patterns (operands read back as unsigned): one rising edge, then the expected
    ``(result, acc)`` after it."""
    model = GoldenMac(cfg)
    mask = (1 << cfg.acc_width) - 1
    wa, wb = cfg.a_width, cfg.b_width
    sa = 1 << (wa - 1) if cfg.a_signed else None
    sb = 1 << (wb - 1) if cfg.b_signed else None
    tick, reset, outputs = model.tick, model.reset, model.outputs

    def step(a, b, clear, enable, rst):
        if rst:
            reset()
        else:
            if sa is not None and a & sa:
                a -= 1 << wa
            if sb is not None and b & sb:
                b -= 1 << wb
            tick(a, b, clear, enable)
        out = outputs()
        return out["result"] & mask, out["acc"]
    return step


@cocotb.test()
async def mac_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    random_cycles = run.random_cycles
    wrap_cap = int(os.environ.get("TPEGEN_WRAP_CAP", str(WRAP_CAP)))

    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    in_roles = ["a", "b", "clear", "enable", "rst"]
    drive = Driver(ports, in_roles).drive
    carry_save = ports.has("sum")
    out_roles = ["result", "sum", "carry"] if carry_save else ["result"]
    observe_inputs = Monitor(ports, in_roles).read    # what the last rising edge saw
    observe_outputs = Monitor(ports, out_roles).read  # the outputs after it
    width = cfg.acc_width
    checks = [Check("result", width, lambda o: o["result"], 0)]
    if carry_save:
        mask = np.uint64((1 << width) - 1) if width <= 64 else (1 << width) - 1
        checks.append(Check("(sum+carry) mod 2^W", width,
                            lambda o: (o["sum"] + o["carry"]) & mask, 1))
    board = CycleScoreboard(log, seed, model_step(cfg), checks, in_roles,
                            {r: ports.width(r) for r in out_roles})

    drive(0, 0, 0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)

    phases = stimulus(cfg, rng, random_cycles, wrap_cap)
    await run_phases(clk, phases, drive, board, observe_inputs, observe_outputs, log=log,
                     label=cfg.name, seed=seed)
