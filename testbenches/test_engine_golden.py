"""The engines' cycle models against each other and against numpy, without a simulator:

* :class:`golden.engines.trace.TraceModel` (batched, the integer MAC as a segmented prefix
  sum) equals the per-cycle :class:`golden.engines.accumulating.AccumulatingEngine` in every
  output and every PE's state, every cycle, on random streams with bubbles, backpressure
  and resets, in blocks of random length;
* the per-cycle model's result tiles equal numpy ``A @ B`` (mod 2**acc_width) on streams with
  stalls, with no deadlock, for R, C in 1..8 and PEs of latency 1 and 3;
* its timing formulas (``tile_cycles``, ``stream_cycles``) equal the cycles it takes.
"""

import numpy as np
import pytest

from golden.engines import ARCHES, AccumulatingEngine
from tpegen import registry
from tpegen.config import ARCHITECTURES, EngineConfig, FMacConfig, MacConfig

#: the engines the batched model covers: the output-accumulating ones
ACCUMULATING = [a for a in ARCHITECTURES if issubclass(ARCHES[a], AccumulatingEngine)
                and "min_spacing" in dir(ARCHES[a])]

SEED = 20261201
#: the cube's depth in these tests (D = 1 is the 2D matrix, covered as such)
CUBE_DEPTH = 3


def _cfg(arch, shape, pe):
    return EngineConfig(arch=arch, rows=shape[0], cols=shape[1], pe=pe,
                        depth=CUBE_DEPTH if arch == "cube" else 1)


def _mac(latency=1, **kw):
    return MacConfig(a_width=8, b_width=8, a_signed=True, b_signed=True, acc_width=32,
                     input_reg=latency >= 2, output_reg=latency >= 3, **kw)


def _stream(model, rng, tiles, *, bubble, ready, resets=(), limit=20000):
    """Drive ``tiles`` [(A, B)] through the per-cycle model with random bubbles and
    backpressure; return the per-cycle inputs, outputs and states, and the result rows."""
    abeats = [(a, t == len(model.a_beats(A)) - 1) for A, B in tiles
              for t, a in enumerate(model.a_beats(A))]
    bbeats = [(b, t == len(model.b_beats(B)) - 1) for A, B in tiles
              for t, b in enumerate(model.b_beats(B))]
    ai = bi = 0
    av = bv = False
    trace, outs, states, rows = [], [], [], []
    want = sum(model.result_rows(A, B) for A, B in tiles)
    for t in range(limit):
        if len(rows) >= want and ai == len(abeats) and not resets:
            break
        if not av and ai < len(abeats) and rng.random() >= bubble:
            av = True
        if not bv and bi < len(bbeats) and rng.random() >= bubble:
            bv = True
        a, al = abeats[ai] if av else (rng.integers(0, 256, model.a_count).astype(np.uint64),
                                       False)
        b, bl = bbeats[bi] if bv else (rng.integers(0, 256, model.b_count).astype(np.uint64),
                                       False)
        cr = bool(rng.random() < ready)
        rst = t in resets
        states.append(model.state().copy())
        ar, br, cv, cd, cl = model.step(av, al, a, bv, bl, b, cr, rst)
        trace.append((av, al, a, bv, bl, b, cr, rst))
        outs.append((ar, br, cv, cd, cl))
        if rst:
            continue
        if ar and av:
            ai, av = ai + 1, False
        if br and bv:
            bi, bv = bi + 1, False
        if cv and cr:
            rows.append(cd)
    return trace, outs, states, rows


def _tiles(model, rng, n, kmax, wa=8, wb=8):
    out = []
    for _ in range(n):
        sa, sb = model.tile_shapes(int(rng.integers(1, kmax + 1)))
        out.append((rng.integers(0, 1 << wa, sa).astype(np.uint64),
                    rng.integers(0, 1 << wb, sb).astype(np.uint64)))
    return out


def _back_to_back(model, rng, k, n):
    """``n`` random tiles of length ``k`` through the reset model, no bubble, no stall: the
    tiles and what :func:`_stream` returns."""
    model.reset()
    sa, sb = model.tile_shapes(k)
    tiles = [(rng.integers(0, 256, sa).astype(np.uint64),
              rng.integers(0, 256, sb).astype(np.uint64)) for _ in range(n)]
    return tiles, _stream(model, rng, tiles, bubble=0.0, ready=1.0)


def _signed(x):
    x = x.astype(np.int64)
    return np.where(x >= 128, x - 256, x)


SHAPES = [(1, 1), (2, 3), (3, 2), (4, 4), (5, 3), (2, 7), (8, 8)]


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("latency", [1, 3])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_products_and_no_deadlock(arch, latency, shape):
    rng = np.random.default_rng(SEED)
    cfg = _cfg(arch, shape, _mac(latency))
    model = registry.model(cfg)
    tiles = _tiles(model, rng, 12, 3 * max(shape))
    *_, rows = _stream(model, rng, tiles, bubble=0.3, ready=0.6)
    got = np.array(rows).astype(np.int64).reshape(-1)
    want = np.concatenate([(_signed(A) @ _signed(B)).reshape(-1) for A, B in tiles])
    assert got.size == want.size, "rows missing: the stream did not drain (deadlock?)"
    assert np.array_equal(np.where(got >= 2**31, got - 2**32, got), want)


@pytest.mark.parametrize("arch", ACCUMULATING)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_timing_formulas(arch, shape):
    rng = np.random.default_rng(SEED)
    cfg = _cfg(arch, shape, _mac(3))
    model = registry.model(cfg)
    for k in sorted({1, 2, max(shape), max(model.min_spacing, model.R), 3 * max(shape)}):
        for n in (1, 5):
            tiles, (trace, outs, _, _) = _back_to_back(model, rng, k, n)
            first = next(t for t, (o, i) in enumerate(zip(outs, trace)) if o[0] and i[0])
            last = max(t for t, (o, i) in enumerate(zip(outs, trace)) if o[2] and i[6])
            cycles = last - first + 1
            if n == 1:
                assert cycles == model.tile_cycles(k), (k, n)
            elif k >= max(model.min_spacing, model.R):
                assert cycles == model.stream_cycles(n, k), (k, n)
            else:       # the steady-state period is reached only after a transient
                assert cycles >= (n - 1) * k + model.tile_cycles(k), (k, n)


TRACE_CASES = [(pe, shape) for pe in ("int8", "int8_l3", "int4x6")
               for shape in ((1, 1), (3, 4), (4, 2), (6, 6))] + [("bf16", (1, 1)),
                                                                ("bf16", (3, 4))]


@pytest.mark.parametrize("arch,pe,shape", [
    (a, pe, shape) for a in ACCUMULATING for pe, shape in TRACE_CASES],
    ids=lambda c: str(c).replace(", ", "x"))
def test_trace_model_equals_cycle_model(arch, pe, shape):
    """Every output and every PE's state, every cycle, in blocks of random length."""
    from golden.engines.trace import TraceModel
    pes = {"int8": _mac(1), "int8_l3": _mac(3, mult="behavioural", accumulate="cpa"),
           "int4x6": MacConfig(a_width=4, b_width=6, acc_width=12, mult="array"),
           "bf16": FMacConfig(fmt_in="bf16", fmt_acc="fp32")}
    cfg = _cfg(arch, shape, pes[pe])
    rng = np.random.default_rng(SEED)
    model = registry.model(cfg)
    wa = getattr(cfg.pe, "a_width", 16)
    wb = getattr(cfg.pe, "b_width", 16)
    tiles = _tiles(model, rng, 14, 3 * max(shape), wa, wb)
    n = 6 * sum(len(model.a_beats(A)) for A, _ in tiles) + 50
    trace, outs, states, _ = _stream(model, rng, tiles, bubble=0.25, ready=0.6,
                                     resets=(n // 3, n // 3 + 1, 2 * n // 3), limit=n)
    batched = TraceModel(registry.model(cfg))
    t = 0
    while t < len(trace):
        m = int(rng.integers(1, 400))
        block = trace[t:t + m]
        cols = list(zip(*block))
        got = batched.run(cols[0], cols[1], np.stack(cols[2]), cols[3], cols[4],
                          np.stack(cols[5]), cols[6], cols[7])
        for k, (o, st) in enumerate(zip(outs[t:t + m], states[t:t + m])):
            cyc = t + k
            assert (got["a_ready"][k], got["b_ready"][k], got["c_valid"][k]) == \
                (bool(o[0]), bool(o[1]), bool(o[2])), cyc
            if o[2]:
                assert np.array_equal(got["c_data"][k], o[3]), cyc
                assert got["c_last"][k] == o[4], cyc
            assert np.array_equal(got["state"][k], st), (cyc, got["state"][k], st)
        t += m


#: the weight-loading engines: weight-stationary and the adder tree (same protocol)
WEIGHT_LOADING = [a for a in ARCHITECTURES if a not in ACCUMULATING]


@pytest.mark.parametrize("arch", WEIGHT_LOADING)
@pytest.mark.parametrize("latency", [1, 3])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_weight_loading_timing(arch, latency, shape):
    """``tile_cycles`` (one tile) and ``stream_cycles`` (back to back, from
    ``first_accepts``) equal the cycles the per-cycle model takes, for short and long M."""
    rng = np.random.default_rng(SEED)
    model = registry.model(_cfg(arch, shape, _mac(latency)))
    for m in sorted({1, 2, max(shape), 3 * max(shape) + 4}):
        for n in (1, 4):
            tiles, (trace, outs, _, rows) = _back_to_back(model, rng, m, n)
            last = max(t for t, (o, i) in enumerate(zip(outs, trace)) if o[2] and i[6])
            want = model.tile_cycles(m) if n == 1 else model.stream_cycles(n, m)
            assert last + 1 == want, (m, n)
            got = np.array(rows).astype(np.int64).reshape(-1)
            exp = np.concatenate([(_signed(A) @ _signed(B)).reshape(-1) for A, B in tiles])
            assert np.array_equal(np.where(got >= 2**31, got - 2**32, got), exp)


@pytest.mark.parametrize("arch", ["systolic-os", "matrix2d"])
@pytest.mark.parametrize("skip", [True, False], ids=["skip", "noskip"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (4, 4)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_multi_cycle_beats(arch, skip, shape):
    """The bit-serial PE's engine (each beat held for its shared digit schedule): one tile
    alone takes sum(beat cycles) + latency + R - 1 cycles, the beat cycles counted from the
    weights independently (``max(1, popcount(OR of |value|))``, or the datatype's mask); on
    streams with stalls the result tiles equal the stand-alone PE model's dot products; the
    batched model refuses it."""
    from golden.engines.trace import TraceModel
    from golden.pe.bitserial import VALUES
    from testbenches.engine_tb import _products
    from tpegen.config import BitSerialConfig
    rng = np.random.default_rng(SEED)
    pe = BitSerialConfig(lanes=1, group=4, skip_zeros=skip, engine_dtype="er")
    cfg = _cfg(arch, shape, pe)
    model = registry.model(cfg)
    values = VALUES[2]                              # er
    def tile(k):
        sa, sb = model.tile_shapes(k)
        return (rng.integers(0, 1 << 16, sa).astype(np.uint64),
                rng.integers(0, 16, sb).astype(np.uint64))
    for k in (1, 3, 7):
        A, B = tile(k)
        model.reset()
        trace, outs, _, rows = _stream(model, rng, [(A, B)], bubble=0.0, ready=1.0)
        if skip:
            n = [max(1, bin(int(np.bitwise_or.reduce(np.abs(values[row])))).count("1"))
                 for row in B.astype(np.int64)]
        else:
            n = [4] * k                             # er: |value| <= 10, positions 0..3
        first = next(t for t, (o, i) in enumerate(zip(outs, trace)) if o[0] and i[0])
        last = max(t for t, (o, i) in enumerate(zip(outs, trace)) if o[2] and i[6])
        assert last - first + 1 == sum(n) + model.latency + model.R - 1, (k, n)
    tiles = [tile(int(k)) for k in rng.integers(1, 10, 8)]
    model.reset()
    *_, rows = _stream(model, rng, tiles, bubble=0.3, ready=0.6)
    want = np.concatenate([np.asarray(w, np.uint64).reshape(-1) for w in _products(cfg, tiles)])
    assert np.array_equal(np.array(rows, np.uint64).reshape(-1), want)
    with pytest.raises(ValueError, match="digit schedule"):
        TraceModel(model)
