"""What the output-accumulating engines share (:mod:`.systolic_os`, :mod:`.matrix2d`): the
AXI4-Stream GEMM interface, the tile flags, the PE grid, the result capture and the
row-by-row drain. A subclass says only how operands reach the PEs (:meth:`feed`) and after
how many cycles (:meth:`delay`). docs/engines.md is the spec; :mod:`golden.engines` models it.

Interface (every engine of this family)
---------------------------------------
``s_axis_a``  R lanes: beat ``k`` of a tile carries column ``k`` of the R x K tile of A
              (lane ``i`` = ``A[i][k]``, lane 0 in the low bits); ``tlast`` on beat K-1.
``s_axis_b``  C lanes: beat ``k`` carries row ``k`` of the K x C tile of B; its ``tlast``
              should equal A's (a beat with either ``tlast`` set ends the tile).
``m_axis_c``  C lanes: R beats per tile, beat ``i`` = row ``i`` of the R x C result;
              ``tlast`` on row R-1.

Each operand stream has a one-beat input register: ``tready`` is high when it is empty or is
emptied in this cycle, so every ``tready`` and ``tvalid`` the engine drives is a function of
registers only (no combinational path from an input). A beat *enters* the array (is
*accepted*, below) when both registers hold one and the array advances; K >= 1 is any
length, and with every ``tready`` high, back-to-back tiles enter with no bubble.

Timing, in *advancing* cycles (a cycle in which ``advance`` is high; when it is low, every
register of the datapath, the PEs' included, holds):

* a beat accepted in cycle ``s`` (one cycle after its transfer, at the earliest) reaches
  PE(i,j) in cycle ``s + delay(i, j)``, with flags
  ``valid`` (the PE's ``enable``), ``first`` (``clear``) and ``last``;
* the PE's ``result`` shows it ``L`` = PE latency cycles later, and then, if the beat was a
  tile's last, it is *captured* into the PE's result register;
* a row is *complete* when its last PE has captured; complete rows leave in order, one per
  cycle, while ``m_axis_c_tready`` is high (the drain does not need ``advance``).

A PE with a digit schedule (the bit-serial PE: :meth:`PeCell.beat_cycles`) makes a beat
take ``n`` advancing cycles: it is accepted in the first, the next ``n - 1`` accept nothing,
and the *end* of a tile's last beat is its last cycle; captures and rule (2) then count from
the end instead of the acceptance (docs/engines.md, "Multi-cycle beats").

Two rules keep this lossless and free of deadlock. (1) ``advance`` is low in a cycle in which
a row's first PE would capture while that row still holds an un-sent result. (2) A tile's
last beat enters at least :attr:`min_spacing` advancing cycles after the previous tile's
(``C`` for the systolic array: every PE of a row must capture tile ``n`` before its first PE
captures tile ``n + 1``; 1 for the broadcast array).

Members
-------
s_axis_a_tdata, s_axis_a_tvalid, s_axis_a_tready, s_axis_a_tlast
s_axis_b_tdata, s_axis_b_tvalid, s_axis_b_tready, s_axis_b_tlast
m_axis_c_tdata, m_axis_c_tvalid, m_axis_c_tready, m_axis_c_tlast
dbg_state : Out(ArrayLayout(result, R*C)), only with ``debug``
    Every PE's ``result`` (its accumulator), lane ``i*C + j`` = PE(i, j).
"""

from amaranth.hdl import (Array, Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal,
                          Signal)
from amaranth.lib import wiring

from .interface import GemmInterface, state_entry

__all__ = ["AccumulatingEngine"]


class AccumulatingEngine(GemmInterface, wiring.Component):
    """Base of the output-accumulating engines (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        The engine's parameters (its ``pe`` is the PE's configuration).
    """

    arch = None
    #: k-slices of a tile per beat (``config.terms``: the cube's D, the LUT PE's K; else
    #: 1): a beat carries ``group`` columns of A and rows of B, and each PE reduces
    #: ``group`` products per beat
    group = 1

    def __init__(self, config):
        self.config = config
        self.rows, self.cols = config.rows, config.cols
        self.group = config.terms       # the cube's D, the LUT PE's K products per beat
        self.cell_init(config.pe, terms=self.group)
        self.a_count, self.b_count = self.rows * self.group, self.group * self.cols
        self.gemm_init(a_shape=self.a_shape, b_shape=self.b_shape, r_shape=self.r_shape,
                       state_lanes=self.rows * self.cols, pe=config.pe, a_lanes=self.a_count,
                       b_lanes=self.b_count)
        if config.debug and hasattr(self, "formats"):
            self.formats["dbg_state"] = self.formats["m_axis_c_tdata"]

    @property
    def engine_info(self):
        """The manifest's ``engine`` section: what an external driver needs (docs/engines.md)."""
        R, C = self.rows, self.cols
        info = {
            "arch": self.arch, "rows": R, "cols": C, "pe": self.config.pe.kind,
            "pe_module": self.cell_name, "pe_latency": self.pe_latency, "pe_instances": R * C,
            "tile": {"a": "beat k = column k of the R x K tile of A, lane i = A[i][k]",
                     "b": "beat k = row k of the K x C tile of B, lane j = B[k][j]",
                     "c": "R beats per tile, beat i = row i of C = A x B, lane j = C[i][j]",
                     "last": "tlast on beat K-1 of a and b (either ends the tile) and on "
                             "row R-1 of c"},
            # machine-readable: each stream's matrix, its shape (R and C fixed, the other
            # dimension the tile's length) and whether a beat is a row or a column of it
            "layout": {"a": {"matrix": "A", "shape": ["R", "K"], "beat": "column"},
                       "b": {"matrix": "B", "shape": ["K", "C"], "beat": "row"},
                       "c": {"matrix": "A @ B", "shape": ["R", "C"], "beat": "row"}},
            "min_spacing": self.min_spacing,
            "latency": self.latency,
            "tile_cycles": f"K + {self.latency} + {R} - 1",
        }
        rule = getattr(self.cell.pe, "schedule_rule", None)
        if rule is not None:            # multi-cycle beats (docs/engines.md)
            info["beat_cycles"] = rule
            info["tile_cycles"] = f"(sum of the beats' cycles) + {self.latency} + {R} - 1"
        D = self.group
        if D > 1:
            info["depth"] = D
            info["tile"]["a"] = (f"beat t = columns {D}t..{D}t+{D - 1} of the R x K tile of A "
                                 f"(K padded with zeros to a multiple of {D}), lane i*{D} + d "
                                 f"= A[i][{D}t + d]")
            info["tile"]["b"] = (f"beat t = rows {D}t..{D}t+{D - 1} of the K x C tile of B, "
                                 f"lane d*{C} + j = B[{D}t + d][j]")
            info["tile"]["last"] = (f"tlast on beat ceil(K/{D})-1 of a and b (either ends the "
                                    "tile) and on row R-1 of c")
            # ``group``: a beat carries that many consecutive columns (rows) as a row-major
            # block; the tile's length is padded with zeros to a multiple of it
            info["layout"]["a"]["group"] = info["layout"]["b"]["group"] = D
            info["tile_cycles"] = f"ceil(K/{D}) + {self.latency} + {R} - 1"
        if self.config.debug:
            info["state"] = [state_entry("acc", R * C, "i*C + j", "PE(i, j)'s result port "
                                         "(its accumulator C[i][j]), in the current cycle")]
        return info

    # --- geometry (subclasses) -----------------------------------------------------------

    def delay(self, i, j):
        """Advancing cycles from a beat's acceptance to PE(i, j)'s inputs."""
        raise NotImplementedError

    @property
    def min_spacing(self):
        """Advancing cycles between two tiles' last beats, at least."""
        raise NotImplementedError

    def feed(self, m, a_lanes, b_lanes, advance):
        """Registers that carry the accepted beat's lanes to the PEs: ``(A, B)`` with
        ``A[i][j]``, ``B[i][j]`` the operands PE(i, j) sees (``delay(i, j)`` cycles late;
        with ``group`` D > 1, each the concatenation of its D lanes)."""
        raise NotImplementedError

    def row_col_operands(self, a_lanes, b_lanes):
        """The beat's operands per row of A and per column of B: ``(rows, cols)``, R and C
        values; with ``group`` D > 1, row ``i`` is lanes ``i*D .. i*D + D-1`` and column
        ``j`` lanes ``d*C + j`` for ``d = 0..D-1``, concatenated (docs/engines.md)."""
        R, C, D = self.rows, self.cols, self.group
        if D == 1:
            return list(a_lanes), list(b_lanes)
        return ([Cat(a_lanes[i * D:(i + 1) * D]) for i in range(R)],
                [Cat(b_lanes[d * C + j] for d in range(D)) for j in range(C)])

    # --- derived timing --------------------------------------------------------------------

    @property
    def pe_latency(self):
        return self.cell.latency

    @property
    def latency(self):
        """Cycles from a tile's last beat's transfer to its first result row's, with no
        stall: the input register, the delay to the row's last PE, the PE, the capture."""
        return 1 + self.delay(0, self.cols - 1) + self.pe_latency + 1

    # --- elaboration -----------------------------------------------------------------------

    def _delayed(self, m, value, depth, advance, name):
        """``value`` through ``depth`` registers clock-enabled by ``advance``: the list of
        taps ``[value, delayed by 1, ..., delayed by depth]``."""
        taps = [value]
        for k in range(1, depth + 1):
            reg = Signal.like(value, name=f"{name}_d{k}")
            with m.If(advance):
                m.d.sync += reg.eq(taps[-1])
            taps.append(reg)
        return taps

    def elaborate(self, platform):
        m = Module()
        R, C, L = self.rows, self.cols, self.pe_latency
        advance = Signal()
        # one input register per operand stream: a beat waits there until the other stream's
        # has arrived too and the array advances. ``tready`` is a function of registers only.
        na, nb, wa, wb = self.a_count, self.b_count, self.a_shape.width, self.b_shape.width
        a_full, b_full = Signal(name="a_full"), Signal(name="b_full")
        a_buf, b_buf = Signal(na * wa, name="a_buf"), Signal(nb * wb, name="b_buf")
        a_buf_last, b_buf_last = Signal(name="a_buf_last"), Signal(name="b_buf_last")
        last = Signal(name="beat_last")          # either stream's tlast ends the tile
        m.d.comb += last.eq(a_buf_last | b_buf_last)

        # rule (2): a countdown of advancing cycles before the next last beat may enter
        spacing = self.min_spacing
        hold = Signal(range(max(spacing, 2)), name="last_hold")
        accept = Signal(name="accept")           # the buffered beat enters the array
        free = Signal(name="beat_free")          # no multi-cycle beat holds the input
        m.d.comb += accept.eq(advance & a_full & b_full & (~last | (hold == 0)) & free)
        m.d.comb += [self.s_axis_a_tready.eq(~a_full | accept),
                     self.s_axis_b_tready.eq(~b_full | accept)]
        for full, buf, buf_last, s in ((a_full, a_buf, a_buf_last, "s_axis_a"),
                                       (b_full, b_buf, b_buf_last, "s_axis_b")):
            valid, ready = getattr(self, f"{s}_tvalid"), getattr(self, f"{s}_tready")
            with m.If(valid & ready):
                m.d.sync += [full.eq(1), buf.eq(getattr(self, f"{s}_tdata")),
                             buf_last.eq(getattr(self, f"{s}_tlast"))]
            with m.Elif(accept):
                m.d.sync += full.eq(0)
        in_tile = Signal()
        with m.If(accept):
            m.d.sync += in_tile.eq(~last)
        a_lanes = [a_buf[i * wa:(i + 1) * wa] for i in range(na)]
        b_lanes = [b_buf[j * wb:(j + 1) * wb] for j in range(nb)]

        # multi-cycle beats (a PE with a digit schedule, the bit-serial PE): a beat holds the
        # array's input for ``cycles`` advancing cycles (its PEs see it in the first and work
        # through its digits in the others, which are bubbles); its *end* (the capture of a
        # tile's last beat, the spacing of rule 2) is its last cycle
        end = Signal(name="beat_end")           # this advancing cycle ends a tile's last beat
        cycles = self.cell.beat_cycles(m, b_lanes)
        if cycles is None:
            m.d.comb += [end.eq(accept & last), free.eq(1)]
        else:
            wait = Signal.like(cycles, name="beat_wait")     # cycles left after this one
            end_due = Signal(name="beat_end_due")
            m.d.comb += end.eq((accept & last & (cycles == 1))
                               | (advance & end_due & (wait == 1)))
            with m.If(advance):
                with m.If(accept):
                    m.d.sync += [wait.eq(cycles - 1), end_due.eq(last & (cycles != 1))]
                with m.Elif(wait != 0):
                    m.d.sync += wait.eq(wait - 1)
            m.d.comb += free.eq(wait == 0)
        if spacing > 1:
            with m.If(advance):
                with m.If(end):
                    m.d.sync += hold.eq(spacing - 1)
                with m.Elif(hold != 0):
                    m.d.sync += hold.eq(hold - 1)

        # the flags of the cycle's beat: valid, first, last, end (a bubble: valid 0)
        flags = Signal(4, name="flags")
        m.d.comb += flags.eq(Cat(accept, accept & ~in_tile, accept & last, end))
        depth = max(self.delay(i, j) for i in range(R) for j in range(C)) + L
        taps = self._delayed(m, flags, depth, advance, "flags")

        A, B = self.feed(m, a_lanes, b_lanes, advance)

        # the PE grid: one module, instantiated R*C times
        results = [[Signal(self.r_shape.width, name=f"pe_result_{i}_{j}") for j in range(C)]
                   for i in range(R)]
        for i in range(R):
            for j in range(C):
                f = taps[self.delay(i, j)]
                ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal(), "i_ce": advance,
                         "i_a": A[i][j], "i_b": B[i][j], "i_enable": f[0],
                         "i_clear": f[0] & f[1], "o_result": results[i][j]}
                if "last" in self.cell.pe_members:       # the group PE: a tile's last beat
                    ports["i_last"] = f[0] & f[2]
                m.submodules[f"pe_{i}_{j}"] = Instance(self.cell_name, **ports)

        # capture: the result of a tile's last beat, L cycles after its end reached the PE
        cap = [[taps[self.delay(i, j) + L][3] for j in range(C)] for i in range(R)]
        shadow = [[Signal(self.r_shape.width, name=f"c_{i}_{j}") for j in range(C)]
                  for i in range(R)]
        for i in range(R):
            for j in range(C):
                with m.If(advance & cap[i][j]):
                    m.d.sync += shadow[i][j].eq(results[i][j])

        # rows: occupied from the first PE's capture until sent; complete at the last PE's
        occupied = Signal(R, name="row_occupied")
        complete = Signal(R, name="row_complete")
        hazard = Cat(cap[i][0] for i in range(R)) & occupied
        m.d.comb += advance.eq(~hazard.any())

        ptr = Signal(range(R), name="out_row") if R > 1 else Const(0, 1)
        send = Signal()
        m.d.comb += [
            self.m_axis_c_tvalid.eq(complete.bit_select(ptr, 1)),
            self.m_axis_c_tlast.eq(ptr == R - 1),
            send.eq(self.m_axis_c_tvalid & self.m_axis_c_tready),
            # (the row mux padded to a power of two: every case of ``ptr`` covered)
            self.m_axis_c_tdata.eq(Array(Cat(shadow[min(i, R - 1)])
                                         for i in range(1 << (R - 1).bit_length()))[ptr]),
        ]
        sent = Signal(R)
        m.d.comb += sent.eq(Cat(send & (ptr == i) for i in range(R)))
        set_occ = Cat(advance & cap[i][0] for i in range(R))
        set_cpl = Cat(advance & cap[i][C - 1] for i in range(R))
        m.d.sync += [occupied.eq((occupied & ~sent) | set_occ),
                     complete.eq((complete & ~sent) | set_cpl)]
        if R > 1:
            with m.If(send):
                m.d.sync += ptr.eq(Mux(ptr == R - 1, 0, ptr + 1))

        if self.config.debug:
            m.d.comb += self.dbg_state.eq(Cat(results[i][j] for i in range(R)
                                              for j in range(C)))
        return m
