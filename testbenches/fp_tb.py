"""cocotb testbench of floating-point units against their golden models: pipelined functions
(``result = f(a, b[, c])`` after ``latency`` edges: L-Mul and the FMA) and accumulators
(a cycle model: the FP and L-Mul MACs, with
``clear``/``enable``).

Stimulus (seeded; the seed is logged):

``exhaustive``  every multiplicand pair once when ``a`` and ``b`` together have at most 16
                bits (each over every bit pattern of its own format, ``cfg.fa`` / ``cfg.fb``);
                for an FMA each pair meets every addend of :func:`addends` (zeros,
                subnormals, +-max, inf, NaN, a random normal) -- on Icarus (quick), one
                addend of the set per pair, in turn;
``corners``     (FMA) the directed corner list of :mod:`testbenches.fp_corners`;
                (MACs: every pair once, with random ``clear`` (1/4) and ``enable`` (7/8));
``random``      ``TPEGEN_RANDOM_CYCLES`` cycles (default 100,000) of random bit patterns, a
                quarter of each operand taken from the corner values of its own format, and
                (FMA) a quarter of the addends set to cancel the product; (MAC) ``clear``
                1/16, ``enable`` 7/8;
``reset``       a synchronous reset in the middle of the stream.

Every cycle, ``result`` is checked against the golden function of the operands presented
``latency`` cycles earlier (``latency`` from the manifest); a reset clears the results in
flight (they read as zero). After the stimulus, ``latency`` idle cycles drain the pipeline,
so the result of every presented input is checked. The golden model is fed the inputs the
input monitor read back from the ports (not the driver's intent), and the comparisons run
in numpy batches of 4,096 cycles (:class:`~testbenches.common.tb.CycleScoreboard` with
:class:`Expected`): a function kind's batch is one call of its vectorized golden model
(:func:`tpegen.registry.vector_model`); an accumulator's is its scalar cycle model stepped
over the observed inputs (its state runs through time, which a lane-vectorized model cannot
batch). The first failing cycle is reported with its phase, the inputs of the cycles before
it (back past the ones that produced it) and the seed.
"""


import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from golden.fp.fma import fma
from testbenches.common.tb import (Check, CycleScoreboard, Driver, Monitor, Ports, Run,
                                   run_phases, start_clock)
from testbenches.fp_corners import corners, fma_corners
from tpegen import registry


def addends(fmt, rng):
    """The addends every multiplicand pair meets in the exhaustive phase."""
    m, top, sign = fmt.man_bits, fmt.emax + fmt.bias, 1 << (fmt.width - 1)
    values = [0, sign, 1, sign | ((1 << m) - 1), (top << m) | fmt.max_mantissa,
              sign | (top << m) | fmt.max_mantissa, (fmt.bias << m) | int(rng.integers(0, 1 << m))]
    if fmt.has_inf:
        values.append(fmt.exp_max_code << m)
    if fmt.has_nan:
        values.append(fmt.nan_code)
    return values


def _cancelling(cfg, a, b, rng):
    """Addends close to ``-a*b`` (``a`` in ``cfg.fa``, ``b`` in ``cfg.fb``): the product
    rounded toward zero into the accumulator format, negated, and moved by up to ``2**k``
    units in its last place for a random ``k`` in ``0..m_acc`` (so the cancellation leaves
    anywhere from 1 to ``m_acc`` bits)."""
    out = []
    sign = 1 << (cfg.facc.width - 1)
    for x, y in zip(a.tolist(), b.tolist()):
        c = fma(x, y, 0, fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc, rounding="rtz") ^ sign
        k = int(rng.integers(0, cfg.facc.man_bits + 1))
        out.append((c + int(rng.integers(-(1 << k), (1 << k) + 1))) % (1 << cfg.facc.width))
    return np.array(out, np.int64)


def _controls(rng, n, clear_p):
    return [(rng.random(n) < clear_p).astype(np.int64), (rng.random(n) < 7 / 8).astype(np.int64)]


def stimulus(cfg, rng, random_cycles, quick=False):
    """Phases ``(name, input columns, reset column)``; the columns follow :func:`inputs`.
    ``quick`` (Icarus): an FMA's exhaustive phase gives each pair one addend of the set."""
    phases = _stimulus(cfg, rng, random_cycles, quick)
    if registry.kind(cfg.kind).style == "cycle":     # accumulators: add clear and enable
        phases = [(name, cols + _controls(rng, len(cols[0]), 1 / 4 if name == "exhaustive"
                                          else 1 / 16), rst) for name, cols, rst in phases]
    return phases


def inputs(cfg):
    return list(registry.kind(cfg.kind).inputs)


def _operands(rng, cfg, n, mixed=0.0):
    """Two columns of ``n`` random bit patterns, ``a`` of ``cfg.fa`` and ``b`` of ``cfg.fb``,
    a fraction ``mixed`` of each taken from the corner values of its format. (One format:
    the draws of the single-format testbench, so its streams stay as they were.)"""
    fa, fb = cfg.fa, cfg.fb
    if fa == fb:
        ops = rng.integers(0, 1 << fa.width, (2, n))
        if mixed:
            pick = rng.random((2, n)) < mixed
            ops[pick] = rng.choice(corners(fa), int(pick.sum()))
        return [ops[0], ops[1]]
    cols = [rng.integers(0, 1 << f.width, n) for f in (fa, fb)]
    if mixed:
        for col, f in zip(cols, (fa, fb)):
            pick = rng.random(n) < mixed
            col[pick] = rng.choice(corners(f), int(pick.sum()))
    return cols


def _stimulus(cfg, rng, random_cycles, quick):
    fa, fb = cfg.fa, cfg.fb
    three = cfg.kind == "fma"
    size_a, size_b = 1 << fa.width, 1 << fb.width
    phases = []
    if fa.width + fb.width <= 16:
        a, b = np.meshgrid(np.arange(size_a), np.arange(size_b), indexing="ij")
        a, b = a.ravel(), b.ravel()
        if three and quick:        # every pair once, the addends taken in turn
            cs = np.array(addends(cfg.facc, rng))
            phases.append(("exhaustive", [a, b, cs[np.arange(a.size) % len(cs)]]))
        elif three:
            cs = addends(cfg.facc, rng)
            a, b = np.repeat(a, len(cs)), np.repeat(b, len(cs))
            phases.append(("exhaustive", [a, b, np.tile(cs, size_a * size_b)]))
        else:
            phases.append(("exhaustive", [a, b]))
    if three:
        cases = np.array(fma_corners(cfg, rng), np.int64).reshape(-1, 3)
        phases.append(("corners", [cases[:, 0], cases[:, 1], cases[:, 2]]))
    n = random_cycles
    if n:
        columns = _operands(rng, cfg, n, mixed=0.25)
        if three:
            c = rng.integers(0, 1 << cfg.facc.width, n)
            pick = rng.random(n) < 0.25
            c[pick] = rng.choice(corners(cfg.facc), int(pick.sum()))
            cancel = rng.random(n) < 0.25
            c[cancel] = _cancelling(cfg, columns[0][cancel], columns[1][cancel], rng)
            columns.append(c)
        phases.append(("random", columns))
    phases.append(("reset", [rng.integers(0, size_a, 8), rng.integers(0, size_b, 8)]
                   + ([rng.integers(0, 1 << cfg.facc.width, 8)] if three else [])))
    return [(name, cols, _reset_column(name, len(cols[0]))) for name, cols in phases]


def _reset_column(phase, n):
    rst = np.zeros(n, np.int64)
    if phase == "reset":
        rst[n // 2] = 1
    return rst


def golden_values(cfg):
    """``values(columns, rst)`` -> ``int64`` array: for each sample (one rising edge; the
    columns are the observed inputs of :func:`inputs`, ``rst`` a bool array), what the golden
    model puts into the pipeline at that edge (anything where ``rst``: :class:`Expected` zeroes
    it). A function kind: its vectorized model over the whole batch (the scalar one, should the
    vectorized model not take the formats); an accumulator: its cycle model, reset by ``rst``
    and ticked otherwise (the state after each edge)."""
    style = registry.kind(cfg.kind).style
    if style == "cycle":
        golden = registry.model(cfg)
        tick, reset = golden.tick, golden.reset

        def values(columns, rst):
            out = []
            append = out.append
            for r, *ops in zip(rst.tolist(), *(c.tolist() for c in columns)):
                if r:
                    reset()
                    append(0)
                else:
                    append(tick(*ops))
            return np.array(out, np.int64)
        return values
    try:
        vector = registry.vector_model(cfg)
        vector(*([0] for _ in inputs(cfg)))
    except ValueError:                    # formats beyond the vectorized model's limits
        scalar = registry.model(cfg)
        return lambda columns, rst: np.array(
            [scalar(*ops) for ops in zip(*(c.tolist() for c in columns))], np.int64)
    return lambda columns, rst: np.asarray(vector(*columns), np.int64)


class Expected:
    """The batch model of a :class:`~testbenches.common.tb.CycleScoreboard`: the expected
    ``result`` of each sample of observed inputs ``(*inputs(cfg), rst)``.

    The pipeline has ``latency`` edges: the value the golden model computes from sample
    ``s``'s inputs (:func:`golden_values`) shows at sample ``s + latency - 1``, unless a reset
    is among samples ``s .. s + latency - 1`` (a synchronous reset clears every stage: the
    results in flight read as zero). The last ``latency - 1`` values and reset flags carry over
    to the next batch; before the first sample the unit is in reset."""

    def __init__(self, values, latency):
        if latency < 1:
            raise ValueError(f"latency {latency}: a registered output has at least 1")
        self.values, self.latency = values, latency
        self.carry = np.zeros(latency - 1, np.int64)
        self.carry_rst = np.ones(latency - 1, bool)

    def __call__(self, samples):
        columns = np.array(samples, np.int64).T
        rst = columns[-1] != 0
        n, lag = rst.size, self.latency - 1
        value = np.concatenate([self.carry, self.values(list(columns[:-1]), rst)])
        reset = np.concatenate([self.carry_rst, rst])
        resets = np.concatenate([[0], np.cumsum(reset)])
        cleared = resets[lag + 1:lag + 1 + n] - resets[:n] > 0   # a reset in s-lag .. s
        self.carry, self.carry_rst = value[n:], reset[n:]
        return [np.where(cleared, 0, value[:n])]


@cocotb.test()
async def fp_function_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    random_cycles = run.random_cycles
    latency = manifest["latency"]
    operands = inputs(cfg)

    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    in_roles = operands + ["rst"]
    drive = Driver(ports, in_roles).drive
    observe_inputs = Monitor(ports, in_roles).read     # what the last rising edge saw
    observe_outputs = Monitor(ports, ["result"]).read  # the result after it
    width = ports.width("result")
    checks = [Check(f"result (latency {latency})", width, lambda o: o["result"], 0)]
    board = CycleScoreboard(log, seed, None, checks, in_roles, {"result": width},
                            model=Expected(golden_values(cfg), latency), history=latency + 3)
    idle = [0] * len(operands)

    drive(*idle, 1)
    await FallingEdge(clk)
    await FallingEdge(clk)

    phases = stimulus(cfg, rng, random_cycles, quick=run.quick)
    phases.append(("drain", [np.zeros(latency, np.int64) for _ in operands],
                   np.zeros(latency, np.int64)))
    await run_phases(clk, [(name, *columns, rst) for name, columns, rst in phases], drive,
                     board, observe_inputs, observe_outputs, log=log, label=cfg.name,
                     seed=seed)
