"""Cycle models of the tensor engines (hdl/engines/, same names and parameters), written
from docs/engines.md; :func:`engine` builds the one of a configuration."""

from .accumulating import AccumulatingEngine, PeArray
from .adder_tree import AdderTree
from .cube import Cube
from .matrix2d import Matrix2D
from .systolic_os import SystolicOS
from .systolic_ws import SystolicWS

__all__ = ["engine", "pe_shape", "ARCHES", "AccumulatingEngine", "PeArray", "SystolicOS", "SystolicWS",
           "Matrix2D", "Cube", "AdderTree"]

ARCHES = {"systolic-os": SystolicOS, "matrix2d": Matrix2D, "systolic-ws": SystolicWS,
          "cube": Cube, "adder-tree": AdderTree}


def pe_shape(config):
    """The shape of an engine's PE array: ``(rows, cols)`` (the adder tree: ``(rows,)``, its
    N units)."""
    return (config.rows,) if config.arch == "adder-tree" else (config.rows, config.cols)


def engine(config, pe_model):
    """The cycle model of ``config`` (an EngineConfig) on ``pe_model``: the PE's vectorized
    cycle model of shape :func:`pe_shape`."""
    return ARCHES[config.arch](config, PeArray(pe_model, config.pe, pe_shape(config)))
