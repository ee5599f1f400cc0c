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
    from testbenches.common.harness import run_design_test
    from tpegen import api
    require("verilator" if simulator == "verilator" else "iverilog")
    design = api.generate(config, build_root / config.kind / config.name)
    print(f"seed {seed}")
    result = run_design_test(design, simulator=simulator, seed=seed,
                             quick=(simulator == "icarus"))
    print(result)
    return result
