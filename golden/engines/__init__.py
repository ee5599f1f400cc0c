"""Cycle models of the tensor engines (hdl/engines/, same names and parameters), written
from docs/engines.md; :func:`engine` builds the one of a configuration."""

from .accumulating import AccumulatingEngine, PeArray
from .adder_tree import AdderTree
from .cube import Cube
from .matrix2d import Matrix2D
from .systolic_os import SystolicOS
from .systolic_ws import SystolicWS

__all__ = ["engine", "ARCHES", "AccumulatingEngine", "PeArray", "SystolicOS", "SystolicWS",
           "Matrix2D", "Cube", "AdderTree"]

ARCHES = {"systolic-os": SystolicOS, "matrix2d": Matrix2D, "systolic-ws": SystolicWS,
          "cube": Cube, "adder-tree": AdderTree}


def engine(config, pe_model):
    """The cycle model of ``config`` (an EngineConfig) on ``pe_model``: the PE's vectorized
    cycle model of shape ``(rows, cols)`` (the adder tree: ``(rows,)``, its N units)."""
    shape = (config.rows,) if config.arch == "adder-tree" else (config.rows, config.cols)
    return ARCHES[config.arch](config, PeArray(pe_model, config.pe, shape))
