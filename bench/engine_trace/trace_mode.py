"""The trace mode: a Verilator ``--exe`` build of the engine with ``harness.cpp``, which runs
a pre-generated stimulus with no Python per cycle and streams every cycle's observed inputs,
outputs and ``dbg_state`` to a pipe; numpy checks the cycles in blocks against TraceModel
while the simulator runs (:func:`run`)."""

import subprocess
import time
from pathlib import Path

import numpy as np

from bench.engine_trace.common import BlockChecker, geometry, lanes_from_le, no_inline_file

HERE = Path(__file__).resolve().parent


def _nbytes(width):
    return (width + 7) // 8


def sizes(manifest):
    g = geometry(manifest)
    s = g["streams"]
    return (_nbytes(s["a"]["width"]), _nbytes(s["b"]["width"]), _nbytes(s["c"]["width"]),
            _nbytes(g["state"]["width"]))


def build(manifest, build_dir, log=print, hier=False, opt="-O0"):
    """Build the harness binary (once per design text); returns its path. ``hier``: the PE
    as a Verilator hierarchical block (a fast build, a slow simulation); otherwise flat
    (Verilator emits every PE instance's logic: ~60 MB of C++ for 16x16 booth4/dadda PEs),
    compiled at ``opt`` (-O0 so that the gate-level PEs build in minutes)."""
    from tpegen import tools
    env = tools.verilator_env()
    base = Path(manifest["_path"]).parent
    vfiles = [base / f["path"] for f in manifest["files"] if f["type"] == "verilog"]
    waivers = [base / f["path"] for f in manifest["files"] if f["type"] == "verilator-waivers"]
    build_dir = Path(build_dir)
    if hier:
        waivers.append(no_inline_file(manifest, build_dir))
    exe = build_dir / "Vbench"
    stamp = build_dir / "stamp"
    key = str([p.stat().st_mtime_ns for p in vfiles + [HERE / "harness.cpp"]] + [opt])
    if exe.exists() and stamp.exists() and stamp.read_text() == key:
        return exe
    build_dir.mkdir(parents=True, exist_ok=True)
    A, B, C, S = sizes(manifest)
    cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-O3",
           *(["--hierarchical"] if hier else ["-MAKEFLAGS", f"OPT_FAST={opt} OPT_SLOW={opt}"]),
           "--x-assign", "fast",
           "--x-initial", "fast", "--prefix", "Vtop", "--top-module", manifest["top"],
           "--Mdir", str(build_dir), "-o", "Vbench",
           "-CFLAGS", f"-DA_BYTES={A} -DB_BYTES={B} -DC_BYTES={C} -DS_BYTES={S}",
           *map(str, waivers), *map(str, vfiles), str(HERE / "harness.cpp")]
    start = time.monotonic()
    with open(build_dir / "build.log", "w") as out:
        subprocess.run(cmd, env=env, check=True, stdout=out, stderr=subprocess.STDOUT)
    stamp.write_text(key)
    log(f"  trace build {manifest['top']}: {time.monotonic() - start:.0f} s")
    return exe


def write_stimulus(path, manifest, stim):
    a_beats, b_beats, offer_a, offer_b, c_ready, rst = stim
    g = geometry(manifest)
    A, B, _, _ = sizes(manifest)
    n = len(offer_a)

    def beats(bs, nbytes, lane_width):
        data = np.stack([b for b, _ in bs]).astype(f"<u{lane_width // 8}")
        raw = np.zeros((len(bs), nbytes + 1), np.uint8)
        raw[:, :nbytes] = data.view(np.uint8).reshape(len(bs), -1)[:, :nbytes]
        raw[:, nbytes] = [int(last) for _, last in bs]
        return raw.tobytes()
    flags = (offer_a.astype(np.uint8) | (offer_b.astype(np.uint8) << 1)
             | (c_ready.astype(np.uint8) << 2) | (rst.astype(np.uint8) << 3))
    with open(path, "wb") as f:
        f.write(np.array([n, len(a_beats), len(b_beats)], "<u8").tobytes())
        f.write(beats(a_beats, A, g["streams"]["a"]["lane_width"]))
        f.write(beats(b_beats, B, g["streams"]["b"]["lane_width"]))
        f.write(flags.tobytes())


def decode(raw, T, manifest):
    """The block's observed inputs and outputs, as BlockChecker.check takes them."""
    g = geometry(manifest)
    s = g["streams"]
    A, B, C, S = sizes(manifest)
    rec = np.frombuffer(raw, np.uint8).reshape(T, 2 + A + B + C + S)
    f0, f1 = rec[:, 0], rec[:, 1]
    o = 2
    cols = {}
    for name, nb, src in (("a", A, s["a"]), ("b", B, s["b"]), ("c_data", C, s["c"]),
                          ("state", S, g["state"])):
        cols[name] = lanes_from_le(np.ascontiguousarray(rec[:, o:o + nb]).tobytes(), T, nb,
                                   src["lane_width"], src["count"])
        o += nb
    inp = {"a_valid": (f0 & 1) > 0, "a_last": (f0 & 2) > 0, "a": cols["a"],
           "b_valid": (f0 & 4) > 0, "b_last": (f0 & 8) > 0, "b": cols["b"],
           "c_ready": (f0 & 16) > 0, "rst": (f0 & 32) > 0}
    got = {"a_ready": (f1 & 1) > 0, "b_ready": (f1 & 2) > 0, "c_valid": (f1 & 4) > 0,
           "c_last": (f1 & 8) > 0, "c_data": cols["c_data"], "state": cols["state"]}
    return inp, got


def run(manifest, exe, stim_path, *, fault=None, block=2048, profile=None):
    """Run the harness on ``stim_path`` and check every cycle. Returns ``{"cycles",
    "seconds", "mismatch"}`` (``mismatch``: the message, or None); the time runs from the
    simulator's start to the last compare. ``profile`` (a dict) gets the seconds spent
    waiting for the simulator, decoding and in the model + compare."""
    from testbenches.common.tb import Mismatch
    A, B, C, S = sizes(manifest)
    rec = 2 + A + B + C + S
    checker = BlockChecker(manifest)
    args = [str(exe), str(stim_path)] + ([f"+BENCH_FAULT={fault}"] if fault is not None else [])
    prof = {"wait": 0.0, "decode": 0.0, "check": 0.0}
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, bufsize=0)
    mismatch = None
    buf = bytearray(rec * block)
    view = memoryview(buf)
    try:
        while True:
            t0 = time.monotonic()
            got_bytes = 0
            while got_bytes < len(buf):
                k = proc.stdout.readinto(view[got_bytes:])
                if not k:
                    break
                got_bytes += k
            t1 = time.monotonic()
            T = got_bytes // rec
            if T == 0:
                break
            inp, got = decode(bytes(view[:T * rec]), T, manifest)
            t2 = time.monotonic()
            try:
                checker.check(inp, got)
            except Mismatch as e:
                mismatch = str(e)
                break
            t3 = time.monotonic()
            prof["wait"] += t1 - t0
            prof["decode"] += t2 - t1
            prof["check"] += t3 - t2
            if T < block:
                break
    finally:
        if mismatch is not None:
            proc.kill()
        proc.stdout.close()
        rc = proc.wait()
    seconds = time.monotonic() - start
    if mismatch is None and rc != 0:
        raise RuntimeError(f"trace harness exited with {rc}")
    if profile is not None:
        profile.update(prof)
    return {"cycles": checker.checks, "seconds": seconds, "mismatch": mismatch}


def _run_one(job):
    manifest, exe, stim_path, fault, block = job
    prof = {}
    res = run(manifest, exe, stim_path, fault=fault, block=block, profile=prof)
    res["profile"] = prof
    return res


def run_parallel(manifest, exe, stim_paths, *, block=2048):
    """One harness and one checker per stimulus file (each starts with a reset, in a fresh
    simulator), all at once in a process pool: every cycle of every file is checked. Returns
    ``{"cycles", "seconds", "mismatch", "profile"}`` with the wall time from the start of the
    first simulator to the last compare and the per-process profiles summed."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    jobs = [(manifest, exe, p, None, block) for p in stim_paths]
    with ctx.Pool(len(jobs)) as pool:
        start = time.monotonic()
        results = pool.map(_run_one, jobs)
        seconds = time.monotonic() - start
    prof = {k: sum(r["profile"][k] for r in results) for k in results[0]["profile"]}
    return {"cycles": sum(r["cycles"] for r in results), "seconds": seconds,
            "mismatch": next((r["mismatch"] for r in results if r["mismatch"]), None),
            "profile": prof, "parts": [(r["cycles"], r["seconds"]) for r in results]}
