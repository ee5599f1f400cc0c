"""Cycle model of the multiplier-adder-tree engine (:mod:`hdl.engines.adder_tree`), written
from that module's docstring: the weight-stationary engine's protocol, banks, stall rule and
output FIFO (:class:`.systolic_ws.SystolicWS`, with its R = K weight rows and C = N weight
columns), and in place of its grid N dot-product units that see each accepted beat one cycle
later and show ``A[m] @ B[:, n]`` ``L`` cycles after that (the PE's vectorized model with
``terms=K``, ``clear`` = ``enable`` = the beat's valid)."""

import numpy as np

from .systolic_ws import SystolicWS

__all__ = ["AdderTree"]


class AdderTree(SystolicWS):
    """N units of K inputs (``config.rows``, ``config.cols``); see the module docstring.

    Parameters
    ----------
    config : EngineConfig
        ``arch="adder-tree"``.
    pes : PeArray
        The PE's vectorized model over N lanes, ``terms=K``.
    """

    def __init__(self, config, pes):
        self.config = config
        N, K = config.rows, config.cols
        self.R, self.C = K, N                   # the weight tile, K x N
        self.pes = pes
        self.fused = False
        self.L = config.pe.latency
        self.h, self.P = 0, self.L
        self.delays = np.ones((K, N), np.int64)
        self._rows = np.meshgrid(np.arange(K), np.arange(N), indexing="ij")[0]
        self.D = 1                              # the bank is free after one cycle
        self.E = self.D + self.P                # a row leaves the units 1 + L after accept
        self.reset()

    def _row(self):
        return np.asarray(self.pes.result(), np.uint64).copy()

    def _advance_array(self):
        valid, _, sel = (int(v) for v in self.flags[1])
        w = self.banks[sel].T                  # (N, K): unit n's weights
        x = np.broadcast_to(self.a_hist[1], w.shape)
        if self.R == 1:                        # K = 1: the plain MAC (no terms axis)
            x, w = x[:, 0], w[:, 0]
        self.pes.tick(x, w, bool(valid), bool(valid))

    def state(self):
        """``dbg_state``: ``acc`` (N lanes), then banks ``w0``, ``w1`` (lanes ``k*N + n``)."""
        return np.concatenate([np.asarray(self.pes.result(), np.uint64).reshape(-1),
                               self.banks[0].reshape(-1), self.banks[1].reshape(-1)])
