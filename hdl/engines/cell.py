"""The PE of an engine, with a clock enable: :class:`PeCell`.

An engine instantiates one PE module ``R*C`` times (Amaranth converts it once, so a 32x32
array does not elaborate 1,024 copies). The PE is the stand-alone unit's own generator
(:func:`tpegen.registry.elaborate`), unchanged; :class:`PeCell` only adds the input ``ce``:
while ``ce`` is low every register of the PE holds (Amaranth's ``EnableInserter``), so a
stalled engine freezes its PEs without a bubble reaching their accumulators. The
synchronous reset still acts while ``ce`` is low.

Members
-------
ce : In(1)
    Clock enable of every register in the PE.
(the PE's inputs and ``result``)
    Passed through unchanged: ``a``, ``b``, ``clear``, ``enable`` (and ``last`` of the group
    PEs), ``result``. Other outputs (``sum``/``carry`` of a carry-save MAC, the bit-serial
    PE's ``ready``) stay inside the cell; inputs the engine does not drive are tied inside
    it to the configuration's ``engine_ties`` (the group PEs' scale 1.0, zero point 0,
    datatype), so that synthesis of the cell alone (the hierarchical flow) folds them as
    flat synthesis of the engine does. A PE with a ``valid`` input instead of ``enable``
    (the bit-serial and LUT word PEs) takes ``enable`` there: the engine presents a beat for
    as many cycles as its shared digit schedule needs (:meth:`PeCell.beat_cycles`), so the
    PE is always ready for the next.
"""

from amaranth.hdl import EnableInserter, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from tpegen import registry

__all__ = ["PeCell", "cell_name"]


def cell_name(pe_config, terms=1):
    """Verilog module name of the PE cell of ``pe_config`` (with ``terms`` products)."""
    return f"{pe_config.name}" + (f"_t{terms}" if terms > 1 else "") + "_ce"


class PeCell(wiring.Component):
    """The PE of ``pe_config`` with a clock enable ``ce`` (see the module docstring).

    Parameters
    ----------
    pe_config : Config
        Any accumulator configuration (``mac``, ``fmac``, ``lmac``, ``mixpe``, ``simd``).
    terms : int
        Products per cycle (``mac`` only: :class:`hdl.mac.Mac`'s ``terms``; its ``a`` and
        ``b`` are then arrays of ``terms`` lanes).
    """

    def __init__(self, pe_config, *, terms=1):
        self.config = pe_config
        self.pe = registry.elaborate(pe_config, **({"terms": terms} if terms > 1 else {}))
        # the PE's inputs and its result; other outputs (a carry-save MAC's sum and carry)
        # stay inside the cell, so that R*C instances do not leave them unconnected
        #: the inputs tied inside the cell: name -> value
        self.ties = {n: v for n, v in getattr(pe_config, "engine_ties", {}).items()
                     if n in self.pe.signature.members}
        #: the PE's input that takes the engine's ``enable``
        self.enable_port = "valid" if "valid" in self.pe.signature.members else "enable"
        self.pe_members = {("enable" if n == self.enable_port else n): m
                           for n, m in self.pe.signature.members.items()
                           if (m.flow == wiring.In or n == "result") and n not in self.ties}
        super().__init__({**self.pe_members, "ce": In(1)})
        self.roles = {**getattr(self.pe, "roles", {}), "ce": "enable"}

    @property
    def latency(self):
        """The PE's latency in an engine, in enabled clock edges, from a beat's cycle to its
        effect on ``result`` (the configuration's ``engine_latency`` where it differs from
        the stand-alone ``latency``)."""
        return self.config.engine_latency

    def beat_cycles(self, m, b_lanes):
        """Cycles one beat occupies (logic in the engine's module ``m``, from the beat's
        ``b`` lanes): the PE's shared digit schedule, or ``None`` (one cycle) for a PE that
        takes a beat every cycle."""
        schedule = getattr(self.pe, "beat_cycles", None)
        return None if schedule is None else schedule(m, b_lanes)

    @property
    def stats(self):
        return getattr(self.pe, "stats", {})

    def elaborate(self, platform):
        m = Module()
        m.submodules.pe = EnableInserter(self.ce)(self.pe)
        for name, value in self.ties.items():
            m.d.comb += getattr(self.pe, name).eq(value)
        for name, member in self.pe_members.items():
            inner = getattr(self.pe, self.enable_port if name == "enable" else name)
            outer = getattr(self, name)
            if member.flow == wiring.In:
                m.d.comb += inner.eq(outer)
            else:
                m.d.comb += outer.eq(inner)
        return m
