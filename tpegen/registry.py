"""The one registry of unit kinds: each kind is one :class:`Kind` row that ties its
configuration class (parameters declared as data, :mod:`tpegen.config`) to its generator
(``hdl/``), its golden model (``golden/``) and the cocotb testbench module that checks it.

Everything else reads this table: the CLI builds its ``generate`` subcommands and flags from
it, the harness picks the testbench, the power flow and the benchmarks get the golden model
through :func:`model` / :func:`golden_stream`, and the docs' parameter tables come from
``tpegen params``. Adding a kind is one :func:`register` call here.

Generators and testbenches are named as ``"module:attribute"`` / module strings and imported
only when used, so that the CLI starts without elaborating Amaranth, and so that the product
(tpegen/) never imports ``testbenches/``: the testbench is a module the *simulator* loads.

Members
-------
Kind
    One registered kind.
register, kind, kinds
    Add, look up and list kinds.
config_from_dict
    A configuration from a manifest's ``kind`` and ``parameters``.
elaborate
    The Amaranth component of a configuration.
model
    The golden model of a configuration: a cycle model (``reset``, ``tick``) or a function.
golden_stream
    Expected ``result`` per sampling point for columns of inputs (power flow, benchmarks).
"""

import importlib
from dataclasses import dataclass

from .config import (BitSerialConfig, EngineConfig, FMacConfig, FmaConfig, FpMulConfig,
                     LMacConfig, LMulConfig, LutPeConfig, MacConfig, MixPeConfig,
                     ParameterError, SimdMacConfig)

__all__ = ["Kind", "register", "kind", "kinds", "config_from_dict", "elaborate", "model",
           "vector_model", "golden_stream"]


@dataclass(frozen=True)
class Kind:
    """One kind of unit.

    Attributes
    ----------
    name : str
        The manifest's ``kind`` and the CLI's ``generate`` subcommand.
    config : type
        Its configuration class.
    generator : str
        ``"module:Class"`` of the Amaranth component (``Class(config)``).
    testbench : str
        The cocotb test module the harness runs on it.
    golden : callable
        ``golden(config)`` -> the golden model: an object with ``reset()`` and
        ``tick(*inputs)`` (``style="cycle"``), or a function of the data inputs
        (``style="function"``, a pipeline of ``config.latency`` edges).
    style : str
        ``cycle`` or ``function``, as above.
    inputs : tuple
        The input roles the golden model takes, in order.
    vector : callable
        ``vector(config, shape)`` -> the vectorized (numpy) golden model of ``shape``
        independent lanes, bit-exact to ``golden``: a function of arrays, or a cycle model.
    help : str
        One line for the CLI.
    pe : bool
        A processing element of the mixed-precision family (``tpegen generate pe --kind``).
    formal : str
        ``"module:function"`` of its proof, ``function(config, workdir, *, vfile)``
        (``tpegen prove``); empty when it has none.
    optional : tuple
        Inputs of the golden model that some configurations have no port for (the group
        PE's ``zero`` with signed weights, ``last`` of its baseline): absent, they read 0.
    """

    name: str
    config: type
    generator: str
    testbench: str
    golden: object
    style: str
    inputs: tuple
    help: str
    formal: str = ""
    pe: bool = False
    vector: object = None
    optional: tuple = ()

    def testbench_for(self, config):
        """The testbench module of ``config`` (a handshake design runs the streaming one)."""
        if getattr(config, "handshake", False):
            return "testbenches.stream_tb"
        return self.testbench

    def generator_class(self):
        return _resolve(self.generator)

    def prover(self):
        """The proof function (see :attr:`formal`)."""
        return _resolve(self.formal)


def _resolve(target):
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


_KINDS = {}


def register(entry):
    """Add a kind (its ``config.kind`` must equal its ``name``)."""
    if entry.config.kind != entry.name:
        raise ValueError(f"{entry.config.__name__}.kind is {entry.config.kind!r}, "
                         f"registered as {entry.name!r}")
    if entry.name in _KINDS:
        raise ValueError(f"kind {entry.name!r} is registered twice")
    _KINDS[entry.name] = entry
    return entry


def kind(name):
    """The registered :class:`Kind` of ``name`` (:class:`ParameterError` if unknown)."""
    if name not in _KINDS:
        raise ParameterError(f"kind={name!r} is not allowed: choose one of "
                             + ", ".join(_KINDS))
    return _KINDS[name]


def kinds():
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def config_from_dict(kind_name, params):
    """Build a validated configuration of ``kind_name`` from a dict (a manifest's
    ``parameters``); :class:`ParameterError` for anything out of range."""
    return kind(kind_name).config.from_dict(params)


def elaborate(config, **options):
    """The Amaranth component of ``config``. A ``handshake`` configuration is the same unit
    without it, wrapped in valid/ready streams (:class:`hdl.stream.Handshake`). ``options``
    go to the generator (``terms=`` of the integer MAC inside a tree engine)."""
    cls = kind(config.kind).generator_class()
    if getattr(config, "handshake", False):
        from hdl.stream import Handshake
        return Handshake(cls(config.replace(handshake=False), **options), config)
    return cls(config, **options)


def model(config, **options):
    """The golden model of ``config`` (see :attr:`Kind.golden`); ``options`` as for
    :func:`elaborate` (``terms=``)."""
    return kind(config.kind).golden(config, **options)


def vector_model(config, shape=1, **options):
    """The vectorized golden model of ``config`` over ``shape`` lanes (a whole PE array per
    call; see :attr:`Kind.vector`); ``options`` as for :func:`elaborate` (``terms=``)."""
    return kind(config.kind).vector(config, shape, **options)


def golden_stream(config, cols, cycles):
    """Expected ``result`` at each of the ``cycles + latency`` sampling points (one per
    falling edge after reset, inputs changing there too) for input columns
    ``cols = {role: list of ints}``; ``None`` where nothing is defined yet. Integer operands
    are their natural (signed) values; results are the port's unsigned bit patterns."""
    entry = kind(config.kind)
    latency = config.latency
    out = [None] * (cycles + latency)
    golden = entry.golden(config)
    # an optional input the design has no port for (the zero point of signed weights)
    # reads as 0; any other missing column is an error
    columns = [cols[role] if role in cols or role not in entry.optional else [0] * cycles
               for role in entry.inputs]
    if entry.style == "function":
        for t in range(cycles):
            out[t + latency] = golden(*(c[t] for c in columns))
        return out
    if hasattr(golden, "outputs"):          # a model with its own registers (integer MAC)
        for t in range(cycles):
            out[t] = golden.outputs()["result"]
            golden.tick(*(c[t] for c in columns))
        out[cycles] = golden.outputs()["result"]
        return out
    for t in range(cycles):                 # accumulators: the state after each edge
        out[t + 1] = golden.tick(*(c[t] for c in columns))
    return out


# --- golden models of the kinds -----------------------------------------------------------

def _operand_formats(cfg):
    """The scalar FP models' operand-format keywords: ``a`` in ``fa``, ``b`` in ``fb``."""
    return dict(fmt_a=cfg.fa, fmt_b=cfg.fb)


def _fp_options(cfg):
    return dict(fmt_acc=cfg.facc, rounding=cfg.rounding, subnormals=cfg.subnormals,
                **_operand_formats(cfg))


def _approx(cfg):
    return dict(window=cfg.window, granularity=cfg.granularity, guard=cfg.guard,
                extension=cfg.extension)


def _mac_model(cfg, terms=1):
    from golden.mac import Mac
    return Mac(cfg, terms=terms)


def _lmul_model(cfg):
    from golden.fp.lmul import lmul
    fmt = cfg.fmt
    return lambda a, b: lmul(a, b, fmt)


def _fma_model(cfg):
    from golden.fp.fma import fma, fma_approx
    options = _fp_options(cfg)
    if cfg.normalize == "exact":
        return lambda a, b, c: fma(a, b, c, **options)
    approx = _approx(cfg)
    return lambda a, b, c: fma_approx(a, b, c, **approx, **options)


def _fmac_model(cfg, terms=1):
    from golden.fp.fma import Mac, UnnormalizedMac
    options = _fp_options(cfg)
    if terms > 1:                       # the tree engines' dot-product PE
        from golden.fp.fdot import DotMac
        return DotMac(**options)
    if cfg.unnormalized:
        return UnnormalizedMac(**options, **_approx(cfg))
    return Mac(**options, **(_approx(cfg) if cfg.normalize == "approx" else {}))


def _fpmul_model(cfg):
    from golden.fp.fma import fma
    fmt = cfg.fmt
    minus_zero = 1 << (fmt.width - 1)
    return lambda a, b: fma(a, b, minus_zero, fmt_in=fmt, fmt_acc=fmt, rounding=cfg.rounding,
                            subnormals=cfg.subnormals)


def _lmac_model(cfg):
    from golden.fp.lmul import LMac
    return LMac(fmt_in=cfg.fin, fmt_acc=cfg.facc, rounding=cfg.rounding,
                subnormals=cfg.subnormals)


def _vmac(cfg, shape, terms=1):
    from golden.vmac import MacArray
    return MacArray(cfg, shape, terms=terms)


def _vlmul(cfg, shape):
    from golden.fp.vlmul import lmul
    return lambda a, b: lmul(a, b, cfg.fmt)


def _vfma(cfg, shape):
    from golden.fp import vfma
    options = dict(fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc, rounding=cfg.rounding,
                   subnormals=cfg.subnormals)
    if cfg.normalize == "exact":
        return lambda a, b, c: vfma.fma(a, b, c, **options)
    return lambda a, b, c: vfma.fma_approx(a, b, c, **options, **_approx(cfg))


def _vfmac(cfg, shape, terms=1):
    from golden.fp import vfma
    options = dict(fmt_a=cfg.fa, fmt_b=cfg.fb, fmt_acc=cfg.facc, rounding=cfg.rounding,
                   subnormals=cfg.subnormals)
    if terms > 1:                       # the tree engines' dot-product PE
        from golden.fp.vfdot import DotMac
        return DotMac(shape, terms=terms, **options)
    if cfg.unnormalized:
        return vfma.UnnormalizedMac(shape, **options, **_approx(cfg))
    return vfma.Mac(shape, **options, **(_approx(cfg) if cfg.normalize == "approx" else {}))


def _vfpmul(cfg, shape):
    from golden.fp import vfma
    fmt = cfg.fmt
    minus_zero = 1 << (fmt.width - 1)
    return lambda a, b: vfma.fma(a, b, minus_zero, fmt_in=fmt, fmt_acc=fmt,
                                 rounding=cfg.rounding, subnormals=cfg.subnormals)


def _vlmac(cfg, shape):
    from golden.fp.vlmul import LMac
    return LMac(shape, fmt_in=cfg.fin, fmt_acc=cfg.facc, rounding=cfg.rounding,
                subnormals=cfg.subnormals)


def _simd_model(cfg):
    from golden.pe.simd import SimdMac
    return SimdMac(cfg)


def _vsimd(cfg, shape):
    from golden.pe.simd import SimdMacArray
    return SimdMacArray(cfg, shape)


def _mixpe_model(cfg):
    from golden.pe.mixpe import MixPe
    return MixPe(cfg)


def _vmixpe(cfg, shape):
    from golden.pe.mixpe import MixPe
    return MixPe(cfg, shape)


def _lut_model(cfg):
    from golden.pe.lut import LutPe
    return LutPe(cfg)


def _vlut(cfg, shape, terms=1):
    from golden.pe.lut import LutPeArray, LutWordPeArray
    return LutPeArray(cfg, shape) if terms == 1 else LutWordPeArray(cfg, shape)

def _bitserial_model(cfg):
    from golden.pe.bitserial import BitSerialPe
    return BitSerialPe(cfg)


def _vbitserial(cfg, shape):
    from golden.pe.bitserial import BitSerialPeArray
    return BitSerialPeArray(cfg, shape)


def _engine_model(cfg):
    from golden.engines import engine, pe_shape
    terms = cfg.terms
    return engine(cfg, vector_model(cfg.pe, pe_shape(cfg),
                                    **({"terms": terms} if terms > 1 else {})))


_ACC = ("a", "b", "clear", "enable")
for _entry in (
        Kind("mac", MacConfig, "hdl.mac:Mac", "testbenches.mac_tb", _mac_model, "cycle", _ACC,
             "integer multiply-accumulate unit", formal="tpegen.formal:prove", vector=_vmac),
        Kind("lmul", LMulConfig, "hdl.fp.lmul:LMul", "testbenches.fp_tb", _lmul_model,
             "function", ("a", "b"), "L-Mul multiplier (one integer addition)", vector=_vlmul),
        Kind("fma", FmaConfig, "hdl.fp.fma:Fma", "testbenches.fp_tb", _fma_model, "function",
             ("a", "b", "c"), "floating-point fused multiply-add a*b + c", vector=_vfma),
        Kind("fmac", FMacConfig, "hdl.fp.fmac:FMac", "testbenches.fp_tb", _fmac_model, "cycle",
             _ACC, "floating-point multiply-accumulate acc += a*b", vector=_vfmac),
        Kind("fpmul", FpMulConfig, "hdl.fp.fpmul:FpMul", "testbenches.fp_tb", _fpmul_model,
             "function", ("a", "b"), "exact floating-point multiplier (L-Mul baseline)", vector=_vfpmul),
        Kind("lmac", LMacConfig, "hdl.fp.lmul:LMac", "testbenches.fp_tb", _lmac_model, "cycle",
             _ACC, "L-Mul multiply-accumulate acc += lmul(a, b)", vector=_vlmac),
        Kind("simd", SimdMacConfig, "hdl.pe.simd:SimdMac", "testbenches.simd_tb", _simd_model,
             "cycle", ("a", "b", "mode", "clear", "enable"),
             "SIMD multi-precision MAC: 1 x (WxW), 2 x (W/2 x W) or 4 x (W/2 x W/2) per cycle, "
             "chosen by the mode input", formal="tpegen.formal_pe:prove_simd", vector=_vsimd,
             pe=True),
        Kind("mixpe", MixPeConfig, "hdl.pe.mixpe:MixPe", "testbenches.mixpe_tb", _mixpe_model,
             "cycle", ("a", "b", "scale", "zero", "clear", "enable", "last"),
             "mixed-precision group PE: int weights x int8/fp16/bf16 activations by "
             "shift-and-add, dequantized once per group", vector=_vmixpe, pe=True,
             optional=("zero", "last")),
        Kind("lut", LutPeConfig, "hdl.pe.lut:lut_pe", "testbenches.lut_tb", _lut_model,
             "cycle", ("a", "mode", "b", "clear", "enable"),
             "LUT mpGEMM PE (LUT Tensor Core): a symmetric half table of K activations' "
             "partial sums, shared by N columns, indexed bit-serially by the weight bits",
             vector=_vlut, pe=True),
        Kind("bitserial", BitSerialConfig, "hdl.pe.bitserial:BitSerialPe",
             "testbenches.bitserial_tb", _bitserial_model, "cycle",
             ("a", "b", "dtype", "scale", "clear", "valid", "last"),
             "bit-serial PE (BitMoD): fp16 activations x 4-bit int4/fp4/er/ea weights, one "
             "weight bit per cycle, dequantized once per group", vector=_vbitserial, pe=True,
             optional=("last",)),
        Kind("engine", EngineConfig, "hdl.engines:Engine", "testbenches.engine_tb",
             _engine_model, "cycle", ("s_axis_a", "s_axis_b", "m_axis_c"),
             "tensor engine: an array of PEs behind an AXI4-Stream GEMM interface")):
    register(_entry)
del _entry
