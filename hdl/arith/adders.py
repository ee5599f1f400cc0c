"""Final (carry-propagate) adders: two rows in, one row out, modulo ``2**width``.

``behavioural``
    Amaranth ``x + y``; yosys picks the adder (its ``$alu``/``$lcu`` techmap).
``ripple``
    A chain of full adders: smallest, delay linear in the width.
``sklansky``
    J. Sklansky, "Conditional-Sum Addition Logic", IRE Trans. Electronic Computers, 1960:
    divide-and-conquer prefix tree, ``log2(n)`` levels, fanout growing with the level.
``kogge_stone``
    P. Kogge, H. Stone, "A Parallel Algorithm for the Efficient Solution of a General Class of
    Recurrence Equations", IEEE Trans. Computers, 1973: ``log2(n)`` levels, fanout 2, most
    wires.

The prefix adders combine (generate, propagate) pairs with ``(g, p) o (g', p') =
(g | p & g', p & p')`` and form ``sum_i = p_i ^ carry_i``.
"""

from amaranth.hdl import Cat, Const, Signal

from .compressors import CellBuilder

from tpegen.config import FINAL_ADDERS

__all__ = ["FINAL_ADDERS", "final_add"]



def _bits(row, width):
    return [row[i] if i < len(row) else Const(0, 1) for i in range(width)]


def _prefix_levels(kind, width):
    """Yield, per level, the list of ``(i, j)`` meaning ``P[i] = P[i] o P[j]``."""
    distance = 1
    while distance < width:
        if kind == "kogge_stone":
            yield [(i, i - distance) for i in range(distance, width)]
        else:  # sklansky
            yield [(i, (i // (2 * distance)) * 2 * distance + distance - 1)
                   for i in range(width) if (i // distance) % 2 == 1]
        distance *= 2


def final_add(m, x, y, width, *, kind, prefix="cpa"):
    """Return a ``width``-bit signal ``{prefix}_sum`` equal to ``(x + y) mod 2**width``.

    ``x`` and ``y`` are Amaranth values or lists of 1-bit values (least significant first).
    They are first assigned to the signals ``{prefix}_x`` and ``{prefix}_y``, which name the
    adder's operands in the Verilog; the formal flow (``tpegen/formal.py``) proves each
    adder as the lemma ``sum == x + y`` between these three signals.
    """
    if kind not in FINAL_ADDERS:
        raise ValueError(f"final_adder must be one of {FINAL_ADDERS}, not {kind!r}")
    result = Signal(width, name=f"{prefix}_sum")
    x_sig = Signal(width, name=f"{prefix}_x")
    y_sig = Signal(width, name=f"{prefix}_y")
    m.d.comb += [
        x_sig.eq(Cat(*_bits(list(x) if isinstance(x, list) else [x[i] for i in range(len(x))],
                            width))),
        y_sig.eq(Cat(*_bits(list(y) if isinstance(y, list) else [y[i] for i in range(len(y))],
                            width))),
    ]
    xs = [x_sig[i] for i in range(width)]
    ys = [y_sig[i] for i in range(width)]
    if kind == "behavioural":
        m.d.comb += result.eq(Cat(*xs) + Cat(*ys))
        return result
    if kind == "ripple":
        cells = CellBuilder(m, prefix)
        carry = Const(0, 1)
        bits = []
        for i in range(width):
            s, carry = cells.full_adder(xs[i], ys[i], carry)
            bits.append(s)
        m.d.comb += result.eq(Cat(*bits))
        return result
    g = Signal(width, name=f"{prefix}_g")
    p = Signal(width, name=f"{prefix}_p")
    m.d.comb += [g.eq(Cat(*xs) & Cat(*ys)), p.eq(Cat(*xs) ^ Cat(*ys))]
    gs = [g[i] for i in range(width)]
    ps = [p[i] for i in range(width)]
    for level, pairs in enumerate(_prefix_levels(kind, width)):
        ng = Signal(width, name=f"{prefix}_g{level + 1}")
        np_ = Signal(width, name=f"{prefix}_p{level + 1}")
        new_g, new_p = list(gs), list(ps)
        for i, j in pairs:
            new_g[i] = gs[i] | (ps[i] & gs[j])
            new_p[i] = ps[i] & ps[j]
        m.d.comb += [ng.eq(Cat(*new_g)), np_.eq(Cat(*new_p))]
        gs = [ng[i] for i in range(width)]
        ps = [np_[i] for i in range(width)]
    carries = [Const(0, 1)] + gs[:-1]  # carry into bit i is the group generate of 0..i-1
    m.d.comb += result.eq(p ^ Cat(*carries))
    return result
