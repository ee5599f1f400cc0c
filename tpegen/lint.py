"""Lint waivers shipped beside each generated design, and the ``-Wall`` lint run over them.

``verilator --lint-only -Wall`` on Amaranth's Verilog reports four kinds of warning that come
from how Amaranth (0.5, through yosys ``write_verilog``) writes a netlist, not from design
defects. :func:`waivers` reads one generated Verilog file and writes a Verilator configuration
file (``<top>.vlt``) that waives exactly those warnings, each one scoped to its line
(``-lines``) or to its exact message naming the signal (``-match``), and each preceded by a
``//`` comment giving the reason. No rule is waived file-wide, and verilator is not run: the
waivers are derived from the text alone, by recognising the idioms below.

Rules emitted (one waiver per occurrence):

* ``WIDTHEXPAND -lines N``: line N is one yosys cell, ``Y = A op B`` (``+ - * & | ^``, a
  shift, a compare, unary ``- ~``), whose operand is narrower than its context. Amaranth's
  netlist gives these operators operands of the full result width (compares: of a common
  width); its RTLIL backend trims redundant sign or zero bits off the operands
  (``shorten_operand``), and Verilog's implicit extension (sign extension when both operands
  are ``$signed``, zero otherwise) restores exactly those bits. Waived only when no operand is
  wider than the result (so nothing is truncated) and both operands have the same signedness.
* ``WIDTHTRUNC -lines N``: ``Y = ! A`` with a 1-bit ``Y``: Amaranth's ``A == 0`` comes out of
  yosys as a logical not of the whole vector; or ``Y = A >> B`` with ``Y`` narrower than ``A``:
  Amaranth's variable bit-select (``Value.bit_select``/``word_select``, a ``$shift`` cell)
  shifts the whole value and keeps the low bits.
* ``PROCASSINIT -match "...: 'x'"``: Amaranth declares each register with its init value
  (``reg [31:0] x = 32'd0;``) and assigns it in an ``always`` block.
* ``UNUSEDSIGNAL -match "...: 'x'[h:l]"``: with the exact signal and bit range, for a wire
  whose readers take only some bits (Amaranth computes an operator at its full width and
  narrows it by slicing: the carry out of ``a + b``, the top of a shift), for a wire that only
  names another net or a constant (Amaranth keeps the name for waveforms but connects readers
  to the source net), and for an operator nothing reads (Amaranth does no dead-logic removal).
* ``DECLFILENAME -match``: a submodule that Amaranth writes into its top-level's file.

Anything else (a plain ``assign t = a;`` between different widths, a mux or concatenation of
the wrong width, an operand wider than its result) gets no waiver, so a real truncation or
extension still fails lint.

:func:`lint` runs ``verilator --lint-only -Wall <dir>/*.vlt <dir>/*.v`` (the files a user
ships) under :func:`tpegen.tools.verilator_env`.
"""

import dataclasses
import re
import subprocess
from pathlib import Path

from . import tools

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
        return f'// {self.reason}\nlint_off -rule {self.rule} -file "*{filename}" {scope}'


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
    width: int = None          # constants


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
    # (line, lhs tokens, rhs tokens, context) where context is "assign", "always", "inst"
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


def _width_waivers(mod):
    out = []
    for line, lhs, rhs, ctx, src in mod.assigns:
        if ctx != "assign" or len(lhs) == 0 or not _is_name(lhs[0]):
            continue
        sel = _select(lhs, 1)
        if (sel is None and len(lhs) != 1) or (sel is not None and sel[1] != len(lhs)):
            continue                    # only a signal or one select of it on the left
        name = lhs[0].name
        if name not in mod.decls:
            continue
        wy = sel[0][0] - sel[0][1] + 1 if sel else mod.decls[name].width
        try:
            e = _Parser(rhs).parse()
        except (_ParseError, IndexError):
            continue
        text = _src(src.removeprefix("assign"))
        if e.kind == "un" and all(_is_leaf(a) for a in e.args):
            wa = _width(e.args[0], mod.decls)
            if wa is None:
                continue
            if e.op == "!" and wy == 1 and wa > 1:
                out.append(Waiver("WIDTHTRUNC", f"line {line}: `{text}` is how Amaranth's "
                                  f"`x == 0` comes out of yosys: a logical not of the whole "
                                  f"{wa}-bit value, 1-bit result; no bit is dropped",
                                  lines=(line, line)))
            elif e.op in ("-", "~") and wa < wy:
                ext = "sign" if _sign(e.args[0]) else "zero"
                out.append(Waiver("WIDTHEXPAND", f"line {line}: `{text}`: Amaranth trims "
                                  f"redundant {ext} bits off the operand ({wa} of {wy} bits "
                                  f"kept); Verilog's implicit {ext} extension restores them",
                                  lines=(line, line)))
            continue
        if e.kind != "bin" or not all(_is_leaf(a) for a in e.args):
            continue
        a, b = e.args
        wa, wb = _width(a, mod.decls), _width(b, mod.decls)
        if None in (wa, wb):
            continue
        op = e.op
        if op in ("<<", ">>", "<<<", ">>>"):
            if op == ">>" and wa > wy and not _sign(b):
                out.append(Waiver("WIDTHTRUNC", f"line {line}: `{text}` is Amaranth's "
                                  f"variable bit-select (bit_select/word_select, a $shift "
                                  f"cell): shift the {wa}-bit value, keep its low {wy} bits",
                                  lines=(line, line)))
            elif wa < wy and (op in ("<<", ">>") or _sign(a)):
                ext = "sign" if _sign(a) else "zero"
                out.append(Waiver("WIDTHEXPAND", f"line {line}: `{text}`: the shift result "
                                  f"has Amaranth's full width ({wy} bits); the operand was "
                                  f"trimmed to {wa} bits and Verilog's implicit {ext} "
                                  f"extension restores it", lines=(line, line)))
            continue
        if _sign(a) != _sign(b):
            continue                    # Verilog would treat both as unsigned: not Amaranth
        ext = "sign" if _sign(a) else "zero"
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if wy == 1 and wa != wb:
                out.append(Waiver("WIDTHEXPAND", f"line {line}: `{text}`: Amaranth compares "
                                  f"operands of one width and trims their redundant {ext} "
                                  f"bits ({wa} and {wb} bits kept); Verilog's implicit {ext} "
                                  f"extension to the common width restores them",
                                  lines=(line, line)))
        elif op in ("+", "-", "*", "&", "|", "^"):
            if wa <= wy and wb <= wy and (wa < wy or wb < wy):
                out.append(Waiver("WIDTHEXPAND", f"line {line}: `{text}`: Amaranth computes "
                                  f"{op!s} at the full {wy}-bit result width and trims "
                                  f"redundant {ext} bits off the operands ({wa} and {wb} bits "
                                  f"kept); Verilog's implicit {ext} extension restores them",
                                  lines=(line, line)))
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
        if "input" not in decl.kinds and not drv:
            continue                    # undriven too: not an Amaranth idiom, leave it loud
        what = _driver_text(drv)
        if unused == all_bits:
            message = f"Signal is not used: '{name}'"
            if "input" in decl.kinds:
                reason = (f"input '{name}' is part of the generated interface (every design "
                          f"has clk and rst) but this configuration's logic does not read it")
            elif _only_nets(drv):
                const = all(_is_const_tokens(rhs) for _, rhs, _ in drv)
                reason = (f"'{name}' ({what}) is {'a constant' if const else 'a name for another net'}"
                          f": Amaranth keeps a wire for every named or computed value but "
                          f"connects its readers to the {'constant' if const else 'source net'} "
                          f"itself, so this wire is never read")
            elif _CELL_CARRY.search(name):
                reason = (f"'{name}' ({what}) is a compressor-cell carry (hdl/arith naming) "
                          f"that nothing reads: a carry out of the top column of the tree has "
                          f"weight 2**W and is dropped (modulo 2**W arithmetic); Amaranth "
                          f"emits it anyway")
            elif any(ctx == "always" for ctx, _, _ in drv):
                reason = (f"'{name}' (line {decl.line}) is a register or process output that "
                          f"nothing reads; Amaranth does no dead-logic removal (synthesis "
                          f"removes it)")
            else:
                reason = (f"'{name}' ({what}) is an operator of the elaborated design that "
                          f"nothing reads; Amaranth emits every operator without dead-logic "
                          f"removal (synthesis removes it)")
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


def _only_nets(drivers):
    """Every driver is a plain net: a signal, a select, a constant or a concatenation."""
    for ctx, rhs, _ in drivers:
        if ctx != "assign":
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


def analyze(verilog_text, filename=None):
    """The :class:`Waiver` list for one generated Verilog file (see the module docstring)."""
    modules = _parse_modules(verilog_text)
    ports_of = {m.name: {name: next((k for k in ("input", "output", "inout")
                                     if k in m.decls[name].kinds), None)
                         for name in m.ports if name in m.decls} for m in modules}
    stem = Path(filename).stem if filename else None
    out = []
    for mod in modules:
        if stem is not None and mod is not modules[0] and mod.name != stem:
            out.append(Waiver("DECLFILENAME", f"module '{mod.name}' (line {mod.line}) is a "
                              f"submodule that Amaranth writes into the file of its "
                              f"top-level '{modules[0].name}'",
                              match=f"Filename '{stem}' does not match MODULE name: "
                                    f"'{mod.name}'"))
        out += _width_waivers(mod) + _procassinit_waivers(mod) + _unused_waivers(mod, ports_of)
    return out


def waivers(verilog_text, filename):
    """Content of the Verilator configuration file (``<top>.vlt``) for one generated Verilog
    file named ``filename`` (its base name: every waiver is scoped to ``-file "*<filename>"``).
    """
    filename = Path(filename).name
    found = analyze(verilog_text, filename)
    counts = {}
    for w in found:
        counts[w.rule] = counts.get(w.rule, 0) + 1
    head = ["`verilator_config",
            f"// Lint waivers for {filename}, derived from its text by tpegen.lint: each one is "
            f"scoped to a line or to",
            "// an exact message naming the signal, and says which Amaranth idiom causes it. "
            "Use: verilator --lint-only",
            f"// -Wall {Path(filename).stem}.vlt {filename}. Counts: "
            + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"), ""]
    return "\n".join(head + [w.render(filename) for w in found]) + "\n"


def write_waivers(vfile, vlt=None):
    """Write ``<vfile stem>.vlt`` beside ``vfile`` (or to ``vlt``); return its path."""
    vfile = Path(vfile)
    vlt = Path(vlt) if vlt is not None else vfile.with_suffix(".vlt")
    vlt.write_text(waivers(vfile.read_text(), vfile.name))
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
