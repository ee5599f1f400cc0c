"""Partial-product generators: they put ``a * b`` into a :class:`BitMatrix` as dots.

``array``
    The AND array, with signed operands handled as in Baugh and Wooley ("A Two's Complement
    Parallel Array Multiplication Algorithm", IEEE Trans. Computers, 1973): a product bit
    ``a_i b_j`` whose weight is negative (exactly one of ``i``, ``j`` is a signed operand's top
    bit) enters as ``~(a_i b_j)`` plus the constant ``-2**(i+j)``.
``booth4``
    Radix-4 (modified) Booth recoding of ``a`` (O. L. MacSorley, "High-Speed Arithmetic in
    Binary Computers", Proc. IRE, 1961). Digit ``d_i`` in {0, +-1, +-2} is taken from
    ``(a[2i+1], a[2i], a[2i-1])`` with ``a[-1] = 0``; an unsigned ``a`` gets one more digit so
    that its top bit is read as positive. Each row is ``|d_i| * b`` (``one``/``two`` select),
    inverted when the digit is negative, with the ``+1`` of the two's complement added as a
    dot at weight ``2i``. The row's sign is handled with the sign-extension trick (see
    :mod:`hdl.arith.bitmatrix`), so no row is sign-extended to the full width.
``behavioural``
    ``a * b`` written as an Amaranth product; yosys chooses the multiplier. It enters the
    matrix as one signed row.
"""

from amaranth.hdl import Cat, Const, Signal

from tpegen.config import MULTIPLIERS

__all__ = ["MULTIPLIERS", "add_product"]



def _bit(value, i, signed):
    """Bit ``i`` of ``value``, sign- or zero-extended beyond its width."""
    n = len(value)
    if i < 0:
        return None
    if i < n:
        return value[i]
    return value[n - 1] if signed else None


def _add_array(matrix, a, a_signed, b, b_signed):
    for i in range(len(a)):
        for j in range(len(b)):
            negative = (a_signed and i == len(a) - 1) != (b_signed and j == len(b) - 1)
            if negative:
                matrix.add_negative_dot(a[i] & b[j], i + j)
            else:
                matrix.add_dot(a[i] & b[j], i + j)


def booth4_digit_count(a_width, a_signed):
    """Number of radix-4 Booth digits of an ``a_width``-bit operand."""
    return (a_width + (0 if a_signed else 1) + 1) // 2


def _add_booth4(m, matrix, a, a_signed, b, b_signed, prefix):
    # B read as a signed value of bw bits; |d| * B needs bw + 1 signed bits.
    bw = len(b) if b_signed else len(b) + 1

    def b_bit(j):
        if j < 0:
            return None
        return b[min(j, len(b) - 1)] if b_signed else (b[j] if j < len(b) else None)

    for i in range(booth4_digit_count(len(a), a_signed)):
        hi, mid, lo = (_bit(a, 2 * i + 1, a_signed), _bit(a, 2 * i, a_signed),
                       _bit(a, 2 * i - 1, a_signed))
        hi, mid, lo = (Const(0, 1) if x is None else x for x in (hi, mid, lo))
        neg, one, two = (Signal(name=f"{prefix}_d{i}_{n}") for n in ("neg", "one", "two"))
        m.d.comb += [
            neg.eq(hi),
            one.eq(mid ^ lo),
            two.eq((hi & ~mid & ~lo) | (~hi & mid & lo)),
        ]
        row = Signal(bw + 1, name=f"{prefix}_pp{i}")
        bits = []
        for j in range(bw + 1):
            bj, bj1 = b_bit(j), b_bit(j - 1)
            sel = Const(0, 1)
            if bj is not None:
                sel = one & bj
            if bj1 is not None:
                sel = sel | (two & bj1)
            bits.append(sel ^ neg)
        m.d.comb += row.eq(Cat(*bits))
        matrix.add_value(row.as_signed(), 2 * i)
        matrix.add_dot(neg, 2 * i)


def add_product(m, matrix, a, a_signed, b, b_signed, *, mult, prefix="mul"):
    """Add the dots of ``a * b`` to ``matrix``.

    ``a`` and ``b`` are unsigned-shaped Amaranth values; ``a_signed``/``b_signed`` say how to
    read them. Returns the number of partial-product rows (for the manifest).
    """
    if mult not in MULTIPLIERS:
        raise ValueError(f"mult must be one of {MULTIPLIERS}, not {mult!r}")
    if mult == "array":
        _add_array(matrix, a, a_signed, b, b_signed)
        return len(a)
    if mult == "booth4":
        _add_booth4(m, matrix, a, a_signed, b, b_signed, prefix)
        return booth4_digit_count(len(a), a_signed)
    product = Signal(len(a) + len(b), name=f"{prefix}_product")
    sa = a.as_signed() if a_signed else a
    sb = b.as_signed() if b_signed else b
    m.d.comb += product.eq(sa * sb)
    matrix.add_value(product.as_signed() if (a_signed or b_signed) else product)
    return 1
