"""The FP tree reduction of the tree engines (``cube``, ``adder-tree``): ``T`` products and an
addend, aligned to the largest term within a window, summed exactly in one bit matrix and
rounded once. Spec and golden model: :func:`golden.fp.fdot.fdot` (vectorized:
:func:`golden.fp.vfdot.fdot`); ``a[t]`` in ``fmt_a``, ``b[t]`` in ``fmt_b``, ``c`` and the result
in ``fmt_acc``.

The datapath (:func:`dot_datapath`, combinational):

1. **unpack** every operand (:func:`~.common.unpack`); the significand products are
   ``w_p = (m_a + 1) + (m_b + 1)`` bits wide, the addend's significand ``w_c = m_acc + 1``.
   A term's *top* (``lsb + w``) comes from the exponent fields alone: ``exp_a + exp_b -
   bias_a - bias_b + 2`` for a product, ``exp_c - bias_c + 1`` for the addend (a subnormal
   reads its field as 1 and counts whole). Each top is kept as a non-negative *key*
   (``top + offset``), 0 for a zero term.
2. **window** -- ``ref`` = the largest key (a comparator tree over the ``T + 1`` keys); the
   grid is ``g = ref - W``, ``W = m_acc + 1 + guard``. Each term's significand is placed with
   its top at bit ``W`` of a ``W``-bit field (its bits below the field, when ``w_p > W``,
   dropped) and shifted right by ``ref - key`` (clamped at ``W``): one alignment shifter per
   term, truncating the magnitude toward zero.
3. **sum** -- the ``T + 1`` aligned magnitudes enter one :class:`~hdl.arith.BitMatrix` of
   ``W + ceil(log2(T + 1)) + 1`` columns as signed values (a negative term as its ones'
   complement with the sign as the top bit, plus a dot of weight 1), reduced to two rows
   (:func:`~hdl.arith.reduce_matrix`) and added by one final adder
   (:func:`~hdl.arith.final_add`); then its magnitude and sign.
4. **normalize and round** once: ``|S| * 2**g`` into ``fmt_acc`` by the FMA's readout
   (:func:`hdl.fp.fma._normalize`, exact leading-zero count, subnormal floor or flush), and
   the FMA's encode (:func:`hdl.fp.fma._encode`: overflow to inf or the largest finite,
   :func:`~hdl.fp.fma.over_code`), with the specials first: NaN (an operand NaN, ``inf * 0``,
   infinite terms of both signs), the infinity of the infinite terms, and ``S == 0``
   (``-0`` only when every term is a zero of sign ``-``, else ``+0``).

Members
-------
dot_datapath
    Adds the datapath to a module and returns the result's bit pattern; the FP MAC with
    ``terms=T > 1`` (:class:`hdl.fp.fmac.FMac`) puts it in its accumulation loop.
FDot
    The datapath alone as a combinational unit (for tests): ports

    a : In(ArrayLayout(fmt_a.width, terms))
        The ``T`` multiplicands in ``fmt_a``, lane ``t`` = ``a[t]``.
    b : In(ArrayLayout(fmt_b.width, terms))
        The ``T`` multiplicands in ``fmt_b``.
    c : In(fmt_acc.width)
        The addend.
    result : Out(fmt_acc.width)
        ``fdot(a, b, c)``, combinational.
sum_bits
    Columns of the grid sum for ``T`` terms: ``W + ceil(log2(T + 1)) + 1``.
GUARD
    The default ``guard`` (that of the golden model). Not the FMA's ``guard`` parameter of
    the configuration (an approximate-normalization setting, 0 here).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import DOT_GUARD as GUARD
from tpegen.config import MAX_TERMS, ParameterError

from ..arith import BitMatrix, final_add, reduce_matrix
from .common import unpack
from .fma import _encode, _normalize

__all__ = ["dot_datapath", "FDot", "GUARD", "sum_bits"]


def _bits(n):
    return max(1, int(n).bit_length())


def _clog2(n):
    return (int(n) - 1).bit_length()


def sum_bits(cfg, terms, guard=GUARD):
    """Columns of the grid sum: ``W + ceil(log2(T + 1)) + 1``. ``T + 1`` magnitudes below
    ``2**W`` sum to less than ``2**(W + ceil(log2(T + 1)))`` in magnitude; one more bit holds
    the sign."""
    return cfg.facc.man_bits + 1 + guard + _clog2(terms + 1) + 1


def _max(m, values, name):
    """The largest of ``values`` (unsigned), as a balanced comparator tree."""
    level = 0
    while len(values) > 1:
        out = []
        for i in range(0, len(values) - 1, 2):
            x, y = values[i], values[i + 1]
            s = Signal(x.shape(), name=f"{name}_l{level}_{i // 2}")
            m.d.comb += s.eq(Mux(x > y, x, y))
            out.append(s)
        if len(values) % 2:
            out.append(values[-1])
        values = out
        level += 1
    return values[0]


def dot_datapath(m, cfg, a_terms, b_terms, c_bits, *, guard=GUARD, tree="dadda",
                 compressor="3:2", final_adder="behavioural", stats=None):
    """Add the tree reduction ``fdot(a_terms, b_terms, c_bits)`` of :mod:`golden.fp.fdot` to
    the module ``m`` (combinational) and return the result's bit pattern (``fmt_acc.width``
    bits).

    Parameters
    ----------
    m : amaranth.hdl.Module
    cfg : tpegen.config.FMacConfig
        ``fa``, ``fb``, ``facc``, ``rounding``, ``subnormals``; ``normalize="exact"`` and
        ``accumulator="rounded"`` only.
    a_terms, b_terms : list of Value
        The ``T >= 1`` multiplicand bit patterns (``fa``, ``fb``).
    c_bits : Value
        The addend's bit pattern (``facc``).
    guard : int
        Window bits below the accumulator's significand (``W = m_acc + 1 + guard``).
    tree, compressor, final_adder
        The reducer and the final adder of the grid sum (:mod:`hdl.arith`).
    stats : dict, optional
        Receives the structural counts: ``window_bits`` (W), ``sum_bits``, and the reducer's
        ``stages`` and cells (``ha``, ``fa``, ``c42``).
    """
    assert cfg.normalize == "exact", "the FP tree reduction takes normalize='exact' only"
    assert getattr(cfg, "accumulator", "rounded") == "rounded", \
        "the FP tree reduction takes accumulator='rounded' only"
    assert len(a_terms) == len(b_terms) >= 1, "a and b need the same number T >= 1 of terms"
    assert guard >= 0
    fa, fb, facc = cfg.fa, cfg.fb, cfg.facc
    T = len(a_terms)
    ma = facc.man_bits
    wp = (fa.man_bits + 1) + (fb.man_bits + 1)
    wc = ma + 1
    W = wc + guard
    ws = sum_bits(cfg, T, guard)

    # -- key = top + offset: non-negative for every term, 0 reserved for zero terms --------
    top_p = (2 - fa.bias - fb.bias + 2, fa.exp_max_code + fb.exp_max_code - fa.bias - fb.bias + 2)
    top_c = (1 - facc.bias + 1, facc.exp_max_code - facc.bias + 1)
    offset = 1 - min(top_p[0], top_c[0])
    key_max = max(top_p[1], top_c[1]) + offset
    # signed exponent arithmetic: every exponent of the readout and the encode fits
    g_lo, g_hi = min(top_p[0], top_c[0]) - W, key_max - offset - W
    bound = max(abs(g_lo), abs(g_hi)) + ws + 2 * ma + abs(facc.emin) + facc.bias + 4
    ew = _bits(bound) + 2

    # -- 1. unpack, products, keys ----------------------------------------------------------
    sub = cfg.subnormals
    c = unpack(m, Value.cast(c_bits), facc, subnormals=sub, label="c")
    terms = []          # (sig, width, key, sign, zero)
    nan, pos_inf, neg_inf = c.nan, c.inf & ~c.sign, c.inf & c.sign
    all_zero, all_negative = c.zero, c.sign
    for t in range(T):
        a = unpack(m, Value.cast(a_terms[t]), fa, subnormals=sub, label=f"a{t}")
        b = unpack(m, Value.cast(b_terms[t]), fb, subnormals=sub, label=f"b{t}")
        product = Signal(wp, name=f"product{t}")
        sign = Signal(name=f"product{t}_sign")
        zero = Signal(name=f"product{t}_zero")
        key = Signal(range(key_max + 1), name=f"product{t}_key")
        infinite = a.inf | b.inf
        m.d.comb += [
            product.eq(a.sig * b.sig),
            sign.eq(a.sign ^ b.sign),
            zero.eq(a.zero | b.zero),
            key.eq(Mux(zero, 0, a.exp + b.exp + (offset + 2 - fa.bias - fb.bias))),
        ]
        nan = nan | a.nan | b.nan | (infinite & zero)
        pos_inf = pos_inf | (infinite & ~sign)
        neg_inf = neg_inf | (infinite & sign)
        all_zero = all_zero & zero
        all_negative = all_negative & sign
        terms.append((product, wp, key, sign, zero))
    c_key = Signal(range(key_max + 1), name="c_key")
    m.d.comb += c_key.eq(Mux(c.zero, 0, c.exp + (offset + 1 - facc.bias)))
    terms.append((c.sig, wc, c_key, c.sign, c.zero))

    # -- 2. the window: ref, one alignment shifter per term ---------------------------------
    ref = _max(m, [key for _, _, key, _, _ in terms], "ref")
    grid = Signal(signed(ew), name="grid")          # g: exponent of the sum's last place
    m.d.comb += grid.eq(ref - (offset + W))
    matrix = BitMatrix(ws)
    for i, (sig, w, key, sign, _) in enumerate(terms):
        name = f"term{i}" if i < T else "term_c"
        # the significand with its top at bit W (bits below the field dropped)
        field = Cat(Const(0, W - w), sig) if W >= w else sig[w - W:]
        distance = Signal(range(key_max + 1), name=f"{name}_distance")
        shift = Signal(range(W + 1), name=f"{name}_shift")
        aligned = Signal(W, name=f"{name}_aligned")
        m.d.comb += [
            distance.eq(ref - key),
            shift.eq(Mux(distance > W, W, distance)),
            aligned.eq(field >> shift),
        ]
        # -aligned = (~aligned as a W+1-bit signed value with top bit 1) + 1
        ones = Signal(signed(W + 1), name=f"{name}_signed")
        m.d.comb += ones.eq(Cat(aligned ^ sign.replicate(W), sign))
        matrix.add_value(ones)
        matrix.add_dot(sign, 0)

    # -- 3. one bit-matrix sum --------------------------------------------------------------
    reduced, tree_stats = reduce_matrix(m, matrix, tree=tree, compressor=compressor, prefix="dot")
    row0, row1 = reduced.rows()
    total = final_add(m, row0, row1, ws, kind=final_adder, prefix="dot_cpa")
    negative = total[ws - 1]
    magnitude = Signal(ws - 1, name="dot_magnitude")
    m.d.comb += magnitude.eq(Mux(negative, -total.as_signed(), total))
    sum_zero = Signal(name="dot_sum_zero")
    m.d.comb += sum_zero.eq(total == 0)
    if stats is not None:
        stats.update(window_bits=W, sum_bits=ws, **tree_stats)

    # -- 4. normalize, round once, encode ---------------------------------------------------
    q, scale, flush = _normalize(m, cfg, magnitude, grid, ew, unbounded=True)
    w = facc.width
    sign_bit = Const(1 << (w - 1), w)
    return _encode(m, cfg, q, scale, negative, flush | (q == 0), [
        (nan | (pos_inf & neg_inf), facc.nan_or_max_code),
        (pos_inf | neg_inf, Mux(neg_inf, sign_bit, 0) | facc.inf_code),
        (sum_zero, Mux(all_zero & all_negative, sign_bit, 0)),
    ], ew)


class FDot(wiring.Component):
    """The tree reduction as a combinational unit; see the module docstring.

    Parameters
    ----------
    config : tpegen.config.FMacConfig
        Formats, rounding and subnormals (exact, rounded accumulator only).
    terms : int
        ``T``, the products per reduction, 1..MAX_TERMS.
    guard : int
        As for :func:`dot_datapath`.
    """

    def __init__(self, config, *, terms, guard=GUARD):
        if isinstance(terms, bool) or not isinstance(terms, int) or not 1 <= terms <= MAX_TERMS:
            raise ParameterError(f"terms={terms!r} is out of range: allowed 1..{MAX_TERMS}")
        self.config = config
        self.terms = terms
        self.guard = guard
        self.stats = {}
        fa, fb, facc = config.fa, config.fb, config.facc
        self.formats = {"a": fa.name, "b": fb.name, "c": facc.name, "result": facc.name}
        super().__init__({"a": In(data.ArrayLayout(fa.width, terms)),
                          "b": In(data.ArrayLayout(fb.width, terms)),
                          "c": In(facc.width), "result": Out(facc.width)})

    def elaborate(self, platform):
        m = Module()
        T = self.terms
        value = dot_datapath(m, self.config, [self.a[t] for t in range(T)],
                             [self.b[t] for t in range(T)], self.c, guard=self.guard,
                             stats=self.stats)
        m.d.comb += self.result.eq(value)
        return m
