"""Properties of the generated Verilog and its manifest, for every grid configuration.

* lint clean under ``verilator --lint-only -Wall`` (with the commented waivers in
  ``hdl/lint_waivers.vlt``);
* no absolute paths, and byte-identical on regeneration;
* the manifest's ports are exactly the Verilog module's ports (name, direction, width);
* every port has a role from the documented vocabulary.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest

from testbenches.common.harness import LINT_WAIVERS
from testbenches.conftest import require
from testbenches.grid import FP_GRID, MAC_GRID, config_id
from tpegen import api, tools
from tpegen.manifest import ROLES, verilog_ports

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
def test_lint_clean(config, designs):
    require("verilator")
    _, manifest = designs[config.name]
    vfile = manifest.with_suffix(".v")
    proc = subprocess.run([tools.verilator(), "--lint-only", "-Wall", str(LINT_WAIVERS),
                           str(vfile), "--top-module", config.name],
                          env=tools.verilator_env(), capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_waivers_are_commented():
    lines = LINT_WAIVERS.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("lint_off"):
            assert i > 0 and lines[i - 1].startswith("//"), f"waiver without a reason: {line}"
    assert any(line.startswith("lint_off") for line in lines)


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
    roles = {p["role"] for p in manifest["ports"]}
    if config.kind == "fpmul":
        assert roles == {"clk", "rst", "a", "b", "result"}
        return
    if config.kind == "lmul":
        assert roles == {"clk", "rst", "a", "b", "result"}
        assert manifest["formats"] == {"a": config.format, "b": config.format,
                                       "result": config.format}
        return
    if config.kind in ("fmac", "lmac"):
        assert roles == {"clk", "rst", "a", "b", "clear", "enable", "result"}
        return
    if config.kind == "fma":
        assert roles == {"clk", "rst", "a", "b", "c", "result"}
        assert manifest["formats"] == {"a": config.fmt_in, "b": config.fmt_in,
                                       "c": config.fmt_acc, "result": config.fmt_acc}
        return
    expected = {"clk", "rst", "a", "b", "clear", "enable", "result"}
    if config.accumulate == "carry_save":
        expected |= {"sum", "carry"}
    assert roles == expected


def test_manifest_round_trips_to_config(designs):
    for config, path in designs.values():
        manifest, loaded = api.load(path)
        assert loaded == config


def test_role_vocabulary_is_documented():
    from testbenches.conftest import REPO
    text = (REPO / "docs" / "manifest.md").read_text()
    for role, meaning in ROLES.items():
        assert f"| `{role}` | {meaning} |" in text, f"role {role} is not documented"
