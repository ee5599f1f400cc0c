"""Word-level proofs of gate netlists by algebraic rewriting (symbolic computer algebra).

A bit-level netlist computes, at each output, a Boolean function; reading a bit as the integer
0 or 1, every function of Boolean inputs has exactly one *multilinear* polynomial over the
integers modulo ``2**w`` (Möbius inversion works in any ring). So a word-level claim such as

    sum_i 2**i * S'_i + sum_i 2**i * C'_i  ==  (1 - clear) * (S + C) + enable * A * B   (mod 2**w)

is a polynomial identity. It is proved by *backward rewriting*: start from the claim's
left-hand side minus its right-hand side, replace each gate's output variable by the gate's
polynomial in its inputs (``x & y -> x*y``, ``x ^ y -> x + y - 2*x*y``, ...), latest gate
first, with ``x**2 = x``; the claim holds for every input exactly when the polynomial reduces
to zero. This is the standard method for verifying multipliers (SAT solvers are hopeless on
multiplier equivalence beyond a few bits): see D. Ritirc, A. Biere, M. Kauers, "Column-wise
verification of multipliers using computer algebra", FMCAD 2017, and A. Mahzoon, D. Große,
R. Drechsler, "RevSCA", DAC 2019. The netlist comes from yosys (``techmap`` to simple gates,
``write_json``) run on the generated Verilog itself, so what is proved is the file we ship.

When the polynomial does not vanish, a remaining monomial, evaluated at the assignment that
sets exactly its variables, gives a concrete counterexample, which the caller reports.
"""

import heapq
import json
from collections import defaultdict

__all__ = ["Netlist", "Poly", "RewriteError"]


class RewriteError(RuntimeError):
    """The netlist has a construct the rewriter does not model."""


class Poly:
    """Multilinear polynomial over Z/2**w with variables named by integers.

    Monomials are frozensets of variables; an index from each variable to the monomials that
    contain it makes substitution proportional to the number of affected terms.
    """

    def __init__(self, width):
        self.mask = (1 << width) - 1
        self.terms = {}
        self.index = defaultdict(set)

    def add(self, monomial, coeff):
        coeff = (self.terms.get(monomial, 0) + coeff) & self.mask
        if coeff:
            if monomial not in self.terms:
                for v in monomial:
                    self.index[v].add(monomial)
            self.terms[monomial] = coeff
        elif monomial in self.terms:
            del self.terms[monomial]
            for v in monomial:
                self.index[v].discard(monomial)

    def add_poly(self, terms, factor=1, times=frozenset()):
        """``self += factor * times * terms`` where ``terms`` is ``{monomial: coeff}``."""
        for mono, coeff in terms.items():
            self.add(mono | times, coeff * factor)

    def substitute(self, var, terms):
        """Replace ``var`` by the polynomial ``terms`` (``{monomial: coeff}``)."""
        affected = list(self.index.pop(var, ()))
        for mono in affected:
            coeff = self.terms.pop(mono)
            for v in mono:
                if v != var:
                    self.index[v].discard(mono)
            rest = mono - {var}
            for tmono, tcoeff in terms.items():
                self.add(rest | tmono, coeff * tcoeff)

    def substitute_word(self, bits, replacement):
        """Apply the lemma ``sum_i 2**i * bits[i] == replacement (mod 2**w)``.

        Every occurrence of the word's bits must come as ``k * rest * sum_i 2**i * bits[i]``
        for some factor ``k`` and product ``rest``; that group becomes
        ``k * rest * replacement``. Returns False (leaving the polynomial unchanged) when the
        bits occur in any other way, since the lemma then says nothing about them.
        """
        positions = {b: i for i, b in enumerate(bits) if not isinstance(b, str)}
        groups = defaultdict(dict)
        for bit, i in positions.items():
            for mono in self.index.get(bit, ()):
                rest = mono - {bit}
                if any(v in positions for v in rest):
                    return False
                groups[rest][i] = self.terms[mono]
        plan = []
        low = min(positions.values())
        for rest, coeffs in groups.items():
            # k * 2**low must be the coefficient of the lowest bit; any such k will do, as
            # the word's value is a multiple of 2**low
            if coeffs.get(low, 0) % (1 << low):
                return False
            k = coeffs.get(low, 0) >> low
            for bit, i in positions.items():
                if coeffs.get(i, 0) != (k << i) & self.mask:
                    return False
            plan.append((rest, k))
        for bit in positions:
            for mono in list(self.index.pop(bit, ())):
                del self.terms[mono]
                for v in mono:
                    if v != bit:
                        self.index[v].discard(mono)
        for rest, k in plan:
            self.add_poly(replacement, factor=k, times=rest)
        return True

    def __len__(self):
        return len(self.terms)


def _mul(p, q):
    out = defaultdict(int)
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            out[m1 | m2] += c1 * c2
    return {m: c for m, c in out.items() if c}


def _sum(*polys):
    out = defaultdict(int)
    for p in polys:
        for m, c in p.items():
            out[m] += c
    return {m: c for m, c in out.items() if c}


ONE = {frozenset(): 1}


def _neg(p):
    return {m: -c for m, c in p.items()}


def _not(p):
    return _sum(ONE, _neg(p))


_GATES = {
    "$_BUF_": lambda a: a,
    "$_NOT_": _not,
    "$_AND_": _mul,
    "$_OR_": lambda a, b: _sum(a, b, _neg(_mul(a, b))),
    "$_XOR_": lambda a, b: _sum(a, b, {m: -2 * c for m, c in _mul(a, b).items()}),
    "$_NAND_": lambda a, b: _not(_mul(a, b)),
    "$_NOR_": lambda a, b: _not(_sum(a, b, _neg(_mul(a, b)))),
    "$_XNOR_": lambda a, b: _not(_sum(a, b, {m: -2 * c for m, c in _mul(a, b).items()})),
    "$_ANDNOT_": lambda a, b: _mul(a, _not(b)),
    "$_ORNOT_": lambda a, b: _not(_mul(_not(a), b)),
    # Y = S ? B : A
    "$_MUX_": lambda a, b, s: _sum(a, _mul(s, _sum(b, _neg(a)))),
}
_EVAL = {
    "$_BUF_": lambda a: a, "$_NOT_": lambda a: 1 - a, "$_AND_": lambda a, b: a & b,
    "$_OR_": lambda a, b: a | b, "$_XOR_": lambda a, b: a ^ b,
    "$_NAND_": lambda a, b: 1 - (a & b), "$_NOR_": lambda a, b: 1 - (a | b),
    "$_XNOR_": lambda a, b: 1 - (a ^ b), "$_ANDNOT_": lambda a, b: a & (1 - b),
    "$_ORNOT_": lambda a, b: a | (1 - b), "$_MUX_": lambda a, b, s: (b & s) | (a & (1 - s)),
}
_GATE_INPUTS = {"$_MUX_": ("A", "B", "S"), "$_BUF_": ("A",), "$_NOT_": ("A",)}


class Netlist:
    """A flattened gate netlist of one module, read from yosys ``write_json``.

    Attributes
    ----------
    ports : dict
        ``name -> list of bits``; a bit is a net number, or ``"0"``/``"1"``.
    regs : dict
        ``net name -> (Q bits, D bits)`` of the flip-flops on that net.
    """

    def __init__(self, json_path, top):
        module = json.loads(open(json_path).read())["modules"][top]
        self.ports = {name: p["bits"] for name, p in module["ports"].items()}
        self.inputs = [b for p in module["ports"].values() if p["direction"] == "input"
                       for b in p["bits"] if not isinstance(b, str)]
        self.netnames = {name: n["bits"] for name, n in module["netnames"].items()}
        self.gates = {}     # output bit -> (type, input bits)
        flops = {}          # Q bit -> D bit
        for name, cell in module["cells"].items():
            kind, conn = cell["type"], cell["connections"]
            if kind == "$_DFF_P_":
                flops[conn["Q"][0]] = conn["D"][0]
            elif kind in _GATES:
                inputs = _GATE_INPUTS.get(kind, ("A", "B"))
                self.gates[conn["Y"][0]] = (kind, [conn[p][0] for p in inputs])
            elif kind == "$scopeinfo":
                continue
            else:
                raise RewriteError(f"cell {name} of type {kind} is not a simple gate or a "
                                   "positive-edge flip-flop")
        self.regs = {}
        for name, net in module["netnames"].items():
            bits = net["bits"]
            if bits and all(b in flops for b in bits) and name not in self.regs:
                self.regs[name] = (bits, [flops[b] for b in bits])
        self.flop_bits = set(flops)
        self._levels = None

    def levels(self):
        """Depth of each gate output from the inputs and flip-flop outputs."""
        if self._levels is None:
            level = {}
            for out in self.gates:
                stack = [out]
                while stack:
                    bit = stack[-1]
                    if bit in level:
                        stack.pop()
                        continue
                    kind, ins = self.gates[bit]
                    pending = [b for b in ins if b in self.gates and b not in level]
                    if pending:
                        stack.extend(pending)
                        continue
                    level[bit] = 1 + max((level.get(b, 0) for b in ins), default=0)
                    stack.pop()
            self._levels = level
        return self._levels

    def simulate(self, poly_terms, inputs):
        """Evaluate a polynomial over net bits on vectors: ``inputs`` maps each input and
        flip-flop output bit to a 0/1 numpy array; returns Python ints (object array)."""
        import numpy as np
        values = dict(inputs)
        n = len(next(iter(inputs.values())))

        def value(bit):
            if bit == "0":
                return np.zeros(n, np.uint8)
            if bit == "1":
                return np.ones(n, np.uint8)
            if bit not in values:
                kind, ins = self.gates[bit]
                args = [value(b) for b in ins]
                values[bit] = _EVAL[kind](*args).astype(np.uint8)
            return values[bit]

        for bit in sorted(self.gates, key=self.levels().get):
            value(bit)
        total = np.zeros(n, dtype=object)
        for mono, coeff in poly_terms.items():
            prod = np.ones(n, np.uint8)
            for v in mono:
                prod = prod & value(v)
            total = total + prod.astype(object) * coeff
        return total

    def heights(self):
        """Longest path from each gate output to a sink (flip-flop input or port): a gate
        comes after all its consumers in increasing height."""
        if getattr(self, "_heights", None) is None:
            consumers = defaultdict(list)
            for out, (_, ins) in self.gates.items():
                for b in ins:
                    if b in self.gates:
                        consumers[b].append(out)
            height = {}
            for out in sorted(self.gates, key=self.levels().get, reverse=True):
                height[out] = 1 + max((height[c] for c in consumers[out]), default=0)
            self._heights = height
        return self._heights

    def gate_poly(self, out):
        kind, ins = self.gates[out]
        return _GATES[kind](*(bit_poly(b) for b in ins))

    def reduce(self, poly, *, lemmas=(), progress=None, max_terms=2_000_000):
        """Rewrite ``poly`` (a :class:`Poly` over net bits) down to inputs and flip-flop
        outputs; returns it.

        ``lemmas`` is a list of ``(bits, replacement)`` word lemmas (``sum 2**i bits[i] ==
        replacement``), each proved elsewhere: the gates driving ``bits`` are never expanded
        (they are cut points); when rewriting reaches them, the word is replaced as a whole and
        rewriting goes on into ``replacement``. This is how carry-propagate adders, on which
        backward rewriting blows up, are handled: they are proved by SAT, where SAT is strong.
        ``progress(done, total, size)`` is called now and then.
        """
        # Substitute a gate only after all its consumers, nearest the outputs first: the sum
        # and carry of one compressor then meet while their inputs are still unexpanded, and
        # their weighted sum collapses (2*carry + sum == x + y + z) before it can grow.
        levels = {k: -v for k, v in self.heights().items()}
        cuts = {b for bits, _ in lemmas for b in bits if not isinstance(b, str)}
        pending = list(lemmas)
        heap, queued = [], set()

        def push(variables):
            for v in variables:
                if v in self.gates and v not in queued:
                    queued.add(v)
                    heapq.heappush(heap, (-levels[v], v))

        push(list(poly.index))
        peak, steps = len(poly), 0
        while heap or pending:
            if not heap:
                # Only inputs, flip-flop outputs and lemma words are left: apply the lemmas
                # whose words occur, then rewrite what they brought in.
                applied = False
                for lemma in list(pending):
                    bits, replacement = lemma
                    if any(poly.index.get(b) for b in bits):
                        if not poly.substitute_word(bits, replacement):
                            raise RewriteError("a lemma's word occurs other than as a whole "
                                               "word; the lemma cannot be applied")
                        push({v for m in replacement for v in m})
                        pending.remove(lemma)
                        applied = True
                if not applied:
                    break
                continue
            _, out = heapq.heappop(heap)
            queued.discard(out)
            if out in cuts or not poly.index.get(out):
                continue
            terms = self.gate_poly(out)
            poly.substitute(out, terms)
            push({v for m in terms for v in m})
            peak = max(peak, len(poly))
            if len(poly) > max_terms:
                raise RewriteError(f"the polynomial grew past {max_terms} terms: undecided")
            steps += 1
            if progress and steps % 500 == 0:
                progress(steps, len(self.gates), len(poly))
        poly.peak = peak
        return poly


def bit_poly(bit):
    """Polynomial of one netlist bit (a net number or a constant)."""
    if bit == "0":
        return {}
    if bit == "1":
        return dict(ONE)
    if isinstance(bit, str):
        raise RewriteError(f"undefined bit {bit!r} in the netlist")
    return {frozenset([bit]): 1}


def word(bits, signed=False):
    """Polynomial of a word: ``sum 2**i * bit_i`` (the top bit weighs ``-2**(n-1)`` when
    signed)."""
    out = {}
    for i, bit in enumerate(bits):
        weight = -(1 << i) if signed and i == len(bits) - 1 else 1 << i
        out = _sum(out, {m: c * weight for m, c in bit_poly(bit).items()})
    return out


mul, add, neg, complement = _mul, _sum, _neg, _not
