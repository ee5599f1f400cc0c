"""Golden models of the bit-serial PE (BitMoD style; :class:`hdl.pe.bitserial.BitSerialPe`,
same name and parameters), written from the spec here, not from the RTL.

Background. BitMoD (Chen et al., "BitMoD: Bit-serial Mixture-of-Datatype LLM Acceleration",
HPCA 2025, arXiv 2411.11745) quantizes LLM weights to 4 bits in groups, picks a datatype per
group from a mixture that includes FP4 variants with one extra value in the redundant
negative-zero code (the "unified representation", :mod:`golden.quant`), and multiplies them
with fp16 activations in bit-serial PEs, one weight bit per cycle, the group's scale applied
by a separate dequantization unit after the group's partial sum. The numerics and the cycle
rule below are this project's; the datatypes and codes are :mod:`golden.quant`'s.

Spec
----
**Beats.** One input transfer (``valid`` and ``ready`` both 1 at a rising edge) is a *beat*:
``L = lanes`` activations ``a`` (fp16 or bf16 bit patterns, lane ``i`` at bits ``i*16``),
``L`` 4-bit weight codes ``b`` (lane ``i`` at bits ``4*i``), the datatype ``dtype`` (2 bits,
the index into :data:`DTYPES`: int4, fp4, er, ea = :data:`golden.quant.MIXTURE`), the group's
fp16 ``scale``, ``clear`` and ``last`` (``serial``). Weight ``i`` has the integer value ``v_i =
DTYPES[dtype].values[code_i]`` (half-e2m1 units, ``|v| <= 16``; code 8 is +10 / +16 for
er / ea); a negative ``scale`` is the ``-`` variant of er / ea (``scale * v``), exactly as
:mod:`golden.quant` defines it, so the PE itself never looks at the variant.

**Numerics** (``datapath="serial"``). A group is ``G / L`` beats (``G = group``). Its partial
sum ``P = sum a_i * v_i`` over the group's beats is exact (fixed point in units of
``2**unit(act)``, :mod:`golden.pe.dequant`); infinite / NaN activations set flags instead: the
sum is NaN if an activation is NaN, a weight of value 0 meets an infinity, or infinities of
both signs meet; else +-inf with the sign of ``sign(a) * sign(v)``. When the group closes,
``P`` is rounded once to fp32 (:func:`golden.pe.dequant.to_fp32`) and one edge later
``acc <- round_fp32(P32 * scale + acc)`` (one fused rounding, :func:`golden.pe.dequant.step`;
``acc`` taken as +0 for the first group after a ``clear``). ``scale`` is the closing beat's.

**Cycles** (``serial``). A beat's weights are processed one *bit position* ``j`` of the
magnitudes ``|v_i|`` (5 positions: ``|v| <= 16``) per cycle, lowest first, for all lanes at
once: that cycle adds ``sum_i [bit j of |v_i|] * sign(v_i) * a_i * 2**j`` to the group sum.
The positions a beat processes are the set bits of its *mask*: with ``skip_zeros`` the OR of
the lanes' magnitudes (positions where every weight bit is zero are skipped: data-dependent),
else the datatype's mask :data:`DTYPE_MASK` (the OR over all its values: int4 ``0b111``, fp4
and er ``0b1111``, ea ``0b11111``). A beat occupies ``n = max(1, popcount(mask))`` cycles
(:func:`beat_cycles`; an all-zero beat with ``skip_zeros`` still takes one). The PE is *busy*
from the edge that accepts a beat until the edge of its last position; ``ready`` is
``not busy or (busy and this cycle processes the beat's last position)``, so back-to-back
beats take exactly ``n`` cycles each and the ``k``-th of a stream that is always ``valid`` is
accepted ``sum_{j<k} n_j`` edges after the first (:func:`schedule`). On a beat's first
position, ``clear`` (of that beat) discards the open group and restarts the accumulator with
the next group that closes; a group closes at the last position of its ``G / L``-th beat
(or of a beat with ``last``, which closes the group early: an engine's tile ends there), and
``result`` (the fp32 accumulator) shows it ``latency`` = 2 edges after that position's edge.

**Baseline** (``datapath="parallel"``, BitMoD's comparison point: a bit-parallel FP16 PE).
``ready`` is always 1 and every beat is one cycle: each weight is dequantized to ``F`` (fp16;
bf16 for bf16 activations), ``w_F = round_F(v * scale)`` (the exact FMA with a ``-0`` addend),
then the L exact FP MACs ``x <- round_fp32(w_F * a_i + x)`` in lane order, from ``x = acc``
(+0 with ``clear``); ``acc <- x`` at the beat's edge (``latency`` 1). ``group`` does not
matter here (the scale comes with every beat). It does ``L`` MACs per cycle; the bit-serial PE
does ``L / n`` (:func:`macs_per_cycle`), so a bit-serial PE of ``L`` lanes is matched in
throughput by a baseline of about ``L / n`` lanes.

Members
-------
DTYPES, VALUES, DTYPE_MASK, DIGITS
    The datatype names in ``dtype`` code order; their code -> value tables; their
    magnitude masks; bit positions.
weight_values
    Integer values of codes under per-beat dtype codes (numpy).
pack, unpack
    Words of lanes (numpy, Python integers for wide words) and back.
beat_mask, beat_cycles
    Bit positions a beat processes, and its cycles.
schedule
    Acceptance edges and the total cycles of a back-to-back stream of beats.
macs_per_cycle
    Throughput of a stream of beats.
group_result
    The spec's numerics of one group on many independent PEs (numpy).
BitSerialPe
    Scalar cycle model (Python integers): ``reset()``, ``tick(a, b, dtype, scale, clear,
    valid)`` (one edge; returns ``result``), ``result``, ``ready``.
BitSerialPeArray
    The same over ``shape`` independent PEs (numpy), bit-exact to :class:`BitSerialPe`.
"""

import numpy as np

from golden.fp import vfma
from golden.quant import DTYPES as _QUANT_DTYPES
from golden.quant import MIXTURE
from tpegen.config import BITSERIAL_DIGITS, BitSerialConfig
from tpegen.dtypes import dequant_format

from . import dequant

__all__ = ["DTYPES", "DTYPE_MASK", "DIGITS", "weight_values", "pack", "unpack", "beat_mask",
           "beat_cycles", "schedule", "macs_per_cycle", "group_result", "BitSerialPe",
           "BitSerialPeArray", "VALUES"]

DTYPES = MIXTURE
DIGITS = BITSERIAL_DIGITS
#: ``VALUES[dtype code][weight code]``: the integer value (golden.quant's tables)
VALUES = np.array([_QUANT_DTYPES[d].values for d in DTYPES], np.int64)
#: per dtype code: the OR of the magnitudes of every code it emits
DTYPE_MASK = tuple(int(np.bitwise_or.reduce(np.abs(VALUES[k][list(_QUANT_DTYPES[d].codes)])))
                   for k, d in enumerate(DTYPES))
ACT_BITS = 16
assert max(DTYPE_MASK) < 1 << DIGITS



def weight_values(codes, dtype):
    """Integer values of 4-bit ``codes`` (``(..., L)``) under dtype codes ``dtype``
    (broadcast to ``codes.shape[:-1]``, or to ``codes.shape``)."""
    codes = np.asarray(codes, np.int64) & 15
    dtype = np.asarray(dtype, np.int64) & 3
    if dtype.ndim < codes.ndim:
        dtype = dtype[..., None]
    return VALUES[dtype, codes]


def pack(values, bits):
    """Words (Python integers, ``object`` array) holding ``values`` (shape ``(..., n)``) as
    lanes of ``bits`` bits, lane ``i`` at bit ``i * bits``."""
    values = np.asarray(values)
    out = np.zeros(values.shape[:-1], object)
    for i in range(values.shape[-1]):
        out = out + (values[..., i].astype(np.int64) & ((1 << bits) - 1)).astype(object) \
            * (1 << (i * bits))
    return out


def unpack(words, bits, n):
    """Lanes (int64, shape ``(..., n)``) of words: the inverse of :func:`pack`."""
    words = np.asarray(words, object)
    return np.stack([((words >> (i * bits)) & ((1 << bits) - 1)).astype(np.int64)
                     for i in range(n)], -1)


def beat_mask(codes, dtype, skip_zeros):
    """The bit positions (a 5-bit mask, int64) a beat processes; ``codes`` ``(..., L)``."""
    if skip_zeros:
        return np.bitwise_or.reduce(np.abs(weight_values(codes, dtype)), axis=-1)
    return np.array(DTYPE_MASK, np.int64)[np.asarray(dtype, np.int64) & 3]


def _popcount(x):
    x = np.asarray(x, np.int64)
    return sum((x >> j) & 1 for j in range(DIGITS))


def beat_cycles(codes, dtype, cfg):
    """Cycles each beat occupies: ``max(1, popcount(mask))`` (``serial``), 1 (``parallel``)."""
    if cfg.datapath == "parallel":
        return np.ones(np.shape(codes)[:-1], np.int64)
    return np.maximum(1, _popcount(beat_mask(codes, dtype, cfg.skip_zeros)))


def schedule(codes, dtype, cfg):
    """A stream of beats (``codes`` ``(B, L)``, ``dtype`` ``(B,)``) driven back to back, the
    first while the PE is idle: ``(accept, total)``. ``accept[k]``: the edge that accepts beat
    ``k``, counted from the first beat's (0). ``total``: the clock edges from the first beat's
    acceptance edge (counted as the first) to the edge after which ``result`` shows the last
    beat; ``serial``: ``sum(n) + latency`` (the acceptance edge, one edge per bit position,
    then the scale step), ``parallel``: the number of beats."""
    n = beat_cycles(codes, dtype, cfg)
    accept = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    if cfg.datapath == "parallel":
        return accept, int(len(n))
    return accept, int(n.sum() + cfg.latency)


def macs_per_cycle(codes, dtype, cfg):
    """Weights times activations per cycle of a back-to-back stream of these beats."""
    n = beat_cycles(codes, dtype, cfg)
    return np.shape(codes)[-1] * len(n) / n.sum()


def group_result(a, codes, dtype, scale, acc, act="fp16"):
    """The serial spec's numerics of one group on N independent PEs: fp32 bits of
    ``round(round_fp32(sum a*v) * scale + acc)``.

    Parameters
    ----------
    a, codes : array_like of int, shape (N, G)
        Activation bit patterns and weight codes of the group.
    dtype, scale, acc : array_like of int, shape (N,)
        Dtype codes, fp16 scale bits, fp32 accumulator bits before the group.
    """
    value, inf, nan = dequant.act_fixed(np.asarray(a, np.int64), act)
    v = weight_values(codes, dtype)
    psum = (value * v).sum(axis=-1)
    sgn = inf * np.sign(v)
    pinf, ninf = (sgn > 0).any(-1), (sgn < 0).any(-1)
    nan = (nan | ((inf != 0) & (v == 0))).any(-1) | (pinf & ninf)
    p32 = dequant.to_fp32(psum, act, nan=nan, pinf=pinf & ~nan, ninf=ninf & ~nan)
    return np.asarray(dequant.step(np.asarray(acc, np.int64), p32,
                                   np.asarray(scale, np.int64) & 0xFFFF)).reshape(p32.shape)


def _fp_value_bits(fmt):
    """Bit patterns in ``fmt`` of every integer value -16..16 (index ``v + 16``)."""
    return np.asarray(vfma.encode(np.arange(-16, 17).astype(np.float64), fmt), np.int64)


def _lanes_of(a, b, L):
    a, b = int(a), int(b)
    return ([(a >> (ACT_BITS * i)) & 0xFFFF for i in range(L)],
            [(b >> (4 * i)) & 15 for i in range(L)])


class BitSerialPe:
    """Scalar cycle model of one bit-serial PE (see the module docstring), on Python
    integers. ``tick`` is one rising edge with the inputs of the cycle before it and returns
    ``result`` after it; :attr:`ready` is the ``ready`` output now (the next cycle's, which
    decides whether that cycle's ``valid`` beat is taken at its edge)."""

    takes = ("a", "b", "dtype", "scale", "clear", "valid", "last")

    def __init__(self, config=None, **params):
        self.config = BitSerialConfig.given(config, **params)
        self._vbits = _fp_value_bits("fp16").tolist()
        self.reset()

    def reset(self):
        """The synchronous reset: idle, no open group, nothing in the second stage, acc +0."""
        self.acc = 0
        self.busy = False
        self.beat = None
        self.psum = 0
        self.tally = (False, False, False)         # nan, +inf, -inf of the open group
        self.count = 0
        self.fresh = False
        self.stage = None                          # (p32, scale, fresh) of a closed group
        self.cycles = 0

    @property
    def result(self):
        return self.acc

    @property
    def ready(self):
        if self.config.datapath == "parallel" or not self.busy:
            return 1
        return int(bin(self.beat["rem"]).count("1") <= 1)

    def _accept(self, a, b, dtype, scale, clear, last):
        cfg = self.config
        acts, codes = _lanes_of(a, b, cfg.lanes)
        value, inf, nan = dequant.act_fixed(np.array(acts, np.int64), cfg.act)
        v = VALUES[int(dtype) & 3][codes].tolist()
        signs = [int(i) * (w > 0) - int(i) * (w < 0) for i, w in zip(inf.tolist(), v)]
        flags = (bool(nan.any()) or any(int(i) != 0 and w == 0 for i, w in zip(inf.tolist(), v)),
                 any(s > 0 for s in signs), any(s < 0 for s in signs))
        mags = [abs(w) for w in v]
        if cfg.skip_zeros:
            rem = 0
            for x in mags:
                rem |= x
        else:
            rem = DTYPE_MASK[int(dtype) & 3]
        self.beat = {"value": [int(x) for x in value.tolist()], "v": v, "rem": rem,
                     "first": True, "clear": bool(clear), "scale": int(scale) & 0xFFFF,
                     "flags": flags, "last": bool(last)}
        self.busy = True

    def _position(self):
        """Process the busy beat's lowest remaining bit position (one edge)."""
        cfg, beat = self.config, self.beat
        rem = beat["rem"]
        low = rem & -rem
        term = 0
        if low:
            j = low.bit_length() - 1
            term = sum(x * (1 if w > 0 else -1) for x, w in zip(beat["value"], beat["v"])
                       if abs(w) & low) << j
        start = beat["first"]
        clr = start and beat["clear"]
        psum = (0 if clr else self.psum) + term
        tally = (False,) * 3 if clr else self.tally
        if start:
            tally = tuple(x or y for x, y in zip(tally, beat["flags"]))
        fresh = self.fresh or clr
        idx = ((0 if clr else self.count) + 1) if start else self.count
        last = bin(rem).count("1") <= 1
        closed = None
        if last and (idx == cfg.steps or beat["last"]):
            nan, pinf, ninf = tally
            nan = nan or (pinf and ninf)
            p32 = int(dequant.to_fp32(np.array([psum], object), cfg.act, nan=nan,
                                      pinf=pinf and not nan, ninf=ninf and not nan)[0])
            closed = (p32, beat["scale"], fresh)
            psum, tally, idx, fresh = 0, (False,) * 3, 0, False
        self.psum, self.tally, self.count, self.fresh = psum, tally, idx, fresh
        beat["rem"] = rem & ~low
        beat["first"] = False
        if last:
            self.busy = False
        return closed

    def tick(self, a, b, dtype, scale, clear, valid, last=0):
        cfg = self.config
        self.cycles += 1
        if cfg.datapath == "parallel":
            if valid:
                self.acc = self._parallel(a, b, dtype, scale, clear)
            return self.acc
        ready = self.ready
        if self.stage is not None:                  # stage 2: the scale step
            p32, s, fresh = self.stage
            self.acc = int(dequant.step(np.int64(0 if fresh else self.acc), np.int64(p32),
                                        np.int64(s)).reshape(-1)[0])
        self.stage = self._position() if self.busy else None
        if valid and ready:
            self._accept(a, b, dtype, scale, clear, last)
        return self.acc

    def _parallel(self, a, b, dtype, scale, clear):
        cfg = self.config
        F = dequant_format(cfg.act)
        acts, codes = _lanes_of(a, b, cfg.lanes)
        v = VALUES[int(dtype) & 3][codes]
        vbits = np.asarray(self._vbits, np.int64)[v + 16]
        w = vfma.fma(vbits, int(scale) & 0xFFFF, 1 << 15, fmt_a="fp16", fmt_b="fp16",
                     fmt_acc=F).reshape(-1)
        x = 0 if clear else self.acc
        for wi, ai in zip(w.tolist(), acts):
            x = int(vfma.fma(wi, ai, x, fmt_a=F, fmt_b=cfg.act, fmt_acc="fp32").reshape(-1)[0])
        return x


class BitSerialPeArray:
    """``shape`` independent PEs of :class:`BitSerialPe` (numpy; inputs broadcast to
    ``shape``; words as Python integers or int64). :meth:`tick` returns ``result`` after the
    edge; :attr:`ready` is the ``ready`` outputs now."""

    takes = BitSerialPe.takes

    def __init__(self, config=None, shape=1, **params):
        self.config = BitSerialConfig.given(config, **params)
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self._vbits = _fp_value_bits("fp16")
        self.reset()

    def reset(self):
        s, L = self.shape, self.config.lanes
        wide = self.config.act == "bf16"
        z = np.zeros(s, np.int64)
        self.acc = z.copy()
        self.busy = np.zeros(s, bool)
        self.value = np.zeros(s + (L,), object if wide else np.int64)
        self.v = np.zeros(s + (L,), np.int64)
        self.rem = z.copy()
        self.first = np.zeros(s, bool)
        self.clear_b = np.zeros(s, bool)
        self.last_b = np.zeros(s, bool)
        self.scale_b = z.copy()
        self.flags_b = np.zeros((3,) + s, bool)
        self.psum = np.zeros(s, object) if wide else z.copy()
        self.tally = np.zeros((3,) + s, bool)
        self.count = z.copy()
        self.fresh = np.zeros(s, bool)
        self.st_valid = np.zeros(s, bool)
        self.st = (z.copy(), z.copy(), np.zeros(s, bool))

    @property
    def result(self):
        return self.acc

    def beat_cycles(self, a, b):
        """Cycles of one engine beat (``a``, ``b``: its lanes, one activation and one weight
        code per PE that takes it; ``dtype`` tied to ``engine_dtype``): the digit schedule
        they share, :func:`beat_cycles` of all their codes as one beat."""
        cfg = self.config
        codes = np.asarray(b, np.int64).reshape(1, -1)
        cycles = beat_cycles(codes, cfg.engine_ties["dtype"], cfg)
        return int(np.asarray(cycles).reshape(-1)[0])

    @property
    def ready(self):
        if self.config.datapath == "parallel":
            return np.ones(self.shape, np.int64)
        return (~self.busy | (_popcount(self.rem) <= 1)).astype(np.int64)

    def _inputs(self, a, b, dtype, scale, clear, valid, last):
        s, L = self.shape, self.config.lanes
        acts = unpack(np.broadcast_to(np.asarray(a, object), s), ACT_BITS, L)
        codes = unpack(np.broadcast_to(np.asarray(b, object), s), 4, L)
        dtype = np.broadcast_to(np.asarray(dtype, np.int64) & 3, s)
        scale = np.broadcast_to(np.asarray(scale, np.int64) & 0xFFFF, s)
        clear = np.broadcast_to(np.asarray(clear).astype(bool), s)
        valid = np.broadcast_to(np.asarray(valid).astype(bool), s)
        last = np.broadcast_to(np.asarray(last).astype(bool), s)
        return acts, codes, dtype, scale, clear, valid, last

    def tick(self, a, b, dtype, scale, clear, valid, last=0):
        cfg = self.config
        acts, codes, dtype, scale, clear, valid, last = self._inputs(a, b, dtype, scale,
                                                                     clear, valid, last)
        if cfg.datapath == "parallel":
            self._parallel(acts, codes, dtype, scale, clear, valid)
            return self.acc
        ready = self.ready.astype(bool)
        # stage 2
        p32, s, fresh = self.st
        stepped = np.asarray(dequant.step(np.where(fresh, 0, self.acc), p32, s)).reshape(
            self.shape)
        self.acc = np.where(self.st_valid, stepped, self.acc)
        # stage 1: one bit position of the busy beats
        busy = self.busy
        low = self.rem & -self.rem
        j = np.zeros(self.shape, np.int64)
        for k in range(DIGITS):
            j = np.where(low == 1 << k, k, j)
        sel = (np.abs(self.v) & low[..., None]) != 0
        signed = np.where(self.v > 0, self.value, -self.value)
        term = np.where(sel, signed, 0).sum(axis=-1) * (np.ones(self.shape, np.int64) << j)
        term = np.where(busy & (low != 0), term, 0)
        start = busy & self.first
        clr = start & self.clear_b
        psum = np.where(clr, 0, self.psum) + term
        tally = np.where(clr, False, self.tally) | (self.flags_b & start)
        fresh = self.fresh | clr
        idx = np.where(start, np.where(clr, 0, self.count) + 1, self.count)
        final = busy & (_popcount(self.rem) <= 1)
        close = final & ((idx == cfg.steps) | self.last_b)
        nan = tally[0] | (tally[1] & tally[2])
        p32 = dequant.to_fp32(np.where(close, psum, 0), cfg.act, nan=nan,
                              pinf=tally[1] & ~nan, ninf=tally[2] & ~nan)
        self.st_valid = close
        self.st = (np.asarray(p32, np.int64), self.scale_b.copy(), fresh & close)
        keep = busy & ~close
        self.psum = np.where(keep, psum, np.where(busy, 0, self.psum))
        self.tally = np.where(keep, tally, np.where(busy, False, self.tally))
        self.count = np.where(keep, idx, np.where(busy, 0, self.count))
        self.fresh = np.where(keep, fresh, np.where(busy, False, self.fresh))
        self.rem = np.where(busy, self.rem & ~low, self.rem)
        self.first = self.first & ~busy
        self.busy = busy & ~final
        # accept
        take = valid & ready
        self._accept(take, acts, codes, dtype, scale, clear, last)
        return self.acc

    def _accept(self, take, acts, codes, dtype, scale, clear, last):
        cfg = self.config
        value, inf, nan = dequant.act_fixed(acts, cfg.act)
        v = weight_values(codes, dtype)
        sgn = inf * np.sign(v)
        flags = np.stack([(nan | ((inf != 0) & (v == 0))).any(-1), (sgn > 0).any(-1),
                          (sgn < 0).any(-1)])
        rem = beat_mask(codes, dtype, cfg.skip_zeros)
        t = take[..., None]
        self.value = np.where(t, value, self.value)
        self.v = np.where(t, v, self.v)
        self.rem = np.where(take, rem, self.rem)
        self.first = self.first | take
        self.clear_b = np.where(take, clear, self.clear_b)
        self.last_b = np.where(take, last, self.last_b)
        self.scale_b = np.where(take, scale, self.scale_b)
        self.flags_b = np.where(take, flags, self.flags_b)
        self.busy = self.busy | take

    def _parallel(self, acts, codes, dtype, scale, clear, valid):
        cfg = self.config
        F = dequant_format(cfg.act)
        v = weight_values(codes, dtype)
        w = np.asarray(vfma.fma(self._vbits[v + 16], scale[..., None], 1 << 15, fmt_a="fp16",
                                fmt_b="fp16", fmt_acc=F)).reshape(v.shape)
        x = np.where(clear, 0, self.acc)
        for i in range(cfg.lanes):
            x = np.asarray(vfma.fma(w[..., i], acts[..., i], x, fmt_a=F, fmt_b=cfg.act,
                                    fmt_acc="fp32")).reshape(self.shape)
        self.acc = np.where(valid, x, self.acc)
