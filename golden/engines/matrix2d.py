"""Cycle model of the broadcast 2D-matrix engine (:mod:`hdl.engines.matrix2d`), from
docs/engines.md: beat ``k`` reaches every PE one cycle after it entered."""

from .accumulating import AccumulatingEngine

__all__ = ["Matrix2D"]


class Matrix2D(AccumulatingEngine):
    """R x C broadcast array (see :class:`.AccumulatingEngine`)."""

    def delay(self, i, j):
        return 1

    @property
    def min_spacing(self):
        return 1

    def period(self, k):
        """Back-to-back tiles of depth ``k``: one per ``max(beats(k), R + 1)`` cycles (every row
        captures at once; the R rows leave one per cycle, and the next tile's capture waits
        until the last has gone)."""
        return max(self.beats(k), self.R + 1)
