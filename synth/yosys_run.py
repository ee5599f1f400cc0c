"""Run a yosys script with pyosys: ``python -m synth.yosys_run -s script.ys``.

pyosys is the native yosys wheel (with ABC); running it in a child process keeps its log on
that process's stdout and isolates the caller from a crash.
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m synth.yosys_run")
    parser.add_argument("-s", dest="script", required=True, help="yosys script file")
    args = parser.parse_args(argv)
    from pyosys import libyosys as ys
    ys.run_pass(f"script {args.script}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
