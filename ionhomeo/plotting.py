"""Figures of ionhomeo: one house style, axes that say their units, scale-aware
values, and the shape of a cell coloured by any per-segment quantity.

Every protocol figure is drawn with these helpers (matplotlib without pyplot,
on its Agg canvas: nothing needs a display):

* :func:`figure` makes the figure in the house style (:data:`STYLE`: font
  sizes, grid, no offset on the axes) with the title ``"<protocol>: <title>"``;
  :func:`finish` (called by ``ionhomeo.experiment.write_outputs`` on
  every protocol's figure) letters the panels and makes sure the title names
  the protocol.
* :func:`label` writes an axis label as ``quantity (unit)`` with the unit
  spelled for people (:func:`pretty_unit`: ``uM`` becomes µM, ``um2`` µm²)
  and records which table column it shows (``table``, ``column``,
  ``where``), so that a test can hold the figure's units to the CSV's.
* :func:`values` does the same for data whose spread may be below a
  meaningful resolution (:func:`scale_for`): such data are drawn as their
  deviation from the mean, in ppm of it (or in µV for a potential), with the
  mean in the label, so that a uniform, stable quantity reads as uniform
  and round-off does not look like a gradient.
* :class:`CellShape` keeps a cell's x-y projection (no NEURON objects, so it
  outlives the cell) and :func:`shape` draws it, line width from the
  diameter, coloured by a value per segment with a colour bar in its unit.
* :func:`describe` is what a figure shows (titles, labels with their units
  and columns, legends), written to the protocol's JSON under ``figure``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re

import numpy as np

__all__ = ["STYLE", "SYMBOLS", "REL_FLAT", "FLOOR", "style", "figure", "finish", "describe",
           "pretty_unit", "label", "values", "Scale", "scale_for", "spread_text", "plain_log",
           "number", "CellShape", "draw_shape", "shape", "segment_values"]

#: the house style (matplotlib rcParams), used for every protocol figure
STYLE = {
    "font.size": 9.0, "axes.titlesize": 9.5, "axes.labelsize": 9.0, "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0, "legend.fontsize": 7.5, "figure.titlesize": 11.0,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "lines.linewidth": 1.2,
    "lines.markersize": 4.0, "legend.framealpha": 0.85,
    # a flat quantity is shown by values(), never as an offset no one reads
    "axes.formatter.useoffset": False, "axes.formatter.limits": (-4, 6),
    "mathtext.default": "regular",
}

#: relative spread ((max - min) over the absolute mean) below which values are uniform to the eye
REL_FLAT = 1e-4
#: absolute spread below which values in this unit are uniform to the eye
#: (a potential: 0.01 mV is below any recording's resolution)
FLOOR = {"mV": 0.01, "V": 1e-5}


@contextlib.contextmanager
def style():
    """The house style for the figures made inside the block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def figure(protocol: str, title: str, nrows: int = 1, ncols: int = 1, *, size=(8.0, 5.0),
           squeeze: bool = True, mosaic=None, **subplots):
    """(fig, axes): a figure in the house style on an Agg canvas, with a
    constrained layout and the title ``"<protocol>: <title>"``; ``subplots``
    go to :meth:`matplotlib.figure.Figure.subplots` (sharex, height_ratios,
    ...), or with ``mosaic`` to :meth:`~matplotlib.figure.Figure.subplot_mosaic`
    (axes: a dict by name; the panels are lettered in the mosaic's reading order)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
        fig._ionhomeo_house_style = True
        if mosaic is not None:
            axes = fig.subplot_mosaic(mosaic, **subplots)
        else:
            axes = fig.subplots(nrows, ncols, squeeze=squeeze, **subplots)
        if protocol or title:
            fig.suptitle(f"{protocol}: {title}" if protocol and title else protocol or title)
    return fig, axes


# ----------------------------------------------------------------------------
# units and labels
# ----------------------------------------------------------------------------

#: how figures write the quantities the tables name in ASCII (mathtext)
SYMBOLS = {
    "E_GABA": r"$E_\mathrm{GABA}$", "E_Cl": r"$E_\mathrm{Cl}$", "E_Na": r"$E_\mathrm{Na}$",
    "E_K": r"$E_\mathrm{K}$", "E_Ca": r"$E_\mathrm{Ca}$", "E_NCX": r"$E_\mathrm{NCX}$",
    "Vm": r"$V_\mathrm{m}$", "Cli": r"$\mathrm{Cl_i}$", "Nai": r"$\mathrm{Na_i}$",
    "Ki": r"$\mathrm{K_i}$", "Ko": r"$\mathrm{K_o}$", "Cai": r"$\mathrm{Ca_i}$",
    "tau": r"$\tau$", "kappa_S": r"$\kappa_\mathrm{S}$", "kappa_B": r"$\kappa_\mathrm{B}$",
    "kappa": r"$\kappa$", "gamma": r"$\gamma$", "R2": "R\u00b2", "Delta": "\u0394",
    "GABA_A": r"$\mathrm{GABA_A}$", "IP3": r"$\mathrm{IP_3}$",
}

_MICRO = re.compile(r"(?<![A-Za-z])u(?=[A-Za-z])")
_POWER = re.compile(r"(?<=[A-Za-z])([23])(?![\w.])")


def pretty_unit(unit: str) -> str:
    """``unit`` as people write it: µ for u (uM: µM, um: µm), ² and ³ for
    powers (cm2: cm²), Ω, °C; empty for a pure number ("1" or "")."""
    unit = (unit or "").strip()
    if unit in ("", "1"):
        return ""
    out = _MICRO.sub("\u00b5", unit)
    out = _POWER.sub(lambda m: "\u00b2" if m.group(1) == "2" else "\u00b3", out)
    for ascii_, symbol in (("MOhm", "M\u03a9"), ("Mohm", "M\u03a9"), ("kohm", "k\u03a9"),
                           ("Gohm", "G\u03a9"), ("ohm", "\u03a9"), ("degC", "\u00b0C")):
        out = out.replace(ascii_, symbol)
    return out


def _axis_of(ax, axis: str):
    return ax.xaxis if axis == "x" else ax.yaxis


def _set(ax, axis: str, text: str, record: dict, **kwargs):
    _axis_of(ax, axis).set_label_text(text, **kwargs)
    records = ax.__dict__.setdefault("_ionhomeo_axes", {})
    records[axis] = {**record, "label": text}


def label(ax, axis: str, quantity: str, unit: str = "", *, table=None, column=None,
          where=None, **kwargs) -> str:
    """Label ``ax``'s ``axis`` ("x" or "y") as ``quantity (unit)`` and record
    what it shows: the unit as the tables write it, and, when the axis plots
    a column of the protocol's tables, which (``table``: "" for NAME.csv,
    "summary", or the key of NAME_<key>.csv; ``column``; ``where``: {column:
    value} selecting the rows). Returns the label; ``kwargs`` go to matplotlib."""
    shown = pretty_unit(unit)
    text = f"{quantity} ({shown})" if shown else quantity
    _set(ax, axis, text, {"quantity": quantity, "unit": unit or "1", "table": table,
                          "column": column, "where": where}, **kwargs)
    return text


def plain_log(ax, axis: str = "x", ticks=None) -> None:
    """A logarithmic ``axis`` with its tick labels as plain numbers (0.1, 1, 10;
    not 10^-1), at ``ticks`` if given (e.g. the values a table holds)."""
    from matplotlib.ticker import FuncFormatter, LogFormatter, NullFormatter

    class Plain(LogFormatter):  # matplotlib's choice of the ticks to label, written plainly
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    target = _axis_of(ax, axis)
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    if ticks is not None:
        target.set_ticks(sorted(set(float(t) for t in ticks)))
        target.set_minor_formatter(NullFormatter())
        target.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    else:
        target.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
        target.set_major_formatter(Plain())


@dataclasses.dataclass(frozen=True)
class Scale:
    """How values in ``unit`` are drawn: as they are (``deviation`` None), or
    as their deviation from ``mean`` in ``deviation`` ("ppm" of the mean, or
    "uV"): ``scale(y)`` gives what to plot."""

    unit: str
    mean: float = math.nan
    spread: float = math.nan
    deviation: str | None = None
    factor: float = 1.0

    def __call__(self, y):
        y = np.asarray(y, dtype=float)
        return y if self.deviation is None else (y - self.mean) * self.factor


def scale_for(data, unit: str, rel: float | None = REL_FLAT) -> Scale:
    """The :class:`Scale` for ``data`` in ``unit``: their deviation from the
    mean when the spread (max - min) is at most ``rel`` of the absolute mean or below the
    unit's :data:`FLOOR`; a potential then in µV, anything else in ppm of the
    mean (a concentration 0.01 % apart everywhere is uniform to the eye).
    ``rel`` None: always the values as they are."""
    from . import units

    v = np.asarray(data, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return Scale(unit)
    mean, spread = float(v.mean()), float(v.max() - v.min())
    if rel is None:  # the values as they are, whatever their spread
        return Scale(unit, mean, spread)
    floor = FLOOR.get(unit)
    flat = (mean != 0 and spread <= rel * abs(mean)) or (floor is not None and spread < floor)
    if not flat:
        return Scale(unit, mean, spread)
    if units.kind(unit) == "potential":
        return Scale(unit, mean, spread, "uV", units.convert(1.0, unit, "mV") * 1e3)
    if mean == 0:  # no relative deviation: the values as they are
        return Scale(unit, mean, spread)
    return Scale(unit, mean, spread, "ppm", 1e6 / abs(mean))


def number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits with a true minus sign."""
    return f"{x:.{digits}g}".replace("-", "\u2212")


def _mean_text(scale: Scale) -> str:
    return f"mean {number(scale.mean, 7)} {pretty_unit(scale.unit)}".rstrip()


def spread_text(scale: Scale) -> str:
    """The spread (max - min) of the values ``scale`` was made for, in words:
    ``"uniform within 2.3 µV"`` when they are drawn as deviations, else
    ``"spread 4.4e-3 mM (0.11 %)"``."""
    if not math.isfinite(scale.spread):
        return "no values"
    if scale.deviation is not None:
        return f"uniform within {number(scale.spread * scale.factor, 2)} " \
               f"{pretty_unit(scale.deviation)}"
    rel = f" ({number(100 * scale.spread / abs(scale.mean), 2)} %)" if scale.mean else ""
    return f"spread {number(scale.spread, 2)} {pretty_unit(scale.unit)}{rel}".replace("  ", " ")


def values(ax, axis: str, data, unit: str, quantity: str, *, rel: float = REL_FLAT,
           table=None, column=None, where=None) -> Scale:
    """Label ``ax``'s ``axis`` for ``data`` (every value the axis will show)
    and return the :class:`Scale` to plot them with: ``ax.plot(x, s(y))``.
    Flat data (:func:`scale_for`) get ``Δquantity (ppm)`` (or µV) with the
    mean in the label; the record keeps the tables' unit (that of the mean)."""
    s = scale_for(data, unit, rel)
    if s.deviation is None:
        label(ax, axis, quantity, unit, table=table, column=column, where=where)
        return s
    text = f"\u0394{quantity} ({pretty_unit(s.deviation)})\n{_mean_text(s)}"
    _set(ax, axis, text, {"quantity": quantity, "unit": unit, "table": table, "column": column,
                          "where": where, "deviation": s.deviation, "mean": s.mean,
                          "spread": s.spread})
    return s


# ----------------------------------------------------------------------------
# the cell's shape
# ----------------------------------------------------------------------------

#: colour of a segment without a value
NO_VALUE = "0.8"


@dataclasses.dataclass(frozen=True, eq=False)
class CellShape:
    """A cell's x-y projection (the x-y coordinates of its 3-D points), one
    polyline per segment (None in a section without 3-D points), with the
    segments' names (``str(seg)``), diameters (µm) and the outlines of its
    soma sections; plain arrays, so it can be drawn after the cell is gone."""

    names: tuple
    lines: tuple
    diam_um: np.ndarray
    soma: tuple = ()  # ((index of the section's first segment, outline), ...)
    title: str = ""

    @classmethod
    def of(cls, cell, where=None) -> "CellShape":
        """The shape of ``cell`` (an :class:`ionhomeo.cell.Cell`); ``where``: its
        :func:`ionhomeo.regions.sites`, if already made."""
        from . import regions

        where = regions.sites(cell) if where is None else where
        soma = set(cell.sections_by_type.get("soma", ()))
        outlines, start = [], 0
        for sec, n in zip(where.sections, where.nseg):
            outline = _soma_outline(sec) if sec in soma else None
            if outline is not None:
                outlines.append((start, outline))
            start += int(n)
        morphology = getattr(cell, "morphology", None)
        path = getattr(morphology, "path", None)
        return cls(tuple(str(seg) for seg in where.segments), tuple(_segment_lines(where)),
                   np.array([seg.diam for seg in where.segments], dtype=float), tuple(outlines),
                   str(path).replace("\\", "/").rsplit("/", 1)[-1] if path else "")

    def widths(self) -> np.ndarray:
        """Line widths (points): thicker for thicker segments, readable at any size."""
        return np.clip(0.6 * self.diam_um, 0.5, 4.0)

    def aligned(self, data) -> np.ndarray:
        """``data`` as an array over the segments: an array in their order, or a
        mapping from segment name to value (NaN where a segment has none)."""
        if hasattr(data, "items"):
            return np.array([float(data.get(name, math.nan)) for name in self.names])
        out = np.asarray(data, dtype=float)
        if out.shape != (len(self.names),):
            raise ValueError(f"{out.size} values for {len(self.names)} segments: give one per "
                             "segment, or a mapping from segment name to value")
        return out


def _segment_lines(where) -> list:
    """A polyline per segment (None in a section without 3-D points), through
    the section's points between the segment's ends."""
    lines = []
    for sec in where.sections:
        n3d = int(sec.n3d())
        if n3d < 2:
            lines += [None] * sec.nseg
            continue
        arc = np.array([sec.arc3d(i) for i in range(n3d)])
        frac = arc / arc[-1] if arc[-1] > 0 else np.linspace(0, 1, n3d)
        x = np.array([sec.x3d(i) for i in range(n3d)])
        y = np.array([sec.y3d(i) for i in range(n3d)])
        for i in range(sec.nseg):
            a, b = i / sec.nseg, (i + 1) / sec.nseg
            inner = (frac > a) & (frac < b)
            f = np.concatenate(([a], frac[inner], [b]))
            lines.append(np.column_stack([np.interp(f, frac, x), np.interp(f, frac, y)]))
    return lines


def _soma_outline(sec):
    """The soma's x-y outline: its 3-D points widened by their diameters across
    the axis from first to last point (None without two distinct points)."""
    n3d = int(sec.n3d())
    if n3d < 2:
        return None
    pts = np.array([[sec.x3d(i), sec.y3d(i)] for i in range(n3d)])
    diam = np.array([sec.diam3d(i) for i in range(n3d)])
    axis = pts[-1] - pts[0]
    if not np.hypot(*axis) > 0:
        return None
    normal = np.array([-axis[1], axis[0]]) / np.hypot(*axis)
    side = diam[:, None] / 2 * normal
    return np.vstack([pts + side, (pts - side)[::-1]])


def draw_shape(ax, cell_shape: CellShape, colors) -> None:
    """Draw ``cell_shape`` on ``ax`` with a colour per segment, equal aspect,
    axes labelled in µm."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Polygon

    keep = [i for i, line in enumerate(cell_shape.lines) if line is not None]
    widths = cell_shape.widths()
    ax.add_collection(LineCollection([cell_shape.lines[i] for i in keep],
                                     colors=[colors[i] for i in keep], linewidths=widths[keep],
                                     capstyle="round"))
    for first, outline in cell_shape.soma:
        ax.add_patch(Polygon(outline, closed=True, facecolor=colors[first], edgecolor="none",
                             zorder=3))
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(False)
    label(ax, "x", "x", "um")
    label(ax, "y", "y", "um")


def shape(ax, cell_shape: CellShape, data, unit: str, quantity: str, *, cmap="viridis",
          rel: float = REL_FLAT, table=None, column=None, where=None, colorbar: bool = True):
    """Draw ``cell_shape`` on ``ax`` coloured by ``data`` (a value per segment:
    an array in the shape's order, or {segment name: value}; grey where none),
    with a colour bar labelled ``quantity (unit)``; values uniform to the eye
    (:func:`scale_for`) are coloured by their deviation from the mean, which
    the colour bar states. Returns the colour bar (or the ScalarMappable)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    v = cell_shape.aligned(data)
    have = np.isfinite(v)
    s = scale_for(v[have], unit, rel)
    shown = s(v)
    if have.any():
        low, high = float(np.min(shown[have])), float(np.max(shown[have]))
    else:
        low, high = 0.0, 1.0
    if high == low:  # one value everywhere: a range around it, so that it has a colour
        pad = 0.5 * abs(low) if low else 1.0
        low, high = low - pad, high + pad
    colours = colormaps[cmap] if isinstance(cmap, str) else cmap
    norm = Normalize(low, high)
    draw_shape(ax, cell_shape, [colours(norm(x)) if ok else NO_VALUE
                                for x, ok in zip(shown, have)])
    mappable = ScalarMappable(norm=norm, cmap=colours)
    if not colorbar:
        return mappable
    bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.85)
    # the bar's long axis is y for a vertical colour bar
    if s.deviation is None:
        label(bar.ax, "y", quantity, unit, table=table, column=column, where=where)
    else:
        values(bar.ax, "y", v[have], unit, quantity, rel=rel, table=table, column=column,
               where=where)
    return bar


def segment_values(table, variable: str, *, t_ms: float | None = None, name="where") -> dict:
    """{segment name: value} of ``variable`` from a tidy table with columns
    ``variable``, ``value`` and ``name`` (a :meth:`ionhomeo.recording.Recorder.dataframe`,
    ``where``; the rest protocol's profile, ``segment``): at the sample nearest
    ``t_ms`` (column ``t_ms``; None: the last), or the only row of each."""
    part = table[table["variable"] == variable]
    if "t_ms" in part.columns and len(part):
        times = np.unique(part["t_ms"].to_numpy())
        at = times[-1] if t_ms is None else times[np.argmin(np.abs(times - t_ms))]
        part = part[part["t_ms"] == at]
    return {str(k): float(v) for k, v in zip(part[name], part["value"])}


# ----------------------------------------------------------------------------
# finishing and describing a figure
# ----------------------------------------------------------------------------

def _kind(ax, fig) -> str:
    if hasattr(ax, "_colorbar"):
        return "colorbar"
    twins = getattr(ax, "_twinned_axes", None)
    if twins is not None and ax in twins:
        siblings = [a for a in twins.get_siblings(ax) if a in fig.axes]
        if siblings and min(siblings, key=fig.axes.index) is not ax:
            return "twin"
    return "main"


def _panels(fig) -> list:
    """The lettered panels: visible axes that are neither twins nor colour bars."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison and _kind(ax, fig) == "main"]


def _visible_length(text: str) -> int:
    """About how many characters ``text`` shows (mathtext markup not counted)."""
    shown = re.sub(r"\\(mathrm|mathbf|mathit)\{", "", text)
    shown = re.sub(r"\\[A-Za-z]+", "x", shown)  # \tau, \kappa: one glyph
    return len(re.sub(r"[${}_^]", "", shown))


def _wrap(text: str, width: int) -> str:
    """``text`` wrapped to lines of about ``width`` shown characters, never inside $...$."""
    words, lines, line = re.findall(r"\$[^$]*\$\S*|\S+", text), [], ""
    for word in words:
        if line and _visible_length(f"{line} {word}") > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def _fit_title(ax, text: str, prefix: str = "") -> str:
    """``prefix`` + ``text`` wrapped to the width of ``ax`` at the title's font size."""
    fig = ax.figure
    width_in = ax.get_position().width * fig.get_figwidth()
    size = ax.title.get_fontsize()
    chars = max(20, int(width_in * 72 / (0.52 * size)))
    lines = "\n".join(_wrap(part, chars) for part in text.split("\n"))
    return prefix + lines


def finish(fig, protocol: str | None = None):
    """The house style's last touches on a finished figure: each panel's title
    left-aligned after its letter (a, b, ...; no letter for a figure of one
    panel) and wrapped to the panel's width, and a figure title that begins
    with the protocol's name. Returns the figure."""
    if getattr(fig, "_ionhomeo_finished", False):
        return fig
    panels = _panels(fig)
    with style():
        for k, ax in enumerate(panels):
            title = ax.get_title()
            if len(panels) > 1:
                ax.set_title("")
                letter = chr(ord("a") + k)
                ax.set_title(_fit_title(ax, title, f"$\\mathbf{{{letter}}}$  "), loc="left")
                ax._ionhomeo_letter = letter
            elif title:
                ax.set_title(_fit_title(ax, title))
        if protocol:
            title = fig._suptitle.get_text() if fig._suptitle is not None else ""
            if not title.startswith(f"{protocol}:") and title != protocol:
                title = f"{protocol}: {title}" if title else protocol
            fig.suptitle(_wrap(title, int(fig.get_figwidth() * 72 / (0.55 * STYLE[
                "figure.titlesize"]))))
    fig._ionhomeo_finished = True
    return fig


def _text(t) -> str:
    return t.get_text() if t is not None and t.get_visible() else ""


def _axis_record(ax, axis: str) -> dict | None:
    shown = _axis_of(ax, axis).get_label_text()
    record = ax.__dict__.get("_ionhomeo_axes", {}).get(axis)
    if not shown and record is None:
        return None
    if record is not None and record.get("label") == shown:
        return {**record, "recorded": True}
    return {"label": shown, "recorded": False}


def describe(fig) -> dict:
    """What ``fig`` shows, for the JSON and the tests: its title, whether it was
    made by :func:`figure` (``house_style``) and, per axes
    (panels in order, then twins and colour bars), letter, title, x and y
    labels with their records (:func:`label`) and legend entries; ``texts``:
    every title, label, legend entry and annotation."""
    panels = _panels(fig)
    out, texts = [], []
    for ax in fig.axes:
        kind = _kind(ax, fig)
        letter = ax.__dict__.get("_ionhomeo_letter", "")
        title = ax.get_title() or ax.get_title(loc="left")
        if letter:  # the title after its letter, as one line
            title = title.split("  ", 1)[-1]
        entry = {"kind": kind, "letter": letter, "title": " ".join(title.split()),
                 "x": _axis_record(ax, "x"), "y": _axis_record(ax, "y"),
                 "legend": [t.get_text() for t in ax.get_legend().get_texts()]
                 if ax.get_legend() is not None else []}
        entry["texts"] = [t.get_text() for t in ax.texts if t.get_visible() and t.get_text()]
        for child in ax.child_axes:  # insets
            entry["texts"] += [x for x in (child.get_title(), child.get_xlabel(),
                                           child.get_ylabel()) if x]
        out.append(entry)
        texts += [entry["title"], ax.get_title(loc="right"), *entry["legend"], *entry["texts"]]
        texts += [r["label"] for r in (entry["x"], entry["y"]) if r]
    title = _text(fig._suptitle)
    for legend in fig.legends:
        texts += [t.get_text() for t in legend.get_texts()]
    texts += [t.get_text() for t in fig.texts if t.get_visible()]
    return {"title": title, "house_style": bool(getattr(fig, "_ionhomeo_house_style", False)),
            "panels": out,
            "texts": [t for t in dict.fromkeys([title, *texts]) if t]}
