"""Golden models of the LUT-based mpGEMM PE (:class:`hdl.pe.lut.LutPe`, same name and
parameters), written from the spec below, not from the RTL.

Spec
----
K activations form a *group* (lane ``k`` of the ``a`` word, ``a_width`` bits each, at bit
``k * a_width``); ``cols`` weight columns share it, column ``j`` holding K weights
``w[j][k]`` of ``n = w_width`` bits. The weights arrive *bit-serially*: one bit-plane per
cycle, least significant first. Plane ``p`` is the ``b`` word: bit ``j*K + k`` is bit ``p``
of ``w[j][k]``, so column ``j``'s K bits form an index ``i_jp`` (bit ``k`` for lane ``k``).
With ``c_p = -1`` for the top plane of a two's complement weight (``p = n - 1``) and
``c_p = +1`` otherwise,

    sum_k w[j][k] * a_k = sum_p c_p * 2**p * U(i_jp),   U(i) = sum_{k: bit k of i} a_k.

Registers: the group's activations (as the PE holds them: its table), a plane counter
``p`` (``0..n-1``) and one accumulator per column. Each rising edge, with the values held
*before* it:

* column ``j``: ``acc_j <- (0 if clear else acc_j) + (c_p * 2**p * U(i_jp) if enable else
  0)`` modulo ``2**acc_width``, ``U`` over the group loaded before this edge;
* ``load=1``: the group <- the K lanes of ``a``, and ``p <- 0``; otherwise ``enable=1``
  advances ``p`` to ``p + 1`` (``0`` after ``n - 1``), and ``enable=0`` holds it;
* synchronous reset zeroes the group, ``p`` and every accumulator.

``result`` is the ``cols`` accumulators (column ``j`` at bit ``j * acc_width``), one edge
after the plane (:attr:`~tpegen.config.LutPeConfig.latency`). A group of n planes on
consecutive enabled cycles adds ``sum_k w[j][k] a_k`` to every column; the next group's
``load`` may come with the last plane of the current one (a plane reads the table held
before its edge), so the PE does ``cols * K / n`` products per cycle without a bubble
(:attr:`~tpegen.config.LutPeConfig.macs_per_cycle`). A group loaded once may serve several
weight tiles (n planes each) without a new ``load``.

The symmetric table (LUT Tensor Core)
-------------------------------------
Mo et al., "LUT Tensor Core: A Software-Hardware Co-Design for LUT-Based Low-Bit LLM
Inference" (ISCA 2025, arXiv:2408.06003): the table over K = 4 activations is indexed by
the weight bits, bit-serially, and is symmetric, which halves it. Here the symmetry comes
from reading each weight bit as ``s = 2*bit - 1`` in ``{-1, +1}``: ``T(i) = sum_k s_k a_k``
obeys ``T(~i) = -T(i)``, so half of it (the 2**(K-1) indices whose top bit is 0) is stored
and an index with the top bit set reads the negated entry of its complement.
``U(i) = (T(i) + S) / 2`` with ``S = sum_k a_k = -T(0)``. :func:`half_table` and
:func:`lookup` state this as the spec of the table; the RTL's datapath (``hdl.pe.lut``) is
checked against the cycle rule above, which does not use it.

Members
-------
lanes, pack_lanes
    The K activations of an ``a`` word, and the inverse.
bit_planes
    The n ``b`` words of a group's weights.
plane_coefficient
    ``c_p * 2**p``.
half_table, lookup
    The symmetric half table of a group and its read (the paper's table, Python integers).
LutPe
    Scalar cycle model on Python integers: ``reset``, ``tick(a, load, b, clear, enable)``,
    ``result`` (the port's bit pattern) and ``accumulators``.
LutPeArray
    The same for ``shape`` independent PEs (numpy, lanes unpacked), bit-exact to
    :class:`LutPe`.
LutWordPeArray
    The engine's PE (:class:`hdl.pe.lut.LutWordPe`): beats of K activations and K whole
    weights, each taking its n planes in the n cycles after it (its own spec there).
"""

import numpy as np

from tpegen.config import LutPeConfig

__all__ = ["lanes", "pack_lanes", "bit_planes", "plane_coefficient", "half_table", "lookup",
           "LutPe", "LutPeArray", "LutWordPeArray"]


def _natural(x, bits, signed):
    """The ``bits``-bit pattern(s) ``x`` (a Python integer or an int64 array) as natural
    integers: two's complement if ``signed``."""
    x = x & ((1 << bits) - 1)
    return x - (((x >> (bits - 1)) & 1) << bits) if signed else x


def lanes(word, cfg):
    """The K activations (natural integers) of the ``a`` word ``word``."""
    return [_natural(int(word) >> (k * cfg.a_width), cfg.a_width, cfg.a_signed)
            for k in range(cfg.k)]


def pack_lanes(values, bits):
    """The word holding ``values`` (natural integers) as lanes of ``bits`` bits, lane ``k``
    at bit ``k * bits`` (a Python integer: words may be wider than 64 bits)."""
    word = 0
    for k, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (k * bits)
    return word


def bit_planes(weights, cfg):
    """The n ``b`` words (plane 0 first) of a group's weights ``weights[j][k]`` (``cols``
    rows of K natural integers)."""
    out = []
    for p in range(cfg.w_width):
        word = 0
        for j, row in enumerate(weights):
            for k, w in enumerate(row):
                word |= ((int(w) >> p) & 1) << (j * cfg.k + k)
        out.append(word)
    return out


def plane_coefficient(p, cfg):
    """``c_p * 2**p``: the weight of bit-plane ``p`` (negative for the sign plane)."""
    return -(1 << p) if cfg.w_signed and p == cfg.w_width - 1 else 1 << p


def half_table(acts):
    """``[T(i) for i in range(2**(K-1))]``, ``T(i) = sum_k (2*bit_k(i) - 1) * a_k``: the
    stored half of the symmetric table (indices whose top bit is 0)."""
    K = len(acts)
    return [sum((1 if (i >> k) & 1 else -1) * a for k, a in enumerate(acts))
            for i in range(1 << (K - 1))]


def lookup(table, i, K):
    """``T(i)`` from the half table: an index with its top bit set reads ``-T(~i)``."""
    if (i >> (K - 1)) & 1:
        return -table[~i & ((1 << (K - 1)) - 1)]
    return table[i]


class LutPe:
    """Scalar cycle model (see the module docstring); port bit patterns in, ``result`` the
    packed accumulators' bit pattern."""

    def __init__(self, config=None, **params):
        self.config = config if config is not None else LutPeConfig(**params)
        self.mask = (1 << self.config.acc_width) - 1
        self.reset()

    def reset(self):
        cfg = self.config
        self.acts = [0] * cfg.k
        self.plane = 0
        self.acc = [0] * cfg.cols

    def plane_products(self, b):
        """``[U(i_jp)]`` per column for the ``b`` word, over the held group."""
        K = self.config.k
        return [sum(a for k, a in enumerate(self.acts) if (b >> (j * K + k)) & 1)
                for j in range(self.config.cols)]

    def tick(self, a, load, b, clear, enable):
        cfg = self.config
        b = int(b)
        if enable:
            coeff = plane_coefficient(self.plane, cfg)
            steps = [coeff * u for u in self.plane_products(b)]
        else:
            steps = [0] * cfg.cols
        self.acc = [((0 if clear else acc) + s) & self.mask for acc, s in zip(self.acc, steps)]
        if load:
            self.acts = lanes(a, cfg)
            self.plane = 0
        elif enable:
            self.plane = (self.plane + 1) % cfg.w_width
        return self.result

    @property
    def accumulators(self):
        """The columns' accumulators (unsigned bit patterns of ``acc_width`` bits)."""
        return list(self.acc)

    @property
    def result(self):
        return pack_lanes(self.acc, self.config.acc_width)


class LutPeArray:
    """``shape`` PEs of :class:`LutPe` (numpy; inputs broadcast to ``shape``), with the lanes
    unpacked: ``a`` of shape ``shape + (K,)`` (natural integers), ``b`` of shape ``shape +
    (cols,)`` (each column's K-bit index), ``load``, ``clear`` and ``enable`` of ``shape``.
    :meth:`tick` returns the accumulators, ``shape + (cols,)``: ``uint64`` bit patterns
    (arithmetic modulo ``2**64``, exact modulo ``2**acc_width`` when masked), Python
    integers for accumulators wider than 64 bits."""

    def __init__(self, config=None, shape=1, **params):
        self.config = cfg = config if config is not None else LutPeConfig(**params)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.wide = cfg.acc_width > 64
        self.mask = (1 << cfg.acc_width) - 1
        self.coefficients = np.array([plane_coefficient(p, cfg) for p in range(cfg.w_width)],
                                     np.int64)
        self.reset()

    def reset(self):
        cfg = self.config
        self.acts = np.zeros(self.shape + (cfg.k,), np.int64)
        self.plane = np.zeros(self.shape, np.int64)
        self.acc = np.zeros(self.shape + (cfg.cols,), object if self.wide else np.uint64)

    def tick(self, a, load, b, clear, enable):
        cfg = self.config
        load = np.broadcast_to(np.asarray(load, bool), self.shape)
        clear = np.broadcast_to(np.asarray(clear, bool), self.shape)
        enable = np.broadcast_to(np.asarray(enable, bool), self.shape)
        b = np.broadcast_to(np.asarray(b, np.int64), self.shape + (cfg.cols,))
        bits = (b[..., None] >> np.arange(cfg.k)) & 1                 # shape + (cols, K)
        u = np.sum(bits * self.acts[..., None, :], axis=-1)           # shape + (cols,)
        step = np.where(enable, self.coefficients[self.plane], 0)[..., None] * u
        if self.wide:
            base = np.where(clear[..., None], 0, self.acc).astype(object)
            self.acc = (base + step.astype(object)) & self.mask
        else:
            base = np.where(clear[..., None], np.uint64(0), self.acc)
            self.acc = (base + step.astype(np.uint64)) & np.uint64(self.mask)
        a = np.broadcast_to(np.asarray(a, np.int64), self.shape + (cfg.k,))
        self.acts = np.where(load[..., None], a, self.acts)
        self.plane = np.where(load, 0, np.where(enable, (self.plane + 1) % cfg.w_width,
                                                  self.plane))
        return self.acc

    @property
    def result(self):
        return self.acc


class LutWordPeArray:
    """``shape`` word PEs (the LUT PE in an engine, :class:`hdl.pe.lut.LutWordPe`), numpy.

    Spec. A *beat* transfers at an edge where ``valid`` and ``ready`` are 1: K activations
    ``a`` and K weights ``b`` (bit patterns, ``shape + (K,)``, read as ``a_width`` /
    ``w_width``-bit integers with their signedness) and ``clear``. In each of the n =
    ``w_width`` edges after it, plane ``p = 0, 1, ..., n-1`` adds ``c_p 2**p sum_k bit_p(w_k)
    a_k`` to the accumulator (modulo ``2**acc_width``; the first plane's base is 0 if the
    beat had ``clear``), so after its n planes the beat has added ``sum_k w_k a_k``.
    ``ready`` is 1 unless planes remain after the current edge (idle, or on the last
    plane), so back-to-back beats take n cycles each: every beat's cycles are
    :meth:`beat_cycles`. ``result`` is the accumulator after the edge. :meth:`tick` is one
    edge; the inputs are those of the cycle before it."""

    takes = ("a", "b", "clear", "valid")

    def __init__(self, config=None, shape=1, **params):
        self.config = cfg = config if config is not None else LutPeConfig(**params)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.mask = (1 << cfg.acc_width) - 1
        self.wide = cfg.acc_width > 62
        self.coefficients = [plane_coefficient(p, cfg) for p in range(cfg.w_width)]
        self.reset()

    def reset(self):
        cfg, s = self.config, self.shape
        self.acts = np.zeros(s + (cfg.k,), np.int64)
        self.weights = np.zeros(s + (cfg.k,), np.int64)
        self.busy = np.zeros(s, bool)
        self.plane = np.zeros(s, np.int64)
        self.clear_b = np.zeros(s, bool)
        self.acc = np.zeros(s, object if self.wide else np.int64)

    @property
    def ready(self):
        return ~self.busy | (self.plane == self.config.w_width - 1)

    @property
    def result(self):
        return self.acc

    def beat_cycles(self, a, b):
        """Cycles of one engine beat: n, whatever the weights."""
        return self.config.w_width

    def tick(self, a, b, clear, valid):
        cfg, s = self.config, self.shape
        ready = self.ready
        # the plane of the busy beats
        bits = (self.weights >> self.plane[..., None]) & 1
        u = np.sum(bits * self.acts, axis=-1)
        coeff = np.array(self.coefficients, np.int64)[self.plane]
        step = np.where(self.busy, coeff * u, 0)
        base = np.where(self.busy & self.clear_b & (self.plane == 0), 0, self.acc)
        if self.wide:
            self.acc = (base.astype(object) + step.astype(object)) & self.mask
        else:
            self.acc = (base + step) & self.mask
        last = self.plane == cfg.w_width - 1
        self.plane = np.where(self.busy, np.where(last, 0, self.plane + 1), self.plane)
        self.busy = self.busy & ~last
        # a beat
        take = np.broadcast_to(np.asarray(valid, bool), s) & ready
        t = take[..., None]
        a = _natural(np.asarray(a, np.int64), cfg.a_width, cfg.a_signed)
        b = _natural(np.asarray(b, np.int64), cfg.w_width, cfg.w_signed)
        self.acts = np.where(t, np.broadcast_to(a, s + (cfg.k,)), self.acts)
        self.weights = np.where(t, np.broadcast_to(b, s + (cfg.k,)), self.weights)
        self.busy = self.busy | take
        self.plane = np.where(take, 0, self.plane)
        self.clear_b = np.where(take, np.broadcast_to(np.asarray(clear, bool), s), self.clear_b)
        return self.acc
