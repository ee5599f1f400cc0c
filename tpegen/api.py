"""tpegen's Python API: the same steps as the CLI.

>>> from tpegen import api
>>> from tpegen.config import MacConfig
>>> design = api.generate(MacConfig(mult="booth4", accumulate="carry_save"), "out/")
>>> api.lint(design)                 # verilator --lint-only -Wall on the shipped files
>>> api.test(design)                 # cocotb vs golden, Verilator
>>> api.prove(design)                # formal equivalence with the behavioural reference
>>> report = api.synth(design)       # OSU 0.18 um area + OpenSTA timing + ECP5/iCE40
"""

from pathlib import Path

from amaranth.back import verilog

from . import registry
from .manifest import build_manifest, read_manifest, write_if_changed, write_manifest
from .params import ParameterError

__all__ = ["generate", "elaborate", "load", "lint", "test", "prove", "synth", "verilog_text"]


def elaborate(config):
    """Build the Amaranth component for ``config`` (its ``kind`` picks the generator)."""
    return registry.elaborate(config)


def verilog_text(component, config):
    """Verilog of a component: no source locations, so it regenerates byte-identically."""
    return verilog.convert(component, name=config.name, emit_src=False)


def generate(config, outdir):
    """Write ``<name>.v``, its Verilator waivers ``<name>.vlt`` and its manifest
    ``<name>.json`` into ``outdir``; return the manifest path. A component with ``parts``
    (an engine's PE cell) gets each part converted once, into its own ``<part>.v`` and
    ``<part>.vlt``, instantiated by name."""
    from .lint import waivers
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    component = elaborate(config)
    texts = [(config.name, verilog_text(component, config))]  # elaborates; fills stats
    for name, part in getattr(component, "parts", ()):
        texts.append((name, verilog.convert(part, name=name, emit_src=False)))
    files = []
    for name, text in texts:
        vfile = outdir / f"{name}.v"
        write_if_changed(vfile, text)
        others = [t for n, t in texts if n != name]
        wfile = outdir / f"{name}.vlt"
        write_if_changed(wfile, waivers(text, vfile.name, others=others))
        files += [{"path": vfile.name, "type": "verilog"},
                  {"path": wfile.name, "type": "verilator-waivers"}]
    files.sort(key=lambda f: f["type"] != "verilog")     # the top's Verilog first
    manifest = build_manifest(component, config, files=files,
                              stats=getattr(component, "stats", {}))
    path = outdir / f"{config.name}.json"
    write_manifest(manifest, path)
    return path


def load(design):
    """``(manifest, config)`` of a generated design (a manifest path or its directory)."""
    manifest = read_manifest(design)
    return manifest, registry.config_from_dict(manifest["kind"], manifest["parameters"])


def design_files(manifest, type_=None):
    """Paths of the files a manifest lists (of one ``type``, e.g. ``verilog``)."""
    base = Path(manifest["_path"]).parent
    return [base / f["path"] for f in manifest["files"] if type_ in (None, f["type"])]


def lint(design):
    """``verilator --lint-only -Wall`` on the design's own files (its waiver file included);
    returns a :class:`tpegen.lint.LintResult`."""
    from .lint import lint as run_lint
    manifest = read_manifest(design)
    return run_lint(Path(manifest["_path"]).parent, top=manifest["top"])


def test(design, *, simulator="verilator", seed=1, quick=False, random_cycles=None,
         build_dir=None, progress=None):
    """Simulate a generated design against its golden model, cycle by cycle; raises
    ``SimulationFailed`` (first mismatch, seed, waveform path) on a mismatch."""
    from .harness import run_design_test
    return run_design_test(design, simulator=simulator, seed=seed, quick=quick,
                           random_cycles=random_cycles, build_dir=build_dir,
                           progress=progress)


def prove(design, *, workdir=None):
    """Formally prove a generated design equal to its reference (the behavioural MAC,
    :mod:`tpegen.formal`; a spec written in the proof, :mod:`tpegen.formal_pe`); raises
    ``EquivalenceFailed`` with a counterexample."""
    manifest, config = load(design)
    entry = registry.kind(config.kind)
    if not entry.formal:
        formal = ", ".join(k.name for k in registry.kinds() if k.formal)
        raise ParameterError(f"kind={config.kind!r} has no formal proof yet (only {formal}); "
                             "its simulation tests cover every operand pair of 8-bit formats")
    if workdir is None:
        workdir = Path(manifest["_path"]).parent / "formal"
    vfile = design_files(manifest, "verilog")[0]
    return entry.prover()(config, workdir, vfile=vfile)


def synth(design, *, flows=("asic", "ecp5"), **options):
    """Synthesize a generated design; returns the report dict and writes
    ``<name>.report.json`` beside it."""
    from synth.flow import synthesize
    return synthesize(design, flows=flows, **options)
