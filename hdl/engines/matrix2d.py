"""2D-matrix engine: :class:`Matrix2D`.

R x C PEs with no systolic skew: each accepted beat is registered once and broadcast, lane
``i`` of A to every PE of row ``i`` and lane ``j`` of B to every PE of column ``j``; every PE
accumulates its own ``C[i][j]`` (the "2D-Matrix" TPE of the bit-weight paper, its Fig. 1).
Broadcast wires grow with the array (fan-out C and R), where the systolic array has only
neighbour wires; in exchange, a tile's results are ready ``R + C - 2`` cycles sooner. Capture,
drain and stalls: :mod:`.accumulating`, docs/engines.md.

Members
-------
As :class:`~hdl.engines.accumulating.AccumulatingEngine`.
"""

from amaranth.hdl import Signal

from .accumulating import AccumulatingEngine

__all__ = ["Matrix2D"]


class Matrix2D(AccumulatingEngine):
    """Broadcast array of ``config.pe`` PEs (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="matrix2d"``.
    """

    arch = "matrix2d"

    def delay(self, i, j):
        return 1

    @property
    def min_spacing(self):
        return 1

    def feed(self, m, a_lanes, b_lanes, advance):
        def register(value, name):
            reg = Signal.like(value, name=name)
            with m.If(advance):
                m.d.sync += reg.eq(value)
            return reg
        rows, cols = self.row_col_operands(a_lanes, b_lanes)
        a = [register(v, f"a_{i}") for i, v in enumerate(rows)]
        b = [register(v, f"b_{j}") for j, v in enumerate(cols)]
        return ([[a[i]] * self.cols for i in range(self.rows)],
                [list(b) for _ in range(self.rows)])
