"""3D-cube engine: :class:`Cube`.

R x C x D. Each beat carries an R x D block of A (``D`` consecutive columns) and a D x C block
of B (``D`` consecutive rows); both are registered once and broadcast, as in the 2D matrix
(:mod:`.matrix2d`), and each of the R x C PEs multiplies its D pairs
``A[i][Dt + d] * B[Dt + d][j]`` and reduces the D products *and its accumulator* in one
bit-matrix tree (:class:`hdl.mac.Mac` with ``terms=D``: the partial products of all D
multipliers and the accumulator rows enter one dot diagram, reduced by the PE's own
``--tree``, closed by its ``--final-adder`` or kept carry-save). This is the "3D-Cube" TPE of
the bit-weight paper (its Fig. 1; the Ascend DaVinci core's cube unit is 16 x 16 x 16), in
which the D-input adder tree of one output replaces D - 1 adders of a chain. D = 1 is
exactly :class:`~.matrix2d.Matrix2D`.

A tile of K columns takes ``ceil(K / D)`` beats; the last block is padded with zeros (by the
driver: the manifest says so). Capture, drain and stalls: :mod:`.accumulating`,
docs/engines.md.

Members
-------
As :class:`~hdl.engines.accumulating.AccumulatingEngine`, with ``s_axis_a_tdata`` of
``R*D`` lanes (lane ``i*D + d`` = ``A[i][Dt + d]``) and ``s_axis_b_tdata`` of ``D*C`` lanes
(lane ``d*C + j`` = ``B[Dt + d][j]``).
"""

from .matrix2d import Matrix2D

__all__ = ["Cube"]


class Cube(Matrix2D):
    """R x C x D cube of ``config.pe`` dot-product PEs (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="cube"``; ``depth`` is D.
    """

    arch = "cube"
    # (the feed is Matrix2D's: AccumulatingEngine.row_col_operands groups the D lanes of
    # each row of A and each column of B)
