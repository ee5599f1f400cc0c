"""Validated generator parameters, shared by ``hdl/``, ``golden/``, the CLI and the synth flow.

Every configuration is a frozen dataclass whose constructor checks each parameter before any
tool runs and raises :class:`ParameterError` naming the parameter and its allowed range.
"""

import dataclasses
from dataclasses import dataclass

__all__ = ["ParameterError", "MacConfig", "LMulConfig", "FmaConfig", "FMacConfig",
           "FpMulConfig", "LMacConfig", "config_from_dict"]


class ParameterError(ValueError):
    """A generator parameter is out of its allowed range. The message names both."""


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{name}={value!r} must be an integer in {lo}..{hi}")
    if not lo <= value <= hi:
        raise ParameterError(f"{name}={value} is out of range: allowed {lo}..{hi}")


def _check_choice(name, value, choices):
    if value not in choices:
        allowed = ", ".join(choices)
        raise ParameterError(f"{name}={value!r} is not allowed: choose one of {allowed}")


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ParameterError(f"{name}={value!r} must be true or false")


MULTIPLIERS = ("behavioural", "array", "booth4")
TREES = ("wallace", "dadda")
COMPRESSORS = ("3:2", "4:2")
ACCUMULATIONS = ("cpa", "carry_save")
FINAL_ADDERS = ("behavioural", "ripple", "sklansky", "kogge_stone")
MAX_ACC_WIDTH = 128


class _Params:
    """What every configuration has: ``replace`` (a new, validated configuration with a
    derived name) and ``to_dict`` (the manifest's ``parameters``)."""

    def replace(self, **changes):
        changes.setdefault("name", None)
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


class _Accumulator(_Params):
    """Configurations of MACs built on the FMA datapath (``self.fma``)."""

    @property
    def fin(self):
        return self.fma.fin

    @property
    def facc(self):
        return self.fma.facc

    @property
    def latency(self):
        """``result`` shows the accumulator one clock edge after the operands."""
        return 1


@dataclass(frozen=True)
class MacConfig(_Params):
    """Parameters of the integer multiply-accumulate unit (:class:`hdl.mac.Mac`).

    Parameters
    ----------
    a_width, b_width : int
        Operand widths, 2..32 bits each.
    a_signed, b_signed : bool
        Two's complement (``True``) or unsigned operand.
    acc_width : int
        Accumulator width, ``a_width + b_width``..128. The accumulator wraps modulo
        ``2**acc_width``.
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

    a_width: int = 8
    b_width: int = 8
    a_signed: bool = True
    b_signed: bool = True
    acc_width: int = 32
    mult: str = "booth4"
    tree: str = "dadda"
    compressor: str = "3:2"
    accumulate: str = "carry_save"
    final_adder: str = "behavioural"
    input_reg: bool = False
    output_reg: bool = False
    name: str = None

    kind = "mac"

    def __post_init__(self):
        _check_int("a_width", self.a_width, 2, 32)
        _check_int("b_width", self.b_width, 2, 32)
        _check_bool("a_signed", self.a_signed)
        _check_bool("b_signed", self.b_signed)
        _check_int("acc_width", self.acc_width, self.a_width + self.b_width, MAX_ACC_WIDTH)
        _check_choice("mult", self.mult, MULTIPLIERS)
        _check_choice("tree", self.tree, TREES)
        _check_choice("compressor", self.compressor, COMPRESSORS)
        if self.compressor == "4:2" and self.tree != "wallace":
            raise ParameterError("compressor='4:2' is allowed only with tree='wallace' "
                                 "(dadda uses 3:2 counters)")
        _check_choice("accumulate", self.accumulate, ACCUMULATIONS)
        _check_choice("final_adder", self.final_adder, FINAL_ADDERS)
        _check_bool("input_reg", self.input_reg)
        _check_bool("output_reg", self.output_reg)
        if self.name is None:
            object.__setattr__(self, "name", self.default_name())
        elif not (isinstance(self.name, str) and self.name.isidentifier()
                  and self.name.isascii()):
            raise ParameterError(f"name={self.name!r} must be a Verilog identifier "
                                 "(letters, digits, underscores, not starting with a digit)")

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
class LMulConfig(_Params):
    """Parameters of the L-Mul multiplier (:class:`hdl.fp.lmul.LMul`).

    Parameters
    ----------
    format : str
        Operand and result format: ``bf16``, ``fp16``, ``fp32``, ``e4m3fn``, ``e5m2``,
        ``e2m1fn``, ``eXmY`` or ``eXmYfn`` (see :mod:`tpegen.formats`).
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    format: str = "bf16"
    name: str = None

    kind = "lmul"

    def __post_init__(self):
        from .formats import parse_format
        fmt = parse_format(self.format)
        object.__setattr__(self, "format", fmt.name)
        if self.name is None:
            object.__setattr__(self, "name", f"lmul_{fmt.name}")
        elif not (isinstance(self.name, str) and self.name.isidentifier()
                  and self.name.isascii()):
            raise ParameterError(f"name={self.name!r} must be a Verilog identifier "
                                 "(letters, digits, underscores, not starting with a digit)")

    @property
    def fmt(self):
        from .formats import parse_format
        return parse_format(self.format)

    @property
    def latency(self):
        """The result is registered: one clock edge from the operands."""
        return 1

    @property
    def fin(self):
        """The operand format (as for every FP unit)."""
        return self.fmt

    def golden(self):
        """The golden function ``(a, b) -> result`` of this configuration."""
        from golden.fp.lmul import lmul
        return lambda a, b: lmul(a, b, self.fmt)


ROUNDINGS = ("rne", "rtz")
NORMALIZATIONS = ("exact", "approx")
ACCUMULATORS = ("rounded", "unnormalized")
GRANULARITIES = (1, 2, 4, 8, 16)
MAX_FMA_DEPTH = 4
MAX_GUARD = 16


def _check_name(name):
    if not (isinstance(name, str) and name.isidentifier() and name.isascii()):
        raise ParameterError(f"name={name!r} must be a Verilog identifier "
                             "(letters, digits, underscores, not starting with a digit)")


def _check_format(name, value, max_width=32):
    from .formats import parse_format
    try:
        fmt = parse_format(value)
    except ParameterError as error:
        raise ParameterError(f"{name}: {error}") from None
    if fmt.width > max_width:
        raise ParameterError(f"{name}={fmt.name} is {fmt.width} bits wide: allowed formats "
                             f"of 3..{max_width} bits")
    return fmt


def _check_exact(param, value, exact):
    if value != exact:
        raise ParameterError(f"{param}={value!r} needs normalize='approx' "
                             f"(exact normalization has {param}={exact!r})")


def _check_window(cfg):
    """Check ``cfg.window`` and ``cfg.extension`` against its alignment window
    ``cfg.layout`` (read once the extension, which sets its width, is known to be valid)."""
    if cfg.normalize == "exact":
        _check_exact("window", cfg.window, None)
        _check_exact("extension", cfg.extension, None)
    if cfg.extension is not None:
        _check_int("extension", cfg.extension, 0, cfg.layout.pc + 2)
    if cfg.window is not None:
        _check_int("window", cfg.window, 1, cfg.layout.width)


@dataclass(frozen=True)
class FmaConfig(_Params):
    """Parameters of the floating-point fused multiply-add (:class:`hdl.fp.fma.Fma`).

    Parameters
    ----------
    fmt_in : str
        Format of the multiplicands ``a`` and ``b`` (any format of :mod:`tpegen.formats`,
        at most 32 bits).
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
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    fmt_in: str = "bf16"
    fmt_acc: str = "fp32"
    rounding: str = "rne"
    subnormals: bool = True
    depth: int = 2
    normalize: str = "exact"
    window: int = None
    granularity: int = 1
    guard: int = 0
    extension: int = None
    name: str = None

    kind = "fma"

    def __post_init__(self):
        fin = _check_format("fmt_in", self.fmt_in)
        facc = _check_format("fmt_acc", self.fmt_acc)
        object.__setattr__(self, "fmt_in", fin.name)
        object.__setattr__(self, "fmt_acc", facc.name)
        _check_choice("rounding", self.rounding, ROUNDINGS)
        _check_bool("subnormals", self.subnormals)
        _check_int("depth", self.depth, 1, MAX_FMA_DEPTH)
        _check_choice("normalize", self.normalize, NORMALIZATIONS)
        if self.normalize == "exact":
            for param, value, exact in (("granularity", self.granularity, 1),
                                        ("guard", self.guard, 0)):
                _check_exact(param, value, exact)
        _check_int("guard", self.guard, 0, MAX_GUARD)
        if self.granularity not in GRANULARITIES:
            raise ParameterError(f"granularity={self.granularity!r} is not allowed: choose "
                                 f"one of {', '.join(map(str, GRANULARITIES))}")
        _check_window(self)
        if self.name is None:
            object.__setattr__(self, "name", self.default_name())
        else:
            _check_name(self.name)

    def default_name(self):
        parts = ["fma", self.fmt_in, self.fmt_acc]
        if self.rounding != "rne":
            parts.append(self.rounding)
        if not self.subnormals:
            parts.append("ftz")
        parts.append(f"d{self.depth}")
        if self.normalize == "approx":
            parts.append(f"w{self.window_bits}g{self.granularity}k{self.guard}"
                         + ("" if self.extension is None else f"e{self.extension}"))
        return "_".join(parts)

    @property
    def fin(self):
        from .formats import parse_format
        return parse_format(self.fmt_in)

    @property
    def facc(self):
        from .formats import parse_format
        return parse_format(self.fmt_acc)

    @property
    def layout(self):
        """The alignment window (:func:`golden.fp.fma.layout`)."""
        from golden.fp.fma import layout
        return layout(self.fin, self.facc, self.guard, self.extension)

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

    def golden(self):
        """The golden function ``(a, b, c) -> result`` of this configuration."""
        from golden.fp.fma import fma, fma_approx
        options = dict(fmt_in=self.fin, fmt_acc=self.facc, rounding=self.rounding,
                       subnormals=self.subnormals)
        if self.normalize == "exact":
            return lambda a, b, c: fma(a, b, c, **options)
        return lambda a, b, c: fma_approx(a, b, c, window=self.window,
                                          granularity=self.granularity, guard=self.guard,
                                          extension=self.extension, **options)


@dataclass(frozen=True)
class FMacConfig(_Accumulator):
    """Parameters of the floating-point multiply-accumulate unit (:class:`hdl.fp.fmac.FMac`):
    ``acc <- acc + a*b`` every enabled cycle, through the FMA datapath.

    Parameters
    ----------
    fmt_in, fmt_acc, rounding, subnormals, normalize, window, granularity, guard, extension
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

    fmt_in: str = "bf16"
    fmt_acc: str = "fp32"
    rounding: str = "rne"
    subnormals: bool = True
    normalize: str = "exact"
    window: int = None
    granularity: int = 1
    guard: int = 0
    extension: int = None
    accumulator: str = "rounded"
    name: str = None

    kind = "fmac"

    def __post_init__(self):
        _check_choice("accumulator", self.accumulator, ACCUMULATORS)
        fma = self.fma                  # validates the parameters it shares
        object.__setattr__(self, "fmt_in", fma.fmt_in)
        object.__setattr__(self, "fmt_acc", fma.fmt_acc)
        if self.unnormalized:           # window and extension refer to its own window
            _check_window(self)
        if self.name is None:
            name = "fmac" + fma.name[len("fma"):].replace("_d1", "")
            if self.unnormalized:       # fmac_<in>_<acc>[_rtz][_ftz]_w<W>g<G>k<K>[e<E>]_un
                name = name.split("_w")[0] + (
                    f"_w{self.window_bits}g{self.granularity}k{self.guard}"
                    + ("" if self.extension is None else f"e{self.extension}") + "_un")
            object.__setattr__(self, "name", name)
        else:
            _check_name(self.name)

    @property
    def unnormalized(self):
        return self.accumulator == "unnormalized"

    @property
    def fma(self):
        """The FMA datapath in the accumulation loop (validates the shared parameters; with
        the unnormalized accumulator, its window and extension stay at their defaults)."""
        own = {} if self.unnormalized else dict(window=self.window, extension=self.extension)
        return FmaConfig(fmt_in=self.fmt_in, fmt_acc=self.fmt_acc, rounding=self.rounding,
                         subnormals=self.subnormals, depth=1, normalize=self.normalize,
                         granularity=self.granularity, guard=self.guard, **own)

    @property
    def layout(self):
        """The alignment window of the loop: the FMA's, or with the unnormalized accumulator
        the one whose addend is the accumulator's significand
        (:func:`golden.fp.fma.unnormalized_layout`)."""
        if not self.unnormalized:
            return self.fma.layout
        from golden.fp.fma import unnormalized_layout
        return unnormalized_layout(self.fin, self.facc, self.guard, self.extension)

    @property
    def window_bits(self):
        return self.layout.width if self.window is None else self.window

    def model(self):
        """The golden cycle model (:class:`golden.fp.fma.Mac` or
        :class:`golden.fp.fma.UnnormalizedMac`)."""
        from golden.fp.fma import Mac, UnnormalizedMac
        options = dict(fmt_in=self.fin, fmt_acc=self.facc, rounding=self.rounding,
                       subnormals=self.subnormals)
        approx = dict(window=self.window, granularity=self.granularity, guard=self.guard,
                      extension=self.extension)
        if self.unnormalized:
            return UnnormalizedMac(**options, **approx)
        return Mac(**options, **(approx if self.normalize == "approx" else {}))


@dataclass(frozen=True)
class FpMulConfig(_Params):
    """Parameters of the exact floating-point multiplier (:class:`hdl.fp.fpmul.FpMul`):
    ``round(a*b)``, the FMA datapath with the addend tied to ``-0`` (IEEE 754: ``a*b + (-0)``
    is ``a*b`` exactly, signed zeros included). The baseline L-Mul is compared with.

    Parameters
    ----------
    format : str
        Operand and result format (see :mod:`tpegen.formats`).
    rounding, subnormals
        As for :class:`FmaConfig`.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    format: str = "bf16"
    rounding: str = "rne"
    subnormals: bool = True
    name: str = None

    kind = "fpmul"

    def __post_init__(self):
        object.__setattr__(self, "format", self.fma.fmt_in)
        if self.name is None:
            object.__setattr__(self, "name", "fpmul" + self.fma.name[len("fma"):]
                               .replace(f"_{self.format}_{self.format}", f"_{self.format}")
                               .replace("_d1", ""))
        else:
            _check_name(self.name)

    @property
    def fma(self):
        return FmaConfig(fmt_in=self.format, fmt_acc=self.format, rounding=self.rounding,
                         subnormals=self.subnormals, depth=1)

    @property
    def fmt(self):
        return self.fma.fin

    @property
    def fin(self):
        """The operand format (as for every FP unit)."""
        return self.fma.fin

    @property
    def latency(self):
        """The product is registered: one clock edge from the operands."""
        return 1

    def golden(self):
        from golden.fp.fma import fma
        fmt = self.fmt
        minus_zero = 1 << (fmt.width - 1)
        return lambda a, b: fma(a, b, minus_zero, fmt_in=fmt, fmt_acc=fmt,
                                rounding=self.rounding, subnormals=self.subnormals)


@dataclass(frozen=True)
class LMacConfig(_Accumulator):
    """Parameters of the L-Mul multiply-accumulate unit (:class:`hdl.fp.lmul.LMac`):
    ``acc <- round(acc + lmul(a, b))``; the L-Mul product (format ``fmt_in``) enters the FMA
    datapath as ``lmul(a, b) * 1.0 + acc``, so the addition is exact with one rounding.

    Parameters
    ----------
    fmt_in, fmt_acc, rounding, subnormals
        As for :class:`FmaConfig`.
    name : str or None
        Verilog module name; derived from the parameters when ``None``.
    """

    fmt_in: str = "bf16"
    fmt_acc: str = "fp32"
    rounding: str = "rne"
    subnormals: bool = True
    name: str = None

    kind = "lmac"

    def __post_init__(self):
        fma = self.fma
        object.__setattr__(self, "fmt_in", fma.fmt_in)
        object.__setattr__(self, "fmt_acc", fma.fmt_acc)
        if fma.fin.man_bits == 0:
            raise ParameterError(f"fmt_in={fma.fmt_in} has no mantissa bits: L-Mul needs "
                                 "man_bits >= 1")
        if self.name is None:
            object.__setattr__(self, "name", "lmac" + fma.name[len("fma"):].replace("_d1", ""))
        else:
            _check_name(self.name)

    @property
    def fma(self):
        return FmaConfig(fmt_in=self.fmt_in, fmt_acc=self.fmt_acc, rounding=self.rounding,
                         subnormals=self.subnormals, depth=1)

    def model(self):
        """The golden cycle model (:class:`golden.fp.lmul.LMac`)."""
        from golden.fp.lmul import LMac
        return LMac(fmt_in=self.fin, fmt_acc=self.facc, rounding=self.rounding,
                    subnormals=self.subnormals)


CONFIGS = {"mac": MacConfig, "lmul": LMulConfig, "fma": FmaConfig, "fmac": FMacConfig,
           "fpmul": FpMulConfig, "lmac": LMacConfig}


def config_from_dict(kind, params):
    """Build a config of ``kind`` from a dict (a manifest's ``parameters``)."""
    if kind not in CONFIGS:
        raise ParameterError(f"kind={kind!r} is not allowed: choose one of "
                             + ", ".join(CONFIGS))
    cls = CONFIGS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(params) - names
    if unknown:
        raise ParameterError(f"unknown {kind} parameter(s): {', '.join(sorted(unknown))}")
    return cls(**params)
