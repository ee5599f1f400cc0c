"""Vectorized form of :mod:`golden.fp.fdot` (the tree engines' FP reduction, spec there):
numpy over any batch shape, int64 significands on the window's grid, one rounding through
:func:`golden.fp.vfma.encode`'s exact float64 path. Bit-exact to the scalar reference
(``testbenches/test_fdot_golden.py``).

``S`` fits int64 and converts to float64 exactly while ``W + ceil(log2(T + 1)) <= 53``
(fp32 accumulators: ``W = 27``, so any ``T`` up to 2**26); wider windows are refused.

Members
-------
fdot
    ``fdot(a, b, c)``: ``a``, ``b`` of shape ``(..., T)``, ``c`` of shape ``(...)``.
DotMac
    ``shape`` accumulating lanes with ``terms`` products each.
"""

import numpy as np

from tpegen.formats import parse_format

from .fdot import GUARD, window_bits
from .vfma import _all_fields, _encode

__all__ = ["fdot", "DotMac"]


def _specials(va, vb, vc):
    """``(nan, inf, inf_negative)`` of the batch from the float64 values of the operands."""
    pa, pb = np.isinf(va), np.isinf(vb)
    nan = np.isnan(vc) | np.isnan(va).any(-1) | np.isnan(vb).any(-1)
    nan |= ((pa & (vb == 0)) | (pb & (va == 0))).any(-1)
    pinf = pa | pb
    pneg = np.signbit(va) ^ np.signbit(vb)
    pos = (pinf & ~pneg).any(-1) | (np.isinf(vc) & ~np.signbit(vc))
    neg = (pinf & pneg).any(-1) | (np.isinf(vc) & np.signbit(vc))
    return nan | (pos & neg), pos | neg, neg


def fdot(a, b, c, *, fmt_acc, fmt_a, fmt_b=None, rounding="rne", subnormals=True,
         guard=GUARD):
    """Bit patterns (int64) of the reduction of :func:`golden.fp.fdot.fdot` over a batch."""
    fa, fb, fc = parse_format(fmt_a), parse_format(fmt_b or fmt_a), parse_format(fmt_acc)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    c = np.asarray(c, np.int64)
    a, b = np.broadcast_arrays(a, b)
    T = a.shape[-1]
    W = window_bits(fc, guard)
    if W + int(T).bit_length() + 1 > 53:
        raise ValueError(f"window {W} bits with {T} terms does not fit the exact path")
    va, sa, la = _all_fields(a, fa, subnormals)
    vb, sb, lb = _all_fields(b, fb, subnormals)
    vc, sc, lc = _all_fields(c, fc, subnormals)
    va, vb, vc = (np.asarray(v, np.float64) for v in (va, vb, vc))
    sa, sb, sc = (np.asarray(s, np.int64) for s in (sa, sb, sc))
    la, lb, lc = (np.asarray(x, np.int64) for x in (la, lb, lc))
    vc = np.broadcast_to(vc, va.shape[:-1])
    nan, inf, inf_neg = _specials(va, vb, vc)
    # terms: product t (sig, lsb, sign) and the addend
    sig_p = sa * sb
    lsb_p = la + lb
    neg_p = np.signbit(va) ^ np.signbit(vb)
    wp = (fa.man_bits + 1) + (fb.man_bits + 1)
    wc = fc.man_bits + 1
    sc, lc = np.broadcast_to(sc, vc.shape), np.broadcast_to(lc, vc.shape)
    low = np.iinfo(np.int64).min // 4
    top_p = np.where(sig_p != 0, lsb_p + wp, low)
    top_c = np.where(sc != 0, lc + wc, low)
    ref = np.maximum(top_p.max(-1), top_c)
    g = ref - W
    live = ref != low

    def on_grid(sig, lsb, gg):
        sh = lsb - gg                               # <= W - width: left or right shift
        left = np.clip(sh, 0, 62)
        right = np.clip(-sh, 0, 63)
        return np.where(sh >= 0, sig << left, sig >> right)
    tp = on_grid(sig_p, lsb_p, g[..., None])
    tc = on_grid(sc, lc, g)
    total = np.where(neg_p, -tp, tp).sum(-1) + np.where(np.signbit(vc), -tc, tc)
    with np.errstate(over="ignore", under="ignore"):
        x = np.ldexp(total.astype(np.float64), np.where(live, g, 0).astype(np.int32))
    overflow = "inf" if fc.policy == "ieee" else "saturate"
    out = _encode(np.atleast_1d(x), fc, rounding, subnormals, overflow).reshape(x.shape)
    # zeros: -0 only when every term is a zero of sign -
    all_neg_zero = ~live & neg_p.all(-1) & np.signbit(vc)
    sign_bit = np.int64(1) << (fc.width - 1)
    out = np.where(total == 0, np.where(all_neg_zero, sign_bit, 0), out)
    inf_code = _encode(np.array([np.inf]), fc, rounding, subnormals, overflow)[0]
    out = np.where(inf, np.where(inf_neg, inf_code | sign_bit, inf_code), out)
    nan_code = _encode(np.array([np.nan]), fc, rounding, subnormals, overflow)[0]
    return np.where(nan, nan_code, out)


class DotMac:
    """``shape`` lanes of :class:`golden.fp.fdot.DotMac` with ``terms`` products each:
    :meth:`tick` takes ``a``, ``b`` of shape ``(*shape, terms)`` (broadcast) and returns the
    new accumulators."""

    def __init__(self, shape=1, *, terms, fmt_acc, fmt_a, fmt_b=None, rounding="rne",
                 subnormals=True, guard=GUARD):
        self.shape = (shape,) if np.isscalar(shape) else tuple(shape)
        self.terms = terms
        self.options = dict(fmt_acc=fmt_acc, fmt_a=fmt_a, fmt_b=fmt_b, rounding=rounding,
                            subnormals=subnormals, guard=guard)
        self.reset()

    def reset(self):
        self.acc = np.zeros(self.shape, np.int64)

    def tick(self, a, b, clear, enable):
        clear = np.broadcast_to(np.asarray(clear, bool), self.shape)
        enable = np.broadcast_to(np.asarray(enable, bool), self.shape)
        base = np.where(clear, 0, self.acc)
        full = self.shape + (self.terms,)
        step = fdot(np.broadcast_to(a, full), np.broadcast_to(b, full), base, **self.options)
        self.acc = np.where(enable, step, base)
        return self.acc
