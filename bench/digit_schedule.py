"""What sharing one digit schedule costs the bit-serial PE in an engine (docs/engines.md,
"Multi-cycle beats").

In a systolic-os or matrix2d engine every beat of B (one row of the K x C weight tile, one
weight per PE column) holds the array for ``max(1, popcount(OR of the C weights'
magnitudes))`` cycles (zero skipping), because the PEs that share the beat cannot stall on
their own. A stand-alone PE with one lane skips the zero positions of its own weight only.
This bench draws realistic weights (Student-t with 3 degrees of freedom, K = 4096 x 64
columns), quantizes them per group of 32 along K to each 4-bit datatype with fp16 absmax
scales (:func:`golden.quant.quantize`), and counts, with the golden model's
:func:`golden.pe.bitserial.beat_cycles`, the mean cycles per beat for C = 1 .. 64 columns
sharing the schedule, against the datatype's fixed schedule without skipping.

Run: ``python bench/digit_schedule.py`` (a few seconds, no tools). Ends with
``<dtype>_c<C>_cycles_per_beat=<x>`` lines for C = 1, 4, 16.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import quant_error as qerr  # noqa: E402
from bench.tables import text_table  # noqa: E402
from golden import quant  # noqa: E402
from golden.pe.bitserial import DTYPE_MASK, DTYPES, beat_cycles  # noqa: E402
from tpegen.config import BitSerialConfig  # noqa: E402

SHARED = (1, 2, 4, 8, 16, 32, 64)
HEADLINE = (1, 4, 16)


def cycles_per_beat(seed=20261202, k=4096, n=64, group=32):
    """``{dtype: {C: mean cycles per beat}}`` (C = 0: the fixed schedule, no skipping)."""
    rng = np.random.default_rng(seed)
    W = qerr.weights("student-t", k, n, 3, rng)
    out = {}
    for code, dtype in enumerate(DTYPES):
        codes, _ = quant.quantize(W, dtype=dtype, group=group, axis=0)
        codes = np.asarray(codes, np.int64)
        cfg = BitSerialConfig(lanes=1, engine_dtype=dtype)
        row = {0: float(bin(DTYPE_MASK[code]).count("1"))}
        for C in SHARED:
            row[C] = float(beat_cycles(codes[:, :C], code, cfg).mean())
        out[dtype] = row
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    table = cycles_per_beat(args.seed)
    print(f"mean cycles per beat, Student-t(3) weights, groups of 32, seed {args.seed}")
    head = ["dtype", "no skip"] + [f"C={C}" for C in SHARED]
    print(text_table(head, [[d, row[0]] + [row[C] for C in SHARED]
                            for d, row in table.items()], float_format=".2f"))
    for dtype, row in table.items():
        for C in HEADLINE:
            print(f"{dtype}_c{C}_cycles_per_beat={row[C]:.3f}")


if __name__ == "__main__":
    main()
