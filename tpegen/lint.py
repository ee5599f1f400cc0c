"""Lint waivers shipped beside each generated design, and the ``-Wall`` lint run over them.

``verilator --lint-only -Wall`` on Amaranth's Verilog reports four kinds of warning that come
from how Amaranth (0.5, through yosys ``write_verilog``) writes a netlist, not from design
defects. :func:`waivers` reads one generated Verilog file and writes a Verilator configuration
file (``<top>.vlt``) that waives exactly those warnings, each one scoped to its line
(``-lines``) or to its exact message naming the signal (``-match``), and each preceded by a
``//`` comment giving the reason. No rule is waived file-wide, and verilator is not run: the
waivers are derived from the text alone, by recognising the idioms below.

Rules emitted (one waiver per occurrence):

* ``WIDTHEXPAND -lines N``: line N is one yosys cell, ``Y = A op B`` (``+ - *``, a shift, a
  compare, unary ``-``), whose operand is narrower than its context. Amaranth's netlist gives
  these operators operands of the full result width (compares: of a common width); its RTLIL
  backend trims redundant sign or zero bits off the operands (``shorten_operand``), and
  Verilog's implicit extension (sign extension when both operands are ``$signed``, zero
  otherwise) restores exactly those bits. Waived only when no operand is wider than the result
  (so nothing is truncated) and both operands have the same signedness. Bitwise operators and
  muxes keep full-width operands in Amaranth's output, so a width mismatch there is never
  waived.
* ``WIDTHTRUNC -lines N``: ``Y = ! A`` with a 1-bit ``Y``: Amaranth's ``A == 0`` comes out of
  yosys as a logical not of the whole vector; or ``Y = A >> B`` with ``Y`` narrower than ``A``:
  Amaranth's variable bit-select (``Value.bit_select``/``word_select``, a ``$shift`` cell)
  shifts the whole value and keeps the low bits.
* ``PROCASSINIT -match "...: 'x'"``: Amaranth declares each register with its init value
  (``reg [31:0] x = 32'd0;``) and assigns it in an ``always`` block.
* ``UNUSEDSIGNAL -match "...: 'x'[h:l]"``: with the exact signal and bit range, for a wire
  whose readers take only some bits (Amaranth computes an operator at its full width and
  narrows it by slicing: the carry out of ``a + b``, the top of a shift), for a wire that only
  names another net or a constant of its own width (Amaranth keeps the name for waveforms but
  connects readers to the source net), for an operator, register or submodule output nothing
  reads (Amaranth does no dead-logic removal; the compressor carries out of a tree's top
  column are the named case). The signal's drivers must themselves be Amaranth-shaped (see
  below); an unused input port or an undriven wire is never waived.
* ``DECLFILENAME -match``: a submodule that Amaranth writes into its top-level's file, or
  names after its hierarchical path (``top.sub``), which no file name can match.

Anything else (a plain ``assign t = a;`` between different widths, a mux, bitwise operator or
concatenation of the wrong width, an operand wider than its result) gets no waiver, so a real
truncation or extension still fails lint. Waiving by line means a waiver file belongs to
exactly the Verilog text it was derived from: regenerate both together.

Line waivers are emitted for every line that relies on an implicit extension, including
lines where Verilator 5.048 stays quiet (it lets an adder grow by one carry bit, a product
to the sum of its operand widths), so the file does not depend on those heuristics.

:func:`lint` runs ``verilator --lint-only -Wall <dir>/*.vlt <dir>/*.v`` (the files a user
ships) under :func:`tpegen.tools.verilator_env`.
"""

import dataclasses
import re
import subprocess
from pathlib import Path

from . import tools
from .manifest import write_if_changed

__all__ = ["Waiver", "LintResult", "analyze", "waivers", "write_waivers", "lint"]


@dataclasses.dataclass(frozen=True)
class Waiver:
    """One ``lint_off``: a rule, its scope (``lines`` or the exact ``match`` message), why."""
    rule: str
    reason: str
    lines: tuple = None      # (first, last)
    match: str = None

    def render(self, filename):
        scope = (f'-lines {self.lines[0]}' if self.lines[0] == self.lines[1]
                 else f'-lines {self.lines[0]}-{self.lines[1]}') if self.lines else \
            f'-match "{self.match}"'
        # a comment that starts with the word "verilator" would be read as a metacomment
        reason = re.sub(r"^(?i:verilator)", "Verilator's", self.reason)
        return f'// {reason}\nlint_off -rule {self.rule} -file "*{filename}" {scope}'


@dataclasses.dataclass
class LintResult:
    ok: bool
    command: list
    output: str

    def __bool__(self):
        return self.ok


# --- tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<esc>\\\S+)
  | (?P<num>\d*'[sS]?[bBoOdDhH][0-9a-fA-FxXzZ?_]+|\d+)
  | (?P<sys>\$[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<id>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<str>"[^"]*")
  | (?P<op><<<|>>>|===|!==|<<|>>|<=|>=|==|!=|&&|\|\||~&|~\||~\^|\^~|\+:|-:
           |[-+*/%&|^~!<>?:(){}\[\],=;@#.])
""", re.X)

_KEYWORDS = {"module", "endmodule", "input", "output", "inout", "wire", "reg", "assign",
             "always", "posedge", "negedge", "or", "begin", "end", "if", "else", "case",
             "casez", "casex", "endcase", "default", "initial", "signed", "integer"}


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str
    text: str

    @property
    def name(self):
        return self.text[1:] if self.kind == "esc" else self.text


def _tokens(text):
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:               # a character outside Amaranth's Verilog: stop here
            out.append(_Tok("bad", text[pos:]))
            break
        pos = m.end()
        if m.lastgroup != "ws":
            out.append(_Tok(m.lastgroup, m.group()))
    return out


def _is_name(tok):
    return tok.kind == "esc" or (tok.kind == "id" and tok.text not in _KEYWORDS)


def _const_width(text):
    if "'" in text:
        size = text.split("'")[0]
        return int(size) if size else 32
    return 32


def _uint(tok):
    return int(tok.text) if tok.kind == "num" and tok.text.isdigit() else None


def _select(toks, i):
    """A constant select ``[h:l]`` / ``[b]`` at ``toks[i]``: ``((hi, lo), next_i)`` or None."""
    if i < len(toks) and toks[i].text == "[":
        a = _uint(toks[i + 1]) if i + 1 < len(toks) else None
        if a is not None and i + 2 < len(toks):
            if toks[i + 2].text == "]":
                return (a, a), i + 3
            if toks[i + 2].text == ":" and i + 4 < len(toks) and toks[i + 4].text == "]":
                b = _uint(toks[i + 3])
                if b is not None:
                    return (max(a, b), min(a, b)), i + 5
    return None


# --- expressions (the shapes yosys write_verilog prints) ---------------------------------

@dataclasses.dataclass
class _E:
    kind: str                  # ref, const, cat, repl, signed, unsigned, un, bin, tern
    op: str = None
    args: tuple = ()
    name: str = None
    sel: tuple = None          # (hi, lo) of a ref, or None for the whole signal
    width: int = None          # a constant's width; a replication's count


_BINARY_PREC = [("||",), ("&&",), ("|",), ("^", "~^", "^~"), ("&",), ("==", "!=", "===", "!=="),
                ("<", "<=", ">", ">="), ("<<", ">>", "<<<", ">>>"), ("+", "-"), ("*", "/", "%")]
_UNARY = {"~", "!", "-", "+", "&", "|", "^", "~&", "~|", "~^", "^~"}


class _ParseError(Exception):
    pass


class _Parser:
    def __init__(self, toks):
        self.toks, self.i = toks, 0

    def peek(self):
        return self.toks[self.i].text if self.i < len(self.toks) else None

    def take(self, text=None):
        if self.i >= len(self.toks) or (text is not None and self.toks[self.i].text != text):
            raise _ParseError(text)
        self.i += 1
        return self.toks[self.i - 1]

    def parse(self):
        e = self.expr()
        if self.i != len(self.toks):
            raise _ParseError("trailing tokens")
        return e

    def expr(self):
        c = self.binary(0)
        if self.peek() == "?":
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            return _E("tern", args=(c, a, b))
        return c

    def binary(self, level):
        if level == len(_BINARY_PREC):
            return self.unary()
        e = self.binary(level + 1)
        while self.peek() in _BINARY_PREC[level]:
            op = self.take().text
            e = _E("bin", op=op, args=(e, self.binary(level + 1)))
        return e

    def unary(self):
        if self.peek() in _UNARY:
            op = self.take().text
            return _E("un", op=op, args=(self.unary(),))
        return self.primary()

    def primary(self):
        tok = self.take()
        if tok.text == "(":
            e = self.expr()
            self.take(")")
            return e
        if tok.text == "{":
            if self.i + 1 < len(self.toks) and _uint(self.toks[self.i]) is not None \
                    and self.toks[self.i + 1].text == "{":
                n = int(self.take().text)
                self.take("{")
                items = self.items()
                self.take("}")
                self.take("}")
                return _E("repl", args=tuple(items), width=n)
            items = self.items()
            self.take("}")
            return _E("cat", args=tuple(items))
        if tok.kind == "sys" and tok.text in ("$signed", "$unsigned"):
            self.take("(")
            e = self.expr()
            self.take(")")
            return _E(tok.text[1:], args=(e,))
        if tok.kind == "num":
            return _E("const", width=_const_width(tok.text))
        if _is_name(tok):
            sel = _select(self.toks, self.i)
            if sel is not None:
                self.i = sel[1]
                return _E("ref", name=tok.name, sel=sel[0])
            if self.peek() == "[":
                raise _ParseError("variable select")
            return _E("ref", name=tok.name)
        raise _ParseError(tok.text)

    def items(self):
        items = [self.expr()]
        while self.peek() == ",":
            self.take(",")
            items.append(self.expr())
        return items


def _width(e, decls):
    """Self-determined width of an expression (None when a signal is unknown)."""
    k = e.kind
    if k == "const":
        return e.width
    if k == "ref":
        if e.sel is not None:
            return e.sel[0] - e.sel[1] + 1
        return decls[e.name].width if e.name in decls else None
    if k in ("cat", "repl"):
        ws = [_width(a, decls) for a in e.args]
        if None in ws:
            return None
        return sum(ws) * (e.width if k == "repl" else 1)
    if k in ("signed", "unsigned"):
        return _width(e.args[0], decls)
    if k == "un":
        return _width(e.args[0], decls) if e.op in ("~", "-", "+") else 1
    if k == "bin":
        if e.op in ("==", "!=", "===", "!==", "<", "<=", ">", ">=", "&&", "||"):
            return 1
        wa = _width(e.args[0], decls)
        if e.op in ("<<", ">>", "<<<", ">>>"):
            return wa
        wb = _width(e.args[1], decls)
        return None if None in (wa, wb) else max(wa, wb)
    if k == "tern":
        wa, wb = _width(e.args[1], decls), _width(e.args[2], decls)
        return None if None in (wa, wb) else max(wa, wb)
    return None


def _is_leaf(e):
    """An operand as yosys prints it: a signal, a select, a constant or a concatenation of
    those, possibly inside ``$signed(...)``."""
    if e.kind == "signed":
        e = e.args[0]
    if e.kind in ("ref", "const"):
        return True
    return e.kind in ("cat", "repl") and all(_is_leaf(a) and a.kind != "signed"
                                             for a in e.args)


def _src(text, limit=90):
    text = " ".join(text.split()).replace("\\", "")
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- module structure ---------------------------------------------------------------------

@dataclasses.dataclass
class _Decl:
    name: str
    width: int
    lsb: int
    line: int
    kinds: set
    init: bool = False


@dataclasses.dataclass
class _Module:
    name: str
    line: int
    ports: list
    decls: dict = dataclasses.field(default_factory=dict)
    # (line, lhs tokens, rhs tokens, context "assign" or "always", source line)
    assigns: list = dataclasses.field(default_factory=list)
    reads: list = dataclasses.field(default_factory=list)   # (name, (hi, lo) or None, line)
    instances: list = dataclasses.field(default_factory=list)


_DECL = re.compile(r"^\s*(input|output|inout|wire|reg)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?"
                   r"(\\\S+|[A-Za-z_][A-Za-z0-9_$]*)\s*(=\s*[^;]+)?;\s*$")
_ATTR = re.compile(r"\(\*.*?\*\)")


def _split_assign(toks):
    """``(lhs, rhs)`` of ``lhs = rhs ;`` / ``lhs <= rhs ;`` (the first top-level ``=``/``<=``)."""
    depth = 0
    for i, tok in enumerate(toks):
        if tok.text in ("(", "[", "{"):
            depth += 1
        elif tok.text in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and tok.text in ("=", "<="):
            rhs = toks[i + 1:]
            if rhs and rhs[-1].text == ";":
                rhs = rhs[:-1]
            return toks[:i], rhs
    return None


def _refs(toks):
    """Signals named in ``toks``: ``(name, (hi, lo) or None)`` for each reference."""
    out, i = [], 0
    while i < len(toks):
        tok = toks[i]
        if _is_name(tok) and not (i > 0 and toks[i - 1].text == "."):
            sel = _select(toks, i + 1)
            if sel is not None:
                out.append((tok.name, sel[0]))
                i = sel[1]
                continue
            out.append((tok.name, None))
        i += 1
    return out


def _parse_modules(text):
    modules, mod, item = [], None, None
    for n, raw in enumerate(text.splitlines(), 1):
        line = _ATTR.sub("", raw)
        stripped = line.strip()
        if not stripped or stripped.startswith("/*") or stripped.startswith("//"):
            continue
        indent = len(line) - len(line.lstrip())
        toks = _tokens(stripped)
        if toks[0].text == "module":
            ports = [t.name for t in toks[2:] if _is_name(t)]
            mod = _Module(toks[1].name, n, ports)
            modules.append(mod)
            item = None
            continue
        if mod is None:
            continue
        if toks[0].text == "endmodule":
            mod, item = None, None
            continue
        m = _DECL.match(line)
        if m:
            kind, hi, lo, name, init = m.groups()
            name = name[1:] if name.startswith("\\") else name
            width = abs(int(hi) - int(lo)) + 1 if hi is not None else 1
            decl = mod.decls.get(name)
            if decl is None:
                decl = mod.decls[name] = _Decl(name, width, int(lo or 0), n, set())
            decl.kinds.add(kind)
            if kind == "reg":
                decl.line = n
                decl.init = init is not None
            continue
        if indent <= 2:
            item = None
            if toks[0].text == "assign":
                split = _split_assign(toks[1:])
                if split:
                    mod.assigns.append((n, split[0], split[1], "assign", stripped))
                    mod.reads += [(r, s, n) for r, s in _refs(split[1])]
                    continue
            elif toks[0].text in ("always", "initial"):
                item = "always"
                mod.reads += [(r, s, n) for r, s in _refs(toks[1:])]
                continue
            elif _is_name(toks[0]) and len(toks) >= 3 and _is_name(toks[1]) \
                    and toks[2].text == "(":
                item = ("inst", toks[0].name, toks[1].name)
                mod.instances.append((n, toks[0].name, toks[1].name, []))
                continue
            # anything else (a line this reader does not know): every name in it is a read
            mod.reads += [(r, s, n) for r, s in _refs(toks)]
            continue
        if isinstance(item, tuple):                    # .port(expr) of an instance
            if len(toks) >= 3 and toks[0].text == "." and _is_name(toks[1]):
                close = max(i for i, t in enumerate(toks) if t.text == ")")
                mod.instances[-1][3].append((n, toks[1].name, toks[3:close]))
            continue
        split = _split_assign(toks) if item == "always" else None
        if split and toks[0].text not in ("if", "case", "casez", "casex"):
            mod.assigns.append((n, split[0], split[1], "always", stripped))
            mod.reads += [(r, s, n) for r, s in _refs(split[1])]
        else:
            mod.reads += [(r, s, n) for r, s in _refs(toks)]
    return modules


# --- rules --------------------------------------------------------------------------------

def _sign(e):
    return e.kind == "signed"


def _cell_verdict(e, wy, decls, text):
    """Judge ``Y = e`` (``Y`` of ``wy`` bits) against the widths Amaranth writes.

    Returns ``()`` when nothing is implicitly extended or truncated, ``(rule, reason)`` when
    the width change is one of Amaranth's idioms (see the module docstring), and None when
    the line is not something Amaranth writes (then it is never waived)."""
    if _is_leaf(e) and e.kind != "signed":          # a plain net: widths must agree
        return () if _width(e, decls) == wy else None
    if e.kind == "tern":                            # a mux: every width equal
        c, a, b = e.args
        if not all(_is_leaf(x) for x in e.args):
            return None
        ws = (_width(c, decls), _width(a, decls), _width(b, decls))
        return () if ws == (1, wy, wy) else None
    if e.kind not in ("un", "bin") or not all(_is_leaf(x) for x in e.args):
        return None
    if e.kind == "un":
        wa = _width(e.args[0], decls)
        if wa is None:
            return None
        if e.op in ("&", "|", "^", "~&", "~|", "~^", "^~"):
            return () if wy == 1 else None
        if e.op == "!":
            if wy != 1:
                return None
            return () if wa == 1 else (
                "WIDTHTRUNC", f"`{text}` is how Amaranth's `x == 0` comes out of yosys: a "
                f"logical not of the whole {wa}-bit value, 1-bit result; no bit is dropped")
        if e.op == "~":
            return () if wa == wy else None
        if e.op == "-" and wa <= wy:
            ext = "sign" if _sign(e.args[0]) else "zero"
            return () if wa == wy else (
                "WIDTHEXPAND", f"`{text}`: Amaranth trims redundant {ext} bits off the "
                f"operand ({wa} of {wy} bits kept); Verilog's implicit {ext} extension "
                f"restores them")
        return None
    a, b = e.args
    wa, wb = _width(a, decls), _width(b, decls)
    if None in (wa, wb):
        return None
    op = e.op
    if op in ("<<", ">>", "<<<", ">>>"):
        if op in ("<<<", ">>>") and not _sign(a):
            return None
        ext = "sign" if _sign(a) else "zero"
        if wa == wy:
            return ()
        if wa < wy:
            return ("WIDTHEXPAND", f"`{text}`: the shift result has Amaranth's full width "
                    f"({wy} bits); the operand was trimmed to {wa} bits and Verilog's implicit "
                    f"{ext} extension restores it")
        if op == ">>" and not _sign(b):
            return ("WIDTHTRUNC", f"`{text}` is Amaranth's variable bit-select (bit_select/"
                    f"word_select, a $shift cell): shift the {wa}-bit value, keep its low {wy} "
                    f"bits")
        return None
    if _sign(a) != _sign(b):
        return None                 # Verilog would treat both as unsigned: not Amaranth
    ext = "sign" if _sign(a) else "zero"
    if op in ("==", "!=", "<", "<=", ">", ">="):
        if wy != 1:
            return None
        return () if wa == wb else (
            "WIDTHEXPAND", f"`{text}`: Amaranth compares operands of one width and trims their "
            f"redundant {ext} bits ({wa} and {wb} bits kept); Verilog's implicit {ext} "
            f"extension to the common width restores them")
    if op in ("+", "-", "*"):
        if wa > wy or wb > wy:
            return None
        return () if wa == wb == wy else (
            "WIDTHEXPAND", f"`{text}`: Amaranth computes {op} at the full {wy}-bit result "
            f"width and trims redundant {ext} bits off the operands ({wa} and {wb} bits kept); "
            f"Verilog's implicit {ext} extension restores them")
    if op in ("&", "|", "^", "~^", "^~"):   # bitwise: Amaranth keeps full-width operands
        return () if wa == wb == wy else None
    return None


def _target_width(lhs, decls):
    """Width of an assignment's left side: a signal, a select of it, or a concatenation."""
    try:
        target = _Parser(lhs).parse()
    except (_ParseError, IndexError):
        return None
    if target.kind not in ("ref", "cat") or (target.kind == "cat" and not all(
            a.kind == "ref" for a in target.args)):
        return None
    return _width(target, decls)


def _width_waivers(mod):
    out = []
    for line, lhs, rhs, ctx, src in mod.assigns:
        if ctx != "assign":
            continue
        wy = _target_width(lhs, mod.decls)
        if wy is None:
            continue
        try:
            e = _Parser(rhs).parse()
        except (_ParseError, IndexError):
            continue
        verdict = _cell_verdict(e, wy, mod.decls, _src(src.removeprefix("assign")))
        if verdict:
            out.append(Waiver(verdict[0], f"line {line}: {verdict[1]}", lines=(line, line)))
    return out


def _procassinit_waivers(mod):
    written = {}
    for line, lhs, rhs, ctx, src in mod.assigns:
        if ctx == "always":
            for name, _ in _refs(lhs):
                written.setdefault(name, line)
    out = []
    for decl in mod.decls.values():
        if decl.init and "reg" in decl.kinds and decl.name in written:
            out.append(Waiver("PROCASSINIT", f"'{decl.name}' (line {decl.line}): Amaranth "
                              f"declares a register with its init value as the initializer "
                              f"and assigns it in an always block (line "
                              f"{written[decl.name]}); both come from the same Signal(init=)",
                              match="Procedural assignment to declaration with initial value: "
                                    f"'{decl.name}'"))
    return out


def _ranges(bits):
    """Verilator's notation of a set of bit indices: ``14:8,6:0`` (descending)."""
    bits = sorted(bits, reverse=True)
    parts, start = [], None
    for i, b in enumerate(bits):
        if start is None:
            start = b
        if i + 1 == len(bits) or bits[i + 1] != b - 1:
            parts.append(f"{start}:{b}" if start != b else f"{b}")
            start = None
    return ",".join(parts)


def _unused_waivers(mod, ports_of):
    used = {name: set() for name in mod.decls}
    readers = {name: [] for name in mod.decls}

    def read(name, sel, line):
        if name not in used:
            return
        decl = mod.decls[name]
        if sel is None:
            used[name].update(range(decl.lsb, decl.lsb + decl.width))
        else:
            used[name].update(range(sel[1], sel[0] + 1))
        readers[name].append((sel, line))

    for name, sel, line in mod.reads:
        read(name, sel, line)
    drivers = {}
    for line, lhs, rhs, ctx, src in mod.assigns:
        for name, _ in _refs(lhs):
            drivers.setdefault(name, []).append((ctx, rhs, src))
    for line, cell, inst, conns in mod.instances:
        directions = ports_of.get(cell)
        for _, port, expr in conns:
            kind = directions.get(port) if directions else None
            if kind != "output":        # an input, or unknown: count it as read
                for name, sel in _refs(expr):
                    read(name, sel, line)
            if kind != "input":
                for name, _ in _refs(expr):
                    drivers.setdefault(name, []).append(("inst", expr, f"{inst}.{port}"))
    out = []
    for name, decl in mod.decls.items():
        if "output" in decl.kinds or "inout" in decl.kinds:
            continue
        all_bits = set(range(decl.lsb, decl.lsb + decl.width))
        unused = all_bits - used[name]
        if not unused:
            continue
        drv = drivers.get(name, [])
        if "input" in decl.kinds or not drv:
            # an input the logic ignores, or a wire nothing drives either: Amaranth writes
            # neither (it adds clk/rst only for a domain in use), so leave them loud
            continue
        if not all(_amaranth_driver(d, mod.decls) for d in drv):
            continue                    # e.g. a plain assign between widths: leave it loud
        what = _driver_text(drv)
        if unused == all_bits:
            message = f"Signal is not used: '{name}'"
            if _only_nets(drv, mod.decls):
                const = all(_is_const_tokens(rhs) for _, rhs, _ in drv)
                kind, source = ("a constant", "constant") if const else \
                    ("a name for another net", "source net")
                reason = (f"'{name}' ({what}) is {kind}: Amaranth keeps a wire for every "
                          f"named or computed value but connects its readers to the {source} "
                          f"itself, so this wire is never read")
            elif _CELL_CARRY.search(name):
                reason = (f"'{name}' ({what}) is a compressor-cell carry (hdl/arith naming) "
                          f"that nothing reads: a carry out of the top column of the tree has "
                          f"weight 2**W and is dropped (modulo 2**W arithmetic); Amaranth "
                          f"emits it anyway")
            elif all(ctx == "inst" for ctx, _, _ in drv):
                reason = (f"'{name}' ({what}) is a submodule output that this module does not "
                          f"read; Amaranth connects every port of an instance")
            elif any(ctx == "always" for ctx, _, _ in drv):
                reason = (f"'{name}' (line {decl.line}) is a register or process output that "
                          f"nothing reads; Amaranth does no dead-logic removal (synthesis "
                          f"removes it)")
            elif all(ctx == "assign" for ctx, _, _ in drv):
                reason = (f"'{name}' ({what}) is an operator of the elaborated design that "
                          f"nothing reads; Amaranth emits every operator without dead-logic "
                          f"removal (synthesis removes it)")
            else:
                continue
        else:
            message = f"Bits of signal are not used: '{name}'[{_ranges(unused)}]"
            reason = (f"'{name}' ({decl.width} bits, {what}): readers take only bits "
                      f"[{_ranges(used[name])}]; {_partial_reason(drv)}; bits "
                      f"[{_ranges(unused)}] are never read")
        out.append(Waiver("UNUSEDSIGNAL", reason, match=message))
    return out


_CELL_CARRY = re.compile(r"_(ha|fa|c42)\d+_(c|co)$")


def _partial_reason(drivers):
    """Why a value is wider than what its readers take, from the operator that drives it."""
    e = None
    if len(drivers) == 1 and drivers[0][0] == "assign":
        try:
            e = _Parser(drivers[0][1]).parse()
        except (_ParseError, IndexError):
            e = None
    op = e.op if e is not None and e.kind == "bin" else (e.kind if e is not None else None)
    return {
        "+": "Amaranth's a + b / a - b is one bit wider than its widest operand and the design "
             "narrows it by slicing (the carry out is dropped: modulo arithmetic)",
        "-": "Amaranth's a + b / a - b is one bit wider than its widest operand and the design "
             "narrows it by slicing (the carry out is dropped: modulo arithmetic)",
        "*": "Amaranth's a * b is as wide as both operands together and the design narrows it "
             "by slicing",
        "<<": "Amaranth sizes a variable left shift for every shift amount (width + "
              "2**amount_bits - 1) and the design keeps the low bits by slicing",
        ">>": "the design reads only the kept bits of a right shift (rounding: kept bits, "
              "guard and sticky)",
        "tern": "Amaranth builds the multiplexer at the full width of its operands and the "
                "design slices the part it needs",
        "cat": "Amaranth builds the concatenated value whole and its readers slice the fields "
               "they need",
        "ref": "the wire names a wider value of which readers slice the part they need",
    }.get(op, "Amaranth computes the value at its full width and its readers slice the part "
              "they need")


def _is_const_tokens(toks):
    return all(t.kind == "num" or t.text in ("{", "}", ",") for t in toks)


def _amaranth_driver(driver, decls):
    """A driver as Amaranth writes one: a process or an instance, or an ``assign`` whose
    widths :func:`_cell_verdict` accepts (a plain net of the same width, or one operator)."""
    ctx, rhs, src = driver
    if ctx != "assign":
        return True
    split = _split_assign(_tokens(src)[1:])
    wy = _target_width(split[0], decls) if split else None
    try:
        e = _Parser(rhs).parse()
    except (_ParseError, IndexError):
        return False
    return wy is not None and _cell_verdict(e, wy, decls, "") is not None


def _only_nets(drivers, decls):
    """Every driver is a plain net (a signal, a select, a constant or a concatenation of
    those) of the width it drives: Amaranth's name for another net or for a constant."""
    for ctx, rhs, src in drivers:
        if ctx != "assign" or not _amaranth_driver((ctx, rhs, src), decls):
            return False
        try:
            e = _Parser(rhs).parse()
        except (_ParseError, IndexError):
            return False
        if not _is_leaf(e) or e.kind == "signed":
            return False
    return True


def _driver_text(drivers):
    if not drivers:
        return "an input"
    ctx, rhs, src = drivers[0]
    if ctx == "assign":
        text = _src(src.removeprefix("assign"), 70)
    elif ctx == "always":
        text = "assigned in an always block"
    else:
        text = f"driven by {src}"
    return text + (f", +{len(drivers) - 1} more" if len(drivers) > 1 else "")


def analyze(verilog_text, filename=None, *, others=()):
    """The :class:`Waiver` list for one generated Verilog file (see the module docstring).

    ``others``: texts of the design's other Verilog files, read only for the port directions
    of the modules they define (a submodule instantiated here but written elsewhere)."""
    modules = _parse_modules(verilog_text)
    ports_of = {}
    for m in [m for text in others for m in _parse_modules(text)] + modules:
        ports_of[m.name] = {name: next((k for k in ("input", "output", "inout")
                                        if k in m.decls[name].kinds), None)
                            for name in m.ports if name in m.decls}
    # Verilator compares a module's name with the file name up to its first dot
    stem = Path(filename).name.split(".")[0] if filename else None
    out = []
    for mod in modules:
        if stem is not None and mod.name != stem and (mod is not modules[0] or "." in mod.name):
            where = ("another module of the design, which Amaranth writes into one file "
                     f"with '{modules[0].name}'" if mod is not modules[0] else
                     "named by Amaranth after its hierarchical path, which a file name cannot "
                     "carry (Verilator compares the name up to the first dot)")
            out.append(Waiver("DECLFILENAME", f"module '{mod.name}' (line {mod.line}) is "
                              + where, match=f"Filename '{stem}' does not match MODULE name: "
                                             f"'{mod.name}'"))
        out += _width_waivers(mod) + _procassinit_waivers(mod) + _unused_waivers(mod, ports_of)
    return out


def waivers(verilog_text, filename, *, others=()):
    """Content of the Verilator configuration file (``<top>.vlt``) for one generated Verilog
    file named ``filename`` (its base name: every waiver is scoped to ``-file "*<filename>"``).
    ``others``: the texts of the design's other Verilog files, if it has several (their
    modules' port directions tell which instance connections are read).
    """
    filename = Path(filename).name
    found = _grouped(analyze(verilog_text, filename, others=others))
    counts = {}
    for w in found:
        counts[w.rule] = counts.get(w.rule, 0) + 1
    head = ["`verilator_config",
            f"// Lint waivers for {filename}, derived from its text by tpegen.lint.",
            "// Each waiver covers one line (-lines) or one exact message naming the signal "
            "(-match),",
            "// after a comment saying which Amaranth idiom causes it; nothing is waived "
            "file-wide.",
            f"// Use: verilator --lint-only -Wall {Path(filename).stem}.vlt {filename}",
            "// Waivers: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                              or "none"), ""]
    return "\n".join(head + [w.render(filename) for w in found]) + "\n"


_QUOTED = re.compile(r"'([^']*)'")


#: rules whose per-signal waivers are grouped by name pattern: only Amaranth's register
#: declaration idiom, which every register of an engine repeats; every other waiver stays
#: exact, one signal each
GROUPED_RULES = ("PROCASSINIT",)


def _grouped(found, least=3):
    """PROCASSINIT waivers (:data:`GROUPED_RULES`) that differ only in the digits of the
    register they name (the registers of an array of PEs: ``a_0_0`` ... ``a_31_31``) become
    one waiver whose message has ``*`` for each run of digits, when at least ``least`` share
    it; the comment names how many registers, the first and the last, and the first one's
    reason. A 32x32 engine then has a waiver file of a few dozen lines, not thousands."""
    groups, order = {}, []
    for w in found:
        key = None
        if w.match is not None and w.rule in GROUPED_RULES:
            names = _QUOTED.findall(w.match)
            if names and re.search(r"\d", names[-1]) and not names[-1].startswith("$"):
                pattern = _QUOTED.sub(lambda m: "'" + re.sub(r"\d+", "*", m.group(1)) + "'",
                                      w.match)
                key = (w.rule, pattern)
        if key is None:
            order.append(w)
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(w)
    out = []
    for item in order:
        if isinstance(item, Waiver):
            out.append(item)
            continue
        members = groups[item]
        if len(members) < least:
            out.extend(members)
            continue
        first, last = (_QUOTED.findall(m.match)[-1] for m in (members[0], members[-1]))
        out.append(Waiver(item[0], f"{len(members)} signals '{_QUOTED.findall(item[1])[-1]}'"
                          f" ({first} ... {last}), each as this one: {members[0].reason}",
                          match=item[1]))
    return out


def write_waivers(vfile, vlt=None, *, others=()):
    """Write ``<vfile stem>.vlt`` beside ``vfile`` (or to ``vlt``); return its path.
    ``others``: paths of the design's other Verilog files (see :func:`waivers`)."""
    vfile = Path(vfile)
    vlt = Path(vlt) if vlt is not None else vfile.with_suffix(".vlt")
    write_if_changed(vlt, waivers(vfile.read_text(), vfile.name,
                                  others=[Path(p).read_text() for p in others]))
    return vlt


def lint(directory, top=None, *, timeout=600):
    """``verilator --lint-only -Wall <dir>/*.vlt <dir>/*.v`` (the files a user ships), with
    ``--top-module top`` when given (needed when several files hold several top candidates).
    Raises :class:`tools.ToolMissing` without verilator."""
    directory = Path(directory)
    env = tools.verilator_env()
    exe = tools.verilator()
    vlts = sorted(directory.glob("*.vlt"))
    vfiles = sorted(directory.glob("*.v")) + sorted(directory.glob("*.sv"))
    if not vfiles:
        raise FileNotFoundError(f"no Verilog files in {directory}")
    cmd = [exe, "--lint-only", "-Wall"] + (["--top-module", top] if top else []) \
        + [str(p) for p in vlts + vfiles]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    ok = proc.returncode == 0 and "%Warning" not in proc.stdout and "%Error" not in proc.stdout
    return LintResult(ok=ok, command=cmd, output=proc.stdout)
