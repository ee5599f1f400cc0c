"""Golden models of the SIMD multi-precision MAC (:class:`hdl.pe.simd.SimdMac`, same name and
parameters), written from the spec in docs/pe.md, not from the RTL.

Spec. A W-bit datapath (H = W/2); ``a`` and ``b`` are 2W-bit words; the ``mode`` input
picks, on every cycle, how they split into lanes (lane ``i`` of an ``n``-bit split is bits
``i*n .. i*n + n - 1``, two's complement when the operand is signed):

====  ==========  =====  ============  ============
code  name        lanes  a lane bits   b lane bits
====  ==========  =====  ============  ============
0     1x(WxW)     1      W             W
1     2x(HxW)     2      H             W
2     4x(HxH)     4      H             H
3     (reserved)  0      -             -
====  ==========  =====  ============  ============

Each rising edge: ``acc <- (0 if clear else acc) + (sum_i a_i * b_i if enable else 0)``
modulo ``2**acc_width``; ``result`` is ``acc`` (latency 1). Bits of ``a`` and ``b`` above the
mode's lanes are ignored; code 3 adds nothing.

The XR-NPE design (a SIMD MAC with a reconfigurable mantissa multiplier for FP4 and posit
formats; its public repository holds no RTL) motivates the structure; the integer modes
here are the ones the issue names (1 x 8b x 8b, 2 x 4b x 8b, 4 x 4b x 4b at W = 8).

Members
-------
lanes
    The lanes of a word in a mode (scalar, Python integers).
pack
    Words from lane values (numpy): the inverse of :func:`lanes`.
SimdMac
    Scalar cycle model on Python integers (the reference the vectorized one is tested
    against): ``reset``, ``tick(a, b, mode, clear, enable)``, ``result``.
SimdMacArray
    The same for ``shape`` independent PEs at once (numpy), bit-exact to :class:`SimdMac`.
"""

import numpy as np

from tpegen.config import SimdMacConfig

__all__ = ["lanes", "pack", "SimdMac", "SimdMacArray"]


def _modes(cfg):
    """``{code: (lanes, a_bits, b_bits)}`` (code 3: none)."""
    return {code: (n, wa, wb) for code, _, n, wa, wb in cfg.modes()}


def _signed(x, bits, signed):
    return x - (1 << bits) if signed and x >> (bits - 1) & 1 else x


def lanes(x, mode, cfg, operand):
    """Lanes (natural integers) of the word ``x`` of ``operand`` (``"a"`` or ``"b"``) in
    ``mode``; ``[]`` for the reserved code."""
    spec = _modes(cfg).get(mode)
    if spec is None:
        return []
    n, wa, wb = spec
    bits = wa if operand == "a" else wb
    signed = cfg.a_signed if operand == "a" else cfg.b_signed
    return [_signed((x >> (i * bits)) & ((1 << bits) - 1), bits, signed) for i in range(n)]


def pack(values, bits):
    """Words (int64) holding ``values`` (natural integers, shape ``(words, n)``: lane ``i``
    of every word) as lanes of ``bits`` bits, lane ``i`` at bit ``i * bits``."""
    values = np.asarray(values, np.int64)
    word = np.zeros(values.shape[0], np.int64)
    for i in range(values.shape[1]):
        word |= (values[:, i] & ((1 << bits) - 1)) << (i * bits)
    return word


class SimdMac:
    """Scalar cycle model (see the module docstring); bit patterns in, ``result`` the
    accumulator's unsigned bit pattern."""

    def __init__(self, config=None, **params):
        self.config = config if config is not None else SimdMacConfig(**params)
        self.reset()

    def reset(self):
        self.acc = 0

    def products(self, a, b, mode):
        """``sum_i a_i * b_i`` of the mode's lanes (a natural integer)."""
        cfg = self.config
        return sum(x * y for x, y in zip(lanes(a, mode, cfg, "a"), lanes(b, mode, cfg, "b")))

    def tick(self, a, b, mode, clear, enable):
        base = 0 if clear else self.acc
        step = self.products(int(a), int(b), int(mode)) if enable else 0
        self.acc = (base + step) % (1 << self.config.acc_width)
        return self.acc

    @property
    def result(self):
        return self.acc


class SimdMacArray:
    """``shape`` PEs of :class:`SimdMac` (numpy; inputs broadcast to ``shape``). Words are
    ``uint64`` bit patterns and the arithmetic wraps modulo ``2**64`` (exact modulo
    ``2**acc_width`` when read); accumulators wider than 64 bits use Python integers.
    :meth:`tick` returns the new accumulators."""

    #: the inputs of :meth:`tick`, in order (an engine's PE array passes them by name)
    takes = ("a", "b", "mode", "clear", "enable")

    def __init__(self, config=None, shape=1, **params):
        self.config = cfg = config if config is not None else SimdMacConfig(**params)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.wide = cfg.acc_width > 64
        self.mask = (1 << cfg.acc_width) - 1
        self.modes = _modes(cfg)
        self.reset()

    def reset(self):
        self.acc = (np.zeros(self.shape, object) if self.wide
                    else np.zeros(self.shape, np.uint64))

    def _lanes(self, x, bits, n, signed):
        x = np.asarray(x).astype(np.uint64)
        out = []
        for i in range(n):
            v = ((x >> np.uint64(i * bits)) & np.uint64((1 << bits) - 1)).astype(np.int64)
            if signed:
                v = v - ((v >> (bits - 1)) << bits)
            out.append(v)
        return out

    def products(self, a, b, mode):
        """``sum_i a_i * b_i`` per PE, for the per-PE ``mode`` codes (int64: at most
        4 * 2**(2*16) in magnitude)."""
        cfg = self.config
        mode = np.broadcast_to(np.asarray(mode), self.shape)
        total = np.zeros(self.shape, np.int64)
        for code, (n, wa, wb) in self.modes.items():
            xs = self._lanes(a, wa, n, cfg.a_signed)
            ys = self._lanes(b, wb, n, cfg.b_signed)
            dot = sum(x * y for x, y in zip(xs, ys))
            total = np.where(mode == code, dot, total)
        return total

    def tick(self, a, b, mode, clear, enable):
        clear = np.broadcast_to(np.asarray(clear, bool), self.shape)
        enable = np.broadcast_to(np.asarray(enable, bool), self.shape)
        step = np.where(enable, self.products(a, b, mode), 0)
        if self.wide:
            base = np.where(clear, 0, self.acc).astype(object)
            self.acc = (base + step.astype(object)) & self.mask
        else:
            base = np.where(clear, np.uint64(0), self.acc)
            self.acc = (base + step.astype(np.uint64)) & np.uint64(self.mask)
        return self.acc

    @property
    def result(self):
        return self.acc
