"""Drive a generated tensor engine from its manifest alone, as an external tool would.

This cocotb module imports nothing from this project (only the standard library, numpy and
cocotb): everything it knows about the design comes from the manifest JSON named by the
environment variable ``TPEGEN_MANIFEST``:

* ``clock`` and ``reset`` (``port``, ``active``) name the clock and the reset;
* ``streams`` gives each AXI4-Stream's ``valid``, ``ready``, ``last`` and ``data`` ports;
* ``ports`` gives each data port's lane layout (``lanes``: ``count``, ``width``, ``signed``;
  lane 0 in the low bits).

The engine's GEMM interface, read from the manifest's ``engine.layout``: each stream's
matrix (A, B, or the result A @ B), its shape in the names R, C (``engine.rows`` and
``engine.cols``) and one free length, whether a beat is a row or a column of it, and
``group`` (default 1): a beat carries that many consecutive columns (rows) as a row-major
block, the length zero-padded to a multiple of it; ``tlast`` ends each stream's part of a
tile. (Systolic-os: ``a`` beat ``k`` = column ``k`` of the R x K tile of A, ``b``
beat ``k`` = row ``k`` of the K x C tile of B, ``c`` R rows; systolic-ws: ``b`` the R rows of
the weights, ``a`` the M rows of A, ``c`` M rows; cube: ``a`` beat ``t`` = columns
``Dt..Dt+D-1``, ``group`` D.) Each tile is checked against ``A @ B`` modulo
``2**result_width``.

Handshakes: inputs are driven just after the falling edge and held until a rising edge
sees ``tvalid`` and ``tready`` both high; ``tready`` (and ``tvalid`` of ``c``) is read once
the time step has settled (``ReadOnly``), which is the value the next rising edge samples.

Environment: ``TPEGEN_MANIFEST`` (required), ``TPEGEN_SEED`` (default 1),
``TPEGEN_TILES`` (default 40).
"""

import json
import os
import random

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["drive_from_manifest"]


def _load_manifest():
    path = os.environ.get("TPEGEN_MANIFEST")
    if not path:
        raise RuntimeError("TPEGEN_MANIFEST is not set: it must name the design's manifest")
    with open(path) as f:
        return json.load(f)


class _Lanes:
    """The lane layout of one packed data port."""

    def __init__(self, port):
        lanes = port.get("lanes") or {"count": 1, "width": port["width"],
                                      "signed": port.get("signed", False)}
        self.count, self.width = int(lanes["count"]), int(lanes["width"])
        self.signed = bool(lanes["signed"])
        self.mask = (1 << self.width) - 1

    def random(self, rng, shape):
        lo, hi = ((-(1 << (self.width - 1)), (1 << (self.width - 1)) - 1) if self.signed
                  else (0, self.mask))
        return np.array([[rng.randint(lo, hi) for _ in range(shape[1])]
                         for _ in range(shape[0])], dtype=object).reshape(shape)

    def pack(self, values):
        word = 0
        for i, v in enumerate(values):
            word |= (int(v) & self.mask) << (i * self.width)
        return word

    def wrap(self, value):
        value = int(value) & self.mask
        if self.signed and value >> (self.width - 1):
            value -= 1 << self.width
        return value

    def unpack(self, word):
        return [self.wrap(word >> (i * self.width)) for i in range(self.count)]


class _Stream:
    def __init__(self, dut, spec, ports):
        self.name = spec["name"]
        self.valid = getattr(dut, spec["valid"])
        self.ready = getattr(dut, spec["ready"])
        self.last = getattr(dut, spec["last"]) if spec.get("last") else None
        if len(spec["data"]) != 1:
            raise ValueError(f"stream {self.name}: one data port expected, got {spec['data']}")
        self.data = getattr(dut, spec["data"][0])
        self.lanes = _Lanes(ports[spec["data"][0]])


def _value(handle):
    v = handle.value
    if hasattr(v, "to_unsigned"):                # LogicArray (a bus)
        if not v.is_resolvable:
            raise AssertionError(f"{handle._name} is {v} (X/Z)")
        return v.to_unsigned()
    if str(v) not in ("0", "1"):                 # Logic (one bit)
        raise AssertionError(f"{handle._name} is {v} (X/Z)")
    return int(v)


@cocotb.test()
async def drive_from_manifest(dut):
    m = _load_manifest()
    seed = int(os.environ.get("TPEGEN_SEED", "1"))
    n_tiles = int(os.environ.get("TPEGEN_TILES", "40"))
    rng = random.Random(seed)
    ports = {p["name"]: p for p in m["ports"]}
    streams = {s["name"]: _Stream(dut, s, ports) for s in m["streams"]}
    for needed in ("a", "b", "c"):
        if needed not in streams:
            raise AssertionError(f"manifest has no stream {needed!r}: {sorted(streams)}")
    sa, sb, sc = streams["a"], streams["b"], streams["c"]
    R, C = int(m["engine"]["rows"]), int(m["engine"]["cols"])
    for name, s in streams.items():      # each beat's lanes: its fixed dimension x group
        lay = m["engine"]["layout"].get(name)
        if lay is None:
            continue
        dim = lay["shape"][0 if lay["beat"] == "column" else 1]
        want = {"R": R, "C": C}.get(dim, 0) * int(lay.get("group", 1))
        if s.lanes.count != want:
            raise AssertionError(f"stream {name} has {s.lanes.count} lanes, its layout "
                                 f"{lay} says {want}")
    res = sc.lanes
    dut._log.info(f"{m['top']}: R={R} C={C} a={sa.lanes.width}b b={sb.lanes.width}b "
                  f"c={res.width}b{' signed' if res.signed else ''}, seed {seed}, {n_tiles} tiles")

    clk = getattr(dut, m["clock"])
    reset = m.get("reset")
    rst = getattr(dut, reset["port"]) if reset else None
    on = 0 if reset and str(reset.get("active", "high")).lower() == "low" else 1
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())

    # the stimulus: K = 1 (and the longest) appear at least once
    ks = [1, 7] + [rng.randint(1, 6) for _ in range(max(0, n_tiles - 2))]
    ks = ks[:n_tiles]
    rng.shuffle(ks)
    # the tile layout, from the manifest's engine.layout: each stream's matrix shape (R, C
    # fixed, any other name is the tile's length) and whether a beat is a row or a column
    layout = m["engine"]["layout"]
    fixed = {"R": R, "C": C}

    def shape(stream, k):
        return tuple(fixed.get(d, k) for d in layout[stream]["shape"])

    def beats_of(stream, X):
        # ``group`` g: a beat carries g consecutive columns (rows) as a row-major block,
        # the tile's length zero-padded to a multiple of g (the cube: g = D)
        g = int(layout[stream].get("group", 1))
        if layout[stream]["beat"] == "column":
            X = np.concatenate([X, np.zeros((X.shape[0], -X.shape[1] % g), X.dtype)], 1)
            return [X[:, t:t + g].reshape(-1) for t in range(0, X.shape[1], g)]
        X = np.concatenate([X, np.zeros((-X.shape[0] % g, X.shape[1]), X.dtype)], 0)
        return [X[t:t + g, :].reshape(-1) for t in range(0, X.shape[0], g)]

    tiles = [(sa.lanes.random(rng, shape("a", k)), sb.lanes.random(rng, shape("b", k)))
             for k in ks]
    expected = [[[res.wrap(x) for x in row] for row in (A @ B)] for A, B in tiles]
    beats = {}
    for name, lanes, index in (("a", sa.lanes, 0), ("b", sb.lanes, 1)):
        beats[name] = []
        for tile in tiles:
            parts = beats_of(name, tile[index])
            beats[name] += [(lanes.pack(v), int(t == len(parts) - 1))
                            for t, v in enumerate(parts)]
    out_rows = [len(beats_of("c", A @ B)) for A, B in tiles]

    # idle inputs, then reset
    for s in (sa, sb):
        s.valid.value = 0
        s.data.value = 0
        if s.last is not None:
            s.last.value = 0
    sc.ready.value = 0
    if rst is not None:
        rst.value = on
        for _ in range(4):
            await FallingEdge(clk)
        rst.value = 1 - on
    await FallingEdge(clk)

    sent = {"a": 0, "b": 0}          # beats transferred
    holding = {"a": False, "b": False}
    rows = []                        # (row values, tlast) received
    total_rows = sum(out_rows)
    limit = 200 + 20 * (len(beats["a"]) + len(beats["b"]) + total_rows) + 50 * R * C
    bubble, stall = 0.25, 0.3
    cycle, quiet = 0, 0
    while True:
        cycle += 1
        if cycle > limit:
            raise AssertionError(
                f"timeout after {limit} cycles: sent a {sent['a']}/{len(beats['a'])}, "
                f"b {sent['b']}/{len(beats['b'])}; received {len(rows)}/{total_rows} rows")
        # drive, just after the falling edge
        for name, s in (("a", sa), ("b", sb)):
            if not holding[name]:
                if sent[name] < len(beats[name]) and rng.random() >= bubble:
                    data, last = beats[name][sent[name]]
                    s.data.value = data
                    if s.last is not None:
                        s.last.value = last
                    s.valid.value = 1
                    holding[name] = True
                else:
                    s.valid.value = 0
        c_ready = int(rng.random() >= stall)
        sc.ready.value = c_ready
        # sample what the next rising edge sees
        await ReadOnly()
        for name, s in (("a", sa), ("b", sb)):
            if holding[name] and _value(s.ready):
                holding[name] = False
                sent[name] += 1
        if c_ready and _value(sc.valid):
            last = _value(sc.last) if sc.last is not None else None
            rows.append((res.unpack(_value(sc.data)), last))
        done = sent["a"] == len(beats["a"]) and sent["b"] == len(beats["b"])
        if done and len(rows) >= total_rows:
            quiet += 1
            if quiet > 30 + 4 * R * C:      # no extra rows come out
                break
        await FallingEdge(clk)

    assert len(rows) == total_rows, f"{len(rows)} rows received, {total_rows} expected"
    bad = []
    start = 0
    for t, (A, B) in enumerate(tiles):
        n = out_rows[t]
        for i in range(n):
            got, last = rows[start + i]
            want = expected[t][i]
            if got != want:
                bad.append(f"tile {t} (A {A.shape}, B {B.shape}) row {i}: got {got}, "
                           f"expected {want}")
            if last is not None and last != int(i == n - 1):
                bad.append(f"tile {t} row {i}: tlast={last}, expected {int(i == n - 1)}")
        start += n
    if bad:
        for line in bad[:10]:
            dut._log.error("Mismatch " + line)
        raise AssertionError(f"{len(bad)} mismatches; first: {bad[0]}")
    dut._log.info(f"PASS {len(tiles)} tiles ({total_rows} rows, {cycle} cycles)")
