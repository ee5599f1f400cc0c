"""Run a GEMM of any size on a generated tensor engine, in simulation, through a tiling driver.

:func:`run_gemm` cuts ``C = A @ B`` into the tiles the engine takes, streams them back to back
(or one at a time, ``schedule="folds"``) through its AXI4-Stream interface in a cocotb
simulation (:mod:`tpegen.gemm_tb`, Verilator by default) and puts the result rows back
together; it returns ``C`` and the cycle count the simulation measured. ``tpegen gemm`` is
its command line.

How a tile travels is read from the design, not assumed: the manifest's ``engine`` section
gives the array (``rows`` R, ``cols`` C), ``ports`` the lane layouts and ``formats`` the
number formats, and the engine's cycle model (:mod:`golden.engines`, built from the manifest's
parameters) gives the tile's operand shapes (``tile_shapes``), the beats of each stream
(``a_beats``, ``b_beats``) and the rows the result stream sends (``result_rows``). A
dimension of the tile that follows the stream length (K for the output-accumulating
engines, whose tile is A: R x K, B: K x C) is sent whole; a fixed one (R and C there) is cut
into tiles, the matrices padded with zeros and the result cut back.

Members
-------
run_gemm
    ``(C, cycles)`` of ``A @ B`` on a design.
plan
    The tiling of an ``M x K`` by ``K x N`` product on a design, without simulating.
Plan
    What :func:`plan` returns.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ParameterError
from .formats import parse_format
from .manifest import read_manifest
from .registry import config_from_dict, model
from .harness import SimulationFailed, _failures, _prepare_env, _Tail
from . import tools

__all__ = ["run_gemm", "plan", "Plan", "GemmFailed", "SIMULATORS", "SCHEDULES"]

SIMULATORS = ("verilator", "icarus")

#: how :func:`run_gemm` sends the tiles: back to back, or one at a time (SCALE-Sim's folds)
SCHEDULES = ("stream", "folds")


class GemmFailed(SimulationFailed):
    """The simulation of a GEMM did not finish, or the engine's streams misbehaved (a
    :class:`tpegen.harness.SimulationFailed`)."""

#: tpegen format names -> ml_dtypes / numpy dtype names (the same formats bit for bit)
_ML_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "fp64": "float64",
              "e4m3fn": "float8_e4m3fn", "e5m2": "float8_e5m2", "e4m3": "float8_e4m3",
              "e3m4": "float8_e3m4", "e2m1fn": "float4_e2m1fn", "e2m3fn": "float6_e2m3fn",
              "e3m2fn": "float6_e3m2fn"}


# --- the design ------------------------------------------------------------------------------

class _Lanes:
    """The lane layout of one packed data port (manifest ``ports[...].lanes``)."""

    def __init__(self, port):
        lanes = port.get("lanes") or {"count": 1, "width": port["width"],
                                      "signed": port.get("signed", False)}
        self.count, self.width = int(lanes["count"]), int(lanes["width"])
        self.signed = bool(lanes["signed"])
        self.mask = (1 << self.width) - 1

    def pack(self, beats):
        """Hex words of beats (``n x count`` unsigned lane values, lane 0 in the low bits)."""
        beats = np.asarray(beats, dtype=object).reshape(len(beats), self.count)
        words = np.zeros(len(beats), dtype=object)
        for i in range(self.count):
            words = words + ((beats[:, i] & self.mask) << (i * self.width))
        return np.array([format(int(w), "x") for w in words], dtype=str)

    def unpack(self, words):
        """``n x count`` unsigned lane values (Python ints) of hex words."""
        ints = np.array([int(w, 16) for w in words], dtype=object)
        return np.stack([(ints >> (i * self.width)) & self.mask for i in range(self.count)],
                        axis=1) if len(ints) else np.zeros((0, self.count), dtype=object)


class _Number:
    """A stream's number format: ``intN``/``uintN`` (from the lanes) or a float format."""

    def __init__(self, name, lanes):
        self.name, self.lanes = name, lanes
        self.is_int = name is None or name.startswith(("int", "uint"))
        self.fmt = None if self.is_int else parse_format(name)
        if self.is_int:
            w = lanes.width
            self.lo, self.hi = ((-(1 << (w - 1)), (1 << (w - 1)) - 1) if lanes.signed
                                else (0, (1 << w) - 1))
            if name is None:
                self.name = f"{'int' if lanes.signed else 'uint'}{w}"

    def dtype(self):
        """The ml_dtypes / numpy dtype of a float format, or None."""
        dname = _ML_DTYPES.get(self.fmt.name)
        if dname is None:
            return None
        if hasattr(np, dname) and dname.startswith("float"):
            return np.dtype(dname)
        import ml_dtypes
        return np.dtype(getattr(ml_dtypes, dname))

    def to_bits(self, values):
        """Float values -> this format's bit patterns (round to nearest, ties to even)."""
        values = np.asarray(values, dtype=np.float64)
        dtype = self.dtype()
        if dtype is not None:
            converted = values.astype(dtype)
            bits = converted.view(np.dtype(f"u{dtype.itemsize}")).astype(np.uint64)
            return bits & np.uint64(self.lanes.mask), converted.astype(np.float64)
        from fractions import Fraction

        from golden.fp.codec import Value, decode, encode

        def one(v):
            sign = int(np.signbit(v))
            if np.isnan(v):
                return encode(Value("nan", sign), self.fmt)
            if np.isinf(v):
                return encode(Value("inf", sign), self.fmt)
            if v == 0:
                return encode(Value("zero", sign), self.fmt)
            return encode(Fraction(float(v)), self.fmt, rounding="rne")
        flat = [one(v) for v in values.reshape(-1)]
        back = [_decoded(decode(b, self.fmt)) for b in flat]
        return (np.array(flat, dtype=np.uint64).reshape(values.shape),
                np.array(back, dtype=np.float64).reshape(values.shape))

    def from_bits(self, bits):
        """This format's bit patterns -> float32 (float64 for a format wider than fp32)."""
        out = np.float64 if self.fmt.width > 32 else np.float32
        dtype = self.dtype()
        bits = np.asarray(bits, dtype=np.uint64)
        if dtype is not None:
            return bits.astype(np.dtype(f"u{dtype.itemsize}")).view(dtype).astype(out)
        from golden.fp.codec import decode
        return np.array([_decoded(decode(int(b), self.fmt)) for b in bits.reshape(-1)],
                        dtype=out).reshape(bits.shape)


def _decoded(value):
    if value.kind == "nan":
        return float("nan")
    if value.kind == "inf":
        return float("-inf") if value.sign else float("inf")
    if value.kind == "zero":
        return -0.0 if value.sign else 0.0
    return float(value.exact)


class _Design:
    """What the tiling needs of a generated engine, from its manifest alone (and the cycle
    model the manifest's parameters build)."""

    def __init__(self, design):
        self.manifest = m = read_manifest(design)
        self.config = config_from_dict(m["kind"], m["parameters"])
        if m["kind"] != "engine" or "engine" not in m:
            raise ParameterError(f"design={str(m['_path'])!r} is a {m['kind']!r}, not a "
                                 "tensor engine: generate one with `tpegen generate engine`")
        self.top = m["top"]
        self.rows, self.cols = int(m["engine"]["rows"]), int(m["engine"]["cols"])
        ports = {p["name"]: p for p in m["ports"]}
        streams = {s["name"]: s for s in m["streams"]}
        for needed in ("a", "b", "c"):
            if needed not in streams:
                raise ParameterError(f"design={self.top!r} has no stream {needed!r} (streams: "
                                     f"{', '.join(sorted(streams))})")
        formats = m.get("formats", {})
        self.lanes, self.number = {}, {}
        for name in ("a", "b", "c"):
            port = streams[name]["data"][0]
            self.lanes[name] = _Lanes(ports[port])
            self.number[name] = _Number(formats.get(port), self.lanes[name])
        self.is_int = all(self.number[n].is_int for n in ("a", "b", "c"))
        self.model = model(self.config)
        pe = m["parameters"]["pe"]
        self.pe_kind = pe["kind"]
        self.acc_width = pe["parameters"].get("acc_width") if self.pe_kind == "mac" else None
        # which tile dimensions follow the stream length: probe tile_shapes with two lengths
        probes = (1_000_003, 1_000_033)
        shapes = [self.model.tile_shapes(p) for p in probes]
        (am0, ak0), (bk0, bn0) = shapes[0]
        (am1, ak1), (bk1, bn1) = shapes[1]
        if (ak0, ak1) != (bk0, bk1):
            raise RuntimeError(f"{self.top}: tile_shapes gives A with {ak0} columns and B with "
                               f"{bk0} rows")
        #: per dimension: None (free: the stream length) or the tile's fixed size
        self.tile = {"M": None if am0 != am1 else am0, "K": None if ak0 != ak1 else ak0,
                     "N": None if bn0 != bn1 else bn0}


# --- the plan --------------------------------------------------------------------------------

@dataclass
class Plan:
    """How an ``M x K`` by ``K x N`` product is cut for a design.

    Attributes
    ----------
    M, K, N : int
        The product's shape.
    tile_m, tile_k, tile_n : int
        The operand tiles: A ``tile_m x tile_k``, B ``tile_k x tile_n`` (padded with zeros).
    m_tiles, k_chunks, n_tiles : int
        Tiles along each dimension; ``tiles`` = their product is the number the engine runs.
    k_real : int
        Columns of A (rows of B) of actual data in one chunk along K, at most ``tile_k``.
    stream_length : int
        The tile's length in beats: the ``k`` of the cycle model's ``tile_shapes(k)``,
        ``tile_cycles(k)`` and ``stream_cycles(tiles, k)`` (``tile_k`` for the
        output-accumulating engines).
    notes : list of str
        What the caller should know (a split of K for the accumulator, say).
    """

    M: int
    K: int
    N: int
    tile_m: int
    tile_k: int
    tile_n: int
    m_tiles: int
    k_chunks: int
    n_tiles: int
    k_real: int
    stream_length: int
    notes: list = field(default_factory=list)

    @property
    def tiles(self):
        return self.m_tiles * self.k_chunks * self.n_tiles


def _plan(d, M, K, N):
    notes = []
    tm = d.tile["M"] or M
    tn = d.tile["N"] or N
    fixed_k = d.tile["K"]
    k_len = fixed_k or K                 # the K one tile can carry
    k_real = min(K, k_len)
    if d.is_int and d.pe_kind == "mac" and d.acc_width is not None:
        aw, bw = d.lanes["a"].width, d.lanes["b"].width
        fit = 1 << max(0, d.acc_width - aw - bw)     # terms with aw+bw+ceil(log2 n) <= acc
        if k_real > fit:
            k_real = fit
            chunks = math.ceil(K / fit)
            notes.append(f"K={K} split into {chunks} chunks of at most {fit}: acc_width "
                         f"{d.acc_width} holds a dot product of {fit} terms of {aw}x{bw}-bit "
                         f"operands ({aw}+{bw}+ceil(log2 {fit}) <= {d.acc_width}); the chunks "
                         "are summed in Python, exactly")
    k_chunks = math.ceil(K / k_real)
    tile_k = fixed_k or k_real
    sizes = {"M": tm, "K": tile_k, "N": tn}
    free = [dim for dim in ("K", "M", "N") if d.tile[dim] is None]
    return Plan(M=M, K=K, N=N, tile_m=tm, tile_k=tile_k, tile_n=tn, m_tiles=math.ceil(M / tm),
                k_chunks=k_chunks, n_tiles=math.ceil(N / tn), k_real=k_real,
                stream_length=sizes[free[0]] if free else tile_k, notes=notes)


def plan(design, M, K, N):
    """The :class:`Plan` of an ``M x K`` by ``K x N`` product on ``design`` (a manifest or
    its directory); :class:`ParameterError` for a design that is no engine, or a size < 1."""
    for name, value in (("M", M), ("K", K), ("N", N)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name}={value!r} is out of range: allowed 1 and more")
    return _plan(_Design(design), int(M), int(K), int(N))


# --- the operands ----------------------------------------------------------------------------

def _matrix(name, X, shape_text):
    try:
        X = np.asarray(X)
    except Exception as error:  # noqa: BLE001 -- anything numpy refuses is bad input
        raise ParameterError(f"{name}: not an array ({error})") from None
    if X.ndim != 2:
        raise ParameterError(f"{name}: a 2-D array ({shape_text}) is required, got shape "
                             f"{tuple(X.shape)}")
    if 0 in X.shape:
        raise ParameterError(f"{name}: shape {tuple(X.shape)} is empty: each dimension must "
                             "be at least 1")
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"{name}: dtype {X.dtype} is not allowed: pass integers or real "
                             "numbers")
    return X


def _int_operand(name, X, number):
    """Integer values of ``X`` (exact, int64 or object) within ``number``'s range."""
    if X.dtype.kind == "f":
        if not np.all(np.isfinite(X)) or not np.all(X == np.round(X)):
            raise ParameterError(f"{name}: the PE takes {number.name} integers "
                                 f"({number.lo}..{number.hi}); got non-integer values")
    lo, hi = X.min(), X.max()
    if lo < number.lo or hi > number.hi:
        bad = lo if lo < number.lo else hi
        where = tuple(int(i) for i in np.argwhere(X == bad)[0])
        raise ParameterError(f"{name}: values must be {number.name} integers in "
                             f"{number.lo}..{number.hi}; found {bad.item()} at {where}")
    return X.astype(np.int64)


def _fp_operand(name, X, number):
    """``(bits, values)`` of ``X`` rounded into ``number``'s format (RNE)."""
    with np.errstate(over="ignore", invalid="ignore"):
        bits, back = number.to_bits(X.astype(np.float64))
    overflow = np.isfinite(X) & ~np.isfinite(back)
    if np.any(overflow):
        where = tuple(int(i) for i in np.argwhere(overflow)[0])
        raise ParameterError(f"{name}: {X[where].item()} at {where} is out of the range of "
                             f"{number.name} (max {float(number.fmt.max_finite):g})")
    return bits


# --- the run ---------------------------------------------------------------------------------

def run_gemm(design, A, B, *, simulator="verilator", progress=None, build_dir=None,
             schedule="stream"):
    """``C = A @ B`` on a generated tensor engine, in simulation; returns ``(C, cycles)``.

    ``A`` (M x K) and ``B`` (K x N) may have any size: they are cut into the engine's tiles
    (padded with zeros; the result is cut back), which are streamed back to back through the
    AXI4-Stream interface with the result stream's ``tready`` held high (or one at a time:
    ``schedule``).

    Parameters
    ----------
    design : path
        The engine's manifest, or the directory holding it (``tpegen generate engine``).
    A, B : array_like
        2-D, ``A.shape[1] == B.shape[0]``. For an integer PE, integers within the operand
        formats' ranges (e.g. -128..127 for int8; floats with integral values are taken). For
        a floating-point PE (the manifest's ``formats`` of ``s_axis_a_tdata`` etc., e.g.
        bf16), real numbers: each is rounded to the operand format (round to nearest, ties
        to even, with ml_dtypes); a finite value beyond the format's range is an error.
    simulator : str
        ``verilator`` (default) or ``icarus``.
    progress : callable, optional
        Called with one line per step (the tiling, the build, the simulation's progress with
        its cycles/s, and a split of K when the accumulator needs one).
    build_dir : path, optional
        Where the simulator builds and runs (default ``<design dir>/sim/gemm-<simulator>``);
        one run at a time per directory.
    schedule : str
        ``stream`` (default): the tiles back to back, each stream's next beat offered as soon
        as the last one is taken, so tiles overlap in the array (the cycle model's
        ``stream_cycles(tiles, k)``). ``folds``: one tile at a time, SCALE-Sim's model (its
        folds do not overlap): a tile's beats are offered from the cycle right after the
        previous tile's last result row was transferred, so the count is exactly ``tiles *
        tile_cycles(k)`` (``k`` = :attr:`Plan.stream_length`) whenever the engine takes a
        tile's first beat as soon as it is offered.

    Returns
    -------
    (C, cycles)
        ``C`` (M x N). Integer PE: the exact product ``A @ B`` as int64 (object, Python ints,
        when it could exceed int64). The hardware accumulates modulo ``2**acc_width``; so
        that nothing wraps, every dot product it computes has at most ``2**(acc_width -
        a_width - b_width)`` terms (``acc_width >= a_width + b_width + ceil(log2 K)``,
        checked up front from the manifest); a longer K is split into chunks that fit and
        the chunk results are summed in Python with exact integers (reported through
        ``progress``). Floating-point PE: float32 (float64 for a wider result format), decoded
        from the result format; with the whole of K in one tile (the output-accumulating
        engines) it is exactly what the hardware computed, in its accumulation order; partial
        results of several K chunks are summed in float64. ``cycles``: clock cycles from the
        first input transfer to the last output transfer, inclusive.

    Raises
    ------
    ParameterError
        Bad input (shapes, values, the design, the simulator): one line naming it.
    ToolMissing
        The simulator is not installed.
    GemmFailed
        The simulation did not finish, or the engine's streams misbehaved (tlast, row count).
    """
    if simulator not in SIMULATORS:
        raise ParameterError(f"simulator={simulator!r} is not allowed: choose one of "
                             + ", ".join(SIMULATORS))
    if schedule not in SCHEDULES:
        raise ParameterError(f"schedule={schedule!r} is not allowed: choose one of "
                             + ", ".join(SCHEDULES))
    A = _matrix("A", A, "M x K")
    B = _matrix("B", B, "K x N")
    if A.shape[1] != B.shape[0]:
        raise ParameterError(f"B: shape {tuple(B.shape)} does not match A {tuple(A.shape)}: "
                             f"B must have K={A.shape[1]} rows (A.shape[1] == B.shape[0])")
    d = _Design(design)
    M, K = A.shape
    N = B.shape[1]
    if d.is_int:
        Ai = _int_operand("A", A, d.number["a"])
        Bi = _int_operand("B", B, d.number["b"])
    else:
        if d.number["a"].is_int or d.number["b"].is_int or d.number["c"].is_int:
            raise ParameterError(f"design={d.top!r} mixes integer and float streams "
                                 f"({d.number['a'].name}, {d.number['b'].name}, "
                                 f"{d.number['c'].name}): not supported")
        Ai = _fp_operand("A", A, d.number["a"])
        Bi = _fp_operand("B", B, d.number["b"])
    p = _plan(d, M, K, N)
    say = progress or (lambda line: None)
    say(f"{d.top}: M={M} K={K} N={N} on {d.rows} x {d.cols}: {p.tiles} tiles "
        f"({p.m_tiles} x {p.n_tiles}" + (f" x {p.k_chunks} K chunks" if p.k_chunks > 1 else "")
        + f") of A {p.tile_m} x {p.tile_k}, B {p.tile_k} x {p.tile_n}")
    for note in p.notes:
        say(note)

    # the tiles, in order: (mi, ni, kc)
    Mp, Np = p.m_tiles * p.tile_m, p.n_tiles * p.tile_n
    Kp = p.k_chunks * p.tile_k
    Ap = np.zeros((Mp, Kp), dtype=np.uint64 if not d.is_int else np.int64)
    Bp = np.zeros((Kp, Np), dtype=Ap.dtype)
    for kc in range(p.k_chunks):                     # chunk kc: k_real real columns, padded
        lo, hi = kc * p.k_real, min(K, (kc + 1) * p.k_real)
        Ap[:M, kc * p.tile_k:kc * p.tile_k + hi - lo] = Ai[:, lo:hi]
        Bp[kc * p.tile_k:kc * p.tile_k + hi - lo, :N] = Bi[lo:hi, :]
    beats = {"a": [], "b": []}
    last = {"a": [], "b": []}
    tiles, tile_rows = [], []
    for mi in range(p.m_tiles):
        for ni in range(p.n_tiles):
            for kc in range(p.k_chunks):
                At = Ap[mi * p.tile_m:(mi + 1) * p.tile_m, kc * p.tile_k:(kc + 1) * p.tile_k]
                Bt = Bp[kc * p.tile_k:(kc + 1) * p.tile_k, ni * p.tile_n:(ni + 1) * p.tile_n]
                for name, got in (("a", d.model.a_beats(At)), ("b", d.model.b_beats(Bt))):
                    beats[name] += [np.asarray(beat).reshape(-1) for beat in got]
                    last[name] += [0] * (len(got) - 1) + [1]
                rows = d.model.result_rows(At, Bt)
                rows = rows if isinstance(rows, (int, np.integer)) else len(rows)
                if rows != p.tile_m:
                    raise RuntimeError(f"{d.top}: the result stream sends {rows} rows per tile, "
                                       f"the tile of A has {p.tile_m}")
                tiles.append((mi, ni, kc))
                tile_rows.append(int(rows))
    words = {}
    for name in ("a", "b"):
        lanes = d.lanes[name]
        lane_bits = [[int(v) & lanes.mask for v in beat] for beat in beats[name]]
        if any(len(b) != lanes.count for b in lane_bits):
            raise RuntimeError(f"{d.top}: a beat of stream {name} has "
                               f"{len(lane_bits[0])} lanes, the port {lanes.count}")
        words[name] = lanes.pack(lane_bits)
    # a generous cycle limit: every tile alone, one after the other, twice over
    bound = 1000 + 2 * len(tiles) * d.model.tile_cycles(p.stream_length)

    result, cycles = _simulate(d, simulator, build_dir, words, last, tile_rows, bound, say,
                               folds=schedule == "folds")

    # put the rows back together
    lanes = d.lanes["c"]
    bits = lanes.unpack(result)                          # (rows, C) unsigned Python ints
    if d.is_int:
        if lanes.signed:
            bits = np.where(bits >> (lanes.width - 1), bits - (1 << lanes.width), bits)
        big = (K * max(abs(d.number["a"].lo), d.number["a"].hi)
               * max(abs(d.number["b"].lo), d.number["b"].hi)) >= (1 << 63)
        values = bits if big else bits.astype(np.int64)
        C = np.zeros((Mp, Np), dtype=object if big else np.int64)
    else:
        values = d.number["c"].from_bits(bits.astype(np.uint64))
        C = np.zeros((Mp, Np), dtype=np.float64)
    row = 0
    for (mi, ni, kc), n in zip(tiles, tile_rows):
        block = values[row:row + n]
        row += n
        C[mi * p.tile_m:mi * p.tile_m + n, ni * p.tile_n:(ni + 1) * p.tile_n] += block
    C = C[:M, :N]
    if not d.is_int:
        C = C.astype(values.dtype)
    return C, cycles


def _simulate(d, simulator, build_dir, words, last, tile_rows, bound, say, folds=False):
    """Build the design, run :mod:`tpegen.gemm_tb` on the beats; ``(row words, cycles)``."""
    from cocotb_tools.runner import get_runner
    _prepare_env(simulator)
    manifest = d.manifest
    base = Path(manifest["_path"]).parent
    if build_dir is None:
        build_dir = base / "sim" / f"gemm-{simulator}"
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    with tools.exclusive(build_dir):   # one run at a time in this folder
        tiles_in, tiles_out = build_dir / "gemm_tiles.npz", build_dir / "gemm_rows.npz"
        tiles_out.unlink(missing_ok=True)
        np.savez(tiles_in, a=words["a"], a_last=np.array(last["a"], np.uint8), b=words["b"],
                 b_last=np.array(last["b"], np.uint8), tile_rows=np.array(tile_rows, np.int64),
                 max_cycles=np.int64(bound or 0), folds=np.int64(bool(folds)))
        vfiles = [base / f["path"] for f in manifest["files"] if f["type"] == "verilog"]
        sources, build_args = vfiles, []
        if simulator == "verilator":
            sources = [base / f["path"] for f in manifest["files"]
                       if f["type"] == "verilator-waivers"] + vfiles
            build_args = ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
        say(f"{d.top}: building for {simulator}")
        start = time.monotonic()
        runner = get_runner(simulator)
        try:
            runner.build(sources=sources, hdl_toplevel=d.top, build_dir=build_dir,
                         build_args=build_args, timescale=("1ns", "1ps"),
                         log_file=build_dir / "build.log")
        except SystemExit as error:
            raise GemmFailed(f"{d.top}: the {simulator} build failed ({error}); log: "
                                   f"{build_dir / 'build.log'}") from None
        say(f"{d.top}: simulating {len(tile_rows)} tiles ({len(words['a'])} + {len(words['b'])} "
            f"beats in, {sum(tile_rows)} rows out) on {simulator}")
        results, log = build_dir / "results.xml", build_dir / "sim.log"
        results.unlink(missing_ok=True)
        log.unlink(missing_ok=True)
        env = {"TPEGEN_MANIFEST": str(Path(manifest["_path"]).resolve()),
               "TPEGEN_GEMM_TILES": str(tiles_in), "TPEGEN_GEMM_OUT": str(tiles_out)}
        tail = _Tail(log, say)
        tail.start()
        try:
            runner.test(test_module="tpegen.gemm_tb", hdl_toplevel=d.top, build_dir=build_dir,
                        test_dir=build_dir, seed=1, extra_env=env, results_xml=str(results),
                        log_file=log)
        except SystemExit:
            pass  # under pytest the runner exits on failure; the results file says what failed
        finally:
            tail.done.set()
            tail.join()
        _, failures = _failures(results)
        if failures or not tiles_out.exists():
            raise GemmFailed("\n".join([f"{d.top} on {simulator}: the GEMM run failed:"]
                                             + (failures or ["no result file written"])
                                             + [f"log: {log}"]))
        with np.load(tiles_out, allow_pickle=False) as out:
            rows, cycles = [str(w) for w in out["rows"]], int(out["cycles"])
        say(f"{d.top}: {cycles} cycles, {len(rows)} rows in {time.monotonic() - start:.1f} s")
        return rows, cycles


