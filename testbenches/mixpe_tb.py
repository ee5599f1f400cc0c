"""cocotb testbench of the mixed-precision group PE (:mod:`hdl.pe.mixpe`) against
:mod:`golden.pe.mixpe`.

Checked every cycle: ``result`` against the golden model, fed the inputs the input monitor
read back from the ports (:class:`~testbenches.common.tb.CycleScoreboard`); the first failing
cycle is reported with its phase, the inputs before it and the seed.

Stimulus phases (one seeded generator; the seed is logged):

``pairs``        int8 activations: every weight x every activation once (4,096 pairs for
                 int4, 65,536 for int8 weights); fp16/bf16: every weight x every sign and
                 exponent code x four significands (0, 1, the largest, one random), so every
                 shift of the product and every special (8-bit weights: every weight with
                 every fp16 class, with 64 of the 256 bf16 classes, every class with 64
                 weights: ``FP_PAIRS``). Each cycle is its own group
                 (``clear`` and ``last`` every cycle), so ``result`` is that one product
                 dequantized; the scale cycles through a small set of fp16 values.
``groups``       realistic streams: activations from a normal distribution with outlier
                 channels (and the int8 range), a tenth of them corners (zeros, subnormals,
                 the largest, infinities, NaN), random weights and zero points, one fp16
                 scale per group, groups of ``group`` products closed by the counter and
                 by random ``last``, random ``enable``, a ``clear`` now and then;
``full groups``  groups of exactly ``group`` products of the largest weight and activation
                 magnitudes (the exact sum's widest value, both signs), closed by the counter;
``reset``        a synchronous reset in the middle of a group.

The quick stimulus (Icarus) keeps 2,048 pairs and 2,000 group cycles.
"""

import cocotb
import ml_dtypes
import numpy as np
from cocotb.triggers import FallingEdge

from golden.pe.mixpe import MixPe as GoldenMixPe
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   run_phases, start_clock, stepper)

#: fp16 scales the pairs phase cycles through (bit patterns): 1, -1, 0.75, 2**-10, 3.5e3, 0
SCALES = np.float16([1.0, -1.0, 0.75, 2.0 ** -10, 3.5e3, 0.0]).view(np.uint16).astype(np.int64)


#: fp activations: pairs above this many (8-bit weights) become a Latin pairing of weights
#: and sign/exponent classes, at most this many (the golden model dequantizes every pair)
FP_PAIRS = 16384
#: random group cycles at most (the golden model steps ~120 us a cycle)
GROUP_CYCLES = 30000


def activation_corners(act):
    """Bit patterns of the corner activations: zeros, the smallest subnormals, the largest
    finite, infinities, a NaN (int8: 0, +-1, -128, 127)."""
    if act == "int8":
        return np.array([0, 1, 0xFF, 0x80, 0x7F], np.int64)
    mb = 10 if act == "fp16" else 7
    top = 0x7C00 if act == "fp16" else 0x7F80
    return np.array([0, 0x8000, 1, 0x8001, (1 << mb) - 1, 1 << mb, top - 1, (top - 1) | 0x8000,
                     top, top | 0x8000, top | 1], np.int64)


def realistic_activations(act, rng, count, channels=64):
    """Activations with outlier channels: normal, channel ``k % channels`` scaled by 20 for
    one channel in 16; a tenth corners."""
    scale = np.where(np.arange(count) % channels % 16 == 3, 20.0, 1.0)
    x = rng.normal(0, 1, count) * scale
    if act == "int8":
        bits = np.clip(np.rint(x * 16), -128, 127).astype(np.int64) & 0xFF
    else:
        dtype = np.float16 if act == "fp16" else ml_dtypes.bfloat16
        bits = x.astype(dtype).view(np.uint16).astype(np.int64)
    pick = rng.random(count) < 0.1
    bits[pick] = rng.choice(activation_corners(act), pick.sum())
    return bits


def stimulus(cfg, rng, random_cycles, quick):
    """List of ``(phase, a, b, scale, zero, clear, enable, last, rst)`` columns."""
    W, G = cfg.w_width, cfg.group
    ones = np.ones
    phases = []
    # pairs: every weight x every activation (int8) or every sign/exponent class (fp)
    weights = np.arange(1 << W)
    if cfg.act == "int8":
        acts = np.arange(256)
    else:
        mb = 10 if cfg.act == "fp16" else 7
        classes = np.arange(1 << (15 - mb)) << mb          # sign and exponent codes
        mans = np.array([0, 1, (1 << mb) - 1, int(rng.integers(0, 1 << mb))])
        acts = (classes[:, None] | mans[None]).ravel()
    w, b = (x.ravel() for x in np.meshgrid(weights, acts, indexing="ij"))
    if cfg.act != "int8" and w.size > FP_PAIRS:
        # 8-bit weights x fp: pair t is weight t mod 2**W with class (t + t div 2**W) mod
        # n_cls (a Latin pairing: every weight meets min(n_cls, FP_PAIRS / 2**W) classes,
        # every class as many weights), the significands drawn from the four
        n_cls, n_w = len(classes), len(weights)
        t = np.arange(min(n_w * n_cls, FP_PAIRS))
        wi, ci = t % n_w, (t + t // n_w) % n_cls
        w, b = weights[wi], classes[ci] | rng.choice(mans, wi.size)
    if quick:
        keep = rng.permutation(w.size)[:2048]
        w, b = w[keep], b[keep]
    n = w.size
    zeros = rng.integers(0, 1 << W, n)
    phases.append(("pairs", w, b, SCALES[np.arange(n) % len(SCALES)], zeros, ones(n, int),
                   ones(n, int), ones(n, int), np.zeros(n, int)))

    # groups: realistic streams
    n = 2000 if quick else min(random_cycles, GROUP_CYCLES)
    if n:
        group_id = np.cumsum(rng.random(n) < 1.0 / G)
        scale_of = np.float16(rng.lognormal(-4, 1, group_id[-1] + 1)
                              * rng.choice([1, -1], group_id[-1] + 1)).view(np.uint16)
        zero_of = rng.integers(0, 1 << W, group_id[-1] + 1)
        phases.append(("groups", rng.integers(0, 1 << W, n),
                       realistic_activations(cfg.act, rng, n), scale_of[group_id].astype(np.int64),
                       zero_of[group_id], (rng.random(n) < 1 / (4 * G + 8)).astype(int),
                       (rng.random(n) < 7 / 8).astype(int),
                       (rng.random(n) < 1 / (2 * G + 2)).astype(int), np.zeros(n, int)))

    # full groups of the largest magnitudes, both signs (the exact sum's widest values)
    if cfg.act == "int8":
        big = np.array([0x80, 0x7F])
    else:
        top = 0x7C00 if cfg.act == "fp16" else 0x7F80
        big = np.array([top - 1, (top - 1) | 0x8000])
    wbig = np.array([1 << (W - 1), (1 << (W - 1)) - 1]) if cfg.w_signed else \
        np.array([(1 << W) - 1, 0])
    n = 4 * G
    sign = (np.arange(n) // G) % 2
    phases.append(("full groups", wbig[sign], big[(np.arange(n) // (2 * G)) % 2],
                   np.full(n, SCALES[2]), np.where(sign == 1, (1 << W) - 1, 0), np.eye(1, n, 0,
                   dtype=int)[0], ones(n, int), np.zeros(n, int), np.zeros(n, int)))

    n = 12
    rst = np.zeros(n, int)
    rst[5] = 1
    phases.append(("reset", rng.integers(0, 1 << W, n), realistic_activations(cfg.act, rng, n),
                   np.full(n, SCALES[0]), np.zeros(n, int), np.eye(1, n, 0, dtype=int)[0],
                   ones(n, int), (np.arange(n) % 7 == 6).astype(int), rst))
    return phases


def model_step(cfg):
    """``step(a, b, scale, zero, clear, enable, last, rst)`` of the golden model on the
    observed bit patterns: one rising edge, then the expected ``(result,)``."""
    return stepper(GoldenMixPe(cfg))


@cocotb.test()
async def mixpe_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    roles = ["a", "b", "scale", "zero", "clear", "enable", "last", "rst"]
    present = [r for r in roles if ports.has(r)]          # no zero port for signed weights
    drive_present = Driver(ports, present).drive
    observe_present = Monitor(ports, present).read
    index = [roles.index(r) for r in present]

    def drive(*values):
        drive_present(*(int(values[i]) for i in index))

    def observe_inputs():
        got = dict(zip(present, observe_present()))
        return tuple(got.get(r, 0) for r in roles)

    observe_outputs = Monitor(ports, ["result"]).read
    checks = [Check("result", 32, lambda o: o["result"], 0)]
    board = CycleScoreboard(log, seed, model_step(cfg), checks, roles, {"result": 32})

    drive(0, 0, 0, 0, 0, 0, 0, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)
    await run_phases(clk, stimulus(cfg, rng, run.random_cycles, run.quick), drive, board,
                     observe_inputs, observe_outputs, log=log, label=cfg.name, seed=seed)
