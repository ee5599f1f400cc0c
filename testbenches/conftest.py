"""pytest configuration shared by every tpegen test.

* ``require(tool)``: a test whose external tool is missing is skipped locally, with the
  install command as the reason; under CI (``CI`` set) it fails instead, because nothing that
  CI should run may be skipped there.
* ``--sim``: simulators to run the cocotb tests on (default: verilator, plus icarus when it
  is installed).
* Generated designs and simulator builds go under ``build/tests`` (reused between runs).
"""

import os
from pathlib import Path

import pytest

from tpegen import tools

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TPEGEN_TEST_BUILD", REPO / "build" / "tests"))


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
    "test_synth.py": ("asic",),
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
}


def pytest_collection_modifyitems(config, items):
    if config.getoption("--tier") != "check":
        return
    keep, drop = [], []
    for item in items:
        wanted = CHECK_TIER.get(Path(str(item.fspath)).name)
        (keep if wanted is None or any(w in item.nodeid for w in wanted) else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


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
