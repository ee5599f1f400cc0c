"""Batched (trace) form of the output-accumulating engines' cycle model: the same spec as
:class:`.accumulating.AccumulatingEngine` (docs/engines.md), run over a whole block of
cycles at once, for fast checking of long simulations.

:meth:`TraceModel.run` takes T cycles of observed inputs and returns the T cycles of
outputs the engine must show, including every PE's state, and it keeps its state from one
call to the next. It works in two passes.

1. **Control** (a Python loop with integer bit masks, a few operations per cycle). It
   computes the input registers, ``advance``, the tile flags, the captures, the row flags
   and the drain pointer. For every *advancing step* (a cycle with ``advance``) it records
   what entered the array: the input registers' lanes and the flags.
2. **The PE array, over all steps at once** (numpy over steps x R x C). PE(i, j)'s input at
   step ``u`` is what entered at step ``u - delay(i, j)``: a gather.
   - An integer MAC's accumulator is then a *segmented prefix sum* (``acc <- clear ? p :
     acc + p`` is a cumulative sum restarted at each ``clear``), modulo ``2**64`` and read
     modulo ``2**acc_width``. This is the arithmetic of docs/mac.md, written here a second
     time, independently of :mod:`golden.vmac`.
   - FP PEs step their vectorized model once per step.

A reset is an advancing step that empties everything: the PEs' state, the registers that
carry operands and flags, and the result rows. The tests check this model against
:class:`.AccumulatingEngine` cycle for cycle, on random streams with stalls and resets.

Members
-------
TraceModel
    The batched model of one engine configuration.
"""

from collections import deque

import numpy as np

__all__ = ["TraceModel"]

_U = np.uint64


class TraceModel:
    """Batched cycle model of an output-accumulating engine.

    Parameters
    ----------
    engine : AccumulatingEngine
        The per-cycle model. Its geometry (``delay``, ``min_spacing``), its configuration and
        its PE array are used here; its own state is not.
    """

    def __init__(self, engine):
        if engine.multi_cycle:
            raise ValueError(f"pe={engine.config.pe.kind!r}: beats of several cycles (a shared "
                             "digit schedule) are not batched here; step the per-cycle "
                             "AccumulatingEngine")
        self.engine = engine
        cfg = engine.config
        self.R, self.C, self.L = engine.R, engine.C, engine.L
        self.d = engine.delays
        self.H = int(self.d.max()) + self.L + 2          # history kept across calls
        self.spacing = engine.min_spacing
        pe = cfg.pe
        self.int_pe = pe.kind == "mac"
        if self.int_pe:
            self.width = pe.acc_width
            self.input_reg, self.output_reg = pe.input_reg, pe.output_reg
            self.signs = [(pe.a_width, pe.a_signed), (pe.b_width, pe.b_signed)]
            if self.width > 64:
                self.int_pe = False                       # wide accumulators: step the model
        self.rowmask = (1 << self.R) - 1
        self.cap0 = self._row_bits(self.d[:, 0] + self.L - 1)
        self.capc = self._row_bits(self.d[:, self.C - 1] + self.L - 1)
        self.reset()

    def _row_bits(self, positions):
        """A function of the history bits (bit ``k`` = the ``last`` flag pushed ``k + 1``
        steps ago) giving the rows whose PE at ``positions[i]`` captures now, as a mask."""
        positions = [int(p) for p in positions]
        mask = self.rowmask
        if all(p == positions[0] + i for i, p in enumerate(positions)):
            shift = positions[0]
            return lambda bits: (bits >> shift) & mask
        if all(p == positions[0] for p in positions):
            shift = positions[0]
            return lambda bits: mask if (bits >> shift) & 1 else 0
        return lambda bits: sum(((bits >> p) & 1) << i for i, p in enumerate(positions))

    # --- state ------------------------------------------------------------------------------

    def reset(self):
        R, C, H = self.R, self.C, self.H
        self._control_reset()
        self.tau = H                                      # steps so far (history before: 0)
        self.seg_start = 0                                # first step after the last reset
        na, nb = self.engine.a_count, self.engine.b_count
        self.hist_a = np.zeros((H, na), _U)               # the last H steps' lanes and flags
        self.hist_b = np.zeros((H, nb), _U)
        self.hist_f = np.zeros((H, 3), bool)
        self.a_lanes = np.zeros(na, _U)                   # the input registers' lanes
        self.b_lanes = np.zeros(nb, _U)
        self.shadow = np.zeros((R, C), _U)
        self.pes = self.engine.pes
        self.pes.reset()
        self.result_now = self.pes.result().copy()        # the result ports now
        if self.int_pe:
            self.acc = np.zeros((R, C), np.int64)         # accumulator words (mod 2**64)
            self.pending = np.zeros((3, R, C), np.int64)  # input register: p, clear, enable
            self.out_reg = np.zeros((R, C), np.int64)

    def _control_reset(self):
        self.a_full = self.b_full = False
        self.a_bl = self.b_bl = False
        self.in_tile = False
        self.hold = 0
        self.occupied = self.complete = 0
        self.ptr = 0
        self.last_bits = 0
        self.tiles = deque()                               # step of each tile's last beat
        self.cap_step = np.full((self.R, self.C), -1, np.int64)  # last capture of each PE

    # --- one block of cycles --------------------------------------------------------------

    def run(self, a_valid, a_last, a_data, b_valid, b_last, b_data, c_ready, rst):
        """T cycles: inputs are arrays of length T (``a_data``: T x ``a_count`` lanes,
        ``b_data``: T x ``b_count``). Returns a dict of arrays: ``a_ready``, ``b_ready``, ``c_valid``, ``c_last``
        (T), ``c_data`` (T x C, meaningful where ``c_valid``) and ``state`` (T x R*C)."""
        T, R, C = len(a_valid), self.R, self.C
        a_valid, a_last, b_valid, b_last, c_ready, rst = (
            np.asarray(x).astype(bool).tolist()
            for x in (a_valid, a_last, b_valid, b_last, c_ready, rst))
        a_data, b_data = np.asarray(a_data, _U), np.asarray(b_data, _U)
        out_ar, out_br, out_cv, out_cl = (np.zeros(T, bool) for _ in range(4))
        tau_of = np.zeros(T, np.int64)                    # steps before each cycle
        emits = []                                        # (cycle, row, tile's last step)
        steps_a, steps_b, steps_f, resets = [], [], [], []
        tau0 = self.tau
        spacing, Rm1 = self.spacing, R - 1
        cap0, capc = self.cap0, self.capc
        hmask = (1 << (self.H + 1)) - 1
        a_src = b_src = None                              # trace cycle whose lanes are held
        a_lanes, b_lanes = self.a_lanes, self.b_lanes
        for t in range(T):
            tau_of[t] = self.tau
            bits = self.last_bits
            c0 = cap0(bits)
            advance = not (c0 & self.occupied)
            last = self.a_bl or self.b_bl
            accept = advance and self.a_full and self.b_full and (not last or self.hold == 0)
            a_ready = (not self.a_full) or accept
            b_ready = (not self.b_full) or accept
            ptr = self.ptr
            c_valid = bool((self.complete >> ptr) & 1)
            out_ar[t], out_br[t], out_cv[t], out_cl[t] = a_ready, b_ready, c_valid, ptr == Rm1
            if c_valid:
                emits.append((t, ptr, self.tiles[0]))      # the row the port shows
            if rst[t]:
                self._control_reset()
                resets.append(self.tau)
                steps_a.append(None)
                steps_b.append(None)
                steps_f.append((False, False, False))
                self.tau += 1
                a_src = b_src = None
                a_lanes = np.zeros(self.engine.a_count, _U)
                b_lanes = np.zeros(self.engine.b_count, _U)
                continue
            if c_valid and c_ready[t]:
                sent = 1 << ptr
                if ptr == Rm1:
                    self.tiles.popleft()
                self.ptr = 0 if ptr == Rm1 else ptr + 1
            else:
                sent = 0
            if advance:
                set_occ, set_cpl = c0, capc(bits)
            else:
                set_occ = set_cpl = 0
            self.occupied = (self.occupied & ~sent) | set_occ
            self.complete = (self.complete & ~sent) | set_cpl
            if advance:
                if accept and last:
                    self.hold = spacing - 1
                elif self.hold:
                    self.hold -= 1
                first = accept and not self.in_tile
                ends = accept and last
                steps_a.append(a_src if a_src is not None else a_lanes)
                steps_b.append(b_src if b_src is not None else b_lanes)
                steps_f.append((accept, first, ends))
                if ends:
                    self.tiles.append(self.tau)
                self.last_bits = ((bits << 1) | ends) & hmask
                self.tau += 1
            if accept:
                self.in_tile = not last
            if a_valid[t] and a_ready:
                self.a_full, self.a_bl, a_src = True, a_last[t], t
            elif accept:
                self.a_full = False
            if b_valid[t] and b_ready:
                self.b_full, self.b_bl, b_src = True, b_last[t], t
            elif accept:
                self.b_full = False
        # the lanes the input registers hold at the end, for the next call
        if a_src is not None:
            a_lanes = a_data[a_src]
        if b_src is not None:
            b_lanes = b_data[b_src]
        self.a_lanes, self.b_lanes = a_lanes, b_lanes

        result_after = self._pe_steps(tau0, steps_a, steps_b, steps_f, resets, a_data, b_data)
        # the ports: state in each cycle, captured rows at each emission
        state = result_after[tau_of - tau0].reshape(T, R * C)
        c_data = np.zeros((T, C), _U)
        if emits:
            cyc = np.array([e[0] for e in emits])
            row = np.array([e[1] for e in emits])
            last_step = np.array([e[2] for e in emits])
            cap = last_step[:, None] + self.d[row] + self.L          # (E, C) capture steps
            cols = np.arange(C)[None, :]
            inside = cap >= tau0
            got = result_after[np.clip(cap - tau0, 0, None), row[:, None], cols]
            before = self.shadow[row[:, None], cols]
            c_data[cyc] = np.where(inside, got, before)
        if len(steps_f):
            pf, src_cap, live_cap, rs = self._capture
            self._update_shadow(tau0, result_after, pf, live_cap, src_cap, rs)
        return {"a_ready": out_ar, "b_ready": out_br, "c_valid": out_cv, "c_last": out_cl,
                "c_data": c_data, "state": state}

    # --- the PE array over the steps -------------------------------------------------------

    def _pe_steps(self, tau0, steps_a, steps_b, steps_f, resets, a_data, b_data):
        """``result_after[k]``: every PE's ``result`` after ``tau0 + k`` steps, k = 0..U."""
        R, C, H, d = self.R, self.C, self.H, self.d
        U = len(steps_f)

        def lanes(steps, data, width):
            if not steps:
                return np.zeros((0, width), _U)
            return np.stack([data[s] if isinstance(s, (int, np.integer)) else
                             (np.zeros(width, _U) if s is None else s) for s in steps])
        eng = self.engine
        pa = np.concatenate([self.hist_a, lanes(steps_a, a_data, eng.a_count)])
        pb = np.concatenate([self.hist_b, lanes(steps_b, b_data, eng.b_count)])
        pf = np.concatenate([self.hist_f, np.array(steps_f, bool).reshape(U, 3)])
        self.hist_a, self.hist_b, self.hist_f = pa[-H:], pb[-H:], pf[-H:]
        if U == 0:
            return self.result_now[None].copy()
        # segment start (first step after the last reset) of every step, global index
        seg = np.full(U, self.seg_start, np.int64)
        for r in resets:
            seg[r - tau0:] = r + 1
        if resets:
            self.seg_start = resets[-1] + 1
        steps = tau0 + np.arange(U)
        src = steps[:, None, None] - d[None]                       # (U, R, C) step entered
        live = src >= seg[:, None, None]                           # not from before a reset
        idx = src - tau0 + H                                       # index into pa/pb/pf
        # the lanes PE(i, j) reads (with the cube's D: a last axis of D lanes)
        ia, ib = eng.a_index[None], eng.b_index[None]
        if eng.group > 1:
            idx_l, live_l = idx[..., None], live[..., None]
        else:
            idx_l, live_l = idx, live
        a_in = np.where(live_l, pa[idx_l, ia], 0)
        b_in = np.where(live_l, pb[idx_l, ib], 0)
        f_in = pf[idx] & live[..., None]
        enable, clear = f_in[..., 0], f_in[..., 0] & f_in[..., 1]
        last = f_in[..., 0] & f_in[..., 2]
        is_reset = np.zeros(U, bool)
        is_reset[[r - tau0 for r in resets]] = True
        if self.int_pe:
            results = self._int_scan(a_in, b_in, clear, enable, is_reset)
        else:
            results = np.empty((U, R, C), _U)
            for u in range(U):
                if is_reset[u]:
                    self.pes.reset()
                else:
                    self.pes.tick(a_in[u], b_in[u], clear[u], enable[u], last[u])
                results[u] = self.pes.result()
        out = np.concatenate([self.result_now[None], results])
        self.result_now = out[-1].copy()
        self._capture = (pf, src - self.L, (src - self.L) >= seg[:, None, None], resets)
        return out

    def _signed(self, bits, k):
        width, signed = self.signs[k]
        x = bits.astype(np.int64)
        return x - ((x >> (width - 1)) << width) if signed else x

    def _int_scan(self, a_in, b_in, clear, enable, is_reset):
        """The integer MAC over U steps: ``acc <- (clear ? 0 : acc) + enable * a * b``
        (modulo 2**64), with the optional input and output registers; a reset zeroes all."""
        U = len(is_reset)
        p = self._signed(a_in, 0) * self._signed(b_in, 1)                   # wraps mod 2**64
        if p.ndim == 4:                                   # the cube's D products per PE
            p = p.sum(axis=-1)
        p = p * enable
        clr = clear.astype(np.int64)
        en = enable.astype(np.int64)
        rs = is_reset[:, None, None]
        if self.input_reg:           # the accumulator sees the inputs one step late
            p = np.concatenate([self.pending[0][None], p])
            clr = np.concatenate([self.pending[1][None], clr])
            en = np.concatenate([self.pending[2][None], en])
            self.pending = np.stack([p[-1], clr[-1], en[-1]])
            p, clr, en = p[:-1], clr[:-1], en[:-1]
            # a reset also empties the input register: what it held does not reach acc
            after_reset = np.concatenate([[False], is_reset[:-1]])[:, None, None]
            p, clr = np.where(after_reset, 0, p), np.where(after_reset, 0, clr)
            if is_reset[-1]:
                self.pending = np.zeros_like(self.pending)
        # segmented prefix sum: restart at clear (from this step's product) or reset (from 0)
        p = np.where(rs, 0, p)
        restart = (clr.astype(bool)) | rs
        steps = np.arange(U)[:, None, None]
        start = np.maximum.accumulate(np.where(restart, steps, -1), axis=0)
        total = np.cumsum(p, axis=0)                                        # wraps mod 2**64
        total_before = np.concatenate([np.zeros((1,) + p.shape[1:], np.int64), total])
        base = np.take_along_axis(total_before, np.maximum(start, 0), axis=0)
        acc = np.where(start >= 0, total - base, total + self.acc)
        if self.output_reg:          # result shows the accumulator one step late
            prev = np.concatenate([self.acc[None], acc[:-1]])
            prev = np.where(np.concatenate([[False], is_reset[:-1]])[:, None, None], 0, prev)
            result = np.where(rs, 0, prev)
        else:
            result = acc
        self.acc = acc[-1].copy()
        mask = _U((1 << self.width) - 1) if self.width < 64 else _U(0xFFFF_FFFF_FFFF_FFFF)
        return result.view(_U) & mask

    def _update_shadow(self, tau0, result_after, pf, live_cap, src_cap, resets):
        """The result registers after this block: each PE's last capture in it (a capture at
        step ``u`` reads ``result_after[u - tau0]``); zero after a reset with no capture."""
        U = pf.shape[0] - self.H
        if not U:
            return
        cap = pf[src_cap - tau0 + self.H, 2] & live_cap                 # (U, R, C)
        steps = np.arange(U)[:, None, None]
        last = np.max(np.where(cap, steps, -1), axis=0)                   # (R, C)
        R, C = self.R, self.C
        got = result_after[np.maximum(last, 0), np.arange(R)[:, None], np.arange(C)[None, :]]
        shadow = np.where(last >= 0, got, self.shadow)
        if resets:
            shadow = np.where(last + tau0 > resets[-1], shadow, 0).astype(_U)
        self.shadow = shadow.astype(_U)
