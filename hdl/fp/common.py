"""Building blocks shared by the floating-point generators: operand unpacking, leading-zero
counting, rounding at a variable position, the unit base class and the accumulation loop.
Each is a plain function that adds logic to a module and returns the signals it made, named
after ``label``."""

from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Unpacked", "unpack", "lzc", "round_at", "FpUnit", "accumulate"]


class Unpacked:
    """An operand split into flags and fields (all ``Signal``):

    sign, zero, nan, inf
        ``zero`` includes subnormals when they are flushed;
    exp
        the effective biased exponent: the field, or 1 for zero/subnormals;
    sig
        the significand with its hidden bit, ``man_bits + 1`` wide (0 for zeros).
    """

    def __init__(self, **signals):
        self.__dict__.update(signals)


def unpack(m, x, fmt, *, subnormals, label):
    """Unpack the bit pattern ``x`` of format ``fmt`` (see :class:`Unpacked`)."""
    mb, w = fmt.man_bits, fmt.width
    field = x[mb:w - 1]
    man = x[:mb] if mb else Const(0, 1)
    s = {name: Signal(name=f"{label}_{name}") for name in ("sign", "zero", "nan", "inf")}
    exp = Signal(fmt.exp_bits, name=f"{label}_exp")
    sig = Signal(mb + 1, name=f"{label}_sig")
    top = field == fmt.exp_max_code
    low = field == 0
    m.d.comb += [
        s["sign"].eq(x[w - 1]),
        s["zero"].eq(low & ((man == 0) if subnormals else 1)),
        exp.eq(Mux(low, 1, field)),
        sig.eq(Mux(s["zero"], 0, Cat(man, ~low) if mb else ~low)),
    ]
    if fmt.policy == "ieee":
        m.d.comb += [s["nan"].eq(top & (man != 0)), s["inf"].eq(top & (man == 0))]
    elif fmt.policy == "fn":
        m.d.comb += s["nan"].eq(top & (man == (1 << mb) - 1))
    return Unpacked(exp=exp, sig=sig, **s)


def _lzc(bits):
    """(all_zero, count) of a list of 1-bit values, MSB last, length a power of two."""
    if len(bits) == 1:
        return ~bits[0], None
    half = len(bits) // 2
    zl, cl = _lzc(bits[:half])     # low half
    zh, ch = _lzc(bits[half:])     # high half
    if ch is None:
        return zh & zl, Cat(zh)
    return zh & zl, Cat(Mux(zh, cl, ch), zh)


def lzc(m, value, width, *, label):
    """Leading zeros of ``value[:width]`` (``width`` when it is zero), as a log-depth tree."""
    size = 1
    while size < width:
        size *= 2
    # pad with ones below: they never count, and an all-zero value counts ``width``
    bits = [Const(1, 1)] * (size - width) + [value[i] for i in range(width)]
    zero, count = _lzc(bits)
    out = Signal(range(width + 1), name=f"{label}_lz")
    m.d.comb += out.eq(Mux(zero, width, count) if count is not None else Mux(zero, 1, 0))
    return out


def round_at(m, x, shift, *, qwidth, nearest_even, extra_sticky=0, label):
    """Round ``x >> (shift + 1)`` to an integer of ``qwidth`` bits: the round bit is
    ``x[shift]``, the sticky bit the OR of ``x[:shift]`` (and ``extra_sticky``). ``shift`` is an
    unsigned signal below ``len(x)``. Returns the rounded integer, ``qwidth + 1`` bits wide
    (a carry out of the top is kept)."""
    n = len(x)
    keep = Signal(n, name=f"{label}_keep")     # ones at and above ``shift`` (thermometer)
    m.d.comb += keep.eq(Const((1 << n) - 1, n) << shift)
    shifted = Signal(n, name=f"{label}_shifted")
    sticky = Signal(name=f"{label}_sticky")
    m.d.comb += [
        shifted.eq(x >> shift),
        sticky.eq((x & ~keep).any() | extra_sticky),
    ]
    q = shifted[1:1 + qwidth]
    inc = Signal(name=f"{label}_inc")
    if nearest_even:
        m.d.comb += inc.eq(shifted[0] & (sticky | q[0]))
    out = Signal(qwidth + 1, name=f"{label}_q")
    m.d.comb += out.eq(q + inc)
    return out


class FpUnit(wiring.Component):
    """Base of the floating-point units with a configuration: builds ``config`` from
    keyword parameters when none is given, sets ``formats`` (port -> format name, for the
    manifest) and the ports from :meth:`interface`, and exposes ``latency``.

    Two shapes: ``function`` units (``a`` in ``fa``, ``b`` in ``fb`` -> ``result`` in
    ``fmt``; L-Mul and the exact multiplier, whose ``fa`` and ``fb`` are both ``fmt``) and
    ``accumulator`` units (``a`` in ``fa``, ``b`` in ``fb``, ``clear``, ``enable``, and the
    accumulator ``result`` in ``facc``). Each port is as wide as its own format; with
    ``terms=T > 1`` (a dot-product PE, :class:`hdl.fp.fmac.FMac`) ``a`` and ``b`` are arrays
    of ``T`` lanes.
    """

    config_class = None
    shape = "function"

    def __init__(self, config=None, *, terms=1, **params):
        if config is None:
            config = self.config_class(**params)
        elif params:
            raise TypeError("pass either a configuration or keyword parameters, not both")
        self.config = config
        self.terms = terms
        self.stats = {}
        fa, fb = config.fa, config.fb
        if self.shape == "function":
            fout = config.fmt
            ports = {}
        else:
            fout = config.facc
            ports = {"clear": In(1), "enable": In(1)}
        # the manifest's ``formats``: each port's number format
        self.formats = {"a": fa.name, "b": fb.name, "result": fout.name}
        def operand(width):
            return In(width) if terms == 1 else In(data.ArrayLayout(width, terms))
        super().__init__({"a": operand(fa.width), "b": operand(fb.width), **ports,
                          "result": Out(fout.width)})

    @property
    def latency(self):
        return self.config.latency


def accumulate(m, unit, step, *, width=None, readout=None):
    """The accumulation loop of an ``accumulator`` unit: ``acc <- step(base)`` when
    ``enable``, else ``base``, with ``base = 0 if clear else acc``; ``result`` is ``acc``, or
    ``readout(acc)``. ``step(base)`` adds the unit's arithmetic to ``m`` and returns the new
    value; the register has ``width`` bits (default: those of ``result``)."""
    width = len(unit.result) if width is None else width
    acc = Signal(width, name="acc")
    base = Signal(width, name="base")
    m.d.comb += [base.eq(Mux(unit.clear, 0, acc)),
                 unit.result.eq(acc if readout is None else readout(acc))]
    m.d.sync += acc.eq(Mux(unit.enable, step(base), base))
