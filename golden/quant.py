"""Golden numerics of group-quantized 4-bit weights (W4A8 / W4A16) for the mixed-precision PEs
of issue 11 (MixPE, BitMoD bit-serial, XR-NPE SIMD, LUT Tensor Core): the datatypes, the
quantizer, and the exact order of the quantized matrix product, which the PE golden models
follow. numpy, vectorized; exact where it says so (checked in
``testbenches/test_quant_golden.py`` against :class:`fractions.Fraction` references).

Datatypes and the unified representation
-----------------------------------------
Every datatype is a table from a 4-bit **code** to an integer **value**; a weight is
``scale * value``, with one ``scale`` per group of ``group`` consecutive weights along the
reduction axis. The code layout is the same for all of them (sign-magnitude, as in OCP
``e2m1``): bit 3 is the sign, bits 2..0 index a magnitude table ``MAG``::

    value(code) = MAG[code & 7]  if code < 8  else  -MAG[code & 7]

except code ``0b1000`` (:data:`SPECIAL_CODE`, the redundant *negative zero*), which BitMoD
repurposes for one extra value (BitMoD, Chen et al., HPCA 2025, arXiv 2411.11745: the
"unified representation"; their public decoder maps the fp4 code ``1000`` to the special
value). A group therefore carries a 4-bit code per weight, a datatype and a scale.

**Units.** Values are in units of *half an e2m1 unit* (the "x2-scaled" values of
``../shared/README.md`` section 4), so every table holds small integers and a PE multiplies by
integers; ``MAG`` and the value of code 8:

======  ==============================  ===========  =========  ==================================
dtype   ``MAG`` (codes 0..7 / 8..15)    code 8       max_value  note
======  ==============================  ===========  =========  ==================================
int4    0 1 2 3 4 5 6 7                 0 (unused)   7          symmetric INT4, -7..7
fp4     0 1 2 3 4 6 8 12                0 (unused)   12         e2m1 x 2: 0 .5 1 1.5 2 3 4 6
er      0 1 2 3 4 6 8 12                +10          12         fp4 + "extra resolution" (e2m1 5)
ea      0 1 2 3 4 6 8 12                +16          16         fp4 + "extra asymmetry" (e2m1 8)
======  ==============================  ===========  =========  ==================================

* **int4 is symmetric** (15 values, -7..7), as BitMoD's INT4 (their public quantizer uses
  ``qmax = 7, qmin = -7``); -8 is never used. Its codes are sign-magnitude, *not* two's
  complement: :func:`int4_to_twos` converts them for a two's-complement datapath (code 8,
  never emitted, reads as 0).
* **fp4** codes are exactly OCP e2m1 bit patterns (``ml_dtypes.float4_e2m1fn``); the value is
  twice the e2m1 value. Choosing e2m1 units instead doubles every scale and changes nothing
  else (scales are ``absmax / max_value``; a power-of-two factor commutes with their rounding
  outside the subnormal range).
* **er / ea**: code 8 holds the extra value, ``+10`` (``er``, between 8 and 12: extra
  resolution, same max 12) or ``+16`` (``ea``, beyond 12: extra range on one side). One code
  can hold only one sign, so BitMoD has both signs as separate variants (``ER+``/``ER-``,
  ``EA+``/``EA-``, its public quantizer's ``fp4_er_pos`` ... ``fp4_ea_neg``). Here the variant
  is **the sign of the group's scale**: ``scale * (-v) == (-scale) * v``, so a group with a
  negative scale is the ``-`` variant (extra value ``-10 * |scale|`` or ``-16 * |scale|``) with
  every other value unchanged (the tables are symmetric elsewhere). :func:`quantize` picks the
  sign per group (least squared error, ties: ``+``). int4 and fp4 scales are never negative.
  The "``ER +-10`` / ``EA +-16``" of the issue are these two variants, not two extra codes.

Quantization rule (:func:`quantize`)
------------------------------------
Per group: ``absmax = max |w|``; ``scale = round_F(absmax / max_value)``, the quotient taken in
float64 and rounded to nearest-even into ``F = scale_format`` (``"fp16"``, the default, as
BitMoD and most W4 schemes store scales, or ``"fp32"``); a scale that overflows ``F`` is an
error, a group whose scale rounds to 0 quantizes to all zeros. Each weight then gets the code
of the value nearest to ``w / scale``, decided exactly (``|w|`` compared with the midpoints
times the scale, both exact in float64); beyond the largest value it saturates. **Ties** go
to the neighbour of *even rank* in the sorted list of that sign's magnitudes (for fp4 that is
IEEE round-to-nearest-even, the cast of ``ml_dtypes``; for int4 round-half-even, ``np.rint``;
for ``er`` the midpoints 9 and 11 go to 8 and 12, for ``ea`` 14 goes to 16). ``w = 0`` (either
sign) is code 0; code 8 is emitted only by ``er``/``ea``.

**Mixture** (:func:`quantize_mixture`, BitMoD's per-group datatype adaptation): every
candidate datatype quantizes the group; the one with the least squared error (float64) wins,
ties to the earlier candidate; the per-group index is the ``selector``. BitMoD's own mixture is
``("er", "ea")`` with the scale sign (:data:`BITMOD`: its four variants, 2 bits of metadata per
group); :data:`MIXTURE` is the best of all four datatypes.

Exact order of the quantized product (:func:`group_matmul`)
-----------------------------------------------------------
``Y = X @ W`` with ``X`` of shape ``(M, K)`` (activations, fp32) and ``W`` of shape ``(K, N)``
given as codes and scales with groups along K (``axis=0``):

1. **Activations** (``act``): ``"int8"``: :func:`quantize_act_int8`, per token (row) absmax,
   ``x = q * s_a``, ``q`` int8 in -127..127, ``s_a`` fp32; ``"fp16"`` / ``"bf16"``:
   :func:`round_act`, ``x`` rounded once (RNE) from fp32 to that format. The only roundings
   before the reduction.
2. **Group partial sum, exact**: ``P[g] = sum_{k in g} a[k] * v[k]`` (``a`` = ``q`` for int8,
   the fp16/bf16 value otherwise; ``v`` the integer weight value) with no rounding at all.
   It is computed in float64 and every term and partial sum is provably exact: int8 products
   are integers below ``2**53``; fp16/bf16 values are multiples of ``u = 2**(e_min - p)``
   (``e_min`` the smallest exponent in the group, ``p`` the format's precision), and the
   group is accepted when ``16 * sum|a| < 2**53 * u`` (always so for fp16 with ``group <=
   512``); a group failing it (bf16 activations spanning more than about 2**40) is summed in
   Python integers instead and rounded with :mod:`golden.fp.codec`.
3. ``p32 = fp32(P[g])``, round to nearest even (exact for int8 while ``|P| < 2**24``, i.e.
   ``group <= 8256``).
4. ``t = fp32(p32 * s_w[g])``: one fp32 multiply (RNE) by the group's weight scale (an fp16
   scale converts to fp32 exactly; a negative ``er``/``ea`` scale just flips the sign).
5. ``acc = fp32(acc + t)``, groups in increasing K order, ``acc`` starting at ``+0``.
6. int8 only: ``Y = fp32(acc * s_a)``, the token's activation scale applied once at the end.

A PE (or engine) that follows this order is bit-exact to this model: in hardware terms, an
exact (wide fixed-point) group accumulator, one conversion to fp32, one fp32 multiply by the
scale and one fp32 accumulator across groups.

Errors (:func:`gemm_error`) are against the fp32 product of the unquantized fp32 operands,
computed in float64 (so the reference's own error, about 1e-16, is negligible).

Members
-------
DTYPES
    The datatypes by name, :class:`DType` values: ``"int4"``, ``"fp4"``, ``"er"``, ``"ea"``.
DType
    A datatype: ``values`` (code -> integer value, 16 entries), ``max_value``, ``magnitudes``,
    ``special``, ``codes`` (the codes :func:`quantize` emits), ``signed_scale``.
MIXTURE, BITMOD
    Candidate tuples for :func:`quantize_mixture`: all four datatypes, and BitMoD's ``er``/``ea``.
SPECIAL_CODE
    ``0b1000``, the repurposed negative zero.
SCALE_FORMATS, ACTS
    Allowed ``scale_format`` and ``act`` values.
quantize
    ``(codes, scales)`` of ``w`` in one datatype.
quantize_mixture
    ``(codes, scales, selector)``: the per-group best of several datatypes.
select_mixture
    The same from already quantized candidates.
dequantize
    ``scale * value`` (float64, exact).
weight_values
    The integer values of codes (int8), per-group datatype applied.
int4_to_twos
    int4 sign-magnitude codes as 4-bit two's-complement patterns.
quantize_act_int8
    Per-token symmetric int8 activations ``(q, scale)``.
round_act
    Activations rounded to fp16 or bf16.
group_matmul
    The quantized product in the exact order above (float32).
gemm_error
    Relative (Frobenius) and max abs error of :func:`group_matmul` against fp32.
"""

from dataclasses import dataclass, field
from fractions import Fraction

import ml_dtypes
import numpy as np

from tpegen import dtypes
from tpegen.errors import ParameterError

from .fp.codec import encode

__all__ = ["DTYPES", "DType", "MIXTURE", "BITMOD", "SPECIAL_CODE", "SCALE_FORMATS", "ACTS",
           "quantize", "quantize_mixture", "select_mixture", "dequantize", "weight_values",
           "int4_to_twos", "quantize_act_int8", "round_act", "group_matmul", "gemm_error"]

SPECIAL_CODE = dtypes.SPECIAL_CODE
SCALE_FORMATS = {"fp16": np.float16, "fp32": np.float32}
ACTS = ("int8", "fp16", "bf16")
#: activation formats of step 1: numpy dtype, precision p (significand bits, hidden one included)
_FLOAT_ACTS = {"fp16": (np.float16, 11), "bf16": (ml_dtypes.bfloat16, 8)}


@dataclass(frozen=True)
class DType:
    """A 4-bit weight datatype in the unified representation (module docstring).

    Parameters
    ----------
    name : str
    magnitudes : tuple of 8 int
        ``MAG``: the value of codes 0..7; codes 8..15 are their negatives.
    special : int or None
        The value of :data:`SPECIAL_CODE` (``None``: it is a negative zero, never emitted).
    signed_scale : bool
        Whether :func:`quantize` chooses the sign of each group's scale (the ``+``/``-``
        variants of the extra value).

    Attributes
    ----------
    values : tuple of 16 int
        code -> value (``values[8]`` is ``special`` or 0).
    max_value : int
        ``max |value|`` over the emitted codes: the divisor of the absmax scale.
    codes : tuple of int
        The codes :func:`quantize` emits (15 without a special value, 16 with one).
    """

    name: str
    magnitudes: tuple
    special: int = None
    signed_scale: bool = False
    values: tuple = field(init=False)
    max_value: int = field(init=False)
    codes: tuple = field(init=False)

    def __post_init__(self):
        values = [m for m in self.magnitudes] + [-m for m in self.magnitudes]
        values[SPECIAL_CODE] = 0 if self.special is None else self.special
        codes = tuple(c for c in range(16) if c != SPECIAL_CODE or self.special is not None)
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "max_value", max(abs(values[c]) for c in codes))
        # per sign: magnitudes in increasing order and their codes (rank = index), for the
        # nearest-value search; zero is code 0 on both sides
        sides = []
        for sign in (1, -1):
            pairs = sorted({(sign * values[c], c) for c in codes
                            if sign * values[c] > 0} | {(0, 0)})
            sides.append((np.array([p[0] for p in pairs], np.float64),
                          np.array([p[1] for p in pairs], np.uint8)))
        object.__setattr__(self, "_sides", tuple(sides))

    @property
    def table(self):
        """``values`` as an int8 numpy array (a new copy)."""
        return np.array(self.values, np.int8)


#: the tables of :mod:`tpegen.dtypes` (the PEs' generators read the same); an extra value
#: makes the scale's sign pick the variant
DTYPES = {name: DType(name, dtypes.MAGNITUDES[name], special=dtypes.SPECIALS[name],
                      signed_scale=dtypes.SPECIALS[name] is not None)
          for name in dtypes.MIXTURE}
MIXTURE = dtypes.MIXTURE
BITMOD = ("er", "ea")
_VMAX = max(d.max_value for d in DTYPES.values())


# --- validation ----------------------------------------------------------------------------
def _choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ParameterError(f"{name}={value!r} is not allowed: choose one of "
                             + ", ".join(allowed))
    return value


def _dtypes(dtype):
    """A name or a tuple of names -> tuple of :class:`DType`."""
    names = (dtype,) if isinstance(dtype, str) else tuple(dtype) \
        if isinstance(dtype, (tuple, list)) else None
    if not names:
        raise ParameterError(f"dtype={dtype!r} is not allowed: a name ("
                             + ", ".join(DTYPES) + ") or a non-empty tuple of names")
    for n in names:
        _choice("dtype", n, tuple(DTYPES))
    return tuple(DTYPES[n] for n in names)


def _group(group):
    if isinstance(group, bool) or not isinstance(group, (int, np.integer)) or group < 1:
        raise ParameterError(f"group={group!r} is not allowed: a positive integer")
    return int(group)


def _axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) \
            or not -ndim <= axis < ndim:
        raise ParameterError(f"axis={axis!r} is out of range: allowed {-ndim}..{ndim - 1}")
    return int(axis) % ndim


def _float_array(name, x):
    x = np.asarray(x)
    if x.dtype.kind not in "fiu" and x.dtype not in (ml_dtypes.bfloat16,):
        raise ParameterError(f"{name} has dtype {x.dtype}: allowed real numbers")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ParameterError(f"{name} has non-finite values: allowed finite numbers")
    return x


def _grouped(a, group, axis, name="w"):
    """``a`` with ``axis`` moved last and split into ``(..., n_groups, group)``."""
    axis = _axis(axis, a.ndim)
    a = np.moveaxis(a, axis, -1)
    length = a.shape[-1]
    if length % group:
        raise ParameterError(f"group={group} does not divide the length {length} of axis "
                             f"{axis} of {name}: allowed divisors of {length}")
    return a.reshape(a.shape[:-1] + (length // group, group)), axis


def _ungrouped(a, axis):
    return np.moveaxis(a.reshape(a.shape[:-2] + (-1,)), -1, axis)


# --- weights -------------------------------------------------------------------------------
def _nearest(w, s, dt):
    """Codes of the values nearest to ``w / s`` (``s >= 0``, broadcast), ties to even rank."""
    r = np.abs(w)
    codes = np.zeros(w.shape, np.uint8)
    for (mags, side_codes), mask in zip(dt._sides, (w > 0, w < 0)):
        rank = np.zeros(w.shape, np.intp)
        for j in range(len(mags) - 1):
            t = (mags[j] + mags[j + 1]) / 2 * s          # exact: few bits times the scale
            rank += r > t
            if j % 2:                                   # a tie goes to the even rank j + 1
                rank += r == t
        codes = np.where(mask, side_codes[rank], codes)
    return np.where(s == 0, np.uint8(0), codes)


def _sse(w, values, s):
    d = w - s * values
    return np.sum(d * d, axis=-1)


def _quantize_grouped(wg, dt, scale_format):
    """``(codes, signed scale as float64, sse)`` of grouped weights ``wg``."""
    fmt = SCALE_FORMATS[scale_format]
    absmax = np.max(np.abs(wg), axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        s = (absmax / dt.max_value).astype(fmt)
    if not np.isfinite(s).all():
        raise ParameterError(f"scale_format={scale_format!r}: a group's scale (absmax / "
                             f"{dt.max_value}) overflows it; allowed: "
                             + ", ".join(SCALE_FORMATS) + " (use 'fp32')")
    s = s.astype(np.float64)
    table = np.array(dt.values, np.float64)
    codes = _nearest(wg, s, dt)
    sse = _sse(wg, table[codes], s)
    if dt.signed_scale:
        codes_n = _nearest(-wg, s, dt)
        sse_n = _sse(-wg, table[codes_n], s)
        neg = sse_n < sse
        codes = np.where(neg[..., None], codes_n, codes)
        s = np.where(neg[..., None], -s, s)
        sse = np.minimum(sse, sse_n)
    return codes, s[..., 0], sse


def quantize(w, *, dtype, group, axis=0, scale_format="fp16"):
    """Group-quantize ``w`` to 4-bit codes of one datatype, per-group absmax scaling.

    Parameters
    ----------
    w : array_like of float
        The weights (any shape; finite). Exactly as given (float64 holds fp32/fp16 exactly).
    dtype : str
        ``"int4"``, ``"fp4"``, ``"er"`` or ``"ea"`` (:data:`DTYPES`).
    group : int
        Weights per group along ``axis``; must divide its length.
    axis : int
        The grouped (reduction) axis; 0 for a ``(K, N)`` weight matrix of ``X @ W``.
    scale_format : str
        ``"fp16"`` (default) or ``"fp32"``: the format the scales are rounded to (RNE).

    Returns
    -------
    codes : numpy.ndarray of uint8
        ``w``'s shape, each in 0..15.
    scales : numpy.ndarray of float16 or float32
        ``w``'s shape with ``axis`` of length ``n_groups``; negative only for ``er``/``ea``
        groups using the ``-`` variant.

    Raises
    ------
    tpegen.errors.ParameterError (a ValueError)
        A bad ``dtype``, ``group``, ``axis``, ``scale_format``, non-finite ``w``, or a scale
        beyond ``scale_format``'s range.
    """
    if not isinstance(dtype, str):
        raise ParameterError(f"dtype={dtype!r} is not allowed: one name (" + ", ".join(DTYPES)
                             + "); use quantize_mixture for several")
    (dt,) = _dtypes(dtype)
    _choice("scale_format", scale_format, tuple(SCALE_FORMATS))
    w = _float_array("w", w)
    wg, axis = _grouped(w, _group(group), axis)
    codes, s, _ = _quantize_grouped(wg, dt, scale_format)
    return (_ungrouped(codes, axis),
            np.moveaxis(s.astype(SCALE_FORMATS[scale_format]), -1, axis))


def select_mixture(w, candidates, *, group, axis=0):
    """Per group, the candidate with the least squared error (float64; ties: the earlier).

    Parameters
    ----------
    w : array_like of float
        The weights the candidates quantized.
    candidates : sequence of (dtype, codes, scales)
        Each the result of :func:`quantize` on ``w`` with the same ``group`` and ``axis``.
    group, axis : int
        As given to :func:`quantize`.

    Returns
    -------
    codes, scales, selector
        ``selector`` (uint8, the scales' shape) indexes ``candidates``; pass
        ``dtype=tuple(names)`` with it to :func:`dequantize` and :func:`group_matmul`.
    """
    w = _float_array("w", w)
    group = _group(group)
    wg, axis = _grouped(w, group, axis)
    if not candidates:
        raise ParameterError("candidates=() is not allowed: at least one (dtype, codes, "
                             "scales)")
    best = sel = out_c = out_s = None
    for i, (name, codes, scales) in enumerate(candidates):
        (dt,) = _dtypes(name)
        cg, _ = _grouped(np.asarray(codes), group, axis, "codes")
        s = np.moveaxis(np.asarray(scales), axis, -1)
        if cg.shape != wg.shape or s.shape != wg.shape[:-1]:
            raise ParameterError(f"candidates[{i}] has codes {np.shape(codes)} / scales "
                                 f"{np.shape(scales)}: allowed the shapes quantize gives "
                                 f"for w {w.shape}")
        sse = _sse(wg, np.array(dt.values, np.float64)[cg], s[..., None].astype(np.float64))
        if best is None:
            best, sel, out_c, out_s = sse, np.zeros(sse.shape, np.uint8), cg, s
            continue
        better = sse < best
        best = np.where(better, sse, best)
        sel = np.where(better, np.uint8(i), sel)
        out_c = np.where(better[..., None], cg, out_c)
        out_s = np.where(better, s, out_s)
    return _ungrouped(out_c, axis), np.moveaxis(out_s, -1, axis), np.moveaxis(sel, -1, axis)


def quantize_mixture(w, *, group, dtypes=MIXTURE, axis=0, scale_format="fp16"):
    """BitMoD's per-group datatype adaptation: quantize with each of ``dtypes``, keep per
    group the one with the least squared error (:func:`select_mixture`).

    Parameters
    ----------
    w, group, axis, scale_format
        As for :func:`quantize`.
    dtypes : tuple of str
        Candidate datatypes: :data:`MIXTURE` (default, all four) or :data:`BITMOD`.

    Returns
    -------
    codes, scales, selector
        ``selector[g]`` indexes ``dtypes``.
    """
    names = [d.name for d in _dtypes(dtypes)]
    if isinstance(dtypes, str):
        raise ParameterError(f"dtypes={dtypes!r} is not allowed: a tuple of names")
    cands = [(n,) + quantize(w, dtype=n, group=group, axis=axis, scale_format=scale_format)
             for n in names]
    return select_mixture(w, cands, group=group, axis=axis)


def _selector(dtype, selector, n_groups_shape):
    dts = _dtypes(dtype)
    if isinstance(dtype, str):
        if selector is not None:
            raise ParameterError("selector is not allowed with a single dtype name: "
                                 "give dtype as a tuple of names")
        return dts, np.zeros(n_groups_shape, np.intp)
    if selector is None:
        raise ParameterError(f"selector=None is not allowed with dtype={dtype!r}: give the "
                             "per-group indices quantize_mixture returned")
    sel = np.asarray(selector)
    if sel.shape != n_groups_shape or sel.dtype.kind not in "iu" \
            or (sel.size and (sel.min() < 0 or sel.max() >= len(dts))):
        raise ParameterError(f"selector of shape {sel.shape} is not allowed: integers in "
                             f"0..{len(dts) - 1} of the scales' shape {n_groups_shape}")
    return dts, sel.astype(np.intp)


def weight_values(codes, *, dtype, group, axis=0, selector=None):
    """The integer values (int8, half-e2m1 units) of ``codes``; ``dtype`` a name, or a tuple
    of names with the per-group ``selector`` of :func:`quantize_mixture`."""
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu" or (codes.size and (codes.min() < 0 or codes.max() > 15)):
        raise ParameterError("codes are not allowed: integers in 0..15")
    cg, axis = _grouped(codes.astype(np.intp), _group(group), axis, "codes")
    if selector is not None:                      # the scales' layout -> groups last
        selector = np.asarray(selector)
        if selector.ndim != codes.ndim:
            raise ParameterError(f"selector of shape {selector.shape} is not allowed: the "
                                 "scales' shape")
        selector = np.moveaxis(selector, axis, -1)
    dts, sel = _selector(dtype, selector, cg.shape[:-1])
    tables = np.array([d.values for d in dts], np.int8)
    return _ungrouped(tables[sel[..., None], cg], axis)


def dequantize(codes, scales, *, dtype, group, axis=0, selector=None):
    """``scale * value`` per weight, float64 (exact: a small integer times an fp16/fp32
    scale). Arguments as :func:`quantize` returned them (and :func:`weight_values`)."""
    v = weight_values(codes, dtype=dtype, group=group, axis=axis, selector=selector)
    vg, axis = _grouped(v.astype(np.float64), group, axis, "codes")
    s = np.moveaxis(np.asarray(scales, np.float64), axis, -1)
    if s.shape != vg.shape[:-1]:
        raise ParameterError(f"scales of shape {np.shape(scales)} are not allowed: the codes' "
                             f"shape with axis {axis} of length {vg.shape[-2]}")
    return _ungrouped(vg * s[..., None], axis)


def int4_to_twos(codes):
    """int4 sign-magnitude codes as 4-bit two's-complement patterns (uint8, 0..15): for a
    MixPE-style datapath on two's-complement weights. Code 8 (never emitted) gives 0."""
    codes = np.asarray(codes, np.int64)
    v = np.where(codes >= 8, -(codes & 7), codes & 7)
    return (v & 15).astype(np.uint8)


# --- activations ---------------------------------------------------------------------------
def quantize_act_int8(x, *, scale_format="fp32"):
    """Per-token (row, last axis) symmetric int8 activations.

    ``x`` is taken as float32 (RNE from float64). ``scale = round_F(absmax / 127)`` (float32
    division, or its fp16 rounding with ``scale_format="fp16"``); ``q = clip(rint(x / scale),
    -127, 127)`` with ties to even, decided exactly (the float64 quotient of two fp32 numbers
    is a half-integer below 128 only when the exact quotient is one); -128 is not used; an
    all-zero row has scale 0 and ``q = 0``.

    Returns
    -------
    q : numpy.ndarray of int8
        ``x``'s shape.
    scale : numpy.ndarray of float32 (or float16)
        ``x``'s shape with the last axis of length 1.
    """
    _choice("scale_format", scale_format, tuple(SCALE_FORMATS))
    x = _float_array("x", x).astype(np.float32)
    if x.ndim < 1:
        raise ParameterError("x of shape () is not allowed: at least one axis (tokens last)")
    absmax = np.max(np.abs(x), axis=-1, keepdims=True)
    s = (absmax / np.float32(127)).astype(SCALE_FORMATS[scale_format])
    s64 = s.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(s64 > 0, np.rint(x.astype(np.float64) / s64), 0.0)
    return np.clip(q, -127, 127).astype(np.int8), s


def round_act(x, *, fmt):
    """Activations rounded once (RNE) to ``fmt``: ``"fp16"`` (numpy float16) or ``"bf16"``
    (``ml_dtypes.bfloat16``), from float32 (float64 input is first rounded to float32).
    Values beyond the format's range are an error."""
    _choice("fmt", fmt, tuple(_FLOAT_ACTS))
    x32 = _float_array("x", x).astype(np.float32)
    with np.errstate(over="ignore"):
        r = x32.astype(_FLOAT_ACTS[fmt][0])
    if not np.isfinite(r.astype(np.float32)).all():
        raise ParameterError(f"fmt={fmt!r}: x has values beyond its range; allowed "
                             + ", ".join(_FLOAT_ACTS))
    return r


# --- the product ---------------------------------------------------------------------------
def _to_fp32(frac):
    bits = encode(frac, "fp32")
    return np.array([bits], np.uint32).view(np.float32)[0]


def _partial_sums(a, v, group, precision):
    """``P[g, m, n] = sum_{k in g} a[m, k] v[k, n]`` exactly, as float64 (module step 2);
    entries whose exact value needs more than float64 are returned already rounded to fp32
    in ``fixed`` (a dict ``(g, m) -> float32 row``)."""
    M, K = a.shape
    ng = K // group
    ag = a.reshape(M, ng, group).transpose(1, 0, 2)            # (ng, M, G)
    vg = v.reshape(ng, group, -1)                              # (ng, G, N)
    P = np.matmul(ag, vg)
    fixed = {}
    if precision is None:                                      # integers: exact below 2**53
        return P, fixed
    nz = ag != 0
    _, e = np.frexp(np.where(nz, ag, 1.0))
    e_min = np.where(nz, e, 4096).min(axis=-1).astype(np.int64)    # (ng, M)
    total = np.abs(ag).sum(axis=-1)
    ok = (total == 0) | (_VMAX * total < np.ldexp(1.0, np.minimum(53 + e_min - precision,
                                                                  1000)))
    for g, m in zip(*np.nonzero(~ok)):
        unit = int(e_min[g, m]) - precision                    # every a is a multiple of 2**unit
        ints = np.array([int(t) for t in np.ldexp(ag[g, m], -unit)], dtype=object)
        sums = ints.dot(vg[g].astype(np.int64).astype(object))
        fixed[(g, m)] = np.array([_to_fp32(Fraction(int(s)) * Fraction(2) ** unit)
                                  for s in sums], np.float32)
    return P, fixed


def group_matmul(X, codes, scales, *, dtype, group, act, selector=None):
    """The group-quantized product ``X @ W`` in the exact order of the module docstring.

    Parameters
    ----------
    X : array_like of float, shape (M, K)
        fp32 activations (float64 input is rounded to float32 first).
    codes, scales
        ``W`` (shape ``(K, N)``) as :func:`quantize` / :func:`quantize_mixture` returned them
        with ``axis=0``.
    dtype : str or tuple of str
        The datatype, or the mixture's candidates with ``selector``.
    group : int
        The quantization group along K.
    act : str
        ``"int8"`` (W4A8), ``"fp16"`` or ``"bf16"`` (W4A16).
    selector : array_like of int, optional
        Per-group datatype index (mixtures only).

    Returns
    -------
    numpy.ndarray of float32, shape (M, N)
    """
    _choice("act", act, ACTS)
    group = _group(group)
    codes = np.asarray(codes)
    X = _float_array("X", X).astype(np.float32)
    if codes.ndim != 2 or X.ndim != 2 or X.shape[1] != codes.shape[0]:
        raise ParameterError(f"X {X.shape} and codes {codes.shape} are not allowed: X of "
                             "shape (M, K) and codes of shape (K, N)")
    v = weight_values(codes, dtype=dtype, group=group, axis=0, selector=selector)
    s = np.asarray(scales)
    if s.shape != (codes.shape[0] // group, codes.shape[1]):
        raise ParameterError(f"scales of shape {s.shape} are not allowed: "
                             f"{(codes.shape[0] // group, codes.shape[1])}")
    if act == "int8":
        q, s_a = quantize_act_int8(X)
        a, precision = q.astype(np.float64), None
    else:
        a = round_act(X, fmt=act).astype(np.float64)
        precision = _FLOAT_ACTS[act][1]
    P, fixed = _partial_sums(a, v.astype(np.float64), group, precision)
    with np.errstate(over="ignore"):
        p32 = P.astype(np.float32)                              # step 3
    for (g, m), row in fixed.items():
        p32[g, m] = row
    s32 = s.astype(np.float32)
    acc = np.zeros(p32.shape[1:], np.float32)
    for g in range(p32.shape[0]):                               # steps 4 and 5, in K order
        acc = acc + p32[g] * s32[g]
    if act == "int8":
        acc = acc * s_a.astype(np.float32)                      # step 6
    return acc


def gemm_error(W, X, *, dtype, group, act, scale_format="fp16", quantized=None):
    """Error of the group-quantized ``X @ W`` (:func:`group_matmul`) against fp32.

    Parameters
    ----------
    W : array_like of float, shape (K, N)
        fp32 weights (float64 input is rounded to float32), quantized along K.
    X : array_like of float, shape (M, K)
        fp32 activations.
    dtype : str or tuple of str
        A datatype (:data:`DTYPES`) or a mixture's candidates (:func:`quantize_mixture`).
    group : int
    act : str
        ``"int8"``, ``"fp16"`` or ``"bf16"``.
    scale_format : str
        ``"fp16"`` or ``"fp32"``, for the weight scales.
    quantized : tuple, optional
        ``(codes, scales)`` or ``(codes, scales, selector)`` already made from ``W`` with
        these arguments (saves quantizing again).

    Returns
    -------
    dict
        ``rel_err``: ``||Y_q - Y|| / ||Y||`` (Frobenius), ``max_abs_err``: ``max |Y_q - Y|``,
        ``max_abs_ref``: ``max |Y|``, ``w_rel_err``: ``||W_q - W|| / ||W||``; ``Y`` the
        product of the fp32 ``X`` and ``W`` computed in float64.
    """
    W = _float_array("W", W).astype(np.float32)
    X = _float_array("X", X).astype(np.float32)
    if quantized is None:
        if isinstance(dtype, str):
            quantized = quantize(W, dtype=dtype, group=group, axis=0, scale_format=scale_format)
        else:
            quantized = quantize_mixture(W, group=group, dtypes=dtype, axis=0,
                                         scale_format=scale_format)
    codes, scales, *sel = quantized
    selector = sel[0] if sel else None
    Y = group_matmul(X, codes, scales, dtype=dtype, group=group, act=act, selector=selector)
    ref = X.astype(np.float64) @ W.astype(np.float64)
    Wq = dequantize(codes, scales, dtype=dtype, group=group, axis=0, selector=selector)
    d = Y.astype(np.float64) - ref
    W64 = W.astype(np.float64)
    return {"rel_err": float(np.linalg.norm(d) / np.linalg.norm(ref)),
            "max_abs_err": float(np.abs(d).max()),
            "max_abs_ref": float(np.abs(ref).max()),
            "w_rel_err": float(np.linalg.norm(Wq - W64) / np.linalg.norm(W64))}
