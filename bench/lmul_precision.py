#!/usr/bin/env python3
"""L-Mul precision against fp8 multiplication, from the golden models (issue 4).

Claim checked (Luo & Sun, arXiv 2410.00907): L-Mul with a 4-bit mantissa is about as precise
as an e4m3 multiplication, and with a 3-bit mantissa more precise than an e5m2 one.

For each operand distribution, x and y are drawn in float64 and:

* ``e4m3fn mult`` / ``e5m2 mult``: x and y rounded (RNE) to the fp8 format, multiplied
  exactly, the product rounded once to the same format (what an fp8 multiplier returns);
* ``L-Mul m=4`` / ``m=3``: x and y rounded to a format with that many mantissa bits and an
  8-bit exponent (so that range does not interfere), then ``golden.fp.lmul.lmul`` (the
  integer-adder semantics, result in the same format);
* ``L-Mul ... formula``: the paper's formula ``(1 + xm + ym + 2**-l) 2**(xe+ye)`` on the same
  inputs, unrounded (it differs from the adder when the mantissa sum carries);
* ``exact e8m4`` / ``e8m3``: the same inputs multiplied exactly and rounded once, for scale.

The error of each is ``|result - x*y| / |x*y|`` against the exact product of the *original*
operands; the table gives its mean, median and 99th percentile. Pairs where either operand
rounds to zero in any method are left out (the same pairs for every method).

Last lines: ``lmul4_vs_e4m3_mean_rel_err_ratio=<x>`` and ``lmul3_vs_e5m2_mean_rel_err_ratio=<x>``
(under 1: L-Mul is more precise), for normal operands.
"""

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from golden.fp.codec import decode, encode  # noqa: E402
from golden.fp.lmul import lmul, lmul_formula  # noqa: E402
from tpegen.formats import FloatFormat, parse_format  # noqa: E402


def fp_mult(x, y, fmt):
    a, b = encode(Fraction(x), fmt), encode(Fraction(y), fmt)
    va, vb = decode(a, fmt), decode(b, fmt)
    if va.kind != "finite" or vb.kind != "finite":
        return None
    return decode(encode(va.exact * vb.exact, fmt, overflow="saturate"), fmt).exact


def lmul_formula_value(x, y, fmt):
    a, b = encode(Fraction(x), fmt), encode(Fraction(y), fmt)
    return lmul_formula(a, b, fmt)


def lmul_value(x, y, fmt):
    a, b = encode(Fraction(x), fmt), encode(Fraction(y), fmt)
    if decode(a, fmt, subnormals=False).kind != "finite" or \
            decode(b, fmt, subnormals=False).kind != "finite":
        return None
    return decode(lmul(a, b, fmt), fmt).exact


METHODS = {
    "e4m3fn mult": lambda x, y: fp_mult(x, y, parse_format("e4m3fn")),
    "L-Mul m=4 (e8m4)": lambda x, y: lmul_value(x, y, FloatFormat(8, 4)),
    "L-Mul m=4 formula": lambda x, y: lmul_formula_value(x, y, FloatFormat(8, 4)),
    "exact e8m4": lambda x, y: fp_mult(x, y, FloatFormat(8, 4)),
    "e5m2 mult": lambda x, y: fp_mult(x, y, parse_format("e5m2")),
    "L-Mul m=3 (e8m3)": lambda x, y: lmul_value(x, y, FloatFormat(8, 3)),
    "L-Mul m=3 formula": lambda x, y: lmul_formula_value(x, y, FloatFormat(8, 3)),
    "exact e8m3": lambda x, y: fp_mult(x, y, FloatFormat(8, 3)),
}


def operands(kind, n, rng):
    if kind == "normal":
        return rng.standard_normal((n, 2))
    if kind == "uniform":
        return rng.uniform(-4, 4, (n, 2))
    return rng.standard_t(3, (n, 2))  # heavy-tailed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="operand pairs per distribution")
    parser.add_argument("--seed", type=int, default=2410)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"seed {args.seed}, {args.n} pairs per distribution")
    means = {}
    for kind in ("normal", "uniform", "student-t3"):
        xy = operands(kind, args.n, rng)
        errors = {name: [] for name in METHODS}
        for x, y in xy.tolist():
            exact = Fraction(x) * Fraction(y)
            results = {name: f(x, y) for name, f in METHODS.items()}
            if exact == 0 or any(r is None or r == 0 for r in results.values()):
                continue
            for name, r in results.items():
                errors[name].append(float(abs(r - exact) / abs(exact)))
        print(f"\n{kind} operands ({len(errors['e4m3fn mult'])} pairs): relative error of x*y")
        print(f"{'method':18s} {'mean':>9s} {'median':>9s} {'p99':>9s}")
        for name, errs in errors.items():
            e = np.array(errs)
            print(f"{name:18s} {e.mean():9.4f} {np.median(e):9.4f} {np.percentile(e, 99):9.4f}")
            means[(kind, name)] = e.mean()
    r4 = means[("normal", "L-Mul m=4 (e8m4)")] / means[("normal", "e4m3fn mult")]
    r3 = means[("normal", "L-Mul m=3 (e8m3)")] / means[("normal", "e5m2 mult")]
    print(f"\nlmul4_vs_e4m3_mean_rel_err_ratio={r4:.3f}")
    print(f"lmul3_vs_e5m2_mean_rel_err_ratio={r3:.3f}")


if __name__ == "__main__":
    main()
