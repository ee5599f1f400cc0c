"""Formal proof of a 2x2 output-stationary systolic engine against the matrix-product spec
written in the proof itself (:mod:`tpegen.formal_engine`): two back-to-back tiles of depth
1..3, arbitrary stalls on both input streams and back-pressure on the output, bounded from
reset. The negative tests show the proof can fail: a PE whose flags come one cycle late in
the generated RTL, and a wrong spec, are both refuted with a counterexample."""

import pytest

from testbenches.conftest import require
from tpegen.config import EngineConfig, MacConfig
from tpegen.formal import EquivalenceFailed
from tpegen.formal_engine import prove_engine

PE = MacConfig(a_width=2, b_width=2, a_signed=True, b_signed=True, acc_width=8,
               mult="behavioural", accumulate="cpa")


def engine(name=None, pe=PE):
    return EngineConfig(rows=2, cols=2, pe=pe, name=name)


def test_os2x2_meets_matrix_product_spec(build_root):
    require("yosys")
    report = prove_engine(engine(), build_root / "formal_engine" / "os2x2", timeout=1500)
    print(report)
    assert report["proved"] and report["tiles"] == 2 and report["kmax"] == 3
    assert report["bound"] > report["live"]


def test_planted_skew_bug_is_refuted(build_root, monkeypatch):
    """PE(1, 1) reads its flags one cycle late in the *generated RTL* (the monkeypatch
    approach of test_engines.py): its accumulator misses a product or adds a stale one."""
    require("yosys")
    from hdl.engines.systolic_os import SystolicOS
    true_delay = SystolicOS.delay
    monkeypatch.setattr(SystolicOS, "delay", lambda self, i, j: true_delay(self, i, j)
                        + (1 if (i, j) == (1, 1) else 0))
    with pytest.raises(EquivalenceFailed) as failure:
        prove_engine(engine("os2x2_planted_delay"),
                     build_root / "formal_engine" / "planted_delay", bound=14)
    message = str(failure.value)
    print(message)
    assert "Counterexample" in message and "fails in cycle" in message


def test_wrong_spec_is_refuted(build_root):
    """A spec that leaves out the product of beat 0 in lane 0 must not be provable."""
    require("yosys")
    with pytest.raises(EquivalenceFailed) as failure:
        prove_engine(engine(), build_root / "formal_engine" / "wrong_spec", bound=14,
                     spec_bug=True)
    message = str(failure.value)
    print(message)
    assert "ok_data fails" in message
