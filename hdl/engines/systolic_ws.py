"""Weight-stationary systolic array: :class:`SystolicWS`.

R x C PEs; PE(k, j) holds the weight ``W[k][j]`` of the tile, which stays put while the
activations stream past: row ``m`` of A enters at the west edge skewed (lane ``k`` ``h*k``
cycles late), moves one PE east per cycle, and the partial sums of
``C[m][j] = sum_k A[m][k] * W[k][j]`` move one PE row south per ``h`` cycles, so that the
bottom row emits, column by column, whole rows of ``C = A @ W``. This is the WS dataflow of
SCALE-Sim (Samajdar et al., "SCALE-Sim: Systolic CNN Accelerator Simulator",
arXiv:1811.02883), whose fold takes ``2R + C + T - 2`` cycles for ``T`` activation rows
(R cycles of weight load, then ``T + R + C - 2``), and the dataflow of the TPU's matrix
unit: OpenTPU (UCSB ArchLab, architecture.md) gives each MAC two weight buffers, so that
weight programming overlaps the multiplications, and its matrix-multiply instruction takes
``L + 2N`` cycles for an N x N array and L input vectors. :mod:`golden.engines.systolic_ws`
is the cycle model of this text.

Interface
---------
``s_axis_b``  C lanes: the weights first, R beats per tile, beat ``k`` = row ``k`` of the
              R x C tile of B (lane ``j`` = ``B[k][j]``, lane 0 in the low bits); ``tlast``
              on beat R-1. The load ends after R beats or at a beat with ``tlast``,
              whichever comes first: a short tile of K < R rows loads zeros into rows
              K..R-1 (so ``A[:, :K] @ B[:K]``, whatever lanes K..R-1 of ``a`` carry).
``s_axis_a``  R lanes: the activations, M >= 1 beats per tile (any M), beat ``m`` = row
              ``m`` of the M x R tile of A (lane ``k`` = ``A[m][k]``); ``tlast`` on beat M-1
              ends the tile.
``m_axis_c``  C lanes: M beats per tile, beat ``m`` = row ``m`` of ``C = A @ B`` (lane ``j``
              = ``C[m][j]``); ``tlast`` on row M-1.

Tiles are taken in order: the n-th weight tile on ``b`` goes with the n-th activation tile
on ``a``.

The PE
------
The engine accepts two PE kinds (:class:`~tpegen.config.EngineConfig` rejects the others):

* ``mac`` (any integer MAC, its own generator unchanged, through :class:`~.cell.PeCell`):
  with ``clear`` = ``enable`` = the beat's ``valid`` its ``result`` is the product
  ``a * w`` (mod ``2**acc_width``) ``L`` = PE latency cycles after the operands; an engine
  register adds the partial sum from the north: ``psum <- psum_north + result`` (mod
  ``2**acc_width``, which is how the MAC itself wraps). The product is exact, so this is
  the integer ``C = A @ B`` mod ``2**acc_width``. Row hop ``h = 1``, cell latency to the
  partial-sum register ``P = L + 1``.
* ``fmac`` with ``accumulator="rounded"``: the FMAC's own FMA datapath (``pe.fma``, the
  :class:`hdl.fp.fma.Fma` generator, one pipeline register), with ``a`` = activation,
  ``b`` = weight, ``c`` = partial sum from the north (``+0`` in row 0, as the FMAC's
  ``clear``): ``psum = round(a*w + psum_north)``, the FMAC's step exactly, so column ``j``
  of a row rounds like an FMAC accumulating ``A[m][0..R-1] * B[0..R-1][j]`` in order. The
  add is inside the FMA, so ``h = P = L`` (the FMA's latency).

``L`` is read from the PE (:attr:`PeCell.latency`), never assumed.

Timing
------
In *advancing* cycles (``advance`` high; when low, every register of the datapath and every
PE holds; the weight loader and the output FIFO do not need it). An activation beat is
*accepted* in cycle ``s`` (one cycle after its transfer, at the earliest) when its input
register holds it, the array advances and its tile's weight bank is full. Then:

* its lane ``k`` reaches PE(k, j)'s operands in cycle ``s + 1 + h*k + j`` (``h*k`` skew
  registers, then one register per PE eastward), with the flags ``valid`` (the PE's
  ``clear`` and ``enable``) and ``sel`` (the weight bank);
* PE(k, j)'s partial sum of that beat shows ``P`` cycles later;
* the bottom row is de-skewed: column ``j`` passes ``C - 1 - j`` more registers, so the
  whole row is aligned in cycle ``s + E``, ``E = 1 + h*(R-1) + (C-1) + P``, and is written
  into a two-row output FIFO; ``m_axis_c_tvalid`` is "the FIFO is not empty".

``advance`` is low exactly when a row would be written into a full FIFO. Latency (a beat's
transfer to its row's, no stall): ``E + 2``.

Weights are double-buffered: every PE has two weight registers (banks 0 and 1). Weight
tile ``n`` is loaded row by row (beat ``k`` into the PEs of row ``k`` of bank ``n % 2``, one
beat per cycle, whether or not the array advances) as soon as that bank is not *busy*.
After R beats the bank is *ready* and busy; activation beats of tile ``n`` enter only while
its bank is ready (no longer once its last beat has entered), and the bank stops being
busy when that last beat has passed PE(R-1, C-1), ``D = 1 + h*(R-1) + (C-1)`` advancing
cycles after its acceptance. So the next tile's weights load while the current activations
stream, and back-to-back tiles enter with no bubble when ``M >= D + R``. Counted from the
first weight beat's transfer, with both streams always offering and ``m_axis_c_tready``
high, tile ``n``'s first activation beat enters at ``F[0] = R + 1``,
``F[1] = max(F[0] + M, 2R + 1)``, ``F[n+1] = max(F[n] + M, F[n-1] + M + D + R)``.

Alone, a tile takes ``R + M + E + 2`` cycles from its first beat's transfer to its last
row's, inclusive; with the MAC PE that is ``2R + C + M + L + 2`` =
SCALE-Sim's ``2R + C + M - 2`` plus ``L + 4``: the input register, the register before
PE(0, 0), the product's ``L`` cycles and the partial-sum register, the output FIFO. With
the FMA PE (``h = P = L``) it is ``R + M + L*(R-1) + C + L + 2`` (``L = 1``, the FMAC's
FMA: ``2R + C + M + 2``, SCALE-Sim's plus 4). Counted from the first activation beat's
acceptance (the weights already loaded), the M rows take ``M + E + 1`` cycles: with the MAC
PE and R = C = N, ``M + 2N + L + 1``, OpenTPU's ``L + 2N`` (its L is our M) plus the PE's
latency and one.

Every ``tready`` and ``tvalid`` the engine drives is a function of registers only; a reset
clears every register (PEs, banks, FIFO), so a reset in the middle of a tile recovers.

Members
-------
s_axis_a_tdata, s_axis_a_tvalid, s_axis_a_tready, s_axis_a_tlast
s_axis_b_tdata, s_axis_b_tvalid, s_axis_b_tready, s_axis_b_tlast
m_axis_c_tdata, m_axis_c_tvalid, m_axis_c_tready, m_axis_c_tlast
dbg_state : Out(ArrayLayout(result, F*R*C)), only with ``debug``
    Lanes of the result's width (narrower values zero-extended), field ``f`` at lanes
    ``f*R*C + k*C + j`` for PE(k, j), in the current cycle: ``psum`` (the partial-sum
    register: the engine's adder register with the MAC, the FMA's result with the FMAC),
    then with the MAC only ``pe`` (the MAC's ``result``: the product), then ``act`` (the
    activation at the PE's operand input), ``w0`` and ``w1`` (the weight banks). F = 5 with
    the MAC, 4 with the FMAC; :attr:`SystolicWS.engine_info` lists them.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring

from .interface import GemmInterface, state_entry
from .interface import chain as chain_registers

__all__ = ["SystolicWS"]


class SystolicWS(GemmInterface, wiring.Component):
    """Weight-stationary systolic array of ``config.pe`` PEs (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="systolic-ws"``; ``pe`` a ``mac`` or a rounded ``fmac``.
    """

    arch = "systolic-ws"

    def __init__(self, config):
        self.config = config
        self.rows, self.cols = config.rows, config.cols
        #: the weight tile's rows and columns (the array's R x C here)
        self.wrows, self.wcols = self.rows, self.cols
        pe = config.pe
        self.fused = pe.kind != "mac"
        self.cell_config = pe.fma if self.fused else pe
        self.cell_init(self.cell_config)
        self.gemm_init(a_shape=self.a_shape, b_shape=self.b_shape, r_shape=self.r_shape,
                       state_lanes=len(self.state_fields) * self.rows * self.cols, pe=pe)

    # --- timing (the module docstring) -------------------------------------------------------

    @property
    def pe_latency(self):
        return self.cell.latency

    @property
    def hop(self):
        """Cycles per PE row of the partial sums (``h``)."""
        return self.pe_latency if self.fused else 1

    @property
    def psum_delay(self):
        """Cycles from a PE's operands to its partial sum (``P``)."""
        return self.pe_latency if self.fused else self.pe_latency + 1

    def delay(self, k, j):
        """Advancing cycles from a beat's acceptance to PE(k, j)'s operands."""
        return 1 + self.hop * k + j

    @property
    def free_delay(self):
        """``D``: from a tile's last beat's acceptance to its passing PE(R-1, C-1)."""
        return self.delay(self.wrows - 1, self.wcols - 1)

    @property
    def out_delay(self):
        """``E``: from a beat's acceptance to its aligned result row."""
        return self.free_delay + self.psum_delay

    @property
    def latency(self):
        """Cycles from an activation beat's transfer to its result row's, with no stall."""
        return self.out_delay + 2

    @property
    def state_fields(self):
        return ["psum"] + ([] if self.fused else ["pe"]) + ["act", "w0", "w1"]

    @property
    def engine_info(self):
        """The manifest's ``engine`` section (docs/engines.md)."""
        R, C = self.rows, self.cols
        info = {
            "arch": self.arch, "rows": R, "cols": C, "pe": self.config.pe.kind,
            "pe_module": self.cell_name, "pe_latency": self.pe_latency, "pe_instances": R * C,
            "tile": {"b": "first: R beats, beat k = row k of the R x C tile of B (the "
                          "weights), lane j = B[k][j]",
                     "a": "then M >= 1 beats, beat m = row m of the M x R tile of A, "
                          "lane k = A[m][k]",
                     "c": "M beats per tile, beat m = row m of C = A x B, lane j = C[m][j]",
                     "last": "tlast on beat M-1 of a (ends the tile), on beat R-1 of b (the "
                             "load ends after R beats or at tlast: a short tile of K < R rows "
                             "loads zeros into rows K..R-1) and on row M-1 of c"},
            "layout": {"a": {"matrix": "A", "shape": ["M", "R"], "beat": "row"},
                       "b": {"matrix": "B", "shape": ["R", "C"], "beat": "row"},
                       "c": {"matrix": "A @ B", "shape": ["M", "C"], "beat": "row"}},
            "weights": "double-buffered: the next tile's R weight rows load, one per cycle, "
                       "while the current activations stream",
            "hop": self.hop, "psum_delay": self.psum_delay,
            "free_delay": self.free_delay, "out_delay": self.out_delay,
            "latency": self.latency,
            "tile_cycles": f"{R} + M + {self.out_delay + 2}",
        }
        if self.config.debug:
            meaning = {"psum": "PE(k, j)'s partial-sum register",
                       "pe": "PE(k, j)'s result port (the MAC: the product a*w)",
                       "act": "the activation at PE(k, j)'s operand input",
                       "w0": "PE(k, j)'s weight bank 0", "w1": "PE(k, j)'s weight bank 1"}
            info["state"] = [state_entry(f, R * C, f"{n * R * C} + k*C + j",
                                         meaning[f] + ", in the current cycle "
                                         "(zero-extended to the result width)")
                             for n, f in enumerate(self.state_fields)]
        return info

    @staticmethod
    def _lane(value, width):
        """``value`` zero-extended (or cut) to a state lane of ``width`` bits."""
        have = len(value)
        return value[:width] if have >= width else Cat(value, Const(0, width - have))

    # --- elaboration ----------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        front = self._front(m, advance)
        row, fields = self._grid(m, front, advance)
        self._fifo(m, row, front.taps[self.out_delay], advance)
        if self.config.debug:
            wr = self.r_shape.width
            m.d.comb += self.dbg_state.eq(Cat(*(self._lane(v, wr) for f in fields for v in f)))
        return m

    def _front(self, m, advance):
        """The input registers, the double-buffered weight banks and their loader, and the
        flags (valid, last, bank) of the beat accepted ``d`` advancing cycles ago
        (``taps[d]``); what the PEs need, as attributes of the returned namespace."""
        R, C = self.wrows, self.wcols
        wa, wb = self.a_shape.width, self.b_shape.width

        # --- input registers ---
        a_full, b_full = Signal(name="a_full"), Signal(name="b_full")
        a_buf, b_buf = Signal(R * wa, name="a_buf"), Signal(C * wb, name="b_buf")
        a_buf_last, b_buf_last = Signal(name="a_buf_last"), Signal(name="b_buf_last")
        bank_ready = Signal(2, name="bank_ready")   # loaded, activations not all entered
        bank_busy = Signal(2, name="bank_busy")     # loaded, not yet freed
        a_bank = Signal(name="a_bank")       # the bank of the tile whose activations enter
        w_bank = Signal(name="w_bank")       # the bank being loaded
        w_row = Signal(range(R), name="w_row") if R > 1 else Const(0, 1)
        accept = Signal(name="accept")
        load = Signal(name="load")
        m.d.comb += [accept.eq(advance & a_full & bank_ready.bit_select(a_bank, 1)),
                     load.eq(b_full & ~bank_busy.bit_select(w_bank, 1)),
                     self.s_axis_a_tready.eq(~a_full | accept),
                     self.s_axis_b_tready.eq(~b_full | load)]
        with m.If(self.s_axis_a_tvalid & self.s_axis_a_tready):
            m.d.sync += [a_full.eq(1), a_buf.eq(self.s_axis_a_tdata),
                         a_buf_last.eq(self.s_axis_a_tlast)]
        with m.Elif(accept):
            m.d.sync += a_full.eq(0)
        with m.If(self.s_axis_b_tvalid & self.s_axis_b_tready):
            m.d.sync += [b_full.eq(1), b_buf.eq(self.s_axis_b_tdata),
                         b_buf_last.eq(self.s_axis_b_tlast)]
        with m.Elif(load):
            m.d.sync += b_full.eq(0)
        with m.If(accept & a_buf_last):
            m.d.sync += a_bank.eq(~a_bank)

        # --- the flags (valid, last, sel) of the beat accepted d advancing cycles ago ---
        flags = Signal(3, name="flags")
        m.d.comb += flags.eq(Cat(accept, accept & a_buf_last, a_bank))
        taps = [flags]
        for d in range(1, self.out_delay + 1):
            reg = Signal(3, name=f"flags_d{d}")
            with m.If(advance):
                m.d.sync += reg.eq(taps[-1])
            taps.append(reg)

        # --- weight banks: row w_row of bank w_bank loads the buffered beat ---
        banks = [[[Signal(wb, name=f"w{n}_{k}_{j}") for j in range(C)] for k in range(R)]
                 for n in range(2)]
        for n in range(2):
            for k in range(R):
                with m.If(load & (w_bank == n)):
                    with m.If(w_row == k):
                        m.d.sync += [banks[n][k][j].eq(b_buf[j * wb:(j + 1) * wb])
                                     for j in range(C)]
                    if k:
                        with m.Elif(b_buf_last & (w_row < k)):     # a short tile: zeros
                            m.d.sync += [banks[n][k][j].eq(0) for j in range(C)]
        done = Signal(name="w_done")
        m.d.comb += done.eq(load & ((w_row == R - 1) | b_buf_last))
        if R > 1:
            with m.If(load):
                m.d.sync += w_row.eq(Mux(done, 0, w_row + 1))
        with m.If(done):
            m.d.sync += w_bank.eq(~w_bank)
        freed = taps[self.free_delay]
        free = Signal(2, name="bank_free")
        m.d.comb += free.eq(Cat(advance & freed[0] & freed[1] & (freed[2] == n)
                                for n in range(2)))
        set_full = Signal(2, name="bank_set")
        m.d.comb += set_full.eq(Cat(done & (w_bank == n) for n in range(2)))
        used = Signal(2, name="bank_used")
        m.d.comb += used.eq(Cat(accept & a_buf_last & (a_bank == n) for n in range(2)))
        m.d.sync += [bank_busy.eq((bank_busy & ~free) | set_full),
                     bank_ready.eq((bank_ready & ~used) | set_full)]
        return SimpleNamespace(a_buf=a_buf, banks=banks, taps=taps)

    def _grid(self, m, front, advance):
        """The PEs: the aligned result row (C values) and the ``dbg_state`` fields."""
        R, C, h = self.wrows, self.wcols, self.hop
        wa, wb, wr = self.a_shape.width, self.b_shape.width, self.r_shape.width
        a_buf, banks, taps = front.a_buf, front.banks, front.taps

        # --- activations: lane k skewed by h*k, then one register per PE eastward ---
        def chain(value, length, name):
            return chain_registers(m, value, length, name, advance)

        A = []
        for k in range(R):
            lane = a_buf[k * wa:(k + 1) * wa]
            skewed = chain(lane, h * k, f"a_skew_{k}")
            A.append(chain(skewed[-1] if skewed else lane, C, f"a_{k}"))

        # --- the PE grid ---
        results = [[Signal(wr, name=f"pe_result_{k}_{j}") for j in range(C)] for k in range(R)]
        psum = [[None] * C for _ in range(R)]
        for k in range(R):
            for j in range(C):
                f = taps[self.delay(k, j)]
                w = Signal(wb, name=f"w_{k}_{j}")
                m.d.comb += w.eq(Mux(f[2], banks[1][k][j], banks[0][k][j]))
                ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal(), "i_ce": advance,
                         "i_a": A[k][j], "i_b": w, "o_result": results[k][j]}
                north = psum[k - 1][j] if k else Const(0, wr)
                if self.fused:
                    ports["i_c"] = north
                    psum[k][j] = results[k][j]
                else:
                    ports.update({"i_enable": f[0], "i_clear": f[0]})
                    reg = Signal(wr, name=f"psum_{k}_{j}")
                    with m.If(advance):
                        m.d.sync += reg.eq(north + results[k][j])
                    psum[k][j] = reg
                m.submodules[f"pe_{k}_{j}"] = Instance(self.cell_name, **ports)

        # --- de-skew of the bottom row ---
        row = [chain(psum[R - 1][j], C - 1 - j, f"deskew_{j}")[-1] if j < C - 1
               else psum[R - 1][j] for j in range(C)]
        fields = [[psum[k][j] for k in range(R) for j in range(C)]]
        if not self.fused:
            fields.append([results[k][j] for k in range(R) for j in range(C)])
        fields.append([A[k][j] for k in range(R) for j in range(C)])
        fields += [[banks[n][k][j] for k in range(R) for j in range(C)] for n in range(2)]
        return row, fields

    def _fifo(self, m, row, arrive, advance):
        """The two-row output FIFO; ``advance`` is low when a row would enter it full."""
        C, wr = len(row), self.r_shape.width
        slots = [Signal(C * wr + 1, name=f"out_slot{n}") for n in range(2)]
        count = Signal(range(3), name="out_count")
        wptr, rptr = Signal(name="out_wptr"), Signal(name="out_rptr")
        write, send = Signal(name="out_write"), Signal(name="out_send")
        head = Signal(C * wr + 1, name="out_head")
        m.d.comb += [
            advance.eq(~(arrive[0] & (count == 2))),
            write.eq(advance & arrive[0]),
            head.eq(Mux(rptr, slots[1], slots[0])),
            self.m_axis_c_tvalid.eq(count != 0),
            self.m_axis_c_tdata.eq(head[:C * wr]),
            self.m_axis_c_tlast.eq(head[C * wr]),
            send.eq(self.m_axis_c_tvalid & self.m_axis_c_tready),
        ]
        for n in range(2):
            with m.If(write & (wptr == n)):
                m.d.sync += slots[n].eq(Cat(*row, arrive[1]))
        with m.If(write):
            m.d.sync += wptr.eq(~wptr)
        with m.If(send):
            m.d.sync += rptr.eq(~rptr)
        with m.If(write & ~send):
            m.d.sync += count.eq(count + 1)
        with m.Elif(send & ~write):
            m.d.sync += count.eq(count - 1)
