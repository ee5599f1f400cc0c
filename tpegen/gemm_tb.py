"""The cocotb module :func:`tpegen.gemm.run_gemm` has the simulator load: it streams prepared
tiles through a tensor engine and records what comes out.

Everything about the design comes from its manifest (``TPEGEN_MANIFEST``): the clock, the
reset and the three AXI4-Stream interfaces ``a``, ``b`` (inputs) and ``c`` (the result). The
beats come from ``TPEGEN_GEMM_TILES``, a ``.npz`` file written by :mod:`tpegen.gemm`:

``a``, ``b``
    hex words, one per beat of each input stream, in order (the lanes already packed);
``a_last``, ``b_last``
    each beat's ``tlast``;
``tile_rows``
    the rows stream ``c`` sends per tile (``tlast`` is checked on each tile's last row);
``max_cycles``
    a limit after which the run fails (0: a default);
``folds`` (optional, default 0)
    1 for the ``folds`` schedule (below).

Each input stream is driven on its own, back to back: a beat is put on the bus just after a
falling edge and held until a rising edge sees ``tvalid`` and ``tready`` high (``tready`` is
read once the time step has settled, ``ReadOnly``, which is what that edge samples); the next
beat follows in the next cycle. ``m_axis_c_tready`` is held high.

With ``folds`` set, one tile at a time (SCALE-Sim's model: folds do not overlap): a beat of
tile n (the tile of a beat is the number of ``tlast`` beats before it on its stream) is not
offered before the last result row of tile n - 1 has been received. That row is seen in the
cycle whose rising edge transfers it; tile n's first beats go on the bus right after that
edge, so with ``tready`` high they transfer on the next rising edge: the cycle right after the
last row's transfer, and the count of the whole run is the sum of the tiles' own counts.

The result rows are written to ``TPEGEN_GEMM_OUT`` (``.npz``: ``rows`` hex words, ``last``
their tlast, ``cycles``, the count from the first input transfer to the last output transfer,
inclusive; ``tile_first`` and ``tile_end``, per tile the cycle of its first input transfer,
on either stream, and of its last row's transfer, counted from the run's first transfer).

Progress goes to the log as ``phase gemm: ...`` lines with the simulation's cycles/s (the
harness's log follower passes them on); the run ends with a ``PASS gemm: ...`` line.

This is product code: it imports nothing from ``testbenches/``.
"""

import json
import os
import time

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["gemm"]

REPORT_SECONDS = 2.0


def _value(handle):
    v = handle.value
    if hasattr(v, "to_unsigned"):                # LogicArray (a bus)
        if not v.is_resolvable:
            raise AssertionError(f"{handle._name} is {v} (X/Z)")
        return v.to_unsigned()
    if str(v) not in ("0", "1"):                 # Logic (one bit)
        raise AssertionError(f"{handle._name} is {v} (X/Z)")
    return int(v)


class _Stream:
    def __init__(self, dut, spec):
        self.name = spec["name"]
        self.valid = getattr(dut, spec["valid"])
        self.ready = getattr(dut, spec["ready"])
        self.last = getattr(dut, spec["last"]) if spec.get("last") else None
        if len(spec["data"]) != 1:
            raise AssertionError(f"stream {self.name}: one data port expected, "
                                 f"got {spec['data']}")
        self.data = getattr(dut, spec["data"][0])


class _Source:
    """One input stream and its beats."""

    def __init__(self, stream, words, lasts):
        self.stream = stream
        self.words = [int(w, 16) for w in words]
        self.lasts = [int(x) for x in lasts]
        self.tile = []                # the tile of each beat: tlast beats before it
        n = 0
        for x in self.lasts:
            self.tile.append(n)
            n += x
        self.sent = 0
        self.holding = False

    @property
    def done(self):
        return self.sent == len(self.words)

    @property
    def next_tile(self):
        """The tile of the next beat to send (None when all are sent)."""
        return self.tile[self.sent] if self.sent < len(self.words) else None

    def drive(self, upto=None):
        """Put the next beat on the bus, if it belongs to a tile <= ``upto`` (None: any)."""
        s = self.stream
        if self.holding:
            return
        if self.sent < len(self.words) and (upto is None or self.tile[self.sent] <= upto):
            s.data.value = self.words[self.sent]
            if s.last is not None:
                s.last.value = self.lasts[self.sent]
            s.valid.value = 1
            self.holding = True
        else:
            s.valid.value = 0

    def sample(self):
        """After ReadOnly: True when the coming rising edge transfers the held beat."""
        if self.holding and _value(self.stream.ready):
            self.holding = False
            self.sent += 1
            return True
        return False


@cocotb.test()
async def gemm(dut):
    with open(os.environ["TPEGEN_MANIFEST"]) as f:
        m = json.load(f)
    with np.load(os.environ["TPEGEN_GEMM_TILES"], allow_pickle=False) as tiles:
        a_words, a_last = list(tiles["a"]), list(tiles["a_last"])
        b_words, b_last = list(tiles["b"]), list(tiles["b_last"])
        tile_rows = [int(n) for n in tiles["tile_rows"]]
        limit = int(tiles["max_cycles"])
        folds = bool(int(tiles["folds"])) if "folds" in tiles.files else False
    out_path = os.environ["TPEGEN_GEMM_OUT"]
    streams = {s["name"]: _Stream(dut, s) for s in m["streams"]}
    for needed in ("a", "b", "c"):
        if needed not in streams:
            raise AssertionError(f"manifest has no stream {needed!r}: {sorted(streams)}")
    sources = [_Source(streams["a"], a_words, a_last), _Source(streams["b"], b_words, b_last)]
    sc = streams["c"]
    total_rows = sum(tile_rows)
    # where tlast must be high: each tile's last row
    row_last = []
    for rows in tile_rows:
        row_last += [0] * (rows - 1) + [1]
    if limit <= 0:
        limit = 1000 + 20 * (len(a_words) + len(b_words) + total_rows)
    dut._log.info(f"phase gemm: {m['top']}: {len(tile_rows)} tiles, {len(a_words)} + "
                  f"{len(b_words)} beats in, {total_rows} rows out")

    clk = getattr(dut, m["clock"])
    reset = m.get("reset")
    rst = getattr(dut, reset["port"]) if reset else None
    on = 0 if reset and str(reset.get("active", "high")).lower() == "low" else 1
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())

    for src in sources:
        s = src.stream
        s.valid.value = 0
        s.data.value = 0
        if s.last is not None:
            s.last.value = 0
    sc.ready.value = 1
    if rst is not None:
        rst.value = on
        for _ in range(4):
            await FallingEdge(clk)
        rst.value = 1 - on
    await FallingEdge(clk)

    rows, lasts = [], []
    first = last_out = None
    tile_first = [None] * len(tile_rows)      # per tile: its first input transfer's cycle
    tile_end = [None] * len(tile_rows)        # and its last row's
    tiles_done = 0                            # tiles whose last row has been received
    cycle = 0                     # index of the rising edge that follows
    quiet = 0
    started = time.monotonic()
    report_at = started + REPORT_SECONDS
    while True:
        if first is not None and cycle - first > limit:
            raise AssertionError(
                f"timeout after {limit} cycles: sent a {sources[0].sent}/{len(a_words)}, "
                f"b {sources[1].sent}/{len(b_words)}; received {len(rows)}/{total_rows} rows")
        if first is None and cycle > limit:
            raise AssertionError(f"timeout: the engine took no beat in {limit} cycles")
        for src in sources:
            src.drive(tiles_done if folds else None)
        await ReadOnly()
        for src in sources:
            tile = src.next_tile
            if src.sample():
                if first is None:
                    first = cycle
                if tile_first[tile] is None:
                    tile_first[tile] = cycle
        if _value(sc.valid):
            if len(rows) >= total_rows:
                raise AssertionError(f"Mismatch: the engine sent a row beyond the "
                                     f"{total_rows} expected (cycle {cycle})")
            rows.append(format(_value(sc.data), "x"))
            lasts.append(_value(sc.last) if sc.last is not None else row_last[len(lasts)])
            last_out = cycle
            if len(rows) == sum(tile_rows[:tiles_done + 1]):
                tile_end[tiles_done] = cycle
                tiles_done += 1
        cycle += 1
        if len(rows) == total_rows and all(src.done for src in sources):
            quiet += 1
            if quiet > 8:             # a few more cycles: no extra row may come
                break
        if cycle % 256 == 0 and time.monotonic() >= report_at:
            rate = cycle / max(time.monotonic() - started, 1e-9)
            done_tiles = 0
            left = len(rows)
            for n in tile_rows:
                if left < n:
                    break
                left -= n
                done_tiles += 1
            dut._log.info(f"phase gemm: {done_tiles}/{len(tile_rows)} tiles, {len(rows)}/"
                          f"{total_rows} rows, cycle {cycle}, {rate:.0f} cycles/s")
            report_at = time.monotonic() + REPORT_SECONDS
        await FallingEdge(clk)

    bad = [i for i, (got, want) in enumerate(zip(lasts, row_last)) if got != want]
    if bad:
        i = bad[0]
        raise AssertionError(f"Mismatch: result row {i}: tlast={lasts[i]}, expected "
                             f"{row_last[i]} ({len(bad)} rows wrong)")
    cycles = last_out - first + 1
    np.savez(out_path, rows=np.array(rows, dtype=str), last=np.array(lasts, np.uint8),
             cycles=np.int64(cycles), first=np.int64(first), last_cycle=np.int64(last_out),
             tile_first=np.array([-1 if c is None else c - first for c in tile_first], np.int64),
             tile_end=np.array([-1 if c is None else c - first for c in tile_end], np.int64))
    seconds = max(time.monotonic() - started, 1e-9)
    dut._log.info(f"PASS gemm: {cycles} cycles, {total_rows} rows, {len(tile_rows)} tiles"
                  + (" (one at a time)" if folds else "") + f", {cycle / seconds:.0f} cycles/s")
