"""Validated generator parameters, shared by ``hdl/``, ``golden/``, the CLI and the synth flow.

Every configuration is a frozen dataclass whose parameters are declared as data
(:func:`tpegen.params.param`: type, default, range or choices, help). The constructor checks
each one before any tool runs and raises :class:`ParameterError` naming the parameter and its
allowed range; dependent ranges (``acc_width >= a_width + b_width``) and rules between
parameters (:class:`~tpegen.params.Constraint`) are declared the same way. The CLI flags, the
docs' tables (``tpegen params``) and sweep tools read these declarations
(``Config.describe()``). The registry (:mod:`tpegen.registry`) ties each configuration class
to its generator, golden model and testbench; this module imports neither.
"""

import dataclasses
from dataclasses import InitVar, dataclass

from .dtypes import MIXTURE
from .formats import layout, parse_format, unnormalized_layout
from .params import Config, Constraint, ParameterError, Shorthand, param

__all__ = ["ParameterError", "MacConfig", "LMulConfig", "FmaConfig", "FMacConfig",
           "FpMulConfig", "LMacConfig", "MixPeConfig", "SimdMacConfig", "LutPeConfig",
           "BitSerialConfig",
           "EngineConfig",
           "CONFIGS", "config_class", "config_from_dict"]

MULTIPLIERS = ("behavioural", "array", "booth4")
TREES = ("wallace", "dadda")
COMPRESSORS = ("3:2", "4:2")
ACCUMULATIONS = ("cpa", "carry_save")
FINAL_ADDERS = ("behavioural", "ripple", "sklansky", "kogge_stone")
MAX_ACC_WIDTH = 128
ROUNDINGS = ("rne", "rtz")
NORMALIZATIONS = ("exact", "approx")
ACCUMULATORS = ("rounded", "unnormalized")
GRANULARITIES = (1, 2, 4, 8, 16)
MAX_FMA_DEPTH = 4
MAX_GUARD = 16
FORMAT_HELP = "bf16 | fp16 | fp32 | e4m3fn | e5m2 | e2m1fn | eXmY | eXmYfn"


def _name():
    return param("name", optional=True, help="Verilog module name (default: derived from "
                                             "the parameters)")


#: ``--signed`` / ``--unsigned``: both operands at once (integer units).
SIGN_SHORTHANDS = (Shorthand("--signed", ("a_signed", "b_signed"), "both operands two's "
                             "complement", value=True),
                   Shorthand("--unsigned", ("a_signed", "b_signed"), "both operands unsigned",
                             value=False))


@dataclass(frozen=True)
class MacConfig(Config):
    """Parameters of the integer multiply-accumulate unit (:class:`hdl.mac.Mac`).

    Parameters
    ----------
    a_width, b_width : int
        Operand widths, 2..32 bits each.
    a_signed, b_signed : bool
        Two's complement (``True``) or unsigned operand.
    acc_width : int
        Accumulator width, ``a_width + b_width``..128 (default ``max(32, a_width +
        b_width)``). The accumulator wraps modulo ``2**acc_width``.
    mult : str
        ``behavioural`` (``a*b``, the baseline), ``array`` (AND array, Baugh-Wooley signs) or
        ``booth4`` (radix-4 Booth with the sign-extension trick).
    tree : str
        ``wallace`` or ``dadda`` reduction of the partial products.
    compressor : str
        ``3:2`` counters, or ``4:2`` compressors (``wallace`` only).
    accumulate : str
        ``cpa``: ``acc <- acc + a*b`` through a carry-propagate adder every cycle.
        ``carry_save``: the TPE paper's OPT1; registered sum and carry rows re-enter the tree,
        and a final adder forms ``S + C`` for readout only.
    final_adder : str
        ``behavioural``, ``ripple``, ``sklansky`` or ``kogge_stone``.
    input_reg, output_reg : bool
        Register the inputs (``a``, ``b``, ``clear``, ``enable``) and/or the result.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    a_width: int = param("int", 8, lo=2, hi=32, help="bits of operand a")
    b_width: int = param("int", 8, lo=2, hi=32, help="bits of operand b")
    a_signed: bool = param("bool", True, help="operand a two's complement (else unsigned)")
    b_signed: bool = param("bool", True, help="operand b two's complement (else unsigned)")
    acc_width: int = param("int", "=max(32, a_width + b_width)", lo="a_width + b_width",
                           hi=MAX_ACC_WIDTH, help="accumulator bits (wraps modulo 2**acc_width)")
    mult: str = param("choice", "booth4", choices=MULTIPLIERS, help="multiplier architecture")
    tree: str = param("choice", "dadda", choices=TREES, help="partial-product reduction tree")
    compressor: str = param("choice", "3:2", choices=COMPRESSORS,
                            help="tree cells (4:2 with wallace only)")
    accumulate: str = param("choice", "carry_save", choices=ACCUMULATIONS,
                            help="cpa: adder in the loop; carry_save: S and C re-enter the tree")
    final_adder: str = param("choice", "behavioural", choices=FINAL_ADDERS,
                             help="carry-propagate adder of the readout/loop")
    input_reg: bool = param("bool", False, help="register a, b, clear, enable")
    output_reg: bool = param("bool", False, help="register result")
    name: str = _name()

    kind = "mac"
    constraints = (Constraint("compressor == '3:2' or tree == 'wallace'",
                              "compressor='4:2' is allowed only with tree='wallace' "
                              "(dadda uses 3:2 counters)"),)
    shorthands = SIGN_SHORTHANDS

    def default_name(self):
        sa = "s" if self.a_signed else "u"
        sb = "s" if self.b_signed else "u"
        parts = [f"mac_{sa}{self.a_width}x{sb}{self.b_width}_acc{self.acc_width}", self.mult]
        if self.mult != "behavioural" or self.accumulate == "carry_save":
            parts.append(self.tree + ("42" if self.compressor == "4:2" else ""))
        parts.append("cs" if self.accumulate == "carry_save" else "cpa")
        if self.final_adder != "behavioural":
            parts.append(self.final_adder)
        if self.input_reg:
            parts.append("ir")
        if self.output_reg:
            parts.append("or")
        return "_".join(parts)

    @property
    def uses_tree(self):
        """Whether the design has a compressor tree (all but behavioural + cpa)."""
        return not (self.mult == "behavioural" and self.accumulate == "cpa")

    @property
    def latency(self):
        """Clock edges from inputs at the ports to their effect on ``result``."""
        return 1 + int(self.input_reg) + int(self.output_reg)

    @property
    def result_signed(self):
        return self.a_signed or self.b_signed


@dataclass(frozen=True)
class LMulConfig(Config):
    """Parameters of the L-Mul multiplier (:class:`hdl.fp.lmul.LMul`).

    Parameters
    ----------
    format : str
        Operand and result format: ``bf16``, ``fp16``, ``fp32``, ``e4m3fn``, ``e5m2``,
        ``e2m1fn``, ``eXmY`` or ``eXmYfn`` (see :mod:`tpegen.formats`). L-Mul adds the two
        operands' ``[exponent|mantissa]`` fields as one integer, so both have this format.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    format: str = param("format", "bf16", help=f"operand and result format: {FORMAT_HELP}")
    name: str = _name()

    kind = "lmul"

    def default_name(self):
        return f"lmul_{self.format}"

    @property
    def fmt(self):
        return parse_format(self.format)

    @property
    def fa(self):
        return self.fmt

    fb = fout = fin = fa

    @property
    def latency(self):
        """The result is registered: one clock edge from the operands."""
        return 1


_APPROX = ("normalize == 'approx' or ({0} == {1!r})",
           "{0}={{{0}!r}} needs normalize='approx' (exact normalization has {0}={1!r})")


def _needs_approx(parameter, exact):
    expression, message = _APPROX
    return Constraint(expression.format(parameter, exact), message.format(parameter, exact))


def _fmt_fields():
    return dict(
        fmt_a=param("format", "bf16", flag="--a-format", help=f"format of a: {FORMAT_HELP}"),
        fmt_b=param("format", "bf16", flag="--b-format", help=f"format of b: {FORMAT_HELP}"),
        fmt_acc=param("format", "fp32", flag="--acc",
                      help="format of the addend/accumulator and of the result"),
        rounding=param("choice", "rne", choices=ROUNDINGS, help="rne (to nearest even) | rtz"),
        subnormals=param("bool", True, help="gradual underflow (else flush to zero)"),
    )


@dataclass(frozen=True)
class _Fp(Config):
    """What the FMA-datapath configurations share: per-operand formats, ``fin`` for units
    whose operands share one format, and the ``--in`` shorthand."""

    aliases = {"fmt_in": ("fmt_a", "fmt_b")}
    shorthands = (Shorthand("--in", ("fmt_a", "fmt_b"), f"format of both a and b: "
                            f"{FORMAT_HELP}"),)

    fmt_in: InitVar[str] = None
    fmt_a: str = _fmt_fields()["fmt_a"]
    fmt_b: str = _fmt_fields()["fmt_b"]
    fmt_acc: str = _fmt_fields()["fmt_acc"]
    rounding: str = _fmt_fields()["rounding"]
    subnormals: bool = _fmt_fields()["subnormals"]

    @property
    def fa(self):
        return parse_format(self.fmt_a)

    @property
    def fb(self):
        return parse_format(self.fmt_b)

    @property
    def facc(self):
        return parse_format(self.fmt_acc)

    @property
    def fin(self):
        """The multiplicand format, when ``a`` and ``b`` share one."""
        if self.fmt_a != self.fmt_b:
            raise AttributeError(f"{self.name}: a and b have different formats "
                                 f"({self.fmt_a}, {self.fmt_b}); use fa and fb")
        return self.fa

    def _formats_name(self):
        """``<a>_<acc>`` or ``<a>x<b>_<acc>``: the name part of the formats."""
        ins = self.fmt_a if self.fmt_a == self.fmt_b else f"{self.fmt_a}x{self.fmt_b}"
        return f"{ins}_{self.fmt_acc}"


def _approx_fields(extension_hi):
    return dict(
        normalize=param("choice", "exact", choices=NORMALIZATIONS,
                        help="exact, or approx (window, granularity, guard, extension)"),
        window=param("int", None, optional=True, lo=1, hi="layout.width",
                     help="approx: leading-zero window in bits (default: the whole window)"),
        granularity=param("int", 1, choices=GRANULARITIES,
                          help="approx: normalization shifts in multiples of this"),
        guard=param("int", 0, lo=0, hi=MAX_GUARD,
                    help="approx: extra significand bits kept before the readout"),
        extension=param("int", None, optional=True, lo=0, hi=extension_hi,
                        help="approx: addend bits kept below the product (default: all, "
                             "exact)"),
    )


_APPROX_RULES = (_needs_approx("granularity", 1), _needs_approx("guard", 0),
                 _needs_approx("window", None), _needs_approx("extension", None))


def _approx_suffix(cfg):
    return (f"w{cfg.window_bits}g{cfg.granularity}k{cfg.guard}"
            + ("" if cfg.extension is None else f"e{cfg.extension}"))


@dataclass(frozen=True)
class FmaConfig(_Fp):
    """Parameters of the floating-point fused multiply-add (:class:`hdl.fp.fma.Fma`).

    Parameters
    ----------
    fmt_a, fmt_b : str
        Formats of the multiplicands ``a`` and ``b`` (any format of :mod:`tpegen.formats`,
        at most 32 bits; they may differ, e.g. ``e4m3fn`` x ``e5m2``). ``fmt_in`` sets both.
    fmt_acc : str
        Format of the addend ``c`` and of the result.
    rounding : str
        ``rne`` (to nearest, ties to even) or ``rtz`` (toward zero).
    subnormals : bool
        Gradual underflow when true; subnormal inputs read as zero and results below the
        smallest normal flush to zero when false.
    depth : int
        Pipeline registers, 1..4 (``latency`` = ``depth`` clock edges). They go, in this
        order, on the output, after the product, after the aligned sum and after the first
        rounding.
    normalize : str
        ``exact``, or ``approx`` for the approximate-normalization scheme of docs/fp.md,
        set by ``window``, ``granularity`` and ``guard``.
    window : int or None
        Leading-zero window in bits, 1..Wm (``None``: the whole alignment window, Wm bits).
    granularity : int
        Normalization shifts are multiples of this: 1, 2, 4, 8 or 16.
    guard : int
        Extra significand bits kept by the first rounding, 0..16.
    extension : int or None
        Addend bits kept below the product's last place in the alignment window, 0..pc + 2
        (``pc`` = ``fmt_acc`` significand bits); ``None``: pc + 2, which is exact. Fewer
        narrow the adder and the shifters; the addend bits below are ORed into one sticky bit.
    handshake : bool
        valid/ready on the inputs and on the result (:mod:`hdl.stream`): a stalled output
        holds the pipeline's results without losing or duplicating one.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    depth: int = param("int", 2, lo=1, hi=MAX_FMA_DEPTH, help="pipeline registers = latency")
    normalize: str = _approx_fields(0)["normalize"]
    granularity: int = _approx_fields(0)["granularity"]
    guard: int = _approx_fields(0)["guard"]
    extension: int = _approx_fields("facc.man_bits + 3")["extension"]
    window: int = _approx_fields(0)["window"]
    handshake: bool = param("bool", False, help="valid/ready on the inputs and the result")
    name: str = _name()

    kind = "fma"
    constraints = _APPROX_RULES

    def default_name(self):
        parts = ["fma", self._formats_name()]
        if self.rounding != "rne":
            parts.append(self.rounding)
        if not self.subnormals:
            parts.append("ftz")
        parts.append(f"d{self.depth}")
        if self.normalize == "approx":
            parts.append(_approx_suffix(self))
        if self.handshake:
            parts.append("hs")
        return "_".join(parts)

    @property
    def layout(self):
        """The alignment window (:func:`tpegen.formats.layout`)."""
        return layout(self.fa, self.facc, self.guard, self.extension, fmt_b=self.fb)

    @property
    def window_bits(self):
        return self.layout.width if self.window is None else self.window

    @property
    def is_exact(self):
        """True when the parameters give exact normalization (``approx`` included)."""
        return (self.window_bits >= self.layout.width and self.granularity == 1
                and self.guard == 0 and self.layout.low == self.facc.man_bits + 3)

    @property
    def latency(self):
        """Clock edges from the operands to ``result``: the pipeline depth."""
        return self.depth


@dataclass(frozen=True)
class FMacConfig(_Fp):
    """Parameters of the floating-point multiply-accumulate unit (:class:`hdl.fp.fmac.FMac`):
    ``acc <- acc + a*b`` every enabled cycle, through the FMA datapath.

    Parameters
    ----------
    fmt_a, fmt_b, fmt_acc, rounding, subnormals, normalize, window, granularity, guard, extension
        As for :class:`FmaConfig` (the accumulator has format ``fmt_acc``).
    accumulator : str
        ``rounded``: the register holds an ``fmt_acc`` number, rounded every step
        (``acc <- round(acc + a*b)``). ``unnormalized``: it holds a sign, a wide exponent and
        an ``m_acc + 2 + guard``-bit significand that the loop normalizes only approximately
        (``window``, ``granularity``) and rounds to ``m_acc + 1 + guard`` bits; the exact
        normalization and the rounding into ``fmt_acc`` happen once, at the output
        (docs/fp.md, "Unnormalized accumulator"). ``extension`` then counts up to
        ``m_acc + guard + 4`` and ``window`` up to :attr:`layout` ``.width``.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    accumulator: str = param("choice", "rounded", choices=ACCUMULATORS,
                             help="rounded: round into fmt_acc every step; unnormalized: "
                                  "keep the sum unnormalized, round only at the output")
    handshake: bool = param("bool", False, help="valid/ready on the inputs and the result")
    normalize: str = _approx_fields(0)["normalize"]
    granularity: int = _approx_fields(0)["granularity"]
    guard: int = _approx_fields(0)["guard"]
    extension: int = _approx_fields("facc.man_bits + 3 + (guard + 1 if accumulator == "
                                    "'unnormalized' else 0)")["extension"]
    window: int = _approx_fields(0)["window"]
    name: str = _name()

    kind = "fmac"
    constraints = _APPROX_RULES

    def validate(self):
        super().validate()
        self.fma  # noqa: B018 (the FMA datapath's own checks)

    def default_name(self):
        name = "fmac_" + self._formats_name()
        if self.rounding != "rne":
            name += "_" + self.rounding
        if not self.subnormals:
            name += "_ftz"
        if self.normalize == "approx" or self.unnormalized:
            name += "_" + _approx_suffix(self)
        if self.unnormalized:
            name += "_un"
        if self.handshake:
            name += "_hs"
        return name

    @property
    def unnormalized(self):
        return self.accumulator == "unnormalized"

    @property
    def fma(self):
        """The FMA datapath in the accumulation loop (with the unnormalized accumulator its
        window and extension stay at their defaults)."""
        own = {} if self.unnormalized else dict(window=self.window, extension=self.extension)
        return FmaConfig(fmt_a=self.fmt_a, fmt_b=self.fmt_b, fmt_acc=self.fmt_acc,
                         rounding=self.rounding, subnormals=self.subnormals, depth=1,
                         normalize=self.normalize, granularity=self.granularity,
                         guard=self.guard, **own)

    @property
    def layout(self):
        """The alignment window of the loop: the FMA's, or with the unnormalized accumulator
        the one whose addend is the accumulator's significand
        (:func:`tpegen.formats.unnormalized_layout`)."""
        if not self.unnormalized:
            return layout(self.fa, self.facc, self.guard, self.extension, fmt_b=self.fb)
        return unnormalized_layout(self.fa, self.facc, self.guard, self.extension,
                                   fmt_b=self.fb)

    @property
    def window_bits(self):
        return self.layout.width if self.window is None else self.window

    @property
    def latency(self):
        """``result`` shows the accumulator one clock edge after the operands."""
        return 1


@dataclass(frozen=True)
class FpMulConfig(Config):
    """Parameters of the exact floating-point multiplier (:class:`hdl.fp.fpmul.FpMul`):
    ``round(a*b)``, the FMA datapath with the addend tied to ``-0`` (IEEE 754: ``a*b + (-0)``
    is ``a*b`` exactly, signed zeros included). The baseline L-Mul is compared with, so it
    has L-Mul's single format.

    Parameters
    ----------
    format : str
        Operand and result format (see :mod:`tpegen.formats`).
    rounding, subnormals
        As for :class:`FmaConfig`.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    format: str = param("format", "bf16", help=f"operand and result format: {FORMAT_HELP}")
    rounding: str = _fmt_fields()["rounding"]
    subnormals: bool = _fmt_fields()["subnormals"]
    name: str = _name()

    kind = "fpmul"

    def default_name(self):
        return "fpmul" + self.fma.name[len("fma"):].replace(
            f"_{self.format}_{self.format}", f"_{self.format}").replace("_d1", "")

    @property
    def fma(self):
        return FmaConfig(fmt_in=self.format, fmt_acc=self.format, rounding=self.rounding,
                         subnormals=self.subnormals, depth=1)

    @property
    def fmt(self):
        return parse_format(self.format)

    fa = fb = facc = fin = fmt

    @property
    def latency(self):
        """The product is registered: one clock edge from the operands."""
        return 1


@dataclass(frozen=True)
class LMacConfig(Config):
    """Parameters of the L-Mul multiply-accumulate unit (:class:`hdl.fp.lmul.LMac`):
    ``acc <- round(acc + lmul(a, b))``; the L-Mul product (format ``fmt_in``) enters the FMA
    datapath as ``lmul(a, b) * 1.0 + acc``, so the addition is exact with one rounding.

    Parameters
    ----------
    fmt_in : str
        Format of both multiplicands (L-Mul adds their fields as one integer).
    fmt_acc, rounding, subnormals
        As for :class:`FmaConfig`.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    fmt_in: str = param("format", "bf16", flag="--in", help=f"format of a and b: {FORMAT_HELP}")
    fmt_acc: str = _fmt_fields()["fmt_acc"]
    rounding: str = _fmt_fields()["rounding"]
    subnormals: bool = _fmt_fields()["subnormals"]
    name: str = _name()

    kind = "lmac"
    constraints = (Constraint("fin.man_bits >= 1", "fmt_in={fmt_in} has no mantissa bits: "
                              "L-Mul needs man_bits >= 1"),)

    def default_name(self):
        return "lmac" + self.fma.name[len("fma"):].replace("_d1", "")

    @property
    def fin(self):
        return parse_format(self.fmt_in)

    fa = fb = fin

    @property
    def facc(self):
        return parse_format(self.fmt_acc)

    @property
    def fma(self):
        return FmaConfig(fmt_in=self.fmt_in, fmt_acc=self.fmt_acc, rounding=self.rounding,
                         subnormals=self.subnormals, depth=1)

    @property
    def latency(self):
        """``result`` shows the accumulator one clock edge after the operands."""
        return 1


#: Activation formats of the MixPE group PE (golden.pe.dequant.ACTS) and its datapaths.
MIXPE_ACTS = ("int8", "fp16", "bf16")
MIXPE_DATAPATHS = ("shift-add", "dequant")
MAX_GROUP = 4096


@dataclass(frozen=True)
class MixPeConfig(Config):
    """Parameters of the mixed-precision group PE (:class:`hdl.pe.mixpe.MixPe`, MixPE style):
    low-bit integer weights times int8/fp16/bf16 activations by shift-and-add on the weight
    bits, the group's partial sum kept exact, and the dequantization (scale, zero point)
    applied once per group of ``group`` products into an fp32 accumulator
    (:mod:`golden.pe.mixpe`, docs/pe.md).

    Parameters
    ----------
    w_width : int
        Weight bits, 2..8 (4: int4, 8: int8).
    w_signed : bool
        Two's complement weights (``True``) or unsigned weights with a ``zero`` point input.
    act : str
        Activation format: ``int8``, ``fp16`` or ``bf16``.
    group : int
        G, products per quantization group, 1..4096: the group closes on its G-th product
        (or on ``last``).
    datapath : str
        ``shift-add`` (MixPE) or ``dequant``: the baseline, every weight dequantized to the
        activation's FP format and multiplied-accumulated by the project's exact FP MAC.
    tree, final_adder : str
        As for :class:`MacConfig` (the group sum's reduction and adder).
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    w_width: int = param("int", 4, lo=2, hi=8, help="weight bits (4: int4, 8: int8)")
    w_signed: bool = param("bool", True, help="two's complement weights (else unsigned with "
                                              "a zero point)")
    act: str = param("choice", "fp16", choices=MIXPE_ACTS, help="activation format")
    group: int = param("int", 32, lo=1, hi=MAX_GROUP, help="G: products per quantization "
                                                           "group")
    datapath: str = param("choice", "shift-add", choices=MIXPE_DATAPATHS,
                          help="shift-add: MixPE; dequant: the baseline (dequantize every "
                               "weight, exact FP MAC)")
    tree: str = param("choice", "dadda", choices=TREES, help="reduction tree of the group sum")
    final_adder: str = param("choice", "behavioural", choices=FINAL_ADDERS,
                             help="carry-propagate adder of the group sum")
    name: str = _name()

    kind = "mixpe"
    #: inputs an engine does not drive, and the constants its PE cell ties them to: the
    #: scale 1.0 (fp16), the zero point 0 (an engine tile is one quantization scale)
    engine_ties = {"scale": 0x3C00, "zero": 0}

    @property
    def a_width(self):
        """Bits of ``a`` (the weight)."""
        return self.w_width

    @property
    def w_format(self):
        """The weights' manifest format: ``int<W>`` or ``uint<W>``."""
        return ("int" if self.w_signed else "uint") + str(self.w_width)

    @property
    def b_width(self):
        """Bits of ``b`` (the activation)."""
        return 8 if self.act == "int8" else 16

    def default_name(self):
        w = ("s" if self.w_signed else "u") + str(self.w_width)
        parts = [f"mixpe_{w}x{self.act}_g{self.group}", self.datapath.replace("-", "")]
        if self.datapath == "shift-add":
            parts.append(self.tree)
            if self.final_adder != "behavioural":
                parts.append(self.final_adder)
        return "_".join(parts)

    @property
    def latency(self):
        """Clock edges from a closing product (shift-add: group sum, its fp32 rounding, the
        scaled accumulation: 3) or from any product (dequant: 2) to ``result``."""
        return 3 if self.datapath == "shift-add" else 2


#: The SIMD MAC's run-time modes (``mode`` input code -> lanes, a bits, b bits of a W-bit
#: datapath with H = W/2): 1 x (W x W), 2 x (H x W), 4 x (H x H); code 3 adds no product.
SIMD_MODES = (("1x(WxW)", 1, "W", "W"), ("2x(HxW)", 2, "H", "W"), ("4x(HxH)", 4, "H", "H"))
SIMD_DATAPATHS = ("fused", "separate")


@dataclass(frozen=True)
class SimdMacConfig(Config):
    """Parameters of the SIMD multi-precision MAC (:class:`hdl.pe.simd.SimdMac`, XR-NPE
    style): one W-bit datapath that computes, chosen by the ``mode`` input on every cycle,
    1 x (W x W), 2 x (W/2 x W) or 4 x (W/2 x W/2) products and adds their sum to the
    accumulator (docs/pe.md).

    Parameters
    ----------
    width : int
        W, the widest mode's operand width: even, 4..16 (8: int8 x int8, 2 x int4 x int8,
        4 x int4 x int4).
    a_signed, b_signed : bool
        Two's complement (``True``) or unsigned lanes of ``a`` (weights) and ``b``
        (activations), in every mode.
    acc_width : int
        Accumulator bits, ``2*W + 2``..128 (default ``max(32, 2*W + 2)``); wraps modulo
        ``2**acc_width``.
    datapath : str
        ``fused``: four (W/2 x W/2) sub-multipliers whose products are shifted into place by
        the mode (the reconfigurable multiplier); ``separate``: the baseline, one dedicated
        multiplier set per mode side by side (one W x W, two W/2 x W, four W/2 x W/2), the
        unused ones fed zeros.
    mult : str
        Multiplier of the sub-products (``array``, ``booth4``, ``behavioural``).
    tree, final_adder : str
        As for :class:`MacConfig`.
    engine_mode : int
        The ``mode`` code (0..2) the PE runs in when it is the PE of an engine (whose
        streams carry the packed words, not a mode): the engine ties ``mode`` to it.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    width: int = param("int", 8, lo=4, hi=16, help="W: operand bits of the widest mode (even)")
    a_signed: bool = param("bool", True, help="lanes of a two's complement (else unsigned)")
    b_signed: bool = param("bool", True, help="lanes of b two's complement (else unsigned)")
    acc_width: int = param("int", "=max(32, 2 * width + 2)", lo="2 * width + 2",
                           hi=MAX_ACC_WIDTH, help="accumulator bits (wraps modulo 2**acc_width)")
    datapath: str = param("choice", "fused", choices=SIMD_DATAPATHS,
                          help="fused: one reconfigurable multiplier; separate: one "
                               "multiplier set per mode (the baseline)")
    mult: str = param("choice", "array", choices=MULTIPLIERS, help="sub-multiplier architecture")
    tree: str = param("choice", "dadda", choices=TREES, help="partial-product reduction tree")
    final_adder: str = param("choice", "behavioural", choices=FINAL_ADDERS,
                             help="carry-propagate adder of the loop")
    engine_mode: int = param("int", 0, lo=0, hi=2, help="the mode code an engine ties its "
                                                        "PEs' mode input to")
    name: str = _name()

    kind = "simd"
    constraints = (Constraint("width % 2 == 0", "width={width} is not allowed: an even "
                              "number 4..16 (the narrow lanes are width/2 bits)"),)
    shorthands = SIGN_SHORTHANDS

    def default_name(self):
        sa = "s" if self.a_signed else "u"
        sb = "s" if self.b_signed else "u"
        parts = [f"simd_{sa}{sb}{self.width}_acc{self.acc_width}", self.datapath, self.mult]
        if self.mult != "behavioural":
            parts.append(self.tree)
        if self.final_adder != "behavioural":
            parts.append(self.final_adder)
        if self.engine_mode:
            parts.append(f"em{self.engine_mode}")
        return "_".join(parts)

    @property
    def engine_ties(self):
        """In an engine the ``mode`` input is tied to ``engine_mode``."""
        return {"mode": self.engine_mode}

    @property
    def a_width(self):
        """Bits of the ``a`` word (2W)."""
        return 2 * self.width

    @property
    def b_width(self):
        """Bits of the ``b`` word (2W)."""
        return 2 * self.width

    def modes(self):
        """``[(code, name, lanes, a_bits, b_bits)]`` of the run-time modes."""
        bits = {"W": self.width, "H": self.width // 2}
        return [(code, name, n, bits[a], bits[b])
                for code, (name, n, a, b) in enumerate(SIMD_MODES)]

    @property
    def latency(self):
        """``result`` shows the accumulator one clock edge after the operands."""
        return 1


#: The LUT PE's datapaths: the symmetric half table, or the baseline bit-serial MAC (the
#: project's AND-array partial products, no table) with the same ports and golden model.
LUT_DATAPATHS = ("lut", "mac")


@dataclass(frozen=True)
class LutPeConfig(Config):
    """Parameters of the LUT-based mixed-precision GEMM PE (:class:`hdl.pe.lut.LutPe`, LUT
    Tensor Core style): ``cols`` weight columns share one table of the partial sums of a
    group of ``k`` activations; each cycle one bit-plane of the weights indexes it, so a
    column adds one ``k``-term plane product per cycle (:mod:`golden.pe.lut`).

    Parameters
    ----------
    k : int
        K, activations per table (per group), 2..6 (LUT Tensor Core: 4).
    w_width : int
        n, weight bits, 1..8: the bit-planes per group (4: int4, 8: int8).
    w_signed : bool
        Two's complement weights (the top plane has weight ``-2**(n-1)``) or unsigned.
    a_width : int
        Activation bits, 2..16 (8: int8).
    a_signed : bool
        Two's complement (``True``) or unsigned activations.
    cols : int
        N, weight columns sharing the table (one accumulator each), 1..32.
    acc_width : int
        Bits of each column's accumulator, ``group_bits``..128 (default ``max(32,
        group_bits)``; ``group_bits`` holds one group's dot product); wraps modulo
        ``2**acc_width``.
    datapath : str
        ``lut``: the half table (2**(K-1) entries, LUT[~i] = -LUT[i]) and one lookup per
        column and cycle; ``mac``: the baseline, each column's K plane products formed as
        AND-array partial products (:func:`hdl.arith.add_product`) with no table.
    tree, final_adder : str
        As for :class:`MacConfig` (each column's reduction and loop adder).
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    k: int = param("int", 4, lo=2, hi=6, help="K: activations per table (LUT Tensor Core: 4)")
    w_width: int = param("int", 4, lo=1, hi=8, help="n: weight bits = bit-planes per group")
    w_signed: bool = param("bool", True, help="two's complement weights (else unsigned)")
    a_width: int = param("int", 8, lo=2, hi=16, help="activation bits")
    a_signed: bool = param("bool", True, help="two's complement activations (else unsigned)")
    cols: int = param("int", 4, lo=1, hi=32, help="N: weight columns sharing the table")
    acc_width: int = param("int", "=max(32, group_bits)", lo="group_bits", hi=MAX_ACC_WIDTH,
                           help="accumulator bits per column (wraps modulo 2**acc_width)")
    datapath: str = param("choice", "lut", choices=LUT_DATAPATHS,
                          help="lut: the symmetric half table; mac: the baseline bit-serial "
                               "MAC (AND-array products, no table)")
    tree: str = param("choice", "dadda", choices=TREES, help="reduction tree of each column")
    final_adder: str = param("choice", "behavioural", choices=FINAL_ADDERS,
                             help="carry-propagate adder of each column's loop")
    name: str = _name()

    kind = "lut"

    def default_name(self):
        w = ("s" if self.w_signed else "u") + str(self.w_width)
        a = ("s" if self.a_signed else "u") + str(self.a_width)
        parts = [f"lut_k{self.k}_{w}x{a}_n{self.cols}_acc{self.acc_width}", self.datapath,
                 self.tree]
        if self.final_adder != "behavioural":
            parts.append(self.final_adder)
        return "_".join(parts)

    @property
    def group_bits(self):
        """Bits that hold any one group's dot product ``sum_k w_k a_k`` (two's complement)."""
        return self.w_width + self.a_width + (self.k - 1).bit_length() + 1

    @property
    def macs_per_cycle(self):
        """Weight x activation products per cycle: ``cols * k / w_width``."""
        return self.cols * self.k / self.w_width

    @property
    def latency(self):
        """``result`` shows the accumulators one clock edge after a plane's inputs."""
        return 1

    @property
    def load_latency(self):
        """Clock edges from ``load`` to the first plane that reads the new table: the
        table is registered at the ``load`` edge (a plane at that same edge still reads
        the previous table)."""
        return 1

    @property
    def b_width(self):
        """Bits of one weight (an engine's ``b`` lane): ``w_width``."""
        return self.w_width

    @property
    def engine_latency(self):
        """In an engine (the word PE, :class:`hdl.pe.lut.LutWordPe`: one beat of K
        activations and K whole weights, its n planes in the n cycles after it), enabled
        clock edges from the last cycle of a beat to its effect on ``result``: the last
        plane's edge (one cycle later), then :attr:`latency`."""
        return self.latency + 1


#: The bit-serial PE's activation formats and datapaths (the weight datatypes of its
#: ``dtype`` input, in code order: tpegen.dtypes.MIXTURE).
BITSERIAL_ACTS = ("fp16", "bf16")
BITSERIAL_DATAPATHS = ("serial", "parallel")
#: bit positions of a weight magnitude (|value| <= 16 in half-e2m1 units: 5 bits)
BITSERIAL_DIGITS = 5
#: the weight datatypes of the ``dtype`` input, in code order
BITSERIAL_DTYPES = MIXTURE
BITSERIAL_MAX_GROUP = 4096


@dataclass(frozen=True)
class BitSerialConfig(Config):
    """Parameters of the bit-serial PE (:class:`hdl.pe.bitserial.BitSerialPe`, BitMoD style):
    a dot product of ``lanes`` 4-bit weights (per-group datatype int4 / fp4 / er / ea) with
    ``lanes`` fp16 (or bf16) activations per input beat, the weights processed one magnitude
    bit per cycle, the group's sum kept exact and scaled once per group into an fp32
    accumulator (the spec: :mod:`golden.pe.bitserial`).

    Parameters
    ----------
    lanes : int
        L, weights (and activations) per beat, 1..16: one beat is an L-term dot product.
    act : str
        Activation format: ``fp16`` or ``bf16``.
    group : int
        G, weights per quantization group along K: a multiple of ``lanes``, ``lanes``..4096
        (default the multiple of ``lanes`` nearest below 32). A group is G / L beats.
    skip_zeros : bool
        Skip the bit positions where every lane's weight bit is zero (data-dependent cycles);
        else every bit position the beat's datatype can use is processed.
    datapath : str
        ``serial`` (BitMoD), or ``parallel``: the baseline, a bit-parallel FP PE doing the
        beat's L MACs in one cycle (weights dequantized to fp16, the project's exact FMA).
    tree, final_adder : str
        As for :class:`MacConfig` (the group sum's reduction and adder, ``serial``).
    engine_dtype : str
        The weight datatype an engine ties the ``dtype`` input to (``int4``, ``fp4``, ``er``,
        ``ea``; the stand-alone PE takes it per beat). In an engine (``lanes`` = 1) every
        beat's weights are processed in one digit schedule shared by the whole array
        (docs/engines.md).
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    lanes: int = param("int", 4, lo=1, hi=16, help="L: weights x activations per beat")
    act: str = param("choice", "fp16", choices=BITSERIAL_ACTS, help="activation format")
    group: int = param("int", "=lanes * max(1, 32 // lanes)", lo="lanes",
                       hi=BITSERIAL_MAX_GROUP,
                       help="G: weights per quantization group (a multiple of lanes)")
    skip_zeros: bool = param("bool", True, help="skip bit positions where every weight bit "
                                                "is zero (data-dependent cycles)")
    datapath: str = param("choice", "serial", choices=BITSERIAL_DATAPATHS,
                          help="serial: bit-serial weights (BitMoD); parallel: the baseline "
                               "bit-parallel FP PE")
    tree: str = param("choice", "dadda", choices=TREES, help="reduction tree of the group sum")
    final_adder: str = param("choice", "behavioural", choices=FINAL_ADDERS,
                             help="carry-propagate adder of the group sum")
    engine_dtype: str = param("choice", "int4", choices=BITSERIAL_DTYPES,
                              help="the weight datatype an engine ties dtype to")
    name: str = _name()

    kind = "bitserial"
    constraints = (Constraint("group % lanes == 0", "group={group} is not allowed with "
                              "lanes={lanes}: a multiple of lanes in {lanes}..4096"),)

    def default_name(self):
        parts = [f"bitserial_l{self.lanes}_{self.act}_g{self.group}", self.datapath]
        if self.datapath == "serial":
            parts += ["skip" if self.skip_zeros else "noskip", self.tree]
            if self.final_adder != "behavioural":
                parts.append(self.final_adder)
        if self.engine_dtype != "int4":
            parts.append(f"e{self.engine_dtype}")
        return "_".join(parts)

    @property
    def engine_ties(self):
        """In an engine, ``dtype`` is tied to ``engine_dtype`` and the scale to 1.0."""
        return {"dtype": BITSERIAL_DTYPES.index(self.engine_dtype), "scale": 0x3C00}

    #: bits of one lane of ``a`` (an fp16/bf16 activation) and of ``b`` (a weight code)
    a_width, b_width = 16, 4

    @property
    def engine_latency(self):
        """Enabled clock edges from the cycle a beat is presented (``valid``), in an engine,
        to its effect on ``result`` when the beat takes one cycle and closes its group: the
        acceptance edge, then :attr:`latency` (each further cycle of the beat adds one)."""
        return self.latency + 1 if self.datapath == "serial" else self.latency

    @property
    def steps(self):
        """Beats per group, G / L."""
        return self.group // self.lanes

    @property
    def latency(self):
        """Clock edges, the one ending the cycle counted as the first, from the cycle that
        processes a group's last bit (``serial``) or presents a beat (``parallel``) to its
        effect on ``result``: 2 (group sum to fp32, then the scale step) or 1."""
        return 2 if self.datapath == "serial" else 1


#: Guard bits of the FP tree reduction's window below the accumulator's significand
#: (golden.fp.fdot, hdl.fp.fdot: W = m_acc + 1 + DOT_GUARD).
DOT_GUARD = 3

#: Engine architectures (hdl/engines/, one module each).
ARCHITECTURES = ("systolic-os", "matrix2d", "systolic-ws", "adder-tree", "cube")
#: PE kinds an accumulating engine takes: every cycle-style accumulator.
ENGINE_PES = ("mac", "fmac", "lmac", "mixpe", "simd", "bitserial", "lut")
#: PE kinds the weight-stationary engine takes (fmac: the rounded accumulator only).
WS_PES = ("mac", "fmac")
#: PE kinds of the engines that reduce several products in one bit-matrix tree (adder-tree,
#: cube): the integer MAC with ``terms`` products, and the FP MAC with the tree reduction of
#: golden.fp.fdot (exact rounded accumulator only).
TREE_PES = ("mac", "fmac")
TREE_ARCHES = ("adder-tree", "cube")
MAX_ENGINE_DIM, MAX_ENGINE_DEPTH = 64, 32
#: products one dot-product PE reduces per cycle (``hdl.mac.Mac(terms=...)``): the adder
#: tree's K (its ``cols``, up to MAX_ENGINE_DIM) or the cube's D
MAX_TERMS = MAX_ENGINE_DIM


@dataclass(frozen=True)
class EngineConfig(Config):
    """Parameters of a tensor engine (:mod:`hdl.engines`): an array of PEs that multiplies
    matrices, behind one AXI4-Stream GEMM interface (docs/engines.md).

    Parameters
    ----------
    arch : str
        ``systolic-os`` (A flows east, B flows south, each PE keeps its C[i][j]) or
        ``matrix2d`` (A broadcast along rows, B along columns, no skew) or ``systolic-ws``
        (weight-stationary: each PE keeps B[k][j]; PE ``mac`` or rounded ``fmac`` only) or
        ``adder-tree`` (N = ``rows`` dot-product units of K = ``cols`` products each, weights
        stationary, one bit-matrix tree per unit) or ``cube`` (R x C x D: each PE reduces D
        products per cycle in one bit-matrix tree, then accumulates); the last two take the
        integer ``mac`` PE and the exact rounded ``fmac`` (the FP tree of golden.fp.fdot).
    rows, cols : int
        The array, 1..64 each: an R x C tile of C per pass (adder-tree: N units, K inputs).
    depth : int
        The cube's third dimension D, 1..32 (1 for the other architectures).
    pe : config
        The processing element: any accumulator the project generates (``mac``, ``fmac``,
        ``lmac``, ``mixpe``, ``simd`` in its ``engine_mode``, ``bitserial`` with one lane,
        ``lut`` with one column) with its own parameters;
        default an int8 x int8 -> int32 MAC. It is the same generator and golden model as
        the stand-alone unit.
    debug : bool
        Add the state readout ``dbg_state`` (every PE's accumulator, every cycle) for the
        testbench; off for synthesis.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    arch: str = param("choice", "systolic-os", choices=ARCHITECTURES, help="engine "
                      "architecture")
    rows: int = param("int", 4, lo=1, hi=MAX_ENGINE_DIM, help="array rows R")
    cols: int = param("int", 4, lo=1, hi=MAX_ENGINE_DIM, help="array columns C")
    depth: int = param("int", 1, lo=1, hi=MAX_ENGINE_DEPTH, help="cube depth D (cube only)")
    pe: object = param("config", None, kinds=ENGINE_PES,
                       help="the PE: --pe KIND followed by that kind's own flags")
    debug: bool = param("bool", False, help="state readout of every PE (tests; off for "
                                            "synthesis)")
    name: str = _name()

    kind = "engine"
    constraints = (Constraint("depth == 1 or arch == 'cube'",
                              "depth={depth} applies to arch=cube only (arch={arch}): "
                              "allowed 1"),)

    def validate(self):
        if self.pe is None:
            object.__setattr__(self, "pe", MacConfig(a_width=8, b_width=8, a_signed=True,
                                                     b_signed=True, acc_width=32))
        super().validate()
        if getattr(self.pe, "handshake", False):
            raise ParameterError("pe.handshake=True is not allowed in an engine: the engine "
                                 "has its own AXI4-Stream interface (allowed: false)")
        if self.pe.kind == "bitserial" and self.pe.lanes != 1:
            raise ParameterError(f"pe.lanes={self.pe.lanes} is not allowed in an engine (a PE "
                                 "takes one weight and one activation per beat): allowed 1")
        if self.pe.kind == "lut" and self.pe.cols != 1:
            raise ParameterError(f"pe.cols={self.pe.cols} is not allowed in an engine (PE "
                                 "(i, j) holds one column of B's weights): allowed 1 "
                                 "(--pe-cols 1)")
        if self.arch == "systolic-ws" and (self.pe.kind not in WS_PES
                                           or getattr(self.pe, "unnormalized", False)):
            raise ParameterError(f"pe={self.pe.kind!r}"
                                 + (" with accumulator='unnormalized'" if self.pe.kind == "fmac"
                                    else "")
                                 + " is not allowed with arch='systolic-ws' (its PE forms "
                                 "psum + a*w each beat): allowed pe kinds: mac, fmac with "
                                 "accumulator='rounded'")
        if self.arch in TREE_ARCHES:
            if self.pe.kind not in TREE_PES:
                raise ParameterError(f"pe={self.pe.kind!r} is not allowed with "
                                     f"arch={self.arch!r} (its PE reduces several products "
                                     "in one bit-matrix tree): allowed pe kinds: "
                                     + ", ".join(TREE_PES))
            if self.pe.kind == "fmac" and (self.pe.unnormalized
                                           or self.pe.normalize != "exact"):
                flag = ("accumulator='unnormalized'" if self.pe.unnormalized
                        else "normalize='approx'")
                raise ParameterError(f"pe.{flag} is not allowed with arch={self.arch!r} (its "
                                     "FP tree aligns all products to the largest and rounds "
                                     "once): allowed: normalize='exact', "
                                     "accumulator='rounded'")

    def default_name(self):
        arch = {"adder-tree": "tree"}.get(self.arch, self.arch)
        arch = arch.replace("systolic-", "").replace("-", "")
        dims = f"{self.rows}x{self.cols}" + (f"x{self.depth}" if self.arch == "cube" else "")
        return f"{arch}{dims}_{self.pe.name}" + ("_dbg" if self.debug else "")

    @property
    def latency(self):
        """The PE's latency (the engine's own is a formula of the tile: docs/engines.md)."""
        return self.pe.latency

    @property
    def terms(self):
        """Products each PE reduces per beat: the cube's D, the adder tree's K, the LUT PE's
        K (its table's group), else 1."""
        return {"cube": self.depth, "adder-tree": self.cols}.get(
            self.arch, self.pe.k if self.pe.kind == "lut" else 1)


CONFIGS = {cls.kind: cls for cls in (MacConfig, LMulConfig, FmaConfig, FMacConfig,
                                     FpMulConfig, LMacConfig, MixPeConfig, SimdMacConfig,
                                     LutPeConfig,
                                     BitSerialConfig,
                                     EngineConfig)}


def config_class(kind):
    """The configuration class of ``kind`` (:class:`ParameterError` if unknown)."""
    if kind not in CONFIGS:
        raise ParameterError(f"kind={kind!r} is not allowed: choose one of "
                             + ", ".join(CONFIGS))
    return CONFIGS[kind]


def config_from_dict(kind, params):
    """Build a config of ``kind`` from a dict (a manifest's ``parameters``)."""
    return config_class(kind).from_dict(params)


del dataclasses
