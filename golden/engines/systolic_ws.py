"""Cycle model of the weight-stationary systolic array (:mod:`hdl.engines.systolic_ws`),
written from that module's docstring (the spec): :class:`SystolicWS`.

One call of :meth:`SystolicWS.step` is one clock cycle, as for
:class:`~.accumulating.AccumulatingEngine`: the inputs observed in the cycle in, the outputs
of the cycle out, then the rising edge. Numpy over the R x C array, no loop over PEs.

The PE, per the spec: with a ``mac`` PE the vectorized MAC model (``clear`` = ``enable`` =
the beat's ``valid``) gives the product and an adder register of ``acc_width`` bits adds the
partial sum from the north (``h = 1``, ``P = L + 1``); with a rounded ``fmac`` PE the
vectorized model's own FMA step ``step(a, b, c)`` (``acc <- fma(a, b, acc)``) is used with
``c`` = the partial sum from the north (``+0`` in row 0), through ``L`` pipeline registers
(``h = P = L``).

State: ``flags[d]`` (valid, last, bank) and ``a_hist[d]`` (the input register's lanes) of
``d`` advancing edges ago; the weight banks, their ``ready`` and ``busy`` flags and the
load pointers; the PEs and the partial sums; ``bottom[d]``, the bottom row's partial sums
``d`` advancing edges ago (the de-skew registers); the two-row output FIFO.

Members
-------
SystolicWS
    The model.
"""

import numpy as np

__all__ = ["SystolicWS"]


class SystolicWS:
    """Cycle model of an R x C weight-stationary array (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="systolic-ws"``, ``pe`` a ``mac`` or a rounded ``fmac``.
    pes : PeArray
        The PE's vectorized model over R x C lanes.
    """

    def __init__(self, config, pes):
        self.config = config
        self.R, self.C = R, C = config.rows, config.cols
        self.pes = pes
        self.fused = config.pe.kind != "mac"
        if self.fused:
            self.L = config.pe.fma.latency
            self.h, self.P = self.L, self.L
            self.fma = pes.model.step               # acc <- fma(a, b, acc): the PE's step
        else:
            self.L = config.pe.latency
            self.h, self.P = 1, self.L + 1
            self.mask = np.uint64((1 << config.pe.acc_width) - 1)
        K, J = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
        self._rows = K
        self.delays = 1 + self.h * K + J
        self.D = int(self.delays[R - 1, C - 1])
        self.E = self.D + self.P
        self.reset()

    # --- tiles --------------------------------------------------------------------------------

    @property
    def a_count(self):
        """Lanes of stream ``a`` (R: one row of the activations)."""
        return self.R

    @property
    def b_count(self):
        """Lanes of stream ``b`` (C: one row of the weights)."""
        return self.C

    def tile_shapes(self, k):
        """A is ``k`` x R (``k`` = M activation rows), B is R x C (the weights)."""
        return (k, self.R), (self.R, self.C)

    def a_beats(self, A):
        """Stream ``a``: the rows of A."""
        return [A[m] for m in range(A.shape[0])]

    def b_beats(self, B):
        """Stream ``b``: the R rows of B (fewer with ``tlast`` on the last: the bank's rows
        below are zeros)."""
        return [B[k] for k in range(B.shape[0])]

    def result_rows(self, A, B):
        """Stream ``c`` sends M rows per tile."""
        return A.shape[0]

    # --- timing formulas ------------------------------------------------------------------------

    @property
    def latency(self):
        """Cycles from an activation beat's transfer to its result row's, no stall: E + 2."""
        return self.E + 2

    def tile_cycles(self, k):
        """One tile of ``k`` activation rows alone, from its first beat's transfer (weights and
        activations offered from cycle 0) to its last row's, inclusive: ``R + k + E + 2``
        (MAC PE: ``2R + C + k + L + 2``, SCALE-Sim's WS fold ``2R + C + k - 2`` plus
        ``L + 4``)."""
        return self.R + k + self.E + 2

    def first_accepts(self, tiles, k):
        """The cycle each tile's first activation beat enters, back to back, no stall:
        ``F[n] = max(F[n-1] + k, W[n])``, where ``W[n]``, the cycle bank ``n % 2`` is
        ready, is ``W[0] = R + 1``, ``W[1] = 2R + 1``, ``W[n] = max(W[n-1] + R,
        F[n-2] + k + D + R)`` (the bank of tile ``n - 2`` is freed ``D`` cycles after its
        last beat, then takes R cycles to load, after the previous tile's R loads). With
        the systolic array's ``D >= R`` the first term never binds:
        ``F[n+1] = max(F[n] + k, F[n-1] + k + D + R)``."""
        R, D = self.R, self.D
        F, W = [R + 1], [R + 1]
        for n in range(1, tiles):
            W.append(2 * R + 1 if n == 1 else max(W[-1] + R, F[-2] + k + D + R))
            F.append(max(F[-1] + k, W[-1]))
        return F

    def period(self, k):
        """The steady-state average spacing of tiles of ``k`` rows:
        ``max(k, R, (k + D + R) / 2)``; exactly ``k`` when ``k >= D + R``."""
        return max(k, self.R, (k + self.D + self.R) / 2)

    def stream_cycles(self, tiles, k):
        """Cycles of ``tiles`` back-to-back tiles of ``k`` rows, first beat to last row."""
        return self.first_accepts(tiles, k)[-1] + k + self.E + 1

    # --- state -------------------------------------------------------------------------------

    def reset(self):
        R, C = self.R, self.C
        n = self.E + 1
        self.flags = np.zeros((n, 3), np.int64)       # [d] = (valid, last, bank), d edges ago
        self.a_hist = np.zeros((n, R), np.uint64)
        self.pes.reset()
        self.banks = np.zeros((2, R, C), np.uint64)
        self.bank_ready = [False, False]   # loaded, its activations not all entered
        self.bank_busy = [False, False]    # loaded, not yet freed
        self.a_bank = self.w_bank = self.w_row = 0
        if self.fused:
            self.pipe = [np.zeros((R, C), np.uint64) for _ in range(self.L)]
        else:
            self.psum_reg = np.zeros((R, C), np.uint64)
        self.bottom = np.zeros((C, C), np.uint64)     # [d] = bottom row's psums d edges ago
        self.slots = [(np.zeros(C, np.uint64), False), (np.zeros(C, np.uint64), False)]
        self.count = self.wptr = self.rptr = 0
        self.a_buf = self.b_buf = None
        self._a_lanes = np.zeros(R, np.uint64)
        self._b_lanes = np.zeros(C, np.uint64)
        self._b_last = False

    def psum(self):
        """Every PE's partial-sum register in the current cycle, (R, C)."""
        return self.pipe[-1] if self.fused else self.psum_reg

    def _act(self):
        return self.a_hist[self.delays, self._rows]

    def state(self):
        """``dbg_state``: the fields psum, (MAC only) pe, act, w0, w1, each R*C lanes
        ``k*C + j``."""
        fields = [self.psum()]
        if not self.fused:
            fields.append(self.pes.result())
        fields += [self._act(), self.banks[0], self.banks[1]]
        return np.concatenate([np.asarray(f, np.uint64).reshape(-1) for f in fields])

    def _row(self):
        """The aligned result row entering the output FIFO in this cycle (de-skewed)."""
        C = self.C
        return self.bottom[C - 1 - np.arange(C), np.arange(C)].copy()

    def _advance_array(self):
        """One advancing edge of the PE grid: products, partial sums, the de-skew."""
        R, C = self.R, self.C
        f = self.flags[self.delays]                   # (R, C, 3) at the PE operands
        valid = f[..., 0].astype(bool)
        w_in = np.where(f[..., 2].astype(bool), self.banks[1], self.banks[0])
        a_in = self._act()
        north = np.zeros((R, C), np.uint64)
        north[1:] = self.psum()[:-1]
        if self.fused:
            new = np.asarray(self.fma(a_in.astype(np.int64), w_in.astype(np.int64),
                                      north.astype(np.int64))).astype(np.uint64)
            self.pipe = [new] + self.pipe[:-1]
        else:
            self.psum_reg = (north + self.pes.result()) & self.mask
            self.pes.tick(a_in, w_in, valid, valid)
        self.bottom[1:] = self.bottom[:-1].copy()
        self.bottom[0] = self.psum()[R - 1]

    def step(self, a_valid, a_last, a_data, b_valid, b_last, b_data, c_ready, rst=0):
        """One cycle; returns ``(a_ready, b_ready, c_valid, c_data, c_last)``."""
        R = self.R
        arrive = self.flags[self.E]
        advance = not (arrive[0] and self.count == 2)
        accept = advance and self.a_buf is not None and self.bank_ready[self.a_bank]
        load = self.b_buf is not None and not self.bank_busy[self.w_bank]
        a_ready = self.a_buf is None or accept
        b_ready = self.b_buf is None or load
        c_valid = self.count != 0
        head, head_last = self.slots[self.rptr]
        outputs = (a_ready, b_ready, c_valid, head.copy(), bool(head_last))
        if rst:
            self.reset()
            return outputs
        # --- the rising edge ---
        send = c_valid and bool(c_ready)
        write = advance and bool(arrive[0])
        if write:
            self.slots[self.wptr] = (self._row(), bool(arrive[1]))
            self.wptr ^= 1
        if send:
            self.rptr ^= 1
        self.count += int(write) - int(send)
        a_last_buf = self.a_buf is not None and self.a_buf[1]
        if advance:
            self._advance_array()
            freed = self.flags[self.D]
            if freed[0] and freed[1]:
                self.bank_busy[int(freed[2])] = False
            self.flags[2:] = self.flags[1:-1].copy()
            self.flags[1] = (int(accept), int(accept and a_last_buf), self.a_bank)
            self.a_hist[2:] = self.a_hist[1:-1].copy()
            self.a_hist[1] = self._a_lanes
        if load:
            self.banks[self.w_bank, self.w_row] = self._b_lanes
            if self._b_last:                              # a short tile: zero rows
                self.banks[self.w_bank, self.w_row + 1:] = 0
            if self.w_row == R - 1 or self._b_last:
                self.bank_ready[self.w_bank] = self.bank_busy[self.w_bank] = True
                self.w_bank ^= 1
                self.w_row = 0
            else:
                self.w_row += 1
        if accept and a_last_buf:
            self.bank_ready[self.a_bank] = False
            self.a_bank ^= 1
        if a_valid and a_ready:
            self.a_buf = (a_data, bool(a_last))
            self._a_lanes = np.asarray(a_data, np.uint64)
        elif accept:
            self.a_buf = None
        if b_valid and b_ready:
            self.b_buf = True
            self._b_lanes = np.asarray(b_data, np.uint64)
            self._b_last = bool(b_last)
        elif load:
            self.b_buf = None
        return outputs
