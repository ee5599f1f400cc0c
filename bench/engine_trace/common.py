"""Shared by both engine modes of bench/sim_throughput.py.

* :func:`plant_fault_hook`: a text patch of the generated top module that flips one bit of
  one PE's ``dbg_state`` lane in the cycle given by the plusarg ``+BENCH_FAULT=<n>`` (the
  n-th rising edge of ``clk`` since time 0). Without the plusarg nothing is flipped, so one
  build serves the planted-fault run and the measured runs. The added logic is a 32-bit
  cycle counter and one compare; it is outside the PE array.
* :func:`stimulus`: random tiles (K uniform in kmin..kmax), the pre-drawn bubbles of both
  operand streams and the backpressure on the result stream, and a reset in cycles 0-1.
* :class:`BlockChecker`: every cycle of a block of *observed* inputs through
  :class:`golden.engines.trace.TraceModel`, compared with every observed output and every
  PE's state (the comparisons of ``EngineScoreboard.flush``; its ``_fail`` words the
  mismatch, naming the cycle and the PE).
"""

import json
import re
from pathlib import Path

import numpy as np

FAULT_BIT = 4          # the bit flipped in the planted-fault PE's dbg_state lane


def patch_fault(verilog, top, lane, lane_width):
    """The top module's text with the planted-fault hook on ``dbg_state`` lane ``lane``."""
    head = re.search(rf"^module {re.escape(top)}\(.*?\);\n", verilog, re.M | re.S)
    m = re.search(r"^(\s*assign dbg_state = \{ )(.*?)( \};)$", verilog[head.end():], re.M)
    if head is None or m is None:
        raise RuntimeError("planted fault: top module or dbg_state concatenation not found")
    items = m.group(2).split(", ")
    k = len(items) - 1 - lane                 # lane 0 is the last item of the concatenation
    mask = f"{lane_width}'d{1 << FAULT_BIT}"
    items[k] = f"({items[k]} ^ (bench_fault_hit ? {mask} : {lane_width}'d0))"
    # all on the module header's line: the design's lint waivers are per line
    decl = ("  reg [31:0] bench_cycle = 32'd0; reg [31:0] bench_fault_at; "
            "wire bench_fault_hit; initial begin if (!$value$plusargs(\"BENCH_FAULT=%d\", "
            "bench_fault_at)) bench_fault_at = 32'hffffffff; end "
            "always @(posedge clk) bench_cycle <= bench_cycle + 32'd1; "
            "assign bench_fault_hit = bench_cycle == bench_fault_at;\n")
    start = head.end() + m.start()
    end = head.end() + m.end()
    body = m.group(1) + ", ".join(items) + m.group(3)
    return (verilog[:head.end() - 1] + decl + verilog[head.end():start] + body
            + verilog[end:])


def prepare_design(config, out_dir, fault_pe):
    """Generate ``config`` into ``out_dir`` with the planted-fault hook on PE ``fault_pe``,
    rewriting only the files whose text changed (so the builds stay valid). Returns the
    manifest (dict, with ``_path``)."""
    import shutil
    import tempfile

    from tpegen import api
    from tpegen.manifest import read_manifest
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        api.generate(config, tmp)
        manifest = read_manifest(tmp)
        top = manifest["top"]
        state = next(p for p in manifest["ports"] if p["role"] == "state")
        path = Path(tmp) / f"{top}.v"
        lane = fault_pe[0] * config.cols + fault_pe[1]
        path.write_text(patch_fault(path.read_text(), top, lane, state["lanes"]["width"]))
        for f in Path(tmp).iterdir():
            if f.is_file():
                dst = out_dir / f.name
                if not dst.exists() or dst.read_bytes() != f.read_bytes():
                    shutil.copy(f, dst)
    return read_manifest(out_dir)


def no_inline_file(manifest, build_dir):
    """A Verilator config file that keeps the engine's PE module out of line (bench builds
    only; the design and its own waivers are untouched)."""
    here = Path(__file__).resolve().parent
    text = (here / "no_inline.vlt.in").read_text().replace("@PE@",
                                                            manifest["engine"]["pe_module"])
    path = Path(build_dir) / "bench_no_inline.vlt"
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def geometry(manifest):
    """Port names, widths and lanes of an engine manifest."""
    ports = {p["name"]: p for p in manifest["ports"]}
    streams = {s["name"]: s for s in manifest["streams"]}
    g = {"streams": {}}
    for name in ("a", "b", "c"):
        s = streams[name]
        data = ports[s["data"][0]]
        g["streams"][name] = {"valid": s["valid"], "ready": s["ready"], "last": s["last"],
                              "data": data["name"], "width": data["width"],
                              "lane_width": data["lanes"]["width"],
                              "count": data["lanes"]["count"]}
    st = next(p for p in manifest["ports"] if p["role"] == "state")
    g["state"] = {"name": st["name"], "width": st["width"],
                  "lane_width": st["lanes"]["width"], "count": st["lanes"]["count"]}
    g["rst"] = next(p["name"] for p in manifest["ports"] if p["role"] == "rst")
    return g


def stimulus(model, cfg, rng, cycles, *, kmin=64, kmax=96, bubble=0.1, backpressure=0.1,
             reset_cycles=2):
    """``(a_beats, b_beats, offer_a, offer_b, c_ready, rst)``: beats as lists of
    ``(lanes, last)``; per-cycle bool arrays (offer: the driver may present a beat)."""
    pe = cfg.pe
    wa = pe.a_width if hasattr(pe, "a_width") else pe.fa.width
    wb = pe.b_width if hasattr(pe, "b_width") else pe.fb.width
    a_beats, b_beats = [], []
    while len(a_beats) < cycles:
        k = int(rng.integers(kmin, kmax + 1))
        sa, sb = model.tile_shapes(k)
        A = rng.integers(0, 1 << wa, sa).astype(np.uint64)
        B = rng.integers(0, 1 << wb, sb).astype(np.uint64)
        for beats, out in ((model.a_beats(A), a_beats), (model.b_beats(B), b_beats)):
            n = len(beats)
            out.extend((np.asarray(beat, np.uint64), t == n - 1) for t, beat in enumerate(beats))
    offer_a = rng.random(cycles) >= bubble
    offer_b = rng.random(cycles) >= bubble
    c_ready = rng.random(cycles) >= backpressure
    rst = np.zeros(cycles, bool)
    rst[:reset_cycles] = True
    return a_beats, b_beats, offer_a, offer_b, c_ready, rst


def lanes_from_le(raw, T, nbytes, lane_width, count):
    """(T, count) uint64 lanes of T little-endian bus values of ``nbytes`` each."""
    if lane_width in (8, 16, 32, 64):
        a = np.frombuffer(raw, np.uint8).reshape(T, nbytes)[:, :count * lane_width // 8]
        return a.view(f"<u{lane_width // 8}").astype(np.uint64)
    bits = np.unpackbits(np.frombuffer(raw, np.uint8).reshape(T, nbytes), axis=1,
                         bitorder="little")[:, :count * lane_width]
    w = (1 << np.arange(lane_width, dtype=np.uint64))
    return (bits.reshape(T, count, lane_width).astype(np.uint64) * w).sum(-1)


def lanes_from_binstr(raw, T, width, lane_width, count):
    """(T, count) uint64 lanes of T simulator bit strings of ``width`` characters each
    (MSB first, as cocotb's ``get_signal_val_binstr`` gives them). Raises on X/Z."""
    chars = np.frombuffer(raw, np.uint8).reshape(T, width)
    bits = chars - np.uint8(48)
    if bits.max(initial=0) > 1:
        bad = int(np.flatnonzero((bits > 1).any(axis=1))[0])
        raise ValueError(f"non-0/1 value in block cycle {bad}")
    bits = bits[:, width - count * lane_width:].reshape(T, count, lane_width)[:, ::-1, :]
    if lane_width in (8, 16, 32, 64):
        packed = np.packbits(bits, axis=-1)                       # big endian per lane
        return np.ascontiguousarray(packed).view(f">u{lane_width // 8}")[..., 0] \
            .astype(np.uint64)
    w = (1 << np.arange(lane_width - 1, -1, -1, dtype=np.uint64))
    return (bits.astype(np.uint64) * w).sum(-1)


class BlockChecker:
    """Cycle-by-cycle check of blocks of observed inputs and outputs against TraceModel."""

    def __init__(self, manifest):
        from golden.engines.trace import TraceModel
        from testbenches.common.engine_board import EngineScoreboard
        from tpegen import registry
        cfg = registry.config_from_dict(manifest["kind"], manifest["parameters"])
        self.cfg = cfg
        model = registry.model(cfg)
        self.trace = TraceModel(model)
        g = geometry(manifest)
        self.g = g
        sa, sb, sc = (g["streams"][n] for n in "abc")
        # only for the wording of a mismatch (the same message as the engine testbench's)
        self.board = EngineScoreboard(model, lanes_in=(sa["lane_width"], sa["count"],
                                                       sb["lane_width"], sb["count"]),
                                      lanes_out=(sc["lane_width"], sc["count"]),
                                      state_lanes=g["state"]["count"], cols=cfg.cols,
                                      name=cfg.name, seed=0)
        self.cycle0 = 0
        self.checks = 0

    def check(self, inp, got):
        """``inp``: a_valid, a_last, a (T x R lanes), b_valid, b_last, b, c_ready, rst;
        ``got``: a_ready, b_ready, c_valid, c_last (bool T), c_data (T x C), state
        (T x lanes). Raises Mismatch at the first failing cycle."""
        exp = self.trace.run(inp["a_valid"], inp["a_last"], inp["a"], inp["b_valid"],
                             inp["b_last"], inp["b"], inp["c_ready"], inp["rst"])
        bad = {k: np.flatnonzero(got[k] != exp[k]) for k in ("a_ready", "b_ready", "c_valid")}
        valid = exp["c_valid"] & got["c_valid"]
        bad["c_data"] = np.flatnonzero(valid & np.any(got["c_data"] != exp["c_data"], axis=1))
        bad["c_last"] = np.flatnonzero(valid & (got["c_last"] != exp["c_last"]))
        bad["state"] = np.flatnonzero(np.any(got["state"] != exp["state"], axis=1))
        hits = [(int(v[0]), k) for k, v in bad.items() if len(v)]
        if hits:
            t, what = min(hits)
            cols = [inp["a_valid"], inp["a_last"], None, inp["b_valid"], inp["b_last"], None,
                    inp["c_ready"], inp["rst"]]
            self.board.cycle0 = self.cycle0
            self.board._fail(t, what, got, exp, cols)
        T = len(inp["a_valid"])
        self.checks += T
        self.cycle0 += T


def parse_mismatch(message):
    """``(cycle, [(i, j), ...])`` from a mismatch message (PEs only for dbg_state)."""
    m = re.search(r"cycle (\d+): (.*?): observed", message)
    if m is None:
        return None, []
    pes = [(int(i), int(j)) for _, i, j in re.findall(r"\((\d+), (\d+), (\d+)\)", m.group(2))]
    return int(m.group(1)), pes


def dump(path, data):
    Path(path).write_text(json.dumps(data))
