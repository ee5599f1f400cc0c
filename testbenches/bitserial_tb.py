"""cocotb testbench of the bit-serial PE (:mod:`hdl.pe.bitserial`) against
:mod:`golden.pe.bitserial`.

Checked every cycle: ``result`` and ``ready`` against the golden cycle model, fed the inputs
the input monitor read back from the ports (:class:`~testbenches.common.tb.CycleScoreboard`);
the first failing cycle is reported with its phase, the inputs before it and the seed. The
driver is reactive: a beat is held on the ports until the PE accepts it (``valid`` and
``ready`` at an edge). Checked per phase driven back to back (``valid`` always 1, the PE idle
at the start): the edge that accepts every beat against the golden model's closed-form
prediction :func:`golden.pe.bitserial.schedule` (not the cycle model), and that ``result``
holds the phase's final golden value after the predicted last edge (``total``).

Stimulus phases (one seeded generator; the seed is logged). Every group starts with
``clear`` in the structured phases, so a group's infinities or NaN do not hide the next:

``codes <dtype>``     every dtype: every 4-bit code x every corner activation (zeros, every
                      exponent with mantissas 0 / 1 / max / random of both signs, subnormals,
                      infinities, NaNs), the pairs rotated across lanes so that every lane
                      sees all of them; scale 1.0 or a random normal one; back to back
                      (cycles checked);
``exhaustive <dtype>`` only with ``TPEGEN_BITSERIAL_EXHAUSTIVE=1``: every 4-bit code x every
                      one of the 65,536 activation bit patterns, once each (1,048,576 products
                      per dtype, ``L`` per beat), back to back (cycles checked);
``activations``       8,192 random activation bit patterns, random codes and dtypes, back
                      to back (cycles checked; every pattern is the exhaustive phase's);
``sparse``            mostly-zero weights and whole zero beats (the skipped positions),
                      back to back (cycles checked);
``random``            random beats, dtype per group, scales of both signs (with subnormal,
                      infinite and NaN scales), clears at group starts and mid-group,
                      ``valid`` gaps; ``TPEGEN_RANDOM_CYCLES`` (default 100,000) beats / 4;
``reset``             a synchronous reset while a beat is being processed.

The quick stimulus (Icarus) keeps every dtype's code phase on fewer corner activations, a
sample of the activations, and 300 random beats.
"""

import os
import time

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.pe.bitserial import BitSerialPe as Golden
from golden.pe.bitserial import DTYPES, pack, schedule
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   start_clock, stepper)

#: the inputs in the golden model's ``tick`` order (``last``: the serial datapath only)
IN_ROLES = ["a", "b", "dtype", "scale", "clear", "valid", "last", "rst"]
SCALE_ONE = 0x3C00


def corner_acts(act, rng, quick):
    """Corner activation bit patterns of ``act`` (16-bit)."""
    mb = 10 if act == "fp16" else 7
    eb = 15 - mb
    out = {0, 0x8000}
    exps = range(1 << eb) if act == "fp16" or not quick else range(0, 1 << eb, 8)
    for e in exps:
        mans = {0, 1, (1 << mb) - 1} if quick else {0, 1, (1 << mb) - 1,
                                                     int(rng.integers(0, 1 << mb))}
        for man in mans:
            for s in (0, 1):
                out.add((s << 15) | (e << mb) | man)
    return np.array(sorted(out), np.int64)


def _beats_of_pairs(codes, acts, L, dtype, scale, steps):
    """Beats holding every (code, act) pair in every lane (lane ``i`` rotated by ``i *
    n / L``), padded to whole groups; clear at every group start."""
    n = len(codes)
    pad = (-n) % steps
    c = np.stack([np.roll(codes, i * n // L) for i in range(L)], 1)
    a = np.stack([np.roll(acts, i * n // L) for i in range(L)], 1)
    if pad:
        c = np.concatenate([c, c[:pad]])
        a = np.concatenate([a, a[:pad]])
    count = len(c)
    clear = (np.arange(count) % steps == 0).astype(np.int64)
    return dict(a=a, codes=c, dtype=np.broadcast_to(dtype, count).copy(),
                scale=np.broadcast_to(scale, count).copy(), clear=clear)


def random_acts(act, rng, shape):
    """Random activations: random exponents (so every magnitude appears), a few specials."""
    x = rng.integers(0, 1 << 16, shape)
    special = rng.random(shape) < 0.01
    mb = 10 if act == "fp16" else 7
    x = np.where(special, (x & 0x8000) | (((1 << (15 - mb)) - 1) << mb)
                 | np.where(rng.random(shape) < .5, 0, x & 3), x)
    zero = rng.random(shape) < 0.05
    return np.where(zero, x & 0x8000, x)


def random_scales(act, rng, count):
    """fp16 scales: mostly normal of both signs, a few subnormal, infinite, NaN, zero."""
    s = rng.integers(0x0400, 0x5C00, count) | (rng.integers(0, 2, count) << 15)
    r = rng.random(count)
    s = np.where(r < 0.03, rng.integers(1, 0x400, count), s)
    s = np.where((r >= 0.03) & (r < 0.04), 0x7C00 | (rng.integers(0, 2, count) << 15), s)
    s = np.where((r >= 0.04) & (r < 0.045), 0x7E00, s)
    s = np.where((r >= 0.045) & (r < 0.05), 0, s)
    return s


def stimulus(cfg, rng, random_cycles, quick, exhaustive=False):
    """``[(phase, beats, gap, checked)]``: ``beats`` a dict of per-beat columns (``a`` and
    ``codes`` of shape (B, L)); ``gap`` the probability of a cycle without ``valid``;
    ``checked``: the acceptance edges are compared with :func:`schedule`."""
    L, steps, act = cfg.lanes, cfg.steps, cfg.act
    phases = []
    corners = corner_acts(act, rng, quick)
    for k, name in enumerate(DTYPES):
        codes, acts = np.meshgrid(np.arange(16), corners, indexing="ij")
        codes, acts = codes.ravel(), acts.ravel()
        order = rng.permutation(len(codes))
        scale = SCALE_ONE if k % 2 == 0 else int(rng.integers(0x3000, 0x4C00))
        phases.append((f"codes {name}", _beats_of_pairs(codes[order], acts[order], L, k,
                                                        scale, steps), 0.0, True))
    if exhaustive:
        for k, name in enumerate(DTYPES):
            codes, acts = np.meshgrid(np.arange(16), np.arange(1 << 16), indexing="ij")
            order = rng.permutation(codes.size)
            count = -(-codes.size // L)
            count += (-count) % steps
            c = np.resize(codes.ravel()[order], count * L).reshape(count, L)
            a = np.resize(acts.ravel()[order], count * L).reshape(count, L)
            phases.append((f"exhaustive {name}", dict(
                a=a, codes=c, dtype=np.full(count, k),
                scale=np.repeat(rng.integers(0x3000, 0x4C00, count // steps), steps),
                clear=(np.arange(count) % steps == 0).astype(np.int64)), 0.0, True))
    # (a sample: every pattern of every dtype is the exhaustive phase's, which
    # test_bitserial runs on one configuration)
    every = rng.integers(0, 1 << 16, 8192)
    if quick:
        every = every[:512]
    count = -(-len(every) // L)
    count += (-count) % steps
    a = np.resize(every, count * L).reshape(count, L)
    phases.append(("activations", dict(
        a=a, codes=rng.integers(0, 16, (count, L)),
        dtype=np.repeat(rng.integers(0, 4, count // steps), steps),
        scale=np.repeat(rng.integers(0x2000, 0x5000, count // steps), steps),
        clear=(np.arange(count) % steps == 0).astype(np.int64)), 0.0, True))
    count = max(steps, 64 if quick else 512)
    count += (-count) % steps
    codes = np.where(rng.random((count, L)) < 0.8, 0, rng.integers(0, 16, (count, L)))
    codes[rng.random(count) < 0.3] = 0
    phases.append(("sparse", dict(
        a=random_acts(act, rng, (count, L)), codes=codes,
        dtype=np.repeat(rng.integers(0, 4, count // steps), steps),
        scale=np.repeat(random_scales(act, rng, count // steps), steps),
        clear=(np.arange(count) % (4 * steps) == 0).astype(np.int64),
        last=(rng.random(count) < 1 / 16).astype(np.int64)), 0.0, True))
    count = 300 if quick else max(random_cycles // 4, steps)
    groups = -(-count // steps)
    count = groups * steps
    clear = ((np.arange(count) % steps == 0) & (np.repeat(rng.random(groups), steps) < 1 / 4))
    clear = clear | (rng.random(count) < 1 / 64)
    phases.append(("random", dict(
        a=random_acts(act, rng, (count, L)), codes=rng.integers(0, 16, (count, L)),
        dtype=np.repeat(rng.integers(0, 4, groups), steps),
        scale=np.repeat(random_scales(act, rng, groups), steps),
        clear=clear.astype(np.int64), last=(rng.random(count) < 1 / 8).astype(np.int64)),
        0.2, False))
    return phases


def _last(beats):
    """The phase's ``last`` column (zeros where the phase has none)."""
    return beats.get("last", np.zeros(len(beats["a"]), np.int64))


def model_step(cfg):
    """``step(a, b, dtype, scale, clear, valid, rst)`` of the golden model on the observed
    bit patterns: one rising edge, then the expected ``(result, ready)``."""
    return stepper(Golden(cfg), lambda m: (m.result, m.ready))


def final_value(cfg, beats):
    """The golden result after a whole phase (from +0, idle edges after it)."""
    model = Golden(cfg)
    a, b = pack(beats["a"], 16), pack(beats["codes"], 4)
    for k in range(len(a)):
        model.tick(a[k], b[k], beats["dtype"][k], beats["scale"][k], beats["clear"][k], 1,
                   _last(beats)[k])
        while not model.ready:
            model.tick(0, 0, 0, 0, 0, 0)
    for _ in range(8):
        model.tick(0, 0, 0, 0, 0, 0)
    return model.result


@cocotb.test()
async def bitserial_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    roles = [r for r in IN_ROLES if r != "last" or cfg.datapath == "serial"]
    driver = Driver(ports, roles)

    def drive(a, b, dtype, scale, clear, valid, last, rst):
        if cfg.datapath == "serial":
            driver.drive(a, b, dtype, scale, clear, valid, last, rst)
        else:
            driver.drive(a, b, dtype, scale, clear, valid, rst)
    observe_inputs = Monitor(ports, roles).read
    observe_outputs = Monitor(ports, ["result", "ready"]).read
    checks = [Check("result", 32, lambda o: o["result"], 0),
              Check("ready", 1, lambda o: o["ready"], 1)]
    board = CycleScoreboard(log, seed, model_step(cfg), checks, roles,
                            {"result": 32, "ready": 1})
    drive(0, 0, 0, 0, 0, 0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)
    edge = FallingEdge(clk)
    cycle = 0
    started = time.monotonic()
    phases = stimulus(cfg, rng, run.random_cycles, run.quick,
                      os.environ.get("TPEGEN_BITSERIAL_EXHAUSTIVE") == "1")
    idle = 8 + cfg.latency
    for phase, beats, gap, checked in phases:
        count = len(beats["a"])
        log.info("phase %s: %d beats", phase, count)
        a, b = pack(beats["a"], 16).tolist(), pack(beats["codes"], 4).tolist()
        dtype, scale, clear = (beats[k].tolist() for k in ("dtype", "scale", "clear"))
        last = _last(beats).tolist()
        board.phase(cycle, phase)
        accepted, results = [], {}
        k = 0
        while k < count:
            inputs, outputs = observe_inputs(), observe_outputs()
            board.add(inputs, outputs)
            results[cycle] = outputs[0]
            valid = 0 if gap and rng.random() < gap else 1
            drive(a[k], b[k], dtype[k], scale[k], clear[k], valid, last[k], 0)
            await edge
            if valid and outputs[1]:
                accepted.append(cycle)
                k += 1
            cycle += 1
        for _ in range(idle):                        # drain: the last group reaches result
            outputs = observe_outputs()
            board.add(observe_inputs(), outputs)
            results[cycle] = outputs[0]
            drive(0, 0, 0, 0, 0, 0, 0, 0)
            await edge
            cycle += 1
        if checked:
            want, total = schedule(beats["codes"], beats["dtype"], cfg)
            got = np.array(accepted) - accepted[0]
            bad = np.flatnonzero(got != want)
            assert not bad.size, (f"CYCLES phase {phase}: beat {bad[0]} accepted at edge "
                                  f"{got[bad[0]]} after the first, predicted {want[bad[0]]} "
                                  f"(seed {seed})")
            board.flush()
            final = final_value(cfg, beats)
            assert board.outputs == [] and board.checks, "scoreboard not flushed"
            log.info("phase %s: %d beats in %d cycles as predicted (%.2f MACs/cycle)",
                     phase, count, total, cfg.lanes * count / total)
            # the sample of cycle c shows result after the edge ending cycle c - 1; the
            # first acceptance edge (ending cycle accepted[0]) is edge 1 of ``total``
            due = results[accepted[0] + total]
            last_result = observe_outputs()[0]
            assert due == final and last_result == final, (
                f"CYCLES phase {phase}: result {due:#x} after the predicted last edge "
                f"({total} edges), {last_result:#x} after the drain, golden {final:#x} "
                f"(seed {seed})")
    # reset while a beat is in flight
    board.phase(cycle, "reset")
    top = (1 << (16 * cfg.lanes)) - 1
    for t in range(12):
        board.add(observe_inputs(), observe_outputs())
        drive(top if t % 2 else 0x3C00, (1 << (4 * cfg.lanes)) - 1, 3, 0x3C00, int(t == 0), 1,
              int(t == 2), int(t == 5))
        await edge
        cycle += 1
    board.add(observe_inputs(), observe_outputs())
    board.flush()
    rate = cycle / max(time.monotonic() - started, 1e-9)
    log.info("PASS %s: %d cycles, %d checks, %.0f cycles/s, seed %d", cfg.name, cycle,
             board.checks, rate, seed)
