"""cocotb testbench of the tensor engines (:mod:`hdl.engines`) against their cycle models
(:mod:`golden.engines`), driven through the AXI4-Stream GEMM interface only.

Every cycle, the cycle model is fed the inputs the testbench *observed* on the ports (read
back one cycle later, as :mod:`testbenches.common.tb` explains) and must give the outputs
the design showed in that cycle: both ``tready``, ``m_axis_c_tvalid``/``tlast``, the result
row when it is valid, and, with the ``debug`` readout, every PE's state (``dbg_state``). On
top of that, every result tile that leaves is compared with the matrix product of the tiles
that went in (integer PEs, the LUT PE's too: ``A @ B`` modulo ``2**acc_width``; FP and
group PEs: the stand-alone PE's model stepped over K), which does not depend on the cycle
model at all. AXI4-Stream rules are checked on all three streams
(:class:`~testbenches.common.stream.StreamMonitor`).

Stimulus, seeded (the seed is logged): random tiles of random depth K (1..3*max(R, C)), the
extremes (every element the most negative pattern, alternating signs, all zeros), random
bubbles on both operand streams and random backpressure on the result stream (both in
regimes, from none to heavy), and a reset in the middle of a tile.
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from testbenches.common.engine_board import EngineScoreboard, lanes
from testbenches.common.stream import Backpressure, StreamDriver, StreamMonitor
from testbenches.common.tb import Mismatch, Ports, Progress, Run, readers, start_clock
from golden.engines.accumulating import PeArray
from tpegen import registry


def pack(values, width):
    out = 0
    for k, v in enumerate(values):
        out |= (int(v) & ((1 << width) - 1)) << (k * width)
    return out


class Streams:
    """The manifest's streams: name -> {valid, ready, last, data} handles and widths."""

    def __init__(self, dut, manifest):
        ports = {p["name"]: p for p in manifest["ports"]}
        self.by_name = {}
        for s in manifest["streams"]:
            data = s["data"][0]
            self.by_name[s["name"]] = {
                "valid": getattr(dut, s["valid"]), "ready": getattr(dut, s["ready"]),
                "last": getattr(dut, s["last"]), "data": getattr(dut, data),
                "width": ports[data]["lanes"]["width"], "count": ports[data]["lanes"]["count"]}

    def __getitem__(self, name):
        return self.by_name[name]


def _products(cfg, tiles):
    """The expected result rows of ``tiles`` [(A, B) bit patterns], independent of the
    engine's cycle model (its timing, skew, stalls and capture): integer ``A @ B`` modulo
    ``2**acc_width``; other PEs: the stand-alone PE's golden model (vectorized over the
    tile's R x C dot products, through the bit-pattern adapter ``PeArray``, which also ties
    the inputs an engine does not drive) accumulating over K, in order (a group PE's last
    group closed by the tile's last beat, then dequantized)."""
    pe = cfg.pe
    out = []
    for A, B in tiles:
        if pe.kind in ("mac", "lut"):          # integer PEs: numpy, exact
            def signed(x, w, s):
                x = x.astype(object)
                return np.where(x >= (1 << (w - 1)), x - (1 << w), x) if s else x
            b_signed = pe.w_signed if pe.kind == "lut" else pe.b_signed
            prod = signed(A, pe.a_width, pe.a_signed).dot(signed(B, pe.b_width, b_signed))
            out.append(np.vectorize(lambda v: int(v) % (1 << pe.acc_width))(prod))
        else:                  # the stand-alone PE's vectorized model, stepped over K
            # (a tree engine's PE takes T = cfg.terms products a step: K in zero-padded
            # groups of T, +0 being the bit pattern 0)
            T = cfg.terms
            R, K = A.shape
            C = B.shape[1]
            steps = -(-K // T)
            A = np.pad(A, ((0, 0), (0, steps * T - K))).astype(np.int64)
            B = np.pad(B, ((0, steps * T - K), (0, 0))).astype(np.int64)
            macs = PeArray(registry.vector_model(pe, (R, C), **({"terms": T} if T > 1 else {})),
                           pe, (R, C))
            macs.reset()
            zero = np.zeros((R, C), np.int64)
            handshake = hasattr(macs.model, "ready")     # the bit-serial PE

            def until_ready():            # idle edges while the PE works through its digits
                while handshake and not np.all(macs.model.ready):
                    macs.tick(zero, zero, False, False)
            for g in range(steps):
                a = np.broadcast_to(A[:, None, g * T:(g + 1) * T], (R, C, T))
                b = np.broadcast_to(B[g * T:(g + 1) * T].T[None], (R, C, T))
                until_ready()
                macs.tick(a[..., 0] if T == 1 else a, b[..., 0] if T == 1 else b,
                          g == 0, True, g == steps - 1)
            if macs.takes is not None:     # the group PEs: the last group's dequantization
                until_ready()
                for _ in range(pe.engine_latency - 1):
                    macs.tick(zero, zero, False, False)
            out.append(macs.result().astype(object))
    return out


def operand_widths(cfg):
    pe = cfg.pe
    return (pe.a_width if hasattr(pe, "a_width") else pe.fa.width,
            pe.b_width if hasattr(pe, "b_width") else pe.fb.width)


def tiles_for(cfg, model, rng, n, kmax):
    """``n`` random tiles (bit patterns of the shapes the model gives for depth ``k``), ``k``
    uniform in 1..kmax."""
    wa, wb = operand_widths(cfg)
    out = []
    for _ in range(n):
        sa, sb = model.tile_shapes(int(rng.integers(1, kmax + 1)))
        out.append((rng.integers(0, 1 << wa, sa).astype(np.uint64),
                    rng.integers(0, 1 << wb, sb).astype(np.uint64)))
    return out


def extreme_tiles(cfg, model, k):
    """All the most negative pattern, alternating signs (most negative / most positive),
    all zeros."""
    wa, wb = operand_widths(cfg)
    sa, sb = model.tile_shapes(k)
    low_a, low_b = 1 << (wa - 1), 1 << (wb - 1)

    def alternate(shape, low, first_low):
        odd = np.indices(shape).sum(0) % 2 == (0 if first_low else 1)
        return np.where(odd, low, low - 1)
    return [(t[0].astype(np.uint64), t[1].astype(np.uint64)) for t in (
        (np.full(sa, low_a), np.full(sb, low_b)),
        (alternate(sa, low_a, True), alternate(sb, low_b, False)),
        (np.zeros(sa), np.zeros(sb)))]


@cocotb.test()
async def engine_vs_golden(dut):
    run = Run(dut)
    manifest, cfg, seed, rng, log = run.manifest, run.cfg, run.seed, run.rng, run.log
    R, C = cfg.rows, cfg.cols
    ports = Ports(dut, manifest)
    clk = await start_clock(dut, ports)
    rst = ports.handle("rst")
    streams = Streams(dut, manifest)
    sa, sb, sc = streams["a"], streams["b"], streams["c"]
    model = registry.model(cfg)
    debug = ports.has("state")
    wr = sc["width"]

    drv_a = StreamDriver(sa["valid"], sa["ready"], [sa["data"], sa["last"]], rng, rst=rst)
    drv_b = StreamDriver(sb["valid"], sb["ready"], [sb["data"], sb["last"]], rng)
    back = Backpressure(sc["ready"], rng)
    monitors = [StreamMonitor(sa["valid"], sa["ready"], [sa["data"], sa["last"]],
                              source="testbench", rst=rst, name="a", seed=seed),
                StreamMonitor(sb["valid"], sb["ready"], [sb["data"], sb["last"]],
                              source="testbench", rst=rst, name="b", seed=seed),
                StreamMonitor(sc["valid"], sc["ready"], [sc["data"], sc["last"]],
                              source="design", rst=rst, name="c", seed=seed)]
    received = []
    monitors[2].callbacks.append(lambda cycle, data: received.append((cycle, data)))

    read_in = readers([sa["valid"], sa["last"], sa["data"], sb["valid"], sb["last"],
                       sb["data"], sc["ready"], rst])
    read_ctrl = readers([sa["ready"], sb["ready"], sc["valid"], sc["last"]]
                        + ([ports.handle("state")] if debug else []))
    read_data = readers([sc["data"]])

    def read_out():
        """The outputs; the result bus only while it is valid (a 4-state simulator may show
        X on it before the first result)."""
        ctrl = read_ctrl()
        data = read_data()[0] if ctrl[2] else 0
        return ctrl[:3] + (data,) + ctrl[3:]

    for handle in (sa["data"], sa["last"], sb["data"], sb["last"]):
        handle.value = 0                     # driven from the start (4-state: no Z)
    rst.value = 1
    await FallingEdge(clk)
    await FallingEdge(clk)
    rst.value = 0
    await FallingEdge(clk)

    # --- stimulus -----------------------------------------------------------------------
    kmax = 3 * max(R, C) * getattr(model, "group", 1)   # the cube: D k-slices per beat
    # random tiles for about a sixth of TPEGEN_RANDOM_CYCLES cycles (about 1,500 tiles of
    # every depth, in every stall regime, at the default); a thirtieth for FP PEs, whose
    # model steps every PE's FP MAC every cycle (the integer PEs' is one prefix sum a block)
    budget = max(run.random_cycles // (6 if cfg.pe.kind == "mac" else 30), 2000)
    n_random = max(4, budget // (kmax // 2 + R + 1))
    wa, wb = operand_widths(cfg)
    random_tiles = tiles_for(cfg, model, rng, n_random, kmax)
    phases = [("extremes", extreme_tiles(cfg, model, max(2, kmax // 2)), 0.0, 1.0)]
    chunk = max(1, len(random_tiles) // 4)
    regimes = [(0.0, 1.0), (0.1, 0.9), (0.3, 0.5), (0.05, 0.2)]
    for n, (bubble, ready) in enumerate(regimes):
        phases.append((f"random bubbles {bubble} ready {ready}",
                       random_tiles[n * chunk:(n + 1) * chunk], bubble, ready))
    phases.append(("reset mid-tile", None, 0.0, 1.0))
    phases.append(("after reset", tiles_for(cfg, model, rng, 3, kmax), 0.1, 0.7))

    total = sum(sum(len(model.a_beats(a)) for a, _ in p[1]) for p in phases if p[1]) * 2
    progress = Progress(log, total, cfg.name)
    state = {"cycle": 0, "checks": 0, "prev": None, "inputs": [], "tiles": 0}
    expected_tiles = []

    board = EngineScoreboard(model, lanes_in=(wa, sa["count"], wb, sb["count"]),
                             lanes_out=(wr, sc["count"]),
                             state_lanes=ports.by_role["state"]["lanes"]["count"]
                             if debug else None, cols=C, name=cfg.name, seed=seed)

    def check_cycle():
        """Settle the previous cycle: its inputs read back now, its outputs read then."""
        now_in = read_in()
        if state["prev"] is not None:
            board.add(now_in, state["prev"])
        state["prev"] = read_out()

    async def cycle():
        for mon in monitors:
            mon.sample()
        check_cycle()
        drv_a.tick()
        drv_b.tick()
        back.tick()
        await FallingEdge(clk)
        state["cycle"] += 1
        if not state["cycle"] & 0x3FF:
            progress.update(state["cycle"])

    async def drain(limit):
        """Run until every queued tile's result has left, then compare the tiles with the
        matrix products of their operands."""
        want_rows = sum(model.result_rows(A, B) for A, B in expected_tiles)
        for _ in range(limit):
            if drv_a.idle and drv_b.idle and len(received) >= want_rows:
                break
            await cycle()
        else:
            board.flush()                   # a cycle-level mismatch explains it best
            raise Mismatch(f"MISMATCH {cfg.name}: {len(received)} result rows after {limit} "
                           f"cycles, {want_rows} expected (seed {seed})")
        rows = [lanes(data[0], wr, sc["count"]) for _, data in received]
        start = 0
        for n, (want, (A, B)) in enumerate(zip(_products(cfg, expected_tiles), expected_tiles)):
            count = model.result_rows(A, B)
            have = np.array(rows[start:start + count], dtype=object)
            start += count
            if not np.array_equal(np.asarray(want, dtype=object), have):
                board.flush()
                raise Mismatch(f"MISMATCH {cfg.name}: result tile {n} is not the product of "
                               f"its operands: got {have.tolist()}, expected {want.tolist()} "
                               f"(seed {seed})")
        state["tiles"] += len(expected_tiles)
        received.clear()
        expected_tiles.clear()

    def send(tiles, last=True):
        for A, B in tiles:
            for drv, beats, w in ((drv_a, model.a_beats(A), wa), (drv_b, model.b_beats(B), wb)):
                drv.send((pack(beat, w), int(last and t == len(beats) - 1))
                         for t, beat in enumerate(beats))
            if last:
                expected_tiles.append((A, B))

    for name, tiles, bubble, ready in phases:
        log.info("phase %s", name)
        drv_a.bubble = drv_b.bubble = bubble
        back.levels = [ready]
        back.left = 0
        if tiles is None:                      # a reset in the middle of a tile
            tile = tiles_for(cfg, model, rng, 1, 2 * kmax)
            send(tile, last=False)
            k = len(model.a_beats(tile[0][0]))
            for _ in range(k // 2 + 1 + (R + C) // 2):
                await cycle()
            drv_a.queue.clear()
            drv_b.queue.clear()
            while not (drv_a.idle and drv_b.idle):
                await cycle()
            drv_a.reset()
            while not drv_a.idle:
                await cycle()
            await cycle()
            received.clear()
            expected_tiles.clear()
            continue
        send(tiles)
        await drain(200 * (sum(len(model.a_beats(a)) for a, _ in tiles) + 4 * (R + C)) + 1000)
    for _ in range(4):
        await cycle()
    board.flush()
    state["checks"] = board.checks
    log.info("PASS %s: %d cycles, %d checks, %d tiles, %.0f cycles/s, seed %d", cfg.name,
             state["cycle"], state["checks"], state["tiles"], progress.rate(state["cycle"]),
             seed)
