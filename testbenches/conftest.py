"""pytest configuration shared by every tpegen test.

* ``require(tool)``: a test whose external tool is missing is skipped locally, with the
  install command as the reason; under CI (``CI`` set) it fails instead, because nothing that
  CI should run may be skipped there.
* ``--sim``: simulators to run the cocotb tests on (default: verilator, plus icarus when it
  is installed).
* Generated designs and simulator builds go under ``build/tests`` (reused between runs).
* The suite's own Verilator builds: design C++ at -O0 and the Verilator runtime compiled once
  (``MAKEFLAGS``, below); the tests are run costliest first (``COST``).
"""

import os
from pathlib import Path

import pytest

from tpegen import tools

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TPEGEN_TEST_BUILD", REPO / "build" / "tests"))

# The tests' Verilator models are compiled with the design's own (``OPT_FAST``) C++ files at
# -O0 instead of verilated.mk's -Os: g++ -Os takes 10-20x longer on the large generated
# ``V*___024root__*.cpp`` of an engine, and the simulations here are bound by cocotb's Python
# (measured on the int8 MAC: the same cycles/s). The Verilator runtime (``OPT_GLOBAL``,
# through which cocotb's VPI reads go) keeps -Os: at -O0 it halves the cycles/s. The C++ level
# changes no simulated behaviour; product runs (tpegen test/gemm outside pytest) keep the
# defaults. TPEGEN_TEST_OPT_FAST overrides it (e.g. ``-Os`` to build as shipped).
_OPT_FAST = os.environ.get("TPEGEN_TEST_OPT_FAST", "-O0")
if _OPT_FAST and "OPT_FAST=" not in os.environ.get("MAKEFLAGS", ""):
    os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + f" OPT_FAST={_OPT_FAST}").strip()

# Every Verilator build compiles the same runtime (verilated.cpp, verilated_vpi.cpp,
# verilated_threads.cpp, verilated_dpi.cpp: about 8 CPU-seconds, the larger part of a small
# unit's build) with the same command. verilated.mk runs each compile as ``$(OBJCACHE) $(CXX)
# ...``; OBJCACHE is set to a small cache of our own (below; ccache when it is installed):
# a compile of a file under $VERILATOR_ROOT/include (never a design's or cocotb's own file,
# which include the design's headers) is done once per command line and source version and
# copied from the cache afterwards (the object and its -MMD dependency file).
_OBJCACHE_SCRIPT = r"""#!{python}
import hashlib, os, shutil, subprocess, sys
args = sys.argv[1:]
root = os.environ.get("VERILATOR_ROOT")
src = [a for a in args if a.endswith(".cpp")]
if (not root or len(src) != 1 or "-c" not in args or "-o" not in args
        or not os.path.realpath(src[0]).startswith(
            os.path.join(os.path.realpath(root), "include") + os.sep)):
    os.execvp(args[0], args)
out = args[args.index("-o") + 1]
dep = os.path.splitext(out)[0] + ".d"
key = hashlib.sha256("\0".join(
    args + [str(os.stat(src[0]).st_mtime_ns), str(shutil.which(args[0]))]).encode()).hexdigest()
cache = os.path.join({cache!r}, key)
if os.path.exists(cache + ".o"):
    shutil.copyfile(cache + ".o", out)
    if os.path.exists(cache + ".d"):
        shutil.copyfile(cache + ".d", dep)
    sys.exit(0)
rc = subprocess.call(args)
if rc == 0 and os.path.exists(out):
    tmp = f"{{cache}}.{{os.getpid()}}"
    if os.path.exists(dep):
        shutil.copyfile(dep, tmp + ".d")
        os.replace(tmp + ".d", cache + ".d")
    shutil.copyfile(out, tmp + ".o")
    os.replace(tmp + ".o", cache + ".o")
sys.exit(rc)
"""


def _objcache():
    import shutil
    import sys
    if os.environ.get("TPEGEN_TEST_OBJCACHE", "1") == "0":
        return None
    if shutil.which("ccache"):
        return "ccache"
    where = BUILD / ".objcache"
    where.mkdir(parents=True, exist_ok=True)
    script = where / "cxx"
    text = _OBJCACHE_SCRIPT.format(python=sys.executable, cache=str(where))
    if not script.exists() or script.read_text() != text:
        tmp = where / f"cxx.{os.getpid()}"
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, script)
    return str(script)


if "OBJCACHE=" not in os.environ.get("MAKEFLAGS", ""):
    _cache = _objcache()
    if _cache:
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + f" OBJCACHE={_cache}").strip()


def require(tool):
    if tools.available(tool):
        return
    message = f"{tool} is missing; install it with: {tools.HINTS[tool]}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must not skip)")
    pytest.skip(message)


def pytest_addoption(parser):
    parser.addoption("--sim", action="append", default=None,
                     help="simulator for cocotb tests (verilator, icarus); repeatable")
    parser.addoption("--tier", choices=("full", "check"), default="full",
                     help="full: everything (make test, CI); check: the fast inner loop "
                          "(make check): every fast test, and from each slow file only the "
                          "representative cases of CHECK_TIER")


#: The fast tier (``make check``): the slow files (simulations, proofs, synthesis, lint of
#: the whole grid) run only the cases whose test id contains one of these strings; every
#: other file runs whole. ``make test`` (and CI) runs everything.
CHECK_TIER = {
    "test_mac.py": ("verilator-mac_s8xs8_acc32_booth4_dadda_cs]",),
    "test_fma.py": ("verilator-fma_e4m3fnxe5m2_fp16_d2]", "test_mixed_ports",
                    "test_planted_result_bug_is_caught[fma_"),
    "test_lmul.py": ("verilator-lmul_e4m3fn]",),
    "test_stream.py": ("verilator-fma_e4m3fn_fp16_d1_hs]", "coreboard"),
    "test_formal.py": ("mac_s4xs4_acc12_array_wallace_cpa",),
    "test_synth.py": ("asic", "refused_before"),
    "test_lint.py": ("mac_s8xs8_acc32_booth4_dadda_cs", "fma_e4m3fn_fp16_d2", "planted",
                     "comment"),
    "test_harness.py": ("verilator",),
    "test_engines.py": ("test_engine[os1x1_mac_s4xs6",),
    "test_manifest_driver.py": ("systolic-os", "imports"),
    "test_formal_engine.py": ("refuted",),
    "test_gemm.py": ("bad_input", "missing"),
    "test_fp_fma_golden.py": ("matches_fp64", "accumulates", "cancellation", "overflow",
                              "ties", "zeros", "special", "subnormal",
                              "roundings_and_flushing[e4m3fnxe5m2"),
    "test_scalesim.py": ("bad_schedule",),
    "test_fdot.py": ("e4m3fnxe5m2_fp16_t2_ftz", "fp16_bf16_t2", "t1_rtz", "directed",
                     "planted", "converts"),
    "test_simd.py": ("golden", "mode_sequence", "test_simd[simd_us4", "ss4_acc12_fused",
                     "proof_finds"),
    "test_mixpe.py": ("golden", "exact_group", "config_errors",
                      "test_mixpe[mixpe_u4xint8_g16_shiftadd"),
    "test_lut.py": ("golden", "half_table", "stimulus", "config_rejects", "manifest",
                    "table_entries", "test_lut[lut_k4_s4xs8_n4_acc32_lut_dadda]"),
    "test_bitserial.py": ("tables", "against_fractions", "specials", "cycle", "vector",
                          "accumulates", "config", "manifest",
                          "test_bitserial[bitserial_l2_fp16_g4_serial_noskip"),
}


#: Rough cost (seconds, one worker, cold build) of the slow tests, by a part of their id; the
#: first match counts, anything else costs 1. pytest-xdist hands tests out in collection
#: order, so the suite runs the costly ones first (a long test collected last would make the
#: run's tail long); the sort is stable, so the order within a cost stays the file's.
COST = [
    ("test_os2x2_meets_matrix_product_spec", 300),
    ("test_engines.py::test_engine[", 60),
    ("test_engines.py", 30),
    ("test_scalesim.py::test_against_scalesim", 80),
    ("test_simd.py::test_simd[", 25),
    ("test_simd.py::test_simd_planted", 25),
    ("test_mixpe.py::test_mixpe[", 40),
    ("test_mixpe.py::test_mixpe_planted", 25),
    ("test_synth.py::test_synth_and_power_of_the_group_pe", 40),
    ("test_lut.py::test_lut[lut_k4_s8xs8", 60),
    ("test_lut.py::test_lut[", 25),
    ("test_lut.py::test_lut_planted", 20),
    ("test_lut.py::test_lut_icarus", 15),
    ("test_bitserial.py::test_bitserial_exhaustive", 230),
    ("test_bitserial.py::test_bitserial[", 60),
    ("test_bitserial.py::test_bitserial_planted", 30),
    ("test_bitserial.py::test_group_numerics_exhaustive", 20),
    ("test_fdot.py::test_fdot_matches", 10),
    ("test_gemm.py::test_run_gemm_matches", 70),
    ("test_fma.py::test_fma[verilator", 45),
    ("test_fma.py::test_fmac[verilator", 40),
    ("test_stream.py::test_stream[verilator", 45),
    ("test_manifest_driver.py", 40),
    ("test_formal_engine.py", 40),
    ("test_gemm.py::test_k_split", 40),
    ("test_gemm.py::test_bf16", 40),
    ("test_gemm.py::test_cli_gemm_end_to_end", 40),
    ("test_fp_fma_golden.py::test_fma_matches_fp64", 30),
    ("test_fp_fma_golden.py::test_mixed_fp8", 30),
    ("test_mac.py::test_mac[verilator", 30),
    ("test_lmul.py", 25),
    ("test_fma.py", 25),
    ("test_stream.py::test_planted", 25),
    ("test_stream.py::test_stream", 25),
    ("test_mac.py", 20),
    ("test_harness.py", 20),
    ("test_formal.py", 10),
    ("test_synth.py", 10),
]


def cost(nodeid):
    for part, seconds in COST:
        if part in nodeid:
            return seconds
    return 1


def pytest_collection_modifyitems(config, items):
    if config.getoption("--tier") == "check":
        keep, drop = [], []
        for item in items:
            wanted = CHECK_TIER.get(Path(str(item.fspath)).name)
            (keep if wanted is None or any(w in item.nodeid for w in wanted)
             else drop).append(item)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    items.sort(key=lambda item: -cost(item.nodeid))


def simulators(config):
    chosen = config.getoption("--sim")
    if chosen:
        return chosen
    sims = ["verilator"]
    if tools.available("iverilog") or os.environ.get("CI"):
        sims.append("icarus")
    return sims


@pytest.fixture(scope="session")
def build_root():
    BUILD.mkdir(parents=True, exist_ok=True)
    return BUILD


def pytest_generate_tests(metafunc):
    """Every test that takes a ``simulator`` argument runs on each chosen simulator."""
    explicit = any("simulator" in str(m.args[0])
                   for m in metafunc.definition.iter_markers("parametrize"))
    if "simulator" in metafunc.fixturenames and not explicit:
        metafunc.parametrize("simulator", simulators(metafunc.config))


def expect_mismatch(config, build_root, seed, *phrases):
    """A planted bug's design must fail its unchanged testbench on Verilator with a
    MISMATCH naming the seed (and each of ``phrases``, e.g. the phase); returns the
    message."""
    from tpegen.harness import SimulationFailed
    with pytest.raises(SimulationFailed) as failure:
        simulate(config, "verilator", build_root, seed)
    message = str(failure.value)
    print(message)
    for phrase in ("MISMATCH", "seed", *phrases):
        assert phrase in message, phrase
    return message


def simulate(config, simulator, build_root, seed):
    """Generate ``config`` under ``build_root/<kind>/<name>`` and run its cocotb testbench:
    the full stimulus on Verilator, the quick one on Icarus. Raises on a mismatch."""
    from tpegen.harness import run_design_test
    from tpegen import api
    require("verilator" if simulator == "verilator" else "iverilog")
    design = api.generate(config, build_root / config.kind / config.name)
    print(f"seed {seed}")
    # Icarus, and the fast tier (make check sets TPEGEN_QUICK_TIER=1), run the quick stimulus
    quick = simulator == "icarus" or os.environ.get("TPEGEN_QUICK_TIER") == "1"
    result = run_design_test(design, simulator=simulator, seed=seed, quick=quick)
    print(result)
    return result
