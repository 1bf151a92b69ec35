"""The one table formatter of the command line (and of the benchmark scripts)."""

from __future__ import annotations


def fmt_seconds(t: float) -> str:
    """A duration for a table: s, ms or us."""
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.0f} us"


def fmt_ratio(r: float) -> str:
    """A ratio for a table: 3 significant digits below 10, fewer decimals above."""
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.3g}x"


def text_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns; the first row is the header, underlined with dashes."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def frame_table(frame) -> str:
    """A DataFrame as :func:`text_table` lines (floats with 3 decimals)."""
    rows = [tuple(str(c) for c in frame.columns)]
    for rec in frame.itertuples(index=False):
        rows.append(tuple(f"{v:.3f}" if isinstance(v, float) else str(v) for v in rec))
    return "\n".join(text_table(rows))
