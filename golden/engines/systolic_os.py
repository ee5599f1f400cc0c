"""Cycle model of the output-stationary systolic array (:mod:`hdl.engines.systolic_os`),
from docs/engines.md: beat ``k`` reaches PE(i, j) ``1 + i + j`` cycles after it entered; a
tile's last beat enters at least ``C`` cycles after the previous one's."""

from .accumulating import AccumulatingEngine

__all__ = ["SystolicOS"]


class SystolicOS(AccumulatingEngine):
    """R x C output-stationary systolic array (see :class:`.AccumulatingEngine`)."""

    def delay(self, i, j):
        return 1 + i + j

    @property
    def min_spacing(self):
        return max(self.C + 1, (self.R + self.C) // 2)

    def period(self, k):
        """Back-to-back tiles of ``k`` beats, in the steady state: one per
        ``max(k, min_spacing, R)`` cycles (``R``: the result stream sends one row per cycle).
        Exact for every tile when ``k >= max(min_spacing, R)``."""
        return max(self.beats(k), self.min_spacing, self.R)
