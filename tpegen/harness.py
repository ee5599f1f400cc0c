"""Build and run a cocotb testbench on a generated design, from pytest or the CLI.

One entry point, :func:`run_design_test`, for every unit: it reads the design's manifest,
picks the testbench module for its ``kind``, builds with ``cocotb_tools.runner`` (Verilator by
default, Icarus on request) and runs it with a fixed seed. When the run fails, it runs again
with the same seed in a waves build and reports the FST waveform's path.
"""

import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import tpegen.registry as registry  # the modules, not the package: tpegen/__init__ imports
import tpegen.tools as tools        # tpegen.gemm, which imports this module
from tpegen.manifest import read_manifest

__all__ = ["run_design_test", "summary", "SimulationFailed", "SIMULATORS"]

REPO = Path(__file__).resolve().parents[1]
SIMULATORS = ("verilator", "icarus")


class SimulationFailed(AssertionError):
    """The design disagreed with its golden model (or the simulation did not finish)."""


class _Tail(threading.Thread):
    """Follow a simulation log and pass its progress lines to ``callback``."""

    PATTERN = re.compile(r"(phase \S+|cycles/s|PASS|Mismatch|mismatch)")

    def __init__(self, path, callback):
        super().__init__(daemon=True)
        self.path, self.callback, self.done = Path(path), callback, threading.Event()

    def run(self):
        position = 0
        while True:
            finished = self.done.is_set()
            if self.path.exists():
                with open(self.path, errors="replace") as f:
                    f.seek(position)
                    chunk = f.read()
                    position = f.tell()
                for line in chunk.splitlines():
                    if self.PATTERN.search(line) and not line.lstrip().startswith("**"):
                        self.callback(re.sub(r"^\s*[\d.]+ns\s+\w+\s+\S+\s+", "", line).strip())
            if finished:
                return
            self.done.wait(0.5)


def summary(log):
    """``{"cycles", "checks", "cycles_per_s"}`` from a passing run's log (or ``{}``)."""
    match = re.search(r"PASS \S+: (\d+) cycles, (\d+) checks, (\d+) cycles/s",
                      Path(log).read_text(errors="replace")) if Path(log).exists() else None
    if match is None:
        return {}
    return {"cycles": int(match.group(1)), "checks": int(match.group(2)),
            "cycles_per_s": int(match.group(3))}


def _failures(results_xml):
    """``(tests, failure messages)`` from a cocotb results file."""
    if not Path(results_xml).exists():
        return 0, ["no results file: the simulator did not finish"]
    tests, failures = 0, []
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        tests += 1
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            failures.append(f"{case.get('name')}: {bad.get('message') or bad.text or 'failed'}")
    if tests == 0:
        failures.append("no test ran")
    return tests, failures


def _has_lz4():
    return any(Path(d, "lz4.h").exists() for d in
               os.environ.get("CPATH", "").split(os.pathsep) + ["/usr/include",
                                                                 "/usr/local/include"] if d)


def _prepare_env(simulator):
    if simulator == "verilator":
        os.environ.update(tools.verilator_env())
    elif simulator == "icarus":
        tools.iverilog()
    else:
        raise ValueError(f"simulator={simulator!r} is not allowed: choose one of "
                         + ", ".join(SIMULATORS))
    # The testbench imports golden/ and testbenches/ from this checkout.
    path = os.environ.get("PYTHONPATH", "")
    if str(REPO) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = f"{REPO}{os.pathsep}{path}" if path else str(REPO)


def _run_once(manifest, simulator, seed, build_dir, extra_env, waves, progress=None):
    from cocotb_tools.runner import get_runner
    top = manifest["top"]
    base = Path(manifest["_path"]).parent
    vfiles = [base / f["path"] for f in manifest["files"] if f["type"] == "verilog"]
    runner = get_runner(simulator)
    sources = vfiles
    build_args = []
    if simulator == "verilator":
        # the design's own waiver file, scoped to its Verilog: nothing is waived globally
        sources = [base / f["path"] for f in manifest["files"]
                   if f["type"] == "verilator-waivers"] + vfiles
        build_args = ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
        if waves:
            # FST needs lz4.h (Debian liblz4-dev, installed by `make setup`); without it,
            # cocotb's --trace gives a VCD instead.
            build_args += ["--trace-fst", "--trace-structs"] if _has_lz4() else []
    runner.build(sources=sources, hdl_toplevel=top, build_dir=build_dir, build_args=build_args,
                 timescale=("1ns", "1ps"), waves=waves, log_file=Path(build_dir) / "build.log")
    env = {"TPEGEN_MANIFEST": str(Path(manifest["_path"]).resolve()), **extra_env}
    results = Path(build_dir) / "results.xml"
    tail = None
    if progress is not None:
        (Path(build_dir) / "sim.log").unlink(missing_ok=True)
        tail = _Tail(Path(build_dir) / "sim.log", progress)
        tail.start()
    try:
        runner.test(test_module=registry.kind(manifest["kind"]).testbench_for(
                        registry.config_from_dict(manifest["kind"], manifest["parameters"])), hdl_toplevel=top,
                    build_dir=build_dir, test_dir=build_dir, seed=seed, extra_env=env,
                    waves=waves, results_xml=str(results), log_file=Path(build_dir) / "sim.log")
    except SystemExit:
        pass  # under pytest the runner exits on failure; the results file says what failed
    finally:
        if tail is not None:
            tail.done.set()
            tail.join()
    return _failures(results)


def run_design_test(design, *, simulator="verilator", seed=1, quick=False, build_dir=None,
                    random_cycles=None, waves_on_failure=True, progress=None):
    """Simulate a generated design against its golden model.

    Parameters
    ----------
    design : path
        The design's manifest, or the directory holding it.
    simulator : str
        ``verilator`` or ``icarus``.
    seed : int
        Seed of the stimulus; printed, and used again for the waves rerun.
    quick : bool
        5,000 random cycles instead of 100,000; the exhaustive phase is kept (an FMA's gives
        each multiplicand pair one addend of its set, in turn, instead of all of them).
    random_cycles : int, optional
        Override the number of random cycles.
    progress : callable, optional
        Called with each progress line of the simulation (phases, cycles/s) as it runs.

    Returns
    -------
    dict
        ``{"design", "simulator", "seed", "seconds", "log", "cycles", "checks",
        "cycles_per_s"}``. Raises
        :class:`SimulationFailed` (message: the first mismatch, the seed, the waveform) on
        failure.
    """
    manifest = read_manifest(design)
    _prepare_env(simulator)
    if build_dir is None:
        build_dir = Path(manifest["_path"]).parent / "sim" / simulator
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    cycles = random_cycles if random_cycles is not None else (5000 if quick else 100000)
    extra_env = {"TPEGEN_RANDOM_CYCLES": str(cycles), "TPEGEN_SEED": str(seed)}
    if quick:
        extra_env["TPEGEN_WRAP_CAP"] = "4096"
        extra_env["TPEGEN_QUICK"] = "1"
    start = time.monotonic()
    if progress:
        progress(f"{manifest['top']}: building for {simulator}")
    with tools.exclusive(build_dir):     # one build and run at a time in this folder
        tests, failures = _run_once(manifest, simulator, seed, build_dir, extra_env,
                                    waves=False, progress=progress)
    seconds = time.monotonic() - start
    log = build_dir / "sim.log"
    if failures:
        message = [f"{manifest['top']} on {simulator}, seed {seed}:"] + failures
        message.append(f"log: {log}")
        if waves_on_failure:
            wave_dir = build_dir.with_name(build_dir.name + "_waves")
            wave_dir.mkdir(parents=True, exist_ok=True)
            with tools.exclusive(wave_dir):
                _run_once(manifest, simulator, seed, wave_dir, extra_env, waves=True)
            found = sorted(wave_dir.glob("*.fst")) + sorted(wave_dir.glob("*.vcd"))
            message.append(f"waveform: {found[0]}" if found else
                           f"waveform: none written (see {wave_dir})")
        raise SimulationFailed("\n".join(message))
    return {"design": manifest["top"], "simulator": simulator, "seed": seed,
            "seconds": round(seconds, 2), "log": str(log), **summary(log)}
