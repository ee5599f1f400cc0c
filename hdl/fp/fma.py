"""Floating-point fused multiply-add ``result = round(a*b + c)``, exact or with approximate
normalization, pipelined to a chosen depth.

Semantics (special values, signed zeros, overflow, flushing) are those of the golden models
:func:`golden.fp.fma.fma` (exact) and :func:`golden.fp.fma.fma_approx` (approximate); the
datapath follows the textbook single-adder FMA (J.-M. Muller et al., *Handbook of
Floating-Point Arithmetic*, 2nd ed., §9.5; E. Quinnell, *Floating-Point Fused Multiply-Add
Architectures*, 2007), generalized to an addend format that differs from the input format:

1. **product** -- unpack the operands, multiply the significands (``pp`` bits), and choose
   the reference exponent ``ref`` of the alignment window (``golden.fp.fma.Layout``): the
   product sits at a fixed place ``L`` bits above the bottom, and the addend is shifted right
   from ``T`` bits by ``s``; bits shifted below position 1 become a sticky bit at position 0.
   When the addend is so large that the product falls more than two bits below its last
   place, the addend stays at ``T`` and ``ref`` follows it (the product then acts as sticky).
2. **sum** -- one ``Wm``-bit addition or subtraction, then the magnitude and sign.
3. **round** -- find the leading one (exactly, or in the top ``window`` bits with the count
   rounded down to a multiple of ``granularity``), choose the last place
   ``u = max(lead - m_acc - guard, emin_acc - m_acc - ref - guard)`` and round there.
   With exact normalization this is the result; otherwise the **readout** normalizes the
   ``m_acc + guard + 2``-bit value exactly and rounds it again.
4. **encode** -- exponent and significand together (``(biased - 1) << m + q``, so that a
   carry out of the significand or out of the subnormal range adjusts the exponent), then
   overflow, flushing, zeros and the special values.

Members
-------
a, b : In(fmt_in.width)
    Multiplicand bit patterns.
c : In(fmt_acc.width)
    Addend bit pattern.
result : Out(fmt_acc.width)
    ``round(a*b + c)``, ``latency`` clock edges after its operands; a reset clears the
    pipeline and the results in flight read as ``+0``.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import FmaConfig

from .common import lzc, round_at, unpack

__all__ = ["Fma", "datapath"]

#: pipeline cut points in the order they are filled as ``depth`` grows
CUT_ORDER = ("out", "product", "sum", "round")


def _bits(n):
    return max(1, int(n).bit_length())


class Fma(wiring.Component):
    """Floating-point FMA generator; see the module docstring."""

    def __init__(self, config=None, *, combinational=False, **params):
        if config is None:
            config = FmaConfig(**params)
        self.config = config
        self.fin, self.facc = config.fin, config.facc
        self.formats = {"a": self.fin.name, "b": self.fin.name, "c": self.facc.name,
                        "result": self.facc.name}
        # ``combinational``: no registers at all (for units that embed the datapath)
        self.cuts = set() if combinational else set(CUT_ORDER[:config.depth])
        self.stats = {"window_bits": config.layout.width}
        super().__init__({"a": In(self.fin.width), "b": In(self.fin.width),
                          "c": In(self.facc.width), "result": Out(self.facc.width)})

    @property
    def latency(self):
        return self.config.latency

    def elaborate(self, platform):
        m = Module()
        value = datapath(m, self.config, self.a, self.b, self.c, cuts=self.cuts)
        if "out" in self.cuts:
            m.d.sync += self.result.eq(value)
        else:
            m.d.comb += self.result.eq(value)
        return m



def _cut(m, cuts, cut, values):
    """Register every value of ``values`` when ``cut`` is one of the pipeline ``cuts``."""
    if cut not in cuts:
        return values
    out = {}
    for name, value in values.items():
        reg = Signal(value.shape(), name=f"{name}_{cut}")
        m.d.sync += reg.eq(value)
        out[name] = reg
    return out


def datapath(m, cfg, a_bits, b_bits, c_bits, *, cuts=()):
    """Add the FMA datapath of ``a_bits * b_bits + c_bits`` (an :class:`FmaConfig`) to the
    module ``m``, with pipeline registers at ``cuts`` (``out`` excepted: the caller registers
    the result); returns the result. Units that embed an FMA (the FP MAC) call this on their
    own module, so that the Verilog stays one flat module."""
    fin, facc = cfg.fin, cfg.facc
    lay = cfg.layout
    mi, ma = fin.man_bits, facc.man_bits
    wm, low, top = lay.width, lay.low, lay.top
    ew = max(fin.exp_bits + 2, facc.exp_bits + 1) + _bits(wm) + 3   # exponent arithmetic

    # -- 1. product ---------------------------------------------------------------------
    a = unpack(m, a_bits, fin, subnormals=cfg.subnormals, label="a")
    b = unpack(m, b_bits, fin, subnormals=cfg.subnormals, label="b")
    c = unpack(m, c_bits, facc, subnormals=cfg.subnormals, label="c")
    product = Signal(lay.pp, name="product")
    m.d.comb += product.eq(a.sig * b.sig)
    # exponents of the window's position 0 when anchored on the product / on the addend
    by_product = Signal(signed(ew), name="ref_product")
    by_addend = Signal(signed(ew), name="ref_addend")
    m.d.comb += [
        by_product.eq(a.exp + b.exp - (2 * fin.bias + 2 * mi + low)),
        by_addend.eq(c.exp - (facc.bias + ma + top)),
    ]
    clamp = Signal(name="addend_clamped")
    ref = Signal(signed(ew), name="ref")
    shift_max = top + lay.pc
    shift = Signal(range(shift_max + 1), name="addend_shift")
    distance = Signal(signed(ew), name="addend_distance")
    m.d.comb += [
        clamp.eq(~c.zero & (by_addend > by_product)),
        ref.eq(Mux(clamp, by_addend, by_product)),
        distance.eq(by_product - by_addend),
        shift.eq(Mux(clamp, 0, Mux(distance > shift_max, shift_max, distance))),
    ]
    product_sign = a.sign ^ b.sign
    v = dict(product=product, csig=c.sig, shift=shift, ref=ref, psign=product_sign,
             csign=c.sign, pzero=a.zero | b.zero, czero=c.zero, cbits=c_bits,
             nan=(a.nan | b.nan | c.nan
                  | ((a.inf | b.inf) & (a.zero | b.zero))
                  | ((a.inf | b.inf) & c.inf & (c.sign != product_sign))),
             pinf=a.inf | b.inf, cinf=c.inf)
    v = {k: Value.cast(x) for k, x in v.items()}
    v = _cut(m, cuts, "product", v)

    # -- 2. aligned sum -----------------------------------------------------------------
    addend = Signal(wm, name="addend_aligned")
    keep = Signal(wm, name="addend_keep")
    placed = Const(0, top) if top else None
    placed = Cat(placed, v["csig"])
    m.d.comb += [
        keep.eq(Const((1 << wm) - 1, wm) << v["shift"]),
        addend.eq((placed >> v["shift"]) | (placed & ~keep).any()),
    ]
    subtract = v["psign"] ^ v["csign"]
    raw = Signal(signed(wm + 2), name="raw_sum")
    placed_product = Cat(Const(0, low), v["product"])
    m.d.comb += raw.eq(Mux(subtract, placed_product - addend, placed_product + addend))
    magnitude = Signal(wm, name="magnitude")
    negative = raw < 0
    m.d.comb += magnitude.eq(Mux(negative, -raw, raw))
    v.update(magnitude=magnitude, sign=v["psign"] ^ negative)
    v = _cut(m, cuts, "sum", v)

    # -- 3. leading one and first rounding ----------------------------------------------
    nearest_even = cfg.rounding == "rne"
    window = cfg.window_bits
    lz = lzc(m, v["magnitude"][wm - window:], window, label="lead")
    if cfg.granularity > 1:
        lz = lz & ~Const(cfg.granularity - 1, len(lz))
    lead = Signal(signed(ew), name="lead")          # window position of the leading one
    m.d.comb += lead.eq(wm - 1 - lz)
    g = cfg.guard
    # the lowest last place: the leading one is at least at ``wm - 1 - window``. Below 2
    # it only occurs for exact sums (no addend bit was lost), so position 0 is exact then.
    u_low = max(-(ma + g), wm - 1 - window - ma - g)
    u = Signal(signed(ew), name="last_place")
    by_lead = lead - (ma + g)
    by_floor = (facc.emin - ma - g) - v["ref"]
    m.d.comb += u.eq(Mux(by_lead > by_floor, by_lead, by_floor))
    u_top = wm + 1
    rel = Signal(range(u_top - u_low + 1), name="round_shift")
    m.d.comb += rel.eq(Mux(u < u_low, 0, Mux(u > u_top, u_top - u_low, u - u_low)))
    # x[0] has the weight of magnitude[u_low - 1]; the bits below it are only sticky
    mag = v["magnitude"]
    if u_low >= 1:
        x = Cat(mag[u_low - 1:], Const(0, 2))
        below = mag[:u_low - 1].any() if u_low >= 2 else 0
    else:
        x = Cat(Const(0, 1 - u_low), mag, Const(0, 2))
        below = 0
    qwidth = ma + g + 1
    q = round_at(m, x, rel, qwidth=qwidth, nearest_even=nearest_even,
                 extra_sticky=below, label="round")
    scale = Signal(signed(ew), name="scale")     # exponent of q's last place
    m.d.comb += scale.eq(v["ref"] + u_low + rel)
    flush = Signal(name="flush")
    m.d.comb += flush.eq(0 if cfg.subnormals else (v["ref"] + lead < facc.emin))
    v.update(q=q, scale=scale, flush=flush, sumzero=v["magnitude"] == 0)
    for gone in ("magnitude", "product", "csig", "shift", "ref"):
        del v[gone]
    v = _cut(m, cuts, "round", v)

    # -- 3b. readout: exact normalization of an approximately normalized value ----------
    q, scale, flush = v["q"], v["scale"], v["flush"]
    if not cfg.is_exact:
        qw = len(q)
        lz2 = lzc(m, q, qw, label="readout")
        lead2 = Signal(signed(ew), name="readout_lead")
        m.d.comb += lead2.eq(qw - 1 - lz2)
        u2 = Signal(signed(ew), name="readout_place")
        by_lead2 = lead2 - ma
        by_floor2 = (facc.emin - ma) - scale
        m.d.comb += u2.eq(Mux(by_lead2 > by_floor2, by_lead2, by_floor2))
        # round bit q[u2 - 1] is x2[u2 + ma]; u2 + ma is in 0..g + ma + 1
        rel2 = Signal(range(qw + ma + 1), name="readout_shift")
        m.d.comb += rel2.eq(Mux(u2 + ma < 0, 0, u2 + ma))
        x2 = Cat(Const(0, ma + 1), q)
        q2 = round_at(m, x2, rel2, qwidth=ma + 1, nearest_even=nearest_even,
                      label="readout")
        flush2 = Signal(name="readout_flush")
        m.d.comb += flush2.eq(0 if cfg.subnormals else (scale + lead2 < facc.emin))
        scale2 = Signal(signed(ew), name="readout_scale")
        m.d.comb += scale2.eq(scale + u2)
        q, scale, flush = q2, scale2, flush | flush2 | (q == 0)
    # a last place above the window (clamped ``scale``) always rounds to zero
    flush = flush | (q == 0)

    # -- 4. encode ----------------------------------------------------------------------
    w = facc.width
    sign_bit = v["sign"] << (w - 1)
    biased = scale + (ma + facc.bias)
    combined = Signal(signed(ew + ma + 2), name="combined")
    m.d.comb += combined.eq(((biased - 1) << ma) + q)
    max_code = ((facc.emax + facc.bias) << ma) | facc.max_mantissa
    inf_code = facc.exp_max_code << ma if facc.has_inf else max_code
    nan_code = facc.nan_code if facc.has_nan else max_code
    over_code = inf_code if (facc.has_inf and nearest_even) else max_code
    product_sign = v["psign"] << (w - 1)
    value = Signal(w, name="value")
    m.d.comb += value.eq(
        Mux(v["nan"], nan_code,
            Mux(v["pinf"], product_sign | inf_code,
                Mux(v["cinf"], v["cbits"],
                    Mux(v["pzero"],
                        Mux(v["czero"], (v["psign"] & v["csign"]) << (w - 1), v["cbits"]),
                        Mux(v["sumzero"], 0,
                            Mux(v["flush"] | flush, sign_bit,
                                Mux(combined > max_code, sign_bit | over_code,
                                    sign_bit | combined[:w - 1]))))))))
    return value
