"""A small reader for the parts of a liberty file that a toggle-count power estimate needs
(cell area and leakage, pin direction and capacitance, ``internal_power`` tables), and the
estimate itself (:func:`toggle_power`).

Energy of one toggle of a net driven by cell output ``o``, with load ``C`` (the input pin
capacitances of the net's loads):

* internal: the mean over ``o``'s ``internal_power`` groups of ``(rise + fall) / 2``,
  interpolated at the nominal input slew and at ``C``;
* switching: ``C * V**2 / 2``;

plus, per toggle of an input pin with its own ``internal_power`` (a flip-flop's clock), its
``(rise + fall) / 2`` at the nominal slew, and every cell's leakage. Energies are in the
liberty's units (pF x V^2 = pJ), leakage in nW.
"""

import re
from bisect import bisect_right
from pathlib import Path

__all__ = ["read_liberty", "toggle_power"]

NOMINAL_SLEW_NS = 0.1


def _numbers(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?", text)]


def _block(text, start):
    """End index of the brace block opening at or after ``start``."""
    depth, i = 0, text.index("{", start)
    while True:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def _table(text):
    """``(index_1, index_2 or None, rows)`` of a rise_power/fall_power group body."""
    i1 = re.search(r"index_1\s*\(\s*\"([^\"]*)\"", text)
    i2 = re.search(r"index_2\s*\(\s*\"([^\"]*)\"", text)
    values = re.search(r"values\s*\((.*?)\)\s*;", text, re.S)
    if not values:
        return None
    flat = _numbers(values.group(1))
    x = _numbers(i1.group(1)) if i1 else [0.0]
    y = _numbers(i2.group(1)) if i2 else None
    cols = len(y) if y else 1
    rows = [flat[r * cols:(r + 1) * cols] for r in range(len(flat) // cols)]
    return x, y, rows


def _interp(axis, value):
    """(lower index, fraction) of ``value`` on ``axis`` (clamped)."""
    if len(axis) == 1 or value <= axis[0]:
        return 0, 0.0
    if value >= axis[-1]:
        return len(axis) - 2, 1.0
    i = bisect_right(axis, value) - 1
    return i, (value - axis[i]) / (axis[i + 1] - axis[i])


def _lookup(table, slew, load):
    x, y, rows = table
    i, fx = _interp(x, slew)
    i2 = min(i + 1, len(rows) - 1)
    if y is None:
        return rows[i][0] * (1 - fx) + rows[i2][0] * fx
    j, fy = _interp(y, load)
    j2 = min(j + 1, len(y) - 1)

    def at(r):
        return rows[r][j] * (1 - fy) + rows[r][j2] * fy
    return at(i) * (1 - fx) + at(i2) * fx


def read_liberty(path):
    """``(nominal voltage, {cell: {"area", "leakage", "pins": {pin: {...}}}})``."""
    text = Path(path).read_text()
    voltage = float(re.search(r"nom_voltage\s*:\s*([\d.]+)", text).group(1))
    cells = {}
    for match in re.finditer(r"\bcell\s*\(\s*\"?(\w+)\"?\s*\)", text):
        end = _block(text, match.end())
        body = text[match.end():end]
        cell = {"area": 0.0, "leakage": 0.0, "pins": {}}
        area = re.search(r"\barea\s*:\s*([\d.]+)", body)
        leak = re.search(r"cell_leakage_power\s*:\s*([\d.eE-]+)", body)
        cell["area"] = float(area.group(1)) if area else 0.0
        cell["leakage"] = float(leak.group(1)) if leak else 0.0
        for pin_match in re.finditer(r"\bpin\s*\(\s*\"?(\w+)\"?\s*\)", body):
            pend = _block(body, pin_match.end())
            pbody = body[pin_match.end():pend]
            direction = re.search(r"direction\s*:\s*(\w+)", pbody)
            cap = re.search(r"\bcapacitance\s*:\s*([\d.eE-]+)", pbody)
            powers = []
            for ip in re.finditer(r"internal_power\s*\(\s*\)", pbody):
                iend = _block(pbody, ip.end())
                ibody = pbody[ip.end():iend]
                tables = []
                for kind in ("rise_power", "fall_power"):
                    km = re.search(kind + r"\s*\([^)]*\)\s*\{", ibody)
                    if km:
                        kend = _block(ibody, km.end() - 1)
                        table = _table(ibody[km.end():kend])
                        if table:
                            tables.append(table)
                if tables:
                    powers.append(tables)
            cell["pins"][pin_match.group(1)] = {
                "direction": direction.group(1) if direction else "input",
                "capacitance": float(cap.group(1)) if cap else 0.0,
                "internal_power": powers,
            }
        cells[match.group(1)] = cell
    return voltage, cells


def _instances(netlist_text, cells):
    """``[(cell, instance, {pin: net})]`` of the library cells in a yosys netlist."""
    out = []
    pattern = re.compile(r"^\s*(\w+)\s+(\\?\S+)\s*\((.*?)\);", re.S | re.M)
    for cell, inst, body in pattern.findall(netlist_text):
        if cell not in cells:
            continue
        pins = {p: n.strip().lstrip("\\").strip()
                for p, n in re.findall(r"\.(\w+)\(([^()]*)\)", body)}
        out.append((cell, inst, pins))
    return out


def toggle_power(netlist, liberty, toggles_per_s):
    """Power in W of a mapped netlist from per-net toggle rates (``{net: toggles/s}``):
    ``{"internal_w", "switching_w", "leakage_w", "total_w", "nets_annotated"}``."""
    voltage, cells = liberty if isinstance(liberty, tuple) else read_liberty(liberty)
    instances = _instances(Path(netlist).read_text(), cells)
    load = {}
    for cell, _, pins in instances:
        for pin, net in pins.items():
            info = cells[cell]["pins"].get(pin)
            if info and info["direction"] == "input":
                load[net] = load.get(net, 0.0) + info["capacitance"]
    internal = switching = leakage = 0.0
    annotated = 0
    for cell, _, pins in instances:
        leakage += cells[cell]["leakage"] * 1e-9
        for pin, net in pins.items():
            info = cells[cell]["pins"].get(pin)
            if not info:
                continue
            rate = toggles_per_s.get(net)
            if rate is None:
                continue
            if info["direction"] == "output":
                annotated += 1
                c = load.get(net, 0.0)
                switching += rate * 0.5 * c * voltage ** 2 * 1e-12
                groups = info["internal_power"]
                if groups:
                    e = sum(sum(_lookup(t, NOMINAL_SLEW_NS, c) for t in g) / len(g)
                            for g in groups) / len(groups)
                    internal += rate * e * 1e-12
            elif info["internal_power"]:
                g = info["internal_power"][0]
                e = sum(_lookup(t, NOMINAL_SLEW_NS, 0.0) for t in g) / len(g)
                internal += rate * e * 1e-12
    return {"internal_w": internal, "switching_w": switching, "leakage_w": leakage,
            "total_w": internal + switching + leakage, "nets_annotated": annotated}
