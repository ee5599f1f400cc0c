"""Handshake designs (``handshake=True``, :class:`hdl.stream.Handshake`) through their
valid/ready streams, in cocotb (:mod:`testbenches.stream_tb`), and the streaming
scoreboard's own tests.

* The FMA and FP MAC with handshake on Verilator (full stimulus) and Icarus (quick), with
  random bubbles and backpressure, every output transfer checked against the golden model.
* Planted bugs: the generated Verilog edited so that the output FIFO loses a result (its
  write enable misses) or repeats one (its read enable misses); each must fail with
  :class:`SimulationFailed` naming a dropped or a duplicated transaction.
* The scoreboard in pure Python: a dropped and a duplicated transaction are caught (in the
  middle of a stream, and at its end, by the counts).
"""

import re

import numpy as np
import pytest

from testbenches.common.stream import Scoreboard
from testbenches.common.tb import Mismatch
from testbenches.conftest import require, simulate
from testbenches.test_harness import copy_design
from tpegen import api
from tpegen.config import FMacConfig, FmaConfig
from tpegen.harness import SimulationFailed, run_design_test

SEED = 20261124

STREAM_GRID = [
    FmaConfig(fmt_in="bf16", fmt_acc="fp32", depth=3, handshake=True),
    FmaConfig(fmt_in="e4m3fn", fmt_acc="fp16", depth=1, handshake=True),
    FMacConfig(fmt_in="bf16", fmt_acc="fp32", handshake=True),
]


@pytest.mark.parametrize("config", STREAM_GRID, ids=lambda c: c.name)
def test_stream(config, simulator, build_root):
    result = simulate(config, simulator, build_root, SEED)
    assert result["checks"] > 0


def test_handshake_manifest(tmp_path):
    """The manifest names the streams, their ports and the output latency."""
    config = FmaConfig(fmt_in="bf16", fmt_acc="fp32", depth=3, handshake=True)
    manifest, _ = api.load(api.generate(config, tmp_path))
    streams = {s["name"]: s for s in manifest["streams"]}
    assert streams["in"]["valid"] == "in_valid" and streams["in"]["ready"] == "in_ready"
    assert streams["in"]["data"] == ["a", "b", "c"]
    assert streams["out"]["data"] == ["result"] and streams["out"]["latency"] == 3
    roles = {p["name"]: p["role"] for p in manifest["ports"]}
    assert roles["in_valid"] == roles["out_valid"] == "valid"
    assert roles["in_ready"] == roles["out_ready"] == "ready"
    assert manifest["latency"] == 3 and manifest["stats"]["handshake_fifo_depth"] == 4


# --- planted bugs ---------------------------------------------------------------------------

def _planted(config, tmp_path, edit):
    """Copy the generated design and apply ``edit(text) -> text`` to its Verilog (keeping
    its line count: the waiver file names lines)."""
    good = api.generate(config, tmp_path / "good")
    bad = copy_design(good, tmp_path / "bad")
    vfile = bad.with_suffix(".v")
    text = vfile.read_text()
    edited = edit(text)
    assert edited != text and edited.count("\n") == text.count("\n")
    vfile.write_text(edited)
    return bad


def _gate(signal, condition):
    """AND the assignment of ``signal`` with ``~(condition)``; ``COUNT1`` in it is a
    ``fifo_count`` constant 1 of the right width."""
    def edit(text):
        match = re.search(r"^\s*reg (?:\[(\d+):0\] )?fifo_count\b", text, re.M)
        width = int(match.group(1)) + 1 if match.group(1) else 1
        gate = condition.replace("COUNT1", f"{width}'d1")
        return re.sub(rf"^(\s*assign {signal} = )(.*?)\s*;", rf"\1(\2 ) & ~({gate});", text,
                      count=1, flags=re.M)
    return edit


def _ungate(text):
    """The accumulator's enable no longer waits for an input transfer."""
    return re.sub(r"^(\s*assign \S+\s+= enable) & xfer_in;", r"\1;", text, count=1, flags=re.M)


FMA, FMAC = STREAM_GRID[0], STREAM_GRID[2]
BUGS = {
    # the FIFO's write enable misses when it holds one result and an input is offered: an
    # arriving result that had to wait is lost
    "drop": (_gate("fifo_we", "in_valid & (fifo_count == COUNT1)"), "DROPPED transaction"),
    # the FIFO's read enable misses in the same state: the head is delivered and kept, so
    # it goes out twice
    "duplicate": (_gate("fifo_re", "in_valid & (fifo_count == COUNT1)"),
                  "DUPLICATED transaction"),
    # the accumulator steps on idle cycles too (the held operands are added again)
    "ungated": (_ungate, "MISMATCH at output transfer"),
}


@pytest.mark.parametrize("config, bug", [(FMA, "drop"), (FMA, "duplicate"), (FMAC, "drop"),
                                         (FMAC, "duplicate"), (FMAC, "ungated")],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_planted_stream_bug_is_named(config, bug, tmp_path):
    require("verilator")
    edit, expected = BUGS[bug]
    bad = _planted(config, tmp_path, edit)
    with pytest.raises(SimulationFailed) as failure:
        run_design_test(bad, seed=SEED, random_cycles=3000, waves_on_failure=False)
    message = str(failure.value)
    print(message)
    assert expected in message and f"seed {SEED}" in message, message


# --- the scoreboard alone -------------------------------------------------------------------

def _scoreboard(step, reset=None, **kw):
    return Scoreboard(step, reset=reset, inputs=["a", "b"], outputs=["result"],
                      widths={"result": 16}, seed=5, batch=16, **kw)


def _run(board, ins, outs):
    """Feed inputs and outputs interleaved as a design with latency 2 would."""
    events = [(2 * i, "in", v) for i, v in enumerate(ins)]
    events += [(2 * i + 5, "out", v) for i, v in enumerate(outs)]
    for cycle, kind, value in sorted(events, key=lambda e: (e[0], e[1] == "in")):
        (board.input if kind == "in" else board.output)(cycle, value)
    board.finish()


def _function_case(rng, n=200):
    ins = [tuple(int(x) for x in rng.integers(0, 1 << 8, 2)) for _ in range(n)]
    outs = [((a * 37 + b) & 0xFFFF,) for a, b in ins]
    return (lambda a, b: (a * 37 + b) & 0xFFFF), ins, outs


class _Acc:
    """An accumulator model: ``acc += a*b`` (so neighbouring outputs are related)."""

    def __init__(self):
        self.acc = 0

    def tick(self, a, b):
        self.acc = (self.acc + a * b) & 0xFFFF
        return self.acc

    def reset(self):
        self.acc = 0


@pytest.mark.parametrize("where", [0, 57, 150, 199])
def test_scoreboard_names_a_dropped_transaction(where):
    step, ins, outs = _function_case(np.random.default_rng(1))
    del outs[where]
    with pytest.raises(Mismatch, match="DROPPED transaction") as failure:
        _run(_scoreboard(step), ins, outs)
    message = str(failure.value)
    assert "seed 5" in message
    assert f"#{where} " in message, message


@pytest.mark.parametrize("where", [1, 57, 150, 199])
def test_scoreboard_names_a_duplicated_transaction(where):
    step, ins, outs = _function_case(np.random.default_rng(2))
    outs.insert(where, outs[where - 1])
    with pytest.raises(Mismatch, match="DUPLICATED transaction") as failure:
        _run(_scoreboard(step), ins, outs)
    assert f"#{where} " in str(failure.value), str(failure.value)


def test_scoreboard_accumulator_drop_and_duplicate():
    rng = np.random.default_rng(3)
    ins = [tuple(int(x) for x in rng.integers(1, 1 << 8, 2)) for _ in range(100)]
    model = _Acc()
    outs = [(model.tick(*i),) for i in ins]
    for change, expected in ((lambda o: o.pop(40), "DROPPED"),
                             (lambda o: o.insert(40, o[39]), "DUPLICATED")):
        bad = list(outs)
        change(bad)
        model = _Acc()
        with pytest.raises(Mismatch, match=expected):
            _run(_scoreboard(model.tick, model.reset), ins, bad)
    model = _Acc()
    _run(_scoreboard(model.tick, model.reset), ins, outs)       # the good stream passes


def test_scoreboard_mismatch_and_good_stream():
    step, ins, outs = _function_case(np.random.default_rng(4))
    board = _scoreboard(step)
    _run(board, ins, outs)
    assert board.checks == len(ins)
    outs[77] = (outs[77][0] ^ 1,)
    with pytest.raises(Mismatch, match="MISMATCH at output transfer #77") as failure:
        _run(_scoreboard(step), ins, outs)
    assert "a=0x" in str(failure.value) and "expected result=0x" in str(failure.value)


def test_scoreboard_reset_drops_in_flight_only():
    step, ins, outs = _function_case(np.random.default_rng(5), n=20)
    board = _scoreboard(step)
    for i in range(10):
        board.input(i, ins[i])
    for i in range(7):
        board.output(10 + i, outs[i])
    board.reset(20)                                 # inputs 7..9 were in flight
    assert board.in_flight_at_reset == 3
    for i in range(10, 20):
        board.input(20 + i, ins[i])
    for i in range(10, 20):
        board.output(40 + i, outs[i])
    board.finish()
    assert board.checks == 17
    with pytest.raises(Mismatch, match="DUPLICATED"):   # a stale output after the reset
        board = _scoreboard(step)
        board.input(0, ins[0])
        board.reset(3)
        board.output(5, outs[0])


def test_scoreboard_model_is_fed_observed_inputs_in_order():
    seen = []
    board = _scoreboard(lambda a, b: seen.append((a, b)) or (a + b) & 0xFFFF)
    for i in range(40):
        board.input(i, (i, 2 * i))
    for i in range(40):
        board.output(50 + i, ((3 * i) & 0xFFFF,))
    board.finish()
    assert seen == [(i, 2 * i) for i in range(40)]
