"""The 4-bit weight datatypes of the mixed-precision PEs, as data: the *unified
representation* (BitMoD, Chen et al., HPCA 2025, arXiv 2411.11745) in which every datatype is
a table from a 4-bit sign-magnitude code to a small integer value (in half-e2m1 units). The
golden models (:mod:`golden.quant`, :mod:`golden.pe.bitserial`) and the generators
(:mod:`hdl.pe.bitserial`) read the tables from here, as they read number formats from
:mod:`tpegen.formats`; the meaning of each table is in golden/quant.py's docstring.

Members
-------
SPECIAL_CODE
    Code ``0b1000`` (the redundant negative zero), which ER and EA use for their extra value.
MAGNITUDES, SPECIALS
    Per datatype: the values of codes 0..7, and the value of :data:`SPECIAL_CODE` (``None``:
    unused).
MIXTURE
    The datatypes in the order of a ``dtype`` code (the bit-serial PE's input).
values
    The 16 code -> value table of a datatype.
dequant_format
    The FP format the baselines dequantize weights to, for an activation format.
act_unit
    Exponent of one unit of an exact sum of activations times integers.
"""

from .formats import FORMATS

__all__ = ["SPECIAL_CODE", "MAGNITUDES", "SPECIALS", "MIXTURE", "values", "dequant_format",
           "act_unit"]

SPECIAL_CODE = 0b1000
_FP4 = (0, 1, 2, 3, 4, 6, 8, 12)          # e2m1 x 2: 0 .5 1 1.5 2 3 4 6
MAGNITUDES = {"int4": tuple(range(8)), "fp4": _FP4, "er": _FP4, "ea": _FP4}
SPECIALS = {"int4": None, "fp4": None, "er": 10, "ea": 16}
MIXTURE = ("int4", "fp4", "er", "ea")


def values(name):
    """``(value of code 0, ..., value of code 15)`` of datatype ``name``: ``MAG[c]`` for
    ``c < 8``, ``-MAG[c - 8]`` above, code 8 the special value (or 0)."""
    mags = MAGNITUDES[name]
    out = list(mags) + [-m for m in mags]
    out[SPECIAL_CODE] = SPECIALS[name] or 0
    return tuple(out)


def dequant_format(act):
    """``F``, the format the baseline PEs dequantize weights to for ``act`` activations:
    bf16 for bf16, else fp16 (an int8 activation is exact in fp16)."""
    return "bf16" if act == "bf16" else "fp16"


def act_unit(act):
    """Exponent of one unit of an exact sum of ``act`` activations times integers: 0 for
    int8, the format's smallest subnormal for fp16 (-24) and bf16 (-133)."""
    if act == "int8":
        return 0
    fmt = FORMATS[act]
    return 1 - fmt.bias - fmt.man_bits
