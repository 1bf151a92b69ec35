"""Reports people look at: one self-contained HTML page of a training run, and the
benchmark plot.

:func:`html_report` turns the report dict of :func:`mmfeat.run.train` (or of
``mmfeat demo``) into one HTML page with nothing outside it: the charts are
PNG images embedded as base64 ``data:`` URIs, the styles inline, no script, no
font or stylesheet to fetch. :func:`write_report` writes that page, or the dict
as JSON, by the file's suffix. :func:`write_bench_plot` draws the ratios of
:func:`mmfeat._bench.run_image_bench`'s report against each anchor, per op.

The charts need matplotlib, the optional extra ``report``
(``pip install 'mmfeat[report]'``); :func:`require_matplotlib` says so before
any work. Only matplotlib's object-oriented API and its Agg canvas are used:
no window opens and pyplot's global state is left alone.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: how to get the plotting dependency
INSTALL_HINT = "pip install 'mmfeat[report]'"

#: suffixes written as an HTML page by :func:`write_report` (anything else: JSON)
HTML_SUFFIXES = (".html", ".htm")

#: anchor families of the benchmark plot, in legend order, with their display names
_FAMILIES = {"opencv": "OpenCV", "skimage": "scikit-image"}


def require_matplotlib() -> None:
    """Raise ImportError naming :data:`INSTALL_HINT` when matplotlib is not importable."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"matplotlib is not importable ({exc}): {INSTALL_HINT}") from None


def is_html(path) -> bool:
    """Whether :func:`write_report` writes ``path`` as HTML (suffix .html or .htm).

    Examples
    --------
    >>> from mmfeat.report import is_html
    >>> is_html("report.HTML"), is_html("report.htm"), is_html("report.json")
    (True, True, False)
    """
    return Path(path).suffix.lower() in HTML_SUFFIXES


# -- figures ------------------------------------------------------------------------
def _figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas (never a window, never pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(matrix, labels):
    """Heat map of a confusion matrix (rows: true, columns: predicted), counts written in."""
    import numpy as np

    cm = np.asarray(matrix, dtype=np.int64)
    k = cm.shape[0]
    side = min(max(3.6, 0.6 * k + 2.2), 12.0)
    fig = _figure(side + 0.8, side)
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(int(cm.max()), 1))
    fig.colorbar(im, ax=ax, shrink=0.8, label="rows (count)")
    names = [str(lab) for lab in labels]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names), default=0) > 3 else 0,
                  ha="right" if max(map(len, names), default=0) > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix")
    half = cm.max() / 2
    size = max(6, 11 - k // 3)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=size,
                    color="white" if cm[i, j] > half else "black")
    return fig


def recall_figure(per_class_recall: Mapping[str, float]):
    """Bar chart of the recall of each class."""
    names = [str(k) for k in per_class_recall]
    values = [float(v) for v in per_class_recall.values()]
    fig = _figure(min(max(4.0, 0.55 * len(names) + 2), 12.0), 3.2)
    ax = fig.add_subplot()
    bars = ax.bar(range(len(names)), values, color="#4c72b0")
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 8 else 0)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("recall")
    ax.set_xlabel("class")
    ax.set_title("recall per class")
    return fig


def _setting_label(row: Mapping[str, Any]) -> str:
    return str(row["setting"]) if row["fusion"] == "none" else f"{row['setting']} ({row['fusion']})"


def _kind(row: Mapping[str, Any]) -> str:
    if row["fusion"] == "none":
        return "one modality"
    return "all" if row["setting"] == "all" else "all but one"


_KIND_COLOURS = {"one modality": "#4c72b0", "all": "#55a868", "all but one": "#dd8452"}


def ablation_figure(records: Iterable[Mapping[str, Any]]):
    """Horizontal bars of accuracy (solid) and macro F1 (light) per ablation setting."""
    from matplotlib.patches import Patch

    rows = list(records)
    n = len(rows)
    fig = _figure(7.0, max(2.2, 0.42 * n + 1.2))
    ax = fig.add_subplot()
    ys = list(range(n))[::-1]  # first row on top
    colours = [_KIND_COLOURS[_kind(r)] for r in rows]
    acc = [float(r["accuracy"]) for r in rows]
    f1 = [float(r["f1_macro"]) for r in rows]
    h = 0.38
    a = ax.barh([y + h / 2 for y in ys], acc, height=h, color=colours)
    f = ax.barh([y - h / 2 for y in ys], f1, height=h, color=colours, alpha=0.45)
    ax.bar_label(a, labels=[f"{v:.3f}" for v in acc], fontsize=7, padding=2)
    ax.bar_label(f, labels=[f"{v:.3f}" for v in f1], fontsize=7, padding=2)
    ax.set_yticks(ys, [_setting_label(r) for r in rows])
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("accuracy (solid), macro F1 (light)")
    singles = [v for r, v in zip(rows, acc, strict=True) if r["fusion"] == "none"]
    if singles and len(singles) < n:
        ax.axvline(max(singles), color="grey", linestyle="--", linewidth=1)
    kinds = [k for k in _KIND_COLOURS if any(_kind(r) == k for r in rows)]
    handles = [Patch(color=_KIND_COLOURS[k], label=k) for k in kinds]
    if len(singles) < n:
        handles.append(Patch(facecolor="none", edgecolor="grey", linestyle="--",
                             label="best single modality"))
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    ax.set_title("ablation")
    return fig


def bench_figure(report: Mapping[str, Any]):
    """Grouped bars: per op, the ratio anchor time / mmfeat time against each anchor.

    Raises
    ------
    ValueError
        When the report holds no ratio (``--no-anchors``, or every anchor skipped).
    """
    import numpy as np

    results = list(report["results"])
    if not any(r["ratios"] for r in results):
        raise ValueError("the benchmark report has no anchor times to plot (the anchors "
                         "were not run or all skipped)")
    # series: anchor families (a name like "skimage+numpy" belongs to "skimage"), known
    # ones first in table order, then any other
    found = {name.split("+")[0] for r in results for name in [*r["ratios"], *r["skipped"]]}
    families = [f for f in _FAMILIES if f in found] + sorted(found - set(_FAMILIES))
    cfg = report.get("config", {})
    ops = [r["op"] for r in results]
    fig = _figure(max(6.0, 1.0 * len(ops) + 2.5), 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(families)
    x = np.arange(len(ops))
    ratios = [v for r in results for v in r["ratios"].values()]
    lo, hi = min(ratios + [1.0]), max(ratios + [1.0])
    for i, fam in enumerate(families):
        xs = x - 0.4 + width * (i + 0.5)
        label = _FAMILIES.get(fam, fam)  # on the family's first bar only: one legend entry
        for j, r in enumerate(results):
            names = [n for n in r["ratios"] if n.split("+")[0] == fam]
            if not names:
                if any(n.split("+")[0] == fam for n in r["skipped"]):
                    ax.text(xs[j], 1.0, "skipped", rotation=90, ha="center", va="bottom",
                            fontsize=7, color="grey")
                continue
            sub = width / len(names)  # several anchors of one family share its slot
            for k, name in enumerate(names):
                value = r["ratios"][name]
                # from parity (1) up or down, so faster and slower read at a glance
                bar = ax.bar(xs[j] - width / 2 + sub * (k + 0.5), value - 1.0, bottom=1.0,
                             width=sub * 0.95, color=f"C{i}", label=label)
                label = None
                text = f"{value:.3g}x" if value < 100 else f"{value:.0f}x"
                ax.bar_label(bar, labels=[text], fontsize=7, padding=1)
    ax.set_yscale("log")
    ax.set_ylim(min(lo, 1.0) / 1.6, max(hi, 1.0) * 2.0)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(x, ops, rotation=30, ha="right")
    ax.set_ylabel("anchor time / mmfeat time\n(> 1: mmfeat is faster)")
    ax.legend(title="vs", fontsize=8, loc="best")
    if cfg:
        ax.set_title(f"mmfeat ({cfg.get('backend')}) vs its anchors: {cfg.get('n')} x "
                     f"{cfg.get('size')}x{cfg.get('size')} RGB, best of {cfg.get('repeat')}",
                     fontsize=10)
    return fig


def write_bench_plot(report: Mapping[str, Any], path) -> str:
    """Write :func:`bench_figure` to ``path`` (PNG, SVG or PDF by its suffix); returns it."""
    fmt = plot_format(path)
    bench_figure(report).savefig(path, format=fmt, dpi=120,
                                 metadata={"Software": None} if fmt == "png" else None)
    return str(path)


def plot_format(path) -> str:
    """The image format of ``path``'s suffix; ValueError unless png, svg or pdf."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"expected a .png, .svg or .pdf file, got {str(path)!r}")
    return fmt


# -- the page -----------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
 margin:2em auto;max-width:1000px;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.2em .7em;text-align:left}
th{border-bottom:1px solid #aaa} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#f6f6f6} .note{color:#555;font-size:.9em}
.bar{background:#4c72b0;height:.8em;display:inline-block;vertical-align:middle}
img{max-width:100%;height:auto}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(head: Iterable[str], rows: Iterable[Iterable[Any]], numeric=()) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            if isinstance(v, float):
                cells.append(f'<td class="num">{v:.4f}</td>')
            elif i in numeric:
                cells.append(f'<td class="num">{_e(v)}</td>')
            else:
                cells.append(f"<td>{v if isinstance(v, _Raw) else _e(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


class _Raw(str):
    """HTML that :func:`_table` puts in a cell as is (built here, never user text)."""


def _img(fig, alt: str, element_id: str) -> str:
    return f'<img id="{element_id}" alt="{_e(alt)}" src="{_png_uri(fig)}">'


def _numbers(table: str) -> str:
    """A chart's numbers as a table, folded under it (HTML's own details element)."""
    return f"<details><summary>numbers</summary>\n{table}\n</details>"


def _fmt_seconds(t: float) -> str:
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} us"


def _model_section(report: Mapping[str, Any]) -> str:
    parts = ['<h2 id="model">Model</h2>']
    lib = f" ({_e(report['library'])})" if report.get("library") else ""
    parts.append(f"<p><b>{_e(report['model'])}</b>{lib}</p>")
    tuned = report.get("tuning")
    if tuned:
        parts.append(f"<p>tuned by cross-validated {_e(tuned.get('search', 'search'))} "
                     f"search, scoring {_e(tuned.get('scoring'))}: best cv score "
                     f"{float(tuned['best_score']):.4f}"
                     + (f" over {_e(tuned['n_candidates'])} candidates"
                        if tuned.get("n_candidates") else "") + "</p>")
        parts.append('<div id="tuned-params">' + _table(
            ("parameter", "value"), sorted(tuned["best_params"].items())) + "</div>")
    else:
        parts.append("<p>default parameters (not tuned)</p>")
    return "\n".join(parts)


def _times_section(seconds: Mapping[str, float]) -> str:
    top = max([float(v) for v in seconds.values()] + [1e-12])
    rows = [(name, _Raw(_fmt_seconds(float(v))),
             _Raw(f'<span class="bar" style="width:{max(1, round(240 * float(v) / top))}px">'
                  "</span>"))
            for name, v in seconds.items()]
    return '<h2 id="stage-times">Stage times</h2>\n<div id="times">' + _table(
        ("stage", "time", ""), rows) + "</div>"


def html_report(report: Mapping[str, Any], *, title: str = "mmfeat report",
                notes: Iterable[str] = ()) -> str:
    """One self-contained HTML page of a training report.

    Parameters
    ----------
    report : dict
        The report of :func:`mmfeat.run.train`, or one with the same keys (the
        ``mmfeat demo`` report): ``model`` and ``ablation`` (records with
        ``setting``, ``fusion``, ``n_features``, ``accuracy``, ``f1_macro``) are
        required; ``accuracy`` ... ``f1_macro``, ``confusion_matrix`` with
        ``labels``, ``per_class_recall``, ``library``, ``tuning``, ``n_train``,
        ``n_test``, ``blocks`` and ``seconds`` (stage -> seconds) each add their
        section when present.
    title : str
        The page's heading.
    notes : iterable of str
        Lines shown under the heading (what the run was, how it was split).

    Returns
    -------
    str
        The page: charts as base64 PNG ``data:`` URIs, inline styles, no script
        and no reference to another file or to the network.

    Raises
    ------
    ImportError
        matplotlib is not installed (the message says how to get it).

    See Also
    --------
    write_report : the page, or the dict as JSON, to a file.

    Examples
    --------
    >>> from mmfeat.report import html_report
    >>> row = {"setting": "image", "fusion": "none", "n_features": 4, "accuracy": 0.9,
    ...        "f1_macro": 0.88}
    >>> page = html_report({"model": "knn", "ablation": [row]}, title="one modality")
    >>> page.startswith("<!DOCTYPE html>"), '<img id="ablation-chart"' in page
    (True, True)
    """
    require_matplotlib()
    body = [f"<h1>{_e(title)}</h1>"]
    body += [f'<p class="note">{_e(n)}</p>' for n in notes]
    if "n_train" in report:
        blocks = report.get("blocks") or {}
        dims = ", ".join(f"{_e(m)} {_e(d)}" for m, d in blocks.items())
        body.append(f"<p>{_e(report['n_train'])} training rows, {_e(report['n_test'])} test "
                    f"rows" + (f", {sum(blocks.values())} features ({dims})" if blocks else "")
                    + "</p>")
    body.append(_model_section(report))
    metrics = [k for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro")
               if k in report]
    if metrics:
        body.append('<h2 id="evaluation">Evaluation on the test rows</h2>')
        body.append('<div id="metrics">' + _table(
            ("metric", "value"), [(k, float(report[k])) for k in metrics]) + "</div>")
    if report.get("confusion_matrix"):
        body.append("<h3>Confusion matrix</h3>")
        body.append(_img(confusion_figure(report["confusion_matrix"], report["labels"]),
                         "confusion matrix heat map (rows: true, columns: predicted)",
                         "confusion-matrix"))
        body.append(_numbers(_table(
            ("true \\ predicted", *map(str, report["labels"])),
            [(lab, *row) for lab, row in zip(report["labels"], report["confusion_matrix"],
                                              strict=True)],
            numeric=range(1, len(report["labels"]) + 1))))
    if report.get("per_class_recall"):
        body.append("<h3>Recall per class</h3>")
        body.append(_img(recall_figure(report["per_class_recall"]), "recall per class",
                         "per-class-recall"))
        body.append(_numbers(_table(("class", "recall"),
                                    [(k, float(v)) for k, v in
                                     report["per_class_recall"].items()])))
    rows = list(report.get("ablation") or [])
    if rows:
        body.append('<h2 id="ablation">Ablation</h2>')
        body.append('<p class="note">Each modality alone, all of them fused (early: '
                    "features side by side; late: per-modality models' probabilities "
                    "averaged) and all but one, on the same split.</p>")
        body.append(_img(ablation_figure(rows), "ablation: accuracy and macro F1 per setting",
                         "ablation-chart"))
        body.append(_table(("setting", "fusion", "features", "accuracy", "macro F1"),
                           [(r["setting"], r["fusion"], r["n_features"],
                             float(r["accuracy"]), float(r["f1_macro"])) for r in rows],
                           numeric=(2,)))
    if report.get("seconds"):
        body.append(_times_section(report["seconds"]))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(report: Mapping[str, Any], path, *, title: str = "mmfeat report",
                 notes: Iterable[str] = ()) -> str:
    """Write ``report`` to ``path``: :func:`html_report` for .html/.htm, else JSON.

    Returns ``"HTML"`` or ``"JSON"``, what was written.
    """
    path = Path(path)
    if is_html(path):
        path.write_text(html_report(report, title=title, notes=notes), encoding="utf-8")
        return "HTML"
    path.write_text(json.dumps(report, indent=2, default=str))
    return "JSON"


__all__ = [
    "INSTALL_HINT", "HTML_SUFFIXES", "require_matplotlib", "is_html", "html_report",
    "write_report", "confusion_figure", "recall_figure", "ablation_figure", "bench_figure",
    "write_bench_plot", "plot_format",
]
