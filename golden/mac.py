"""Bit-exact, cycle-accurate model of the integer MAC (:class:`hdl.mac.Mac`).

Written from the spec (``hdl/mac.py``'s module docstring), not from the RTL: it knows nothing
about partial products or trees. Arithmetic uses Python integers (exact, any width).

The model is split the same way as a testbench sees the design:

* :meth:`Mac.outputs` gives the values on the output ports in the current cycle;
* :meth:`Mac.tick` applies one rising clock edge with the given inputs.

For ``accumulate="carry_save"`` the model also keeps a word-level carry-save pair (S, C),
updated by a 3:2 compression ``S' = S ^ C ^ P``, ``C' = maj(S, C, P) << 1`` of the two rows
and the product ``P``. The RTL's own S and C differ from these (its tree mixes the partial
products), so the testbench checks the invariant ``(S + C) mod 2**W == acc`` on the RTL's rows,
never their exact bits; this model's pair obeys the same invariant, which the unit tests check
against exact arithmetic.
"""

from tpegen.config import MacConfig

__all__ = ["Mac", "to_signed", "operand_range"]


def to_signed(value, width):
    """Read the low ``width`` bits of ``value`` as two's complement."""
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


def operand_range(width, signed):
    """``(min, max)`` of an operand."""
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)


class Mac:
    """Cycle model of :class:`hdl.mac.Mac` with the same parameters.

    Operands are given as integers in their natural range (negative for signed operands);
    output values are returned as the port's unsigned bit patterns, as a simulator reads them.
    With ``terms=T`` (``hdl.mac.Mac(config, terms=T)``) ``a`` and ``b`` are sequences of
    ``T`` integers and the product is their dot product ``sum(a[t] * b[t])``.
    """

    def __init__(self, config=None, *, terms=1, **params):
        self.config = config if config is not None else MacConfig(**params)
        self.terms = terms
        self.mask = (1 << self.config.acc_width) - 1
        self.reset()

    @property
    def latency(self):
        return self.config.latency

    def reset(self):
        """Synchronous reset: every register to zero."""
        self.inputs_reg = (0, 0, 0, 0)
        self.acc = 0
        self.s = 0
        self.c = 0
        self.result_reg = 0

    def outputs(self):
        """Port values in the current cycle: ``result`` and, for carry-save, the reference
        accumulator ``acc`` that the RTL's ``sum + carry`` must equal."""
        result = self.result_reg if self.config.output_reg else self.acc
        return {"result": result, "acc": self.acc}

    def tick(self, a, b, clear, enable):
        """One rising edge with these port inputs."""
        cfg = self.config
        if cfg.input_reg:
            (a, b, clear, enable), self.inputs_reg = self.inputs_reg, (a, b, clear, enable)
        self.result_reg = self.acc  # the output register samples the old accumulator
        if clear or enable:
            if self.terms > 1:
                product = sum(x * y for x, y in zip(a, b, strict=True)) if enable else 0
            else:
                product = a * b if enable else 0
            base = 0 if clear else self.acc
            self.acc = (base + product) & self.mask
            s, c = (0, 0) if clear else (self.s, self.c)
            p = product & self.mask
            self.s, self.c = s ^ c ^ p, (((s & c) | (s & p) | (c & p)) << 1) & self.mask
