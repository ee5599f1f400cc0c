"""Integer multiply-accumulate unit, parameterized over multiplier, tree and accumulation.

Cycle semantics (the spec that :mod:`golden.mac` models)
-------------------------------------------------------
All registers are in the ``sync`` domain (rising ``clk``, synchronous active-high ``rst`` that
zeroes every register). On each rising edge, with ``a``, ``b``, ``clear`` and ``enable`` as seen
by the accumulator (after the optional input register):

* ``clear=0, enable=1``: ``acc <- acc + a*b``
* ``clear=1, enable=1``: ``acc <- a*b`` (a new sum starts with this product: no bubble)
* ``clear=1, enable=0``: ``acc <- 0``
* ``clear=0, enable=0``: ``acc`` holds (the registers are clock-enabled, so they do not toggle)

Arithmetic is modulo ``2**acc_width``; ``result`` reads ``acc`` as signed when either operand is
signed. With ``input_reg`` the four inputs pass through one register first; with
``output_reg`` ``result`` is registered once more. :attr:`Mac.latency` is the number of edges
from the ports to ``result`` (1 + input_reg + output_reg); the initiation interval is 1.

Accumulation
------------
``cpa`` (the baseline)
    ``acc`` is one register. For ``mult="behavioural"`` the next value is ``acc + a*b`` in
    Amaranth arithmetic. Otherwise the partial products and the ``acc`` row form one bit matrix
    (a fused multiply-add tree), reduced to two rows and added by the final adder every cycle.
``carry_save`` (TPE paper OPT1, "compressed accumulation")
    The accumulator is two registers, ``sum`` (S) and ``carry`` (C), with
    ``(S + C) mod 2**acc_width == acc``. The partial products and the S and C rows enter one
    compressor tree whose two output rows are registered directly: no carry-propagate adder
    sits in the loop. A final adder forms ``S + C`` for ``result`` only. S and C are also
    outputs (roles ``sum``/``carry``) so that a testbench can check the invariant.

Dot-product terms
-----------------
``Mac(config, terms=T)`` is the same unit with ``T`` products per cycle:
``acc <- acc + sum_t a[t]*b[t]`` (and ``acc <- sum_t a[t]*b[t]`` on ``clear``). Every
product's partial products enter the *same* bit matrix as the accumulator rows, so one
compressor tree reduces the ``T`` products and the accumulator together, and one final
adder (or, carry-save, none) closes the loop: the reduction of the cube engine's PEs and of
the adder-tree engine's dot-product units (docs/engines.md). ``T = 1`` is the unit above.

Members
-------
a : In(a_width), signed if ``a_signed``; ``In(ArrayLayout(a, T))`` with ``terms=T > 1``
b : In(b_width), signed if ``b_signed``; ``In(ArrayLayout(b, T))`` with ``terms=T > 1``
clear : In(1)
enable : In(1)
result : Out(acc_width)
sum, carry : Out(acc_width), only when ``accumulate="carry_save"``

After elaboration, ``state`` maps the canonical architectural state (the same names for every
architecture of one configuration) to its values, ``adders`` lists the prefixes of the final
adders (signals ``<prefix>_x``, ``<prefix>_y``, ``<prefix>_sum``), and ``stats`` holds the
structural counts; the formal proofs use the first two.
"""

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import MAX_TERMS, MacConfig, ParameterError

from .arith import BitMatrix, add_product, final_add, reduce_matrix

__all__ = ["Mac"]


class Mac(wiring.Component):
    """Integer MAC generator. See the module docstring for ports and cycle semantics.

    Parameters
    ----------
    config : MacConfig, optional
        The parameters; alternatively pass them as keyword arguments (validated by
        :class:`~tpegen.config.MacConfig`).
    terms : int
        Products per cycle, 1..MAX_TERMS (see "Dot-product terms" above).
    """

    def __init__(self, config=None, *, terms=1, **params):
        if config is None:
            config = MacConfig(**params)
        elif params:
            raise TypeError("pass either a MacConfig or keyword parameters, not both")
        if isinstance(terms, bool) or not isinstance(terms, int) or not 1 <= terms <= MAX_TERMS:
            raise ParameterError(f"terms={terms!r} is out of range: allowed 1..{MAX_TERMS}")
        self.config = config
        self.terms = terms
        self.stats = {}
        c = config

        def operand(width, signed):
            shape = Shape(width, signed)
            return In(shape) if terms == 1 else In(data.ArrayLayout(shape, terms))
        members = {
            "a": operand(c.a_width, c.a_signed),
            "b": operand(c.b_width, c.b_signed),
            "clear": In(1),
            "enable": In(1),
            "result": Out(Shape(c.acc_width, c.result_signed)),
        }
        if c.accumulate == "carry_save":
            members["sum"] = Out(c.acc_width)
            members["carry"] = Out(c.acc_width)
        super().__init__(members)

    @property
    def latency(self):
        """Clock edges from ``a``/``b``/``clear``/``enable`` to ``result``."""
        return self.config.latency

    @property
    def state_latency(self):
        """Clock edges from the inputs to the accumulator state (and ``sum``/``carry``)."""
        return 1 + int(self.config.input_reg)

    def _tree(self, m, matrix):
        c = self.config
        reduced, stats = reduce_matrix(m, matrix, tree=c.tree, compressor=c.compressor)
        self.stats.update(stats)
        return reduced.rows()

    def elaborate(self, platform):
        c = self.config
        m = Module()
        width = c.acc_width

        # Canonical architectural state, the same for every architecture of one config: the
        # formal miter (tpegen/formal.py) asserts it equal between two designs.
        self.state = {}
        self.adders = []  # prefixes of the final adders (``<prefix>_x/_y/_sum`` signals)
        T = self.terms
        # raw bits (all T lanes); signedness from config
        a, b = (Value.cast(self.a).as_unsigned(), Value.cast(self.b).as_unsigned())
        clear, enable = self.clear, self.enable
        if c.input_reg:
            a_r = Signal(c.a_width * T, name="a_reg")
            b_r = Signal(c.b_width * T, name="b_reg")
            clear_r = Signal(name="clear_reg")
            enable_r = Signal(name="enable_reg")
            m.d.sync += [a_r.eq(a), b_r.eq(b), clear_r.eq(clear), enable_r.eq(enable)]
            a, b, clear, enable = a_r, b_r, clear_r, enable_r
            self.state.update(a_reg=a_r, b_reg=b_r, clear_reg=clear_r, enable_reg=enable_r)

        # enable=0 multiplies by zero; a zero operand makes every architecture's product zero.
        a_gated = Signal(c.a_width * T, name="a_gated")
        m.d.comb += a_gated.eq(Mux(enable, a, 0))
        aw, bw = c.a_width, c.b_width
        pairs = [(a_gated[t * aw:(t + 1) * aw], b[t * bw:(t + 1) * bw]) for t in range(T)]

        def add_products(matrix):
            rows = 0
            for t, (at, bt) in enumerate(pairs):
                rows += add_product(m, matrix, at, c.a_signed, bt, c.b_signed, mult=c.mult,
                                    prefix="mul" if T == 1 else f"mul{t}")
            return rows
        update = Signal(name="acc_update")
        m.d.comb += update.eq(enable | clear)

        self.stats = {"partial_product_rows": 0}
        if c.accumulate == "cpa":
            acc = Signal(width, name="acc")
            acc_in = Signal(width, name="acc_in")
            m.d.comb += acc_in.eq(Mux(clear, 0, acc))
            if c.mult == "behavioural":
                acc_next = acc_in
                for at, bt in pairs:
                    acc_next = acc_next + ((at.as_signed() if c.a_signed else at)
                                           * (bt.as_signed() if c.b_signed else bt))
                self.stats["partial_product_rows"] = T
            else:
                matrix = BitMatrix(width)
                self.stats["partial_product_rows"] = add_products(matrix)
                matrix.add_value(acc_in)
                row0, row1 = self._tree(m, matrix)
                acc_next = final_add(m, row0, row1, width, kind=c.final_adder, prefix="acc_cpa")
                self.adders.append("acc_cpa")
            with m.If(update):
                m.d.sync += acc.eq(acc_next)
            acc_value = acc
            self.state["acc"] = acc
        else:
            s_reg = Signal(width, name="acc_s")
            c_reg = Signal(width, name="acc_c")
            matrix = BitMatrix(width)
            self.stats["partial_product_rows"] = add_products(matrix)
            s_in, c_in = Signal(width, name="acc_s_in"), Signal(width, name="acc_c_in")
            m.d.comb += [s_in.eq(Mux(clear, 0, s_reg)), c_in.eq(Mux(clear, 0, c_reg))]
            matrix.add_value(s_in)
            matrix.add_value(c_in)
            row0, row1 = self._tree(m, matrix)
            with m.If(update):
                m.d.sync += [s_reg.eq(Cat(*row0)), c_reg.eq(Cat(*row1))]
            m.d.comb += [self.sum.eq(s_reg), self.carry.eq(c_reg)]
            acc_value = final_add(m, s_reg, c_reg, width, kind=c.final_adder, prefix="readout")
            self.adders.append("readout")
            self.state["acc"] = (s_reg + c_reg)[:width]

        if c.output_reg:
            result_r = Signal(width, name="result_reg")
            m.d.sync += result_r.eq(acc_value)
            acc_value = result_r
            self.state["result_reg"] = result_r
        m.d.comb += self.result.eq(acc_value)
        return m
