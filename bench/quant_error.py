#!/usr/bin/env python3
"""Group-quantized matrix-multiply error against fp32, from the golden models (issue 11).

``Y = X @ W`` with ``W`` (K x N) quantized to 4 bits in groups of G along K
(:mod:`golden.quant`: per-group absmax scale in fp16, round to nearest) and the activations
``X`` (M x K) as int8 per token (W4A8) or rounded to fp16 / bf16 (W4A16); the product in the
PE order of :func:`golden.quant.group_matmul` (exact group partial sums, fp32 scaling and
accumulation). The error is ``||Y_q - Y|| / ||Y||`` (Frobenius) against the fp32 operands'
product (computed in float64).

* weights: ``normal`` (sigma 0.02) and ``student-t`` (nu = 3, scaled to the same sigma:
  heavy tails, as LLM weights have);
* activations: standard normal with outlier channels: 1 % of the K columns times 20;
* datatypes: ``int4`` (symmetric, -7..7), ``fp4`` (e2m1), ``er`` (fp4 + extra value +-10 in
  half-e2m1 units), ``ea`` (fp4 + +-16); ``mix``: per group the best of the four (least weight
  squared error); ``bitmod``: per group the best of BitMoD's four variants (``er``/``ea``,
  either sign), its own mixture;
* group sizes 32, 64, 128.

Prints one table of the product's relative error per weight distribution, one of the
weights' own relative error, the mixtures' choices, optionally writes ``docs/quant_error.csv``
(``--csv``), and ends with ``name=value`` lines, Student-t weights unless prefixed
``normal_``; ``w4a8`` = int8 activations, ``w4a16`` = fp16, ``w4a16bf`` = bf16:

    w4a8_g<G>_<dtype>_rel_err=<x>  w4a16_g<G>_<dtype>_rel_err=<x>  w4a16bf_g128_<dtype>_rel_err=<x>
    normal_w4a8_g128_<dtype>_rel_err=<x>  normal_w4a16_g128_<dtype>_rel_err=<x>
    g128_<dtype>_vs_int4_err_ratio=<x> (W4A16)  g32_vs_g128_int4_err_ratio=<x> (W4A16)
    w4a8_vs_w4a16_g128_int4_err_ratio=<x>

Usage: ``python bench/quant_error.py [--seed N] [--k 4096 --n 512 --m 64] [--csv [PATH]]``
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.tables import text_table  # noqa: E402
from golden.quant import (ACTS, BITMOD, DTYPES, MIXTURE, gemm_error, quantize,  # noqa: E402
                          select_mixture)

DTYPE_COLS = tuple(DTYPES) + ("mix", "bitmod")
ACT_TAG = {"int8": "w4a8", "fp16": "w4a16", "bf16": "w4a16bf"}
SIGMA = 0.02


def weights(dist, k, n, nu, rng):
    if dist == "normal":
        return (rng.standard_normal((k, n)) * SIGMA).astype(np.float32)
    return (rng.standard_t(nu, (k, n)) * SIGMA * np.sqrt((nu - 2) / nu)).astype(np.float32)


def activations(m, k, frac, scale, rng):
    x = rng.standard_normal((m, k))
    cols = rng.choice(k, max(1, round(frac * k)), replace=False)
    x[:, cols] *= scale
    return x.astype(np.float32), cols


def quantized_all(W, group, scale_format):
    """``{column: (dtype argument, quantized tuple)}`` for the four datatypes and mixtures."""
    single = {name: quantize(W, dtype=name, group=group, scale_format=scale_format)
              for name in DTYPES}
    out = {name: (name, q) for name, q in single.items()}
    for col, names in (("mix", MIXTURE), ("bitmod", BITMOD)):
        cands = [(n,) + single[n] for n in names]
        out[col] = (names, select_mixture(W, cands, group=group))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--k", type=int, default=4096, help="reduction length K")
    parser.add_argument("--n", type=int, default=512, help="output channels N")
    parser.add_argument("--m", type=int, default=64, help="tokens M")
    parser.add_argument("--nu", type=float, default=3.0, help="Student-t degrees of freedom")
    parser.add_argument("--outlier-frac", type=float, default=0.01)
    parser.add_argument("--outlier-scale", type=float, default=20.0)
    parser.add_argument("--groups", default="32,64,128")
    parser.add_argument("--scale-format", default="fp16", choices=("fp16", "fp32"))
    parser.add_argument("--csv", nargs="?", const=str(REPO / "docs" / "quant_error.csv"),
                        default=None, help="write the results (default path docs/quant_error.csv)")
    args = parser.parse_args(argv)
    groups = [int(g) for g in args.groups.split(",")]
    if args.nu <= 2:
        parser.error("--nu must be above 2 (finite variance)")
    bad = [g for g in groups if g < 1 or args.k % g]
    if bad:
        parser.error(f"--groups {bad}: each must divide --k {args.k}")
    rng = np.random.default_rng(args.seed)
    start = time.monotonic()
    X, cols = activations(args.m, args.k, args.outlier_frac, args.outlier_scale, rng)
    print(f"seed {args.seed}; X {args.m}x{args.k} (normal, {len(cols)} outlier channels x"
          f"{args.outlier_scale:g}), W {args.k}x{args.n}; scales {args.scale_format}; "
          f"Student-t nu={args.nu:g}")
    dists = {"normal": weights("normal", args.k, args.n, args.nu, rng),
             "student-t": weights("t", args.k, args.n, args.nu, rng)}
    res, w_err, shares = {}, {}, {}
    for dist, W in dists.items():
        for g in groups:
            q = quantized_all(W, g, args.scale_format)
            for col in ("mix", "bitmod"):
                sel = q[col][1][2]
                shares[dist, g, col] = np.bincount(sel.ravel(), minlength=len(q[col][0])) \
                    / sel.size
            for act in ACTS:
                for col, (dtype, qz) in q.items():
                    e = gemm_error(W, X, dtype=dtype, group=g, act=act,
                                   scale_format=args.scale_format, quantized=qz)
                    res[dist, act, g, col] = e
                    w_err[dist, g, col] = e["w_rel_err"]

    for dist in dists:
        print(f"\n{dist} weights: relative error ||Y_q - Y|| / ||Y|| of the product")
        rows = [[f"{ACT_TAG[a]} ({a}) g{g}"] + [res[dist, a, g, c]["rel_err"] for c in DTYPE_COLS]
                for a in ACTS for g in groups]
        print(text_table(["activations, group"] + list(DTYPE_COLS), rows, float_format='.4f'))
    print("\nweights alone: ||W_q - W|| / ||W||")
    rows = [[f"{dist} g{g}"] + [w_err[dist, g, c] for c in DTYPE_COLS]
            for dist in dists for g in groups]
    print(text_table(["weights, group"] + list(DTYPE_COLS), rows, float_format='.4f'))
    print("\nmixtures: share of groups per datatype (mix: int4/fp4/er/ea; bitmod: er/ea, "
          "either sign)")
    rows = [[f"{dist} g{g}"] + [" / ".join(f"{100 * s:.0f}%" for s in shares[dist, g, c])
                                for c in ("mix", "bitmod")] for dist in dists for g in groups]
    print(text_table(["weights, group", "mix", "bitmod"], rows, float_format='.4f'))

    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["weights", "act", "group", "dtype", "rel_err", "max_abs_err",
                          "max_abs_ref", "w_rel_err"])
            for (dist, act, g, col), e in res.items():
                out.writerow([dist, act, g, col, f"{e['rel_err']:.6g}",
                              f"{e['max_abs_err']:.6g}", f"{e['max_abs_ref']:.6g}",
                              f"{e['w_rel_err']:.6g}"])
        print(f"\nwrote {path}")
    print(f"\n({time.monotonic() - start:.1f} s)\n")

    t = "student-t"
    for act in ("int8", "fp16"):
        for g in groups:
            for c in DTYPE_COLS:
                print(f"{ACT_TAG[act]}_g{g}_{c}_rel_err={res[t, act, g, c]['rel_err']:.4f}")
    gh = 128 if 128 in groups else groups[-1]
    gl = 32 if 32 in groups else groups[0]
    for c in DTYPE_COLS:
        print(f"w4a16bf_g{gh}_{c}_rel_err={res[t, 'bf16', gh, c]['rel_err']:.4f}")
    for act in ("int8", "fp16"):
        for c in DTYPE_COLS:
            print(f"normal_{ACT_TAG[act]}_g{gh}_{c}_rel_err="
                  f"{res['normal', act, gh, c]['rel_err']:.4f}")
    base = res[t, "fp16", gh, "int4"]["rel_err"]
    for c in DTYPE_COLS[1:]:
        print(f"g{gh}_{c}_vs_int4_err_ratio={res[t, 'fp16', gh, c]['rel_err'] / base:.3f}")
    print(f"g{gl}_vs_g{gh}_int4_err_ratio={res[t, 'fp16', gl, 'int4']['rel_err'] / base:.3f}")
    print(f"w4a8_vs_w4a16_g{gh}_int4_err_ratio="
          f"{res[t, 'int8', gh, 'int4']['rel_err'] / base:.3f}")


if __name__ == "__main__":
    main()
