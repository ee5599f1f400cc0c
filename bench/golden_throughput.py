#!/usr/bin/env python3
"""Throughput of the vectorized golden models, through the batched calls a scoreboard makes.

Each row times one call on a batch of independent operations (a PE array's operands for one
cycle): ``vfma.fma(a, b, c, ...)`` on ``uint`` arrays of random bit patterns, the FP MACs'
``tick``, and ``MacArray.tick`` with int64 operands (what ``Generator.integers`` gives) and
random ``clear`` (1/16) / ``enable`` (7/8). Batches of 256 (a 16 x 16 array) and 65,536
(256 x 256); 16 different input sets are cycled through. A figure is the best of eleven
timing runs of at least ``--min-time`` seconds each (the machine is shared), on one core
(numpy's elementwise operations are single-threaded). The scalar models are timed too, for
scale.

Last lines, the lower of the two batch sizes:

* ``fma_bf16_fp32_ops_per_s``: the exact bf16 x bf16 + fp32 FMA (``golden.fp.vfma.fma``);
* ``mac_int8_ops_per_s``: the int8 MAC (``MacConfig()``: signed 8 x 8 bits, 32-bit
  carry-save accumulator) as ``golden.vmac.MacArray.tick`` (the accumulator a testbench
  checks; the carry-save pair's own row, ``pair=True``, is in the table).

Usage: ``python bench/golden_throughput.py [--min-time 0.1] [--seed 1]``
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from golden.fp import fma as scalar_fma  # noqa: E402
from golden.fp import vfma, vlmul  # noqa: E402
from golden.mac import Mac  # noqa: E402
from golden.vmac import MacArray  # noqa: E402
from tpegen.config import MacConfig  # noqa: E402
from tpegen.formats import parse_format  # noqa: E402

BATCHES = (256, 65536)
SETS = 16
_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32}


def best_rate(call, ops_per_call, min_time, runs=11):
    """Operations per second of ``call()``: the best of ``runs`` runs of >= ``min_time`` s
    (the best run is the one least disturbed by other processes on the machine), after
    ``min_time`` s of warm-up (the allocator settles on reusing the large arrays)."""
    start = time.perf_counter()
    while time.perf_counter() - start < min_time:
        call()
    rates = []
    for _ in range(runs):
        n, start = 0, time.perf_counter()
        while True:
            call()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        rates.append(n * ops_per_call / elapsed)
    return max(rates)


def bits(rng, fmt, shape):
    fmt = parse_format(fmt)
    return rng.integers(0, 1 << fmt.width, shape).astype(_UINT[max(8, fmt.width)])


def fp_function(rng, batch, fn, formats, **options):
    """A call of ``fn`` on ``SETS`` rotating input sets of random bit patterns."""
    sets = [[bits(rng, f, batch) for f in formats] for _ in range(SETS)]
    state = {"i": 0}

    def call():
        state["i"] = (state["i"] + 1) % SETS
        fn(*sets[state["i"]], **options)
    call.ops = batch
    return call


def cycle_model(rng, batch, model, operand_formats=None, int_ranges=None):
    """A call running ``model.tick`` for ``SETS`` cycles of random inputs (as a scoreboard
    steps through the cycles of its stimulus); ``SETS * batch`` operations per call."""
    if operand_formats is not None:
        ops = [[bits(rng, f, batch) for f in operand_formats] for _ in range(SETS)]
    else:
        ops = [[rng.integers(lo, hi, batch, endpoint=True) for lo, hi in int_ranges]
               for _ in range(SETS)]
    controls = [((rng.random(batch) < 1 / 16).astype(np.int64),
                 (rng.random(batch) < 7 / 8).astype(np.int64)) for _ in range(SETS)]
    cycles = [(*o, *c) for o, c in zip(ops, controls)]
    tick = model.tick

    def call():
        for a, b, clear, enable in cycles:
            tick(a, b, clear, enable)
    call.ops = SETS * batch
    return call


def rows(rng, min_time):
    """``[(name, {batch: ops/s})]``."""
    bf = dict(fmt_in="bf16", fmt_acc="fp32")
    int8 = [(-128, 127), (-128, 127)]
    table = []

    def row(name, make):
        rates = {}
        for batch in BATCHES:
            call = make(batch)
            rates[batch] = best_rate(call, call.ops, min_time)
        table.append((name, rates))
        print(f"  {name:48s} " + "  ".join(f"{rates[b] / 1e6:9.2f}" for b in BATCHES),
              flush=True)
        return rates

    print(f"  {'model (Mops/s at batch ' + ', '.join(map(str, BATCHES)) + ')':48s}")
    row("vfma.fma bf16 x bf16 + fp32", lambda n: fp_function(
        rng, n, vfma.fma, ("bf16", "bf16", "fp32"), **bf))
    row("vfma.fma bf16 x bf16 + fp32 rtz, flushing", lambda n: fp_function(
        rng, n, vfma.fma, ("bf16", "bf16", "fp32"), **bf, rounding="rtz", subnormals=False))
    row("vfma.fma e4m3fn x e5m2 + fp16", lambda n: fp_function(
        rng, n, vfma.fma, ("e4m3fn", "e5m2", "fp16"), fmt_a="e4m3fn", fmt_b="e5m2",
        fmt_acc="fp16"))
    row("vfma.fma fp16 x fp16 + fp16", lambda n: fp_function(
        rng, n, vfma.fma, ("fp16", "fp16", "fp16"), fmt_in="fp16", fmt_acc="fp16"))
    row("vfma.fma_approx bf16/fp32 w16g4k3", lambda n: fp_function(
        rng, n, vfma.fma_approx, ("bf16", "bf16", "fp32"), **bf, window=16, granularity=4,
        guard=3))
    row("vfma.Mac.tick bf16/fp32", lambda n: cycle_model(
        rng, n, vfma.Mac(n, **bf), ("bf16", "bf16")))
    row("vfma.UnnormalizedMac.tick bf16/fp32 w16g16k0e0", lambda n: cycle_model(
        rng, n, vfma.UnnormalizedMac(n, **bf, window=16, granularity=16, extension=0),
        ("bf16", "bf16")))
    row("vlmul.lmul bf16", lambda n: fp_function(
        rng, n, vlmul.lmul, ("bf16", "bf16"), fmt="bf16"))
    row("vlmul.LMac.tick bf16/fp32", lambda n: cycle_model(
        rng, n, vlmul.LMac(n, **bf), ("bf16", "bf16")))
    mac = row("MacArray.tick int8, acc32 (MacConfig())", lambda n: cycle_model(
        rng, n, MacArray(MacConfig(), n), int_ranges=int8))
    row("MacArray.tick int8, acc32, carry-save pair", lambda n: cycle_model(
        rng, n, MacArray(MacConfig(), n, pair=True), int_ranges=int8))
    row("MacArray.tick int8, acc32, input+output regs", lambda n: cycle_model(
        rng, n, MacArray(MacConfig(input_reg=True, output_reg=True), n), int_ranges=int8))
    row("MacArray.tick int16, acc40", lambda n: cycle_model(
        rng, n, MacArray(MacConfig(a_width=16, b_width=16, acc_width=40), n),
        int_ranges=[(-32768, 32767)] * 2))
    row("MacArray.tick int32, acc96 (two words)", lambda n: cycle_model(
        rng, n, MacArray(MacConfig(a_width=32, b_width=32, acc_width=96), n),
        int_ranges=[(-2 ** 31, 2 ** 31 - 1)] * 2))
    return table, table[0][1], mac


def scalar_rates(rng, min_time):
    """The scalar references, one operation per call."""
    fin, facc = parse_format("bf16"), parse_format("fp32")
    ops = [(int(x), int(y), int(z)) for x, y, z in zip(rng.integers(0, 1 << 16, 512),
                                                       rng.integers(0, 1 << 16, 512),
                                                       rng.integers(0, 1 << 32, 512))]
    state = {"i": 0}

    def fma_call():
        state["i"] = (state["i"] + 1) % len(ops)
        scalar_fma.fma(*ops[state["i"]], fmt_in=fin, fmt_acc=facc)
    mac = Mac(MacConfig())
    ints = [(int(x), int(y)) for x, y in rng.integers(-128, 128, (512, 2))]

    def mac_call():
        state["i"] = (state["i"] + 1) % len(ints)
        mac.tick(*ints[state["i"]], 0, 1)
    return (best_rate(fma_call, 1, min_time / 4), best_rate(mac_call, 1, min_time / 4))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds per timing run (best of eleven; default 0.1)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"vectorized golden models, random inputs, seed {args.seed}; numpy {np.__version__}")
    _, fma_rates, mac_rates = rows(rng, args.min_time)
    fma_scalar, mac_scalar = scalar_rates(rng, args.min_time)
    print(f"  {'scalar golden.fp.fma.fma bf16 x bf16 + fp32':48s} {fma_scalar / 1e6:9.3f}")
    print(f"  {'scalar golden.mac.Mac.tick int8':48s} {mac_scalar / 1e6:9.3f}")
    fma_low, mac_low = min(fma_rates.values()), min(mac_rates.values())
    print(f"lower of batches {BATCHES}: bf16 FMA {fma_low / 1e6:.2f} M/s "
          f"({fma_low / fma_scalar:.0f}x the scalar model), int8 MAC {mac_low / 1e6:.1f} M/s "
          f"({mac_low / mac_scalar:.0f}x)")
    print(f"fma_bf16_fp32_ops_per_s={fma_low:.0f}")
    print(f"mac_int8_ops_per_s={mac_low:.0f}")


if __name__ == "__main__":
    main()
