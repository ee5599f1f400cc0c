"""Tensor engines: arrays of any accumulating PE behind one AXI4-Stream GEMM interface
(docs/engines.md). One module per architecture; :func:`Engine` picks it from the config."""

from .adder_tree import AdderTree
from .cube import Cube
from .matrix2d import Matrix2D
from .systolic_os import SystolicOS
from .systolic_ws import SystolicWS

__all__ = ["Engine", "SystolicOS", "SystolicWS", "Matrix2D", "Cube", "AdderTree", "ARCHES"]

ARCHES = {cls.arch: cls for cls in (SystolicOS, Matrix2D, SystolicWS, Cube, AdderTree)}


def Engine(config):  # noqa: N802 (a class factory: the registry calls it like a class)
    """The engine component of ``config`` (an :class:`~tpegen.config.EngineConfig`)."""
    return ARCHES[config.arch](config)
