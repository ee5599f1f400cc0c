"""LUT-based mixed-precision GEMM PE (LUT Tensor Core style): ``cols`` weight columns share
one table of the partial sums of a group of K activations; every cycle one bit-plane of the
weights (K bits per column) indexes it, and each column adds the looked-up partial sum,
weighted by the plane, to its accumulator. The spec (the ports' meaning, the cycle rule) is
in :mod:`golden.pe.lut`, its golden model.

Mo et al., "LUT Tensor Core" (ISCA 2025, arXiv:2408.06003): the table is precomputed over
groups of K = 4 activations and indexed by the weight bits, bit-serially; reading a weight
table is symmetric, which halves it; here the symmetry comes from reading each weight bit as
``s = 2*bit - 1`` in {-1, +1}, so that ``T(~i) = -T(i)``. The precompute is paid once per
group and shared by the ``cols`` columns: that amortization is the design's point.

Arithmetic
----------
For plane ``p`` (``c_p = -1`` on a two's complement weight's top plane, else ``+1``) and a
column's K-bit index ``i``, the spec adds ``c_p 2**p U(i)`` with ``U(i) = sum_{k in i} a_k``.
With ``T(i) = sum_k s_k a_k`` and ``S = sum_k a_k``, ``U(i) = (T(i) + S) / 2`` exactly
(``T(i) + S = 2 U(i)`` is even), so

    c_p 2**p U(i) = (c_p 2**p T(i) + c_p 2**p S) / 2.

Each column's loop therefore works on twice its accumulator: the bit matrix (``acc_width +
1`` columns) holds ``2 acc`` (the accumulator one column up), the looked-up row and the
shared ``S`` row, and the accumulator takes the sum's bits ``1..acc_width`` (bit 0 is 0).

Datapaths
---------
``lut`` (the half table)
    On ``load``: the 2**(K-1) entries ``H[j] = T(j)`` for the indices with the top bit 0
    (``s_{K-1} = -1``), each a K-term sum of +-a_k through its own bit matrix and adder,
    registered. ``S = -T(0) = -H[0]`` costs nothing. Per cycle, shared by the columns: the
    entries shifted by the plane, ``H[j] << p`` (one mux of n shifts per entry), and the
    ``c_p S`` row (``H[0] << p``, negated on the non-sign planes). Per column: the index's
    top bit ``t`` picks the half (``low = i[:K-1] ^ t``, the mirror), a 2**(K-1):1 mux
    reads the shifted ``H[low]``, and the row enters the column's matrix negated when
    ``t ^ (sign plane)``: ``-(x << p) = ~(x << p) + 1``, an XOR and one dot of weight 0, no
    adder. A column's matrix: ``2 acc``, one table row, the shared ``S`` row and two dots,
    whatever K.
``mac`` (the baseline)
    The same ports, registers and cycle rule with no table: on ``load`` the K activations
    are registered; per cycle the shared rows ``c_p 2**p a_k`` (negated on the sign plane)
    are ANDed with each column's K plane bits as the project's array partial products
    (:func:`hdl.arith.add_product`, the bit-matrix MAC core's generator): K rows per column.
    It is the bit-serial integer MAC of the same MACs per cycle (``cols * K / n``), so the
    two differ by the table alone. A word-parallel integer MAC of that throughput (``cols *
    K / n`` multipliers of n x ``a_width`` bits) is the integer MAC with that many
    products per cycle (``hdl.mac.Mac(MacConfig(...), terms=T)``); the MixPE group PE
    (:mod:`hdl.pe.mixpe`, int4 x int8 with a per-group FP dequantization) adds the FP
    scaling on top of such an integer core, so the plain integer MAC of the same throughput
    is the fair comparison of the integer cores.

In both, each column's rows and ``acc`` go through one bit-matrix reduction (the config's
``tree``) and one final adder closing the loop.

Members
-------
a : In(k * a_width)
    The group's K activations, lane ``k`` at bit ``k * a_width`` (two's complement if
    ``a_signed``); read at a ``load`` edge only.
load : In(1)
    Role ``mode``: ``1`` loads the table from ``a`` at this edge and restarts the plane
    count (a plane at this edge still reads the previous table); ``0`` keeps it.
b : In(cols * k)
    One weight bit-plane: bit ``j*k + k'`` is the current plane's bit of column ``j``'s
    weight for lane ``k'``. Planes come least significant first, one per enabled cycle.
clear, enable : In(1)
    ``acc_j <- (0 if clear else acc_j) + (the plane's product if enable else 0)``; ``enable``
    also advances the plane count (``0..n-1``, wrapping).
result : Out(cols * acc_width)
    The accumulators, column ``j`` at bit ``j * acc_width``, ``latency`` (1) edge after the
    plane.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import LutPeConfig

from ..arith import BitMatrix, add_product, final_add, reduce_matrix

__all__ = ["LutPe", "LutWordPe", "lut_pe", "mirror", "table_width"]


def lut_pe(config, *, terms=1):
    """The generator of the registry's ``lut`` kind: :class:`LutPe`, or with ``terms`` = K
    products per beat (an engine's PE) :class:`LutWordPe`."""
    if terms == 1:
        return LutPe(config)
    if terms != config.k:
        raise ValueError(f"terms={terms}: the LUT PE's beat has k={config.k} products")
    return LutWordPe(config)


def mirror(m, index, K):
    """``(top, low)`` of a K-bit table index: ``top`` (bit K-1) says the index is in the
    upper half; ``low`` (K-1 bits) is the stored entry it reads: its own low bits, or their
    complement (``~i`` has the top bit 0 and ``T(i) = -T(~i)``)."""
    top = index[K - 1]
    low = Signal(K - 1, name=f"{index.name}_low")
    m.d.comb += low.eq(index[:K - 1] ^ top.replicate(K - 1))
    return top, low


def _bits_for(lo, hi):
    """Two's complement bits holding every integer of ``lo..hi``."""
    bits = 1
    while not -(1 << (bits - 1)) <= lo <= hi <= (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def table_width(cfg):
    """Bits of a table entry ``T(i) = sum_k +-a_k`` (two's complement)."""
    amin, amax = ((-(1 << (cfg.a_width - 1)), (1 << (cfg.a_width - 1)) - 1) if cfg.a_signed
                  else (0, (1 << cfg.a_width) - 1))
    big = max(abs(amin), abs(amax))
    return _bits_for(-cfg.k * big, cfg.k * big)


class LutPe(wiring.Component):
    """LUT mpGEMM PE generator; see the module docstring.

    Parameters
    ----------
    config : LutPeConfig, optional
        The parameters; alternatively pass them as keyword arguments.
    """

    def __init__(self, config=None, **params):
        self.config = c = LutPeConfig.given(config, **params)
        self.stats = {}
        #: member -> manifest role (``load`` selects the operation: role ``mode``)
        self.roles = {"load": "mode"}
        super().__init__({"a": In(c.k * c.a_width), "load": In(1), "b": In(c.cols * c.k),
                          "clear": In(1), "enable": In(1),
                          "result": Out(c.cols * c.acc_width)})

    @property
    def latency(self):
        return self.config.latency

    @property
    def macs_per_cycle(self):
        return self.config.macs_per_cycle

    @property
    def modes_info(self):
        """The manifest's ``modes``: what the ``load`` (role ``mode``) codes do."""
        return [{"code": 0, "name": "keep", "lanes": 0, "a_bits": 0, "b_bits": 0},
                {"code": 1, "name": "load", "lanes": self.config.k,
                 "a_bits": self.config.a_width, "b_bits": 0}]

    # --- shared pieces -----------------------------------------------------------------------

    def _activation(self, k):
        """Lane ``k`` of ``a`` as a signed value of ``a_width + 1`` bits."""
        c = self.config
        lane = self.a[k * c.a_width:(k + 1) * c.a_width]
        return (lane.as_signed() if c.a_signed else Cat(lane, Const(0, 1)).as_signed())

    def _shifted(self, m, value, name):
        """``value << p`` (``p`` the plane counter), zero when ``enable`` is 0: a mux of the
        n fixed shifts, as a signed signal."""
        n = self.config.w_width
        out = Signal(signed(len(value) + n - 1), name=name)
        with m.If(self.enable):
            if n == 1:
                m.d.comb += out.eq(value)
            else:
                with m.Switch(self.plane):
                    for q in range(n - 1):
                        with m.Case(q):
                            m.d.comb += out.eq(value << q)
                    with m.Default():           # n - 1 (and the counts it never reaches)
                        m.d.comb += out.eq(value << (n - 1))
        return out

    def elaborate(self, platform):
        c = self.config
        m = Module()
        n = c.w_width

        # the plane counter and the sign plane
        if n > 1:
            self.plane = Signal(range(n), name="plane")
            with m.If(self.load):
                m.d.sync += self.plane.eq(0)
            with m.Elif(self.enable):
                m.d.sync += self.plane.eq(Mux(self.plane == n - 1, 0, self.plane + 1))
        else:
            self.plane = None
        sign_plane = Signal(name="sign_plane")
        m.d.comb += sign_plane.eq((self.plane == n - 1) if (c.w_signed and n > 1)
                                  else int(c.w_signed))
        if c.datapath == "lut":
            columns = self._lut(m, sign_plane)
            doubled = True
        else:
            columns = self._mac(m, sign_plane)
            doubled = False

        width = c.acc_width
        accs = []
        for j, matrix in enumerate(columns):
            acc = Signal(width, name=f"acc{j}")
            acc_in = Signal(width, name=f"acc{j}_in")
            m.d.comb += acc_in.eq(Mux(self.clear, 0, acc))
            matrix.add_value(acc_in, 1 if doubled else 0)
            reduced, stats = reduce_matrix(m, matrix, tree=c.tree, prefix=f"c{j}_t")
            for key, value in stats.items():
                self.stats[f"column_{key}"] = self.stats.get(f"column_{key}", 0) + value
            row0, row1 = reduced.rows()
            total = final_add(m, row0, row1, matrix.width, kind=c.final_adder,
                              prefix=f"acc{j}_cpa")
            with m.If(self.enable | self.clear):
                m.d.sync += acc.eq(total[1:] if doubled else total)
            accs.append(acc)
        m.d.comb += self.result.eq(Cat(*accs))
        return m

    # --- the half table ---------------------------------------------------------------------

    def _lut(self, m, sign_plane):
        c = self.config
        K, ew = c.k, table_width(c)
        acts = [self._activation(k) for k in range(K)]
        entries = []
        for j in range(1 << (K - 1)):
            # H[j] = T(j) = sum_k s_k a_k, s_k = +1 for the set bits of j, -1 otherwise
            # (always -1 for lane K-1): -a = ~a + 1
            matrix = BitMatrix(ew)
            for k, a in enumerate(acts):
                if k < K - 1 and (j >> k) & 1:
                    matrix.add_value(a)
                else:
                    matrix.add_value(~a)
                    matrix.add_constant(1)
            reduced, stats = reduce_matrix(m, matrix, tree=c.tree, prefix=f"h{j}_t")
            for key, value in stats.items():
                self.stats[f"table_{key}"] = self.stats.get(f"table_{key}", 0) + value
            r0, r1 = reduced.rows()
            value = final_add(m, r0, r1, ew, kind=c.final_adder, prefix=f"h{j}_cpa")
            entry = Signal(signed(ew), name=f"lut{j}")
            with m.If(self.load):
                m.d.sync += entry.eq(value.as_signed())
            entries.append(entry)
        self.stats.update(table_entries=len(entries), table_bits=ew)

        # The plane's shift, once for the whole table (shared by the columns): H[j] << p,
        # zero when enable is 0. The negations below act on the shifted entries:
        # -(x << p) = ~(x << p) + 1, so their +1 is one dot of weight 0.
        shifted = [self._shifted(m, e, f"lut{j}_p") for j, e in enumerate(entries)]
        sw = len(shifted[0])

        # c_p S << p, shared: S = -H[0], so c_p S = H[0] on the sign plane, ~H[0] + 1 else
        plus = Signal(name="s_negate")
        m.d.comb += plus.eq(~sign_plane & self.enable)
        s_row = Signal(signed(sw), name="s_row")
        m.d.comb += s_row.eq(shifted[0] ^ plus.replicate(sw).as_signed())

        width = c.acc_width + 1
        columns = []
        for j in range(c.cols):
            index = Signal(K, name=f"b{j}")
            m.d.comb += index.eq(self.b[j * K:(j + 1) * K])
            top, low = mirror(m, index, K)
            entry = Signal(signed(sw), name=f"b{j}_entry")
            with m.Switch(low):
                for v, e in enumerate(shifted):
                    with m.Case(v):
                        m.d.comb += entry.eq(e)
            neg = Signal(name=f"b{j}_neg")           # c_p T(i) = -H[low] when top ^ sign
            m.d.comb += neg.eq((top ^ sign_plane) & self.enable)
            row = Signal(signed(sw), name=f"b{j}_row")
            m.d.comb += row.eq(entry ^ neg.replicate(sw).as_signed())
            matrix = BitMatrix(width)
            matrix.add_value(row)
            matrix.add_value(s_row)
            matrix.add_dot(neg, 0)
            matrix.add_dot(plus, 0)
            columns.append(matrix)
        self.stats["rows_per_column"] = 2
        return columns

    # --- the baseline: AND-array plane products, no table -------------------------------------

    def _mac(self, m, sign_plane):
        c = self.config
        K, A = c.k, c.a_width
        regs = []
        for k in range(K):
            r = Signal(A, name=f"act{k}")
            with m.If(self.load):
                m.d.sync += r.eq(self.a[k * A:(k + 1) * A])
            regs.append(r)
        shared = []
        for k, r in enumerate(regs):
            a = r.as_signed() if c.a_signed else Cat(r, Const(0, 1)).as_signed()
            # c_p a_k: ~a_k (+1 per set plane bit, below) on the sign plane
            x = self._shifted(m, a ^ sign_plane.replicate(A + 1).as_signed(), f"act{k}_row")
            shared.append(x)
        sign_dot = Signal(name="sign_step")
        m.d.comb += sign_dot.eq(sign_plane & self.enable)
        columns = []
        for j in range(c.cols):
            matrix = BitMatrix(c.acc_width)
            for k in range(K):
                bit = self.b[j * K + k]
                add_product(m, matrix, bit, False, shared[k].as_unsigned(), True, mult="array",
                            prefix=f"c{j}_m{k}")
                matrix.add_dot(bit & sign_dot, c.w_width - 1)
            columns.append(matrix)
        self.stats["rows_per_column"] = K
        return columns


class LutWordPe(wiring.Component):
    """The LUT PE as an engine's PE: one beat of K activations and K whole weights (one
    column, ``cols`` = 1), its n bit-planes fed to :class:`LutPe` from a register in the n
    cycles after the beat (the spec: :class:`golden.pe.lut.LutWordPeArray`).

    At the beat's edge (``valid`` and ``ready``) the table loads from ``a`` and the weights
    are registered; in each of the next n cycles one plane (bit ``p`` of every weight)
    indexes it and the accumulator adds the plane's product (``clear`` of the beat applies
    to the first). ``ready`` is low while planes remain after this cycle, so a beat every n
    cycles keeps the table busy: the next beat's ``load`` comes with the last plane, which
    still reads the previous table (:class:`LutPe`). An engine presents each beat for n
    cycles (:meth:`beat_cycles`, the schedule shared by the array).

    Members
    -------
    a : In(ArrayLayout(a_width, k))
        The beat's K activations (signed lanes with ``a_signed``).
    b : In(ArrayLayout(w_width, k))
        The beat's K weights, one column (signed lanes with ``w_signed``).
    clear : In(1)
        The beat starts a new accumulation.
    valid : In(1), ready : Out(1)
        The beat's handshake.
    result : Out(acc_width)
        The accumulator (signed with signed operands), :attr:`latency` edge after each
        plane.
    """

    def __init__(self, config=None, **params):
        self.config = c = LutPeConfig.given(config, **params)
        if c.cols != 1:
            raise ValueError(f"cols={c.cols}: the word PE has one column")
        self.stats = {}
        # (the lanes' signedness: the manifest's formats, int8 / int4 lanes of an engine)
        a_lane = signed(c.a_width) if c.a_signed else c.a_width
        w_lane = signed(c.w_width) if c.w_signed else c.w_width
        super().__init__({"a": In(data.ArrayLayout(a_lane, c.k)),
                          "b": In(data.ArrayLayout(w_lane, c.k)), "clear": In(1),
                          "valid": In(1), "ready": Out(1),
                          "result": Out(signed(c.acc_width) if c.a_signed or c.w_signed
                                        else c.acc_width)})

    @property
    def latency(self):
        return self.config.latency

    @property
    def schedule_rule(self):
        """The engine's beat-cycle rule (the manifest's ``engine.beat_cycles``): n."""
        return str(self.config.w_width)

    def beat_cycles(self, m, codes):
        """Cycles of one engine beat: the n planes, whatever the weights."""
        n = self.config.w_width
        return Const(n, range(n + 1))

    def elaborate(self, platform):
        c = self.config
        m = Module()
        n, K = c.w_width, c.k
        m.submodules.lut = lut = LutPe(c)
        weights = Signal(K * n, name="weights")
        busy = Signal(name="busy")
        plane = Signal(range(n), name="word_plane")
        clear_b = Signal(name="clear_b")
        take = Signal(name="take")
        m.d.comb += [self.ready.eq(~busy | (plane == n - 1)),
                     take.eq(self.valid & self.ready),
                     lut.a.eq(self.a.as_value()), lut.load.eq(take),
                     lut.enable.eq(busy), lut.clear.eq(busy & clear_b & (plane == 0)),
                     lut.b.eq(Cat(weights[k * n:(k + 1) * n].bit_select(plane, 1)
                                  for k in range(K))),
                     self.result.eq(lut.result)]
        with m.If(busy):
            m.d.sync += plane.eq(Mux(plane == n - 1, 0, plane + 1))
            with m.If(plane == n - 1):
                m.d.sync += busy.eq(0)
        with m.If(take):
            m.d.sync += [weights.eq(self.b.as_value()), busy.eq(1), plane.eq(0),
                         clear_b.eq(self.clear)]
        self.stats.update(lut.stats)
        return m
