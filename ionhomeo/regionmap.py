"""A cell's regions as a picture and a table (``ionhomeo regions``).

:func:`table` counts each region's segments, sections and membrane area;
:func:`figure` draws the cell's 2-D projection (the x-y coordinates of its
3-D points, NEURON's ``sec.x3d``/``sec.y3d``) coloured by region and,
given a parameter, a second panel coloured by its value per segment (with a
colour bar in the mod file's unit) and a third with the value against the
path distance from the soma centre, so a parameter that changes with
distance shows its profile.

A segment in several regions (``axon`` and ``ais``, say) takes the colour of
the last region listed that selects it, so the default list goes from the
broad parts to the finer ones. The legend gives each region's own segment
count. Matplotlib is used without pyplot, on its Agg canvas: nothing needs
a display.
"""

from __future__ import annotations

import dataclasses
import difflib
import math

import numpy as np

from . import mechanisms, plotting, regions

__all__ = ["RegionMapError", "DEFAULT_REGIONS", "default_regions", "Row", "table",
           "Parameter", "parameter", "parameter_values", "figure"]

#: the regions drawn when none is given, broad parts first (those of them
#: that :data:`ionhomeo.regions.NAMES` has)
DEFAULT_REGIONS = ("soma", "axon", "basal", "apical", "ais", "bouton", "trunk", "oblique",
                   "tuft")

#: colour of segments that no listed region selects, and of segments without
#: the mechanism of the parameter panel
_OTHER = "0.8"


class RegionMapError(ValueError):
    """A region or parameter the picture cannot show: the message names the fix."""


def default_regions() -> tuple:
    """:data:`DEFAULT_REGIONS` that the regions module knows."""
    return tuple(name for name in DEFAULT_REGIONS if name in regions.NAMES)


@dataclasses.dataclass(frozen=True)
class Row:
    """One region of a cell: its expression, mask over ``sites.segments``,
    counts, membrane area (um2) and ``index``, its place in the list asked
    for (which fixes its colour, whether or not the regions before it exist)."""

    region: str
    mask: np.ndarray
    segments: int
    sections: int
    area_um2: float
    index: int = 0


def table(cell, exprs, optional=()) -> tuple:
    """(rows, sites, missing): a :class:`Row` per region of ``exprs``.

    A region in ``optional`` that the cell lacks (it selects nothing, or the
    regions module refuses it on this cell) is left out and listed in
    ``missing``; any other region's error propagates.
    """
    where = regions.sites(cell)
    area = np.array([seg.area() for seg in where.segments], dtype=float)
    rows, missing = [], []
    for index, expr in enumerate(exprs):
        region = regions.as_region(expr)
        try:
            mask = np.asarray(region.mask(where), dtype=bool)
        except regions.RegionError:
            if expr not in optional:
                raise
            missing.append(str(expr))
            continue
        if expr in optional and not mask.any():
            missing.append(str(expr))
            continue
        n_sec = sum(bool(sel.any()) for _, sel in where.by_section(mask))
        rows.append(Row(str(region), mask, int(mask.sum()), n_sec, float(area[mask].sum()),
                        index))
    return rows, where, missing


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A range parameter of a density mechanism, ``mechanism.name``, with its unit."""

    mechanism: str
    name: str
    unit: str

    def __str__(self) -> str:
        return f"{self.mechanism}.{self.name}"


def parameter(text: str) -> Parameter:
    """``"MECH.PARAM"`` checked against the mechanism catalogue."""
    mech_name, dot, name = str(text).partition(".")
    if not dot or not mech_name or not name:
        raise RegionMapError(f"--parameter {text!r}: write MECHANISM.PARAMETER, e.g. kcc2.imax "
                             "(ionhomeo list shows them)")
    try:
        mech = mechanisms.get(mech_name)
    except mechanisms.UnknownMechanismError as err:
        raise RegionMapError(f"--parameter {text!r}: {err}") from None
    if mech.kind != "density":
        raise RegionMapError(f"--parameter {text!r}: {mech.name} is a point process, which a "
                             "recipe does not place; give a parameter of a density mechanism")
    if name not in mech.parameters:
        close = difflib.get_close_matches(name, list(mech.parameters), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RegionMapError(f"--parameter {text!r}: {mech.name} has no parameter {name!r}.{hint} "
                             f"Its parameters: {', '.join(mech.parameters)}")
    if mech.parameter(name).scope != "range":
        raise RegionMapError(f"--parameter {text!r}: {mech.name}.{name} is a GLOBAL parameter, "
                             "one value for every segment, so there is nothing to map; give a "
                             f"range parameter of {mech.name}")
    return Parameter(mech.name, name, mechanisms.units(f"{name}_{mech.name}"))


def parameter_values(where, param: Parameter) -> np.ndarray:
    """The parameter in every segment of ``where`` (NaN where the mechanism is not)."""
    return np.array([getattr(seg, f"{param.name}_{param.mechanism}")
                     if seg.sec.has_membrane(param.mechanism) else math.nan
                     for seg in where.segments], dtype=float)


# ----------------------------------------------------------------------------
# drawing (the cell's shape: ionhomeo.plotting)
# ----------------------------------------------------------------------------

def _region_colors(rows, n) -> tuple:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    own = [palette[row.index % len(palette)] for row in rows]
    colors = [_OTHER] * n
    for row, color in zip(rows, own):
        for i in np.flatnonzero(row.mask):
            colors[i] = color
    return colors, own


def figure(cell, rows, where, title: str, param: Parameter | None = None):
    """The picture (a matplotlib Figure on an Agg canvas; see the module docstring)."""
    from matplotlib.lines import Line2D

    cell_shape = plotting.CellShape.of(cell, where)
    colors, own = _region_colors(rows, len(where.segments))
    panels = 1 if param is None else 3
    fig, axes = plotting.figure("", "", 1, panels, size=(7.0 if panels == 1 else 18.0, 7.0),
                                squeeze=False)
    axes = axes[0]
    with plotting.style():
        plotting.draw_shape(axes[0], cell_shape, colors)
        handles = [Line2D([], [], color=c, lw=3, label=f"{r.region}: {r.segments} segments")
                   for r, c in zip(rows, own)]
        if any(color == _OTHER for color in colors):
            handles.append(Line2D([], [], color=_OTHER, lw=3, label="none of these"))
        axes[0].legend(handles=handles, loc="best", fontsize=8, title="region (segments)")
        axes[0].set_title(f"{title}: regions (x-y projection)")
        if param is not None:
            _parameter_panels(axes[1:], where, cell_shape, colors, param)
    return fig


def _parameter_panels(axes, where, cell_shape, colors, param):
    ax_map, ax_profile = axes
    values = parameter_values(where, param)
    have = np.isfinite(values)
    # a parameter is drawn as the recipe sets it (never as a deviation from its mean)
    plotting.shape(ax_map, cell_shape, values, param.unit, str(param), rel=None)
    grey = "" if have.all() else f" (grey: no {param.mechanism})"
    ax_map.set_title(f"{param} per segment{grey}")
    distance = where.distance_um
    ax_profile.scatter(distance[have], values[have], s=6,
                       c=[colors[i] for i in np.flatnonzero(have)])
    plotting.label(ax_profile, "x", "path distance from the soma centre", "um")
    plotting.label(ax_profile, "y", str(param), param.unit)
    ax_profile.set_title(f"{param} against distance (colour: region)")
