"""Cycle model of the 3D-cube engine (:mod:`hdl.engines.cube`), from docs/engines.md: beat
``t`` carries D columns of A and D rows of B (zero-padded) and reaches every PE one cycle
after it entered; each PE adds the D products to its accumulator in one step (the PE's
vectorized model with ``terms=D``)."""

from .matrix2d import Matrix2D

__all__ = ["Cube"]


class Cube(Matrix2D):
    """R x C x D cube (see :class:`.AccumulatingEngine`; ``group`` = D)."""
