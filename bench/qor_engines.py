#!/usr/bin/env python3
"""Quality of results of the tensor engines: every architecture, with int8 PEs.

For each architecture at 8x8 and 16x16 (cube 4x4x4 and 8x8x8; adder tree K = 16 inputs with
N = 8 and 16 units; ``--archs`` picks some), with the tpegen int8 PE (booth4 + dadda + carry-save
accumulator) and with the behavioural PE (``acc + a*b``, the baseline a user writes without
tpegen: yosys maps its ``*``), the engine goes through :func:`synth.flow.synthesize`:

* ASIC (OSU 0.18 um + OpenSTA): hierarchical (:mod:`synth.hier`: the PE characterized once,
  the array around it, composed), checked against flat synthesis; the table shows the method
  kept and ``(hier - flat) / flat`` of area and critical path;
* ECP5: at 8x8 placed and routed on LFE5U-45F (LUTs, DSPs = MULT18X18D, Fmax); at 16x16
  yosys's utilization only, against LFE5U-85F, with ``fits`` yes/no.

Peak MAC/cycle is ``R*C`` (cube ``R*C*D``, tree ``N*K``); area efficiency is MAC/s per
um^2, ``MAC/cycle / (critical path) / area``. The "OS array of behavioural PEs" is the baseline row. Headline lines last:

    os16_area_eff_ratio_vs_behavioural=<best tpegen int8 16x16 OS / behavioural-PE 16x16 OS>
    os32_flow_seconds=<generate + lint + hierarchical ASIC area/timing of a 32x32 int8 OS>

``--quick``: 4x4 only (P&R on LFE5U-45F), headlines ``os4_...`` and ``os8_flow_seconds``.

Usage: ``python bench/qor_engines.py [--quick] [--no-flat-check] [--skip-os32]``
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tpegen import api  # noqa: E402
from tpegen.config import EngineConfig, MacConfig  # noqa: E402

TPEGEN_PE = MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
                      accumulate="carry_save")
BEHAVIOURAL_PE = MacConfig(a_width=8, b_width=8, acc_width=32, mult="behavioural",
                           accumulate="cpa")
PES = [("booth4+dadda+cs", TPEGEN_PE), ("behavioural", BEHAVIOURAL_PE)]
ARCHS = ("systolic-os", "matrix2d", "systolic-ws", "cube", "adder-tree")
#: the shapes the issue asks for besides the square ones: cube 4^3 and 8^3 (at sizes 8 and
#: 16), the adder tree with K = 16 inputs and N = 8 and 16 units
EXTRA = {"cube": {8: (4, 4, 4), 16: (8, 8, 8), 4: (2, 2, 2)},
         "adder-tree": {8: (8, 16, 1), 16: (16, 16, 1), 4: (4, 8, 1)}}
OUT = REPO / "build" / "bench" / "qor_engines"


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def shape_of(arch, n):
    """``(rows, cols, depth)`` of ``arch`` at bench size ``n``."""
    return EXTRA.get(arch, {}).get(n, (n, n, 1))


def run_one(arch, n, pe_label, pe, *, pnr, part, hier_check):
    rows, cols, depth = shape_of(arch, n)
    config = EngineConfig(arch=arch, rows=rows, cols=cols, depth=depth, pe=pe)
    design = api.generate(config, OUT / config.name)
    start = time.monotonic()
    report = api.synth(design, flows=("asic", "ecp5"), ecp5_part=part, pnr=pnr, hier=True,
                       hier_check=hier_check, progress=say)
    report["seconds"] = round(time.monotonic() - start, 1)
    dims = f"{rows}x{cols}" + (f"x{depth}" if arch == "cube" else "")
    if arch == "adder-tree":
        dims = f"N={rows} K={cols}"
    report["label"] = f"{arch} {dims} {pe_label}"
    report["arch"], report["n"], report["pe_label"] = arch, n, pe_label
    report["macs"] = rows * cols * depth            # R*C, cube R*C*D, tree N*K
    a = report["asic"]
    report["area_eff"] = report["macs"] / (a["critical_path_ns"] * 1e-9) / a["area_um2"]
    return report


def table(rows):
    head = ["engine", "method", "area_um2", "crit_ns", "MAC/cyc", "MAC/s/um2", "hier-flat area",
            "hier-flat crit", "part", "luts", "dsps", "fmax_MHz", "fits", "seconds"]
    lines = [head]
    for r in rows:
        a, e = r["asic"], r["ecp5"]
        d = a.get("hier_vs_flat")
        lines.append([
            r["label"] + (" (baseline)" if r["arch"] == "systolic-os"
                          and r["pe_label"] == "behavioural" else ""),
            a["method"].split(" (")[0] + ("*" if "differed" in a["method"] else ""),
            f"{a['area_um2']:.0f}", f"{a['critical_path_ns']:.3f}", str(r["macs"]),
            f"{r['area_eff']:.4g}",
            f"{100 * d['area']:+.2f}%" if d else "-",
            f"{100 * d['critical_path']:+.2f}%" if d else "-",
            e["part"], str(e["luts"]), str(e["dsps"]),
            str(e["fmax_mhz"]) if e["fmax_mhz"] else f"- ({e['pnr']})",
            "yes" if e["fits"] else "no", str(r["seconds"])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def os_flow_seconds(n):
    """Wall time of generate + lint + hierarchical ASIC area/timing of an n x n int8 OS."""
    config = EngineConfig(arch="systolic-os", rows=n, cols=n, pe=TPEGEN_PE)
    start = time.monotonic()
    design = api.generate(config, OUT / (config.name + "_timed"))
    result = api.lint(design)
    ok = getattr(result, "ok", None)
    report = api.synth(design, flows=("asic",), hier=True, hier_check=False, progress=say)
    seconds = time.monotonic() - start
    return seconds, report, ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4x4 only")
    parser.add_argument("--no-flat-check", action="store_true",
                        help="hierarchical only (no flat run, no hier-vs-flat figures)")
    parser.add_argument("--skip-os32", action="store_true", help="skip the timed 32x32 run")
    parser.add_argument("--sizes", default="8,16",
                        help="array sizes (default 8,16; P&R on LFE5U-45F up to 8x8, "
                             "yosys utilization against LFE5U-85F above)")
    parser.add_argument("--no-pnr", action="store_true", help="no nextpnr (yosys only)")
    parser.add_argument("--archs", default=",".join(ARCHS),
                        help="architectures (default all: " + ", ".join(ARCHS) + ")")
    args = parser.parse_args(argv)
    check = not args.no_flat_check
    if args.quick:
        plan = [(4, not args.no_pnr, "45k")]
        big, timed = 4, 8
    else:
        sizes = [int(x) for x in args.sizes.split(",")]
        plan = [(n, n <= 8 and not args.no_pnr, "45k" if n <= 8 else "85k") for n in sizes]
        big, timed = max(sizes), 32
    archs = [a for a in args.archs.split(",") if a]
    rows = []
    for n, pnr, part in plan:
        for arch in archs:
            for label, pe in PES:
                say(f"== {arch} {n}x{n} {label}")
                rows.append(run_one(arch, n, label, pe, pnr=pnr, part=part, hier_check=check))
                print("done: " + table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    print("* hierarchical differed from flat by more than 3 % area or 10 % critical path: "
          "flat figures kept")
    for r in rows:
        if r["asic"].get("hier_vs_flat"):
            print(f"{r['label']}: asic method {r['asic']['method']}")
    headlines = {}
    base = next((r for r in rows if r["n"] == big and r["arch"] == "systolic-os"
                 and r["pe_label"] == "behavioural"), None)
    best = max((r for r in rows if r["n"] == big and r["arch"] == "systolic-os"
                and r["pe_label"] != "behavioural"), key=lambda r: r["area_eff"], default=None)
    if base and best:
        headlines[f"os{big}_area_eff_ratio_vs_behavioural"] = round(
            best["area_eff"] / base["area_eff"], 3)
    short = {"systolic-os": "os", "matrix2d": "m2d", "systolic-ws": "ws", "cube": "cube",
             "adder-tree": "tree"}
    for r in rows:
        key = f"{short[r['arch']]}{r['n']}_" \
              f"{'beh' if r['pe_label'] == 'behavioural' else 'tpegen'}"
        headlines[f"{key}_area_um2"] = r["asic"]["area_um2"]
        headlines[f"{key}_crit_ns"] = r["asic"]["critical_path_ns"]
        headlines[f"{key}_ecp5_dsps"] = r["ecp5"]["dsps"]
        d = r["asic"].get("hier_vs_flat")
        if d:
            headlines[f"{key}_hier_vs_flat_area"] = d["area"]
            headlines[f"{key}_hier_vs_flat_crit"] = d["critical_path"]
    if not args.skip_os32:
        say(f"== timed {timed}x{timed} OS flow")
        seconds, report, ok = os_flow_seconds(timed)
        a = report["asic"]
        print(f"os{timed} int8 (hier): {a['area_um2']:.0f} um^2, {a['critical_path_ns']:.3f} ns,"
              f" lint {'clean' if ok else ok}")
        headlines[f"os{timed}_area_um2"] = a["area_um2"]
        headlines[f"os{timed}_crit_ns"] = a["critical_path_ns"]
        headlines[f"os{timed}_flow_seconds"] = round(seconds, 1)
    for k, v in headlines.items():
        print(f"{k}={v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
