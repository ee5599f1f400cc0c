"""The group dequantization stage the mixed-precision PEs share (spec and golden model:
:mod:`golden.pe.dequant`): activations as exact fixed point, the per-group flags of infinite
and NaN activations, one rounding of an exact group sum to a float format, and the fused
scale-and-accumulate step (the project's exact FMA datapath, :func:`hdl.fp.fma.datapath`).

Members
-------
act_unit
    Exponent of one unit of the exact sum (:func:`tpegen.dtypes.act_unit`).
ActParts
    An activation split for a shift-and-add product: ``value = (-1)**sign * sig << shift``.
act_parts
    Split an activation bit pattern (int8: ``sig`` is the signed value, no shift).
act_max
    Largest activation magnitude, in units.
InfTally
    The flag registers of a group (``seen``/``lo``/``hi`` per sign of infinity, ``nan``).
special
    ``(nan, pinf, ninf)`` of a closed group from its flags and the zero point.
to_float
    One rounding (nearest even) of an exact signed fixed-point sum to a float format.
step
    ``round_fp32(p32 * scale + acc)`` with the fp16 scale.
scale_into
    The fp32 accumulator a group PE scales its closed groups into.
"""

from amaranth.hdl import Cat, Const, Mux, Signal, signed

from tpegen.config import FmaConfig
from tpegen.dtypes import act_unit
from tpegen.formats import FORMATS

from ..fp.common import lzc
from ..fp.fma import datapath

__all__ = ["ActParts", "act_parts", "act_max", "InfTally", "special", "to_float", "step",
           "scale_into", "act_unit"]


class ActParts:
    """``sig`` (unsigned significand with its hidden bit; int8: the signed value), ``shift``
    (``None`` for int8), ``sign``, ``inf`` and ``nan`` (0 for int8) of an activation; the
    value of a finite one is ``(-1)**sign * sig << shift`` units."""

    def __init__(self, **signals):
        self.__dict__.update(signals)


def act_parts(m, bits, act, *, label):
    """Split the activation ``bits`` of format ``act`` (see :class:`ActParts`); an infinite
    or NaN activation has ``sig = 0``."""
    if act == "int8":
        return ActParts(sig=bits.as_signed(), shift=None, sign=bits[7], inf=Const(0, 1),
                        nan=Const(0, 1))
    fmt = FORMATS[act]
    mb, eb = fmt.man_bits, fmt.exp_bits
    exp, man, sign = bits[mb:mb + eb], bits[:mb], bits[-1]
    special = Signal(name=f"{label}_special")
    inf, nan = Signal(name=f"{label}_inf"), Signal(name=f"{label}_nan")
    sig = Signal(mb + 1, name=f"{label}_sig")
    shift = Signal(eb, name=f"{label}_shift")
    m.d.comb += [
        special.eq(exp == (1 << eb) - 1),
        inf.eq(special & (man == 0)),
        nan.eq(special & (man != 0)),
        sig.eq(Mux(special, 0, Cat(man, exp != 0))),
        shift.eq(Mux(exp == 0, 0, exp - 1)),
    ]
    return ActParts(sig=sig, shift=shift, sign=sign, inf=inf, nan=nan)


def act_max(act):
    """The largest magnitude of a finite ``act`` activation, in units of ``2**unit``."""
    if act == "int8":
        return 128
    fmt = FORMATS[act]
    return ((1 << (fmt.man_bits + 1)) - 1) << ((1 << fmt.exp_bits) - 3)


class InfTally:
    """The flag registers of one group (:class:`golden.pe.dequant.InfTally`): ``nan``, and per
    sign ``k`` of infinity (0: +inf, 1: -inf) ``seen[k]`` and the raw weights ``lo[k]`` /
    ``hi[k]`` (signed if ``w_signed``)."""

    def __init__(self, w_width, w_signed, *, name):
        shape = signed(w_width) if w_signed else w_width
        self.nan = Signal(name=f"{name}_nan")
        self.seen = [Signal(name=f"{name}_seen{k}") for k in range(2)]
        self.lo = [Signal(shape, name=f"{name}_lo{k}") for k in range(2)]
        self.hi = [Signal(shape, name=f"{name}_hi{k}") for k in range(2)]

    def signals(self):
        return [self.nan, *self.seen, *self.lo, *self.hi]

    def next(self, m, w, parts, keep, take, *, label):
        """The flags after this cycle's product: ``keep`` (else start empty), ``take`` (the
        product is added); returns a new :class:`InfTally` of comb signals."""
        out = InfTally(len(w), w.shape().signed, name=label)
        m.d.comb += out.nan.eq((keep & self.nan) | (take & parts.nan))
        for k in range(2):
            seen = keep & self.seen[k]
            hit = take & parts.inf & (parts.sign == k)
            m.d.comb += [
                out.seen[k].eq(seen | hit),
                out.lo[k].eq(Mux(hit & (~seen | (w < self.lo[k])), w, self.lo[k])),
                out.hi[k].eq(Mux(hit & (~seen | (w > self.hi[k])), w, self.hi[k])),
            ]
        return out


def special(m, tally, zero, *, label):
    """``(nan, pinf, ninf)`` of a group's sum (:func:`golden.pe.dequant.special`)."""
    nan = tally.nan
    signs = []
    for k in range(2):
        pos = Signal(name=f"{label}_pos{k}")
        neg = Signal(name=f"{label}_neg{k}")
        m.d.comb += [pos.eq(tally.seen[k] & (tally.lo[k] > zero)),
                     neg.eq(tally.seen[k] & (tally.hi[k] < zero))]
        nan = nan | (tally.seen[k] & ~pos & ~neg)
        signs.append((pos, neg))
    (pp, pn), (np_, nn) = signs
    out = [Signal(name=f"{label}_{n}") for n in ("nan", "pinf", "ninf")]
    pinf, ninf = pp | nn, pn | np_
    m.d.comb += [out[0].eq(nan | (pinf & ninf)),
                 out[1].eq(pinf & ~out[0]), out[2].eq(ninf & ~out[0])]
    return out


def to_float(m, value, fmt, *, unit, nan=0, pinf=0, ninf=0, label):
    """``value`` (a signed Amaranth value, an integer in units of ``2**unit``) rounded once to
    nearest even into ``fmt`` (IEEE), overflow to infinity; the flags win over it. Every unit
    must be representable in ``fmt`` (``unit`` at or above the smallest subnormal)."""
    mb, w = fmt.man_bits, fmt.width
    emin_sub = 1 - fmt.bias - mb
    assert unit >= emin_sub, (unit, fmt)
    n = len(value)
    mag = Signal(n, name=f"{label}_mag")
    m.d.comb += mag.eq(Mux(value[-1], -value, value))
    lz = lzc(m, mag, n, label=label)
    norm = Signal(n, name=f"{label}_norm")         # the leading one at bit n - 1
    m.d.comb += norm.eq(mag << lz)
    p = mb + 1                                     # significand bits kept
    if n > p:
        q = norm[n - p:]
        rnd = norm[n - p - 1]
        sticky = norm[:n - p - 1].any() if n - p - 1 > 0 else Const(0, 1)
        inc = rnd & (sticky | q[0])
    else:
        q, inc = Cat(Const(0, p - n), norm), Const(0, 1)
    qr = Signal(p + 1, name=f"{label}_q")
    m.d.comb += qr.eq(q + inc)
    # biased exponent of the leading one: unit + (n - 1 - lz) + bias
    ew = max(n, 1 << fmt.exp_bits).bit_length() + 3
    biased = Signal(signed(ew), name=f"{label}_e")
    m.d.comb += biased.eq(unit + n - 1 + fmt.bias - lz)
    code = Signal(signed(ew + mb + 2), name=f"{label}_code")  # (biased-1) << mb + q: carries
    m.d.comb += code.eq(((biased - 1) << mb) + qr)
    out = Signal(w, name=label)
    inf_code = ((1 << fmt.exp_bits) - 1) << mb
    sign = value[-1] << (w - 1)
    normal = Mux(code >= inf_code, inf_code, code[:w - 1]) | sign
    if unit < fmt.emin:
        # a value below the smallest normal is exact there: its bits in subnormal units
        sub = Signal(w - 1, name=f"{label}_sub")
        m.d.comb += sub.eq(mag << (unit - emin_sub))
        normal = Mux(biased <= 0, sub | sign, normal)
    m.d.comb += out.eq(Mux(nan, fmt.nan_code, Mux(pinf, inf_code,
                       Mux(ninf, inf_code | (1 << (w - 1)), Mux(mag == 0, 0, normal)))))
    return out


#: the scale-and-accumulate FMA: fp32 group sum x fp16 scale + fp32 accumulator
STEP = FmaConfig(fmt_a="fp32", fmt_b="fp16", fmt_acc="fp32")


def step(m, acc, p32, scale):
    """``round_fp32(p32 * scale + acc)``, once, to nearest even (the exact FMA datapath)."""
    return datapath(m, STEP, p32, scale, acc)


def scale_into(m, *, valid, p32, scale, fresh, label="acc"):
    """The last stage of a group PE: the fp32 accumulator ``acc``, updated when ``valid`` to
    ``round(p32 * scale + (+0 if fresh else acc))`` (:func:`step`); returns ``acc``."""
    acc = Signal(32, name=label)
    base = Signal(32, name=f"{label}_base")
    m.d.comb += base.eq(Mux(fresh, 0, acc))
    stepped = step(m, base, p32, scale)
    with m.If(valid):
        m.d.sync += acc.eq(stepped)
    return acc
