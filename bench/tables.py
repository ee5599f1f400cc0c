"""Plain-text tables for the benchmarks: one printer, so every bench's table reads alike.

Members
-------
text_table
    Aligned columns with a rule under the header.
"""

__all__ = ["text_table"]


def text_table(head, rows, *, left=1, float_format=".4g"):
    """The table of ``rows`` (sequences in the order of ``head``, or dicts keyed by it; a
    missing key prints ``-``) under ``head``: the first ``left`` columns left-aligned, the
    others right-aligned, floats as ``float_format``."""
    def text(v):
        return format(v, float_format) if isinstance(v, float) else str(v)
    cells = [list(head)] + [[text(r.get(h, "-")) for h in head] if isinstance(r, dict)
                            else [text(v) for v in r] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < left else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
