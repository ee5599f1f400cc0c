"""Lean cocotb bench of an output-accumulating engine for bench/sim_throughput.py: the
checks of :mod:`testbenches.engine_tb`'s scoreboard (every output and every PE's state,
every cycle, against TraceModel fed the *observed* inputs), with the per-cycle Python cut
to reading the ports and driving the streams.

The cocotb process only reads the ports' bit strings (inputs read back at the falling edge:
what the last rising edge saw; outputs: what the design shows until the next edge) and
hands blocks of them to a checker process (:mod:`bench.engine_trace.worker`), which
converts them with numpy and runs the compare. Writes are applied at once through the GPI
(the falling edge is half a period from the rising edge; every input is read back before
it is written). Stimulus: :func:`bench.engine_trace.common.stimulus` (random tiles, K in
64..96, 10 % bubbles on each operand stream, 10 % backpressure on the result stream).

Environment: ``TPEGEN_MANIFEST``, ``TPEGEN_SEED``, ``BENCH_CYCLES``, ``BENCH_RESULT`` (a
JSON file written at the end), ``BENCH_PYTHON`` (the checker's interpreter), ``BENCH_BLOCK``
and ``BENCH_PROFILE`` (1: time the GPI calls after the run).
"""

import json
import os
import pickle
import subprocess
import sys
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from bench.engine_trace.common import geometry, stimulus
from testbenches.common.tb import load_manifest
from tpegen import registry


def _pack(lanes, width):
    out = 0
    for k, v in enumerate(lanes):
        out |= (int(v) & ((1 << width) - 1)) << (k * width)
    return out


@cocotb.test()
async def engine_bench(dut):
    manifest = load_manifest()
    cfg = registry.config_from_dict(manifest["kind"], manifest["parameters"])
    model = registry.model(cfg)
    seed = int(os.environ.get("TPEGEN_SEED", "1"))
    cycles = int(os.environ.get("BENCH_CYCLES", "20000"))
    block = int(os.environ.get("BENCH_BLOCK", "1024"))
    g = geometry(manifest)
    s = g["streams"]
    rng = np.random.default_rng(seed)
    a_beats, b_beats, offer_a, offer_b, c_ready, rst = stimulus(model, cfg, rng, cycles)
    a_strs = [(format(_pack(v, s["a"]["lane_width"]), f"0{s['a']['width']}b"), int(last))
              for v, last in a_beats]
    b_strs = [(format(_pack(v, s["b"]["lane_width"]), f"0{s['b']['width']}b"), int(last))
              for v, last in b_beats]
    offer_a, offer_b = offer_a.tolist(), offer_b.tolist()
    c_ready, rst = [int(x) for x in c_ready], [int(x) for x in rst]

    def h(name):
        return getattr(dut, name)._handle
    sa, sb, sc = s["a"], s["b"], s["c"]
    in_names = [sa["valid"], sa["last"], sa["data"], sb["valid"], sb["last"], sb["data"],
                sc["ready"], g["rst"]]
    out_names = [sa["ready"], sb["ready"], sc["valid"], sc["last"], sc["data"],
                 g["state"]["name"]]
    in_gets = [h(n).get_signal_val_binstr for n in in_names]
    out_gets = [h(n).get_signal_val_binstr for n in out_names]
    set_av, set_al = h(sa["valid"]).set_signal_val_int, h(sa["last"]).set_signal_val_int
    set_ad = h(sa["data"]).set_signal_val_binstr
    set_bv, set_bl = h(sb["valid"]).set_signal_val_int, h(sb["last"]).set_signal_val_int
    set_bd = h(sb["data"]).set_signal_val_binstr
    set_cr, set_rst = h(sc["ready"]).set_signal_val_int, h(g["rst"]).set_signal_val_int

    worker = subprocess.Popen([os.environ.get("BENCH_PYTHON", sys.executable), "-m",
                               "bench.engine_trace.worker", os.environ["TPEGEN_MANIFEST"]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    clk = dut.clk
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())
    for setter in (set_av, set_al, set_bv, set_bl):
        setter(0, 0)
    set_ad(0, "0" * sa["width"])
    set_bd(0, "0" * sb["width"])
    set_cr(0, 1)
    set_rst(0, 1)
    fe = FallingEdge(clk)
    await fe

    rows = []
    prev = None
    ia = ib = 0
    a_hold = b_hold = False
    na, nb = len(a_strs), len(b_strs)
    cur = {"cr": 1, "rst": 1}
    dumped = 0
    broken = False
    start = time.monotonic()

    def send(rows):
        cols = list(zip(*rows))
        blk = {"T": len(rows), "in": ["".join(c).encode() for c in cols[:8]],
               "out": ["".join(c).encode() for c in cols[8:]]}
        pickle.dump(blk, worker.stdin, protocol=5)
        worker.stdin.flush()

    for n in range(cycles):
        ins = tuple([get() for get in in_gets])
        outs = tuple([get() for get in out_gets])
        if prev is not None:
            rows.append(ins + prev)
            # transfers at the rising edge just passed: tvalid seen then, tready shown before
            if ins[7] == "0":
                if ins[0] == "1" and prev[0] == "1":
                    ia += 1
                    a_hold = False
                if ins[3] == "1" and prev[1] == "1":
                    ib += 1
                    b_hold = False
        prev = outs
        r = rst[n]
        if not a_hold:
            if offer_a[n] and not r and ia < na:
                data, last = a_strs[ia]
                set_ad(0, data)
                set_al(0, last)
                set_av(0, 1)
                a_hold = True
            elif ins[0] == "1":
                set_av(0, 0)
        if not b_hold:
            if offer_b[n] and not r and ib < nb:
                data, last = b_strs[ib]
                set_bd(0, data)
                set_bl(0, last)
                set_bv(0, 1)
                b_hold = True
            elif ins[3] == "1":
                set_bv(0, 0)
        if c_ready[n] != cur["cr"]:
            cur["cr"] = c_ready[n]
            set_cr(0, cur["cr"])
        if r != cur["rst"]:
            cur["rst"] = r
            set_rst(0, r)
        if len(rows) >= block:
            try:
                send(rows)
            except BrokenPipeError:
                broken = True
                break
            dumped += len(rows)
            rows = []
        await fe
    sim_end = time.monotonic()
    if rows and not broken:
        try:
            send(rows)
            dumped += len(rows)
        except BrokenPipeError:
            pass
    try:
        pickle.dump(None, worker.stdin)
        worker.stdin.close()
    except BrokenPipeError:
        pass
    result = json.loads(worker.stdout.readline() or "{}")
    worker.wait()
    end = time.monotonic()
    result.update({"cycles_sent": dumped, "seconds": end - start, "sim_seconds": sim_end - start})

    if os.environ.get("BENCH_PROFILE") == "1" and not result.get("mismatch"):
        prof = {}
        N = 500
        t = time.perf_counter()
        for _ in range(N):
            out_gets[5]()
        prof["read_state_us"] = (time.perf_counter() - t) / N * 1e6
        t = time.perf_counter()
        for _ in range(N):
            [get() for get in in_gets]
            [get() for get in out_gets[:5]]
        prof["read_other_13_ports_us"] = (time.perf_counter() - t) / N * 1e6
        t = time.perf_counter()
        for _ in range(N):
            await fe
        prof["await_falling_edge_us"] = (time.perf_counter() - t) / N * 1e6
        t = time.perf_counter()
        for _ in range(N):
            set_ad(0, a_strs[0][0])
            set_av(0, 1)
        prof["write_data_and_valid_us"] = (time.perf_counter() - t) / N * 1e6
        result["cocotb_profile"] = prof
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump(result, f)
    dut._log.info("bench: %s", {k: v for k, v in result.items() if k != "mismatch"})
    if result.get("mismatch"):
        dut._log.info("bench mismatch: %s", result["mismatch"])
