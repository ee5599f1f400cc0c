"""Multiplier-adder-tree engine: :class:`AdderTree`.

N dot-product units of K inputs each (``rows`` = N, ``cols`` = K). The weights are
stationary: unit ``n`` holds column ``n`` of the K x N weight tile B. Each activation beat
(one row of A, K lanes) is registered once and broadcast to all N units; unit ``n``
multiplies its K pairs ``A[m][k] * B[k][n]`` and reduces the K products in *one* bit-matrix
tree (:class:`hdl.mac.Mac` with ``terms=K`` and ``clear`` = ``enable`` = the beat's valid: the
partial products of all K multipliers enter one dot diagram, reduced by the PE's own
``--tree`` and closed by its final adder, or kept carry-save), so that each beat leaves as one
row ``C[m] = A[m] @ B`` of N lanes. This is the "multiplier-adder tree" TPE of the bit-weight
paper (its Fig. 1, the dot-product engine of NVDLA-like designs), where the reduction tree
replaces the K - 1 adders of a chain.

The stream protocol, the double-buffered weight banks (loaded row by row through ``b``), the
input registers, the stall rule and the two-row output FIFO are those of the
weight-stationary array (:class:`~.systolic_ws.SystolicWS`, docs/engines.md), with its R
(weight rows) = K and C (weight columns) = N: the only difference is the array between the
banks and the FIFO. Every unit sees a beat one cycle after its acceptance (``delay = 1``),
its bank is free one cycle after the tile's last beat was accepted, and its row is aligned
``E = 1 + L`` cycles after acceptance (``L`` = the PE's latency, read from the PE).

Interface
---------
``s_axis_b``  N lanes: first K beats per tile, beat ``k`` = row ``k`` of the K x N tile of B
              (lane ``n`` = ``B[k][n]``); ``tlast`` on beat K-1 (a short tile loads zeros in
              the rows after its ``tlast``).
``s_axis_a``  K lanes: M >= 1 beats, beat ``m`` = row ``m`` of the M x K tile of A;
              ``tlast`` on beat M-1.
``m_axis_c``  N lanes: M beats, beat ``m`` = row ``m`` of ``C = A @ B``; ``tlast`` on M-1.

Members
-------
s_axis_a_*, s_axis_b_*, m_axis_c_*
    As above.
dbg_state : Out(ArrayLayout(result, N + 2*K*N)), only with ``debug``
    ``acc``: unit ``n``'s result (its tree-and-accumulator register, after the PE's output
    register if it has one), lanes ``0..N-1``; then the weight banks ``w0`` and ``w1``,
    lanes ``N + b*K*N + k*N + n`` = bank ``b``'s ``B[k][n]`` (zero-extended).
"""

from amaranth.hdl import Cat, ClockSignal, Instance, Mux, ResetSignal, Signal

from .interface import state_entry
from .systolic_ws import SystolicWS

__all__ = ["AdderTree"]


class AdderTree(SystolicWS):
    """N dot-product units of K inputs, stationary weights (see the module docstring).

    Parameters
    ----------
    config : EngineConfig
        ``arch="adder-tree"``, ``rows`` = N, ``cols`` = K, ``pe`` an integer ``mac``.
    """

    arch = "adder-tree"

    def __init__(self, config):
        self.config = config
        self.rows, self.cols = N, K = config.rows, config.cols
        self.wrows, self.wcols = K, N
        self.fused = False
        self.cell_config = config.pe
        self.cell_init(config.pe, terms=K)
        self.gemm_init(a_shape=self.a_shape, b_shape=self.b_shape, r_shape=self.r_shape,
                       state_lanes=N + 2 * K * N, pe=config.pe, a_lanes=K, b_lanes=N,
                       c_lanes=N)

    # --- timing ----------------------------------------------------------------------------

    @property
    def hop(self):
        return 0

    @property
    def psum_delay(self):
        """From a unit's operands to its result: the PE's latency."""
        return self.pe_latency

    def delay(self, k, j):
        """Every unit sees a beat one cycle after its acceptance."""
        return 1

    @property
    def state_fields(self):
        return ["acc", "w0", "w1"]

    @property
    def engine_info(self):
        """The manifest's ``engine`` section (docs/engines.md)."""
        N, K = self.rows, self.cols
        info = {
            "arch": self.arch, "rows": N, "cols": K, "units": N, "inputs": K,
            "pe": self.config.pe.kind, "pe_module": self.cell_name,
            "pe_latency": self.pe_latency, "pe_instances": N,
            "tile": {"b": "first: K = cols beats, beat k = row k of the K x N tile of B (the "
                          "weights), lane n = B[k][n]",
                     "a": "then M >= 1 beats, beat m = row m of the M x K tile of A, "
                          "lane k = A[m][k]",
                     "c": "M beats per tile, beat m = row m of C = A x B, lane n = C[m][n]",
                     "last": "tlast on beat M-1 of a (ends the tile), on beat K-1 of b (the "
                             "load ends after K beats or at tlast: a short tile loads zeros "
                             "into the rows after it) and on row M-1 of c"},
            # R = rows = N (units), C = cols = K (inputs)
            "layout": {"a": {"matrix": "A", "shape": ["M", "C"], "beat": "row"},
                       "b": {"matrix": "B", "shape": ["C", "R"], "beat": "row"},
                       "c": {"matrix": "A @ B", "shape": ["M", "R"], "beat": "row"}},
            "weights": "double-buffered: the next tile's K weight rows load, one per cycle, "
                       "while the current activations stream",
            "free_delay": self.free_delay, "out_delay": self.out_delay,
            "latency": self.latency,
            "tile_cycles": f"{K} + M + {self.out_delay + 2}",
        }
        if self.config.debug:
            info["state"] = [state_entry("acc", N, "n", "unit n's result (its "
                                         "tree-and-accumulator register), in the current "
                                         "cycle")] + [
                state_entry(f"w{b}", K * N, f"{N + b * K * N} + k*{N} + n",
                            f"weight bank {b}'s B[k][n], in the current cycle "
                            "(zero-extended to the result width)") for b in range(2)]
        return info

    # --- elaboration -----------------------------------------------------------------------

    def _grid(self, m, front, advance):
        N, K = self.rows, self.cols
        wr = self.r_shape.width
        taps, banks = front.taps, front.banks
        x = Signal(len(front.a_buf), name="x")          # the accepted beat, to every unit
        with m.If(advance):
            m.d.sync += x.eq(front.a_buf)
        f = taps[1]
        results = [Signal(wr, name=f"unit_result_{n}") for n in range(N)]
        for n in range(N):
            w = Signal(K * self.b_shape.width, name=f"w_{n}")
            m.d.comb += w.eq(Mux(f[2], Cat(banks[1][k][n] for k in range(K)),
                                 Cat(banks[0][k][n] for k in range(K))))
            m.submodules[f"unit_{n}"] = Instance(
                self.cell_name, i_clk=ClockSignal(), i_rst=ResetSignal(), i_ce=advance,
                i_a=x, i_b=w, i_enable=f[0], i_clear=f[0], o_result=results[n])
        fields = [results] + [[banks[b][k][n] for k in range(K) for n in range(N)]
                              for b in range(2)]
        return results, fields
