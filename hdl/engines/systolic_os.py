"""Output-stationary systolic array: :class:`SystolicOS`.

R x C PEs. Row ``i`` of A enters at the west edge ``i`` cycles late and moves one PE east per
cycle; column ``j`` of B enters at the north edge ``j`` cycles late and moves one PE south
per cycle; so ``A[i][k]`` and ``B[k][j]`` meet in PE(i, j), ``1 + i + j`` cycles after beat
``k`` was accepted, and each PE accumulates its own ``C[i][j]`` (H. T. Kung, "Why systolic
architectures?", IEEE Computer 15(1), 1982; the OS dataflow of SCALE-Sim,
Samajdar et al., arXiv:1811.02883). The skew registers, the capture of the results, the
row-by-row drain and the stall logic are inside (:mod:`.accumulating`, docs/engines.md).

Members
-------
As :class:`~hdl.engines.accumulating.AccumulatingEngine`.
"""

from .accumulating import AccumulatingEngine
from .interface import chain as chain_registers

__all__ = ["SystolicOS"]


class SystolicOS(AccumulatingEngine):
    """Output-stationary systolic array of ``config.pe`` PEs (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="systolic-os"``.
    """

    arch = "systolic-os"

    def delay(self, i, j):
        return 1 + i + j

    @property
    def min_spacing(self):
        """``max(C + 1, floor((R + C) / 2))``: every PE of a row has captured tile ``n``, and
        the row has been sent, before the row's first PE captures tile ``n + 1``; and every
        row of tile ``n`` is complete before tile ``n + 2`` captures (rows leave in order, so
        no stall can wait on a row that the stall itself holds back)."""
        return max(self.cols + 1, (self.rows + self.cols) // 2)

    def feed(self, m, a_lanes, b_lanes, advance):
        R, C = self.rows, self.cols

        def chain(value, length, name):
            return chain_registers(m, value, length, name, advance)

        a_lanes, b_lanes = self.row_col_operands(a_lanes, b_lanes)
        # west edge: row i skewed by i (registers a_skew_i_*), then one register per PE
        A = []
        for i in range(R):
            skewed = chain(a_lanes[i], i, f"a_skew_{i}")
            A.append(chain(skewed[-1] if skewed else a_lanes[i], C, f"a_{i}"))
        cols = []
        for j in range(C):
            skewed = chain(b_lanes[j], j, f"b_skew_{j}")
            cols.append(chain(skewed[-1] if skewed else b_lanes[j], R, f"b_{j}"))
        B = [[cols[j][i] for j in range(C)] for i in range(R)]
        return A, B
