"""The engines' scoreboard: :class:`EngineScoreboard` feeds an engine's cycle model the
inputs the testbench *observed* on the ports, cycle by cycle, and compares every output and
every PE's state with what the design showed, in numpy batches.

For the output-accumulating engines it runs the batched model
(:class:`golden.engines.trace.TraceModel`: a block of cycles per call, the integer MAC as a
segmented prefix sum); for the others, the per-cycle model's ``step``. Both are the same
spec, tested equal in ``testbenches/test_engine_golden.py``. A mismatch names the first
failing cycle, the port (for the state: the PE and its field), the observed and the expected
values, the inputs of the cycles before it and the seed.
"""

import numpy as np

from testbenches.common.tb import Mismatch

__all__ = ["EngineScoreboard", "lanes", "lane_matrix"]


def lanes(value, width, count):
    """The ``count`` lanes of ``width`` bits of a packed bus value (lane 0 low)."""
    if width in (8, 16, 32, 64):
        raw = value.to_bytes(count * width // 8, "little")
        return np.frombuffer(raw, dtype=f"<u{width // 8}").astype(np.uint64)
    mask = (1 << width) - 1
    return np.array([(value >> (k * width)) & mask for k in range(count)], np.uint64)


def lane_matrix(values, width, count):
    """``len(values) x count`` lanes of a list of packed bus values, in one conversion."""
    if width in (8, 16, 32, 64):
        n = count * width // 8
        raw = b"".join(v.to_bytes(n, "little") for v in values)
        return np.frombuffer(raw, dtype=f"<u{width // 8}").reshape(len(values), count) \
            .astype(np.uint64)
    return np.stack([lanes(v, width, count) for v in values]) if values else \
        np.zeros((0, count), np.uint64)


class EngineScoreboard:
    """Batched, cycle-by-cycle comparison of an engine with its cycle model.

    Call :meth:`add` once per cycle with the observed inputs ``(a_valid, a_last, a_data,
    b_valid, b_last, b_data, c_ready, rst)`` and outputs ``(a_ready, b_ready, c_valid,
    c_data[, state])`` of that cycle (packed buses as integers), and :meth:`flush` at the end.

    Parameters
    ----------
    model : engine cycle model
        The golden model (:func:`golden.engines.engine`).
    lanes_in : (int, int, int, int)
        Lane width and count of ``a`` and of ``b``.
    lanes_out : (int, int)
        Lane width and count of ``c``.
    state_lanes : int or None
        Lanes of the state readout (None: no readout).
    cols : int
        C, to name a PE from a state lane.
    name, seed : str, int
        For messages.
    batch : int
        Cycles per comparison.
    """

    def __init__(self, model, *, lanes_in, lanes_out, state_lanes, cols, name, seed,
                 batch=2048):
        from golden.engines import AccumulatingEngine
        self.model, self.name, self.seed, self.batch = model, name, seed, batch
        self.lanes_in, self.lanes_out, self.state_lanes = lanes_in, lanes_out, state_lanes
        self.cols = cols
        self.trace = None
        if (isinstance(model, AccumulatingEngine) and hasattr(model, "min_spacing")
                and not model.multi_cycle):     # (multi-cycle beats: the per-cycle model)
            from golden.engines.trace import TraceModel
            self.trace = TraceModel(model)
        self.inputs, self.outputs = [], []
        self.cycle0 = 0
        self.checks = 0
        self.recent = []

    def add(self, inputs, outputs):
        self.inputs.append(inputs)
        self.outputs.append(outputs)
        if len(self.inputs) >= self.batch:
            self.flush()

    def _expected(self, cols, a, b):
        if self.trace is not None:
            return self.trace.run(cols[0], cols[1], a, cols[3], cols[4], b, cols[6], cols[7])
        T = len(cols[0])
        out = {"a_ready": np.zeros(T, bool), "b_ready": np.zeros(T, bool),
               "c_valid": np.zeros(T, bool), "c_last": np.zeros(T, bool),
               "c_data": np.zeros((T, self.lanes_out[1]), np.uint64),
               "state": np.zeros((T, self.state_lanes or 0), np.uint64)}
        for t in range(T):
            if self.state_lanes:
                out["state"][t] = self.model.state()
            ar, br, cv, cd, cl = self.model.step(cols[0][t], cols[1][t], a[t], cols[3][t],
                                                 cols[4][t], b[t], cols[6][t], cols[7][t])
            out["a_ready"][t], out["b_ready"][t], out["c_valid"][t] = ar, br, cv
            out["c_data"][t], out["c_last"][t] = cd, cl
        return out

    def flush(self):
        if not self.inputs:
            return
        wa, na, wb, nb = self.lanes_in
        wr, nr = self.lanes_out
        cols = list(zip(*self.inputs))
        a = lane_matrix(list(cols[2]), wa, na)
        b = lane_matrix(list(cols[5]), wb, nb)
        exp = self._expected(cols, a, b)
        obs = list(zip(*self.outputs))
        got = {k: np.array(obs[n], bool) for n, k in enumerate(("a_ready", "b_ready",
                                                                 "c_valid"))}
        got["c_data"] = lane_matrix(list(obs[3]), wr, nr)
        got["c_last"] = np.array(obs[4], bool)
        bad = {}
        for k in ("a_ready", "b_ready", "c_valid"):
            bad[k] = np.flatnonzero(got[k] != exp[k])
        valid = exp["c_valid"] & got["c_valid"]
        bad["c_data"] = np.flatnonzero(valid & np.any(got["c_data"] != exp["c_data"], axis=1))
        bad["c_last"] = np.flatnonzero(valid & (got["c_last"] != exp["c_last"]))
        if self.state_lanes:
            got["state"] = lane_matrix(list(obs[5]), wr, self.state_lanes)
            bad["state"] = np.flatnonzero(np.any(got["state"] != exp["state"], axis=1))
        first = min((int(v[0]), k) for k, v in bad.items() if len(v)) if any(
            len(v) for v in bad.values()) else None
        if first is not None:
            self._fail(first[0], first[1], got, exp, cols)
        self.checks += len(self.inputs)
        self.recent = [tuple(c[-4:]) for c in cols]     # for a message in the next block
        self.cycle0 += len(self.inputs)
        self.inputs, self.outputs = [], []

    def _fail(self, t, what, got, exp, cols):
        cycle = self.cycle0 + t
        port = {"a_ready": "s_axis_a_tready", "b_ready": "s_axis_b_tready",
                "c_valid": "m_axis_c_tvalid", "c_data": "m_axis_c_tdata",
                "c_last": "m_axis_c_tlast"}.get(what, "dbg_state")
        observed, expected = got[what][t], exp[what][t]
        if what == "state":
            lanes_bad = np.flatnonzero(observed != expected)[:4]
            per_field = self.model.R * self.model.C
            where = [(int(k) // per_field, (int(k) % per_field) // self.cols,
                      int(k) % self.cols) for k in lanes_bad]
            port = f"dbg_state of (field, i, j) {where}"
            observed, expected = observed[lanes_bad], expected[lanes_bad]
        lo = max(0, t - 4)
        before = [tuple(int(cols[k][u]) for k in (0, 1, 3, 4, 6, 7)) for u in range(lo, t)]
        raise Mismatch(f"MISMATCH {self.name} cycle {cycle}: {port}: observed "
                       f"{np.asarray(observed).tolist()}, expected "
                       f"{np.asarray(expected).tolist()}; inputs of the cycles before (a_valid, "
                       f"a_last, b_valid, b_last, c_ready, rst): {before}; seed {self.seed}")
