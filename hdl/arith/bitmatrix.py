"""Dot diagrams ("bit matrices"): the one structure every tpegen datapath is reduced from.

A :class:`BitMatrix` of width ``W`` is a list of columns. Column ``k`` holds 1-bit Amaranth
values ("dots") of weight ``2**k``; the matrix also holds one integer constant. It stands for

    value = (sum_k 2**k * sum(column k) + constant) mod 2**W

Partial products (AND array, Booth radix-4), accumulator rows (the carry-save ``S`` and ``C``
rows of the TPE paper's OPT1) and sign-extension constants all enter as dots. A reducer
(:mod:`hdl.arith.reduce`) then compresses any matrix to two rows, and a final adder
(:mod:`hdl.arith.adders`) turns those into one. A new architecture only says which dots it adds.

Signed rows use the standard negative-weight identity instead of sign extension: the top bit
``x`` of a signed row has weight ``-2**k``, and ``-x * 2**k == (~x) * 2**k - 2**k``, so the row
enters as its low bits, its inverted top bit, and a constant ``-2**k``. All constants fold into
one number, whose set bits become constant dots (the "sign-extension trick").
"""

from amaranth.hdl import Const, Value

__all__ = ["BitMatrix"]


class BitMatrix:
    """Columns of equally weighted bits, plus one folded constant, modulo ``2**width``.

    Parameters
    ----------
    width : int
        Number of columns. Dots of weight ``2**width`` or more are dropped (arithmetic is
        modulo ``2**width``).
    """

    def __init__(self, width):
        if width < 1:
            raise ValueError(f"width must be at least 1, not {width}")
        self.width = width
        self.columns = [[] for _ in range(width)]
        self.constant = 0

    def add_dot(self, bit, weight):
        """Add one 1-bit value of weight ``2**weight``."""
        if 0 <= weight < self.width:
            self.columns[weight].append(Value.cast(bit))

    def add_negative_dot(self, bit, weight):
        """Add ``-bit * 2**weight`` as ``(~bit) * 2**weight - 2**weight``."""
        if 0 <= weight < self.width:
            self.add_dot(~Value.cast(bit), weight)
            self.add_constant(-(1 << weight))

    def add_constant(self, value):
        """Add an integer constant (folded, modulo ``2**width``)."""
        self.constant = (self.constant + value) % (1 << self.width)

    def add_value(self, value, shift=0):
        """Add ``value * 2**shift``; the value's Amaranth shape says whether it is signed."""
        value = Value.cast(value)
        shape = value.shape()
        for i in range(shape.width):
            if shape.signed and i == shape.width - 1:
                self.add_negative_dot(value[i], i + shift)
            else:
                self.add_dot(value[i], i + shift)

    def add_matrix(self, other, shift=0):
        """Add every dot and the constant of ``other``, ``shift`` columns up."""
        for weight, column in enumerate(other.columns):
            for dot in column:
                self.add_dot(dot, weight + shift)
        self.add_constant(other.constant << shift)

    def rows(self):
        """The two rows (lists of 1-bit values, least significant first) of a reduced
        matrix: at most two dots per column, missing ones are constant zeros."""
        if self.max_height > 2:
            raise ValueError(f"the matrix is not reduced: a column holds {self.max_height} dots")
        zero = Const(0, 1)
        return ([col[0] if len(col) > 0 else zero for col in self.columns],
                [col[1] if len(col) > 1 else zero for col in self.columns])

    def materialize_constant(self):
        """Turn the folded constant into constant dots (one per set bit) and clear it."""
        for k in range(self.width):
            if (self.constant >> k) & 1:
                self.columns[k].append(Const(1, 1))
        self.constant = 0

    @property
    def heights(self):
        """Number of dots in each column, least significant first."""
        return [len(col) for col in self.columns]

    @property
    def max_height(self):
        return max(self.heights, default=0)

    @property
    def dot_count(self):
        return sum(self.heights)
