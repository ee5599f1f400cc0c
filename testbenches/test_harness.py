"""The cocotb harness must be able to fail: a design with a planted bug is caught, the
message names the first mismatch and the seed, and an FST waveform is written."""

import json
import re
import shutil

import pytest

from tpegen.harness import SimulationFailed, run_design_test
from testbenches.conftest import require
from tpegen import api
from tpegen.config import LMulConfig, MacConfig


def _plant_bug(config, tmp_path, width=10):
    """Copy the generated design and flip bit 2 of every value the ``result`` register
    loads (for this MAC, the accumulator itself)."""
    good = api.generate(config, tmp_path / "good")
    bad = copy_design(good, tmp_path / "bad")
    vfile = bad.with_suffix(".v")
    text = vfile.read_text()
    text, count = re.subn(r"^(\s*result <= )(.*?)\s*;", rf"\1\2 ^ {width}'d4;", text, count=1,
                          flags=re.M)
    assert count == 1
    vfile.write_text(text)
    return bad


def copy_design(manifest_path, directory):
    """Copy a generated design (its manifest and every file it lists) into ``directory``;
    return the copy's manifest path. An edit of the copied Verilog must keep its line count:
    the waiver file names lines."""
    directory.mkdir(parents=True)
    shutil.copy(manifest_path, directory / manifest_path.name)
    for entry in json.loads(manifest_path.read_text())["files"]:
        shutil.copy(manifest_path.parent / entry["path"], directory / entry["path"])
    return directory / manifest_path.name


def test_planted_bug_is_caught_with_waveform(simulator, tmp_path):
    require("verilator" if simulator == "verilator" else "iverilog")
    config = MacConfig(a_width=4, b_width=4, acc_width=10, mult="booth4", accumulate="cpa")
    bad = _plant_bug(config, tmp_path)
    with pytest.raises(SimulationFailed) as failure:
        run_design_test(bad, simulator=simulator, seed=99, random_cycles=200)
    message = str(failure.value)
    print(message)
    assert "seed 99" in message and "result" in message
    wave = re.search(r"waveform: (\S+)", message).group(1)
    assert wave.endswith((".fst", ".vcd")), message
    assert (tmp_path / "bad").exists() and open(wave, "rb").read(16)


def test_planted_bug_in_an_fp_unit_is_caught(tmp_path):
    require("verilator")
    config = LMulConfig(format="e4m3fn")
    bad = _plant_bug(config, tmp_path, width=8)
    with pytest.raises(SimulationFailed, match="MISMATCH at cycle"):
        run_design_test(bad, seed=7, random_cycles=100, waves_on_failure=False)


def test_good_design_passes_and_reports(tmp_path):
    require("verilator")
    config = MacConfig(a_width=4, b_width=4, acc_width=10, mult="booth4", accumulate="cpa")
    design = api.generate(config, tmp_path)
    result = run_design_test(design, seed=5, random_cycles=500)
    assert result["design"] == config.name and result["seed"] == 5
    assert json.loads(design.read_text())["latency"] == 1


def test_exclusive_makes_two_processes_take_turns(tmp_path):
    """``tools.exclusive``: a second process that wants the same folder waits until the
    first lets it go (the harness, the GEMM driver and the synthesis flow hold it)."""
    import subprocess
    import sys
    import time
    from tpegen import tools
    code = ("import sys, time; from tpegen import tools\n"
            "with tools.exclusive(sys.argv[1]): print(time.monotonic(), flush=True)")
    with tools.exclusive(tmp_path):
        other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert other.poll() is None          # still waiting for the lock
        released = time.monotonic()
    assert float(other.communicate(timeout=30)[0]) >= released
