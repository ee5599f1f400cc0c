"""SIMD multi-precision MAC (XR-NPE style): one W-bit datapath that computes, as the ``mode``
input chooses on every cycle, 1 x (W x W), 2 x (W/2 x W) or 4 x (W/2 x W/2) products and
adds their sum to the accumulator. The spec (lanes, modes, the cycle rule) is in
:mod:`golden.pe.simd`, its golden model, and docs/pe.md.

Datapaths
---------
``fused`` (the reconfigurable multiplier)
    Four (H x H) sub-multipliers, H = W/2, each on one nibble of ``a`` and one of ``b``
    (its "brick"). A nibble is read as H + 1 bits: its top bit repeats when, in the current
    mode, it is the top nibble of a signed lane, else 0; so the same brick is signed x
    signed, signed x unsigned or unsigned x unsigned as the mode needs. The mode picks which
    nibbles a brick sees and where its product lands: at weight 0, H or 2H (the schoolbook
    split ``a*b = aH*bH*2^2H + (aH*bL + aL*bH)*2^H + aL*bL`` in the W x W mode; the two
    halves of each H x W product in the 2-lane mode; weight 0 in the 4-lane mode). The
    bricks are assigned so that one lands at a fixed weight, its dots entering the
    accumulator's bit matrix directly; each of the other three has two weights, so its
    product is formed once (its own small tree and adder) and enters the matrix as one
    row per weight, gated by the mode.
``separate`` (the baseline)
    One dedicated multiplier set per mode, side by side: one W x W, two H x W, four H x H,
    each fed zeros unless its mode is selected, all their dots in the accumulator's matrix.

In both, the products and the accumulator go through one bit-matrix reduction
(:mod:`hdl.arith`, the config's ``tree``) and one final adder closing the loop.

Members
-------
a : In(2*W)
    The multiplicand word: lane ``i`` of the mode's a width (W, H, H bits) is bits
    ``i*bits ..``; two's complement if ``a_signed``.
b : In(2*W)
    The other word, lanes of W, W, H bits.
mode : In(2)
    ``0``: 1 x (W x W); ``1``: 2 x (H x W); ``2``: 4 x (H x H); ``3``: no product.
clear, enable : In(1)
    As for the integer MAC: ``acc <- (0 if clear else acc) + (products if enable else 0)``.
result : Out(acc_width)
    The accumulator, ``latency`` (1) clock edge after the inputs.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tpegen.config import SimdMacConfig

from ..arith import BitMatrix, add_product, final_add, reduce_matrix

__all__ = ["SimdMac", "BRICKS"]

#: The fused datapath's bricks: per brick, per mode code 0/1/2, the (a nibble, b nibble) it
#: multiplies. Brick 0 is at weight 0 in every mode; the others have two weights each.
BRICKS = (
    ((0, 0), (0, 0), (0, 0)),
    ((1, 1), (1, 2), (1, 1)),
    ((1, 0), (1, 3), (2, 2)),
    ((0, 1), (0, 1), (3, 3)),
)


class SimdMac(wiring.Component):
    """SIMD MAC generator; see the module docstring.

    Parameters
    ----------
    config : SimdMacConfig, optional
        The parameters; alternatively pass them as keyword arguments.
    """

    def __init__(self, config=None, **params):
        self.config = config = SimdMacConfig.given(config, **params)
        self.stats = {}
        W = config.width
        super().__init__({"a": In(2 * W), "b": In(2 * W), "mode": In(2), "clear": In(1),
                          "enable": In(1), "result": Out(config.acc_width)})

    @property
    def latency(self):
        return self.config.latency

    @property
    def modes_info(self):
        """The manifest's ``modes``: what each ``mode`` code does."""
        return [{"code": code, "name": name, "lanes": n, "a_bits": wa, "b_bits": wb}
                for code, name, n, wa, wb in self.config.modes()] + [
                    {"code": 3, "name": "none", "lanes": 0, "a_bits": 0, "b_bits": 0}]

    # --- the lanes of a mode --------------------------------------------------------------

    def _nibble_role(self, operand, index, code):
        """``(top_of_signed_lane, weight_in_lane)`` of nibble ``index`` of ``operand`` in
        mode ``code``."""
        cfg = self.config
        _, _, _, wa, wb = cfg.modes()[code]
        bits = wa if operand == "a" else wb
        signed = cfg.a_signed if operand == "a" else cfg.b_signed
        H = cfg.width // 2
        weight = (index * H) % bits
        return signed and weight + H == bits, weight

    def elaborate(self, platform):
        cfg = self.config
        m = Module()
        H, width = cfg.width // 2, cfg.acc_width
        sel = []
        for code in range(3):
            s = Signal(name=f"mode{code}")
            m.d.comb += s.eq(self.enable & (self.mode == code))
            sel.append(s)

        def nibble(x, i):
            return x[i * H:(i + 1) * H]

        matrix = BitMatrix(width)
        rows = 0
        if cfg.datapath == "separate":
            for code, _, n, wa, wb in cfg.modes():
                for i in range(n):
                    x = Signal(wa, name=f"m{code}_a{i}")
                    m.d.comb += x.eq(Mux(sel[code], self.a[i * wa:(i + 1) * wa], 0))
                    rows += add_product(m, matrix, x, cfg.a_signed,
                                        self.b[i * wb:(i + 1) * wb], cfg.b_signed,
                                        mult=cfg.mult, prefix=f"m{code}_{i}")
        else:
            for k, pairs in enumerate(BRICKS):
                rows += self._brick(m, matrix, k, pairs, sel, nibble)
        self.stats["partial_product_rows"] = rows

        acc = Signal(width, name="acc")
        acc_in = Signal(width, name="acc_in")
        m.d.comb += acc_in.eq(Mux(self.clear, 0, acc))
        matrix.add_value(acc_in)
        reduced, stats = reduce_matrix(m, matrix, tree=cfg.tree)
        self.stats.update(stats)
        row0, row1 = reduced.rows()
        acc_next = final_add(m, row0, row1, width, kind=cfg.final_adder, prefix="acc_cpa")
        with m.If(self.enable | self.clear):
            m.d.sync += acc.eq(acc_next)
        m.d.comb += self.result.eq(acc)
        return m

    def _brick(self, m, matrix, k, pairs, sel, nibble):
        """Brick ``k``: its operands chosen by the mode, its product placed by it."""
        cfg = self.config
        H = cfg.width // 2
        operands = []
        weights = {}                        # weight -> mode codes that place the product there
        for side, x_all in (("a", self.a), ("b", self.b)):
            value = Signal(H + 1, name=f"brick{k}_{side}")
            picks = []
            for code, pair in enumerate(pairs):
                index = pair[0 if side == "a" else 1]
                top, weight = self._nibble_role(side, index, code)
                nib = nibble(x_all, index)
                picks.append((code, Cat(nib, nib[H - 1] if top else 0)))
                weights.setdefault(code, 0)
                weights[code] += weight
            choice = picks[0][1]
            for code, v in picks[1:]:
                choice = Mux(self.mode == code, v, choice)
            operands.append((value, choice))
        by_weight = {}
        for code, w in weights.items():
            by_weight.setdefault(w, []).append(code)
        (xa, va), (xb, vb) = operands
        live = Signal(name=f"brick{k}_live")
        m.d.comb += live.eq(sel[0] | sel[1] | sel[2])
        if len(by_weight) == 1:             # one weight: its dots enter the matrix directly
            (w,) = by_weight
            m.d.comb += [xa.eq(Mux(live, va, 0)), xb.eq(vb)]
            sub = BitMatrix(matrix.width)
            rows = add_product(m, sub, xa, True, xb, True, mult=cfg.mult, prefix=f"brick{k}")
            matrix.add_matrix(sub, w)
            return rows
        m.d.comb += [xa.eq(va), xb.eq(vb)]
        n = 2 * H + 2
        sub = BitMatrix(n)
        rows = add_product(m, sub, xa, True, xb, True, mult=cfg.mult, prefix=f"brick{k}")
        reduced, stats = reduce_matrix(m, sub, tree=cfg.tree, prefix=f"brick{k}_t")
        for key in ("ha", "fa", "c42"):
            self.stats[f"brick_{key}"] = self.stats.get(f"brick_{key}", 0) + stats.get(key, 0)
        r0, r1 = reduced.rows()
        product = final_add(m, r0, r1, n, kind=cfg.final_adder, prefix=f"brick{k}_cpa")
        for w, codes in sorted(by_weight.items()):
            gate = Signal(name=f"brick{k}_at{w}")
            m.d.comb += gate.eq(Cat(*(sel[c] for c in codes)).any())
            placed = Signal(n, name=f"brick{k}_p{w}")
            m.d.comb += placed.eq(Mux(gate, product, 0))
            matrix.add_value(placed.as_signed(), w)
        return rows
