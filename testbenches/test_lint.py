"""Per-design lint waivers (:mod:`tpegen.lint`).

* every design of the grid lints clean under ``verilator --lint-only -Wall`` with only its own
  ``<top>.vlt`` beside it (no repo-wide waiver file), and its simulation build front end
  (``verilator -cc`` with the harness's options, no ``-Wall``) passes too;
* every waiver is scoped (``-file`` and ``-lines`` or an exact ``-match``) and preceded by a
  comment giving its reason;
* a planted truncation (a new ``assign t = a;`` into a narrower wire, or a narrowed
  declaration) still fails lint, whether the waivers come from the clean text or from the
  planted one;
* the waivers are derived from the text alone (no verilator at generate time), and cover
  Amaranth idioms the grid does not reach (bit_select, word_select, Switch, submodules, one
  design split over several files).
"""

import re
import subprocess

import pytest

from testbenches.conftest import require
from testbenches.grid import FP_GRID, MAC_GRID, PE_GRID, config_id
from tpegen import api, lint, tools

GRID = MAC_GRID + FP_GRID + PE_GRID
RULES = {"WIDTHEXPAND", "WIDTHTRUNC", "PROCASSINIT", "UNUSEDSIGNAL", "DECLFILENAME"}
WAIVER = re.compile(r'^lint_off -rule (\w+) -file "\*([^"]+)" '
                    r'(?:-lines (\d+)(?:-(\d+))?|-match "([^"]*)")$')


@pytest.fixture(scope="module")
def designs(build_root):
    """Every grid design generated once, with its waiver file written beside it."""
    out = {}
    for config in GRID:
        directory = build_root / "lint" / config.name
        api.generate(config, directory)
        vfile = directory / f"{config.name}.v"
        lint.write_waivers(vfile)
        out[config.name] = directory
    return out


def _vfile(directory):
    return directory / f"{directory.name}.v"


@pytest.mark.parametrize("config", GRID, ids=config_id)
def test_lint_clean_with_own_waivers(config, designs):
    require("verilator")
    result = lint.lint(designs[config.name])
    assert result.command[1:3] == ["--lint-only", "-Wall"]
    assert any(p.endswith(f"{config.name}.vlt") for p in result.command)
    assert result.ok and "%Warning" not in result.output, result.output[-4000:]


@pytest.mark.parametrize("config", GRID, ids=config_id)
def test_simulation_build_front_end(config, designs, tmp_path):
    """What the cocotb Verilator build runs (default warnings are fatal, no -Wall), with the
    per-design waiver file in place of the repo-wide one."""
    require("verilator")
    directory = designs[config.name]
    cmd = [tools.verilator(), "-cc", "-Mdir", str(tmp_path), "--top-module", config.name,
           "--vpi", "--public-flat-rw", "--prefix", "Vtop", "-O3", "--x-assign", "fast",
           "--x-initial", "fast", "--timescale", "1ns/1ps",
           str(directory / f"{config.name}.vlt"), str(_vfile(directory))]
    proc = subprocess.run(cmd, env=tools.verilator_env(), capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[-4000:]


@pytest.mark.parametrize("config", GRID, ids=config_id)
def test_waivers_scoped_and_commented(config, designs):
    directory = designs[config.name]
    lines = (directory / f"{config.name}.vlt").read_text().splitlines()
    assert lines[0] == "`verilator_config"
    waivers = [i for i, line in enumerate(lines) if line.startswith("lint_off")]
    assert waivers, "a generated design always has some Amaranth idiom to waive"
    for i in waivers:
        m = WAIVER.match(lines[i])
        assert m, f"unscoped or malformed waiver: {lines[i]}"
        rule, file, first, last, match = m.groups()
        assert rule in RULES, lines[i]
        assert file == f"{config.name}.v"
        assert first is not None or match is not None
        if match is not None:       # an exact message naming the signal: no wildcard,
            assert "?" not in match and "'" in match, lines[i]
            if "*" in match:        # but for one register idiom, grouped by name pattern
                assert rule in lint.GROUPED_RULES, lines[i]
                name = re.findall(r"'([^']*)'", match)[-1]
                assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.replace("*", "0")), name
                assert re.match(r"// \d+ signals '", lines[i - 1]), lines[i - 1]
        if last is not None:
            assert int(first) <= int(last)
        comment = lines[i - 1]
        assert comment.startswith("// ") and len(comment) > 20, \
            f"waiver without a reason: {lines[i]}"
    for line in lines:              # "// verilator ..." would be read as a metacomment
        assert not re.match(r"//\s*verilator", line, re.I), line


def _plant(text, new_lines):
    """Insert ``new_lines`` before the first ``endmodule``; returns the text and the number
    of the first inserted line."""
    lines = text.splitlines()
    at = lines.index("endmodule")
    return "\n".join(lines[:at] + new_lines + lines[at:]) + "\n", at + 1


def _input_port(text, min_width=8):
    for m in re.finditer(r"^\s*input \[(\d+):0\] (\w+);", text, re.M):
        if int(m.group(1)) + 1 >= min_width:
            return m.group(2), int(m.group(1)) + 1
    raise AssertionError("no wide input port")


def _lint_variant(tmp_path, name, clean_text, planted_text):
    """Lint ``planted_text`` with waivers from the clean text and with waivers regenerated
    from the planted text; returns the two outputs."""
    outputs = []
    for which, source in (("clean", clean_text), ("planted", planted_text)):
        directory = tmp_path / which
        directory.mkdir()
        (directory / f"{name}.v").write_text(planted_text)
        (directory / f"{name}.vlt").write_text(lint.waivers(source, f"{name}.v"))
        result = lint.lint(directory)
        assert not result.ok, f"planted bug passed lint ({which} waivers)"
        outputs.append(result.output)
    return outputs


PLANT_CONFIGS = [MAC_GRID[2], MAC_GRID[5], FP_GRID[0], FP_GRID[-1]]


@pytest.mark.parametrize("config", PLANT_CONFIGS, ids=config_id)
@pytest.mark.parametrize("expr", ["{port}", "{port} + 4'h1"], ids=["assign", "add"])
def test_planted_truncation_fails(config, expr, designs, tmp_path):
    """``assign t = a;`` / ``assign t = a + 4'h1;`` into a 4-bit ``t`` from an 8- or 16-bit
    input: the second looks like an Amaranth adder line, but its operand is wider than its
    result, which Amaranth never writes."""
    require("verilator")
    clean = _vfile(designs[config.name]).read_text()
    port, width = _input_port(clean)
    planted, line = _plant(clean, ["  wire [3:0] planted_t;",
                                   f"  assign planted_t = {expr.format(port=port)};"])
    for output in _lint_variant(tmp_path, config.name, clean, planted):
        print(output)
        assert re.search(rf"%Warning-WIDTHTRUNC: \S+\.v:{line + 1}:.*expects 4 bits.*"
                         rf"generates {width} bits", output), output
        # nor is the planted wire taken for an Amaranth name of another net
        assert "Signal is not used: 'planted_t'" in output


def _narrow(text, pattern):
    """Narrow the declaration of the left side of the first ``assign`` matching ``pattern``
    (a regex on its right side) to 2 bits; returns the new text and that line's number."""
    name = r"(\\\S+ |\w+)"       # yosys writes an escaped name with a space after it
    decls = {m.group(2): m for m in re.finditer(rf"^  wire \[(\d+):0\] {name};$", text, re.M)}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(rf"^  assign {name} = (.*);$", line)
        if m and re.search(pattern, m.group(2)) and m.group(1) in decls \
                and int(decls[m.group(1)].group(1)) >= 4:
            start, end = decls[m.group(1)].span(1)
            return text[:start] + "1" + text[end:], n
    raise AssertionError(f"no assign matching {pattern}")


NARROW = {"arithmetic": r"^[^?]* \+ [^?]*$",     # a line that has a WIDTHEXPAND waiver
          "mux": r"^[^?]+ \? [^:]+ : [^{]+$"}


#: designs that have an ``a + b`` line (the tree MACs add with gates only)
@pytest.mark.parametrize("config", [MAC_GRID[2], MAC_GRID[4], FP_GRID[0], FP_GRID[9]],
                         ids=config_id)
@pytest.mark.parametrize("kind", sorted(NARROW))
def test_narrowed_declaration_fails(config, kind, designs, tmp_path):
    require("verilator")
    pattern = NARROW[kind]
    clean = _vfile(designs[config.name]).read_text()
    planted, line = _narrow(clean, pattern)
    if kind == "arithmetic":        # the line's own WIDTHEXPAND waiver must not hide it
        assert f"-rule WIDTHEXPAND -file \"*{config.name}.v\" -lines {line}\n" in \
            lint.waivers(clean, f"{config.name}.v")
    for output in _lint_variant(tmp_path, config.name, clean, planted):
        assert re.search(rf"%Warning-WIDTHTRUNC: \S+\.v:{line}:", output), output


def test_waivers_need_no_verilator(designs, monkeypatch):
    """Generation must not need verilator: the waivers come from the text alone."""
    def refuse(*args, **kwargs):
        raise AssertionError("tpegen.lint.waivers ran a tool")
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(tools, "verilator", refuse)
    monkeypatch.setattr(tools, "verilator_env", refuse)
    directory = designs[MAC_GRID[0].name]
    text = lint.waivers(_vfile(directory).read_text(), _vfile(directory).name)
    assert text == (directory / f"{MAC_GRID[0].name}.vlt").read_text()


def test_lint_raises_tool_missing(tmp_path, monkeypatch):
    def missing(env=None):
        raise tools.ToolMissing("verilator")
    monkeypatch.setattr(tools, "verilator_env", missing)
    (tmp_path / "x.v").write_text("module x; endmodule\n")
    with pytest.raises(tools.ToolMissing):
        lint.lint(tmp_path)


def _idiom_zoo():
    """Amaranth constructs the grid does not reach, in one design with two submodules."""
    from amaranth import Const, Elaboratable, Module, Signal, signed
    from amaranth.back import verilog

    class Sub(Elaboratable):
        def __init__(self):
            self.i, self.o, self.s = Signal(8), Signal(9), Signal(signed(6))

        def elaborate(self, platform):
            m = Module()
            r = Signal(9, init=5)
            m.d.sync += r.eq(self.i + 1)
            m.d.comb += [self.o.eq(r), self.s.eq(self.i.as_signed() >> 2)]
            return m

    class Zoo(Elaboratable):
        def __init__(self):
            self.a, self.b, self.s, self.c = Signal(8), Signal(signed(8)), Signal(3), Signal(4)
            self.sel = Signal(2)
            widths = [12, 4, signed(10), 1, 16, 8, 2, 9, 20, 8, 1, 5, 6]
            self.outs = [Signal(w, name=f"o{i}") for i, w in enumerate(widths)]

        def elaborate(self, platform):
            m = Module()
            a, b, s, c, o = self.a, self.b, self.s, self.c, self.outs
            m.submodules.u = u = Sub()
            m.submodules.v = v = Sub()
            acc = Signal(16)
            m.d.sync += acc.eq(acc + a * c)
            with m.Switch(self.sel):
                with m.Case(0):
                    m.d.comb += o[11].eq(a[:5])
                with m.Case(1):
                    m.d.comb += o[11].eq(c)
                with m.Default():
                    m.d.comb += o[11].eq(0)
            with m.If(a == 0):
                m.d.comb += o[12].eq(b[2:])
            with m.Elif(a > 3):
                m.d.comb += o[12].eq(-b[:5])
            m.d.comb += [
                o[0].eq(a + b), o[1].eq(a.bit_select(s, 4)), o[2].eq(b >> s), o[3].eq(a < b),
                o[4].eq(a * c), o[5].eq(a.word_select(s[:1], 4)),
                o[6].eq(a.as_signed().bit_select(s, 1)), o[7].eq(-b),
                o[8].eq(Const(0xfff, 12) << s), o[9].eq(acc[4:12] - c),
                o[10].eq((a ^ b.as_unsigned()).any() & (a != 7)),
                u.i.eq(a), v.i.eq(u.o[:8]),
            ]
            return m

    zoo = Zoo()
    return verilog.convert(zoo, ports=[zoo.a, zoo.b, zoo.s, zoo.c, zoo.sel, *zoo.outs],
                           emit_src=False, name="zoo")


def test_amaranth_idioms_one_file(tmp_path):
    require("verilator")
    text = _idiom_zoo()
    (tmp_path / "zoo.v").write_text(text)
    lint.write_waivers(tmp_path / "zoo.v")
    vlt = (tmp_path / "zoo.vlt").read_text()
    for rule in ("WIDTHTRUNC", "DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL"):
        assert f"-rule {rule} " in vlt
    result = lint.lint(tmp_path)
    assert result.ok, result.output[-4000:]


def test_amaranth_idioms_several_files(tmp_path):
    """A top-level whose submodules sit in another file: one -Wall run over both files."""
    require("verilator")
    text = _idiom_zoo()
    cut = text.index("endmodule") + len("endmodule\n")
    files = {"zoo.v": text[:cut], "zoo.u.v": text[cut:]}
    for name, part in files.items():
        (tmp_path / name).write_text(part)
    for name in files:
        lint.write_waivers(tmp_path / name, others=[tmp_path / n for n in files if n != name])
    result = lint.lint(tmp_path, top="zoo")
    assert ["--top-module", "zoo"] == result.command[3:5]
    assert sum(p.endswith(".v") for p in result.command) == 2
    assert result.ok, result.output[-4000:]


def _engines():
    from tpegen.config import (ARCHITECTURES, BitSerialConfig, EngineConfig, FMacConfig,
                               MacConfig, MixPeConfig)
    out = []
    for arch in ARCHITECTURES:
        out.append(EngineConfig(arch=arch, rows=3, cols=2, debug=True))
        out.append(EngineConfig(arch=arch, rows=2, cols=2, pe=FMacConfig(fmt_in="bf16")))
        out.append(EngineConfig(arch=arch, rows=1, cols=1,
                                pe=MacConfig(input_reg=True, output_reg=True)))
    # the mixed-precision PEs an engine ties inputs of (at the cell's instances)
    out.append(EngineConfig(rows=2, cols=2, pe=MixPeConfig(group=4)))
    out.append(EngineConfig(arch="matrix2d", rows=2, cols=2,
                            pe=BitSerialConfig(lanes=1, group=4, engine_dtype="er")))
    return out


@pytest.mark.parametrize("config", _engines(), ids=lambda c: c.name)
def test_engine_lints_clean_as_shipped(config, build_root):
    """Every engine architecture, with integer and FP PEs, with and without the state
    readout: ``verilator --lint-only -Wall`` on its shipped files (the top and the PE cell,
    each with its own waiver file) is clean."""
    require("verilator")
    design = api.generate(config, build_root / "lint" / "engines" / config.name)
    result = api.lint(design)
    assert result.ok, result.output
