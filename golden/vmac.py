"""Vectorized cycle model of the integer MAC for a whole PE array: :class:`MacArray` is
:class:`golden.mac.Mac` (which stays the independent reference) for ``shape`` PEs at once,
bit-exact to it, with numpy 64-bit words and no Python integers per PE.

* Arithmetic is modulo ``2**64`` (numpy's fixed-width integers wrap): products, the
  accumulator and the carry-save rows are 64-bit words, reduced to ``acc_width`` bits only
  when read (:meth:`MacArray.outputs`). That is exact because ``2**acc_width`` divides
  ``2**64`` and no operation moves a bit downwards. Accumulators wider than 64 bits
  (``acc_width`` up to 128) use two ``uint64`` words with an explicit carry.
* ``clear`` and ``enable`` act through arithmetic masks, so a cycle is a handful of
  whole-array operations and no ``where``: ``acc <- (acc & (clear - 1)) + a * b * enable``.
* ``pair=True`` also keeps the scalar model's word-level carry-save pair ``(S, C)``
  (``S' = S ^ C ^ P``, ``C' = maj(S, C, P) << 1``; zero on ``clear``; held when neither
  ``clear`` nor ``enable``). A testbench needs only ``acc`` (the RTL's ``sum + carry`` must
  equal it), so the pair is optional; it costs about three times the cycle time.

``terms=T`` models ``hdl.mac.Mac(config, terms=T)``: operands carry a last axis of ``T``
lanes and the product is the dot product ``sum_t a[..., t] * b[..., t]`` (modulo ``2**64``
too; two words with a carry for accumulators wider than 64 bits).

The fastest path (no input register, no pair, at most 64 accumulator bits) wants ``a`` and
``b`` as ``int64`` arrays (what ``numpy.random.Generator.integers`` gives) and ``clear`` as
signed integers or bools; other inputs are converted first.
"""

import numpy as np

from tpegen.config import MacConfig

__all__ = ["MacArray"]

_U = np.uint64
_I64 = np.dtype(np.int64)
_ONE = _U(1)
_SIXTY_THREE = _U(63)


def _words_mask(width):
    return _U(0xFFFF_FFFF_FFFF_FFFF) if width >= 64 else _U((1 << width) - 1)


def _int64(x):
    x = np.asarray(x)
    return x if x.dtype is _I64 else x.astype(np.int64)


class MacArray:
    """``shape`` PEs of :class:`hdl.mac.Mac` with the parameters of ``config`` (or of
    ``MacConfig(**params)``).

    Operands are integer arrays in their natural range (negative for signed operands),
    ``clear`` and ``enable`` arrays of 0/1 or bools; every input broadcasts to ``shape``.
    :meth:`tick` applies one rising edge (returns nothing, like the scalar model);
    :meth:`outputs` gives the ports' unsigned bit patterns (``uint64`` arrays; for
    ``acc_width > 64``, object arrays of Python integers, built only when read).
    """

    def __init__(self, config=None, shape=1, *, pair=False, terms=1, **params):
        self.config = cfg = config if config is not None else MacConfig(**params)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.terms = terms
        self.pair = pair
        self.width = cfg.acc_width
        self.wide = self.width > 64
        self.mask = (1 << self.width) - 1
        self._output_reg = cfg.output_reg
        # small arrays: update the accumulator in place (saves the allocations that dominate
        # there); large ones: a new array each cycle (in-place loops over large arrays can
        # stall on 4 KiB address aliasing with the operands, several times slower)
        self._in_place = not cfg.output_reg and int(np.prod(self.shape)) <= 4096
        self.reset()
        if self.wide:
            self.tick = self._tick_wide
        elif pair or cfg.input_reg or terms > 1:
            self.tick = self._tick_narrow

    @property
    def latency(self):
        return self.config.latency

    # --- state --------------------------------------------------------------------------

    def reset(self):
        """Synchronous reset: every register to zero."""
        if self.wide:
            zero = np.zeros(self.shape, _U)
            self._acc = self._result = self._s = self._c = (zero, zero)
            # input registers: (product words, keep mask, enable mask), a hold
            self._pending = ((zero, zero), ~zero, zero)
        else:
            zeros = [np.zeros(self.shape, np.int64) for _ in range(4)]
            self._acc, self._result = zeros[0], zeros[1]       # the fast tick updates _acc
            self._s, self._c = zeros[2].view(_U), zeros[3].view(_U)    # in place
            self._pending = (zeros[1], zeros[1] - 1, zeros[1])

    def _read(self, words):
        if not self.wide:
            return words.view(_U) & _words_mask(self.width)
        lo, hi = words[0], words[1] & _words_mask(self.width - 64)
        out = np.empty(self.shape, object)
        out.reshape(-1)[:] = [(int(h) << 64) | int(w) for w, h in zip(lo.ravel(), hi.ravel())]
        return out

    @property
    def acc(self):
        """The accumulators as ``acc_width``-bit patterns."""
        return self._read(self._acc)

    @property
    def s(self):
        """The carry-save sum row (``pair=True`` only)."""
        self._need_pair()
        return self._read(self._s)

    @property
    def c(self):
        """The carry-save carry row (``pair=True`` only)."""
        self._need_pair()
        return self._read(self._c)

    def _need_pair(self):
        if not self.pair:
            raise AttributeError("the carry-save pair is kept only with MacArray(..., "
                                 "pair=True)")

    def outputs(self):
        """Port values in the current cycle: ``result`` and the reference accumulator
        ``acc`` (what the RTL's ``sum + carry`` must equal)."""
        acc = self.acc
        return {"result": self._read(self._result) if self._output_reg else acc, "acc": acc}

    # --- one clock edge -----------------------------------------------------------------

    def tick(self, a, b, clear, enable):
        """One rising edge with these port inputs (arrays broadcast to ``shape``)."""
        try:
            # (an enable of another dtype multiplies correctly, or raises)
            fast = a.dtype is _I64 and b.dtype is _I64 and clear.dtype.kind in "bi"
        except AttributeError:
            fast = False
        if not fast:
            a = np.broadcast_to(_int64(a), self.shape)
            b, clear, enable = _int64(b), _int64(clear), _int64(enable)
        p = a * b                      # wraps modulo 2**64 like the accumulator
        p *= enable
        if self._in_place:             # nothing else refers to the accumulator
            acc = self._acc
            acc &= clear - 1           # all ones unless clear
            acc += p
        else:
            if self._output_reg:       # the output register samples the old accumulator
                self._result = self._acc
            acc = self._acc & (clear - 1)
            acc += p
            self._acc = acc

    def _product(self, a, b):
        """``a * b``, or with ``terms`` the dot product over the last axis (int64, mod 2**64)."""
        p = _int64(a) * _int64(b)
        return p.sum(axis=-1) if self.terms > 1 else p

    def _inputs(self, a, b, clear, enable):
        """Product (zero where not enabled), keep mask (all ones unless ``clear``) and
        enable mask, as int64."""
        en = -_int64(enable)
        return self._product(a, b) & en, _int64(clear) - 1, en

    def _wide_words(self, a, b, en):
        """The product (dot product) as 128-bit words ``(lo, hi)``, zero where not enabled."""
        cfg = self.config
        p = _int64(a) * _int64(b)                 # |a*b| < 2**63, or unsigned < 2**64
        if self.terms == 1:
            p = p[..., None]
        lo_t = p.view(_U)
        hi_t = (p >> 63).view(_U) if (cfg.a_signed or cfg.b_signed) else np.zeros_like(lo_t)
        lo = np.zeros(p.shape[:-1], _U)
        hi = np.zeros(p.shape[:-1], _U)
        for t in range(p.shape[-1]):
            new = lo + lo_t[..., t]
            hi = hi + hi_t[..., t] + (new < lo).astype(_U)
            lo = new
        en = en.view(_U)
        return np.broadcast_to(lo & en, self.shape), np.broadcast_to(hi & en, self.shape)

    def _tick_narrow(self, a, b, clear, enable):
        p, keep, en = self._inputs(a, b, clear, enable)
        if self.config.input_reg:
            (p, keep, en), self._pending = self._pending, (p, keep, en)
        if self._output_reg:
            self._result = self._acc
        acc = self._acc & keep
        acc += p
        self._acc = acc
        if self.pair:
            # the pair in uint64 (shifts of negative int64 are not portable)
            s, c = self._step_pair((self._s,), (self._c,), (p.view(_U),), keep.view(_U),
                                   en.view(_U))
            self._s, self._c = s[0], c[0]

    def _tick_wide(self, a, b, clear, enable):
        en = np.broadcast_to(-_int64(enable), self.shape)
        keep = np.broadcast_to(_int64(clear) - 1, self.shape)
        words = self._wide_words(a, b, en)
        keep, en = keep.view(_U), en.view(_U)
        if self.config.input_reg:
            (words, keep, en), self._pending = self._pending, (words, keep, en)
        if self._output_reg:
            self._result = self._acc
        lo = self._acc[0] & keep
        new_lo = lo + words[0]
        carry = (new_lo < lo).astype(_U)
        self._acc = (new_lo, (self._acc[1] & keep) + words[1] + carry)
        if self.pair:
            self._s, self._c = self._step_pair(self._s, self._c, words, keep, en)

    @staticmethod
    def _step_pair(s_words, c_words, p_words, keep, en):
        """One carry-save step on word tuples (low word first); ``keep`` is all ones unless
        ``clear``, ``en`` all ones where ``enable``; ``p_words`` are already zero where not
        enabled. A held lane sees ``c = 0``, ``p = 0``: ``S' = S``, and keeps its ``C``."""
        update = keep & en
        hold = keep & ~en
        new_s, majs = [], []
        for s, c, p in zip(s_words, c_words, p_words):
            s = s & keep
            c = c & update
            t = s ^ c
            new_s.append(t ^ p)
            majs.append((s & c) | (t & p))
        shifted = [majs[0] << _ONE] + [(hi << _ONE) | (lo >> _SIXTY_THREE)
                                       for lo, hi in zip(majs, majs[1:])]
        new_c = tuple(m | (c & hold) for m, c in zip(shifted, c_words))
        return tuple(new_s), new_c

    def run(self, a, b, clear, enable):
        """``T`` clock edges at once (inputs of shape ``(T, *shape)``, or broadcast to it);
        returns the ``result`` of each cycle, shape ``(T, *shape)``."""
        a, b, clear, enable = np.broadcast_arrays(*(_int64(x) for x in (a, b, clear, enable)))
        out = np.empty(a.shape, object if self.wide else _U)
        for t in range(a.shape[0]):
            self.tick(a[t], b[t], clear[t], enable[t])
            out[t] = self.outputs()["result"]
        return out
