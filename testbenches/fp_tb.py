"""cocotb testbench of pipelined floating-point functions (``result = f(a, b)`` after
``latency`` edges) against their golden models. Used by every FP unit whose golden model is a
pure function of the operand bit patterns; today: L-Mul (:mod:`golden.fp.lmul`).

Stimulus (seeded; the seed is logged):

``exhaustive``  every operand pair once, when both operands together have at most 16 bits;
``random``      ``TPEGEN_RANDOM_CYCLES`` cycles (default 100,000) of random bit patterns, a
                quarter of them taken from the format's corner values (zeros, smallest and
                largest subnormal and normal, largest finite, inf, NaN);
``reset``       a synchronous reset in the middle of the stream.

Every cycle, ``result`` is checked against the golden function of the operands presented
``latency`` cycles earlier (zero after a reset).
"""

import os
from collections import deque

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.fp.lmul import lmul
from testbenches.common.tb import (Driver, Monitor, Ports, Progress, Scoreboard, load_manifest,
                                   start_clock)
from tpegen.config import config_from_dict

GOLDEN = {"lmul": lambda cfg: (lambda a, b: lmul(a, b, cfg.fmt))}


def corners(fmt):
    """Bit patterns of a format's corner values, both signs."""
    m, top = fmt.man_bits, fmt.emax + fmt.bias
    values = {0, 1, (1 << m) - 1, 1 << m, (top << m) | fmt.max_mantissa, fmt.bias << m}
    if fmt.has_inf:
        values.add(fmt.exp_max_code << m)
    if fmt.has_nan:
        values.add(fmt.nan_code)
    values = {v & ((1 << (fmt.width - 1)) - 1) for v in values}
    return sorted(values | {v | (1 << (fmt.width - 1)) for v in values})


def stimulus(cfg, rng, random_cycles):
    fmt = cfg.fmt
    size = 1 << fmt.width
    phases = []
    if 2 * fmt.width <= 16:
        a, b = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        phases.append(("exhaustive", a.ravel(), b.ravel(), np.zeros(a.size, np.int64)))
    n = random_cycles
    if n:
        ops = rng.integers(0, size, (2, n))
        pick = rng.random((2, n)) < 0.25
        ops[pick] = rng.choice(corners(fmt), int(pick.sum()))
        phases.append(("random", ops[0], ops[1], np.zeros(n, np.int64)))
    rst = np.zeros(8, np.int64)
    rst[4] = 1
    phases.append(("reset", rng.integers(0, size, 8), rng.integers(0, size, 8), rst))
    return phases


@cocotb.test()
async def fp_function_vs_golden(dut):
    manifest = load_manifest()
    cfg = config_from_dict(manifest["kind"], manifest["parameters"])
    golden = GOLDEN[manifest["kind"]](cfg)
    seed = int(os.environ.get("TPEGEN_SEED", "1"))
    log = dut._log
    log.info("design %s, seed %d", cfg.name, seed)
    rng = np.random.default_rng(seed)
    random_cycles = int(os.environ.get("TPEGEN_RANDOM_CYCLES", "100000"))
    latency = manifest["latency"]

    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    drive = Driver(ports, ["a", "b", "rst"]).drive
    sample = Monitor(ports, ["result"]).sample
    board = Scoreboard(log, seed)
    width = cfg.fmt.width

    drive(0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)
    expected = deque([0] * latency)   # results in flight, oldest first

    phases = stimulus(cfg, rng, random_cycles)
    total = sum(len(p[1]) for p in phases)
    progress = Progress(log, total, cfg.name)
    cycle = 0
    for phase, a_col, b_col, rst_col in phases:
        log.info("phase %s: %d cycles", phase, len(a_col))
        for a, b, rst in zip(a_col.tolist(), b_col.tolist(), rst_col.tolist()):
            if latency:
                board.check(cycle, "result", sample()["result"], expected[0], width)
            drive(a, b, rst)
            board.note_inputs(cycle, phase, dict(a=hex(a), b=hex(b), rst=rst))
            await FallingEdge(clk)
            if latency:
                expected.popleft()
                expected.append(0 if rst else golden(a, b))
            else:
                board.check(cycle, "result", sample()["result"], golden(a, b), width)
            cycle += 1
            if not cycle & 0xFFF:
                progress.update(cycle)
    log.info("PASS %s: %d cycles, %d checks, %.0f cycles/s, seed %d", cfg.name, cycle,
             board.checks, progress.rate(cycle), seed)
