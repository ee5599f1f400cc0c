"""Manifest-driven testbench parts shared by every unit: clock/reset, driver, monitor,
scoreboard. They find ports by *role* through the design manifest, never by hard-coded name.

The timing convention is one for all tpegen units: inputs are driven, and outputs sampled, at
the falling edge of ``clk``, half a period away from the rising edge where registers update.
"""

import json
import os
import time

import cocotb
from cocotb.clock import Clock

__all__ = ["load_manifest", "Run", "Ports", "Driver", "Monitor", "Scoreboard", "Progress",
           "start_clock", "Mismatch"]


def load_manifest():
    """The manifest of the design under test (its path is in ``TPEGEN_MANIFEST``)."""
    with open(os.environ["TPEGEN_MANIFEST"]) as f:
        return json.load(f)


class Run:
    """What a testbench starts from, read from the environment the harness sets: the
    ``manifest``, its configuration ``cfg``, the ``seed`` (logged) and its ``rng``, and
    ``random_cycles``."""

    def __init__(self, dut):
        from numpy.random import default_rng

        from tpegen.registry import config_from_dict
        self.manifest = load_manifest()
        self.cfg = config_from_dict(self.manifest["kind"], self.manifest["parameters"])
        self.seed = int(os.environ.get("TPEGEN_SEED", "1"))
        self.log = dut._log
        self.log.info("design %s, seed %d", self.cfg.name, self.seed)
        self.rng = default_rng(self.seed)
        self.random_cycles = int(os.environ.get("TPEGEN_RANDOM_CYCLES", "100000"))


class Ports:
    """Role -> handle lookup for the design under test."""

    def __init__(self, dut, manifest):
        self.dut = dut
        self.by_role = {p["role"]: p for p in manifest["ports"]}

    def has(self, role):
        return role in self.by_role

    def handle(self, role):
        return getattr(self.dut, self.by_role[role]["name"])

    def width(self, role):
        return self.by_role[role]["width"]


async def start_clock(dut, ports, period_ns=10):
    clk = ports.handle("clk")
    cocotb.start_soon(Clock(clk, period_ns, unit="ns").start())
    return clk


class Driver:
    """Writes integers (negative allowed) to input ports as their two's complement bits."""

    def __init__(self, ports, roles):
        self.handles = [(ports.handle(r), (1 << ports.width(r)) - 1) for r in roles]
        self.roles = list(roles)

    def drive(self, *values):
        for (handle, mask), value in zip(self.handles, values):
            handle.value = int(value) & mask


class Monitor:
    """Reads output ports as unsigned integers."""

    def __init__(self, ports, roles):
        self.handles = {r: ports.handle(r) for r in roles}

    def sample(self):
        return {r: h.value.to_unsigned() for r, h in self.handles.items()}


class Mismatch(AssertionError):
    pass


class Scoreboard:
    """Compares observed values with expected ones and stops at the first mismatch.

    The failure message gives the cycle, the phase, the inputs of the last few cycles, the
    expected and observed values, and the seed that reproduces it.
    """

    def __init__(self, log, seed, history=4):
        self.log = log
        self.seed = seed
        self.checks = 0
        self.cycles = 0
        self.recent = []
        self.history = history

    def note_inputs(self, cycle, phase, inputs):
        self.recent.append((cycle, phase, inputs))
        del self.recent[:-self.history]

    def check(self, cycle, name, observed, expected, width=None):
        self.checks += 1
        if observed != expected:
            fmt = (lambda v: f"{v} (0x{v:0{(width + 3) // 4}x})") if width else str
            lines = [f"MISMATCH at cycle {cycle}, {name}: expected {fmt(expected)}, "
                     f"observed {fmt(observed)} (seed {self.seed})",
                     "last inputs (cycle, phase, inputs):"]
            lines += [f"  {c} {p} {i}" for c, p, i in self.recent]
            raise Mismatch("\n".join(lines))


class Progress:
    """Logs progress of a long run every ``every`` seconds."""

    def __init__(self, log, total, label, every=10.0):
        self.log, self.total, self.label, self.every = log, total, label, every
        self.start = self.last = time.monotonic()

    def update(self, done):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = done / (now - self.start)
            self.log.info("%s: %d/%d cycles (%.0f cycles/s)", self.label, done, self.total, rate)

    def rate(self, done):
        return done / max(time.monotonic() - self.start, 1e-9)

