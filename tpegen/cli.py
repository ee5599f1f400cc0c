"""``tpegen``: generate, verify, prove, synthesize and compare tensor-engine units.

    tpegen generate mac --a-width 8 --b-width 8 --signed --acc-width 32 --mult booth4 \\
        --tree dadda --accumulate carry_save -o out/
    tpegen generate lmul --format e4m3fn -o out/lmul/
    tpegen generate fma --in bf16 --acc fp32 --depth 2 -o out/fma/
    tpegen generate fma --in bf16 --acc fp32 --normalize approx --window 16 --granularity 4 \
        --guard 3 -o out/fma_approx/
    tpegen generate fmac --in bf16 --acc fp32 -o out/fmac/
    tpegen generate lmac --in bf16 --acc fp32 -o out/lmac/
    tpegen generate fpmul --format bf16 -o out/fpmul/
    tpegen test out/                 # cocotb vs the golden model (Verilator; --sim icarus)
    tpegen prove out/                # formal equivalence with the behavioural reference
    tpegen synth out/ --json         # OSU 0.18 um area + OpenSTA timing + ECP5 Fmax
    tpegen report out/ other/        # comparison table of synthesized designs (--csv)

Exit codes: 0 success, 1 a check failed (mismatch, failed proof, tool error), 2 bad input
(a parameter out of range, a missing design), 3 a required external tool is missing.
"""

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from . import __version__, api
from .config import (ACCUMULATIONS, ACCUMULATORS, COMPRESSORS, FINAL_ADDERS, GRANULARITIES,
                     MAX_FMA_DEPTH, MAX_GUARD, MULTIPLIERS, NORMALIZATIONS, ROUNDINGS, TREES,
                     FmaConfig,
                     FMacConfig, FpMulConfig, LMacConfig, LMulConfig, MacConfig,
                     ParameterError)
from .tools import ToolMissing

EXIT_FAIL, EXIT_USAGE, EXIT_TOOL = 1, 2, 3


def _bool_pair(parser, name, help_text):
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{name}", dest=name.replace("-", "_"), action="store_true",
                       default=None, help=help_text)
    group.add_argument(f"--no-{name}", dest=name.replace("-", "_"), action="store_false")


def _add_generate(sub):
    p = sub.add_parser("generate", help="generate Verilog + manifest for a unit")
    units = p.add_subparsers(dest="unit", required=True, metavar="UNIT")
    mac = units.add_parser("mac", help="integer multiply-accumulate unit",
                           description=MacConfig.__doc__.split("\n\n")[0])
    mac.add_argument("--a-width", type=int, default=8, help="bits of a (2..32, default 8)")
    mac.add_argument("--b-width", type=int, default=8, help="bits of b (2..32, default 8)")
    mac.add_argument("--signed", dest="signed", action="store_true", default=None,
                     help="both operands two's complement (the default)")
    mac.add_argument("--unsigned", dest="signed", action="store_false",
                     help="both operands unsigned")
    _bool_pair(mac, "a-signed", "operand a two's complement (overrides --signed)")
    _bool_pair(mac, "b-signed", "operand b two's complement (overrides --signed)")
    mac.add_argument("--acc-width", type=int, default=None,
                     help="accumulator bits (a_width+b_width..128; default max(32, that))")
    mac.add_argument("--mult", default="booth4", help=f"{' | '.join(MULTIPLIERS)}")
    mac.add_argument("--tree", default="dadda", help=f"{' | '.join(TREES)}")
    mac.add_argument("--compressor", default="3:2", help=f"{' | '.join(COMPRESSORS)}")
    mac.add_argument("--accumulate", default="carry_save", help=f"{' | '.join(ACCUMULATIONS)}")
    mac.add_argument("--final-adder", default="behavioural", help=f"{' | '.join(FINAL_ADDERS)}")
    mac.add_argument("--input-reg", action="store_true", help="register a, b, clear, enable")
    mac.add_argument("--output-reg", action="store_true", help="register result")
    mac.add_argument("--name", default=None, help="Verilog module name (default: derived)")
    mac.add_argument("-o", "--out", required=True, type=Path, help="output directory")

    lmul = units.add_parser("lmul", help="L-Mul multiplier (one integer addition)",
                            description=LMulConfig.__doc__.split("\n\n")[0])
    lmul.add_argument("--format", default="bf16",
                      help="bf16 | fp16 | fp32 | e4m3fn | e5m2 | e2m1fn | eXmY | eXmYfn")
    lmul.add_argument("--name", default=None, help="Verilog module name (default: derived)")
    lmul.add_argument("-o", "--out", required=True, type=Path, help="output directory")

    fma = units.add_parser("fma", help="floating-point fused multiply-add a*b + c",
                           description=FmaConfig.__doc__.split("\n\n")[0])
    _fp_arguments(fma)
    fma.add_argument("--depth", type=int, default=2,
                     help=f"pipeline registers = latency (1..{MAX_FMA_DEPTH}, default 2)")
    fmac = units.add_parser("fmac", help="floating-point multiply-accumulate acc += a*b",
                            description=FMacConfig.__doc__.split("\n\n")[0])
    _fp_arguments(fmac)
    fmac.add_argument("--accumulator", default=None,
                      help=" | ".join(ACCUMULATORS) + ": round into the accumulator format "
                           "every step (default), or keep the sum unnormalized and round only "
                           "at the output")
    fpmul = units.add_parser("fpmul", help="exact floating-point multiplier (L-Mul baseline)",
                             description=FpMulConfig.__doc__.split("\n\n")[0])
    fpmul.add_argument("--format", default="bf16",
                       help="bf16 | fp16 | fp32 | e4m3fn | e5m2 | e2m1fn | eXmY | eXmYfn")
    fpmul.add_argument("--rounding", default="rne", help=" | ".join(ROUNDINGS))
    fpmul.add_argument("--no-subnormals", dest="subnormals", action="store_false",
                       help="flush subnormal inputs and results to zero")
    fpmul.add_argument("--name", default=None, help="Verilog module name (default: derived)")
    fpmul.add_argument("-o", "--out", required=True, type=Path, help="output directory")
    lmac = units.add_parser("lmac", help="L-Mul multiply-accumulate acc += lmul(a, b)",
                            description=LMacConfig.__doc__.split("\n\n")[0])
    _fp_arguments(lmac, approx=False)


def _fp_arguments(p, approx=True):
    formats = "bf16 | fp16 | fp32 | e4m3fn | e5m2 | e2m1fn | eXmY | eXmYfn"
    p.add_argument("--in", dest="fmt_in", default="bf16", help=f"format of a, b: {formats}")
    p.add_argument("--acc", dest="fmt_acc", default="fp32",
                   help="format of the addend/accumulator and the result (default fp32)")
    p.add_argument("--rounding", default="rne", help=" | ".join(ROUNDINGS))
    p.add_argument("--no-subnormals", dest="subnormals", action="store_false",
                   help="flush subnormal inputs and results to zero")
    p.add_argument("-o", "--out", required=True, type=Path, help="output directory")
    p.add_argument("--name", default=None, help="Verilog module name (default: derived)")
    if not approx:
        return
    p.add_argument("--normalize", default="exact", help=" | ".join(NORMALIZATIONS))
    p.add_argument("--window", type=int, default=None,
                   help="approx: leading-zero window in bits (default: the whole window)")
    p.add_argument("--granularity", type=int, default=None,
                   help="approx: shifts in multiples of " + " | ".join(map(str, GRANULARITIES)))
    p.add_argument("--guard", type=int, default=None,
                   help=f"approx: extra significand bits before the readout (0..{MAX_GUARD})")
    p.add_argument("--extension", type=int, default=None,
                   help="approx: addend bits kept below the product (0..m_acc+3; default "
                        "m_acc+3, exact)")


def _fp_config(args):
    given = {k: getattr(args, k) for k in ("window", "granularity", "guard", "depth",
                                           "normalize", "extension", "accumulator")
             if getattr(args, k, None) is not None}
    cls = {"fma": FmaConfig, "fmac": FMacConfig, "lmac": LMacConfig}[args.unit]
    return cls(fmt_in=args.fmt_in, fmt_acc=args.fmt_acc, rounding=args.rounding,
               subnormals=args.subnormals, name=args.name, **given)


def _mac_config(args):
    signed = True if args.signed is None else args.signed
    a_signed = signed if args.a_signed is None else args.a_signed
    b_signed = signed if args.b_signed is None else args.b_signed
    acc_width = args.acc_width
    if acc_width is None:
        acc_width = max(32, args.a_width + args.b_width) if isinstance(args.a_width, int) else 32
    return MacConfig(a_width=args.a_width, b_width=args.b_width, a_signed=a_signed,
                     b_signed=b_signed, acc_width=acc_width, mult=args.mult, tree=args.tree,
                     compressor=args.compressor, accumulate=args.accumulate,
                     final_adder=args.final_adder, input_reg=args.input_reg,
                     output_reg=args.output_reg, name=args.name)


def _designs(paths):
    """Manifest paths under the given files/directories (a directory may hold several)."""
    found = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in sorted(path.glob("*.json"))
                      if not p.name.endswith(".report.json")]
        else:
            raise ParameterError(f"design={str(path)!r} does not exist")
    manifests = []
    for p in found:
        try:
            if json.loads(p.read_text()).get("generator") == "tpegen":
                manifests.append(p)
        except ValueError:
            continue
    if not manifests:
        raise ParameterError(f"no tpegen manifest (*.json) found in {', '.join(map(str, paths))}"
                             "; run `tpegen generate` first")
    return manifests


def _say(message):
    print(message, file=sys.stderr, flush=True)


def cmd_generate(args):
    if args.unit == "lmul":
        config = LMulConfig(format=args.format, name=args.name)
    elif args.unit in ("fma", "fmac", "lmac"):
        config = _fp_config(args)
    elif args.unit == "fpmul":
        config = FpMulConfig(format=args.format, rounding=args.rounding,
                             subnormals=args.subnormals, name=args.name)
    else:
        config = _mac_config(args)
    manifest = api.generate(config, args.out)
    print(manifest.with_suffix(".v"))
    print(manifest)
    return 0


def cmd_test(args):
    if args.random_cycles is not None and not 0 <= args.random_cycles <= 10_000_000:
        raise ParameterError(f"random_cycles={args.random_cycles} is out of range: "
                             "allowed 0..10000000")
    for sim in args.sim:
        if sim not in ("verilator", "icarus"):
            raise ParameterError(f"sim={sim!r} is not allowed: choose verilator or icarus")
    designs = _designs(args.designs)
    for design in designs:
        for sim in args.sim:
            result = api.test(design, simulator=sim, seed=args.seed, quick=args.quick,
                              random_cycles=args.random_cycles, progress=_say)
            print(f"PASS {result['design']} on {sim}: {result.get('cycles', '?')} cycles, "
                  f"{result.get('checks', '?')} checks, "
                  f"{result.get('cycles_per_s', '?')} cycles/s, seed {args.seed}, "
                  f"{result['seconds']} s")
    return 0


def cmd_prove(args):
    for design in _designs(args.designs):
        _say(f"{design.stem}: proving")
        report = api.prove(design)
        print(f"PROVED {design.stem}: {json.dumps(report)}")
    return 0


def cmd_synth(args):
    flows = tuple(args.flows.split(","))
    for flow in flows:
        if flow not in ("asic", "ecp5", "ice40", "power"):
            raise ParameterError(f"flows={args.flows!r}: {flow!r} is not allowed; choose "
                                 "from asic, ecp5, ice40, power")
    if not 0.1 <= args.period <= 1000:
        raise ParameterError(f"period={args.period} is out of range: allowed 0.1..1000 ns")
    reports = []
    for design in _designs(args.designs):
        report = api.synth(design, flows=flows, booth=args.booth, period_ns=args.period,
                           progress=_say)
        reports.append(report)
    if args.json:
        out = [{k: v for k, v in r.items() if not k.startswith("_")} for r in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        print(_table(reports))
    return 0


COLUMNS = [
    ("design", lambda r: r["design"] + (" (synth -booth)" if r.get("variant") == "booth" else "")),
    ("area_um2", lambda r: r.get("asic", {}).get("area_um2")),
    ("cells", lambda r: r.get("asic", {}).get("cells")),
    ("crit_ns", lambda r: r.get("asic", {}).get("critical_path_ns")),
    ("adp_um2ns", lambda r: r.get("asic", {}).get("area_delay_um2_ns")),
    ("ecp5_luts", lambda r: r.get("ecp5", {}).get("luts")),
    ("ecp5_dsps", lambda r: r.get("ecp5", {}).get("dsps")),
    ("ecp5_fmax", lambda r: r.get("ecp5", {}).get("fmax_mhz")),
    ("ice40_luts", lambda r: r.get("ice40", {}).get("luts")),
    ("ice40_fmax", lambda r: r.get("ice40", {}).get("fmax_mhz")),
    ("power_mw", lambda r: r.get("power", {}).get("power_mw")),
    ("pj_per_op", lambda r: r.get("power", {}).get("energy_pj_per_op")),
]


def _rows(reports):
    return [[get(r) for _, get in COLUMNS] for r in reports]


def _table(reports, baseline=None):
    """Plain-text comparison table; ``adp_x`` is area x delay relative to the first row."""
    header = [name for name, _ in COLUMNS] + ["adp_x"]
    rows = _rows(reports)
    base = rows[0][4] if rows and rows[0][4] else None
    for row in rows:
        row.append(round(row[4] / base, 3) if base and row[4] else None)
    keep = [i for i in range(len(header)) if any(r[i] is not None for r in rows)]
    cells = [[header[i] for i in keep]] + [["-" if r[i] is None else str(r[i]) for i in keep]
                                           for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(keep))]
    lines = ["  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                       for j, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_report(args):
    reports = []
    for path in args.paths:
        path = Path(path)
        if not path.exists():
            raise ParameterError(f"paths={str(path)!r} does not exist")
        files = sorted(path.rglob("*.report.json")) if path.is_dir() else [path]
        for f in files:
            reports.append(json.loads(f.read_text()))
    if not reports:
        raise ParameterError(f"no synthesis report (*.report.json) under "
                             f"{', '.join(args.paths)}; run `tpegen synth` first")
    if args.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([name for name, _ in COLUMNS])
        writer.writerows(_rows(reports))
        print(buf.getvalue(), end="")
    else:
        print(_table(reports))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="tpegen", description=__doc__.split("\n\n")[0],
                                     epilog="Exit codes: 0 ok, 1 check failed, 2 bad input, "
                                            "3 tool missing.")
    parser.add_argument("--version", action="version", version=f"tpegen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)

    p = sub.add_parser("test", help="simulate designs against their golden models (cocotb)")
    p.add_argument("designs", nargs="+", help="manifest files or directories")
    p.add_argument("--sim", action="append", default=None,
                   help="verilator (default) or icarus; repeatable")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="5,000 random cycles, short wrap")
    p.add_argument("--random-cycles", type=int, default=None,
                   help="random cycles (default 100,000)")

    p = sub.add_parser("prove", help="formal equivalence with the behavioural reference")
    p.add_argument("designs", nargs="+", help="manifest files or directories")

    p = sub.add_parser("synth", help="area/timing (OSU 0.18 um + OpenSTA) and FPGA figures")
    p.add_argument("designs", nargs="+", help="manifest files or directories")
    p.add_argument("--flows", default="asic,ecp5",
                   help="comma list of asic, ecp5, ice40, power (power implies asic)")
    p.add_argument("--booth", action="store_true", help="use yosys `synth -booth` (baseline)")
    p.add_argument("--period", type=float, default=10.0, help="STA clock period in ns")
    p.add_argument("--json", action="store_true", help="print the report(s) as JSON")

    p = sub.add_parser("report", help="compare synthesis reports in a table")
    p.add_argument("paths", nargs="+", help="report files or directories (searched)")
    p.add_argument("--csv", action="store_true", help="CSV instead of a table")
    return parser


COMMANDS = {"generate": cmd_generate, "test": cmd_test, "prove": cmd_prove,
            "synth": cmd_synth, "report": cmd_report}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits with 2 on malformed input
    if getattr(args, "sim", "unset") is None:
        args.sim = ["verilator"]
    try:
        return COMMANDS[args.command](args)
    except ParameterError as error:
        print(f"tpegen: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ToolMissing as error:
        print(f"tpegen: error: {error}", file=sys.stderr)
        return EXIT_TOOL
    except BrokenPipeError:  # e.g. `tpegen synth out/ --json | head`
        sys.stderr.close()
        return 0
    except (AssertionError, RuntimeError) as error:
        print(f"tpegen: {args.command} failed:\n{error}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
