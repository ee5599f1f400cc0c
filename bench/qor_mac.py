#!/usr/bin/env python3
"""Quality of results of the integer MAC: tpegen architectures against what a user gets
without tpegen, in one run.

For int8 x int8 -> 32 and int16 x int16 -> 40, the behavioural MAC (``acc + a*b``) goes through
yosys ``synth`` and through ``synth -booth``; every tpegen architecture (multiplier x tree x
accumulation x final adder) goes through the same flow. All use one script: OSU 0.18 um
liberty, ABC with buffering and sizing, OpenSTA critical path (inputs and outputs constrained
at 0 ns against the clock), ECP5 LUTs/Fmax from nextpnr.

Prints a table per width, writes ``docs/qor_mac.csv`` and ``docs/qor_mac.png`` (area vs
critical path), and ends with ``name=value`` lines:

    int8_best_adp_ratio_vs_booth=<area*delay of the best tpegen MAC / behavioural + synth -booth>
    int16_best_adp_ratio_vs_booth=<...>

Usage: ``python bench/qor_mac.py [--jobs 2] [--widths 8,16] [--no-fpga] [--reuse]``
"""

import argparse
import csv
import itertools
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tpegen import api  # noqa: E402
from tpegen.config import MacConfig  # noqa: E402

ACC = {8: 32, 16: 40}
TREES = [("wallace", "3:2"), ("dadda", "3:2"), ("wallace", "4:2")]


def candidates(width):
    """``(label, config, booth)`` for the two baselines and every tpegen architecture."""
    base = MacConfig(a_width=width, b_width=width, acc_width=ACC[width], mult="behavioural",
                     accumulate="cpa")
    yield "behavioural, yosys synth", base, False
    yield "behavioural, yosys synth -booth", base, True
    for mult, (tree, comp), acc, fa in itertools.product(
            ("array", "booth4"), TREES, ("cpa", "carry_save"), ("behavioural", "kogge_stone")):
        config = base.replace(mult=mult, tree=tree, compressor=comp, accumulate=acc,
                              final_adder=fa)
        yield config.name, config, False


#: ECP5 part of the FPGA figures (``synthesize(ecp5_part=...)``); reports written before the
#: part was an option were all made on it.
ECP5_PART = "25k"
ECP5_PART_NAME = "LFE5U-25F"


def run_one(label, config, booth, fpga, reuse=False):
    outdir = REPO / "build" / "bench" / "qor_mac" / (config.name + ("_booth" if booth else ""))
    flows = ("asic", "ecp5") if fpga else ("asic",)
    old = outdir / f"{config.name}{'_booth' if booth else ''}.report.json"
    vfile = outdir / f"{config.name}.v"
    old_verilog = vfile.read_text() if vfile.exists() else None
    design = api.generate(config, outdir)
    if reuse and old.exists():
        report = json.loads(old.read_text())
        # parameters added since the report was written take their defaults; the report is
        # kept only when the generator still writes the Verilog it was made from
        same = ({**config.to_dict(), **report["parameters"]} == config.to_dict()
                and old_verilog == vfile.read_text()
                and report.get("variant") == ("booth" if booth else "plain")
                and (not fpga or report.get("ecp5", {}).get("part", ECP5_PART_NAME)
                     == ECP5_PART_NAME))
        if same and all(f in report for f in flows):
            report.update(label=label, seconds=0.0)
            return report
    start = time.monotonic()
    report = api.synth(design, flows=flows, booth=booth, ecp5_part=ECP5_PART)
    report["label"] = label
    report["seconds"] = round(time.monotonic() - start, 1)
    return report


def table(rows, booth_adp):
    head = ["design", "area_um2", "crit_ns", "adp", "adp_vs_booth", "ecp5_luts", "ecp5_dsp",
            "ecp5_fmax"]
    lines = [head]
    for r in rows:
        a, e = r["asic"], r.get("ecp5", {})
        lines.append([r["label"], f"{a['area_um2']:.0f}", f"{a['critical_path_ns']:.3f}",
                      f"{a['area_delay_um2_ns']:.0f}",
                      f"{a['area_delay_um2_ns'] / booth_adp:.3f}",
                      str(e.get("luts", "-")), str(e.get("dsps", "-")),
                      str(e.get("fmax_mhz", "-"))])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; pip install matplotlib)")
        return
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 5), squeeze=False)
    for ax, (width, rows) in zip(axes[0], results.items()):
        for r in rows:
            a = r["asic"]
            base = r["parameters"]["mult"] == "behavioural" and \
                r["parameters"]["accumulate"] == "cpa"
            style = dict(marker="s", color="red", s=60) if base else \
                dict(marker="o", color="tab:blue" if r["parameters"]["accumulate"] ==
                     "carry_save" else "tab:green", s=25)
            ax.scatter(a["critical_path_ns"], a["area_um2"], **style)
            if base:
                ax.annotate(r["label"].replace("behavioural, ", ""),
                            (a["critical_path_ns"], a["area_um2"]), fontsize=7,
                            xytext=(4, 4), textcoords="offset points")
        booth = next(r for r in rows if r["label"].endswith("-booth"))["asic"]
        xmax = max(r["asic"]["critical_path_ns"] for r in rows) * 1.15
        ymax = max(r["asic"]["area_um2"] for r in rows) * 1.15
        xs = [xmax * i / 200 for i in range(1, 201)]
        for k in (0.6, 1.0):
            adp = k * booth["area_delay_um2_ns"]
            ax.plot(xs, [adp / x for x in xs], "--", lw=0.8, color="grey")
            ax.annotate(f"{k}x ADP of synth -booth", (xmax * 0.98, adp / (xmax * 0.98)),
                        fontsize=7, ha="right", va="bottom", color="grey")
        best = min((r for r in rows if r["parameters"]["mult"] != "behavioural" or
                    r["parameters"]["accumulate"] != "cpa"),
                   key=lambda r: r["asic"]["area_delay_um2_ns"])
        ax.scatter(best["asic"]["critical_path_ns"], best["asic"]["area_um2"], marker="*",
                   s=160, color="gold", edgecolor="black", zorder=3)
        ax.annotate("best: " + best["label"], (best["asic"]["critical_path_ns"],
                                               best["asic"]["area_um2"]), fontsize=7,
                    xytext=(-10, 12), textcoords="offset points")
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, ymax)
        ax.set_xlabel("critical path (ns), OpenSTA")
        ax.set_ylabel("area (um^2), OSU 0.18 um")
        ax.set_title(f"int{width} MAC: red = behavioural baselines, blue = carry-save, "
                     "green = CPA", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path.relative_to(REPO)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--widths", default="8,16")
    parser.add_argument("--no-fpga", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse reports of an earlier run (build/bench/qor_mac) whose "
                             "parameters and Verilog are unchanged; to redraw the table and "
                             "plot")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    for w in widths:
        if w not in ACC:
            parser.error(f"widths: {w} is not allowed; choose from 8, 16")
    jobs = [(w, *c) for w in widths for c in candidates(w)]
    print(f"{len(jobs)} syntheses on {args.jobs} processes", flush=True)
    results = {w: [] for w in widths}
    start = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_one, label, config, booth, not args.no_fpga, args.reuse): w
                   for w, label, config, booth in jobs}
        for n, future in enumerate(as_completed(futures), 1):
            try:
                report = future.result()
            except Exception:
                for other in futures:
                    other.cancel()
                raise
            results[futures[future]].append(report)
            a = report["asic"]
            print(f"[{n}/{len(jobs)} {time.monotonic() - start:5.0f} s] {report['label']}: "
                  f"{a['area_um2']:.0f} um^2, {a['critical_path_ns']:.3f} ns", flush=True)
    ratios = {}
    csv_rows = []
    for w in widths:
        rows = sorted(results[w], key=lambda r: r["asic"]["area_delay_um2_ns"])
        booth = next(r for r in rows if r["label"].endswith("-booth"))
        plain = next(r for r in rows if r["label"].endswith("synth"))
        ours = [r for r in rows if r not in (booth, plain)]
        booth_adp = booth["asic"]["area_delay_um2_ns"]
        best = ours[0]
        ratios[w] = best["asic"]["area_delay_um2_ns"] / booth_adp
        print(f"\nint{w} x int{w} -> {ACC[w]} MAC, sorted by area x delay "
              f"(adp in um^2*ns; ratio to behavioural + synth -booth)")
        print(table(rows, booth_adp))
        print(f"best tpegen: {best['label']}: area {best['asic']['area_um2'] / booth['asic']['area_um2']:.3f}x, "
              f"delay {best['asic']['critical_path_ns'] / booth['asic']['critical_path_ns']:.3f}x, "
              f"adp {ratios[w]:.3f}x of behavioural + synth -booth")
        for r in rows:
            csv_rows.append({"width": w, "design": r["label"], "booth_synth": r["variant"] == "booth",
                             **{k: r["asic"][k] for k in ("area_um2", "cells", "critical_path_ns",
                                                          "area_delay_um2_ns")},
                             "adp_vs_booth": round(r["asic"]["area_delay_um2_ns"] / booth_adp, 4),
                             "ecp5_luts": r.get("ecp5", {}).get("luts"),
                             "ecp5_dsps": r.get("ecp5", {}).get("dsps"),
                             "ecp5_fmax_mhz": r.get("ecp5", {}).get("fmax_mhz")})
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    with open(docs / "qor_mac.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
        writer.writeheader()
        writer.writerows(csv_rows)
    print("csv: docs/qor_mac.csv")
    plot(results, docs / "qor_mac.png")
    print(f"total {time.monotonic() - start:.0f} s")
    for w in widths:
        print(f"int{w}_best_adp_ratio_vs_booth={ratios[w]:.3f}")


if __name__ == "__main__":
    main()
