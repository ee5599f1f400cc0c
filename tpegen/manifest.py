"""Design manifests: a JSON file beside each generated Verilog file.

A manifest lets another tool drive a design without reading tpegen's Python: top module, the
generator parameters, latency, initiation interval, input skew, number formats and, for every
port, its name, direction, width, signedness and *role*. Roles come from one vocabulary,
:data:`ROLES`, shared by every unit; a unit that needs a new role adds it here with its meaning.
"""

import json
import re
from pathlib import Path

from amaranth.hdl import Shape
from amaranth.lib.wiring import Flow

__all__ = ["ROLES", "SCHEMA_VERSION", "build_manifest", "write_manifest", "read_manifest",
           "verilog_ports"]

SCHEMA_VERSION = 1

#: The role vocabulary. Every port of every tpegen design has exactly one of these roles.
ROLES = {
    "clk": "clock; all registers sample on its rising edge",
    "rst": "synchronous active-high reset; zeroes every register",
    "a": "first multiplicand operand (activations in an engine)",
    "b": "second multiplicand operand (weights in an engine)",
    "c": "addend operand (FMA), or an input partial sum",
    "clear": "start a new accumulation: the accumulator's old value is dropped at this edge",
    "enable": "accumulate the current product at this edge (0: the product counts as zero)",
    "valid_in": "the inputs of this cycle carry data",
    "valid_out": "the outputs of this cycle carry data",
    "ready": "the unit can accept inputs this cycle",
    "result": "the unit's numeric output (accumulator or final sum)",
    "sum": "carry-save sum row S of a redundant accumulator; S + C is the value",
    "carry": "carry-save carry row C of a redundant accumulator; S + C is the value",
    "mode": "run-time selection of a format or operation",
}

_ROLE_OF_MEMBER = {"a": "a", "b": "b", "c": "c", "clear": "clear", "enable": "enable",
                   "result": "result", "sum": "sum", "carry": "carry", "mode": "mode",
                   "valid_in": "valid_in", "valid_out": "valid_out", "ready": "ready"}


def _format(width, signed):
    return f"{'int' if signed else 'uint'}{width}"


def build_manifest(component, config, *, verilog_file, stats=None):
    """Manifest dict of an elaborated tpegen component.

    Output ports may carry their own ``latency`` (edges from the inputs to that port) when it
    differs from the design's; ``input_skew`` gives, for each input, the cycle offset at which
    it must be presented relative to ``a`` (0 for every port of a scalar unit).
    """
    ports = [
        {"name": "clk", "direction": "input", "width": 1, "signed": False, "role": "clk"},
        {"name": "rst", "direction": "input", "width": 1, "signed": False, "role": "rst"},
    ]
    state_latency = getattr(component, "state_latency", component.latency)
    for name, member in component.signature.members.items():
        shape = Shape.cast(member.shape)
        port = {
            "name": name,
            "direction": "input" if member.flow == Flow.In else "output",
            "width": shape.width,
            "signed": shape.signed,
            "role": _ROLE_OF_MEMBER[name],
        }
        if port["direction"] == "output":
            port["latency"] = state_latency if name in ("sum", "carry") else component.latency
        ports.append(port)
    inputs = [p["name"] for p in ports if p["direction"] == "input" and p["role"] not in
              ("clk", "rst")]
    formats = {p["name"]: _format(p["width"], p["signed"]) for p in ports
               if p["role"] in ("a", "b", "c", "result")}
    formats.update(getattr(component, "formats", {}))  # e.g. floating-point format names
    return {
        "schema": SCHEMA_VERSION,
        "generator": "tpegen",
        "kind": config.kind,
        "top": config.name,
        "verilog": verilog_file,
        "parameters": config.to_dict(),
        "latency": component.latency,
        "initiation_interval": 1,
        "input_skew": {name: 0 for name in inputs},
        "formats": formats,
        "clock": "clk",
        "reset": {"port": "rst", "active": "high", "synchronous": True},
        "ports": ports,
        "stats": stats or {},
        "roles": {p["role"]: ROLES[p["role"]] for p in ports},
    }


def write_manifest(manifest, path):
    Path(path).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def read_manifest(path):
    """Read a manifest from a ``.json`` file, or the single manifest in a directory."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        found = [p for p in found if not p.name.endswith(".report.json")]
        if len(found) != 1:
            raise FileNotFoundError(f"{path}: expected exactly one design manifest (*.json), "
                                    f"found {len(found)}")
        path = found[0]
    data = json.loads(path.read_text())
    if data.get("generator") != "tpegen":
        raise ValueError(f"{path} is not a tpegen manifest")
    data["_path"] = str(path)
    return data


_PORT_DECL = re.compile(r"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(signed\s+)?"
                        r"(?:\[(\d+):(\d+)\]\s*)?([A-Za-z_][A-Za-z0-9_$]*)\s*;", re.M)


def verilog_ports(verilog_text, top):
    """Ports of module ``top`` as declared in Verilog: ``{name: (direction, width)}``."""
    match = re.search(rf"^module\s+{re.escape(top)}\s*\((.*?)\);(.*?)^endmodule", verilog_text,
                      re.M | re.S)
    if match is None:
        raise ValueError(f"module {top} not found")
    header = [p.strip() for p in match.group(1).split(",") if p.strip()]
    decls = {}
    for d in _PORT_DECL.finditer(match.group(2)):
        width = int(d.group(3)) - int(d.group(4)) + 1 if d.group(3) else 1
        decls[d.group(5)] = (d.group(1), width)
    missing = set(header) - set(decls)
    if missing:
        raise ValueError(f"ports without a declaration: {sorted(missing)}")
    return {name: decls[name] for name in header}
