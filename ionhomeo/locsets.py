"""Location sets: where on a cell to put point processes (synapses) and stimuli.

A location is a point on a section, :class:`Location` (``section``, ``x``,
``distance_um`` and the ``segment`` holding it)::

    >>> from ionhomeo import locsets
    >>> locsets.soma_center(cell)                     # doctest: +SKIP
    >>> locsets.ais_end(cell)                         # 40 um along the axon
    >>> locsets.boutons(cell)                         # one per axonal leaf
    >>> locsets.uniform(cell, "apical", 20)           # evenly by path length
    >>> locsets.random(cell, "dendrite", 100, seed=1) # seeded, by membrane length
    >>> syns = locsets.place(cell, locsets.uniform(cell, "apical", 20), "GabaA", tau2=10)

``cell`` is an :class:`ionhomeo.cell.Cell` (or an object with
``sections_by_type``, ``all`` and ``soma_center``, as regions need);
regions are the expressions of :mod:`ionhomeo.regions`.

The sets
--------

``soma_center(cell)``
    The centre of the soma, ``cell.soma_center`` (distance 0).
``ais_end(cell, length_um=40)``
    The point of the axon ``length_um`` of path from the axon's origin (the
    0 end of its first section, where it leaves the soma or hillock), on the
    main axon: the path from the origin to the axonal tip farthest from it.
    The default, 40 um, is the end of the axon initial segment of cortical
    pyramidal neurons (about 20-60 um long; spikes start about 35 um out:
    Palmer & Stuart 2006, J Neurosci 26:1854; Kole et al. 2008, Nat Neurosci
    11:178).
``boutons(cell, length_um=2)``
    One location per axonal leaf section (an axon section with no axonal
    child): the centre of its distal ``length_um`` (of the whole leaf when
    it is shorter). Not the very end (x = 1): a point process there would
    sit on a node without membrane. The default, 2 um, is the region
    ``bouton``'s: the length of a cortical or hippocampal varicosity (1.1 +-
    0.7 um: Shepherd & Harris 1998, J Neurosci 18:8300) rounded up.
``uniform(cell, region, n)``
    ``n`` locations spread evenly by path length over the region: its
    selected segments, in cell order (sections as in ``cell.all``, each from
    its 0 end), laid end to end into one line of total length T; location i
    at (i + 1/2) T / n along it. Deterministic.
``random(cell, region, n, seed)``
    ``n`` locations drawn uniformly by membrane length over the region (each
    segment with probability proportional to its length, uniform within it)
    with ``numpy.random.default_rng(seed)``: the same seed gives the same
    locations. Returned in cell order.

``distance_um`` is the path distance (um) from the soma centre to x itself
(the region predicate ``distance`` measures to segment centres); ``x`` is
exact, while NEURON puts a point process at the centre of the segment
containing x, ``location.segment``.

``place(cell, locations, mechanism, **params)`` creates one point process
per location (ionhomeo's through :func:`ionhomeo.mechanisms.add_point`,
with its validation; NEURON's own, such as ``IClamp`` or ``ExpSyn``,
directly) and returns them in order. Keep the list: NEURON deletes a point
process nothing refers to.

Errors (:class:`LocationError`) name the cell, the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from . import regions
from .regions import DEFAULT_LENGTHS_UM

__all__ = ["LocationError", "Location", "AIS_LENGTH_UM", "BOUTON_LENGTH_UM", "soma_center",
           "ais_end", "boutons", "uniform", "random", "place"]

#: the end of the axon initial segment, path distance (um) from the axon's
#: origin, and the length (um) of a bouton at the end of an axonal leaf: the
#: defaults of the regions ``ais`` and ``bouton`` (:mod:`ionhomeo.regions`,
#: with their sources), so that a location set and a region agree
AIS_LENGTH_UM = DEFAULT_LENGTHS_UM["ais"]
BOUTON_LENGTH_UM = DEFAULT_LENGTHS_UM["bouton"]

#: how far inside its segment a location is kept (fraction of the segment), so
#: that NEURON finds the segment it was drawn in, not its neighbour
_INSIDE = 1e-9


class LocationError(ValueError):
    """A location set that cannot be made: the message names the cell and the fix."""


@dataclasses.dataclass(frozen=True)
class Location:
    """A point of a cell: ``section`` and ``x`` (0..1 along it), with
    ``distance_um``, the path distance (um) from the soma centre to it."""

    section: object
    x: float
    distance_um: float

    @property
    def segment(self):
        """The segment holding the location (``section(x)``)."""
        return self.section(self.x)

    def __repr__(self) -> str:
        try:
            name = self.section.name()
        except ReferenceError:
            name = "<deleted section>"
        return f"Location({name}({self.x:.6g}), {self.distance_um:.6g} um from the soma centre)"


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _label(cell) -> str:
    """The cell as errors name it: its morphology file, else its name."""
    path = getattr(getattr(cell, "morphology", None), "path", None)
    if path is not None:
        return f"cell {path.name!r}"
    name = getattr(cell, "name", None)
    return f"cell {name!r}" if isinstance(name, str) else f"cell {cell!r}"


def _check_cell(cell) -> None:
    alive = getattr(cell, "_alive", None)
    if callable(alive):
        alive()  # a destroyed ionhomeo Cell says so itself
    for attr in ("sections_by_type", "all", "soma_center"):
        if getattr(cell, attr, None) is None:
            raise LocationError(f"location sets need a cell (an ionhomeo.cell.Cell, or an object "
                                f"with sections_by_type, all and soma_center); "
                                f"{type(cell).__name__} {cell!r} has no {attr!r}")


def _location(cell, section, x: float) -> Location:
    """The location at ``section(x)``, with its exact path distance from the soma centre.

    ``h.distance`` measures to the centre of the segment holding a point, so
    the distance at x is built from the section's ends (nodes of no length,
    exact): the path enters the section at one end and runs along it.
    """
    from neuron import h

    x = float(x)
    centre = cell.soma_center
    if section == centre.sec:
        return Location(section, x, abs(x - centre.x) * section.L)
    d0 = h.distance(centre, section(0))
    d1 = h.distance(centre, section(1))
    return Location(section, x, float(min(d0 + x * section.L, d1 + (1 - x) * section.L)))


def _length(value, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise LocationError(f"{name} = {value!r}: {what} must be a finite number of um > 0")
    return float(value)


def _count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise LocationError(f"n = {n!r}: the number of locations must be a whole number >= 1")
    if n < 1:
        raise LocationError(f"n = {n}: ask for at least one location (n >= 1)")
    return int(n)


def _axon(cell) -> list:
    axon = list(cell.sections_by_type.get("axon", ()))
    if not axon:
        raise LocationError(f"{_label(cell)} has no axon (no section of type 'axon'), so it "
                            "has no axon initial segment and no boutons; use a reconstruction "
                            "with its axon, or place the locations on a region it has")
    return axon


def _parent(sec):
    seg = sec.parentseg()
    return None if seg is None else seg.sec


def _leaves(axon: list) -> list:
    """Axonal leaf sections: axon sections with no axonal child, in cell order."""
    members = set(axon)
    return [sec for sec in axon if not any(child in members for child in sec.children())]


# ----------------------------------------------------------------------------
# the sets
# ----------------------------------------------------------------------------

def soma_center(cell) -> Location:
    """The centre of the soma (``cell.soma_center``), at distance 0."""
    _check_cell(cell)
    seg = cell.soma_center
    return _location(cell, seg.sec, seg.x)


def _main_axon(cell) -> tuple:
    """(origin segment, path sections from the axon's origin to its farthest tip)."""
    from neuron import h

    axon = _axon(cell)
    members = set(axon)
    best = None
    for leaf in _leaves(axon):
        path = [leaf]
        while _parent(path[-1]) in members:
            path.append(_parent(path[-1]))
        root = path[-1]
        if root.orientation() != 0:
            raise LocationError(f"{_label(cell)}: the axon section {root.name()} is attached "
                                "to its parent by its 1 end; location sets expect sections "
                                "attached by their 0 end, as NEURON's Import3d builds them")
        reach = h.distance(root(0), leaf(1))
        if best is None or reach > best[0]:
            best = (reach, root(0), path[::-1])
    return best[1], best[2], best[0]


def ais_end(cell, length_um: float = AIS_LENGTH_UM) -> Location:
    """The point of the main axon ``length_um`` (path) from the axon's origin
    (see the module docstring)."""
    from neuron import h

    _check_cell(cell)
    length_um = _length(length_um, "length_um", "the length of the axon initial segment")
    origin, path, reach = _main_axon(cell)
    if length_um > reach:
        raise LocationError(f"{_label(cell)}: its axon reaches {reach:.4g} um from its origin "
                            f"at most, so it has no point {length_um:g} um out; give "
                            f"ais_end(cell, length_um=...) at most {reach:.4g} um")
    for i, sec in enumerate(path):
        start = h.distance(origin, sec(0))
        # the path leaves this section where the next one is attached
        x_leave = path[i + 1].parentseg().x if i + 1 < len(path) else 1.0
        if length_um <= start + x_leave * sec.L or i + 1 == len(path):
            x = min(max((length_um - start) / sec.L, 0.0), x_leave)
            return _location(cell, sec, x)
    raise AssertionError("unreachable: the path ends at the tip")  # pragma: no cover


def boutons(cell, length_um: float = BOUTON_LENGTH_UM) -> list:
    """One location per axonal leaf section, at the centre of its distal
    ``length_um`` (see the module docstring); in cell order."""
    _check_cell(cell)
    length_um = _length(length_um, "length_um", "the length of a bouton")
    out = []
    for leaf in _leaves(_axon(cell)):
        piece = min(length_um, leaf.L)
        out.append(_location(cell, leaf, 1.0 - piece / (2.0 * leaf.L)))
    return out


def _pieces(cell, region) -> tuple:
    """(sections, x0, x1, cumulative end um) of the region's selected segments."""
    _check_cell(cell)
    region = regions.as_region(region)
    where = regions.sites(cell)
    secs, x0, x1, lengths = [], [], [], []
    for sec, selected in where.by_section(region.mask(where)):
        n = len(selected)
        for i in np.flatnonzero(selected):
            secs.append(sec)
            x0.append(i / n)
            x1.append((i + 1) / n)
            lengths.append(sec.L / n)
    total = float(np.sum(lengths)) if lengths else 0.0
    if not secs or total <= 0:
        raise LocationError(f"region {str(region)!r} selects no membrane of {_label(cell)}, so "
                            "no location can be placed there; choose a region this cell has "
                            "(ionhomeo regions --morphology FILE shows them)")
    return secs, np.array(x0), np.array(x1), np.cumsum(lengths)


def _at(cell, pieces, positions_um) -> list:
    """Locations at ``positions_um`` along the region's segments laid end to end."""
    secs, x0, x1, ends = pieces
    lengths = np.diff(np.concatenate(([0.0], ends)))
    out = []
    for s in positions_um:
        i = min(int(np.searchsorted(ends, s, side="right")), len(secs) - 1)
        frac = (s - (ends[i] - lengths[i])) / lengths[i]
        frac = min(max(frac, _INSIDE), 1.0 - _INSIDE)
        out.append(_location(cell, secs[i], x0[i] + frac * (x1[i] - x0[i])))
    return out


def uniform(cell, region, n: int) -> list:
    """``n`` locations evenly spaced by path length over ``region`` (see the
    module docstring): spacing T/n, the first T/(2n) from the start."""
    n = _count(n)
    pieces = _pieces(cell, region)
    total = pieces[3][-1]
    return _at(cell, pieces, (np.arange(n) + 0.5) * total / n)


def random(cell, region, n: int, seed: int) -> list:
    """``n`` locations drawn uniformly by membrane length over ``region`` with
    ``numpy.random.default_rng(seed)``; returned in cell order."""
    n = _count(n)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise LocationError(f"seed = {seed!r}: give a whole number >= 0 (e.g. seed=1), so that "
                            "the same seed gives the same locations")
    pieces = _pieces(cell, region)
    total = pieces[3][-1]
    draws = np.sort(np.random.default_rng(int(seed)).uniform(0.0, total, size=n))
    return _at(cell, pieces, draws)


# ----------------------------------------------------------------------------
# placing point processes
# ----------------------------------------------------------------------------

def _neuron_point_processes() -> set:
    """Names of every point process NEURON knows (its own and the loaded mod files)."""
    from neuron import h

    names = set()
    kinds = h.MechanismType(1)
    name = h.ref("")
    for i in range(int(kinds.count())):
        kinds.select(i)
        kinds.selected(name)
        names.add(name[0])
    return names


def place(cell, locations, mechanism: str, **params) -> list:
    """One point process ``mechanism`` at each location, with ``params``.

    ionhomeo's point processes (``GabaA``) go through
    :func:`ionhomeo.mechanisms.add_point` (names and ranges checked against
    the mod file); NEURON's own (``IClamp``, ``ExpSyn``, ...) are created
    directly, each parameter checked to exist. Returns the list, in the
    order of ``locations``.
    """
    from neuron import h

    from . import build, mechanisms

    _check_cell(cell)
    if isinstance(locations, Location):
        locations = [locations]
    locations = list(locations)
    own = set(cell.all)
    for i, loc in enumerate(locations):
        if not isinstance(loc, Location):
            raise LocationError(f"location {i} is {type(loc).__name__} {loc!r}, not a Location; "
                                "make locations with ionhomeo.locsets (soma_center, uniform, ...)")
        if loc.section not in own:
            raise LocationError(f"location {i} ({loc!r}) is not on {_label(cell)}; place "
                                "locations on the cell they were made for")
    if not isinstance(mechanism, str):
        raise LocationError(f"mechanism must be a point process name such as 'GabaA' or "
                            f"'IClamp', got {mechanism!r}")
    if mechanism in mechanisms.catalog():
        return [mechanisms.add_point(loc.segment, mechanism, **params) for loc in locations]
    build.load()
    known = _neuron_point_processes()
    if mechanism not in known:
        import difflib

        close = difflib.get_close_matches(mechanism, sorted(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise LocationError(f"{mechanism!r} is not a point process NEURON knows.{hint} "
                            f"Point processes: {', '.join(sorted(known))}")
    out = []
    for loc in locations:
        pp = getattr(h, mechanism)(loc.segment)
        for key, value in params.items():
            if not hasattr(pp, key):
                raise LocationError(f"{mechanism} has no parameter {key!r}; see NEURON's "
                                    f"documentation of {mechanism}")
            setattr(pp, key, value)
        out.append(pp)
    return out
