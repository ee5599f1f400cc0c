"""The cocotb mode: build the engine for cocotb + Verilator (the harness's build flags) and
run :mod:`testbenches.engine_bench_tb` on it; returns that module's result."""

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _runner():
    """cocotb's Verilator runner without ``--public-flat-rw`` (which makes every signal
    public and stops Verilator optimizing them); only the top ports are made public, by
    :func:`_public_ports`."""
    from cocotb_tools.runner import Verilator

    class LeanVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            return cmds
    return LeanVerilator()


def _public_ports(manifest, build_dir):
    lines = ["`verilator_config", "// bench build: the top ports only, for cocotb's VPI"]
    lines += [f'public_flat_rw -module "{manifest["top"]}" -var "{p["name"]}"'
              for p in manifest["ports"]]
    path = Path(build_dir) / "bench_public_ports.vlt"
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def build(manifest, build_dir, log=print, hier=False, opt="-O0"):
    """``hier``: the PE as a Verilator hierarchical block (fast build, slow simulation);
    otherwise flat, with the C++ compiled at ``opt`` (see trace_mode.build)."""

    from tpegen.harness import _prepare_env
    _prepare_env("verilator")
    base = Path(manifest["_path"]).parent
    vfiles = [base / f["path"] for f in manifest["files"] if f["type"] == "verilog"]
    from bench.engine_trace.common import no_inline_file
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    sources = [base / f["path"] for f in manifest["files"]
               if f["type"] == "verilator-waivers"] + [_public_ports(manifest, build_dir)] \
        + ([no_inline_file(manifest, build_dir)] if hier else []) + vfiles
    flags = " ".join(w for w in os.environ.get("MAKEFLAGS", "").split()
                     if not w.startswith(("OPT_FAST=", "OPT_SLOW=")))
    os.environ["MAKEFLAGS"] = flags if hier else f"{flags} OPT_FAST={opt} OPT_SLOW={opt}".strip()
    runner = _runner()
    key = str([(str(p), Path(p).stat().st_mtime_ns) for p in sources] + [hier, opt])
    stamp = Path(build_dir) / "bench_stamp"
    if (Path(build_dir) / manifest["top"]).exists() and stamp.exists() \
            and stamp.read_text() == key:
        return runner
    start = time.monotonic()
    runner.build(sources=sources, hdl_toplevel=manifest["top"], build_dir=build_dir,
                 build_args=(["--hierarchical"] if hier else []) + [
                     "-O3", "--x-assign", "fast", "--x-initial", "fast"],
                 timescale=("1ns", "1ps"), log_file=Path(build_dir) / "build.log")
    stamp.write_text(key)
    took = time.monotonic() - start
    if took > 5:
        log(f"  cocotb build {manifest['top']}: {took:.0f} s")
    return runner


def run(manifest, build_dir, *, cycles, seed, fault=None, profile=False, block=1024):
    runner = _runner()
    build_dir = Path(build_dir)
    result_path = build_dir / f"bench_result_{os.getpid()}.json"
    result_path.unlink(missing_ok=True)
    env = {"TPEGEN_MANIFEST": str(Path(manifest["_path"]).resolve()),
           "TPEGEN_SEED": str(seed), "BENCH_CYCLES": str(cycles),
           "BENCH_RESULT": str(result_path), "BENCH_PYTHON": sys.executable,
           "BENCH_BLOCK": str(block), "BENCH_PROFILE": "1" if profile else "0"}
    plusargs = [f"+BENCH_FAULT={fault}"] if fault is not None else []
    try:
        runner.test(test_module="testbenches.engine_bench_tb", hdl_toplevel=manifest["top"],
                hdl_toplevel_lang="verilog",
                build_dir=build_dir, test_dir=build_dir, seed=seed, extra_env=env,
                plusargs=plusargs, results_xml=str(build_dir / "results.xml"),
                    log_file=build_dir / "sim.log")
    except SystemExit:
        pass
    if not result_path.exists():
        raise RuntimeError(f"cocotb bench wrote no result; see {build_dir / 'sim.log'}")
    result = json.loads(result_path.read_text())
    result_path.unlink()
    return result
