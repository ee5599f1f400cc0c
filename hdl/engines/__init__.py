"""Tensor engines: arrays of any accumulating PE behind one AXI4-Stream GEMM interface
(docs/engines.md). One module per architecture; :func:`Engine` picks it from the config."""

from .matrix2d import Matrix2D
from .systolic_os import SystolicOS

__all__ = ["Engine", "SystolicOS", "Matrix2D", "ARCHES"]

ARCHES = {cls.arch: cls for cls in (SystolicOS, Matrix2D)}


def Engine(config):  # noqa: N802 (a class factory: the registry calls it like a class)
    """The engine component of ``config`` (an :class:`~tpegen.config.EngineConfig`)."""
    return ARCHES[config.arch](config)
