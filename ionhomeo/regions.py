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

Names (from the morphology's section types, see :data:`NAMES`)

==========  ==============================================================
soma        the soma sections
basal       basal dendrites (SWC type 3, "dend")
apical      apical dendrites (SWC type 4, "apic")
dendrite    basal and apical dendrites
axon        the axon, terminals included
terminal    axonal leaf sections (boutons): axon sections with no axonal child
all         every section
==========  ==============================================================

Predicates, evaluated for each segment at its centre

* ``distance``: path distance (um) along the cell from the centre of the
  soma (``cell.soma_center``) to the segment centre, NEURON's ``h.distance``;
* ``diameter``: the segment's diameter (um).

Each is compared with a number in um: ``distance > 100``, ``diameter <= 1``
(operators ``<``, ``<=``, ``>``, ``>=``; the number may be followed by ``um``).
A comparison no segment can pass (``distance < 0``, ``diameter <= 0``) is an
error, not a region that silently selects nothing.

Grammar (``~`` binds tightest, then ``&``, then ``|``, as in Python)::

    region     := or
    or         := and ( "|" and )*
    and        := unary ( "&" unary )*
    unary      := "~" unary | atom
    atom       := NAME | comparison | "(" region ")"
    comparison := ("distance" | "diameter") ("<" | "<=" | ">" | ">=") NUMBER ["um"]

So ``soma | apical & distance > 100`` means ``soma | (apical & distance > 100)``
and ``~axon & diameter < 1`` means ``(~axon) & diameter < 1``.

Canonical text: ``str(region)`` writes names and operators separated by single
spaces, numbers in their shortest exact form without a unit, parentheses only
where needed, and always around an ``&`` group inside an ``|`` (``(a & b) | c``)
so the grouping is visible. ``parse(str(r)) == r`` for every region, and a
canonical string parses and prints back unchanged. Nested groups of the same
operator are flattened: ``a & (b & c)`` is the same region as ``a & b & c``.

Python API: :func:`named`, :func:`distance`, :func:`diameter` and the
operators ``&``, ``|``, ``~`` (a string operand is parsed). ``distance(min_um,
max_um)`` selects ``min_um <= d < max_um`` by default (half-open, so adjacent
shells never overlap); ``inclusive=False`` makes the lower bound strict.

A region resolves to a list of segments (``region.segments(cell)``): the
sections in the order of ``cell.all``, and the segments of each section from
its 0 end to its 1 end. ``cell`` needs only ``sections_by_type`` ({"soma",
"axon", "dend", "apic"} -> lists of sections), ``all`` (every section) and,
for distances, ``soma_center`` (a segment).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re

import numpy as np

__all__ = ["RegionError", "Region", "Named", "Compare", "Not", "And", "Or", "NAMES",
           "QUANTITIES", "parse", "as_region", "named", "distance", "diameter", "Sites",
           "sites"]


class RegionError(ValueError):
    """A region expression or spec that is not valid."""


#: region name -> meaning
NAMES = {
    "soma": "the soma sections",
    "basal": "basal dendrites (section type 'dend')",
    "apical": "apical dendrites (section type 'apic')",
    "dendrite": "basal and apical dendrites",
    "axon": "the axon, terminals included",
    "terminal": "axonal leaf sections (boutons): axon sections with no axonal child",
    "all": "every section",
}

#: predicate name -> meaning (values in um)
QUANTITIES = {
    "distance": "path distance (um) from the soma centre to the segment centre",
    "diameter": "segment diameter (um)",
}

#: comparison operators
OPERATORS = ("<", "<=", ">", ">=")

#: the section types each name covers (keys of cell.sections_by_type)
_TYPES = {"soma": ("soma",), "basal": ("dend",), "apical": ("apic",),
          "dendrite": ("dend", "apic"), "axon": ("axon",), "terminal": ("axon",)}


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

    def segments(self, cell) -> list:
        """The selected segments of ``cell``: sections in cell order, segments along each."""
        where = sites(cell)
        return [seg for seg, keep in zip(where.segments, self.mask(where)) if keep]

    def sections(self, cell) -> list:
        """The sections of ``cell`` that contain at least one selected segment, in cell order."""
        where = sites(cell)
        return [sec for sec, sel in where.by_section(self.mask(where)) if sel.any()]


@dataclasses.dataclass(frozen=True, repr=False)
class Named(Region):
    """A named part of the cell, one of :data:`NAMES`."""

    name: str

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in NAMES:
            raise RegionError(f"unknown region name {self.name!r}.{_hint(self.name)} "
                              f"Region names: {', '.join(NAMES)}")

    def to_string(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Named({self.name!r})"

    def mask(self, where: "Sites") -> np.ndarray:
        return where.named_mask(self.name)


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
        if value == 0 and (self.op == "<" or (self.op == "<=" and self.quantity == "diameter")):
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
        x = where.distance_um if self.quantity == "distance" else where.diameter_um
        v = self.value_um
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

def named(name: str) -> Named:
    """The region called ``name`` (one of :data:`NAMES`)."""
    return Named(name)


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
                return Named(tok.text)
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
    """The segments of a cell with what regions test: section type, distance, diameter.

    Build it once with :func:`sites` and evaluate many regions on it with
    ``region.mask(sites)``. ``segments`` lists every segment (sections in
    the order of ``cell.all``, segments along each section).
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
        self._named = {}
        self._distance = None
        self._diameter = None

    def named_mask(self, name: str) -> np.ndarray:
        """Boolean array over the segments of the sections called ``name``."""
        if name not in self._named:
            self._named[name] = self._section_mask(self._named_sections(name))[self._section_index]
        return self._named[name]

    def _section_mask(self, chosen) -> np.ndarray:
        chosen = set(chosen)
        return np.array([sec in chosen for sec in self.sections], dtype=bool)

    def _named_sections(self, name: str):
        if name == "all":
            return self.sections
        by_type = self._cell.sections_by_type
        secs = [sec for t in _TYPES[name] for sec in by_type.get(t, ())]
        if name == "terminal":
            axon = set(secs)
            secs = [sec for sec in secs if not any(child in axon for child in sec.children())]
        return secs

    @property
    def diameter_um(self) -> np.ndarray:
        """Diameter of every segment (um)."""
        if self._diameter is None:
            self._diameter = np.array([seg.diam for seg in self.segments], dtype=float)
        return self._diameter

    @property
    def distance_um(self) -> np.ndarray:
        """Path distance (um) from the soma centre to every segment centre."""
        if self._distance is None:
            centre = getattr(self._cell, "soma_center", None)
            if centre is None:
                raise RegionError("distance needs cell.soma_center (a segment at the soma "
                                  "centre), and this cell has none")
            from neuron import h

            self._distance = np.array([h.distance(centre, seg) for seg in self.segments],
                                      dtype=float)
        return self._distance

    def by_section(self, mask: np.ndarray):
        """Yield (section, boolean array over its segments) for every section."""
        start = 0
        for sec, n in zip(self.sections, self.nseg):
            yield sec, mask[start:start + n]
            start += n


def sites(cell) -> Sites:
    """The segments of ``cell`` prepared for evaluating regions."""
    return Sites(cell)
