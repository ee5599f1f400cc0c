"""Counters and compressors: half adder (2:2), full adder (3:2) and the 4:2 compressor.

Each cell drives named 1-bit signals, so the generated Verilog shows the tree's structure and
synthesis sees the same netlist the reducer planned. :class:`CellBuilder` counts the cells it
makes; the counts go into the design manifest.
"""

from amaranth.hdl import Const, Signal, Value

__all__ = ["CellBuilder"]


class CellBuilder:
    """Makes compressor cells inside one Amaranth module.

    Parameters
    ----------
    m : amaranth.hdl.Module
        The module the cells' combinational statements go into.
    prefix : str
        Prefix of the names of the signals the cells drive.
    """

    def __init__(self, m, prefix):
        self.m = m
        self.prefix = prefix
        self.counts = {"ha": 0, "fa": 0, "c42": 0}

    def _wire(self, kind, role):
        index = self.counts[kind]
        return Signal(name=f"{self.prefix}_{kind}{index}_{role}")

    def half_adder(self, x, y):
        """2:2 counter. Returns ``(sum, carry)`` with ``x + y == sum + 2*carry``."""
        s, c = self._wire("ha", "s"), self._wire("ha", "c")
        self.counts["ha"] += 1
        self.m.d.comb += [s.eq(x ^ y), c.eq(x & y)]
        return s, c

    def full_adder(self, x, y, z):
        """3:2 counter. Returns ``(sum, carry)`` with ``x + y + z == sum + 2*carry``."""
        s, c = self._wire("fa", "s"), self._wire("fa", "c")
        self.counts["fa"] += 1
        t = x ^ y
        self.m.d.comb += [s.eq(t ^ z), c.eq((x & y) | (t & z))]
        return s, c

    def compressor_4_2(self, x1, x2, x3, x4, cin=None):
        """4:2 compressor. Returns ``(sum, carry, cout)``.

        ``x1 + x2 + x3 + x4 + cin == sum + 2*(carry + cout)``. ``cout`` depends on ``x1..x3``
        only, never on ``cin``, so a row of these compressors has no carry ripple: the ``cout``
        of one column feeds the ``cin`` of the next in the same stage.
        """
        cin = Const(0, 1) if cin is None else Value.cast(cin)
        s, c, co = self._wire("c42", "s"), self._wire("c42", "c"), self._wire("c42", "co")
        self.counts["c42"] += 1
        t = x1 ^ x2 ^ x3
        u = t ^ x4
        self.m.d.comb += [
            co.eq((x1 & x2) | (x3 & (x1 ^ x2))),
            s.eq(u ^ cin),
            c.eq((t & x4) | (cin & u)),
        ]
        return s, c, co
