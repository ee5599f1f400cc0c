#!/usr/bin/env python3
"""Mixed-precision PEs against their baselines (issue 11, "Measurements"): area, timing,
FPGA, throughput and energy per MAC in one run, and from them area and energy efficiency.

PEs so far: the SIMD multi-precision MAC (kind ``simd``, :mod:`hdl.pe.simd`) at W = 8,
signed lanes, 32-bit accumulator: ``datapath="fused"`` (one reconfigurable multiplier of
four 4x4 bricks) against its baseline ``datapath="separate"`` (one 8x8, two 4x8 and four
4x4 multipliers side by side, the idle ones fed zeros). Both have the same ports and golden
model; the ``mode`` input picks, on every cycle, 0 = 1 x (8b x 8b), 1 = 2 x (4b x 8b) or
2 = 4 x (4b x 4b): 1, 2 or 4 MACs per cycle in both designs.

Each design goes through the project's flows (:func:`synth.flow.synthesize`): yosys onto OSU
0.18 um with OpenSTA's critical path (inputs and outputs at 0 ns against the clock), and
yosys + nextpnr on the ECP5 LFE5U-25F (``25k``, the part of bench/qor_mac.py and
bench/qor_fp.py) for LUTs, DSPs (MULT18X18D) and Fmax. Energy comes from the gate-level power
flow (:func:`synth.power.power`: the mapped netlist simulated in Icarus with the liberty's
cell models, checked against the golden model on every cycle, toggle-count power at 100 MHz),
once per operand stream below, the same streams (same seed) for both designs.

Operand streams (``a`` = weights, ``b`` = activations, as :class:`tpegen.config.SimdMacConfig`
names them; every lane drawn independently each cycle, as the k-loop of a GEMM feeds a PE):

* weights, int8 (mode 0) or int4 (modes 1, 2): ``round(N(0, sigma))``, sigma a quarter of
  the largest magnitude (``2**(bits-1) / 4``: 32 for int8, 2 for int4; the power flow's own
  integer stream), clipped to the range: most values small (int4: |w| <= 2 for ~80 %);
* activations, int8 (modes 0, 1) or int4 (mode 2): ``relu(round(N(0, sigma)))``, sigma a
  third of the largest magnitude (42.7 for int8, 2.67 for int4), clipped: 50 % (int8) to
  58 % (int4) are zero (a post-ReLU tensor), the rest a half-normal (int8 mean 17). ``--activations normal`` draws them as
  the weights instead (signed, few zeros).
* the lanes a mode does not use (the top byte of ``a`` in modes 0 and 1, of ``b`` in mode 0)
  are driven 0;
* ``clear`` every 16 cycles (a dot product of 16 steps) and ``enable`` 1, as in the power
  flow;
* streams ``mode0``, ``mode1``, ``mode2``: every cycle in that mode; ``mixed``: the mode drawn
  uniformly from {0, 1, 2} on every cycle (1/3 each, the mode changing on ~2/3 of cycles).

Figures per design and workload: MACs/cycle (1, 2, 4; the mixed stream's mean, ~7/3), MAC/s
= MACs/cycle / (ASIC critical path), area efficiency = MAC/s per um^2, energy per MAC =
energy per cycle (power x 10 ns) / MACs per cycle, energy efficiency = MACs per pJ. The
workload ``mixed`` uses the mixed stream's MACs/cycle. Since both designs do the same MACs
per cycle in every mode, the area-efficiency ratio (fused over separate) is the same in every
workload: ``(area x critical path)`` of separate over fused.

Headline (last lines): ``simd_area_eff_ratio`` and ``simd_energy_eff_ratio``, fused over
separate, both at the mixed workload (1/3 of cycles in each mode, changing often). Before
them, per workload ``simd_<w>_energy_per_mac_pj`` (fused), ``simd_<w>_baseline_energy_per_mac_pj``
(separate) and ``simd_<w>_energy_eff_ratio``, ``w`` in ``mode0, mode1, mode2, mixed``.

Writes ``build/bench/qor_pe/`` (designs, synthesis and power runs, ``qor_pe.json``,
``qor_pe.csv``).

Usage: ``python bench/qor_pe.py [--quick] [--cycles 3000] [--mult array]
[--activations relu|normal] [--no-fpga] [--seed 11]``
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.tables import text_table  # noqa: E402
from golden.pe.simd import pack  # noqa: E402
from synth import power as power_flow  # noqa: E402
from synth.flow import synthesize  # noqa: E402
from tpegen import api  # noqa: E402
from tpegen.config import MULTIPLIERS, SimdMacConfig  # noqa: E402

OUT = REPO / "build" / "bench" / "qor_pe"
#: ECP5 part of the FPGA figures, as bench/qor_mac.py (``ECP5_PART``) and bench/qor_fp.py
#: (the flow's default): one PE fits the LFE5U-25F
ECP5_PART = "25k"
#: power flow clock period (its default): energy per cycle = power x period
PERIOD_NS = 10.0
WORKLOADS = ("mode0", "mode1", "mode2", "mixed")
#: the workload of the headline ratios
HEADLINE = "mixed"


# --- operand streams ------------------------------------------------------------------------

def weights(bits, shape, rng):
    """Signed ``bits``-bit weights: round(N(0, 2**(bits-1)/4)), clipped."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.rint(rng.normal(0, (1 << (bits - 1)) / 4, shape)), lo, hi).astype(np.int64)


def activations(bits, shape, rng, kind):
    """Signed ``bits``-bit activations: relu(round(N(0, 2**(bits-1)/3))) (``relu``) or as the
    weights (``normal``), clipped."""
    if kind == "normal":
        return weights(bits, shape, rng)
    hi = (1 << (bits - 1)) - 1
    return np.clip(np.rint(rng.normal(0, (1 << (bits - 1)) / 3, shape)), 0, hi).astype(np.int64)


def stream(cfg, modes, rng, act_kind):
    """Input columns ``{role: [int]}`` (bit patterns, as both the golden model and the
    netlist take them) for the per-cycle mode codes ``modes``."""
    cycles = len(modes)
    a, b = np.zeros(cycles, np.int64), np.zeros(cycles, np.int64)
    for code, _, n, wa, wb in cfg.modes():
        rows = np.flatnonzero(modes == code)
        a[rows] = pack(weights(wa, (rows.size, n), rng), wa)
        b[rows] = pack(activations(wb, (rows.size, n), rng, act_kind), wb)
    controls = {role: [f(t) for t in range(cycles)] for role, f in power_flow.CONTROLS.items()}
    return {"a": a.tolist(), "b": b.tolist(), "mode": modes.tolist(), **controls}


def streams(cfg, cycles, seed, act_kind):
    """``{workload: (columns, MACs per cycle)}``; one generator, so both designs see the same
    operands."""
    rng = np.random.default_rng(seed)
    lanes = {code: n for code, _, n, _, _ in cfg.modes()}
    out = {}
    for w in WORKLOADS:
        if w == "mixed":
            modes = rng.integers(0, 3, cycles)
        else:
            modes = np.full(cycles, int(w[-1]))
        cols = stream(cfg, modes, rng, act_kind)
        enabled = np.array(cols["enable"], bool)
        macs = float(np.mean([lanes[m] if e else 0 for m, e in zip(modes.tolist(), enabled)]))
        out[w] = (cols, macs)
    return out


# --- flows ----------------------------------------------------------------------------------

def run_design(cfg, workloads, cycles, fpga, pnr):
    """Synthesis report of ``cfg`` with ``power[workload]`` from the gate-level flow."""
    outdir = OUT / cfg.name
    design = api.generate(cfg, outdir)
    workdir = outdir / "synth" / cfg.name
    flows = ("asic", "ecp5") if fpga else ("asic",)
    start = time.monotonic()
    report = synthesize(design, flows=flows, ecp5_part=ECP5_PART, pnr=pnr, workdir=workdir,
                        period_ns=PERIOD_NS, progress=print)
    report["power"] = {}
    for w, (cols, macs) in workloads.items():
        t0 = time.monotonic()
        p = power_flow.power(design, cycles=cycles, period_ns=PERIOD_NS, workdir=workdir,
                             columns=cols, stream=w, progress=print)
        p.update(stream=w, macs_per_cycle=macs,
                 energy_pj_per_mac=p["power_mw"] * PERIOD_NS / macs)
        report["power"][w] = p
        print(f"[{cfg.name}] power {w}: {p['power_mw']:.3f} mW, {p['energy_pj_per_op']:.3f} "
              f"pJ/cycle, {p['energy_pj_per_mac']:.3f} pJ/MAC, netlist == golden over "
              f"{p['checked']} cycles ({time.monotonic() - t0:.1f} s)", flush=True)
    report["seconds"] = round(time.monotonic() - start, 1)
    return report


def figures(report, workload):
    """``(MACs/cycle, MAC/s per um^2, pJ per MAC, MACs per pJ)`` of a report in a workload."""
    a, p = report["asic"], report["power"][workload]
    macs = p["macs_per_cycle"]
    mac_per_s = macs / (a["critical_path_ns"] * 1e-9)
    return macs, mac_per_s / a["area_um2"], p["energy_pj_per_mac"], 1 / p["energy_pj_per_mac"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1000 cycles per power run and no nextpnr (ECP5 LUTs/DSPs from "
                             "yosys, no Fmax)")
    parser.add_argument("--cycles", type=int, default=None,
                        help="cycles per power run (default 3000; --quick 1000)")
    parser.add_argument("--mult", default="array", choices=MULTIPLIERS,
                        help="sub-multiplier of both designs (default array)")
    parser.add_argument("--activations", default="relu", choices=("relu", "normal"))
    parser.add_argument("--no-fpga", action="store_true", help="no ECP5 flow")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cycles = args.cycles or (1000 if args.quick else 3000)
    if not 100 <= cycles <= 100000:
        parser.error("cycles: allowed 100..100000")
    start = time.monotonic()
    base = SimdMacConfig(width=8, mult=args.mult)
    designs = {"fused": base, "separate": base.replace(datapath="separate")}
    workloads = streams(base, cycles, args.seed, args.activations)
    print(f"SIMD MAC W=8, fused vs separate; {len(workloads)} power streams x {cycles} cycles "
          f"({args.activations} activations, seed {args.seed}); one synthesis at a time",
          flush=True)
    reports = {k: run_design(cfg, workloads, cycles, not args.no_fpga, not args.quick)
               for k, cfg in designs.items()}

    rows = []
    for k, r in reports.items():
        a, e = r["asic"], r.get("ecp5", {})
        rows.append({"design": r["design"], "datapath": k,
                     "ecp5 part": e.get("part", "-"), "area_um2": a["area_um2"],
                     "cells": a["cells"], "crit_ns": a["critical_path_ns"],
                     "fmax_asic_MHz": a["fmax_mhz"], "ecp5_luts": e.get("luts", "-"),
                     "ecp5_dsps": e.get("dsps", "-"),
                     "ecp5_fmax_MHz": e.get("fmax_mhz") or "-"})
    print("\nSIMD MAC W=8 (OSU 0.18 um + OpenSTA; ECP5 yosys + nextpnr)")
    print(text_table(list(rows[0]), rows, left=3))

    fused, sep = reports["fused"], reports["separate"]
    names = {"mode0": ("1x(8bx8b)", "all cycles mode 0"),
             "mode1": ("2x(4bx8b)", "all cycles mode 1"),
             "mode2": ("4x(4bx4b)", "all cycles mode 2"),
             "mixed": ("1/3 each", "mode drawn per cycle")}
    table, ratios, csv_rows = [], {}, []
    for w in WORKLOADS:
        mf, af, ef, qf = figures(fused, w)
        ms, as_, es, qs = figures(sep, w)
        ratios[w] = (af / as_, qf / qs)
        table.append({"workload": w, "lanes": names[w][0], "stream": names[w][1],
                      "MAC/cyc": round(mf, 3), "fused MAC/s/um2": af, "sep MAC/s/um2": as_,
                      "area_eff_ratio": round(af / as_, 3), "fused pJ/MAC": round(ef, 4),
                      "sep pJ/MAC": round(es, 4), "fused MAC/pJ": qf, "sep MAC/pJ": qs,
                      "energy_eff_ratio": round(qf / qs, 3)})
        for k, r in reports.items():
            p = r["power"][w]
            csv_rows.append({"design": r["design"], "datapath": k, "workload": w,
                             "area_um2": r["asic"]["area_um2"],
                             "critical_path_ns": r["asic"]["critical_path_ns"],
                             "ecp5_luts": r.get("ecp5", {}).get("luts"),
                             "ecp5_dsps": r.get("ecp5", {}).get("dsps"),
                             "ecp5_fmax_mhz": r.get("ecp5", {}).get("fmax_mhz"),
                             "macs_per_cycle": p["macs_per_cycle"],
                             "mac_per_s_per_um2": figures(r, w)[1],
                             "power_mw": p["power_mw"], "energy_pj_per_cycle": p["energy_pj_per_op"],
                             "energy_pj_per_mac": p["energy_pj_per_mac"],
                             "macs_per_pj": 1 / p["energy_pj_per_mac"],
                             "checked_cycles": p["checked"]})
    print(f"\nThroughput and efficiency per workload (MAC/s at 1 / ASIC critical path; energy "
          f"at {1000 / PERIOD_NS:.0f} MHz from the gate-level power flow, {cycles} cycles per "
          f"stream; ratios fused / separate, > 1 = fused better)")
    print(text_table(list(table[0]), table, left=3))
    print(f"headline: the '{HEADLINE}' workload (1/3 of cycles per mode, mode changing on "
          "~2/3 of cycles); the area-efficiency ratio is the same in every workload (same "
          "MACs/cycle in both designs)")

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "qor_pe.json").write_text(json.dumps(
        {"cycles": cycles, "seed": args.seed, "activations": args.activations,
         "reports": reports, "comparison": table}, indent=2, default=str) + "\n")
    with open(OUT / "qor_pe.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
        writer.writeheader()
        writer.writerows(csv_rows)
    print(f"written: {(OUT / 'qor_pe.json').relative_to(REPO)}, "
          f"{(OUT / 'qor_pe.csv').relative_to(REPO)}")
    print(f"total {time.monotonic() - start:.0f} s")
    for w in WORKLOADS:
        print(f"simd_{w}_energy_per_mac_pj={fused['power'][w]['energy_pj_per_mac']:.4f}")
        print(f"simd_{w}_baseline_energy_per_mac_pj={sep['power'][w]['energy_pj_per_mac']:.4f}")
        print(f"simd_{w}_energy_eff_ratio={ratios[w][1]:.3f}")
    # headline: fused over separate at the mixed workload (the area ratio is workload-free)
    print(f"simd_area_eff_ratio={ratios[HEADLINE][0]:.3f}")
    print(f"simd_energy_eff_ratio={ratios[HEADLINE][1]:.3f}")


if __name__ == "__main__":
    main()
