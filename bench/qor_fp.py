#!/usr/bin/env python3
"""Floating-point units: area, timing, Fmax, power and dot-product error (issue 4).

Designs (bf16 x bf16 + fp32 -> fp32 and e4m3fn x e4m3fn + fp16 -> fp16):

* the exact FMA (``fma``, one pipeline register) and the exact FP MAC (``fmac``: the FMA
  datapath with the accumulator in the loop, what a PE holds);
* FP MACs with approximate normalization (``--normalize approx``) at several settings
  ``w<window>g<granularity>k<guard>[e<extension>]`` (docs/fp.md), with the accumulator
  rounded into ``fmt_acc`` every step (``fmac approx``) or kept unnormalized and rounded only
  at the output (``fmac unnorm``, ``--accumulator unnormalized``);
* the L-Mul MAC (``lmac``: L-Mul product, then one exact addition into the accumulator);
* the exact FP multiplier (``fpmul``) and the L-Mul multiplier (``lmul``).

Each goes through the same flow as every tpegen design (``tpegen synth --flows
asic,ecp5,power``): yosys onto the OSU 0.18 um liberty, OpenSTA critical path, yosys +
nextpnr ECP5 LUTs/DSPs/Fmax, and power from a gate-level simulation of the mapped netlist on
N(0, 1) operands (checked against the golden model on every cycle) at 100 MHz.

Error: dot products ``sum a_i b_i`` of length 16, 256 and 4096 computed by the vectorized
golden MAC models (``golden.fp.vfma.Mac``/``UnnormalizedMac``, ``golden.fp.vlmul.LMac``,
bit-exact to the scalar ``golden.fp.fma``/``golden.fp.lmul`` ones), one MAC step per
element: 1,000 dot products per distribution (``--trials-scale`` multiplies that) run as
1,000 lanes of one batched model, 4096 steps, read after 16, 256 and 4096 steps (the shorter
dot products are prefixes of the longer ones). Inputs are drawn from N(0, 1), U(-1, 1) and
Student-t (3 degrees of freedom, heavy-tailed) and rounded to the input format. The error of
each approximate MAC is taken against the exact FP MAC on the same inputs, relative
(``|approx - exact| / |exact|``, which a near-cancelling dot product can make large) and
normalized by ``sum |a_i b_i|`` (which it cannot); mean, p99 and worst case. The exact MAC's
own error against the real dot product (``math.fsum`` of the exact products) is given for
scale.

Last lines:

* ``approx_bf16_area_reduction``: ``1 - area / area(exact)`` of the smallest approximate bf16
  MAC whose mean relative dot-product error is at most 1 % for every distribution and every
  length (16, 256 and 4096), against the smaller of the exact MACs (with and without
  subnormals);
* ``approx_bf16_dot256_rel_err``: that setting's worst (over the distributions) mean
  relative dot-256 error;
* ``lmul_bf16_area_ratio_vs_mult``: L-Mul bf16 area over the exact bf16 multiplier's;
* ``lmul_bf16_energy_ratio_vs_mult``: the same for energy per operation.

Usage: ``python bench/qor_fp.py [--jobs 2] [--reuse] [--trials-scale 1.0] [--errors-only]``
"""

import argparse
import csv
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.tables import text_table  # noqa: E402
from golden.fp import vfma  # noqa: E402
from tpegen import api, registry  # noqa: E402
from tpegen.config import (FMacConfig, FmaConfig, FpMulConfig, LMacConfig,  # noqa: E402
                           LMulConfig)
from tpegen.formats import parse_format  # noqa: E402

OUT = REPO / "build" / "bench" / "qor_fp"
LENGTHS = (16, 256, 4096)
DOTS = 1000            # dot products per length and distribution (x --trials-scale)
LANES = 3000           # lanes of one batched model run (~5 bytes per lane and step)
DISTRIBUTIONS = ("normal", "uniform", "student_t")

UN = {"accumulator": "unnormalized"}
FTZ = {"subnormals": False}

#: approximate settings per family: (window, granularity, guard, extension[, options]);
#: window None is the whole alignment window, extension None the exact pc + 2 addend bits
#: below the product; options: the unnormalized accumulator (UN), flushing subnormals (FTZ)
APPROX = {
    "bf16": [(28, 1, 0, None), (28, 4, 0, None), (20, 4, 0, None), (16, 8, 0, None),
             (12, 4, 0, None), (8, 8, 0, None), (None, 1, 0, 4), (None, 1, 0, 0),
             (28, 1, 0, 0), (16, 8, 0, 0), (12, 4, 0, 0),
             (None, 1, 0, 0, UN), (28, 8, 0, 0, UN), (20, 8, 0, 0, UN),
             (16, 16, 0, 0, UN), (12, 4, 0, 0, UN),
             (28, 8, 0, 0, UN | FTZ), (20, 8, 0, 0, UN | FTZ), (16, 16, 0, 0, UN | FTZ),
             (12, 4, 0, 0, UN | FTZ)],
    "fp8": [(15, 1, 0, None), (12, 4, 0, None), (8, 4, 0, None), (6, 8, 0, None),
            (None, 1, 0, 0), (12, 4, 0, 0), (None, 1, 0, 0, UN), (None, 8, 0, 0, UN)],
}


def _approx(fin, facc, w, g, k, e, options=None):
    cfg = FMacConfig(fmt_in=fin, fmt_acc=facc, normalize="approx", window=w, granularity=g,
                     guard=k, extension=e, **(options or {}))
    kind = "unnorm" if cfg.unnormalized else "approx"
    label = (f"fmac {kind} w{cfg.window_bits}g{g}k{k}" + ("" if e is None else f"e{e}")
             + ("" if cfg.subnormals else " ftz"))
    return label, cfg


def _base_label(label, subnormals):
    """The design a row is compared with: the exact multiplier for multipliers, else the
    exact FP MAC with the same subnormal policy."""
    if label in ("fpmul exact", "lmul"):
        return "fpmul exact"
    return "fmac exact" if subnormals else "fmac exact ftz"
FAMILIES = {"bf16": ("bf16", "fp32"), "fp8": ("e4m3fn", "fp16")}


def designs():
    """``[(family, label, config)]``."""
    out = []
    for family, (fin, facc) in FAMILIES.items():
        out.append((family, "fma exact", FmaConfig(fmt_in=fin, fmt_acc=facc, depth=1)))
        out.append((family, "fmac exact", FMacConfig(fmt_in=fin, fmt_acc=facc)))
        if any(len(s) > 4 and s[4].get("subnormals") is False for s in APPROX[family]):
            out.append((family, "fmac exact ftz", FMacConfig(fmt_in=fin, fmt_acc=facc,
                                                             subnormals=False)))
        for setting in APPROX[family]:
            out.append((family, *_approx(fin, facc, *setting)))
        out.append((family, "lmac", LMacConfig(fmt_in=fin, fmt_acc=facc)))
        out.append((family, "fpmul exact", FpMulConfig(format=fin)))
        out.append((family, "lmul", LMulConfig(format=fin)))
    return out


def synth_one(family, label, config, reuse):
    outdir = OUT / config.name
    flows = ("asic", "ecp5", "power")
    old = outdir / f"{config.name}.report.json"
    vfile = outdir / f"{config.name}.v"
    old_verilog = vfile.read_text() if vfile.exists() else None
    design = api.generate(config, outdir)
    if reuse and old.exists():
        report = json.loads(old.read_text())
        # parameters added since the report was written take their defaults; the report is
        # kept only when the generator still writes the Verilog it was made from
        same = ({**config.to_dict(), **report["parameters"]} == config.to_dict()
                and old_verilog == vfile.read_text())
        if same and all(f in report for f in flows):
            report.update(family=family, label=label, seconds=0.0)
            return report
    start = time.monotonic()
    report = api.synth(design, flows=flows)
    report.update(family=family, label=label, seconds=round(time.monotonic() - start, 1))
    return report


# --- dot-product error ----------------------------------------------------------------------

def draw(dist, n, rng):
    if dist == "normal":
        return rng.normal(0, 1, n)
    if dist == "uniform":
        return rng.uniform(-1, 1, n)
    return rng.standard_t(3, n)


def _run(cfg, a, b):
    """The results (exact float64 values; inf/NaN as such) of a MAC configuration after
    accumulating ``a[t] * b[t]`` from +0, one step per row of the ``(steps, lanes)`` bit
    pattern arrays, read after each of ``LENGTHS`` steps: ``{length: values}``."""
    model = registry.vector_model(cfg, a.shape[1])
    out = {}
    for t in range(a.shape[0]):
        acc = model.tick(a[t], b[t], 0, 1)
        if t + 1 in LENGTHS:
            out[t + 1] = vfma.decode(acc, cfg.facc)
    return out


def _errors(got, ref, scale):
    """``(relative, normalized)`` errors of ``got`` against ``ref`` (inf where ``got`` is not
    finite)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(np.isfinite(got), np.abs(got - ref), np.inf)
        return diff / np.abs(ref), diff / scale


def _operands(fmt, dists, steps, rng):
    """Bit patterns (``steps`` x lanes, uint) of values drawn from each lane's distribution and
    rounded to ``fmt`` (saturating), drawn and rounded in blocks of rows to bound memory."""
    fmt = parse_format(fmt)
    out = np.empty((steps, len(dists)), np.uint8 if fmt.width <= 8 else np.uint16)
    groups = [(d, np.flatnonzero(dists == d)) for d in DISTRIBUTIONS]
    for row in range(0, steps, 256):
        rows = slice(row, min(row + 256, steps))
        for dist, lanes in groups:
            values = draw(dist, (rows.stop - rows.start, lanes.size), rng)
            out[rows, lanes] = vfma.encode(values, fmt, overflow="saturate")
    return out


def error_table(family, rng, scale, labels=None):
    """``{(model label, dist, length): {"rel": errors, "norm": errors}}`` and the exact MAC's
    own errors ``{(dist, length): {...}}``; ``labels`` restricts the models (default: every
    approximate setting of the family and the L-Mul MAC). Dot products whose exact-MAC
    result or real value is zero or not finite are left out (as the relative error needs)."""
    fin, facc = FAMILIES[family]
    exact_cfg = FMacConfig(fmt_in=fin, fmt_acc=facc)
    models = dict(_approx(fin, facc, *setting) for setting in APPROX[family])
    models["lmac"] = LMacConfig(fmt_in=fin, fmt_acc=facc)
    if labels is not None:
        models = {label: models[label] for label in labels}
    dots, steps = max(2, int(DOTS * scale)), max(LENGTHS)
    # the distributions' dot products side by side, as the lanes of one batched run
    every = np.repeat(np.array(DISTRIBUTIONS), dots)
    errors, own = {}, {}

    def add(table, key, n, keep, dists, rel, norm):
        for dist in DISTRIBUTIONS:
            pick = (dists == dist) & keep
            entry = table.setdefault(key(dist), {"rel": [], "norm": []})
            entry["rel"].append(rel[pick])
            entry["norm"].append(norm[pick])

    for start in range(0, every.size, LANES):
        dists = every[start:start + LANES]
        a = _operands(fin, dists, steps, rng)
        b = _operands(fin, dists, steps, rng)
        true = {n: np.empty(dists.size) for n in LENGTHS}
        size = {n: np.empty(dists.size) for n in LENGTHS}
        for lo in range(0, dists.size, 1000):       # the real dot products, 1000 at a time
            cols = slice(lo, lo + 1000)
            products = vfma.decode(a[:, cols], fin) * vfma.decode(b[:, cols], fin)  # exact
            for n in LENGTHS:
                true[n][cols] = [math.fsum(col) for col in products[:n].T.tolist()]
                size[n][cols] = np.abs(products[:n]).sum(axis=0)
        ref = _run(exact_cfg, a, b)
        keep = {n: np.isfinite(ref[n]) & (ref[n] != 0) & (true[n] != 0) for n in LENGTHS}
        for n in LENGTHS:
            add(own, lambda d: (d, n), n, keep[n], dists, *_errors(ref[n], true[n], size[n]))
        for label, cfg in models.items():
            got = _run(cfg, a, b)
            for n in LENGTHS:
                add(errors, lambda d: (label, d, n), n, keep[n], dists,
                    *_errors(got[n], ref[n], size[n]))
    for table in (errors, own):
        for entry in table.values():
            for kind in ("rel", "norm"):
                entry[kind] = np.concatenate(entry[kind])
    return errors, own


def summarize(values):
    v = np.array(values, dtype=float)
    return {"mean": float(v.mean()), "p99": float(np.percentile(v, 99)), "max": float(v.max()),
            "n": int(v.size)}


# --- report ---------------------------------------------------------------------------------

def error_fields(errors, label):
    """The error columns of a design: ``<dist>_<n>_{mean,p99,max}`` of the relative error and
    ``<dist>_<n>_norm_{mean,max}`` of the error normalized by ``sum |a b|``."""
    row = {}
    for dist in DISTRIBUTIONS:
        for length in LENGTHS:
            key = (label, dist, length)
            if key in errors:
                s = summarize(errors[key]["rel"])
                row[f"{dist}_{length}_mean"] = s["mean"]
                row[f"{dist}_{length}_p99"] = s["p99"]
                row[f"{dist}_{length}_max"] = s["max"]
                row[f"{dist}_{length}_n"] = s["n"]
                s = summarize(errors[key]["norm"])
                row[f"{dist}_{length}_norm_mean"] = s["mean"]
                row[f"{dist}_{length}_norm_max"] = s["max"]
    return row


def print_errors(rows, own):
    """The error tables of the rows that have error columns, and the exact MAC's own."""
    err_head = ["family", "design", "dist"] + [f"n={n}" for n in LENGTHS]
    tables = {"rel": [], "norm": []}
    for row in rows:
        for dist in DISTRIBUTIONS:
            if f"{dist}_16_mean" not in row:
                continue
            cells = {"family": row["family"], "design": row["design"], "dist": dist}
            rel, norm = dict(cells), dict(cells)
            for n in LENGTHS:
                rel[f"n={n}"] = (f"{row[f'{dist}_{n}_mean']:.2e} / {row[f'{dist}_{n}_p99']:.2e}"
                                 f" / {row[f'{dist}_{n}_max']:.2e}")
                norm[f"n={n}"] = (f"{row[f'{dist}_{n}_norm_mean']:.2e} / "
                                  f"{row[f'{dist}_{n}_norm_max']:.2e}")
            tables["rel"].append(rel)
            tables["norm"].append(norm)
    counts = sorted({row[k] for row in rows for k in row if k.endswith("_n")})
    print(f"\nRelative error of dot products against the exact FP MAC: mean / p99 / max "
          f"({counts[0] if counts else 0}..{counts[-1] if counts else 0} dot products per "
          "cell)")
    print(text_table(err_head, tables["rel"], left=3))
    print("\nError normalized by sum |a_i b_i| (near-cancellation does not inflate it), "
          "against the exact FP MAC: mean / max")
    print(text_table(err_head, tables["norm"], left=3))
    print("\nThe exact FP MAC's own error against the real dot product, relative (mean / max) "
          "and normalized (mean / max):")
    for family in own:
        for (dist, n), v in sorted(own[family].items()):
            s, t = summarize(v["rel"]), summarize(v["norm"])
            print(f"  {family} {dist:9s} n={n:<5d} {s['mean']:.2e} / {s['max']:.2e}   "
                  f"{t['mean']:.2e} / {t['max']:.2e}   ({s['n']} dot products)")



def _worst_error(errors, label):
    """The worst mean relative error of ``label`` over every length and distribution (0 for
    the exact MACs, which have no entry)."""
    means = [summarize(v["rel"])["mean"] for (lab, _, _), v in errors.items() if lab == label]
    return max(means) if means else 0.0


def plot(reports, errors, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot (pip install matplotlib)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    floor = 1e-8
    for ax, family in zip(axes, FAMILIES):
        rows = [r for r in reports if r["family"] == family and r["label"].startswith(
            ("fmac", "lmac"))]
        exact_area = next(r for r in rows if r["label"] == "fmac exact")["asic"]["area_um2"]
        points = []
        for r in rows:
            err = max(_worst_error(errors[family], r["label"]), floor)
            points.append((r["asic"]["area_um2"] / exact_area, err, r))
        for area, err, r in points:
            label = r["label"]
            color = ("C3" if label == "lmac" else "C0" if "approx" in label else
                     "C2" if "unnorm" in label else "k")
            flush = not r["parameters"].get("subnormals", True)
            ax.scatter(area, err, s=42, color=color, marker="v" if flush else "o")
            pareto = not any(a <= area and e <= err and (a, e) != (area, err)
                             for a, e, _ in points)
            if pareto or label in ("lmac", "fmac exact"):
                ax.annotate(label.replace("fmac ", ""), (area, err), fontsize=7,
                            xytext=(4, 3), textcoords="offset points")
        ax.set_yscale("log")
        ax.axhline(0.01, color="grey", lw=0.8, ls="--")
        ax.axvline(0.8, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("area relative to the exact FP MAC (OSU 0.18 um)")
        ax.set_ylabel("worst mean relative error vs the exact MAC\n"
                      f"(n = 16, 256, 4096; 3 distributions; exact at {floor:g})")
        fin, facc = FAMILIES[family]
        ax.set_title(f"{fin} x {fin} + {facc} MACs")
    handles = [plt.Line2D([], [], ls="", marker=m, color=c, label=t) for m, c, t in (
        ("o", "k", "exact"), ("o", "C0", "approximate, rounded accumulator"),
        ("o", "C2", "approximate, unnormalized accumulator"), ("o", "C3", "L-Mul MAC"),
        ("v", "grey", "subnormals flushed"))]
    axes[0].legend(handles=handles, fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def run_errors(seed, scale, labels=None):
    """The error study of every family (``labels``: ``{family: [model labels]}`` to restrict
    it), timed: ``errors, own``."""
    errors, own = {}, {}
    for family in FAMILIES:
        t0 = time.monotonic()
        rng = np.random.default_rng(seed)
        errors[family], own[family] = error_table(
            family, rng, scale, None if labels is None else labels.get(family, []))
        models = len({label for label, _, _ in errors[family]}) + 1
        print(f"{family} dot-product errors: {models} MAC models x "
              f"{max(2, int(DOTS * scale))} dot products x {len(DISTRIBUTIONS)} "
              f"distributions, {time.monotonic() - t0:.1f} s", flush=True)
    return errors, own


def errors_only(seed, scale, labels=None):
    errors, own = run_errors(seed, scale, labels)
    rows = [{"family": family, "design": label, **error_fields(errors[family], label)}
            for family in errors for label in dict.fromkeys(k[0] for k in errors[family])]
    print_errors(rows, own)
    ok = [r["design"] for r in rows if r["family"] == "bf16" and r["design"] != "lmac"
          and max(r[f"{d}_{n}_mean"] for d in DISTRIBUTIONS for n in LENGTHS) <= 0.01]
    print(f"\nbf16 settings within 1 % (mean relative error, every length and distribution): "
          f"{', '.join(ok) or 'none'}")
    return errors, own


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse reports of an earlier run (build/bench/qor_fp) whose "
                             "parameters and Verilog are unchanged")
    parser.add_argument("--trials-scale", type=float, default=1.0,
                        help="multiply the number of dot products per cell (default 1)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--errors-only", action="store_true",
                        help="run only the dot-product error study and print its tables "
                             "(no synthesis, no files written)")
    args = parser.parse_args()
    if not 0.05 <= args.trials_scale <= 100:
        parser.error("trials-scale: allowed 0.05..100")
    if args.errors_only:
        errors_only(args.seed, args.trials_scale)
        return
    jobs = designs()
    print(f"{len(jobs)} designs, synthesized on {args.jobs} processes; seed {args.seed}",
          flush=True)
    start = time.monotonic()
    reports = []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(synth_one, f, label, c, args.reuse): (f, label)
                   for f, label, c in jobs}
        # the error study runs here meanwhile
        errors, own = run_errors(args.seed, args.trials_scale)
        print(f"[{time.monotonic() - start:5.0f} s] dot-product errors done", flush=True)
        for n, future in enumerate(as_completed(futures), 1):
            r = future.result()
            reports.append(r)
            a, p = r["asic"], r["power"]
            print(f"[{n}/{len(jobs)} {time.monotonic() - start:5.0f} s] {r['family']} "
                  f"{r['label']}: {a['area_um2']:.0f} um^2, {a['critical_path_ns']:.3f} ns, "
                  f"{p['energy_pj_per_op']:.1f} pJ/op", flush=True)
    order = {(f, label): i for i, (f, label, _) in enumerate(jobs)}
    reports.sort(key=lambda r: order[(r["family"], r["label"])])

    rows = []
    for r in reports:
        family, label = r["family"], r["label"]
        base_label = _base_label(label, r["parameters"].get("subnormals", True))
        base = next(x for x in reports if x["family"] == family and x["label"] == base_label)
        row = {"family": family, "design": label, "module": r["design"],
               "area_um2": r["asic"]["area_um2"], "cells": r["asic"]["cells"],
               "area_vs_base": round(r["asic"]["area_um2"] / base["asic"]["area_um2"], 3),
               "critical_path_ns": r["asic"]["critical_path_ns"],
               "ecp5_luts": r["ecp5"]["luts"], "ecp5_dsps": r["ecp5"]["dsps"],
               "ecp5_fmax_mhz": r["ecp5"]["fmax_mhz"], "power_mw": r["power"]["power_mw"],
               "energy_pj_per_op": r["power"]["energy_pj_per_op"],
               "energy_vs_base": round(r["power"]["energy_pj_per_op"]
                                       / base["power"]["energy_pj_per_op"], 3)}
        row.update(error_fields(errors[family], label))
        rows.append(row)

    print("\nArea, timing, FPGA and power (100 MHz, N(0,1) operands); base = exact FP MAC "
          "for MACs, exact multiplier for multipliers")
    head = ["family", "design", "area_um2", "area_vs_base", "critical_path_ns", "ecp5_luts",
            "ecp5_dsps", "ecp5_fmax_mhz", "power_mw", "energy_pj_per_op", "energy_vs_base"]
    print(text_table(head, rows, left=3))
    print_errors(rows, own)

    docs = REPO / "docs"
    with open(docs / "qor_fp.csv", "w", newline="") as f:
        keys = sorted({k for row in rows for k in row}, key=lambda k: (k not in head, k))
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    plot(reports, errors, docs / "qor_fp.png")

    bf16 = [r for r in rows if r["family"] == "bf16"]
    # conservative: the smaller of the exact MACs (with and without subnormals) is the base
    exact_area = min(r["area_um2"] for r in bf16 if r["design"].startswith("fmac exact"))
    ok = [r for r in bf16 if r["design"].startswith(("fmac approx", "fmac unnorm"))
          and max(r[f"{d}_{n}_mean"] for d in DISTRIBUTIONS for n in LENGTHS) <= 0.01]
    best = min(ok, key=lambda r: r["area_um2"]) if ok else None
    kept = [r for r in ok if " ftz" not in r["design"]]
    mult = next(r for r in bf16 if r["design"] == "fpmul exact")
    lm = next(r for r in bf16 if r["design"] == "lmul")
    if best:
        print(f"\nbest approximate bf16 MAC within 1 % (mean, every length and distribution): "
              f"{best['design']} "
              f"({best['module']}): {best['area_um2']:.0f} um^2, "
              f"{1 - best['area_vs_base']:.3f} below the exact MAC with the same subnormal "
              f"policy, {1 - best['area_um2'] / exact_area:.3f} below the smaller exact MAC "
              f"({exact_area:.0f} um^2)")
    if kept:
        k = min(kept, key=lambda r: r["area_um2"])
        print(f"best one that keeps subnormals: {k['design']}: {k['area_um2']:.0f} um^2, "
              f"{1 - k['area_vs_base']:.3f} below the exact MAC")
    print(f"total {time.monotonic() - start:.0f} s")
    if best:
        print(f"approx_bf16_area_reduction={1 - best['area_um2'] / exact_area:.3f}")
        print(f"approx_bf16_dot256_rel_err="
              f"{max(best[f'{d}_256_mean'] for d in DISTRIBUTIONS):.2e}")
    else:
        print("approx_bf16_area_reduction=none_within_1pct")
    print(f"lmul_bf16_area_ratio_vs_mult={lm['area_um2'] / mult['area_um2']:.3f}")
    print(f"lmul_bf16_energy_ratio_vs_mult="
          f"{lm['energy_pj_per_op'] / mult['energy_pj_per_op']:.3f}")


if __name__ == "__main__":
    main()
