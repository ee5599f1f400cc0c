"""Floating-point fused multiply-add ``result = round(a*b + c)``, exact or with approximate
normalization, pipelined to a chosen depth.

Semantics (special values, signed zeros, overflow, flushing) are those of the golden models
:func:`golden.fp.fma.fma` (exact) and :func:`golden.fp.fma.fma_approx` (approximate); the
datapath follows the textbook single-adder FMA (J.-M. Muller et al., *Handbook of
Floating-Point Arithmetic*, 2nd ed., §9.5; E. Quinnell, *Floating-Point Fused Multiply-Add
Architectures*, 2007), generalized to three formats: ``a`` in ``fmt_a``, ``b`` in ``fmt_b``,
the addend and the result in ``fmt_acc``:

1. **product** -- unpack each operand in its own format, multiply the significands
   (``pp = (m_a + 1) + (m_b + 1)`` bits), add the exponents (each biased by its own
   format's bias), and choose
   the reference exponent ``ref`` of the alignment window (``tpegen.formats.Layout``): the
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

The stages are functions that the FP MACs reuse: :func:`datapath` is the whole FMA, and
:func:`unnormalized_step` / :func:`unnormalized_readout` are the loop and the output of the
MAC with an unnormalized accumulator (:class:`AccState`; golden model
:class:`golden.fp.fma.UnnormalizedMac`), which share stages 1-2 and the readout's exact
normalization and encode (3b, 4).

Members
-------
a : In(fmt_a.width)
    Multiplicand bit pattern in ``fmt_a``.
b : In(fmt_b.width)
    Multiplicand bit pattern in ``fmt_b`` (``fmt_in`` sets both formats).
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

from .common import Unpacked, lzc, round_at, unpack

__all__ = ["Fma", "datapath", "unnormalized_step", "unnormalized_readout"]

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
        self.fa, self.fb, self.facc = config.fa, config.fb, config.facc
        # the manifest's ``formats``: each port's number format
        self.formats = {"a": self.fa.name, "b": self.fb.name, "c": self.facc.name,
                        "result": self.facc.name}
        # ``combinational``: no registers at all (for units that embed the datapath)
        self.cuts = set() if combinational else set(CUT_ORDER[:config.depth])
        self.stats = {"window_bits": config.layout.width}
        super().__init__({"a": In(self.fa.width), "b": In(self.fb.width),
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


def exponent_width(cfg, lay):
    """Bits of the signed exponent arithmetic of the datapath of ``cfg`` with window ``lay``
    (the sum of the two operands' biased exponents needs one bit above the wider one)."""
    exp_bits = max(cfg.fa.exp_bits, cfg.fb.exp_bits)
    return max(exp_bits + 2, cfg.facc.exp_bits + 1) + _bits(lay.width) + 3


def _aligned_sum(m, cfg, lay, a_bits, b_bits, addend, *, cuts, ew, magnitude=True):
    """Stages 1 and 2: the product of ``a_bits`` (format ``cfg.fa``) and ``b_bits``
    (``cfg.fb``) and an addend, aligned in the
    window ``lay`` and added. ``addend()`` adds the addend's logic and returns ``(c, exp,
    offset, carry)``: an :class:`~.common.Unpacked` whose ``sig`` has ``lay.pc`` bits, the
    exponent of its last place as ``exp - offset``, and a dict of values to carry along the
    pipeline. Returns the values after the ``sum`` cut: ``magnitude`` (``raw`` and
    ``negative`` instead when not ``magnitude``), ``sign``, ``ref`` (exponent of window
    position 0), the special-value flags (``nan``, ``pinf``, ``cinf``, ``pzero``, ``czero``,
    ``psign``, ``csign``) and the carried values."""
    fa, fb = cfg.fa, cfg.fb
    wm, low, top = lay.width, lay.low, lay.top

    # -- 1. product ---------------------------------------------------------------------
    a = unpack(m, a_bits, fa, subnormals=cfg.subnormals, label="a")
    b = unpack(m, b_bits, fb, subnormals=cfg.subnormals, label="b")
    c, c_exp, c_offset, carry = addend()
    product = Signal(lay.pp, name="product")
    m.d.comb += product.eq(a.sig * b.sig)
    # exponents of the window's position 0 when anchored on the product / on the addend
    by_product = Signal(signed(ew), name="ref_product")
    by_addend = Signal(signed(ew), name="ref_addend")
    m.d.comb += [
        by_product.eq(a.exp + b.exp - (fa.bias + fb.bias + fa.man_bits + fb.man_bits + low)),
        by_addend.eq(c_exp - (c_offset + top)),
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
             csign=c.sign, pzero=a.zero | b.zero, czero=c.zero,
             nan=(a.nan | b.nan | c.nan
                  | ((a.inf | b.inf) & (a.zero | b.zero))
                  | ((a.inf | b.inf) & c.inf & (c.sign != product_sign))),
             pinf=a.inf | b.inf, cinf=c.inf, **carry)
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
    negative = raw < 0
    if magnitude:
        mag = Signal(wm, name="magnitude")
        m.d.comb += mag.eq(Mux(negative, -raw, raw))
        v.update(magnitude=mag)
    else:
        v.update(raw=raw, negative=negative)
    v.update(sign=v["psign"] ^ negative)
    for gone in ("product", "csig", "shift"):
        del v[gone]
    return _cut(m, cuts, "sum", v)


def _leading_zeros(m, cfg, magnitude, wm, window):
    """The leading-zero count of the top ``window`` bits of ``magnitude``, saturated at
    ``window`` and rounded down to a multiple of ``granularity``."""
    lz = lzc(m, magnitude[wm - window:], window, label="lead")
    if cfg.granularity > 1:
        lz = lz & ~Const(cfg.granularity - 1, len(lz))
    return lz


def _first_rounding(m, cfg, v, ew):
    """Stage 3: round the aligned sum at ``u = max(lead - m_acc - guard, floor - guard)``.
    Returns ``(q, scale, flush)``: the rounded significand, the exponent of its last place,
    and the flush-to-zero condition."""
    facc = cfg.facc
    ma, g, wm = facc.man_bits, cfg.guard, cfg.layout.width
    lz = _leading_zeros(m, cfg, v["magnitude"], wm, cfg.window_bits)
    lead = Signal(signed(ew), name="lead")          # window position of the leading one
    m.d.comb += lead.eq(wm - 1 - lz)
    # the lowest last place: the leading one is at least at ``wm - 1 - window``. Below 2
    # it only occurs for exact sums (no addend bit was lost), so position 0 is exact then.
    u_low = max(-(ma + g), wm - 1 - cfg.window_bits - ma - g)
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
    q = round_at(m, x, rel, qwidth=ma + g + 1, nearest_even=cfg.rounding == "rne",
                 extra_sticky=below, label="round")
    scale = Signal(signed(ew), name="scale")     # exponent of q's last place
    m.d.comb += scale.eq(v["ref"] + u_low + rel)
    flush = Signal(name="flush")
    m.d.comb += flush.eq(0 if cfg.subnormals else (v["ref"] + lead < facc.emin))
    return q, scale, flush


def _normalize(m, cfg, q, scale, ew, *, unbounded=False):
    """The readout: normalize ``q * 2**scale`` exactly and round it into ``fmt_acc``.
    Returns ``(q2, scale2, flush2)`` as :func:`_first_rounding` does. ``unbounded``: ``scale``
    may lie anywhere, not only at or above the subnormal grid."""
    facc = cfg.facc
    ma = facc.man_bits
    qw = len(q)
    lz2 = lzc(m, q, qw, label="readout")
    lead2 = Signal(signed(ew), name="readout_lead")
    m.d.comb += lead2.eq(qw - 1 - lz2)
    u2 = Signal(signed(ew), name="readout_place")
    by_lead2 = lead2 - ma
    if unbounded and not cfg.subnormals:
        # results below the smallest normal flush (flush2): no subnormal floor is needed
        m.d.comb += u2.eq(by_lead2)
    else:
        by_floor2 = (facc.emin - ma) - scale
        m.d.comb += u2.eq(Mux(by_lead2 > by_floor2, by_lead2, by_floor2))
    # round bit q[u2 - 1] is x2[u2 + ma]; u2 + ma is in 0..g + ma + 1 after a first rounding
    # (its last place is on the subnormal grid); an unbounded ``scale`` (the unnormalized
    # accumulator) may put it above ``q``: it is clamped to a zero bit above ``q``, and the
    # value rounds to zero
    if unbounded:
        top = qw + ma + 1
        rel2 = Signal(range(top + 1), name="readout_shift")
        m.d.comb += rel2.eq(Mux(u2 + ma < 0, 0, Mux(u2 + ma > top, top, u2 + ma)))
        x2 = Cat(Const(0, ma + 1), q, Const(0, 1))
    else:
        rel2 = Signal(range(qw + ma + 1), name="readout_shift")
        m.d.comb += rel2.eq(Mux(u2 + ma < 0, 0, u2 + ma))
        x2 = Cat(Const(0, ma + 1), q)
    q2 = round_at(m, x2, rel2, qwidth=ma + 1, nearest_even=cfg.rounding == "rne",
                  label="readout")
    flush2 = Signal(name="readout_flush")
    m.d.comb += flush2.eq(0 if cfg.subnormals else (scale + lead2 < facc.emin))
    scale2 = Signal(signed(ew), name="readout_scale")
    m.d.comb += scale2.eq(scale + u2)
    return q2, scale2, flush2


def _encode(m, cfg, q, scale, sign, flush, specials, ew):
    """Stage 4: ``(-1)**sign * q * 2**scale`` as an ``fmt_acc`` bit pattern (``q`` holds
    ``m_acc + 1`` bits and a carry), with overflow, and zero when ``flush``; ``specials`` is
    a list of ``(condition, bit pattern)`` pairs that take precedence, first first."""
    facc = cfg.facc
    ma, w = facc.man_bits, facc.width
    sign_bit = sign << (w - 1)
    biased = scale + (ma + facc.bias)
    combined = Signal(signed(ew + ma + 2), name="combined")
    m.d.comb += combined.eq(((biased - 1) << ma) + q)
    over = over_code(facc, cfg.rounding)
    value = Mux(flush, sign_bit,
                Mux(combined > facc.max_code, sign_bit | over, sign_bit | combined[:w - 1]))
    for condition, code in reversed(specials):
        value = Mux(condition, code, value)
    out = Signal(w, name="value")
    m.d.comb += out.eq(value)
    return out


def over_code(fmt, rounding):
    """What an overflow rounds to: inf with RNE in IEEE formats, else the largest finite."""
    return fmt.inf_code if (fmt.has_inf and rounding == "rne") else fmt.max_code


def datapath(m, cfg, a_bits, b_bits, c_bits, *, cuts=()):
    """Add the FMA datapath of ``a_bits * b_bits + c_bits`` (an :class:`FmaConfig`) to the
    module ``m``, with pipeline registers at ``cuts`` (``out`` excepted: the caller registers
    the result); returns the result. Units that embed an FMA (the FP MAC) call this on their
    own module, so that the Verilog stays one flat module."""
    facc, lay = cfg.facc, cfg.layout
    ew = exponent_width(cfg, lay)

    def addend():
        c = unpack(m, c_bits, facc, subnormals=cfg.subnormals, label="c")
        return c, c.exp, facc.bias + facc.man_bits, dict(cbits=c_bits)

    v = _aligned_sum(m, cfg, lay, a_bits, b_bits, addend, cuts=cuts, ew=ew)
    q, scale, flush = _first_rounding(m, cfg, v, ew)
    v.update(q=q, scale=scale, flush=flush, sumzero=v["magnitude"] == 0)
    for gone in ("magnitude", "ref"):
        del v[gone]
    v = _cut(m, cuts, "round", v)
    q, scale, flush = v["q"], v["scale"], v["flush"]
    if not cfg.is_exact:          # 3b. readout: exact normalization of an approximate one
        q2, scale, flush2 = _normalize(m, cfg, q, scale, ew)
        q, flush = q2, flush | flush2 | (q == 0)
    # a last place above the window (clamped ``scale``) always rounds to zero
    flush = flush | (q == 0)
    w = facc.width
    return _encode(m, cfg, q, scale, v["sign"], v["flush"] | flush, [
        (v["nan"], facc.nan_or_max_code),
        (v["pinf"], (v["psign"] << (w - 1)) | facc.inf_code),
        (v["cinf"], v["cbits"]),
        (v["pzero"], Mux(v["czero"], (v["psign"] & v["csign"]) << (w - 1), v["cbits"])),
        (v["sumzero"], 0),
    ], ew)


# --- the unnormalized accumulator (golden.fp.fma.UnnormalizedMac) ----------------------------

def unnormalized_exponent_width(cfg):
    """Bits of the unnormalized accumulator's signed exponent: twice the largest magnitude
    an exponent of the loop reaches, with room for 2**64 steps of growth above the largest
    product (golden.fp.fma.UnnormalizedMac)."""
    fa, fb, facc, lay = cfg.fa, cfg.fb, cfg.facc, cfg.layout
    high = max((fa.emax + 1) + (fb.emax + 1), facc.emax + 1) + 64 + lay.width
    low = (fa.man_bits - fa.emin) + (fb.man_bits - fb.emin) + lay.width + facc.man_bits \
        - facc.emin
    return _bits(max(high, low)) + 2


class AccState:
    """The unnormalized accumulator as fields of one register: ``q`` (``pc`` bits), ``scale``
    (signed, the exponent of ``q``'s last place), ``sign``, ``inf`` and ``nan``. All zeros is
    ``+0``, so ``clear`` and reset load zeros."""

    def __init__(self, cfg):
        self.pc = cfg.layout.pc
        self.ew = unnormalized_exponent_width(cfg)
        self.width = self.pc + self.ew + 3

    def fields(self, x):
        pc, ew = self.pc, self.ew
        return dict(q=x[:pc], scale=x[pc:pc + ew].as_signed(), sign=x[pc + ew],
                    inf=x[pc + ew + 1], nan=x[pc + ew + 2])

    def pack(self, q, scale, sign, inf, nan):
        return Cat(q, scale[:self.ew], sign, inf, nan)


def _odd_rounding(m, cfg, lay, v, ew):
    """The loop's rounding: keep ``p`` bits of ``|raw|`` below the approximate leading one,
    rounded to odd, without forming ``|raw|``. The detector reads ``x = raw ^ neg`` (the
    ones' complement, ``|raw| - 1`` when negative); with ``jam`` = any bit of ``raw`` below
    the kept ones, ``q = kept(x) | 1`` when ``jam``, else ``kept(x) + neg`` (then exact).
    The leading-zero count takes ``window // granularity + 1`` values, so the kept bits are
    a multiplexer over that many constant slices (no shifter). Returns ``(q, scale)``."""
    wm, g, window = lay.width, cfg.granularity, cfg.window_bits
    keep = lay.pc - 1                                       # p significant bits
    raw, neg = v["raw"], v["negative"]
    x = Signal(wm, name="loop_ones")
    m.d.comb += x.eq(raw[:wm] ^ neg.replicate(wm))
    lz = _leading_zeros(m, cfg, x, wm, window)

    def bits(lo, hi):               # x[lo:hi]; below position 0, raw is 0 and so x is neg
        return Cat(*[x[i] if i >= 0 else neg for i in range(lo, hi)])

    kept, jam = Signal(keep, name="loop_kept"), Signal(name="loop_jam")
    choices = list(range(0, window // g * g + 1, g))
    for count in reversed(choices):                         # the last one is the default
        u = wm - count - keep
        values = [kept.eq(bits(u, u + keep)), jam.eq(raw[:u].any() if u >= 1 else 0)]
        if count == choices[-1]:
            m.d.comb += values
        else:
            with m.If(lz == count):
                m.d.comb += values
    q = Signal(keep + 1, name="loop_q")
    scale = Signal(signed(ew), name="loop_scale")
    m.d.comb += [q.eq(Mux(jam, kept | 1, kept + neg)), scale.eq(v["ref"] + (wm - keep) - lz)]
    return q, scale


def unnormalized_step(m, cfg, a_bits, b_bits, base):
    """One step of the unnormalized accumulator (an :class:`FMacConfig`): returns the new
    register value from the operands and the register value ``base`` (see :class:`AccState`)."""
    st = AccState(cfg)
    acc = st.fields(base)
    fcfg, lay = cfg.fma, cfg.layout

    def addend():
        c = Unpacked(sign=acc["sign"], zero=acc["q"] == 0, nan=acc["nan"], inf=acc["inf"],
                     sig=acc["q"], exp=acc["scale"])
        return c, acc["scale"], 0, {}

    v = _aligned_sum(m, fcfg, lay, a_bits, b_bits, addend, cuts=(), ew=st.ew,
                     magnitude=False)
    q, scale = _odd_rounding(m, cfg, lay, v, st.ew)
    sumzero = v["raw"] == 0
    sign = Mux(v["pinf"], v["psign"],
               Mux(v["cinf"], v["csign"],
                   Mux(v["pzero"], Mux(v["czero"], v["psign"] & v["csign"], v["csign"]),
                       Mux(sumzero, 0, v["sign"]))))
    keep_acc = v["pzero"]                   # a zero product leaves the value as it is
    return st.pack(Mux(keep_acc, acc["q"], Mux(sumzero, 0, q)),
                   Mux(keep_acc, acc["scale"], scale), sign,
                   ~v["nan"] & (v["pinf"] | v["cinf"]), v["nan"])


def unnormalized_readout(m, cfg, x):
    """The register value ``x`` of the unnormalized accumulator, normalized exactly and
    rounded into ``fmt_acc``."""
    st = AccState(cfg)
    acc = st.fields(x)
    fcfg, facc = cfg.fma, cfg.facc
    q, scale, flush = _normalize(m, fcfg, acc["q"], acc["scale"], st.ew, unbounded=True)
    sign = acc["sign"] << (facc.width - 1)
    return _encode(m, fcfg, q, scale, acc["sign"], flush | (q == 0), [
        (acc["nan"], facc.nan_or_max_code),
        (acc["inf"], sign | facc.inf_code),
    ], st.ew)
