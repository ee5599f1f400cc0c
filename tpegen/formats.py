"""Floating-point format descriptions, shared by ``hdl/`` and ``golden/``.

A format is ``(exp_bits, man_bits, bias, policy)``: one sign bit, ``exp_bits`` exponent bits,
``man_bits`` stored mantissa bits (the hidden bit is not stored), and the policy for the top
exponent code:

``ieee``
    IEEE 754: exponent all ones is inf (mantissa 0) or NaN (mantissa non-zero).
``fn``
    OCP "fn" (finite + NaN, e.g. ``e4m3fn``, max 448): no inf; only the all-ones exponent *and*
    mantissa pattern is NaN, the rest of the top exponent code holds finite values.
``finite``
    no inf and no NaN at all (OCP MX ``e2m1fn``, max 6): every code is a finite number.

Exponent code 0 holds zero and the subnormals, as in IEEE 754. Names for the CLI:
``bf16``, ``fp16``, ``fp32``, ``e4m3fn``, ``e5m2``, ``e2m1fn``, and ``eXmY`` (IEEE policy,
bias ``2**(X-1) - 1``) or ``eXmYfn`` for any other. Note that cvfpu's fp8 e4m3 is IEEE style
(max 240); tpegen's ``e4m3fn`` is the OCP format (max 448), as in ml_dtypes.
"""

import re
from dataclasses import dataclass
from fractions import Fraction

from .errors import ParameterError

__all__ = ["FloatFormat", "FORMATS", "parse_format", "POLICIES", "Layout", "layout",
           "unnormalized_layout"]

POLICIES = ("ieee", "fn", "finite")


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format (see the module docstring)."""

    exp_bits: int
    man_bits: int
    bias: int = None
    policy: str = "ieee"
    name: str = None

    def __post_init__(self):
        if isinstance(self.exp_bits, bool) or not isinstance(self.exp_bits, int) \
                or not 1 <= self.exp_bits <= 11:
            raise ParameterError(f"exp_bits={self.exp_bits!r} is out of range: allowed 1..11")
        if isinstance(self.man_bits, bool) or not isinstance(self.man_bits, int) \
                or not 0 <= self.man_bits <= 52:
            raise ParameterError(f"man_bits={self.man_bits!r} is out of range: allowed 0..52")
        if self.policy not in POLICIES:
            raise ParameterError(f"policy={self.policy!r} is not allowed: choose one of "
                                 + ", ".join(POLICIES))
        if self.policy == "ieee" and self.exp_bits < 2:
            raise ParameterError("exp_bits=1 is out of range for policy='ieee': allowed 2..11 "
                                 "(the top exponent code is reserved for inf/NaN)")
        if self.policy == "fn" and self.man_bits == 0:
            raise ParameterError("man_bits=0 is out of range for policy='fn': allowed 1..52 "
                                 "(the all-ones code is NaN, the rest of its exponent finite)")
        if self.bias is None:
            object.__setattr__(self, "bias", (1 << (self.exp_bits - 1)) - 1)
        if self.name is None:
            suffix = {"ieee": "", "fn": "fn", "finite": "fn"}[self.policy]
            object.__setattr__(self, "name", f"e{self.exp_bits}m{self.man_bits}{suffix}")

    # --- derived quantities -------------------------------------------------------------
    @property
    def width(self):
        return 1 + self.exp_bits + self.man_bits

    @property
    def exp_max_code(self):
        return (1 << self.exp_bits) - 1

    @property
    def emin(self):
        """Exponent of the smallest normal number."""
        return 1 - self.bias

    @property
    def emax(self):
        """Exponent of the largest finite number."""
        top = self.exp_max_code - (1 if self.policy == "ieee" else 0)
        return top - self.bias

    @property
    def max_mantissa(self):
        """Stored mantissa of the largest finite number."""
        full = (1 << self.man_bits) - 1
        return full - 1 if self.policy == "fn" else full

    @property
    def max_finite(self):
        return Fraction((1 << self.man_bits) + self.max_mantissa, 1 << self.man_bits) * \
            Fraction(2) ** self.emax

    @property
    def min_normal(self):
        return Fraction(2) ** self.emin

    @property
    def min_subnormal(self):
        return Fraction(2) ** (self.emin - self.man_bits)

    @property
    def has_inf(self):
        return self.policy == "ieee"

    @property
    def has_nan(self):
        return self.policy != "finite"

    @property
    def nan_code(self):
        """The canonical quiet NaN (sign 0): IEEE quiet bit set, or the fn all-ones code."""
        if self.policy == "ieee":
            quiet = 1 << (self.man_bits - 1) if self.man_bits else 0
            return (self.exp_max_code << self.man_bits) | max(quiet, 1)
        if self.policy == "fn":
            return (1 << (self.width - 1)) - 1
        return None

    @property
    def max_code(self):
        """Bit pattern (sign 0) of the largest finite number."""
        return ((self.emax + self.bias) << self.man_bits) | self.max_mantissa

    @property
    def inf_code(self):
        """What an infinity becomes (sign 0): inf, or the largest finite without inf."""
        return self.exp_max_code << self.man_bits if self.has_inf else self.max_code

    @property
    def nan_or_max_code(self):
        """What a NaN becomes (sign 0): the canonical NaN, or the largest finite without NaN."""
        return self.nan_code if self.has_nan else self.max_code

    def __str__(self):
        return self.name


#: The named formats of the CLI; ``parse_format`` also takes ``eXmY`` and ``eXmYfn``.
FORMATS = {
    "bf16": FloatFormat(8, 7, name="bf16"),
    "fp16": FloatFormat(5, 10, name="fp16"),
    "fp32": FloatFormat(8, 23, name="fp32"),
    "fp64": FloatFormat(11, 52, name="fp64"),
    "e4m3fn": FloatFormat(4, 3, policy="fn", name="e4m3fn"),
    "e5m2": FloatFormat(5, 2, name="e5m2"),
    "e2m1fn": FloatFormat(2, 1, policy="finite", name="e2m1fn"),
}


def parse_format(text):
    """A :class:`FloatFormat` from its CLI name; raises :class:`ParameterError`."""
    if isinstance(text, FloatFormat):
        return text
    if text in FORMATS:
        return FORMATS[text]
    match = re.fullmatch(r"e(\d+)m(\d+)(fn)?", str(text))
    if match is None:
        raise ParameterError(f"format={text!r} is not allowed: choose one of "
                             f"{', '.join(FORMATS)}, or eXmY / eXmYfn")
    exp_bits, man_bits = int(match.group(1)), int(match.group(2))
    policy = "fn" if match.group(3) else "ieee"
    return FloatFormat(exp_bits, man_bits, policy=policy)


# --- the alignment window of the FMA datapath ----------------------------------------------
#
# Part of the spec of the approximate schemes (docs/fp.md), shared by the configuration (its
# ranges), the golden models and the generators:
#
#   position 0                      sticky position (anything below position 1)
#   positions [L, L + pp)           the product significand, L = extension + guard
#   addend LSB at Ec - ref          at most T = L + pp + 2 + guard (then the product is sticky)
#   Wm = T + pc                     magnitude bits of the window
#
# with pp = (m_a + 1) + (m_b + 1) product bits and pc = m_acc + 1 addend bits.

@dataclass(frozen=True)
class Layout:
    """The alignment window of an FMA (see the comment above)."""

    pp: int
    pc: int
    guard: int
    extension: int = None   # addend bits kept below the product (None: pc + 2, exact)

    @property
    def low(self):          # L
        extension = self.pc + 2 if self.extension is None else self.extension
        return extension + self.guard

    @property
    def top(self):          # T
        return self.low + self.pp + 2 + self.guard

    @property
    def width(self):        # Wm
        return self.top + self.pc


def _product_bits(fmt_a, fmt_b):
    fa = parse_format(fmt_a)
    fb = fa if fmt_b is None else parse_format(fmt_b)
    return fa.man_bits + 1 + fb.man_bits + 1


def layout(fmt_a, fmt_acc, guard=0, extension=None, *, fmt_b=None):
    """The FMA's window for ``fmt_a`` x ``fmt_b`` (default: ``fmt_a``) + ``fmt_acc``."""
    return Layout(pp=_product_bits(fmt_a, fmt_b), pc=parse_format(fmt_acc).man_bits + 1,
                  guard=guard, extension=extension)


def unnormalized_layout(fmt_a, fmt_acc, guard=0, extension=None, *, fmt_b=None):
    """The window of the unnormalized accumulator: a ``pc = m_acc + 2 + guard``-bit addend
    (the accumulator's significand, carry included), no guard positions."""
    return Layout(pp=_product_bits(fmt_a, fmt_b), pc=parse_format(fmt_acc).man_bits + 2 + guard,
                  guard=0, extension=extension)


def lmul_offset_exponent(man_bits):
    """``l(m)`` of L-Mul ("Addition is All You Need", arXiv 2410.00907): the offset
    ``2**-l(m)`` added to the mantissa sum is ``m`` for ``m <= 3``, 3 for ``m == 4`` and 4
    for ``m > 4``. Part of the spec, so the golden model and the generator share it."""
    return man_bits if man_bits <= 3 else 3 if man_bits == 4 else 4
