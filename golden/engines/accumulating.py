"""Cycle model of the output-accumulating engines (systolic-os, matrix2d), written from
docs/engines.md ("Output-accumulating engines"): :class:`AccumulatingEngine`.

One call of :meth:`AccumulatingEngine.step` is one clock cycle: it takes the values the
testbench observed on the input ports in that cycle, returns what the engine's outputs
must be in that cycle, and applies the rising edge. Everything is numpy over the R x C
array (no Python loop over PEs); the PEs are a vectorized PE model (:class:`PeArray`), the
same golden model as the stand-alone unit.

State, as in the spec:

* ``flags[k]``, ``k >= 1``: (valid, first, last, end) of the cycle ``k`` advancing cycles
  ago: valid/first/last of the beat accepted then (a bubble: false), end: that cycle was the
  last of a tile's last beat (a beat of ``n`` cycles, a PE's shared digit schedule
  :meth:`PeArray.beat_cycles`, ends ``n - 1`` advancing cycles after its acceptance, and no
  beat is accepted in between);
* ``a_hist[k]``, ``b_hist[k]``: the operand lanes on the bus ``k`` advancing cycles ago (the
  skew and systolic registers hold them whatever ``valid`` was; a bubble reaches a PE with
  ``enable`` low);
* the PEs' state, the captured results ``shadow``, the row flags ``occupied`` and
  ``complete``, the output row pointer ``ptr``, the tile flag ``in_tile``, the
  countdown ``hold`` before the next last beat (from the previous one's end), and ``wait``,
  the cycles left of a multi-cycle beat, with ``end_due``.

Members
-------
AccumulatingEngine
    The model; subclasses give ``delay(i, j)`` and ``min_spacing`` (:mod:`.systolic_os`,
    :mod:`.matrix2d`).
PeArray
    R x C PEs from a vectorized PE cycle model, on raw bit patterns.
"""

import numpy as np

__all__ = ["AccumulatingEngine", "PeArray"]


def _bits(x):
    """Result bit patterns: ``uint64``, or Python integers (``object``) for accumulators
    wider than 64 bits."""
    x = np.asarray(x)
    return x if x.dtype == object else x.astype(np.uint64)


class PeArray:
    """A vectorized PE cycle model (``reset``, ``tick(a, b, clear, enable[, last])``; an integer
    MAC's ``outputs()``, or an FP MAC's ``tick`` return value) seen on raw bit patterns:
    :meth:`tick` takes the operands' unsigned bits (converted to signed values for a signed
    integer PE), :meth:`result` gives the ``result`` port's bits in the current cycle."""

    def __init__(self, model, pe_config, shape):
        self.model, self.shape = model, shape
        #: a PE with more inputs than a, b, clear, enable (``takes``: its tick's order): the
        #: group PE's ``last``, and the inputs the engine ties (``engine_ties``)
        self.takes = getattr(model, "takes", None)
        self.ties = getattr(pe_config, "engine_ties", {})
        self.signs = []
        for width, signed in ((getattr(pe_config, "a_width", None),
                               getattr(pe_config, "a_signed", False)),
                              (getattr(pe_config, "b_width", None),
                               getattr(pe_config, "b_signed", False))):
            # (an integer MAC's operands are values; other PEs' models take bit patterns)
            self.signs.append((width, signed and width is not None
                               and pe_config.kind == "mac"))
        self.reset()

    def reset(self):
        self.model.reset()
        self._result = np.zeros(self.shape, np.uint64)
        if hasattr(self.model, "outputs"):
            self._result = self.model.outputs()["result"]

    def _value(self, bits, k):
        width, signed = self.signs[k]
        bits = bits.astype(np.int64)
        if signed:
            bits = bits - ((bits >> (width - 1)) << width)
        return bits

    def tick(self, a, b, clear, enable, last=None):
        """One clock edge; ``last``: the beat that ends a tile (for a PE with a ``last``
        input)."""
        a, b = self._value(a, 0), self._value(b, 1)
        if self.takes is None:
            out = self.model.tick(a, b, clear, enable)
        else:
            given = {"a": a, "b": b, "clear": clear, "enable": enable, "valid": enable,
                     "last": np.zeros(self.shape, bool) if last is None else last, **self.ties}
            out = self.model.tick(*(given[name] for name in self.takes))
        if hasattr(self.model, "outputs"):
            self._result = self.model.outputs()["result"]
        else:
            self._result = _bits(out)

    def result(self):
        return _bits(self._result)

    def beat_cycles(self, a, b):
        """Cycles one beat (the bus lanes ``a``, ``b``) occupies: the PE model's shared digit
        schedule (``beat_cycles``), else 1."""
        schedule = getattr(self.model, "beat_cycles", None)
        return 1 if schedule is None else schedule(a, b)


class AccumulatingEngine:
    """Cycle model of an R x C output-accumulating engine (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        The engine's parameters.
    pes : PeArray
        Its R x C PEs.
    """

    #: k-slices per beat (``config.terms``: the cube's D, the LUT PE's K): each PE takes
    #: ``group`` lanes of A and of B
    group = 1

    def __init__(self, config, pes):
        self.config = config
        self.group = config.terms       # the cube's D, the LUT PE's K products per beat
        self.R, self.C = config.rows, config.cols
        self.L = config.pe.engine_latency
        self.pes = pes
        R, C, D = self.R, self.C, self.group
        self.a_count, self.b_count = R * D, D * C
        I, J = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
        self.delays = np.vectorize(self.delay)(I, J).astype(np.int64)
        if D == 1:      # the lanes PE(i, j) reads: A's lane i and B's lane j
            self.a_index, self.b_index, self.step_index = I, J, self.delays
        else:           # D lanes each: A's i*D + d, B's d*C + j
            d = np.arange(D)[None, None, :]
            self.a_index = I[..., None] * D + d
            self.b_index = d * C + J[..., None]
            self.step_index = self.delays[..., None]
        self.depth = int(self.delays.max()) + self.L
        #: beats may take several cycles (a PE with a shared digit schedule)
        self.multi_cycle = hasattr(pes.model, "beat_cycles")
        self.reset()

    # --- geometry (subclasses) -------------------------------------------------------------

    def delay(self, i, j):
        raise NotImplementedError

    @property
    def min_spacing(self):
        raise NotImplementedError

    # --- how a tile travels (docs/engines.md, "Tiles") --------------------------------------

    def tile_shapes(self, k):
        """The shapes of a tile's operands for depth ``k``: A is R x k, B is k x C."""
        return (self.R, k), (k, self.C)

    def beats(self, k):
        """Beats of a tile of depth ``k``: ``ceil(k / group)``."""
        return -(-k // self.group)

    def a_beats(self, A):
        """The beats of stream ``a`` for operand tile ``A``: its columns (with ``group`` D,
        blocks of D columns, zero-padded, row-major: lane ``i*D + d``)."""
        D = self.group
        if D == 1:
            return [A[:, t] for t in range(A.shape[1])]
        A = np.pad(A, ((0, 0), (0, self.beats(A.shape[1]) * D - A.shape[1])))
        return [A[:, t * D:(t + 1) * D].reshape(-1) for t in range(A.shape[1] // D)]

    def b_beats(self, B):
        """The beats of stream ``b`` for operand tile ``B``: its rows (with ``group`` D,
        blocks of D rows, zero-padded, row-major: lane ``d*C + j``)."""
        D = self.group
        if D == 1:
            return [B[t] for t in range(B.shape[0])]
        B = np.pad(B, ((0, self.beats(B.shape[0]) * D - B.shape[0]), (0, 0)))
        return [B[t * D:(t + 1) * D].reshape(-1) for t in range(B.shape[0] // D)]

    def result_rows(self, A, B):
        """Rows of ``A @ B`` that stream ``c`` sends for the tile, in order: all R."""
        return self.R

    # --- timing formulas (docs/engines.md) ---------------------------------------------------

    @property
    def latency(self):
        """Cycles from a tile's last beat to its first result row, with no stall."""
        return 1 + int(self.delays[0, self.C - 1]) + self.L + 1

    def tile_cycles(self, k):
        """Cycles of one tile of depth ``k`` alone, from its first beat's transfer to its
        last row's, inclusive, with no stall: ``beats(k) + latency + R - 1``."""
        return self.beats(k) + self.latency + self.R - 1

    def period(self, k):
        """Cycles between the last beats of back-to-back tiles of ``k`` beats, in the steady
        state with both sides always ready."""
        raise NotImplementedError

    def stream_cycles(self, tiles, k):
        """Cycles of ``tiles`` back-to-back tiles of ``k`` beats each, first beat to last row."""
        return (tiles - 1) * self.period(k) + self.tile_cycles(k)

    # --- state ---------------------------------------------------------------------------------

    def reset(self):
        R, C = self.R, self.C
        n = self.depth + 1
        self.flags = np.zeros((n, 4), bool)          # [k] = the cycle k advancing cycles ago
        self.a_hist = np.zeros((n, self.a_count), np.uint64)
        self.b_hist = np.zeros((n, self.b_count), np.uint64)
        self.pes.reset()
        self.shadow = np.zeros((R, C), np.uint64)
        self.occupied = np.zeros(R, bool)
        self.complete = np.zeros(R, bool)
        self.ptr = 0
        self.in_tile = False
        self.hold = 0
        self.wait, self.end_due = 0, False
        self.a_buf = self.b_buf = None          # the input registers: (lanes, last) or None
        self._a_lanes = np.zeros(self.a_count, np.uint64)  # the registers' lanes (kept
        self._b_lanes = np.zeros(self.b_count, np.uint64)  # when emptied)

    def state(self):
        """Every PE's ``result`` in the current cycle, lane ``i*C + j`` (``dbg_state``)."""
        return self.pes.result().reshape(-1)

    def step(self, a_valid, a_last, a_data, b_valid, b_last, b_data, c_ready, rst=0):
        """One cycle: the outputs in this cycle for the observed inputs, then the edge.

        ``a_data`` (``a_count`` = R*D lanes) and ``b_data`` (``b_count`` = D*C) are the
        buses' unsigned lane values.
        Returns ``(a_ready, b_ready, c_valid, c_data, c_last)``; ``c_data`` is a copy of the
        row the output shows (its content counts only when ``c_valid``).
        """
        R, C, L = self.R, self.C, self.L
        delays = self.delays
        flags = self.flags
        cap = flags[delays + L, 3]                          # (R, C): capture this cycle
        advance = not bool(np.any(cap[:, 0] & self.occupied))
        a_buf, b_buf = self.a_buf, self.b_buf
        last = bool(a_buf is not None and a_buf[1]) or bool(b_buf is not None and b_buf[1])
        accept = (advance and a_buf is not None and b_buf is not None
                  and (not last or self.hold == 0) and self.wait == 0)
        cycles = self.pes.beat_cycles(a_buf[0], b_buf[0]) if accept else 1
        end = (accept and last and cycles == 1) or (advance and self.end_due
                                                    and self.wait == 1)
        a_ready = a_buf is None or accept
        b_ready = b_buf is None or accept
        c_valid = bool(self.complete[self.ptr])
        c_data = self.shadow[self.ptr].copy()
        c_last = self.ptr == R - 1
        outputs = (a_ready, b_ready, c_valid, c_data, c_last)
        if rst:
            self.reset()
            return outputs
        # --- the rising edge ---
        send = c_valid and bool(c_ready)
        sent = np.zeros(R, bool)
        if send:
            sent[self.ptr] = True
            self.ptr = 0 if self.ptr == R - 1 else self.ptr + 1
        if advance:
            results = self.pes.result()
            f = flags[delays]                               # (R, C, 4) at the PE inputs
            enable = f[..., 0]
            a_in = self.a_hist[self.step_index, self.a_index]
            b_in = self.b_hist[self.step_index, self.b_index]
            self.pes.tick(a_in, b_in, enable & f[..., 1], enable, enable & f[..., 2])
            self.shadow = np.where(cap, results, self.shadow)
            set_occ, set_cpl = cap[:, 0], cap[:, C - 1]
        else:
            set_occ = set_cpl = np.zeros(R, bool)
        self.occupied = (self.occupied & ~sent) | set_occ
        self.complete = (self.complete & ~sent) | set_cpl
        if advance:
            if end:
                self.hold = self.min_spacing - 1
            elif self.hold:
                self.hold -= 1
            if accept:
                self.wait, self.end_due = cycles - 1, last and cycles != 1
            elif self.wait:
                self.wait -= 1
            # the registers: index k holds what entered k advancing edges ago (the lanes of
            # the input registers, whatever they hold: a bubble has valid low)
            flags[2:] = flags[1:-1].copy()
            flags[1] = (accept, accept and not self.in_tile, accept and last, end)
            self.a_hist[2:] = self.a_hist[1:-1].copy()
            self.b_hist[2:] = self.b_hist[1:-1].copy()
            self.a_hist[1] = self._a_lanes
            self.b_hist[1] = self._b_lanes
        if accept:
            self.in_tile = not last
        # the input registers
        if a_valid and a_ready:
            self.a_buf = (a_data, bool(a_last))
            self._a_lanes = np.asarray(a_data, np.uint64)
        elif accept:
            self.a_buf = None
        if b_valid and b_ready:
            self.b_buf = (b_data, bool(b_last))
            self._b_lanes = np.asarray(b_data, np.uint64)
        elif accept:
            self.b_buf = None
        return outputs
