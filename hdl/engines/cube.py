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

from amaranth.hdl import Cat, Signal

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

    def feed(self, m, a_lanes, b_lanes, advance):
        R, C, D = self.rows, self.cols, self.group
        a, b = (Signal(len(Cat(lanes)), name=name)      # the registered beat, all lanes
                for lanes, name in ((a_lanes, "a_beat"), (b_lanes, "b_beat")))
        with m.If(advance):
            m.d.sync += [a.eq(Cat(a_lanes)), b.eq(Cat(b_lanes))]
        wa, wb = self.a_shape.width, self.b_shape.width
        rows = [a[i * D * wa:(i + 1) * D * wa] for i in range(R)]
        cols = [Cat(b[(d * C + j) * wb:(d * C + j + 1) * wb] for d in range(D))
                for j in range(C)]
        return [[rows[i]] * C for i in range(R)], [list(cols) for _ in range(R)]
