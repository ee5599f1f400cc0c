"""The cocotb mode's checker process: reads blocks of raw observed port values (the
simulator's bit strings, one column per port) from stdin, converts them with numpy and
checks every cycle against TraceModel (:class:`BlockChecker`). At the end (or at the first
mismatch) it writes one JSON line to stdout: ``{"checks", "mismatch", "profile"}``.

Usage: python -m bench.engine_trace.worker <manifest.json>
"""

import json
import pickle
import sys
import time

import numpy as np


def main():
    from bench.engine_trace.common import BlockChecker, geometry, lanes_from_binstr
    from testbenches.common.tb import Mismatch
    from tpegen.manifest import read_manifest
    manifest = read_manifest(sys.argv[1])
    g = geometry(manifest)
    s = g["streams"]
    checker = BlockChecker(manifest)
    stdin = sys.stdin.buffer
    mismatch = None
    prof = {"decode": 0.0, "check": 0.0, "wait": 0.0}

    def bit(raw):
        return np.frombuffer(raw, np.uint8) == 49

    while True:
        t0 = time.monotonic()
        try:
            blk = pickle.load(stdin)
        except EOFError:
            break
        if blk is None:
            break
        t1 = time.monotonic()
        T = blk["T"]
        (av, al, ad, bv, bl, bd, cr, rs) = blk["in"]
        (ar, br, cv, cl, cd, st) = blk["out"]
        try:
            inp = {"a_valid": bit(av), "a_last": bit(al),
                   "a": lanes_from_binstr(ad, T, s["a"]["width"], s["a"]["lane_width"],
                                          s["a"]["count"]),
                   "b_valid": bit(bv), "b_last": bit(bl),
                   "b": lanes_from_binstr(bd, T, s["b"]["width"], s["b"]["lane_width"],
                                          s["b"]["count"]),
                   "c_ready": bit(cr), "rst": bit(rs)}
            got = {"a_ready": bit(ar), "b_ready": bit(br), "c_valid": bit(cv),
                   "c_last": bit(cl),
                   "c_data": lanes_from_binstr(cd, T, s["c"]["width"], s["c"]["lane_width"],
                                               s["c"]["count"]),
                   "state": lanes_from_binstr(st, T, g["state"]["width"],
                                              g["state"]["lane_width"], g["state"]["count"])}
            t2 = time.monotonic()
            checker.check(inp, got)
        except (Mismatch, ValueError) as e:
            mismatch = str(e)
            break
        t3 = time.monotonic()
        prof["wait"] += t1 - t0
        prof["decode"] += t2 - t1
        prof["check"] += t3 - t2
    sys.stdout.write(json.dumps({"checks": checker.checks, "mismatch": mismatch,
                                 "profile": prof}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
