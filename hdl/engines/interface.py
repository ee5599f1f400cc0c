"""The AXI4-Stream GEMM interface every engine presents (docs/engines.md): the members,
their manifest roles and streams, and the clock-enabled register chains that carry operands.

Members
-------
GemmInterface
    Mixin for an engine component: :meth:`~GemmInterface.gemm_init` declares the members
    ``s_axis_a_*``, ``s_axis_b_*``, ``m_axis_c_*`` (and ``dbg_state``), their roles, the
    streams and the lane formats.
chain
    A chain of registers clock-enabled by ``advance``.
state_entry
    One field of the manifest's ``engine.state`` (the ``dbg_state`` readout).
"""

from amaranth.hdl import Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["GemmInterface", "chain", "state_entry"]


class GemmInterface:
    """The engines' shared interface (see the module docstring)."""

    def cell_init(self, cell_config, terms=1):
        """The PE cell of ``cell_config`` with ``terms`` products (converted once,
        instantiated by name: ``parts``) and the shapes of its ``a``, ``b`` (one lane's,
        ``a_shape``/``b_shape``) and ``result``."""
        from amaranth.hdl import Shape

        from .cell import PeCell, cell_name
        self.cell = PeCell(cell_config, terms=terms)
        self.cell_name = cell_name(cell_config, terms)
        #: the modules converted on their own (one file each), instantiated by name
        self.parts = [(self.cell_name, self.cell)]
        members = self.cell.pe_members
        self.a_shape, self.b_shape, self.r_shape = (
            Shape.cast(getattr(members[n].shape, "elem_shape", members[n].shape))
            for n in ("a", "b", "result"))

    def gemm_init(self, *, a_shape, b_shape, r_shape, state_lanes, pe, a_lanes=None,
                  b_lanes=None, c_lanes=None):
        """Declare the members (``a``: ``a_lanes`` lanes of ``a_shape``, default R; ``b``
        and ``c``: ``b_lanes``/``c_lanes``, default C; ``dbg_state``: ``state_lanes`` lanes
        of ``r_shape`` when ``config.debug``), then the roles, streams (``c``'s latency:
        :attr:`latency`) and formats of ``pe`` (FP PEs)."""
        R, C = self.rows, self.cols
        members = {
            "s_axis_a_tdata": In(data.ArrayLayout(a_shape, a_lanes or R)),
            "s_axis_a_tvalid": In(1), "s_axis_a_tready": Out(1), "s_axis_a_tlast": In(1),
            "s_axis_b_tdata": In(data.ArrayLayout(b_shape, b_lanes or C)),
            "s_axis_b_tvalid": In(1), "s_axis_b_tready": Out(1), "s_axis_b_tlast": In(1),
            "m_axis_c_tdata": Out(data.ArrayLayout(r_shape, c_lanes or C)),
            "m_axis_c_tvalid": Out(1), "m_axis_c_tready": In(1), "m_axis_c_tlast": Out(1),
        }
        if self.config.debug:
            members["dbg_state"] = Out(data.ArrayLayout(r_shape, state_lanes))
        wiring.Component.__init__(self, members)
        self.roles = {}
        for s, role in (("s_axis_a", "a"), ("s_axis_b", "b"), ("m_axis_c", "result")):
            self.roles.update({f"{s}_tdata": role, f"{s}_tvalid": "valid",
                               f"{s}_tready": "ready", f"{s}_tlast": "last"})
        self.roles["dbg_state"] = "state"
        self.streams = [
            {"name": n, "direction": d, "valid": f"{p}_tvalid", "ready": f"{p}_tready",
             "last": f"{p}_tlast", "data": [f"{p}_tdata"], "latency": lat}
            for n, d, p, lat in (("a", "input", "s_axis_a", 0), ("b", "input", "s_axis_b", 0),
                                 ("c", "output", "m_axis_c", self.latency))]
        if hasattr(pe, "fa"):
            self.formats = {"s_axis_a_tdata": pe.fa.name, "s_axis_b_tdata": pe.fb.name,
                            "m_axis_c_tdata": pe.facc.name}
        elif pe.kind == "mixpe":          # integer weights, activations in act, fp32 out
            self.formats = {"s_axis_a_tdata": pe.w_format, "s_axis_b_tdata": pe.act,
                            "m_axis_c_tdata": "fp32"}
        elif pe.kind == "bitserial":      # activations in act, 4-bit weight codes, fp32 out
            self.formats = {"s_axis_a_tdata": pe.act, "m_axis_c_tdata": "fp32"}


def chain(m, value, length, name, advance):
    """``length`` registers after ``value``, each loaded from the one before while
    ``advance`` is high: the list ``[delayed by 1, ..., delayed by length]``."""
    out = []
    for n in range(length):
        reg = Signal.like(value, name=f"{name}_{n}")
        with m.If(advance):
            m.d.sync += reg.eq(value if n == 0 else out[-1])
        out.append(reg)
    return out


def state_entry(field, lanes, lane, meaning):
    """One ``engine.state`` entry: ``field`` occupies ``lanes`` lanes of ``dbg_state``, lane
    index ``lane`` (a formula), showing ``meaning``."""
    return {"port": "dbg_state", "field": field, "lanes": lanes, "lane": lane,
            "meaning": meaning}
