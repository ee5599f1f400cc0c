"""Formal equivalence of every grid configuration with the behavioural reference.

Each proof is unbounded (see :mod:`tpegen.formal`): it covers every input sequence, not
only the simulated ones. The issue asks for every configuration with operands of at most 8
bits; the algebraic engine is fast enough to take the 16-bit ones too.

The negative tests show that each engine can fail: a reference that reads an operand with the
other signedness (SAT engine), a full adder in the tree turned into an OR, a spec with the
wrong signedness, and a final adder that is off by one bit (algebra + adder lemmas). And
``tpegen prove`` proves the Verilog file a design ships with, not a fresh elaboration: a
change planted in that file is refuted by either engine.
"""

import re

import pytest

from testbenches.conftest import require
from tpegen.formal import EquivalenceFailed, prove, prove_equivalent, prove_spec
from testbenches.grid import MAC_GRID, config_id
from tpegen import api
from tpegen.config import MacConfig


@pytest.mark.parametrize("config", MAC_GRID, ids=config_id)
def test_equivalent_to_behavioural(config, build_root):
    require("yosys")
    report = prove(config, build_root / "formal" / config.name)
    print(f"{config.name}: {report}")


NEGATIVE = MacConfig(a_width=4, b_width=4, acc_width=12, mult="booth4", tree="dadda",
                     accumulate="carry_save")


@pytest.mark.parametrize("operand", ["a", "b"])
def test_sat_refutes_wrong_reference(operand, build_root):
    """A reference that reads one operand with the other signedness differs for negative
    operands: the proof must fail with a counterexample."""
    require("yosys")
    wrong = NEGATIVE.replace(mult="behavioural", accumulate="cpa",
                             **{f"{operand}_signed": False})
    with pytest.raises(EquivalenceFailed, match="equivalence proof failed"):
        prove_equivalent(NEGATIVE, build_root / "formal" / f"negative_{operand}",
                         reference=wrong)


def _mutated(config, tmp_path, pattern, replacement):
    vfile = api.generate(config, tmp_path / "good").with_suffix(".v")
    text = vfile.read_text()
    mutated, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, f"mutation {pattern!r} found nothing to change"
    out = tmp_path / "bad.v"
    out.write_text(mutated)
    return out


@pytest.mark.parametrize("mult", ["array", "booth4"])
def test_algebra_refutes_broken_tree(mult, tmp_path):
    require("yosys")
    config = MacConfig(mult=mult, tree="dadda", accumulate="carry_save")
    bad = _mutated(config, tmp_path, r"^(\s*assign \w+_fa\d+_s = .*?) \^ ", r"\1 | ")
    with pytest.raises(EquivalenceFailed, match=r"S' \+ C'.*Counterexample"):
        prove_spec(config, tmp_path / "proof", vfile=bad)


@pytest.mark.parametrize("random_check", [True, False], ids=["random", "rewriting"])
def test_algebra_refutes_wrong_signedness(random_check, tmp_path):
    """Refuted both by the random pre-check and by rewriting alone (whose residual
    polynomial names the counterexample)."""
    require("yosys")
    config = MacConfig(mult="booth4", tree="wallace", accumulate="cpa")
    vfile = api.generate(config.replace(b_signed=False, name=config.name), tmp_path)
    with pytest.raises(EquivalenceFailed, match="Counterexample") as failure:
        prove_spec(config, tmp_path / "proof", vfile=vfile.with_suffix(".v"),
                   random_check=random_check)
    assert ("random vector" in str(failure.value)) == random_check


def test_adder_lemma_refutes_broken_final_adder(tmp_path):
    require("yosys")
    config = MacConfig(mult="booth4", tree="dadda", accumulate="carry_save")
    bad = _mutated(config, tmp_path, r"^(\s*assign readout_sum = .*);", r"\1 ^ 32'd4;")
    with pytest.raises(EquivalenceFailed, match="final adder is not x \\+ y"):
        prove_spec(config, tmp_path / "proof", vfile=bad)


BEHAVIOURAL = MacConfig(mult="behavioural", accumulate="cpa")
BEHAVIOURAL_REGS = MacConfig(a_width=4, b_width=4, acc_width=12, mult="behavioural",
                             accumulate="cpa", input_reg=True, output_reg=True)


def _plant(vfile, pattern, replacement):
    text = vfile.read_text()
    planted, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, f"{pattern!r} found nothing to change"
    vfile.write_text(planted)


@pytest.mark.parametrize("config, pattern, replacement", [
    # the accumulator adds the product: make it subtract
    (BEHAVIOURAL, r"(acc_in \}\)) \+ ", r"\1 - "),
    # a flipped constant: clear restarts the accumulator from 1 instead of 0
    (BEHAVIOURAL_REGS, r"(assign acc_in = \w+ \? )12'h000", r"\g<1>12'h001"),
], ids=["plus_to_minus", "clear_constant"])
def test_prove_reads_the_shipped_verilog(config, pattern, replacement, tmp_path):
    """``api.prove`` (``tpegen prove``) on a behavioural design takes the SAT engine; it must
    prove the design's own Verilog file: unchanged it passes, with a planted change it fails."""
    require("yosys")
    design = api.generate(config, tmp_path / "design")
    assert api.prove(design, workdir=tmp_path / "good")["engine"] == "sat"
    _plant(design.with_suffix(".v"), pattern, replacement)
    with pytest.raises(EquivalenceFailed, match="equivalence proof failed"):
        api.prove(design, workdir=tmp_path / "bad")


def test_prove_reads_the_shipped_verilog_of_a_small_tree_design(tmp_path):
    """A <= 4-bit tree design is proved by the algebra engine and cross-checked by SAT; both
    read the shipped file (the planted OR in a full adder is refuted by the algebra)."""
    require("yosys")
    design = api.generate(NEGATIVE, tmp_path / "design")
    report = api.prove(design, workdir=tmp_path / "good")
    assert report["engine"] == "algebra" and "sat_cross_check_seconds" in report
    _plant(design.with_suffix(".v"), r"^(\s*assign \w+_fa\d+_s = .*?) \^ ", r"\1 | ")
    with pytest.raises(EquivalenceFailed, match="Counterexample"):
        api.prove(design, workdir=tmp_path / "bad")


def test_sat_engine_refutes_a_planted_change_in_a_tree_design(tmp_path):
    """The SAT engine alone (the cross-check) also reads the file it is given."""
    require("yosys")
    vfile = api.generate(NEGATIVE, tmp_path / "design").with_suffix(".v")
    prove_equivalent(NEGATIVE, tmp_path / "good", vfile=vfile)
    _plant(vfile, r"^(\s*assign \w+_fa\d+_s = .*?) \^ ", r"\1 | ")
    with pytest.raises(EquivalenceFailed, match="equivalence proof failed"):
        prove_equivalent(NEGATIVE, tmp_path / "bad", vfile=vfile)
