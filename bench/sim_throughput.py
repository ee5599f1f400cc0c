#!/usr/bin/env python3
"""Simulation throughput: cycles checked per second against the golden model, for the int8
MAC (booth4, dadda, carry-save), under Verilator and under Icarus, in one run.

Both simulators run the same testbench (``testbenches/mac_tb.py``) with the same seed and
stimulus: all 65,536 operand pairs, ``--random-cycles`` random cycles, the accumulator-wrap
corners and a reset. Each cycle checks ``result`` and the carry-save invariant against the
golden model. The rate is the testbench's own (simulated cycles / wall time of the run,
build excluded); the build time is printed separately.

Last lines: ``verilator_cycles_per_s=<x>`` and ``icarus_cycles_per_s=<x>``.
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tpegen.harness import run_design_test  # noqa: E402
from tpegen import api, tools  # noqa: E402
from tpegen.config import MacConfig  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random-cycles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    config = MacConfig(a_width=8, b_width=8, acc_width=32, mult="booth4", tree="dadda",
                       accumulate="carry_save")
    design = api.generate(config, REPO / "build" / "bench" / "sim" / config.name)
    rates = {}
    for sim, tool in (("verilator", "verilator"), ("icarus", "iverilog")):
        if not tools.available(tool):
            print(f"{sim}: missing ({tools.HINTS[tool]})")
            rates[sim] = None
            continue
        start = time.monotonic()
        result = run_design_test(design, simulator=sim, seed=args.seed,
                                 random_cycles=args.random_cycles,
                                 progress=lambda line: print(f"  {sim}: {line}", flush=True))
        total = time.monotonic() - start
        rates[sim] = result["cycles_per_s"]
        print(f"{sim}: {result['cycles']} cycles, {result['checks']} checks, "
              f"{result['cycles_per_s']} cycles/s; build + run {total:.1f} s", flush=True)
    if rates["verilator"] and rates["icarus"]:
        print(f"verilator/icarus speed ratio: {rates['verilator'] / rates['icarus']:.1f}x")
    for sim in ("verilator", "icarus"):
        print(f"{sim}_cycles_per_s={rates[sim] if rates[sim] is not None else 'nan'}")


if __name__ == "__main__":
    main()
