"""Generator parameters declared as data.

Every configuration class (:mod:`tpegen.config`) is a frozen dataclass whose fields are
declared with :func:`param`: name, type, default, allowed range or choices, help text. One
validation routine (:meth:`Config.__post_init__`) checks them all before any tool runs and
raises :class:`ParameterError` naming the parameter and its allowed range. The CLI flags
(:mod:`tpegen.cli`), the docs' parameter tables and a sweep tool's ranges
(:meth:`Config.describe`) all read the same declarations.

Ranges and defaults may depend on other parameters: ``lo``, ``hi`` and ``default`` may be
Python expressions over the parameters declared before them (and over the configuration's
derived properties, e.g. ``facc.man_bits + 3``). Constraints between parameters are
:class:`Constraint` rows: an expression that must hold, and the message when it does not.
A parameter of type ``config`` holds a nested configuration (an engine's PE), given as a
configuration object or as ``{"kind": ..., "parameters": {...}}``.

Members
-------
ParameterError
    A parameter is out of its allowed range; the message names both.
Param
    One parameter's declaration.
Constraint
    A rule between parameters.
param
    Declare a dataclass field as a parameter.
Shorthand
    A CLI flag that sets several parameters at once (``--in`` for both operand formats).
Config
    Base class: validation, derived name, ``replace``, ``to_dict``, ``describe``.
"""

import dataclasses
from dataclasses import dataclass

from .errors import ParameterError
from .formats import parse_format

__all__ = ["ParameterError", "Param", "Constraint", "Shorthand", "param", "Config", "TYPES"]

#: Parameter types.
TYPES = ("int", "bool", "choice", "format", "name", "config")


_CLASSES = {}       # kind -> configuration class (filled by Config.__init_subclass__)


class _Namespace(dict):
    """Evaluation namespace of a range/default/constraint expression: the configuration's
    parameters and properties, plus a few builtins."""

    BUILTINS = {"max": max, "min": min, "abs": abs, "len": len}

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def __missing__(self, key):
        if key in self.BUILTINS:
            return self.BUILTINS[key]
        try:
            return getattr(self.cfg, key)
        except AttributeError:
            raise KeyError(key) from None


def evaluate(expression, cfg):
    """Value of a declared expression (a number or a Python expression string) for ``cfg``."""
    if not isinstance(expression, str):
        return expression
    return eval(expression, {"__builtins__": {}}, _Namespace(cfg))  # noqa: S307 (our own data)


@dataclass(frozen=True)
class Param:
    """Declaration of one parameter.

    Attributes
    ----------
    name : str
        The field name (filled in from the dataclass field).
    type : str
        One of :data:`TYPES`.
    default
        The default value, or an expression over earlier parameters (a string starting with
        ``=``), or ``None``.
    lo, hi : int or str, optional
        Inclusive range of an ``int`` (numbers or expressions).
    choices : tuple, optional
        Allowed values of a ``choice`` (and of an ``int`` given by a list, e.g. 1, 2, 4, 8).
    optional : bool
        ``None`` is allowed and means what ``help`` says.
    help : str
        One line, for the CLI and the docs.
    flag : str, optional
        The CLI flag (default ``--`` + the name with dashes).
    max_width : int
        Widest allowed ``format``, in bits.
    kinds : tuple
        Allowed kinds of a nested ``config``.
    """

    type: str
    default: object = None
    lo: object = None
    hi: object = None
    choices: tuple = ()
    optional: bool = False
    help: str = ""
    flag: str = None
    max_width: int = 32
    kinds: tuple = ()
    name: str = None

    @property
    def cli_flag(self):
        return self.flag or "--" + self.name.replace("_", "-")

    def resolve_default(self, cfg):
        if isinstance(self.default, str) and self.default.startswith("="):
            return evaluate(self.default[1:], cfg)
        return self.default

    def allowed(self, cfg=None):
        """The allowed range as text, e.g. ``2..32`` or ``one of a, b``."""
        if self.type == "int" and self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.type == "int":
            lo = evaluate(self.lo, cfg) if cfg is not None else self.lo
            hi = evaluate(self.hi, cfg) if cfg is not None else self.hi
            return f"{lo}..{hi}"
        if self.type == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.type == "bool":
            return "true or false"
        if self.type == "format":
            return f"a number format of at most {self.max_width} bits"
        if self.type == "config":
            return "a configuration of kind " + " or ".join(self.kinds)
        return "a Verilog identifier"

    def check(self, value, cfg):
        """Validate ``value`` (``cfg`` holds the parameters validated so far); return the
        canonical value."""
        name = self.name
        if value is None and self.optional:
            return None
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                where = "" if self.choices else "in "
                raise ParameterError(f"{name}={value!r} must be an integer {where}"
                                     f"{self.allowed(cfg)}")
            if self.choices:
                if value not in self.choices:
                    raise ParameterError(f"{name}={value!r} is not allowed: choose "
                                         f"{self.allowed(cfg)}")
                return value
            lo, hi = evaluate(self.lo, cfg), evaluate(self.hi, cfg)
            if not lo <= value <= hi:
                raise ParameterError(f"{name}={value} is out of range: allowed {lo}..{hi}"
                                     + self._depends())
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ParameterError(f"{name}={value!r} must be true or false")
            return value
        if self.type == "choice":
            if value not in self.choices:
                raise ParameterError(f"{name}={value!r} is not allowed: choose one of "
                                     + ", ".join(map(str, self.choices)))
            return value
        if self.type == "format":
            try:
                fmt = parse_format(value)
            except ParameterError as error:
                raise ParameterError(f"{name}: {error}") from None
            if fmt.width > self.max_width:
                raise ParameterError(f"{name}={fmt.name} is {fmt.width} bits wide: allowed "
                                     f"formats of 3..{self.max_width} bits")
            return fmt.name
        if self.type == "name":
            if not (isinstance(value, str) and value.isidentifier() and value.isascii()):
                raise ParameterError(f"{name}={value!r} must be a Verilog identifier "
                                     "(letters, digits, underscores, not starting with a "
                                     "digit)")
            return value
        if self.type == "config":
            if isinstance(value, dict):
                if set(value) != {"kind", "parameters"} or value["kind"] not in _CLASSES:
                    raise ParameterError(f"{name} must be a configuration or "
                                         "{'kind': ..., 'parameters': {...}} of kind "
                                         + " or ".join(self.kinds))
                value = _CLASSES[value["kind"]].from_dict(value["parameters"])
            if not isinstance(value, Config) or value.kind not in self.kinds:
                raise ParameterError(f"{name}={value!r} is not allowed: "
                                     f"{self.allowed(cfg)}")
            return value
        raise ParameterError(f"{name}: unknown parameter type {self.type!r}")

    def _depends(self):
        exprs = [e for e in (self.lo, self.hi) if isinstance(e, str)]
        return f" ({', '.join(f'{e}' for e in exprs)})" if exprs else ""

    def describe(self):
        """JSON-ready declaration (for docs and sweep tools)."""
        out = {"name": self.name, "type": self.type, "default": self.default,
               "help": self.help, "flag": self.cli_flag}
        for key in ("lo", "hi"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.optional:
            out["optional"] = True
        if self.type == "format":
            out["max_width"] = self.max_width
        if self.kinds:
            out["kinds"] = list(self.kinds)
        return out


@dataclass(frozen=True)
class Constraint:
    """A rule between parameters: ``expression`` (Python, over the parameters and derived
    properties) must hold; ``message`` (a ``str.format`` template over the same names) says
    what is wrong. ``when`` names the parameter that the rule is checked after."""

    expression: str
    message: str

    def check(self, cfg):
        if not evaluate(self.expression, cfg):
            raise ParameterError(self.message.format_map(_Namespace(cfg)))


@dataclass(frozen=True)
class Shorthand:
    """A CLI flag that sets several parameters to one value: ``--in`` (both operand formats),
    ``--signed``/``--unsigned`` (both operands' signedness; ``value`` fixed)."""

    flag: str
    sets: tuple
    help: str
    value: object = None          # None: the flag takes an argument


def param(type, default=None, **options):
    """A dataclass field declared as a parameter (see :class:`Param`)."""
    declaration = Param(type=type, default=default, **options)
    # The field's own default is None: validation puts the declared default in its place,
    # so that an alias (``fmt_in``) or an expression default can still set it.
    return dataclasses.field(default=None, metadata={"param": declaration})


class Config:
    """Base of every configuration: validation from the declarations, the derived name,
    ``replace``, ``to_dict``, ``from_dict``, ``describe``.

    A subclass is a frozen dataclass with a class attribute ``kind``, fields declared with
    :func:`param`, optional ``constraints`` (checked after every parameter is valid),
    ``aliases`` (``{old name: (parameters it sets)}``, accepted by :meth:`from_dict` and as
    ``InitVar`` fields), ``shorthands`` (CLI), and :meth:`default_name`. :meth:`validate`
    (called from ``__post_init__``) may be extended for rules that read derived structure.
    """

    kind = None
    constraints = ()
    shorthands = ()
    aliases = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            _CLASSES[cls.kind] = cls

    @classmethod
    def params(cls):
        """The parameter declarations, in field order."""
        return [dataclasses.replace(f.metadata["param"], name=f.name)
                for f in dataclasses.fields(cls) if "param" in f.metadata]

    @classmethod
    def describe(cls):
        """JSON-ready description: kind, summary, parameters and constraints."""
        return {"kind": cls.kind, "summary": (cls.__doc__ or "").strip().split("\n\n")[0],
                "parameters": [p.describe() for p in cls.params()],
                "constraints": [{"expression": c.expression, "message": c.message}
                                for c in cls.constraints]}

    def __post_init__(self, *aliased):
        for alias, value in zip(self.aliases, aliased):
            if value is None:
                continue
            declared = {p.name: p for p in self.params()}[self.aliases[alias][0]]
            value = dataclasses.replace(declared, name=alias).check(value, self)
            for target in self.aliases[alias]:
                if getattr(self, target) is None:
                    object.__setattr__(self, target, value)
        self.validate()
        if getattr(self, "name", None) is None:
            object.__setattr__(self, "name", self.default_name())

    def validate(self):
        for p in self.params():
            if p.name == "name":
                continue
            value = getattr(self, p.name)
            if value is None and not p.optional:
                value = p.resolve_default(self)
            object.__setattr__(self, p.name, p.check(value, self))
        for rule in self.constraints:
            rule.check(self)
        name = getattr(self, "name", None)
        if name is not None:
            Param(type="name", name="name").check(name, self)

    def default_name(self):
        raise NotImplementedError

    @property
    def engine_latency(self):
        """The unit's latency as an engine's PE (docs/engines.md): its ``latency``, unless a
        PE whose beats take several cycles says otherwise."""
        return self.latency

    @classmethod
    def given(cls, config=None, **params):
        """``config``, or a new configuration from keyword ``params`` (not both): what the
        generators' and golden models' ``Unit(config=None, **params)`` constructors take."""
        if config is None:
            return cls(**params)
        if params:
            raise TypeError(f"pass either a {cls.__name__} or keyword parameters, not both")
        return config

    def replace(self, **changes):
        """A new, validated configuration with ``changes`` (and a derived name)."""
        changes.setdefault("name", None)
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The parameters (the manifest's ``parameters``); nested configurations become
        ``{"kind", "parameters"}``."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = {"kind": value.kind, "parameters": value.to_dict()}
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, params):
        """Build from a dict (a manifest's ``parameters``); unknown names are an error."""
        if not isinstance(params, dict):
            raise ParameterError(f"parameters of {cls.kind} must be an object, not "
                                 f"{type(params).__name__}")
        names = {f.name for f in dataclasses.fields(cls)} | set(cls.aliases)
        unknown = set(params) - names
        if unknown:
            raise ParameterError(f"unknown {cls.kind} parameter(s): "
                                 + ", ".join(sorted(unknown)))
        return cls(**params)
