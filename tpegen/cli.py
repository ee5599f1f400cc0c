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
    tpegen generate pe --kind simd --width 8 -o out/simd/     # (= generate simd ...)
    tpegen test out/                 # cocotb vs the golden model (Verilator; --sim icarus)
    tpegen prove out/                # formal equivalence with the behavioural reference
    tpegen synth out/ --json         # OSU 0.18 um area + OpenSTA timing + ECP5 Fmax
    tpegen report out/ other/        # comparison table of synthesized designs (--csv)
    tpegen gemm out/engine/ --a A.npy --b B.npy -o C.npy   # C = A @ B on an engine, simulated

Exit codes: 0 success, 1 a check failed (mismatch, failed proof, tool error), 2 bad input
(a parameter out of range, a missing design), 3 a required external tool is missing.
"""

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from . import __version__, api
from . import registry
from .manifest import read_manifest
from .params import ParameterError
from .tools import ToolMissing

EXIT_FAIL, EXIT_USAGE, EXIT_TOOL = 1, 2, 3


def _add_generate(sub, argv=()):
    """One ``generate`` subcommand per registered kind, its flags read from the kind's
    parameter declarations (:mod:`tpegen.params`). A nested configuration (an engine's
    ``--pe KIND``) adds the flags of that kind (read from ``argv``; default its first
    allowed kind), those that collide with the outer kind's prefixed ``--pe-``."""
    p = sub.add_parser("generate", help="generate Verilog + waivers + manifest for a unit")
    units = p.add_subparsers(dest="unit", required=True, metavar="KIND")
    for entry in registry.kinds():
        cls = entry.config
        unit = units.add_parser(entry.name, help=entry.help,
                                description=cls.__doc__.split("\n\n")[0])
        _add_flags(unit, cls, "", set())
        own = {d.cli_flag for d in cls.params()} | {s.flag for s in cls.shorthands}
        for declared in cls.params():
            if declared.type != "config":
                continue
            nested = _nested_kind(argv, declared)
            group = unit.add_argument_group(
                f"{declared.name} = {nested} (flags of `generate {nested}`; --{declared.name} "
                f"KIND picks another: {', '.join(declared.kinds)})")
            _add_flags(group, registry.kind(nested).config, declared.name + "__", own,
                       prefix_flag=f"--{declared.name}-")
        unit.add_argument("-o", "--out", required=True, type=Path, help="output directory")
    pes = [entry.name for entry in registry.kinds() if entry.pe]
    unit = units.add_parser("pe", help="a processing element of the mixed-precision family: "
                                       "--kind KIND, then that kind's own flags",
                            description="`generate pe --kind KIND [flags]` is `generate KIND "
                                        "[flags]`; `generate KIND --help` lists the flags.")
    unit.add_argument("--kind", required=True, metavar="{" + ",".join(pes) + "}",
                      help="the PE: " + ", ".join(pes))


def pe_argv(argv):
    """``generate pe --kind K rest`` as ``generate K rest`` (a one-line ParameterError for a
    missing or unknown kind)."""
    argv = list(argv)
    if argv[:2] != ["generate", "pe"] or any(a in ("-h", "--help") for a in argv[2:4]):
        return argv
    rest = argv[2:]
    pes = [entry.name for entry in registry.kinds() if entry.pe]
    for i, word in enumerate(rest):
        if word == "--kind" and i + 1 < len(rest) or word.startswith("--kind="):
            kind = rest[i + 1] if word == "--kind" else word.split("=", 1)[1]
            rest = rest[:i] + rest[i + (2 if word == "--kind" else 1):]
            break
    else:
        raise ParameterError("generate pe needs --kind: choose one of " + ", ".join(pes))
    if kind not in pes:
        raise ParameterError(f"kind={kind!r} is not allowed for generate pe: choose one of "
                             + ", ".join(pes))
    return ["generate", kind, *rest]


def _nested_kind(argv, declared):
    flag = declared.cli_flag
    argv = list(argv)
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in declared.kinds else declared.kinds[0]
        if word.startswith(flag + "="):
            value = word.split("=", 1)[1]
            return value if value in declared.kinds else declared.kinds[0]
    return declared.kinds[0]


def _add_flags(parser, cls, dest_prefix, taken, prefix_flag=None):
    def flag_of(flag):
        return prefix_flag + flag[2:] if prefix_flag and flag in taken else flag
    for shorthand in cls.shorthands:
        dest = dest_prefix + "short_" + shorthand.flag.lstrip("-").replace("-", "_")
        if shorthand.value is None:
            parser.add_argument(flag_of(shorthand.flag), dest=dest, default=None,
                                help=shorthand.help)
        else:
            parser.add_argument(flag_of(shorthand.flag), dest=dest, action="store_const",
                                const=True, default=None, help=shorthand.help)
    for declared in cls.params():
        if declared.type == "config":
            parser.add_argument(declared.cli_flag, dest=dest_prefix + "param_" + declared.name,
                                default=None, choices=declared.kinds, metavar="KIND",
                                help=f"{declared.help} (one of {', '.join(declared.kinds)}; "
                                     f"default {declared.kinds[0]})")
            continue
        _add_param(parser, declared, dest_prefix, flag_of(declared.cli_flag))


def _default_text(declared):
    default = declared.default
    if isinstance(default, str) and default.startswith("="):
        return default[1:]
    return "derived" if default is None else str(default).lower()


def _add_param(parser, declared, dest_prefix="", flag=None):
    dest = dest_prefix + "param_" + declared.name
    flag = flag or declared.cli_flag
    text = f"{declared.help} ({declared.allowed()}; default {_default_text(declared)})"
    if declared.type == "bool":
        group = parser.add_mutually_exclusive_group()
        group.add_argument(flag, dest=dest, action="store_const", const=True, default=None,
                           help=text)
        group.add_argument("--no-" + flag[2:], dest=dest, action="store_const", const=False)
    elif declared.type == "int":
        parser.add_argument(flag, dest=dest, type=_integer(declared.name), default=None,
                            metavar="N", help=text)
    else:
        metavar = "{" + ",".join(declared.choices) + "}" if declared.choices else "VALUE"
        parser.add_argument(flag, dest=dest, default=None, metavar=metavar, help=text)


def _integer(name):
    def parse(text):
        return int(text)
    parse.__name__ = "integer"          # argparse: "invalid integer value: 'x'" (exit 2)
    return parse


def config_from_args(args):
    """The validated configuration that a ``generate`` command line asks for."""
    return _config_from(registry.kind(args.unit).config, args, "")


def _config_from(cls, args, prefix):
    given = {}
    for declared in cls.params():
        value = getattr(args, prefix + "param_" + declared.name, None)
        if declared.type == "config":
            kind = value or declared.kinds[0]
            given[declared.name] = _config_from(registry.kind(kind).config, args,
                                                prefix + declared.name + "__")
        elif value is not None:
            given[declared.name] = value
    for shorthand in cls.shorthands:
        value = getattr(args, prefix + "short_" + shorthand.flag.lstrip("-").replace("-", "_"))
        if value is None:
            continue
        value = shorthand.value if shorthand.value is not None else value
        alias = [name for name, sets in cls.aliases.items() if tuple(sets) == shorthand.sets]
        if alias and not any(target in given for target in shorthand.sets):
            given[alias[0]] = value          # validated under the name the user gave
            continue
        for target in shorthand.sets:
            given.setdefault(target, value)
    return cls(**given)


def _designs(paths):
    """Manifest paths under the given files/directories (a directory may hold several), each
    read and validated (:func:`tpegen.manifest.read_manifest`) before any tool runs."""
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
    if not found:
        raise ParameterError(f"no tpegen manifest (*.json) found in {', '.join(map(str, paths))}"
                             "; run `tpegen generate` first")
    for manifest in found:
        read_manifest(manifest)        # ManifestError (exit 2) when damaged or invalid
    return found


def _say(message):
    print(message, file=sys.stderr, flush=True)


def cmd_generate(args):
    config = config_from_args(args)
    manifest = api.generate(config, args.out)
    for entry in json.loads(manifest.read_text())["files"]:
        print(manifest.with_name(entry["path"]))
    print(manifest)
    return 0


def cmd_lint(args):
    failed = 0
    for design in _designs(args.designs):
        result = api.lint(design)
        if result.ok:
            print(f"LINT CLEAN {design.stem}: {' '.join(map(str, result.command[1:]))}")
        else:
            failed += 1
            print(f"LINT FAILED {design.stem}:\n{result.output.rstrip()}")
    return EXIT_FAIL if failed else 0


def cmd_params(args):
    entries = [registry.kind(args.kind)] if args.kind else registry.kinds()
    described = [e.config.describe() for e in entries]
    if args.json:
        print(json.dumps(described if not args.kind else described[0], indent=2))
        return 0
    for d in described:
        print(f"### `{d['kind']}`\n\n{d['summary']}\n")
        print("| parameter | flag | type | allowed | default | meaning |")
        print("|---|---|---|---|---|---|")
        for prm in registry.kind(d["kind"]).config.params():
            print(f"| `{prm.name}` | `{prm.cli_flag}` | {prm.type} | {prm.allowed()} | "
                  f"{_default_text(prm)} | {prm.help} |")
        for c in d["constraints"]:
            print(f"\nRule: `{c['expression']}`.")
        print()
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
                           ecp5_part=args.ecp5_part, ice40_part=args.ice40_part,
                           pnr=args.pnr, hier=args.hier, progress=_say)
        reports.append(report)
    if args.json:
        out = [{k: v for k, v in r.items() if not k.startswith("_")} for r in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        print(_table(reports))
    return 0


def _load_matrix(name, path):
    """A ``.npy`` array from the command line (:class:`ParameterError` if it is missing or
    not one)."""
    import numpy as np
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{name}={str(path)!r} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 -- anything numpy cannot read is bad input
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ParameterError(f"{name}={str(path)!r} is not a .npy array ({detail})") from None


def cmd_gemm(args):
    import numpy as np

    from .gemm import plan, run_gemm
    if args.sim not in ("verilator", "icarus"):
        raise ParameterError(f"sim={args.sim!r} is not allowed: choose verilator or icarus")
    if args.out.suffix != ".npy":
        raise ParameterError(f"out={str(args.out)!r} must name a .npy file")
    design = _designs([args.design])
    if len(design) != 1:
        raise ParameterError(f"design={args.design!r} holds {len(design)} manifests: name one "
                             "of them")
    A, B = _load_matrix("a", args.a), _load_matrix("b", args.b)
    C, cycles = run_gemm(design[0], A, B, simulator=args.sim, progress=_say)
    M, K = A.shape
    N = B.shape[1]
    p = plan(design[0], M, K, N)
    manifest = read_manifest(design[0])
    R, Cc = manifest["engine"]["rows"], manifest["engine"]["cols"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, C)
    utilization = M * K * N / (cycles * R * Cc)
    print(f"GEMM {manifest['top']} on {args.sim}: M={M} K={K} N={N}, {p.tiles} tiles, "
          f"{cycles} cycles, MAC utilization {100 * utilization:.1f}% "
          f"(M*K*N / (cycles * {R} * {Cc})) -> {args.out}")
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
    ("ecp5_part", lambda r: r.get("ecp5", {}).get("part")),
    ("ecp5_fits", lambda r: r.get("ecp5", {}).get("fits")),
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


def build_parser(argv=()):
    parser = argparse.ArgumentParser(prog="tpegen", description=__doc__.split("\n\n")[0],
                                     epilog="Exit codes: 0 ok, 1 check failed, 2 bad input, "
                                            "3 tool missing.")
    parser.add_argument("--version", action="version", version=f"tpegen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub, argv)

    p = sub.add_parser("test", help="simulate designs against their golden models (cocotb)")
    p.add_argument("designs", nargs="+", help="manifest files or directories")
    p.add_argument("--sim", action="append", default=None,
                   help="verilator (default) or icarus; repeatable")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="5,000 random cycles, short wrap")
    p.add_argument("--random-cycles", type=int, default=None,
                   help="random cycles (default 100,000)")

    p = sub.add_parser("lint", help="verilator --lint-only -Wall on each design's own files")
    p.add_argument("designs", nargs="+", help="manifest files or directories")

    p = sub.add_parser("params", help="the parameters of each kind (markdown or --json)")
    p.add_argument("kind", nargs="?", default=None, help="one kind (default: all)")
    p.add_argument("--json", action="store_true", help="JSON, for sweep tools")

    p = sub.add_parser("prove", help="formal equivalence with the behavioural reference")
    p.add_argument("designs", nargs="+", help="manifest files or directories")

    p = sub.add_parser("synth", help="area/timing (OSU 0.18 um + OpenSTA) and FPGA figures")
    p.add_argument("designs", nargs="+", help="manifest files or directories")
    p.add_argument("--flows", default="asic,ecp5",
                   help="comma list of asic, ecp5, ice40, power (power implies asic)")
    p.add_argument("--booth", action="store_true", help="use yosys `synth -booth` (baseline)")
    p.add_argument("--period", type=float, default=10.0, help="STA clock period in ns")
    p.add_argument("--ecp5-part", default="25k",
                   help="ECP5 device: 25k (LFE5U-25F, default), 45k, 85k, um-25k, ...; "
                        "utilization is reported against it")
    p.add_argument("--ice40-part", default="hx8k",
                   help="iCE40 device: hx8k (default), hx1k, lp384, lp1k, lp8k, u4k, up5k")
    p.add_argument("--no-pnr", dest="pnr", action="store_false",
                   help="FPGA: yosys only (utilization from its cell counts, no Fmax)")
    p.add_argument("--hier", dest="hier", action="store_const", const=True, default=None,
                   help="engines: hierarchical ASIC synthesis (default when R*C >= 64)")
    p.add_argument("--flat", dest="hier", action="store_const", const=False,
                   help="engines: flat ASIC synthesis")
    p.add_argument("--json", action="store_true", help="print the report(s) as JSON")

    p = sub.add_parser("report", help="compare synthesis reports in a table")
    p.add_argument("paths", nargs="+", help="report files or directories (searched)")
    p.add_argument("--csv", action="store_true", help="CSV instead of a table")

    p = sub.add_parser("gemm", help="C = A @ B of any size on a generated engine, in "
                                    "simulation (tiled; prints cycles and MAC utilization)")
    p.add_argument("design", help="the engine's manifest or its directory")
    p.add_argument("--a", required=True, type=Path, metavar="A.npy", help="A (M x K), .npy")
    p.add_argument("--b", required=True, type=Path, metavar="B.npy", help="B (K x N), .npy")
    p.add_argument("-o", "--out", required=True, type=Path, metavar="C.npy",
                   help="where C (M x N) is written, .npy")
    p.add_argument("--sim", default="verilator", help="verilator (default) or icarus")
    return parser


COMMANDS = {"generate": cmd_generate, "lint": cmd_lint, "params": cmd_params,
            "test": cmd_test, "prove": cmd_prove,
            "synth": cmd_synth, "report": cmd_report, "gemm": cmd_gemm}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        argv = pe_argv(argv)
    except ParameterError as error:
        print(f"tpegen: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser(argv)
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
    except KeyboardInterrupt:
        print(f"tpegen: {args.command} interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- never a traceback; TPEGEN_DEBUG=1 shows it
        if os.environ.get("TPEGEN_DEBUG"):
            raise
        print(f"tpegen: {args.command}: internal error: {type(error).__name__}: {error} "
              "(TPEGEN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
