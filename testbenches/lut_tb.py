"""cocotb testbench of the LUT mpGEMM PE (:mod:`hdl.pe.lut`, both datapaths) against
:mod:`golden.pe.lut`.

Checked every cycle: every column's accumulator in ``result`` against the golden model, fed
the inputs the input monitor read back from the ports
(:class:`~testbenches.common.tb.CycleScoreboard`); the first failing cycle is reported with
its phase, the inputs before it and the seed. The timing comes from the config
(``latency``, ``load_latency``): the testbench checks both are 1, which its stimulus (a load
overlapping the last plane) and its sampling assume, and refuses any other design.

A *group* is K activations and ``cols x K`` weights: one ``load`` and n = ``w_width``
enabled plane cycles, least significant plane first; the next group's ``load`` comes with
the current group's last plane (``load_latency`` = 1), so the stream has no bubble.

Stimulus phases (one seeded generator; the seed is logged):

``exhaustive wNxaM``   every weight value x every activation value (the full ranges of the
                       config) as a product of some column and lane, once per pass
                       (:func:`exhaustive_groups`); K passes, pass ``s`` shifting the
                       activations by ``s`` lanes, so every pair also meets every lane
                       when K divides the activation count. ``clear`` on the first plane of
                       every third group: sums run over several groups;
``random groups``      random groups (a fifth of the values from the corners min/max/0/1/-1),
                       stall cycles (``enable=0``) between planes, a quarter of the groups
                       reusing the loaded table (no ``load``: another weight tile on the
                       same activations), random ``clear`` at a group's first plane;
``random controls``    every input random on every cycle (``load``, ``clear``, ``enable``
                       included): loads mid-group, planes out of step, anything;
``corners``            groups of extreme values only, no ``clear``: the accumulators wrap
                       (a config with ``acc_width = group_bits``);
``reset``              a synchronous reset in the middle of a group.

``TPEGEN_RANDOM_CYCLES`` (default 100,000) splits between the two random phases (1/2 and
1/4). The quick stimulus (Icarus) runs one exhaustive pass when it is at most 4,096 pairs,
and 2,000 random cycles.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.mac import operand_range
from golden.pe.lut import LutPe as GoldenLut
from golden.pe.lut import bit_planes, pack_lanes
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   column, run_phases, start_clock, stepper)

IN_ROLES = ["a", "mode", "b", "clear", "enable", "rst"]


def exhaustive_groups(cfg, passes=1):
    """``[(acts, weights)]``: every weight value x every activation value occurs as the
    product of some column ``j`` and lane ``k`` (``weights[j][k] * acts[k]``) once per pass.

    Pass ``s``, weight round ``r``, activation group ``g``: lane ``k`` holds activation
    ``A[(g*K + k + s) % |A|]`` and column ``j`` weight ``W[(r*cols + j + k) % |W|]``; the
    groups ``g`` cover every activation, and the rounds give each of its lanes ``cols``
    consecutive weights per round, all of them over ``ceil(|W| / cols)`` rounds."""
    K, cols = cfg.k, cfg.cols
    alo, ahi = operand_range(cfg.a_width, cfg.a_signed)
    wlo, whi = operand_range(cfg.w_width, cfg.w_signed)
    A, W = list(range(alo, ahi + 1)), list(range(wlo, whi + 1))
    groups = []
    for s in range(passes):
        for r in range(-(-len(W) // cols)):
            for g in range(-(-len(A) // K)):
                acts = [A[(g * K + k + s) % len(A)] for k in range(K)]
                weights = [[W[(r * cols + j + k) % len(W)] for k in range(K)]
                           for j in range(cols)]
                groups.append((acts, weights))
    return groups


def _values(rng, bits, signed, size):
    """Random values of an operand range, a fifth from the corners."""
    lo, hi = operand_range(bits, signed)
    out = rng.integers(lo, hi + 1, size=size)
    corners = np.array(sorted({lo, hi, 0, min(1, hi), -1 if lo < 0 else hi - 1}))
    pick = rng.random(size) < 0.2
    out[pick] = rng.choice(corners, size=int(pick.sum()))
    return out


def _word(rng, bits):
    """A uniformly random ``bits``-bit word (a Python integer, any width)."""
    return int.from_bytes(rng.bytes((bits + 7) // 8), "little") & ((1 << bits) - 1)


def random_groups(cfg, rng, count, reuse=0.25):
    """``count`` random groups; a ``reuse`` fraction repeats the previous activations."""
    groups = []
    for i in range(count):
        if groups and rng.random() < reuse:
            acts = groups[-1][0]
        else:
            acts = _values(rng, cfg.a_width, cfg.a_signed, cfg.k).tolist()
        weights = _values(rng, cfg.w_width, cfg.w_signed, (cfg.cols, cfg.k)).tolist()
        groups.append((acts, weights))
    return groups


def schedule(cfg, groups, *, rng=None, clear=lambda g: g % 3 == 0, stalls=0.0):
    """Input columns ``(a, load, b, clear, enable)`` that stream ``groups``: a first
    ``load`` cycle, then each group's n planes, the next group's ``load`` on the last plane
    (none when it reuses the held activations); ``stalls``: the chance of an idle cycle
    (``enable=0``, random ``a`` and ``b``) before each plane. Words are Python integers."""
    n, K, A = cfg.w_width, cfg.k, cfg.a_width
    rows = [(pack_lanes(groups[0][0], A), 1, 0, 0, 0)]
    for g, (acts, weights) in enumerate(groups):
        nxt = groups[g + 1][0] if g + 1 < len(groups) else None
        for p, word in enumerate(bit_planes(weights, cfg)):
            while stalls and rng.random() < stalls:
                rows.append((_word(rng, K * A), 0, _word(rng, cfg.cols * K), 0, 0))
            last = p == n - 1
            load = last and nxt is not None and nxt is not acts
            a = pack_lanes(nxt, A) if load else 0
            rows.append((a, int(load), word, int(p == 0 and clear(g)), 1))
    return rows


def _phase(name, rows):
    cols = list(zip(*rows))
    return (name, *[np.array(c, dtype=object) for c in cols],
            np.zeros(len(rows), dtype=object))


def stimulus(cfg, rng, random_cycles, quick):
    """List of ``(phase, a, load, b, clear, enable, rst)`` columns."""
    n, K = cfg.w_width, cfg.k
    phases = []
    pairs = (1 << cfg.w_width) * (1 << cfg.a_width)
    if not quick or pairs <= 4096:
        groups = exhaustive_groups(cfg, passes=1 if quick else K)
        phases.append(_phase(f"exhaustive w{cfg.w_width}xa{cfg.a_width}",
                             schedule(cfg, groups)))
    count = 2000 if quick else random_cycles // 2
    if count:
        groups = random_groups(cfg, rng, max(1, count // (n + 1)))
        phases.append(_phase("random groups", schedule(
            cfg, groups, rng=rng, stalls=0.1, clear=lambda g: rng.random() < 0.2)))
    count = 1000 if quick else random_cycles // 4
    if count:
        rows = [(int(x), int(ld), int(b), int(c), int(e)) for x, ld, b, c, e in zip(
            [pack_lanes(v, cfg.a_width) for v in
             _values(rng, cfg.a_width, cfg.a_signed, (count, K)).tolist()],
            rng.random(count) < 1 / 6,
            [_word(rng, cfg.cols * K) for _ in range(count)],
            rng.random(count) < 1 / 16, rng.random(count) < 7 / 8)]
        phases.append(_phase("random controls", rows))
    alo, ahi = operand_range(cfg.a_width, cfg.a_signed)
    wlo, whi = operand_range(cfg.w_width, cfg.w_signed)
    groups = []
    for i in range(64):
        acts = [(alo, ahi)[(i >> k) & 1] for k in range(K)]
        weights = [[(wlo, whi)[(i + j + k) & 1] if i % 4 else wlo for k in range(K)]
                   for j in range(cfg.cols)]
        groups.append((acts, weights))
    phases.append(_phase("corners", schedule(cfg, groups * 4, clear=lambda g: False)))
    rows = schedule(cfg, random_groups(cfg, rng, 3))
    rst = np.zeros(len(rows), dtype=object)
    rst[n + n // 2 + 1] = 1
    phases.append(("reset", *[np.array(c, dtype=object) for c in zip(*rows)], rst))
    return phases


def model_step(cfg):
    """``step(a, load, b, clear, enable, rst)`` of the golden model on the observed bit
    patterns: one rising edge, then the expected accumulators (one per column)."""
    return stepper(GoldenLut(cfg), lambda m: tuple(m.acc))


def column_checks(cfg):
    """One :class:`Check` per column: bits ``j * acc_width ..`` of ``result``."""
    width, mask = cfg.acc_width, (1 << cfg.acc_width) - 1

    def observed(j):
        return lambda o: column([(int(v) >> (j * width)) & mask for v in o["result"]], width)
    return [Check(f"result[{j}]", width, observed(j), j) for j in range(cfg.cols)]


@cocotb.test()
async def lut_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    assert manifest["latency"] == cfg.latency
    log.info("%s: %g MACs/cycle, latency %d, load latency %d", cfg.name, cfg.macs_per_cycle,
             cfg.latency, cfg.load_latency)
    if cfg.latency != 1 or cfg.load_latency != 1:
        raise NotImplementedError("lut_tb samples the accumulators one edge after a plane "
                                  "and overlaps a load with the last plane")
    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    drive = Driver(ports, IN_ROLES).drive
    observe_inputs = Monitor(ports, IN_ROLES).read
    observe_outputs = Monitor(ports, ["result"]).read
    board = CycleScoreboard(log, seed, model_step(cfg), column_checks(cfg), IN_ROLES,
                            {"result": ports.width("result")})

    drive(0, 0, 0, 0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)

    phases = stimulus(cfg, rng, run.random_cycles, run.quick)
    await run_phases(clk, phases, drive, board, observe_inputs, observe_outputs, log=log,
                     label=cfg.name, seed=seed)
