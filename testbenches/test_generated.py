"""Properties of the generated Verilog and its manifest, for every grid configuration
(lint as shipped is ``test_lint.py``):

* no absolute paths, and byte-identical on regeneration (Verilog, waivers, manifest);
* the manifest validates against ``tpegen/manifest.schema.json`` and lists its files;
* the manifest's ports are exactly the Verilog module's ports (name, direction, width),
  port arrays included (lanes), and every port has a role from the documented vocabulary;
* the input roles are the ones the registry's golden model takes;
* a damaged manifest is rejected on load, before any tool runs.
"""

import json
import re
from pathlib import Path

import pytest

from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from testbenches.grid import FP_GRID, MAC_GRID, config_id
from tpegen import api, registry
from tpegen.config import MacConfig
from tpegen.formats import parse_format
from tpegen.manifest import (ROLES, ManifestError, build_manifest, read_manifest,
                             validate_manifest, verilog_ports)

REPO_STR = str(Path(__file__).resolve().parents[1])
#: A quoted or attribute path that starts at the root: "/usr/...", "/work/..", "/home/...".
ABSOLUTE = re.compile(r"(?<![\w.*/])/(?:usr|home|work|tmp|root|opt|var|mnt)/[\w./-]+")


@pytest.fixture(scope="module")
def designs(build_root):
    out = {}
    for config in MAC_GRID + FP_GRID:
        path = api.generate(config, build_root / "generated" / config.name)
        out[config.name] = (config, path)
    return out


@pytest.mark.parametrize("config", MAC_GRID + FP_GRID, ids=config_id)
def test_no_absolute_paths_and_reproducible(config, designs, tmp_path):
    _, manifest = designs[config.name]
    first_v = manifest.with_suffix(".v").read_bytes()
    first_json = manifest.read_bytes()
    for text in (first_v.decode(), first_json.decode()):
        found = ABSOLUTE.findall(text) + [REPO_STR] * text.count(REPO_STR)
        assert not found, f"absolute paths in the generated files: {found[:5]}"
    again = api.generate(config, tmp_path)
    assert again.with_suffix(".v").read_bytes() == first_v
    assert again.with_suffix(".vlt").read_bytes() == manifest.with_suffix(".vlt").read_bytes()
    assert again.read_bytes() == first_json


@pytest.mark.parametrize("config", MAC_GRID + FP_GRID, ids=config_id)
def test_manifest_matches_verilog_ports(config, designs):
    _, path = designs[config.name]
    manifest = json.loads(path.read_text())
    ports = verilog_ports(path.with_suffix(".v").read_text(), manifest["top"])
    declared = {p["name"]: (p["direction"], p["width"]) for p in manifest["ports"]}
    assert declared == ports
    for port in manifest["ports"]:
        assert port["role"] in ROLES
    assert manifest["latency"] == config.latency
    assert manifest["initiation_interval"] == 1
    assert manifest["parameters"] == config.to_dict()
    validate_manifest(manifest)
    assert [f["path"] for f in manifest["files"]] == [f"{config.name}.v", f"{config.name}.vlt"]
    inputs = {p["role"] for p in manifest["ports"] if p["direction"] == "input"}
    assert inputs == {"clk", "rst", *registry.kind(config.kind).inputs}
    outputs = {p["role"] for p in manifest["ports"] if p["direction"] == "output"}
    assert "result" in outputs and outputs <= {"result", "sum", "carry"}
    for port in manifest["ports"]:
        if port["role"] in ("a", "b", "c", "result"):
            fmt = manifest["formats"][port["name"]]
            if fmt.startswith(("int", "uint")):
                assert fmt == f"{'int' if port['signed'] else 'uint'}{port['width']}"
            else:
                assert parse_format(fmt).width == port["width"]
    assert set(manifest["input_skew"]) == {p["name"] for p in manifest["ports"]
                                           if p["direction"] == "input"} - {"clk", "rst"}


class _Lanes(wiring.Component):
    """A toy unit with a port array and a packed array, as engines will have."""

    a: In(8).array(2, 3)
    b: In(data.ArrayLayout(4, 3))
    result: Out(10)

    latency = 1
    input_skew = {"a": 1}

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.result.eq(self.a[0][0] + self.a[1][2] + self.b[2])
        return m


def test_manifest_describes_port_arrays_as_lanes(tmp_path):
    unit = _Lanes()
    config = MacConfig(name="lanes")
    text = verilog.convert(unit, name="lanes", emit_src=False)
    manifest = build_manifest(unit, config, files=[{"path": "lanes.v", "type": "verilog"}])
    validate_manifest(manifest)
    ports = verilog_ports(text, "lanes")
    assert {p["name"]: (p["direction"], p["width"]) for p in manifest["ports"]} == ports
    a = [p for p in manifest["ports"] if p["role"] == "a"]
    assert [p["lane"] for p in a] == [[i, j] for i in range(2) for j in range(3)]
    assert all(p["name"] == f"a__{p['lane'][0]}__{p['lane'][1]}" for p in a)
    assert all(manifest["input_skew"][p["name"]] == 1 for p in a)
    (b,) = [p for p in manifest["ports"] if p["role"] == "b"]
    assert b["lanes"] == {"count": 3, "width": 4, "signed": False} and b["width"] == 12
    assert manifest["formats"]["b"] == "uint4"


def test_schema_rejects_damaged_manifests(designs):
    _, path = designs[MAC_GRID[0].name]
    good = json.loads(path.read_text())
    validate_manifest(good)
    damaged = [
        ({"parameters": {**good["parameters"], "a_width": "x"}}, "a_width='x' must be an "),
        ({"parameters": {**good["parameters"], "bogus": 1}}, "unknown mac parameter"),
        ({"latency": -1}, "latency"),
        ({"ports": [{**good["ports"][0], "role": "nonsense"}]}, "ports/0/role"),
        ({"schema": 1}, "schema"),
    ]
    for change, message in damaged:
        with pytest.raises(ManifestError, match=re.escape(message)):
            validate_manifest({**good, **change})


def test_read_manifest_rejects_corrupt_files(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "missing.json")


def test_manifest_round_trips_to_config(designs):
    for config, path in designs.values():
        manifest, loaded = api.load(path)
        assert loaded == config


def test_role_vocabulary_is_documented():
    from testbenches.conftest import REPO
    text = (REPO / "docs" / "manifest.md").read_text()
    for role, meaning in ROLES.items():
        assert f"| `{role}` | {meaning} |" in text, f"role {role} is not documented"
