"""An external tool can drive every engine architecture from its manifest alone.

:mod:`testbenches.manifest_driver` is a cocotb module that imports nothing of this project:
it learns clock, reset, streams and lane layouts from the manifest JSON and checks the
engine against numpy's ``A @ B``. This file generates one small int8 engine per registered
architecture, builds it from the manifest's file list and runs that driver on it.
"""

import ast
import json
from pathlib import Path

import pytest

from tpegen import api
from tpegen.config import ARCHITECTURES, EngineConfig, MacConfig
from tpegen.harness import _failures, _prepare_env

from .conftest import require

DRIVER = Path(__file__).with_name("manifest_driver.py")
FORBIDDEN = ("tpegen", "golden", "hdl", "testbenches")


def _config(arch):
    return EngineConfig(arch=arch, rows=3, cols=2, depth=3 if arch == "cube" else 1,
                        pe=MacConfig(a_width=8, b_width=8, a_signed=True, b_signed=True,
                                     acc_width=32))


def test_driver_imports_nothing_of_ours():
    tree = ast.parse(DRIVER.read_text(), filename=str(DRIVER))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:                       # any relative import is one of ours
                found.append("." * node.level + (node.module or ""))
                continue
            names = [node.module or ""]
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", None))
              in ("__import__", "import_module")):
            names = [a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in FORBIDDEN]
    assert not found, f"{DRIVER.name} imports project code: {found}"


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_manifest_driver(arch, build_root):
    require("verilator")
    from cocotb_tools.runner import get_runner
    _prepare_env("verilator")
    config = _config(arch)
    path = Path(api.generate(config, build_root / "manifest_driver" / config.name)).resolve()
    manifest = json.loads(path.read_text())
    base = path.parent
    sources = ([base / f["path"] for f in manifest["files"] if f["type"] == "verilator-waivers"]
               + [base / f["path"] for f in manifest["files"] if f["type"] == "verilog"])
    build_dir = base / "sim"
    build_dir.mkdir(parents=True, exist_ok=True)
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)
    runner = get_runner("verilator")
    runner.build(sources=sources, hdl_toplevel=manifest["top"], build_dir=build_dir,
                 timescale=("1ns", "1ps"), log_file=build_dir / "build.log")
    try:
        runner.test(test_module="testbenches.manifest_driver", hdl_toplevel=manifest["top"],
                    build_dir=build_dir, test_dir=build_dir, seed=1,
                    extra_env={"TPEGEN_MANIFEST": str(path), "TPEGEN_SEED": "1"},
                    results_xml=str(results), log_file=build_dir / "sim.log")
    except SystemExit:
        pass  # the runner exits on failure under pytest; the results file says what failed
    tests, failures = _failures(results)
    log = (build_dir / "sim.log").read_text(errors="replace")
    assert not failures, "\n".join(failures + [f"log: {build_dir / 'sim.log'}"])
    assert tests == 1
    assert "PASS 40 tiles" in log, f"no PASS line in {build_dir / 'sim.log'}"
