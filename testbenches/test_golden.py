"""The golden MAC model against an independent reference: exact Python integers.

The reference here is the plainest reading of the spec: a list of (a, b, clear, enable, rst)
cycles folded with unbounded integers, reduced modulo 2**acc_width only at the end. The golden
model reduces every cycle and keeps a carry-save pair; both must agree on every cycle,
including the latency of the input and output registers.
"""

import random

import pytest

from golden.mac import Mac, operand_range, to_signed
from testbenches.grid import MAC_GRID, config_id
from tpegen.config import MacConfig

SEED = 7


def reference_trace(config, cycles):
    """``result`` bit patterns seen on the port after each edge, by the spec's definition."""
    delay = int(config.input_reg)
    acc = 0                         # unbounded; reduced only when read
    seen = []                       # acc after each edge
    pending = [(0, 0, 0, 0)] * delay
    out_reg = 0
    for a, b, clear, enable, rst in cycles:
        pending.append((a, b, clear, enable))
        a, b, clear, enable = pending.pop(0)
        old = acc
        if rst:
            acc, out_reg, pending = 0, 0, [(0, 0, 0, 0)] * delay
            seen.append(0)
            continue
        if clear:
            acc = 0
        if enable:
            acc += a * b
        if config.output_reg:
            out_reg = old           # the output register samples the accumulator's old value
        seen.append((out_reg if config.output_reg else acc) % (1 << config.acc_width))
    return seen


def random_cycles(config, n, rng):
    a_lo, a_hi = operand_range(config.a_width, config.a_signed)
    b_lo, b_hi = operand_range(config.b_width, config.b_signed)
    return [(rng.randint(a_lo, a_hi), rng.randint(b_lo, b_hi), int(rng.random() < 0.1),
             int(rng.random() < 0.85), int(rng.random() < 0.01)) for _ in range(n)]


@pytest.mark.parametrize("config", MAC_GRID, ids=config_id)
def test_golden_matches_exact_integers(config):
    rng = random.Random(SEED)
    print(f"seed {SEED}")
    cycles = random_cycles(config, 3000, rng)
    expected = reference_trace(config, cycles)
    model = Mac(config)
    mask = (1 << config.acc_width) - 1
    for i, (a, b, clear, enable, rst) in enumerate(cycles):
        if rst:
            model.reset()
        else:
            model.tick(a, b, clear, enable)
        out = model.outputs()
        assert out["result"] == expected[i], f"cycle {i}"
        # the carry-save pair always represents the accumulator
        assert (model.s + model.c) & mask == model.acc, f"cycle {i}"


def test_wrap_and_corners():
    config = MacConfig(a_width=8, b_width=8, acc_width=16, mult="array", accumulate="cpa")
    model = Mac(config)
    model.tick(-128, -128, 1, 1)
    assert model.outputs()["result"] == 16384
    model.tick(-128, -128, 0, 1)            # 32768 wraps to -32768 in 16 bits
    assert to_signed(model.outputs()["result"], 16) == -32768
    model.tick(-128, 127, 1, 1)
    assert to_signed(model.outputs()["result"], 16) == -16256
    model.tick(5, 5, 1, 0)                  # clear without enable: zero, not the product
    assert model.outputs()["result"] == 0
    model.tick(5, 5, 0, 0)                  # hold
    assert model.outputs()["result"] == 0


def test_reference_trace_can_fail():
    """The reference is sensitive to each rule: change one and the traces differ."""
    config = MacConfig(a_width=4, b_width=4, acc_width=10, output_reg=True)
    rng = random.Random(SEED)
    cycles = random_cycles(config, 200, rng)
    wrong = config.replace(output_reg=False)
    assert reference_trace(config, cycles) != reference_trace(wrong, cycles)
