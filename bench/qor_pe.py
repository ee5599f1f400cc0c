#!/usr/bin/env python3
"""Mixed-precision PEs against their baselines (issue 11, "Measurements"): area, timing,
FPGA, throughput and energy per MAC in one run, and from them area and energy efficiency.

Comparisons (``--pe``; default all), each a PE against its baseline in one run:

* ``simd``: see below;
* ``bitserial``: the BitMoD bit-serial PE (kind ``bitserial``, :mod:`hdl.pe.bitserial`), 8
  lanes of fp16 activations x 4-bit weights whose datatype (int4/fp4/er/ea) is chosen per
  group of 128 (:func:`golden.quant.quantize_mixture` on Student-t weights), zero bit
  positions skipped, against BitMoD's comparison point: the bit-parallel fp16 PE
  (``datapath="parallel"``: weights dequantized to fp16, exact fp16 MACs) with as many
  lanes as the serial PE's measured MACs/cycle on the same stream (the divisor of the group
  nearest to it); both see the same elements in the same order. The serial PE's stream
  holds each beat until the edge the golden model predicts accepts it;
* ``lut``: the LUT Tensor Core PE (kind ``lut``, :mod:`hdl.pe.lut`), K = 4 int8 activations
  per symmetric table shared by 16 int4 weight columns, one bit-plane per cycle (16 MACs per
  cycle), against ``datapath="mac"``, the same bit-serial schedule with each column's plane
  products formed directly (no table); and, per MAC, against the MixPE group PE at W4A8 (the
  issue's baseline, ``lut_vs_mixpe_*`` when both run; not like for like: the LUT PE
  accumulates integers, the group PE dequantizes every group into fp32);
* ``mixpe`` (W4A16) and ``mixpe_a8`` (W4A8, int8 activations, the same stream quantized
  per token): the MixPE group PE (kind ``mixpe``, :mod:`hdl.pe.mixpe`), int4 two's-complement
  weights x fp16 activations, groups of G = 32, fp32 accumulator: ``datapath="shift-add"``
  (shift-and-add products summed exactly per group, one dequantization per group) against
  ``datapath="dequant"`` (every weight dequantized to fp16, then the exact fp16 x fp16 + fp32
  MAC). Both do 1 MAC per cycle. The stream (workload ``w4a16``) is the k-loop of a
  group-quantized GEMM: Student-t weights quantized to int4 per group of 32 with fp16 absmax
  scales (:mod:`golden.quant`), activations N(0, 1) with 1 % outlier channels x 20 in fp16
  (bench/quant_error.py's distributions), dot products of K = 128 (``clear`` first,
  ``last`` on the final beat).

The SIMD multi-precision MAC (kind ``simd``, :mod:`hdl.pe.simd`) at W = 8,
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

Headline (last lines): per PE ``<pe>_area_eff_ratio`` and ``<pe>_energy_eff_ratio``, the PE
over its baseline at its headline workload (``simd``: fused over separate at the mixed
workload, 1/3 of cycles in each mode, changing often; ``mixpe``: ``w4a16``). Before them,
per PE and workload ``<pe>_<w>_energy_per_mac_pj``, ``<pe>_<w>_baseline_energy_per_mac_pj``
and ``<pe>_<w>_energy_eff_ratio`` (``simd``: ``w`` in ``mode0, mode1, mode2, mixed``).

Writes ``build/bench/qor_pe/`` (designs, synthesis and power runs, ``qor_pe.json``,
``qor_pe.csv``).

Usage: ``python bench/qor_pe.py [--quick] [--cycles 3000] [--pe simd --pe mixpe]
[--mult array] [--activations relu|normal] [--no-fpga] [--seed 11]``
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

from bench import quant_error as qerr  # noqa: E402
from bench.tables import text_table  # noqa: E402
from golden import quant  # noqa: E402
from golden.pe.simd import pack  # noqa: E402
from synth import power as power_flow  # noqa: E402
from synth.flow import synthesize  # noqa: E402
from tpegen import api  # noqa: E402
from tpegen.config import (BitSerialConfig, LutPeConfig, MULTIPLIERS, MixPeConfig,  # noqa: E402
                           SimdMacConfig)

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


# --- the MixPE group PE: W4A16 group-quantized GEMM streams ---------------------------------

#: the MixPE comparisons: int4 weights (two's complement) x fp16 or int8 activations, groups
#: of 32
MIXPE = MixPeConfig(w_width=4, act="fp16", group=32)
MIXPE_A8 = MIXPE.replace(act="int8")
#: the dot-product length of the MixPE streams (a clear starts, a last ends it: 4 groups)
MIXPE_K = 128


def mixpe_streams(cfg, cycles, seed, dist="student-t"):
    """``{"w4a16" or "w4a8": (columns, 1.0)}``: the k-loop of a group-quantized GEMM on one
    PE.

    Weights: a (K x N) matrix from ``dist`` (bench/quant_error.py: Student-t nu = 3 or
    normal), group-quantized to int4 along K (golden.quant, absmax scales in fp16) and fed as
    two's complement codes with their group's scale; activations: standard normal with 1 % of
    the K channels times 20 (outliers), in fp16, or quantized to int8 with one absmax scale
    per token (:func:`golden.quant.quantize_act_int8`); a dot product of ``MIXPE_K`` products per
    output (``clear`` on its first, ``last`` on its last beat), ``enable`` 1."""
    rng = np.random.default_rng(seed)
    K, G = MIXPE_K, cfg.group
    n = -(-cycles // K)
    W = qerr.weights(dist, K, n, 3, rng)
    codes, scales = quant.quantize(W, dtype="int4", group=G, axis=0)
    twos = quant.int4_to_twos(codes)                          # (K, n) int4 bit patterns
    X, _ = qerr.activations(n, K, 0.01, 20.0, rng)            # one activation row per output
    t = np.arange(cycles)
    k, col = t % K, t // K
    a = twos[k, col] & 0xF
    if cfg.act == "int8":
        q, _ = quant.quantize_act_int8(X)
        b = np.asarray(q, np.int64)[col, k] & 0xFF
    else:
        b = X[col, k].astype(np.float16).view(np.uint16).astype(np.int64)
    scale = np.asarray(scales, np.float16).view(np.uint16).astype(np.int64)[k // G, col]
    cols = {"a": a.tolist(), "b": b.tolist(), "scale": scale.tolist(),
            "zero": [0] * cycles, "clear": (k == 0).astype(int).tolist(),
            "enable": [1] * cycles, "last": (k == K - 1).astype(int).tolist()}
    return {"w4a8" if cfg.act == "int8" else "w4a16": (cols, 1.0)}


# --- the LUT Tensor Core PE: int4 weights x int8 activations, bit-serial planes -------------

#: the LUT comparison: K = 4 int8 activations per table, 16 weight columns sharing it, int4
#: weights one bit-plane per cycle: 16 * 4 / 4 = 16 MACs per cycle
LUT = LutPeConfig(k=4, w_width=4, a_width=8, cols=16)


def lut_streams(cfg, cycles, seed, dist="student-t"):
    """``{"w4a8": (columns, MACs per cycle)}``: K-groups of int8 activations (N(0, 1) with 1 %
    outlier channels, quantized per token) loaded one table at a time, each followed by its
    n = 4 bit-planes of ``cols`` int4 weight columns (Student-t, quantized per group of 32
    along K, two's complement); the next group's ``load`` comes with the last plane, so the
    PE never idles; a dot product of ``MIXPE_K`` = 128 activations (32 groups: ``clear``
    on its first plane)."""
    from golden.pe.lut import bit_planes, pack_lanes
    rng = np.random.default_rng(seed)
    K, n, N, Kd = cfg.k, cfg.w_width, cfg.cols, MIXPE_K
    groups = -(-(cycles - 1) // n) + 1
    W = qerr.weights(dist, Kd, N, 3, rng)
    codes, _ = quant.quantize(W, dtype="int4", group=32, axis=0)
    twos = np.asarray(quant.int4_to_twos(codes), np.int64) & ((1 << n) - 1)    # (Kd, N)
    X, _ = qerr.activations(1, groups * K, 0.01, 20.0, rng)
    q, _ = quant.quantize_act_int8(X)
    acts = np.asarray(q, np.int64)[0] & 0xFF
    a_words = [pack_lanes(acts[g * K:(g + 1) * K], cfg.a_width) for g in range(groups)]
    planes = []
    for g in range(groups):
        k0 = (g * K) % Kd
        planes.append(bit_planes(twos[k0:k0 + K].T, cfg))        # weights[j][k]
    cols = {"a": [a_words[0]], "mode": [1], "b": [0], "clear": [0], "enable": [0]}
    for t in range(1, cycles):
        g, p = divmod(t - 1, n)
        last = p == n - 1
        cols["a"].append(a_words[g + 1] if last else 0)
        cols["mode"].append(int(last))
        cols["b"].append(planes[g][p])
        cols["clear"].append(int(p == 0 and (g * K) % Kd == 0))
        cols["enable"].append(1)
    return {"w4a8": (cols, cfg.macs_per_cycle * (cycles - 1) / cycles)}


# --- the BitMoD bit-serial PE: fp16 activations x mixture-of-datatype 4-bit weights ----------

#: the bit-serial comparison: 8 lanes, groups of 128 (BitMoD's), zero positions skipped
BITSERIAL = BitSerialConfig(lanes=8, act="fp16", group=128, skip_zeros=True)


def _bitserial_elements(count, seed, dist="student-t"):
    """The operand stream of the bit-serial comparison, element by element along K, the
    same for both designs: dot products of K = ``BITSERIAL.group`` weights of one column
    (Student-t, quantized per group to the best of int4/fp4/er/ea,
    :func:`golden.quant.quantize_mixture`, fp16 scales) times fp16 activations (N(0, 1), 1 %
    outlier channels x 20). Returns ``(act bits, codes, dtype, scale, first)`` per element
    (``first``: the element starts a dot product)."""
    rng = np.random.default_rng(seed)
    G = BITSERIAL.group
    cols = -(-count // G)
    W = qerr.weights(dist, G, cols, 3, rng)
    codes, scales, selector = quant.quantize_mixture(W, group=G, axis=0)
    X, _ = qerr.activations(1, G, 0.01, 20.0, rng)
    act = X[0].astype(np.float16).view(np.uint16).astype(np.int64)
    e = np.arange(count)
    col, k = e // G, e % G
    return (act[k], np.asarray(codes, np.int64)[k, col],
            np.asarray(selector, np.int64)[0, col],
            np.asarray(scales, np.float16).view(np.uint16).astype(np.int64)[0, col],
            (k == 0).astype(int))


def bitserial_streams(cfg, cycles, seed):
    """``{"mixture": (columns, MACs per cycle)}``: :func:`_bitserial_elements` in beats of
    ``cfg.lanes`` consecutive elements (``lanes`` divides the group, so a beat never spans two
    groups) driven back to back (``valid`` always 1). For the serial PE each beat is held
    until the edge that accepts it, which the golden model predicts
    (:func:`golden.pe.bitserial.schedule`): the stream a producer waiting on ``ready``
    gives."""
    from golden.pe.bitserial import pack, schedule
    L = cfg.lanes
    act, codes, dtype, scale, first = _bitserial_elements(L * cycles, seed)
    beat = lambda x: x.reshape(cycles, L)  # noqa: E731
    codes_b = beat(codes)
    a, w = pack(beat(act), 16), pack(codes_b, 4)
    dtype, scale, clear = dtype[::L], scale[::L], first[::L]
    if cfg.datapath == "parallel":
        index = np.arange(cycles)
        macs = float(L)
    else:
        accept, _ = schedule(codes_b, dtype, cfg)
        index = np.searchsorted(accept, np.arange(cycles), side="left")
        macs = L * int((accept < cycles).sum()) / cycles
    pick = lambda x: [int(v) for v in np.asarray(x, dtype=object)[index]]  # noqa: E731
    cols = {"a": pick(a), "b": pick(w), "dtype": pick(dtype), "scale": pick(scale),
            "clear": pick(clear), "valid": [1] * cycles}
    if cfg.datapath == "serial":
        cols["last"] = [0] * cycles        # groups closed by their count (G / L beats)
    return {"mixture": (cols, macs)}


def bitserial_baseline(cycles, seed):
    """The bit-parallel fp16 PE of the same MACs per cycle: as many lanes as the serial PE's
    measured throughput on this stream, the divisor of the group nearest to it."""
    serial = bitserial_streams(BITSERIAL, cycles, seed)["mixture"][1]
    G = BITSERIAL.group
    lanes = min((d for d in range(1, 17) if G % d == 0), key=lambda d: (abs(d - serial), -d))
    return BITSERIAL.replace(datapath="parallel", lanes=lanes, group=G)


class Comparison:
    """One PE against its baseline: the two configurations (the baseline may be a function
    that derives it, run only when the comparison is), the power streams
    (``streams(cycles, seed, config) -> {workload: (columns, MACs per cycle)}`` per design,
    the same operands for both; columns hold every role of the golden model, each design gets
    those of its own ports), the headline workload, and the paper's claim for the table."""

    def __init__(self, name, title, design, baseline, streams, headline, labels, claim):
        self.name, self.title, self.design, self.baseline = name, title, design, baseline
        self.streams, self.headline, self.labels, self.claim = streams, headline, labels, claim


def comparisons(args, cycles):
    simd = SimdMacConfig(width=8, mult=args.mult)
    return {
        "simd": Comparison(
            "simd", "SIMD MAC W=8, fused vs separate", simd,
            simd.replace(datapath="separate"),
            lambda cycles, seed, cfg: streams(simd, cycles, seed, args.activations), HEADLINE,
            ("fused", "separate"), "XR-NPE: no PE-level baseline published"),
        "mixpe": Comparison(
            "mixpe", "MixPE group PE int4 x fp16 (G=32), shift-add vs dequantize + FP MAC",
            MIXPE, MIXPE.replace(datapath="dequant"),
            lambda cycles, seed, cfg: mixpe_streams(MIXPE, cycles, seed), "w4a16",
            ("shift-add", "dequant"), "MixPE: 1.4x energy (system level, vs prior "
                                      "quantization accelerators); target >= 1.4x here"),
        "bitserial": Comparison(
            "bitserial", "BitMoD bit-serial PE, 8 lanes, fp16 x int4/fp4/er/ea (G=128), vs "
            "bit-parallel fp16 PE of the same MACs/cycle",
            BITSERIAL, lambda: bitserial_baseline(cycles, args.seed),
            lambda cycles, seed, cfg: bitserial_streams(cfg, cycles, seed), "mixture",
            ("serial", "parallel"),
            "BitMoD PE: area 1507.7 vs 1968.7 (1.31x), energy 0.56 vs 0.77 (1.375x)"),
        "lut": Comparison(
            "lut", "LUT Tensor Core PE K=4, 16 columns, int4 x int8, table vs bit-serial MAC",
            LUT, LUT.replace(datapath="mac"),
            lambda cycles, seed, cfg: lut_streams(LUT, cycles, seed), "w4a8", ("lut", "mac"),
            "LUT Tensor Core: table reuse across columns; compared with MixPE W4A8 too"),
        "mixpe_a8": Comparison(
            "mixpe_a8", "MixPE group PE int4 x int8 (G=32), shift-add vs dequantize + FP MAC",
            MIXPE_A8, MIXPE_A8.replace(datapath="dequant"),
            lambda cycles, seed, cfg: mixpe_streams(MIXPE_A8, cycles, seed), "w4a8",
            ("shift-add", "dequant"), "MixPE: 1.4x energy (system level); target >= 1.4x"),
    }


def compare(c, cycles, seed, fpga, pnr):
    """Run one comparison: both designs through the flows; returns the table rows, the csv
    rows, and ``{workload: (area ratio, energy ratio)}`` (design over baseline)."""
    baseline = c.baseline() if callable(c.baseline) else c.baseline
    designs = dict(zip(c.labels, (c.design, baseline)))
    loads = {k: c.streams(cycles, seed, cfg) for k, cfg in designs.items()}
    workloads = loads[c.labels[0]]
    print(f"{c.title}; {len(workloads)} power stream(s) x {cycles} cycles (seed {seed}); one "
          "synthesis at a time", flush=True)
    reports = {k: run_design(cfg, loads[k], cycles, fpga, pnr) for k, cfg in designs.items()}
    rows = []
    for k, r in reports.items():
        a, e = r["asic"], r.get("ecp5", {})
        rows.append({"design": r["design"], "datapath": k,
                     "ecp5 part": e.get("part", "-"), "area_um2": a["area_um2"],
                     "cells": a["cells"], "crit_ns": a["critical_path_ns"],
                     "fmax_asic_MHz": a["fmax_mhz"], "ecp5_luts": e.get("luts", "-"),
                     "ecp5_dsps": e.get("dsps", "-"),
                     "ecp5_fmax_MHz": e.get("fmax_mhz") or "-"})
    print(f"\n{c.title} (OSU 0.18 um + OpenSTA; ECP5 yosys + nextpnr)")
    print(text_table(list(rows[0]), rows, left=3))
    mine, base = (reports[k] for k in c.labels)
    table, ratios, csv_rows = [], {}, []
    for w in workloads:
        md, ad, ed, qd = figures(mine, w)
        mb, ab, eb, qb = figures(base, w)
        ratios[w] = (ad / ab, qd / qb)
        table.append({"pe": c.name, "workload": w, "MAC/cyc": round(md, 3),
                      "MAC/s/um2": ad, "base MAC/s/um2": ab, "area_eff_ratio": round(ad / ab, 3),
                      "pJ/MAC": round(ed, 4), "base pJ/MAC": round(eb, 4), "MAC/pJ": qd,
                      "base MAC/pJ": qb, "energy_eff_ratio": round(qd / qb, 3)})
        for k, r in reports.items():
            p = r["power"][w]
            csv_rows.append({"pe": c.name, "design": r["design"], "datapath": k, "workload": w,
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
          f"stream; ratios {c.labels[0]} / {c.labels[1]}, > 1 = {c.labels[0]} better)")
    print(text_table(list(table[0]), table, left=3))
    print(f"headline: the '{c.headline}' workload; claimed: {c.claim}")
    return reports, table, csv_rows, ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1000 cycles per power run and no nextpnr (ECP5 LUTs/DSPs from "
                             "yosys, no Fmax)")
    parser.add_argument("--cycles", type=int, default=None,
                        help="cycles per power run (default 3000; --quick 1000)")
    parser.add_argument("--pe", action="append", default=None,
                        help="the PE comparisons to run (default all: simd, mixpe, "
                             "bitserial, lut, mixpe_a8)")
    parser.add_argument("--mult", default="array", choices=MULTIPLIERS,
                        help="sub-multiplier of both SIMD designs (default array)")
    parser.add_argument("--activations", default="relu", choices=("relu", "normal"),
                        help="the SIMD streams' activations")
    parser.add_argument("--no-fpga", action="store_true", help="no ECP5 flow")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cycles = args.cycles or (1000 if args.quick else 3000)
    if not 100 <= cycles <= 100000:
        parser.error("cycles: allowed 100..100000")
    available = comparisons(args, cycles)
    chosen = args.pe or list(available)
    for name in chosen:
        if name not in available:
            parser.error(f"--pe {name}: choose from {', '.join(available)}")
    start = time.monotonic()
    results, tables, csv_rows = {}, [], []
    for name in chosen:
        reports, table, rows, ratios = compare(available[name], cycles, args.seed,
                                               not args.no_fpga, not args.quick)
        results[name] = {"reports": reports, "comparison": table, "ratios": ratios}
        tables += table
        csv_rows += rows
    print("\nAll PEs against their baselines (headline workloads)")
    print(text_table(list(tables[0]), [t for t in tables
                                       if t["workload"] == available[t["pe"]].headline], left=3))

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "qor_pe.json").write_text(json.dumps(
        {"cycles": cycles, "seed": args.seed, "activations": args.activations,
         "pes": results}, indent=2, default=str) + "\n")
    with open(OUT / "qor_pe.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
        writer.writeheader()
        writer.writerows(csv_rows)
    print(f"written: {(OUT / 'qor_pe.json').relative_to(REPO)}, "
          f"{(OUT / 'qor_pe.csv').relative_to(REPO)}")
    if "lut" in results and "mixpe_a8" in results:
        print("lut_vs_mixpe_*: the LUT PE (integer accumulators, no dequantization) against "
              "the MixPE group PE at W4A8 (per-group FP dequantization into fp32), per MAC: "
              "the issue's baseline, but not like for like; lut_* compares the LUT PE with "
              "the same schedule without a table")
    print(f"total {time.monotonic() - start:.0f} s")
    for name in chosen:
        c, r = available[name], results[name]
        mine, base = (r["reports"][k] for k in c.labels)
        for w in r["ratios"]:
            print(f"{name}_{w}_energy_per_mac_pj={mine['power'][w]['energy_pj_per_mac']:.4f}")
            print(f"{name}_{w}_baseline_energy_per_mac_pj="
                  f"{base['power'][w]['energy_pj_per_mac']:.4f}")
            print(f"{name}_{w}_energy_eff_ratio={r['ratios'][w][1]:.3f}")
    if "lut" in results and "mixpe_a8" in results:
        # the baseline of the LUT PE: the group PE (W4A8) at the same throughput:
        # MAC/s per um^2 and MACs per pJ are per-MAC figures, so they compare as they are
        lut = figures(results["lut"]["reports"]["lut"], "w4a8")
        mix = figures(results["mixpe_a8"]["reports"]["shift-add"], "w4a8")
        print(f"lut_vs_mixpe_area_eff_ratio={lut[1] / mix[1]:.3f}")
        print(f"lut_vs_mixpe_energy_eff_ratio={lut[3] / mix[3]:.3f}")
    # headline: each PE over its baseline at its headline workload
    for name in chosen:
        c, r = available[name], results[name]
        print(f"{name}_area_eff_ratio={r['ratios'][c.headline][0]:.3f}")
        print(f"{name}_energy_eff_ratio={r['ratios'][c.headline][1]:.3f}")


if __name__ == "__main__":
    main()
