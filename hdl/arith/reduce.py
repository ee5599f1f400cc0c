"""Reducers: compress a :class:`~hdl.arith.bitmatrix.BitMatrix` to at most two dots per column.

Three schedules are provided, all built from :mod:`hdl.arith.compressors`:

``wallace`` with ``3:2`` counters
    C. S. Wallace, "A Suggestion for a Fast Multiplier", IEEE Trans. Electronic Computers,
    1964: in every stage, every column is cut into groups of three (full adders) and a
    remaining pair (half adder). Reduces as early as possible.
``wallace`` with ``4:2`` compressors
    The same greedy stage, with groups of four going through 4:2 compressors whose carry-out
    feeds the next column's carry-in within the stage (no ripple, because carry-out does not
    depend on carry-in). Leftover groups of three use full adders.
``dadda``
    L. Dadda, "Some Schemes for Parallel Multipliers", Alta Frequenza, 1965: stage targets
    ``d_1 = 2, d_{j+1} = floor(1.5 d_j)``; each stage adds only as many full and half adders
    as needed to bring every column (counting carries arriving from the column below in the
    same stage) down to the next target. Fewest half adders, latest reduction.
"""

from .bitmatrix import BitMatrix
from .compressors import CellBuilder

from tpegen.config import TREES, COMPRESSORS

__all__ = ["TREES", "COMPRESSORS", "reduce_matrix", "dadda_heights"]



def dadda_heights(max_height):
    """Dadda's stage targets below ``max_height``, largest first."""
    targets = [2]
    while targets[-1] < max_height:
        targets.append(targets[-1] * 3 // 2)
    return [d for d in reversed(targets) if d < max_height]


def _wallace_stage(matrix, cells, use_c42):
    out = BitMatrix(matrix.width)
    couts = []  # 4:2 carry-outs of the column below, waiting for a carry-in
    for k, column in enumerate(matrix.columns):
        dots = list(column)
        cins, couts = couts, []
        if use_c42:
            while len(dots) >= 4:
                cin = cins.pop(0) if cins else None
                s, c, co = cells.compressor_4_2(*dots[:4], cin)
                dots = dots[4:]
                out.add_dot(s, k)
                out.add_dot(c, k + 1)
                couts.append(co)
        dots += cins
        while len(dots) >= 3:
            s, c = cells.full_adder(*dots[:3])
            dots = dots[3:]
            out.add_dot(s, k)
            out.add_dot(c, k + 1)
        # A pair passed on next to dots already in the output column would make a column of
        # three again, and carries would ripple up one column per stage: half-add it instead.
        if len(dots) == 2 and out.columns[k]:
            s, c = cells.half_adder(*dots)
            dots = []
            out.add_dot(s, k)
            out.add_dot(c, k + 1)
        for dot in dots:
            out.add_dot(dot, k)
    # A carry-out of the top column has weight 2**width: dropped (modulo arithmetic).
    return out


def _dadda_stage(matrix, cells, target):
    out = BitMatrix(matrix.width)
    carries = []  # carries produced in column k-1 during this stage
    for k, column in enumerate(matrix.columns):
        dots = list(column)  # dots of the previous stage; only these are compressed
        sums = []
        height = len(dots) + len(carries)
        produced = []
        while height > target:
            if height - target >= 2:
                assert len(dots) >= 3, "Dadda schedule ran out of dots"
                s, c = cells.full_adder(*dots[:3])
                dots = dots[3:]
                height -= 2
            else:
                assert len(dots) >= 2, "Dadda schedule ran out of dots"
                s, c = cells.half_adder(*dots[:2])
                dots = dots[2:]
                height -= 1
            sums.append(s)
            produced.append(c)
        for dot in dots + sums + carries:
            out.add_dot(dot, k)
        carries = produced
    return out


def reduce_matrix(m, matrix, *, tree, compressor="3:2", prefix="t"):
    """Reduce ``matrix`` until every column holds at most two dots.

    Parameters
    ----------
    m : amaranth.hdl.Module
        Module that receives the compressor cells.
    matrix : BitMatrix
        The dots to reduce. Its folded constant is materialized first.
    tree : str
        ``"wallace"`` or ``"dadda"``.
    compressor : str
        ``"3:2"`` or ``"4:2"`` (``"4:2"`` with ``wallace`` only).
    prefix : str
        Prefix for the cells' signal names.

    Returns
    -------
    (BitMatrix, dict)
        The reduced matrix and statistics: ``stages`` and cell counts ``ha``/``fa``/``c42``.
    """
    if tree not in TREES:
        raise ValueError(f"tree must be one of {TREES}, not {tree!r}")
    if compressor not in COMPRESSORS:
        raise ValueError(f"compressor must be one of {COMPRESSORS}, not {compressor!r}")
    if tree == "dadda" and compressor != "3:2":
        raise ValueError("the dadda tree uses 3:2 counters only")
    matrix.materialize_constant()
    cells = CellBuilder(m, prefix)
    stages = 0
    if tree == "dadda":
        for target in dadda_heights(matrix.max_height):
            matrix = _dadda_stage(matrix, cells, target)
            stages += 1
    else:
        while matrix.max_height > 2:
            matrix = _wallace_stage(matrix, cells, compressor == "4:2")
            stages += 1
    assert matrix.max_height <= 2
    return matrix, {"stages": stages, **cells.counts}
