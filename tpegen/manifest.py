"""Design manifests (schema 2): a JSON file beside each generated design.

A manifest lets another tool drive a design without reading tpegen's Python: the top module,
the files to compile (the Verilog and its Verilator waiver file), the generator parameters,
latency, initiation interval, input skew, number formats, and for every port its name,
direction, width, signedness, *role* and, for a port array, its *lane*; streams group data
ports with their valid/ready/last handshake. Roles come from one vocabulary, :data:`ROLES`,
shared by every unit; a unit that needs a new role adds it here with its meaning.
``tpegen/manifest.schema.json`` is the JSON Schema; :func:`read_manifest` validates every
manifest against it, and its parameters against the registry, before any tool runs.

Members
-------
ROLES, SCHEMA_VERSION, SCHEMA_PATH
    The role vocabulary, the schema version written, and the JSON Schema file.
build_manifest, write_manifest, read_manifest
    Make, write and read (validated) a manifest.
ManifestError
    A manifest is missing, damaged or out of range (a :class:`ParameterError`: exit 2).
verilog_ports
    The ports a Verilog module really declares, for the tests.
"""

import functools
import json
import os
import re
from pathlib import Path

from amaranth.hdl import Shape
from amaranth.lib import data
from amaranth.lib.wiring import Flow

from .params import ParameterError

__all__ = ["ROLES", "SCHEMA_VERSION", "SCHEMA_PATH", "ManifestError", "build_manifest",
           "write_manifest", "read_manifest", "verilog_ports", "validate_manifest"]

SCHEMA_VERSION = 2
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")

#: The role vocabulary. Every port of every tpegen design has exactly one of these roles.
ROLES = {
    "clk": "clock; all registers sample on its rising edge",
    "rst": "synchronous active-high reset; zeroes every register",
    "a": "first multiplicand operand (activations in an engine)",
    "b": "second multiplicand operand (weights in an engine)",
    "c": "addend operand (FMA), or an input partial sum",
    "clear": "start a new accumulation: the accumulator's old value is dropped at this edge",
    "enable": "accumulate the current product at this edge (0: the product counts as zero)",
    "valid": "handshake: the stream's data ports carry a transaction this cycle",
    "ready": "handshake: the stream's receiver accepts a transaction this cycle (a transfer "
             "happens at a rising edge where valid and ready are both 1)",
    "last": "handshake: this transaction ends a group (a tile, a dot product)",
    "result": "the unit's numeric output (accumulator or final sum)",
    "sum": "carry-save sum row S of a redundant accumulator; S + C is the value",
    "carry": "carry-save carry row C of a redundant accumulator; S + C is the value",
    "mode": "run-time selection of a format or operation",
    "scale": "a quantization group's scale (dequantization), read when the group closes",
    "zero": "a quantization group's zero point (unsigned weights), read when the group closes",
    "dtype": "a quantization group's weight datatype (index into the manifest's dtypes)",
    "state": "debug readout of every PE's architectural state, every cycle (the manifest's "
             "engine.state lists its fields and lanes); a generator option, off for synthesis",
}


class ManifestError(ParameterError):
    """A manifest is missing, not valid JSON, not of the schema, or out of range."""


def _format(width, signed):
    return f"{'int' if signed else 'uint'}{width}"


def _lanes(name, dimensions):
    """Verilog port names and lane indices of a member with array ``dimensions``
    (Amaranth names them ``<name>__<i>[__<j>...]``)."""
    if not dimensions:
        return [(name, None)]
    out = []
    for index in range(dimensions[0]):
        for sub, rest in _lanes(f"{name}__{index}", dimensions[1:]):
            out.append((sub, [index] + (rest or [])))
    return out


def build_manifest(component, config, *, files, stats=None):
    """Manifest dict of an elaborated tpegen component.

    The component may define ``roles`` (member -> role, default: the member's name),
    ``streams`` (see docs/manifest.md), ``input_skew`` (member -> cycles relative to ``a``,
    default 0), ``formats`` (member -> number format name) and ``state_latency``. Output
    ports carry their own ``latency`` (edges from the inputs to that port). ``files`` lists
    ``{"path", "type"}``: the Verilog first.
    """
    roles = getattr(component, "roles", {})
    skew = getattr(component, "input_skew", {})
    ports = [
        {"name": "clk", "direction": "input", "width": 1, "signed": False, "role": "clk"},
        {"name": "rst", "direction": "input", "width": 1, "signed": False, "role": "rst"},
    ]
    state_latency = getattr(component, "state_latency", component.latency)
    member_ports = {}
    for name, member in component.signature.members.items():
        if not member.is_port:
            raise ValueError(f"{config.name}: member {name} is not a port")
        shape = member.shape
        packed = None
        if isinstance(shape, data.ArrayLayout):
            packed = {"count": shape.length, "width": Shape.cast(shape.elem_shape).width,
                      "signed": Shape.cast(shape.elem_shape).signed}
        cast = Shape.cast(shape)
        role = roles.get(name, name)
        if role not in ROLES:
            raise ValueError(f"{config.name}: member {name} has no role in the vocabulary")
        member_ports[name] = []
        for port_name, lane in _lanes(name, member.dimensions):
            port = {"name": port_name, "direction": "input" if member.flow == Flow.In
                    else "output", "width": cast.width, "signed": cast.signed,
                    "role": role, "member": name}
            if lane is not None:
                port["lane"] = lane[0] if len(lane) == 1 else lane
            if packed is not None:
                port["lanes"] = packed
            if port["direction"] == "output":
                port["latency"] = (state_latency if role in ("sum", "carry")
                                   else component.latency)
            ports.append(port)
            member_ports[name].append(port_name)
    inputs = [p for p in ports if p["direction"] == "input" and p["role"] not in ("clk", "rst")]
    formats = {p["name"]: _format(p["lanes"]["width"] if "lanes" in p else p["width"],
                                  p["lanes"]["signed"] if "lanes" in p else p["signed"])
               for p in ports if p["role"] in ("a", "b", "c", "result")}
    for member, fmt in getattr(component, "formats", {}).items():
        for port_name in member_ports.get(member, [member]):
            formats[port_name] = fmt
    streams = []
    for stream in getattr(component, "streams", ()):
        entry = dict(stream)
        entry["data"] = [p for m in stream["data"] for p in member_ports.get(m, [m])]
        streams.append(entry)
    for p in ports:
        for stream in streams:
            if p["name"] in stream["data"] or p["name"] in (stream.get("valid"),
                                                            stream.get("ready"),
                                                            stream.get("last")):
                p["stream"] = stream["name"]
    return {
        "schema": SCHEMA_VERSION,
        "generator": "tpegen",
        "kind": config.kind,
        "top": config.name,
        "files": files,
        "verilog": files[0]["path"],
        "parameters": config.to_dict(),
        "latency": component.latency,
        "initiation_interval": 1,
        "input_skew": {p["name"]: skew.get(p["member"], 0) for p in inputs},
        "formats": formats,
        "clock": "clk",
        "reset": {"port": "rst", "active": "high", "synchronous": True},
        "ports": ports,
        "streams": streams,
        "stats": stats or {},
        "roles": {p["role"]: ROLES[p["role"]] for p in ports},
        **({"engine": component.engine_info} if hasattr(component, "engine_info") else {}),
        **({"modes": component.modes_info} if hasattr(component, "modes_info") else {}),
    }


def write_if_changed(path, text):
    """Write ``text`` to ``path`` unless the file already holds it: an unchanged design keeps
    its timestamps, so a simulator build of it is reused. The new text is written beside the
    file and renamed over it, so a reader (another process generating or building the same
    design) never sees a half-written file."""
    path = Path(path)
    try:
        if path.read_text() == text:
            return
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_manifest(manifest, path):
    """Write the manifest (unless the file already holds exactly this text)."""
    write_if_changed(path, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


@functools.lru_cache(maxsize=1)
def _schema():
    return json.loads(SCHEMA_PATH.read_text())


def validate_manifest(data, where="manifest"):
    """Check a manifest dict against the JSON Schema and its parameters against the
    registry; raise :class:`ManifestError` with one line naming what is wrong."""
    import jsonschema
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        at = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ManifestError(f"{where}: {at}: {error.message}")
    from .registry import config_from_dict
    try:
        config_from_dict(data["kind"], data["parameters"])
    except ParameterError as error:
        raise ManifestError(f"{where}: parameters: {error}") from None
    except TypeError as error:
        raise ManifestError(f"{where}: parameters: {error}") from None


def read_manifest(path):
    """Read and validate a manifest from a ``.json`` file, or the single manifest in a
    directory; :class:`ManifestError` (exit 2) when it is missing, damaged or invalid."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        found = [p for p in found if not p.name.endswith(".report.json")]
        if len(found) != 1:
            raise ManifestError(f"{path}: expected exactly one design manifest (*.json), "
                                f"found {len(found)}; run `tpegen generate` first")
        path = found[0]
    if not path.exists():
        raise ManifestError(f"design={str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or data.get("generator") != "tpegen":
        raise ManifestError(f"{path} is not a tpegen manifest")
    validate_manifest(data, str(path))
    base = path.parent
    for entry in data["files"]:
        if not (base / entry["path"]).exists():
            raise ManifestError(f"{path}: files: {entry['path']} is missing beside it")
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
