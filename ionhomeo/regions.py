"""Regions of a cell: named parts of the morphology, narrowed by distance and diameter.

A region selects segments of a cell. It is written as a short expression,
the form used in recipe files (:mod:`ionhomeo.recipe`), or built in Python;
both give the same small frozen (hashable) object::

    >>> from ionhomeo import regions
    >>> r = regions.parse("apical & distance > 100")
    >>> r == regions.named("apical") & regions.distance(min_um=100, inclusive=False)
    True
    >>> str(r)
    'apical & distance > 100'
    >>> r.segments(cell)                                    # doctest: +SKIP

Names (see :data:`NAMES`; the section types are those of the morphology file)

==========  ==============================================================
soma        the soma sections
basal       basal dendrites (SWC type 3, "dend")
apical      apical dendrites (SWC type 4, "apic")
dendrite    basal and apical dendrites
axon        the axon, boutons included
ais         the axon initial segment: the first 40 um of the axon
bouton      the distal 2 um of every axonal leaf section (its terminal bouton)
terminal    the same as ``bouton``
trunk       the apical trunk: the main apical path up to the main bifurcation
oblique     apical branches that leave the trunk before the main bifurcation
tuft        the apical dendrite beyond the main bifurcation
proximal    dendrites less than 100 um (path) from the soma centre
distal      dendrites 200 um (path) or more from the soma centre
all         every section
==========  ==============================================================

The lengths of ``ais``, ``bouton`` (``terminal``), ``proximal`` and
``distal`` can be given in parentheses, in um: ``ais(30)``, ``bouton(5)``,
``proximal(50)``, ``distal(300 um)``. Without them the defaults of
:data:`DEFAULT_LENGTHS_UM` hold. The rules, and the literature behind the
defaults:

* ``ais(L)``: axon segments whose centre lies less than L um (path) from the
  axon's origin (``axon_distance < L``), and at least the first segment of
  each axon stem. L = 40 um: in layer 5 pyramidal neurons action potentials
  start about 35 um from the axon hillock and the initial 40 um of the axon
  are essential for their generation (Palmer & Stuart 2006, J Neurosci
  26:1854), where the Na channel density is about 50 times the dendrites'
  (Kole et al. 2008, Nat Neurosci 11:178); the AIS moves by up to 17 um with
  activity (Grubb & Burrone 2010, Nature 465:1070), so its extent is a
  parameter. The region starts at the axon's origin, hillock included.
* ``bouton(L)``: segments of axonal leaf sections (axon sections with no
  axonal child) whose centre lies less than L um from the leaf's distal end
  (``tip_distance < L``), and at least the last segment of each leaf. L = 2
  um: CA3->CA1 varicosities are 1.1 +- 0.7 um long, with 1.4 +- 1.2 um shafts
  between them (Shepherd & Harris 1998, J Neurosci 18:8300). A region is made
  of whole segments, so the piece is as fine as the discretisation: on a
  reconstruction the last segment of a long leaf is tens of um long (the
  d_lambda rule), and ``bouton`` is that segment.
* ``terminal(L)``: the same as ``bouton(L)``. Before issue 18 ``terminal``
  meant the whole axonal leaf sections, which is the bouton on the bundled
  cells (each bouton is a leaf of one segment) but hundreds of um of
  collaterals on a reconstruction.
* ``trunk``, ``oblique``, ``tuft``: the apical dendrite split as in the
  anatomy of pyramidal neurons, whose apical trunk gives off thin oblique
  branches and ends at a main bifurcation into the tuft (Spruston 2008, Nat
  Rev Neurosci 9:206; in layer 5, Schaefer et al. 2003, J Neurophysiol
  89:3143, who relate the coupling of the somatic and dendritic spike
  initiation zones to the branching pattern of the apical dendrite). The
  main path runs from the soma to the apical tip farthest (path) from the
  soma centre. Its main bifurcation is the first branch point along it, from
  the soma, at which the daughter branches are of comparable size: the
  second largest daughter holds at least :data:`MAIN_BIFURCATION_SHARE` (30
  %) of the apical dendrite beyond the point (summed length). On the bundled
  pyramidal cell and the L5, CA1 and Allen reconstructions of the tests
  (tests/test_regions_anatomy.py) oblique branches hold at most 21 % there
  and the main bifurcation 36-50 %. ``trunk`` is the main path up to the main
  bifurcation; ``tuft`` the main path beyond it and every branch that leaves
  it there or beyond; ``oblique`` every other apical segment (also other
  apical stems of the soma). Without a main bifurcation the whole main path
  is trunk and there is no tuft. Segments are assigned by their centres.
* ``proximal(L)``, ``distal(L)``: dendrite segments (basal and apical) with
  ``distance < L`` (100 um) and ``distance >= L`` (200 um). Steady voltage
  falls to half its somatic value 238 um from the soma along CA1 apical
  dendrites (Golding et al. 2005, J Physiol 568:69): within 100 um it stays
  within about a quarter of it (exponential decay, 238 um half-distance),
  from 200 um on it is nearly halved.

Predicates, evaluated for each segment at its centre, in um (NaN, which no
comparison selects, where a quantity is not defined):

* ``distance``: path distance along the cell from the centre of the soma
  (``cell.soma_center``) to the segment centre, NEURON's ``h.distance``;
* ``diameter``: the segment's diameter;
* ``axon_distance``: axon segments only: path distance from the axon's
  origin (where the axon stem leaves the soma, or a dendrite);
* ``tip_distance``: segments of axonal leaf sections only: path distance to
  the leaf's distal end;
* ``trunk_distance``: apical segments only: path distance from the soma
  centre to the point where the path to the segment leaves the apical trunk
  (on the trunk, the segment's own distance; in the tuft, the main
  bifurcation's).

Each is compared with a number in um: ``distance > 100``, ``diameter <= 1``
(operators ``<``, ``<=``, ``>``, ``>=``; the number may be followed by ``um``).
A comparison no segment can pass (``distance < 0``, ``diameter <= 0``) is an
error, not a region that silently selects nothing.

Grammar (``~`` binds tightest, then ``&``, then ``|``, as in Python)::

    region     := or
    or         := and ( "|" and )*
    and        := unary ( "&" unary )*
    unary      := "~" unary | atom
    atom       := NAME [ "(" NUMBER ["um"] ")" ] | comparison | "(" region ")"
    comparison := QUANTITY ("<" | "<=" | ">" | ">=") NUMBER ["um"]

(a length in parentheses only after ``ais``, ``bouton``, ``terminal``,
``proximal`` and ``distal``). So ``soma | apical & distance > 100`` means
``soma | (apical & distance > 100)`` and ``~axon & diameter < 1`` means
``(~axon) & diameter < 1``.

Canonical text: ``str(region)`` writes names and operators separated by single
spaces, numbers in their shortest exact form without a unit, a name's length
only where one was given (``ais`` stays ``ais``, ``ais(40)`` stays
``ais(40)``: the same segments, but the second does not follow a change of
the default), parentheses only where needed, and always around an ``&``
group inside an ``|`` (``(a & b) | c``) so the grouping is visible.
``parse(str(r)) == r`` for every region, and a canonical string parses and
prints back unchanged. Nested groups of the same operator are flattened:
``a & (b & c)`` is the same region as ``a & b & c``.

Python API: :func:`named` (``named("ais", 30)``), :func:`distance`,
:func:`diameter` and the operators ``&``, ``|``, ``~`` (a string operand is
parsed). ``distance(min_um, max_um)`` selects ``min_um <= d < max_um`` by
default (half-open, so adjacent shells never overlap); ``inclusive=False``
makes the lower bound strict.

A region resolves to a list of segments (``region.segments(cell)``): the
sections in the order of ``cell.all``, and the segments of each section from
its 0 end to its 1 end. A region that selects no segment of the cell is an
:class:`EmptyRegionError` naming the cell and what it lacks (``"pyramidal_...
has no apical dendrites: region 'apical' selects nothing ..."``), unless asked
with ``optional=True`` (then the list is empty); a recipe rule marked
``optional`` is skipped quietly on such a cell. ``cell`` needs only
``sections_by_type`` ({"soma", "axon", "dend", "apic"} -> lists of sections),
``all`` (every section) and, for distances and the apical parts,
``soma_center`` (a segment); its ``name``, if any, is used in messages.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re

import numpy as np

__all__ = ["RegionError", "EmptyRegionError", "Region", "Named", "Compare", "Not", "And", "Or",
           "NAMES", "DEFAULT_LENGTHS_UM", "MAIN_BIFURCATION_SHARE", "QUANTITIES", "parse",
           "as_region", "named", "distance", "diameter", "Sites", "sites"]


class RegionError(ValueError):
    """A region expression or spec that is not valid."""


class EmptyRegionError(RegionError):
    """A region that selects no segment of a cell (the message names the cell and
    what it lacks); ``optional=True``, or an optional recipe rule, allows it."""


#: region name -> meaning (the rules and sources: the module docstring)
NAMES = {
    "soma": "the soma sections",
    "basal": "basal dendrites (section type 'dend')",
    "apical": "apical dendrites (section type 'apic')",
    "dendrite": "basal and apical dendrites",
    "axon": "the axon, boutons included",
    "ais": "the axon initial segment: axon segments less than L um (default 40) from the "
           "axon's origin, and at least the first segment of each axon stem",
    "bouton": "the boutons: segments of axonal leaf sections less than L um (default 2) from "
              "the leaf's distal end, and at least the last segment of each leaf",
    "terminal": "the same as bouton (before issue 18: whole axonal leaf sections)",
    "trunk": "the apical trunk: the path from the soma to the farthest apical tip, up to the "
             "main bifurcation",
    "oblique": "apical branches that leave the trunk before the main bifurcation",
    "tuft": "the apical dendrite beyond the main bifurcation",
    "proximal": "dendrite segments less than L um (default 100) from the soma centre",
    "distal": "dendrite segments L um (default 200) or more from the soma centre",
    "all": "every section",
}

#: the names that take a length in um, ``ais(30)``, and its default
DEFAULT_LENGTHS_UM = {
    # AP initiation about 35 um from the hillock, the initial 40 um essential:
    # Palmer & Stuart 2006, J Neurosci 26:1854 (layer 5 pyramidal neurons)
    "ais": 40.0,
    # varicosities 1.1 +- 0.7 um long: Shepherd & Harris 1998, J Neurosci 18:8300
    "bouton": 2.0,
    "terminal": 2.0,
    # steady voltage halved 238 um from the soma along CA1 apical dendrites
    # (Golding et al. 2005, J Physiol 568:69): within 100 um attenuation is
    # below about a quarter, from 200 um on it is nearly half
    "proximal": 100.0,
    "distal": 200.0,
}

#: the main bifurcation of the apical dendrite: the first branch point on the
#: main path where the second largest daughter holds this fraction of the
#: apical length beyond the point (measured: obliques <= 0.21, main
#: bifurcations 0.36-0.50 on the cells of tests/test_regions_anatomy.py)
MAIN_BIFURCATION_SHARE = 0.3

#: predicate name -> meaning (values in um)
QUANTITIES = {
    "distance": "path distance (um) from the soma centre to the segment centre",
    "diameter": "segment diameter (um)",
    "axon_distance": "axon segments: path distance (um) from the axon's origin",
    "tip_distance": "segments of axonal leaf sections: path distance (um) to the leaf's "
                    "distal end",
    "trunk_distance": "apical segments: path distance (um) from the soma centre to where "
                      "their path leaves the apical trunk",
}

#: quantities that are never 0 at a segment centre (so "<= 0" selects nothing)
_POSITIVE = ("diameter", "axon_distance", "tip_distance")

#: comparison operators
OPERATORS = ("<", "<=", ">", ">=")

#: the section types each name covers (keys of cell.sections_by_type)
_TYPES = {"soma": ("soma",), "basal": ("dend",), "apical": ("apic",),
          "dendrite": ("dend", "apic"), "axon": ("axon",), "ais": ("axon",),
          "bouton": ("axon",), "terminal": ("axon",), "trunk": ("apic",),
          "oblique": ("apic",), "tuft": ("apic",), "proximal": ("dend", "apic"),
          "distal": ("dend", "apic")}

#: what a cell without the section types of a name lacks (for messages)
_LACKS = {"soma": "no soma", "basal": "no basal dendrites", "apical": "no apical dendrites",
          "dendrite": "no dendrites", "axon": "no axon",
          "ais": "no axon, so no axon initial segment", "bouton": "no axon, so no boutons",
          "terminal": "no axon, so no boutons", "trunk": "no apical dendrites, so no trunk",
          "oblique": "no apical dendrites, so no oblique branches",
          "tuft": "no apical dendrites, so no tuft", "proximal": "no dendrites",
          "distal": "no dendrites"}


def _number_text(value: float) -> str:
    """Shortest exact text of a float: 100.0 -> '100', 0.5 -> '0.5'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


class Region:
    """Base class of region specs; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def __and__(self, other) -> "Region":
        return _combine(And, self, as_region(other))

    def __rand__(self, other) -> "Region":
        return _combine(And, as_region(other), self)

    def __or__(self, other) -> "Region":
        return _combine(Or, self, as_region(other))

    def __ror__(self, other) -> "Region":
        return _combine(Or, as_region(other), self)

    def __invert__(self) -> "Region":
        return Not(self)

    def __str__(self) -> str:
        return self.to_string()

    def to_string(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def mask(self, where: "Sites") -> np.ndarray:  # pragma: no cover
        """Boolean array over ``where.segments``: True for the selected segments."""
        raise NotImplementedError

    def segments(self, cell, optional: bool = False) -> list:
        """The selected segments of ``cell``: sections in cell order, segments along each.

        :class:`EmptyRegionError` if there are none, unless ``optional``.
        """
        where = sites(cell)
        mask = where.check(self, optional)
        return [seg for seg, keep in zip(where.segments, mask) if keep]

    def sections(self, cell, optional: bool = False) -> list:
        """The sections of ``cell`` that contain at least one selected segment, in cell order
        (:class:`EmptyRegionError` if there are none, unless ``optional``)."""
        where = sites(cell)
        mask = where.check(self, optional)
        return [sec for sec, sel in where.by_section(mask) if sel.any()]


@dataclasses.dataclass(frozen=True, repr=False)
class Named(Region):
    """A named part of the cell, one of :data:`NAMES`; ``length_um`` (um) for the
    names of :data:`DEFAULT_LENGTHS_UM` (None: the default)."""

    name: str
    length_um: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in NAMES:
            raise RegionError(f"unknown region name {self.name!r}.{_hint(self.name)} "
                              f"Region names: {', '.join(NAMES)}")
        value = self.length_um
        if value is None:
            return
        if self.name not in DEFAULT_LENGTHS_UM:
            raise RegionError(f"region {self.name!r} takes no length; only "
                              f"{', '.join(DEFAULT_LENGTHS_UM)} do, as in 'ais(30)'")
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise RegionError(f"{self.name}({value!r}): the length must be a finite number of "
                              f"um > 0 (default {_number_text(DEFAULT_LENGTHS_UM[self.name])})")
        object.__setattr__(self, "length_um", float(value))

    @property
    def length(self) -> float | None:
        """The length in um this name uses (its default if none was given), or None."""
        if self.name not in DEFAULT_LENGTHS_UM:
            return None
        return DEFAULT_LENGTHS_UM[self.name] if self.length_um is None else self.length_um

    def to_string(self) -> str:
        if self.length_um is None:
            return self.name
        return f"{self.name}({_number_text(self.length_um)})"

    def __repr__(self) -> str:
        if self.length_um is None:
            return f"Named({self.name!r})"
        return f"Named({self.name!r}, {self.length_um!r})"

    def mask(self, where: "Sites") -> np.ndarray:
        return where.named_mask(self.name, self.length)


@dataclasses.dataclass(frozen=True, repr=False)
class Compare(Region):
    """``quantity op value``: a segment predicate, ``value`` in um."""

    quantity: str
    op: str
    value_um: float

    def __post_init__(self):
        if self.quantity not in QUANTITIES:
            raise RegionError(f"unknown quantity {self.quantity!r}.{_hint(self.quantity)} "
                              f"Quantities: {', '.join(QUANTITIES)}")
        if self.op not in OPERATORS:
            raise RegionError(f"unknown comparison {self.op!r}; use one of {', '.join(OPERATORS)}")
        value = self.value_um
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RegionError(f"{self.quantity} must be compared with a number in um, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise RegionError(f"{self.quantity} {self.op} {value!r}: the value must be a finite "
                              "number of um, >= 0")
        if value == 0 and (self.op == "<" or (self.op == "<=" and self.quantity in _POSITIVE)):
            never = "below 0 um" if self.op == "<" else "0 um or less"
            raise RegionError(f"{self.quantity} {self.op} 0 selects nothing: a {self.quantity} "
                              f"is never {never}; give a positive bound (e.g. "
                              f"'{self.quantity} {self.op} 10')")
        object.__setattr__(self, "value_um", float(value))

    def to_string(self) -> str:
        return f"{self.quantity} {self.op} {_number_text(self.value_um)}"

    def __repr__(self) -> str:
        return f"Compare({self.quantity!r}, {self.op!r}, {self.value_um!r})"

    def mask(self, where: "Sites") -> np.ndarray:
        x = where.quantity(self.quantity)
        v = self.value_um
        with np.errstate(invalid="ignore"):  # NaN (not defined there) is never selected
            return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[self.op]


@dataclasses.dataclass(frozen=True, repr=False)
class Not(Region):
    """Every segment that ``operand`` does not select."""

    operand: Region

    def __post_init__(self):
        object.__setattr__(self, "operand", as_region(self.operand))

    def to_string(self) -> str:
        inner = self.operand.to_string()
        return f"~{inner}" if isinstance(self.operand, (Named, Not)) else f"~({inner})"

    def __repr__(self) -> str:
        return f"Not({self.operand!r})"

    def mask(self, where: "Sites") -> np.ndarray:
        return ~self.operand.mask(where)


@dataclasses.dataclass(frozen=True, repr=False)
class _Group(Region):
    terms: tuple

    def __post_init__(self):
        terms = []
        for t in self.terms:
            t = as_region(t)
            terms += t.terms if type(t) is type(self) else [t]
        if len(terms) < 2:
            raise RegionError(f"{type(self).__name__} needs at least two regions, got {len(terms)}")
        object.__setattr__(self, "terms", tuple(terms))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.terms!r})"


@dataclasses.dataclass(frozen=True, repr=False)
class And(_Group):
    """The segments selected by every term (intersection)."""

    def to_string(self) -> str:
        return " & ".join(f"({t})" if isinstance(t, Or) else str(t) for t in self.terms)

    def mask(self, where: "Sites") -> np.ndarray:
        out = self.terms[0].mask(where)
        for t in self.terms[1:]:
            out = out & t.mask(where)
        return out


@dataclasses.dataclass(frozen=True, repr=False)
class Or(_Group):
    """The segments selected by any term (union)."""

    def to_string(self) -> str:
        return " | ".join(f"({t})" if isinstance(t, And) else str(t) for t in self.terms)

    def mask(self, where: "Sites") -> np.ndarray:
        out = self.terms[0].mask(where)
        for t in self.terms[1:]:
            out = out | t.mask(where)
        return out


def _combine(kind, a: Region, b: Region) -> Region:
    return kind((a, b))


def _hint(word) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(NAMES) + list(QUANTITIES), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# ----------------------------------------------------------------------------
# Python API
# ----------------------------------------------------------------------------

def named(name: str, length_um: float | None = None) -> Named:
    """The region called ``name`` (one of :data:`NAMES`), with its length in um for
    ``ais``, ``bouton``, ``terminal``, ``proximal`` and ``distal`` (None: the default)."""
    return Named(name, length_um)


def _range(quantity: str, min_um, max_um, inclusive: bool) -> Region:
    if min_um is None and max_um is None:
        raise RegionError(f"{quantity}(): give min_um, max_um or both (in um)")
    parts = []
    if min_um is not None:
        parts.append(Compare(quantity, ">=" if inclusive else ">", min_um))
    if max_um is not None:
        parts.append(Compare(quantity, "<", max_um))
    if min_um is not None and max_um is not None and not min_um < max_um:
        raise RegionError(f"{quantity}(min_um={min_um}, max_um={max_um}) selects nothing: "
                          "min_um must be smaller than max_um")
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def distance(min_um: float | None = None, max_um: float | None = None,
             inclusive: bool = True) -> Region:
    """Segments whose centre is ``min_um <= d < max_um`` um (path) from the soma centre.

    Either bound may be omitted; ``inclusive=False`` makes the lower bound
    strict (``d > min_um``). Use the string form for other combinations.
    """
    return _range("distance", min_um, max_um, inclusive)


def diameter(min_um: float | None = None, max_um: float | None = None,
             inclusive: bool = True) -> Region:
    """Segments with ``min_um <= diam < max_um`` um (bounds as in :func:`distance`)."""
    return _range("diameter", min_um, max_um, inclusive)


def as_region(spec) -> Region:
    """``spec`` as a Region: a Region is returned as is, a string is parsed."""
    if isinstance(spec, Region):
        return spec
    if isinstance(spec, str):
        return parse(spec)
    raise RegionError(f"a region must be a string such as 'apical & distance > 100' or a "
                      f"Region, got {type(spec).__name__} {spec!r}")


# ----------------------------------------------------------------------------
# Parser: a tokenizer and a recursive-descent parser, no eval()
# ----------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op><=|>=|==|!=|&&|\|\||[<>=!&|~()])
""", re.X)

_WORD_HINTS = {"and": "&", "or": "|", "not": "~"}
_SYMBOL_HINTS = {"&&": "&", "||": "|", "!": "~",
                 "==": "<, <=, > or >=", "!=": "<, <=, > or >=", "=": "<, <=, > or >="}


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str  # "number", "name", "op", "end"
    text: str
    pos: int  # 0-based character offset


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = self._tokenize(text)
        self.i = 0

    def error(self, tok: _Tok, message: str) -> RegionError:
        width = max(1, len(tok.text))
        caret = " " * tok.pos + "^" * width
        return RegionError(f"region {self.text!r}, column {tok.pos + 1}: {message}\n"
                           f"    {self.text}\n    {caret}")

    def _tokenize(self, text: str) -> list:
        toks, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                bad = _Tok("op", text[pos], pos)
                hint = (" Distances and diameters are >= 0, written without a sign."
                        if text[pos] in "-+" else
                        " Use names, numbers, <, <=, >, >=, &, |, ~ and parentheses.")
                raise self.error(bad, f"unexpected character {text[pos]!r}.{hint}")
            if m.lastgroup != "space":
                toks.append(_Tok(m.lastgroup, m.group(), pos))
            pos = m.end()
        toks.append(_Tok("end", "", len(text)))
        return toks

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Region:
        if self.tok.kind == "end":
            raise RegionError("the region expression is empty; write a region such as "
                              f"'soma', 'all' or 'apical & distance > 100'. Names: {', '.join(NAMES)}")
        region = self.parse_or()
        tok = self.tok
        if tok.kind != "end":
            if tok.text == ")":
                raise self.error(tok, "this ')' has no matching '('")
            raise self.error(tok, f"unexpected {tok.text!r}: expected '&', '|' or the end of "
                             "the expression" + self._symbol_hint(tok))
        return region

    def parse_or(self) -> Region:
        terms = [self.parse_and()]
        while self.tok.text == "|":
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def parse_and(self) -> Region:
        terms = [self.parse_unary()]
        while self.tok.text == "&":
            self.take()
            terms.append(self.parse_unary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def parse_unary(self) -> Region:
        if self.tok.text == "~":
            self.take()
            return Not(self.parse_unary())
        return self.parse_atom()

    def _symbol_hint(self, tok: _Tok) -> str:
        if tok.kind == "op" and tok.text in _SYMBOL_HINTS:
            return f". Use {_SYMBOL_HINTS[tok.text]} instead of {tok.text!r}"
        if tok.kind == "name" and tok.text.lower() in _WORD_HINTS:
            return f". Use {_WORD_HINTS[tok.text.lower()]!r} instead of {tok.text!r}"
        return ""

    def parse_atom(self) -> Region:
        tok = self.take()
        if tok.text == "(":
            inner = self.parse_or()
            if self.tok.text != ")":
                raise self.error(tok, "this '(' is never closed: add ')'"
                                 if self.tok.kind == "end" else
                                 f"this '(' is not closed before {self.tok.text!r} "
                                 f"(column {self.tok.pos + 1})")
            self.take()
            return inner
        if tok.kind == "name":
            if tok.text in NAMES:
                return self.parse_name(tok)
            if tok.text in QUANTITIES:
                return self.parse_comparison(tok)
            hint = self._symbol_hint(tok)[1:] + "." if self._symbol_hint(tok) else _hint(tok.text)
            raise self.error(tok, f"unknown name {tok.text!r}.{hint} Region names: "
                             f"{', '.join(NAMES)}; predicates: {', '.join(QUANTITIES)}")
        if tok.kind == "end":
            raise self.error(tok, "the expression ends too early: expected a region name, "
                             "a predicate, '~' or '('")
        if tok.kind == "number":
            raise self.error(tok, f"a number must follow a predicate, as in 'distance > {tok.text}'")
        raise self.error(tok, f"unexpected {tok.text!r}: expected a region name, a predicate, "
                         "'~' or '('" + self._symbol_hint(tok))

    def parse_name(self, name: _Tok) -> Region:
        """A name, with its length in parentheses where it takes one: ``ais(30)``."""
        if self.tok.text != "(":
            return Named(name.text)
        opening = self.take()
        if name.text not in DEFAULT_LENGTHS_UM:
            raise self.error(opening, f"{name.text!r} takes no length; only "
                             f"{', '.join(DEFAULT_LENGTHS_UM)} do, as in 'ais(30)'. Put an "
                             f"operator between a name and a parenthesis: "
                             f"'{name.text} & (...)'")
        num = self.take()
        if num.kind != "number":
            raise self.error(num, f"expected a length in um after '{name.text}(', as in "
                             f"'{name.text}({_number_text(DEFAULT_LENGTHS_UM[name.text])})'")
        if self.tok.kind == "name" and self.tok.text == "um":
            self.take()
        close = self.take()
        if close.text != ")":
            raise self.error(close if close.kind != "end" else opening,
                             f"'{name.text}(' needs a length in um and ')', as in "
                             f"'{name.text}({num.text})'")
        try:
            return Named(name.text, float(num.text))
        except RegionError as e:
            raise self.error(num, str(e)) from None

    def parse_comparison(self, quantity: _Tok) -> Region:
        op = self.take()
        if op.text not in OPERATORS:
            hint = self._symbol_hint(op)
            raise self.error(op if op.kind != "end" else quantity,
                             f"{quantity.text} must be followed by <, <=, > or >= and a number "
                             f"in um, as in '{quantity.text} > 100'{hint}")
        num = self.take()
        if num.kind != "number":
            raise self.error(num, f"expected a number (um) after '{quantity.text} {op.text}'")
        if self.tok.kind == "name" and self.tok.text == "um":
            self.take()
        elif self.tok.kind == "name" and self.tok.text not in NAMES and self.tok.text not in QUANTITIES:
            raise self.error(self.tok, f"{quantity.text} is in um; {self.tok.text!r} is not a "
                             "unit it accepts (write the number in um, optionally followed by 'um')")
        return Compare(quantity.text, op.text, float(num.text))


def parse(text: str) -> Region:
    """Parse a region expression (see the module docstring for the grammar)."""
    if not isinstance(text, str):
        raise RegionError(f"a region expression must be a string, got {type(text).__name__}")
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise RegionError(f"region expression of {len(text)} characters is nested too deeply to "
                          "read (hundreds of parentheses or '~'); write it with fewer levels, "
                          "e.g. 'a | b | c' instead of '(a | (b | c))'") from None


# ----------------------------------------------------------------------------
# The segments of a cell
# ----------------------------------------------------------------------------

class Sites:
    """The segments of a cell with what regions test: section type, distances, diameter.

    Build it once with :func:`sites` and evaluate many regions on it with
    ``region.mask(sites)``. ``segments`` lists every segment (sections in
    the order of ``cell.all``, segments along each section). The per-segment
    arrays (``distance_um``, ``diameter_um``, ``axon_distance_um``,
    ``tip_distance_um``, ``trunk_distance_um``; um, NaN where undefined) are
    computed once, when first asked for.
    """

    def __init__(self, cell):
        for attr in ("sections_by_type", "all"):
            if not hasattr(cell, attr):
                raise RegionError(f"the cell has no {attr!r}: regions need a cell with "
                                  "sections_by_type, all and soma_center")
        self._cell = cell
        self.sections = list(cell.all)
        self.segments = [seg for sec in self.sections for seg in sec]
        self.nseg = np.array([sec.nseg for sec in self.sections], dtype=int)
        self._section_index = np.repeat(np.arange(len(self.sections)), self.nseg)
        self._first = np.concatenate(([0], np.cumsum(self.nseg)[:-1])).astype(int)
        self._cache = {}

    # -- names ---------------------------------------------------------------

    def named_mask(self, name: str, length_um: float | None = None) -> np.ndarray:
        """Boolean array over the segments of region ``name`` (with its length in um,
        for the names of :data:`DEFAULT_LENGTHS_UM`; None: the default)."""
        if length_um is None:
            length_um = DEFAULT_LENGTHS_UM.get(name)
        key = ("named", name, length_um)
        if key not in self._cache:
            self._cache[key] = self._named(name, length_um)
        return self._cache[key]

    def _named(self, name: str, length_um) -> np.ndarray:
        if name == "all":
            return np.ones(len(self.segments), dtype=bool)
        typed = self._typed(_TYPES[name])
        if name in ("ais", "bouton", "terminal"):
            axon = self._axon()
            if name == "ais":
                return typed & ((axon["axon_distance"] < length_um) | axon["first"])
            return axon["leaf"] & ((axon["tip_distance"] < length_um) | axon["last"])
        if name in ("trunk", "oblique", "tuft"):
            return self._apical()["part"] == ("trunk", "oblique", "tuft").index(name) + 1
        if name == "proximal":
            return typed & (self.distance_um < length_um)
        if name == "distal":
            return typed & (self.distance_um >= length_um)
        return typed

    def _typed(self, kinds) -> np.ndarray:
        """Boolean array over the segments of the sections of these types."""
        chosen = {sec for kind in kinds for sec in self._cell.sections_by_type.get(kind, ())}
        return np.array([sec in chosen for sec in self.sections], dtype=bool)[self._section_index]

    def _type_set(self, kind) -> set:
        return set(self._cell.sections_by_type.get(kind, ()))

    # -- quantities ----------------------------------------------------------

    def quantity(self, name: str) -> np.ndarray:
        """The array of predicate ``name`` (one of :data:`QUANTITIES`) over the segments."""
        return getattr(self, f"{name}_um")

    @property
    def diameter_um(self) -> np.ndarray:
        """Diameter of every segment (um)."""
        if "diameter" not in self._cache:
            self._cache["diameter"] = np.array([seg.diam for seg in self.segments], dtype=float)
        return self._cache["diameter"]

    def _centre(self):
        centre = getattr(self._cell, "soma_center", None)
        if centre is None:
            raise RegionError("distance (and trunk_distance, trunk, oblique, tuft, proximal, "
                              "distal) needs cell.soma_center (a segment at the soma "
                              "centre), and this cell has none")
        return centre

    @property
    def distance_um(self) -> np.ndarray:
        """Path distance (um) from the soma centre to every segment centre."""
        if "distance" not in self._cache:
            from neuron import h

            centre = self._centre()
            self._cache["distance"] = np.array([h.distance(centre, seg)
                                                for seg in self.segments], dtype=float)
        return self._cache["distance"]

    @property
    def axon_distance_um(self) -> np.ndarray:
        """Axon segments: path distance (um) from the origin of their axon stem (the
        0 end of the first axon section, where it leaves the soma or a dendrite); NaN
        elsewhere."""
        return self._axon()["axon_distance"]

    @property
    def tip_distance_um(self) -> np.ndarray:
        """Segments of axonal leaf sections (axon sections with no axonal child):
        path distance (um) from the segment centre to the leaf's distal end; NaN
        elsewhere. A leaf whose distal piece ``Cell(bouton_um=...)`` split off
        is still one leaf: its segments measure to the bouton's end."""
        return self._axon()["tip_distance"]

    @property
    def trunk_distance_um(self) -> np.ndarray:
        """Apical segments: path distance (um) from the soma centre to the point where
        the path to the segment leaves the apical trunk (region ``trunk``): on the
        trunk the segment's own distance, in the tuft the main bifurcation's, on an
        oblique branch its branch point's; NaN elsewhere."""
        return self._apical()["trunk_distance"]

    @property
    def main_bifurcation_um(self) -> float:
        """Path distance (um) from the soma centre to the main bifurcation of the
        apical dendrite (NaN without one, or without apical dendrites)."""
        return self._apical()["bifurcation_um"]

    # -- the axon ------------------------------------------------------------

    def _axon(self) -> dict:
        """Per-segment arrays of the axon: axon_distance, tip_distance (um, NaN off the
        axon or off its leaves), leaf, first (of each axon stem), last (of each leaf)."""
        if "axon" in self._cache:
            return self._cache["axon"]
        from neuron import h

        n = len(self.segments)
        out = {"axon_distance": np.full(n, np.nan), "tip_distance": np.full(n, np.nan),
               "leaf": np.zeros(n, dtype=bool), "first": np.zeros(n, dtype=bool),
               "last": np.zeros(n, dtype=bool)}
        axon = self._type_set("axon")
        split = getattr(self._cell, "split_leaves", None) or {}
        stem = {}
        for k, sec in enumerate(self.sections):
            if sec not in axon:
                continue
            start, nseg = self._first[k], self.nseg[k]
            root = _stem(sec, axon, stem)
            origin = root(root.orientation())  # the end attached to the parent
            for j, seg in enumerate(sec):
                out["axon_distance"][start + j] = h.distance(origin, seg)
            if root is sec:
                out["first"][start + (0 if sec.orientation() == 0 else nseg - 1)] = True
            cut = split.get(sec)  # a leaf whose bouton Cell(bouton_um=...) split off
            if cut is not None:  # the same leaf: tips measured to the bouton's end
                distal = 1.0 - sec.orientation()
                out["leaf"][start:start + nseg] = True
                out["tip_distance"][start:start + nseg] = [
                    cut.L + sec.L * abs(distal - seg.x) for seg in sec]
            elif not any(child in axon for child in sec.children()):
                distal = 1.0 - sec.orientation()
                rows = slice(start, start + nseg)
                out["leaf"][rows] = True
                out["tip_distance"][rows] = [sec.L * abs(distal - seg.x) for seg in sec]
                out["last"][start + (nseg - 1 if sec.orientation() == 0 else 0)] = True
        self._cache["axon"] = out
        return out

    # -- the apical dendrite ---------------------------------------------------

    def _apical(self) -> dict:
        """Per-segment ``part`` (0 not apical, 1 trunk, 2 oblique, 3 tuft) and
        ``trunk_distance``, and ``bifurcation_um`` (see the module docstring)."""
        if "apical" not in self._cache:
            self._cache["apical"] = _ApicalLayout(self).result()
        return self._cache["apical"]

    # -- checks ----------------------------------------------------------------

    def check(self, region: "Region", optional: bool = False) -> np.ndarray:
        """``region.mask(self)``; :class:`EmptyRegionError` if it selects nothing
        and not ``optional``."""
        mask = region.mask(self)
        if not optional and not mask.any():
            raise EmptyRegionError(self.empty_message(region))
        return mask

    def cell_name(self) -> str:
        name = getattr(self._cell, "name", None)
        return name if isinstance(name, str) and name else "this cell"

    def empty_message(self, region: "Region") -> str:
        """Why ``region`` selects no segment of the cell, and what to do about it."""
        region = as_region(region)
        cell = self.cell_name()
        why = None
        for atom in _positive_names(region):
            why = self.lacks(atom)
            if why:
                break
        what = f"{cell} has {why}: region {str(region)!r} selects nothing" if why else \
            f"region {str(region)!r} selects no segment of {cell}"
        return (f"{what}. If this is meant for cells without it, mark the rule optional "
                "(optional = true in its [[rules]] table; Rule(..., optional=True) in "
                "Python), or ask for the segments with optional=True")

    def lacks(self, atom: "Named") -> str | None:
        """What the cell lacks for name ``atom`` to select anything, or None if it
        selects something."""
        if atom.mask(self).any():
            return None
        name, length = atom.name, atom.length
        if not self._typed(_TYPES.get(name, ())).any():
            return _LACKS.get(name, f"no {name}")
        if name in ("oblique", "tuft"):
            at = self.main_bifurcation_um
            if name == "tuft":
                return (f"no apical tuft: its apical dendrite has no main bifurcation (no "
                        f"branch point on the path to the farthest apical tip where the "
                        f"second largest daughter holds {MAIN_BIFURCATION_SHARE:.0%} of the "
                        "dendrite beyond it)")
            where = f"before the main bifurcation ({_number_text(round(at, 1))} um)" \
                if math.isfinite(at) else "(its apical dendrite has no main bifurcation)"
            return f"no oblique branches: no apical branch leaves the trunk {where}"
        if name in ("proximal", "distal"):
            d = self.distance_um[self._typed(_TYPES[name])]
            if name == "proximal":
                return (f"no dendrite segment centre within {_number_text(length)} um of the "
                        f"soma centre (the nearest is {d.min():.1f} um from it)")
            return (f"no dendrite segment centre {_number_text(length)} um or more from the "
                    f"soma centre (the farthest is {d.max():.1f} um from it)")
        return f"no {name}"

    def by_section(self, mask: np.ndarray):
        """Yield (section, boolean array over its segments) for every section."""
        start = 0
        for sec, n in zip(self.sections, self.nseg):
            yield sec, mask[start:start + n]
            start += n


def _positive_names(region: "Region"):
    """The Named atoms of ``region`` not under a ``~`` (those it needs segments of)."""
    if isinstance(region, Named):
        yield region
    elif isinstance(region, _Group):
        for term in region.terms:
            yield from _positive_names(term)


def _stem(sec, within: set, memo: dict):
    """The first section of ``sec``'s run of ancestors inside ``within`` (its stem)."""
    chain = []
    while sec not in memo:
        chain.append(sec)
        parent = sec.parentseg()
        if parent is None or parent.sec not in within:
            memo[sec] = sec
            break
        sec = parent.sec
    root = memo[sec]
    for s in chain:
        memo[s] = root
    return root


def _u(sec, x: float) -> float:
    """Position along ``sec`` from the end attached to its parent (0) to its free end (1)."""
    return x if sec.orientation() == 0 else 1.0 - x


class _ApicalLayout:
    """Trunk, oblique branches and tuft of the apical dendrite (module docstring).

    Points on the main path are (index of the path section, u) with u the
    position along that section from its attached end; they compare in order
    along the path. Every apical segment is either on the main path (at its
    centre) or off it, in a daughter branch that leaves the path at a point.
    """

    BEFORE = (-1, 0.0)  # leaves before the main path starts: another apical stem

    def __init__(self, where: Sites):
        from neuron import h

        self.h, self.where = h, where
        self.apical = where._type_set("apic")

    def parent(self, sec):
        p = sec.parentseg()
        return p if p is not None and p.sec in self.apical else None

    def point(self, i: int, u: float) -> tuple:
        """The point (i, u), the start of a path section named by its parent's point."""
        while u == 0.0 and i > 0:
            i, u = i - 1, self.exit_u[i - 1]
        return (i, u)

    def distance_to(self, pt: tuple) -> float:
        i, u = pt
        sec = self.path[i]
        return self.h.distance(self.centre, sec(_u(sec, u)))

    def result(self) -> dict:
        where = self.where
        n = len(where.segments)
        out = {"part": np.zeros(n, dtype=int), "trunk_distance": np.full(n, np.nan),
               "bifurcation_um": math.nan}
        if not self.apical:
            return out
        h, self.centre = self.h, where._centre()
        order = [sec for sec in where.sections if sec in self.apical]
        tip = max(order, key=lambda s: h.distance(self.centre, s(_u(s, 1.0))))
        path = [tip]
        while self.parent(path[-1]) is not None:
            path.append(self.parent(path[-1]).sec)
        self.path = path[::-1]
        index = {sec: i for i, sec in enumerate(self.path)}
        self.exit_u = [_u(a, b.parentseg().x) for a, b in zip(self.path, self.path[1:])] + [1.0]
        # every apical segment: (row, on the path?, point, daughter, length um)
        items, leave_of = [], {}
        for k, sec in enumerate(where.sections):
            if sec not in self.apical:
                continue
            if sec in index:
                i = index[sec]
                for j, seg in enumerate(sec):
                    u = _u(sec, seg.x)
                    if i == len(self.path) - 1 or u < self.exit_u[i]:
                        items.append((where._first[k] + j, True, (i, u), None, sec.L / sec.nseg))
                    else:  # past where the path leaves this section: a side branch
                        items.append((where._first[k] + j, False, self.point(i, self.exit_u[i]),
                                      ("tail", i), sec.L / sec.nseg))
                continue
            if sec not in leave_of:
                leave_of[sec] = self.leave(sec, index)
            pt, daughter = leave_of[sec]
            for j in range(sec.nseg):
                items.append((where._first[k] + j, False, pt, daughter, sec.L / sec.nseg))
        fork = self.bifurcation(items)
        end = fork if fork is not None else (len(self.path), 0.0)  # past the whole path
        cache = {}

        def dist(pt):
            if pt not in cache:
                cache[pt] = self.distance_to(pt)
            return cache[pt]

        origin = self.path[0](_u(self.path[0], 0.0))
        d_origin = h.distance(self.centre, origin)
        for row, on_path, pt, _, _ in items:
            seg = where.segments[row]
            if on_path and pt <= end:
                out["part"][row], out["trunk_distance"][row] = 1, where.distance_um[row]
            elif pt >= end:
                out["part"][row], out["trunk_distance"][row] = 3, dist(fork)
            elif pt == self.BEFORE:  # another apical stem: where its path and the trunk's part
                d = where.distance_um[row]
                out["part"][row] = 2
                out["trunk_distance"][row] = (d + d_origin - h.distance(seg, origin)) / 2
            else:
                out["part"][row], out["trunk_distance"][row] = 2, dist(pt)
        if fork is not None:
            out["bifurcation_um"] = dist(fork)
        return out

    def leave(self, sec, index) -> tuple:
        """(point where ``sec``'s branch leaves the main path, key of that daughter)."""
        cur = sec
        while True:
            parent = self.parent(cur)
            if parent is None:
                return self.BEFORE, ("stem", cur.name())
            if parent.sec in index:
                i = index[parent.sec]
                u = _u(parent.sec, parent.x)
                if u > self.exit_u[i]:  # on the part of a path section the path has left
                    return self.point(i, self.exit_u[i]), ("tail", i)
                return self.point(i, u), ("branch", cur.name())
            cur = parent.sec

    def bifurcation(self, items) -> tuple | None:
        """The main bifurcation: the first point on the main path where the second
        largest daughter holds MAIN_BIFURCATION_SHARE of the apical length beyond it."""
        sides = {}  # point -> {daughter: length}
        for _, on_path, pt, daughter, length in items:
            if not on_path and pt != self.BEFORE:
                sides.setdefault(pt, {}).setdefault(daughter, 0.0)
                sides[pt][daughter] += length
        for pt in sorted(sides):
            main = sum(length for _, on_path, p, _, length in items
                       if p > pt and (on_path or p != self.BEFORE))
            daughters = sorted(list(sides[pt].values()) + [main], reverse=True)
            if daughters[1] >= MAIN_BIFURCATION_SHARE * sum(daughters):
                return pt
        return None


def sites(cell) -> Sites:
    """The segments of ``cell`` prepared for evaluating regions."""
    return Sites(cell)
