"""Neuron morphologies: load and check a reconstruction, build it in NEURON.

Three steps, each small::

    from ionhomeo import morphology
    morph = morphology.load("cell.swc")            # checks the file, no NEURON yet (SWC)
    secs = morphology.instantiate(morph, owner)     # NEURON sections, via NEURON's Import3d
    morphology.discretize(secs)                     # nseg by the d_lambda rule

Formats
-------
* **SWC** (``.swc``; Cannon et al. 1998, J Neurosci Methods 84:49-54; the
  NeuroMorpho.Org conventions): one point a line, ``id type x y z radius parent``
  with lengths in um.  :func:`load` checks every line *before* NEURON sees the
  file (malformed lines, non-numeric fields, duplicate ids, several roots,
  missing parents, loops, zero or negative radii, radii outside 1 nm..1 cm,
  coordinates more than 10 m from the origin, unknown type codes) and
  every error names the file, the line and the fix.
* **Neurolucida ASC** (``.asc``, MBF Bioscience text format): parsed by
  NEURON's ``Import3d_Neurolucida3``; its complaints become
  :class:`MorphologyError` with the line number.  Unbalanced parentheses (a
  truncated file) are checked first, because Import3d loops forever on them.
* **NeuroML2** is not supported: NEURON's Import3d reads only the older
  MorphML (NeuroML 1) and a NeuroML2 reader would need an XML dependency.
  Convert NeuroML2 cells to SWC (e.g. with pyNeuroML) first.

Type codes
----------
SWC codes 1 soma, 2 axon, 3 basal dendrite, 4 apical dendrite map to the
section types ``"soma"``, ``"axon"``, ``"dend"``, ``"apic"``.  Any other code
(in ASC: 0, a tree without an (Axon)/(Dendrite)/(Apical) marker) is an error
unless mapped with ``type_map``, e.g. ``load(path, type_map={5: "dend"})``.

How Import3d builds the cell (NEURON 9)
---------------------------------------
* Sections are unbranched runs of points of one SWC type: a new section starts
  at every branch point and at every change of type code (an unbranched
  run that changes type code is therefore split into two sections).
* ``Import3d_GUI(reader, 0).instantiate(owner)`` with a Python ``owner`` sets
  ``owner.all`` and one list per type code present, named ``soma``, ``axon``,
  ``dend``, ``apic`` for codes 1-4 and ``dend_<code>`` otherwise.  Section
  names are ``f"{owner}.soma[0]"`` etc. (``str(owner)``); several owners give
  several independent cells.  Each section keeps only a weak reference to its
  owner, so the owner must accept attributes and weak references (a plain
  class instance does; ``types.SimpleNamespace`` does not).  Deleting the
  owner and the dict returned by :func:`instantiate` deletes the sections.
* A soma given as one point of radius r becomes a cylinder of length and
  diameter 2r (area 4 pi r^2, the sphere's).  The NeuroMorpho three-point
  soma (a centre point and two points at +-r, all of radius r, the neurites
  attached to the centre) is recognised and treated the same way.  Other
  somata (several points, ASC contours) become one or more cylinders along
  the traced points.  Neurites attached to a one-point soma are connected at
  soma(0.5) and start at their own first point (a "wire" connection).
* Import3d (NEURON 9.0) cannot read an SWC file whose ids are not in
  increasing order: it fails with a hoc error, and when no section exists yet
  NEURON crashes (segmentation fault).  :func:`instantiate` therefore hands
  Import3d a normalised copy of the checked file: same points and type codes,
  ids renumbered 1..N in an order where every parent precedes its children.

The returned dict maps ``"soma"``, ``"axon"``, ``"dend"``, ``"apic"`` to lists of
sections (empty lists for absent types); it, not the owner's attributes, is
the classification after ``type_map``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import inspect
import io
import math
import os
import re
import tempfile
import types
import warnings
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "BUNDLED",
    "DEFAULT_TYPE_MAP",
    "FORMATS",
    "SECTION_TYPES",
    "Morphology",
    "MorphologyError",
    "bundled",
    "bundled_dir",
    "discretize",
    "instantiate",
    "lambda_f_um",
    "load",
]

#: Section types, in the order used everywhere (dict keys, counts).
SECTION_TYPES = ("soma", "axon", "dend", "apic")

#: SWC type codes known without a ``type_map`` (Cannon et al. 1998).
DEFAULT_TYPE_MAP = types.MappingProxyType({1: "soma", 2: "axon", 3: "dend", 4: "apic"})

#: File suffix -> format name.
FORMATS = types.MappingProxyType({".swc": "swc", ".asc": "asc"})

#: Cells shipped with ionhomeo (``morphologies/<name>.swc``); see :func:`bundled`.
BUNDLED = ("ball_and_stick", "pyramidal")

#: How many problems one error message lists before summarising the rest.
_MAX_LISTED = 20

_SWC_FIELDS = "id type x y z radius parent"

#: the largest |x|, |y|, |z| accepted (um): 10 m, beyond any cell (longer
#: coordinates made NEURON's lengths and the d_lambda rule overflow to NaN)
MAX_COORDINATE_UM = 1e7
#: the radii accepted (um): from 1 nm (thinner than a membrane; NEURON keeps
#: diameters in single precision, and 1e-300 became 0) to 1 cm
MIN_RADIUS_UM, MAX_RADIUS_UM = 1e-3, 1e4
#: NEURON's largest nseg
MAX_NSEG = 32767


class MorphologyError(ValueError):
    """A morphology file that cannot be used; the message names file, line and fix.

    Attributes: ``path`` (the file), ``line`` (1-based line of the first problem,
    or None) and ``problems`` (list of ``(line, text)`` pairs).
    """

    def __init__(self, path, problems):
        self.path = Path(path) if path is not None else None
        self.problems = list(problems)
        self.line = self.problems[0][0] if self.problems else None
        where = str(self.path) if self.path is not None else "<morphology>"
        lines = [f"{where} line {ln}: {text}" if ln is not None else f"{where}: {text}"
                 for ln, text in self.problems[:_MAX_LISTED]]
        if len(self.problems) > _MAX_LISTED:
            lines.append(f"... and {len(self.problems) - _MAX_LISTED} more problems")
        if len(lines) > 1:
            lines.insert(0, f"{where}: {len(self.problems)} problems")
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------
# the Morphology record


@dataclasses.dataclass(frozen=True)
class Morphology:
    """A checked morphology file (what :func:`load` returns).

    ``path``: absolute path of the file; ``sha256``: hex digest of its bytes
    (:func:`instantiate` refuses a file changed since); ``format``: ``"swc"`` or
    ``"asc"``; ``type_map``: type code -> section type, the defaults plus the
    caller's mapping; ``n_points``: traced points (ASC: as Import3d holds them,
    including the points it adds to connect branches to the soma); ``soma_points``: points of
    soma type (ASC: points of the soma contours); ``points_by_type``: section
    type -> number of points (ASC: Import3d's 3-D points, where a branch also
    holds the point it starts from, so the sum exceeds ``n_points``).
    """

    path: Path
    sha256: str
    format: str
    type_map: dict
    n_points: int
    soma_points: int
    points_by_type: dict

    def __post_init__(self):
        if not isinstance(self.path, Path):
            raise TypeError(f"Morphology.path must be a pathlib.Path, got {self.path!r}")
        if not (isinstance(self.sha256, str) and re.fullmatch(r"[0-9a-f]{64}", self.sha256)):
            raise ValueError(f"Morphology.sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.format not in FORMATS.values():
            raise ValueError(f"Morphology.format must be one of {sorted(FORMATS.values())}, "
                             f"got {self.format!r}")
        object.__setattr__(self, "type_map", _check_type_map(self.type_map, merge=False))
        for name in ("n_points", "soma_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Morphology.{name} must be an integer >= 0, got {value!r}")
        if self.n_points < 1:
            raise ValueError("Morphology.n_points must be >= 1: a morphology needs points")
        counts = dict(self.points_by_type)
        unknown = set(counts) - set(SECTION_TYPES)
        if unknown:
            raise ValueError(f"Morphology.points_by_type has unknown section types {sorted(unknown)}; "
                             f"allowed: {SECTION_TYPES}")
        object.__setattr__(self, "points_by_type",
                           {t: int(counts.get(t, 0)) for t in SECTION_TYPES})

    def __hash__(self):  # the dict fields are not hashable; the file's content identifies it
        return hash((self.path, self.sha256, self.format, tuple(self.type_map.items())))

    @property
    def name(self) -> str:
        """The file name without suffix (e.g. ``"pyramidal"``)."""
        return self.path.stem

    def to_dict(self) -> dict:
        """A JSON-able record of the file, for the provenance of results."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "format": self.format,
            "type_map": {str(code): name for code, name in sorted(self.type_map.items())},
            "n_points": self.n_points,
            "soma_points": self.soma_points,
            "points_by_type": dict(self.points_by_type),
        }


def _check_type_map(type_map, merge: bool) -> dict:
    """Validate ``type_map`` (code -> section type); with ``merge``, add it to the defaults."""
    if type_map is None:
        type_map = {}
    if not isinstance(type_map, Mapping):
        raise MorphologyError(None, [(None, f"type_map must be a dict of type code -> one of "
                                            f"{SECTION_TYPES}, got {type_map!r}")])
    result = dict(DEFAULT_TYPE_MAP) if merge else {}
    for code, name in type_map.items():
        if isinstance(code, bool) or not isinstance(code, int):
            raise MorphologyError(None, [(None, f"type_map key {code!r} must be an integer SWC type "
                                                f"code, e.g. {{5: 'dend'}}")])
        if name not in SECTION_TYPES:
            close = difflib.get_close_matches(str(name), SECTION_TYPES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MorphologyError(None, [(None, f"type_map[{code}] = {name!r} is not a section type; "
                                                f"use one of {SECTION_TYPES}{hint}")])
        result[code] = name
    return dict(sorted(result.items()))


# --------------------------------------------------------------------------
# SWC: own line-by-line check


@dataclasses.dataclass(frozen=True)
class _SwcPoint:
    line: int      # 1-based line in the file
    id: int
    type: int
    fields: tuple  # the x, y, z, radius tokens as written (um)
    parent: int


def _parse_int(token: str):
    try:
        return int(token)
    except ValueError:
        return None


def _parse_swc(text: str, path: Path, type_map: Mapping) -> list[_SwcPoint]:
    """Check an SWC text; return its points or raise MorphologyError listing every problem."""
    problems: list[tuple[int, str]] = []
    points: list[_SwcPoint] = []
    first_line_of_id: dict[int, int] = {}
    n_lines = 0
    for n_lines, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if not content:
            continue
        tokens = content.split()
        if len(tokens) != 7:
            problems.append((n_lines, f"expected 7 fields ({_SWC_FIELDS}), found {len(tokens)}: "
                                      f"{content!r}; fix the line or comment it out with '#'"))
            continue
        bad = []
        ident, code, parent = (_parse_int(tokens[i]) for i in (0, 1, 6))
        for label, value, token in (("id", ident, tokens[0]), ("type", code, tokens[1]),
                                    ("parent", parent, tokens[6])):
            if value is None:
                bad.append(f"{label} {token!r} is not an integer")
        coords = []
        for label, token in zip(("x", "y", "z", "radius"), tokens[2:6]):
            try:
                value = float(token)
            except ValueError:
                bad.append(f"{label} {token!r} is not a number")
                continue
            if not math.isfinite(value):
                bad.append(f"{label} {token!r} is not a finite number")
            coords.append(value)
        if bad:
            problems.append((n_lines, "; ".join(bad) + f" (fields: {_SWC_FIELDS}); "
                                                      "fix the value"))
            continue
        radius = coords[3]
        if radius <= 0:
            kind = "zero" if radius == 0 else "negative"
            problems.append((n_lines, f"{kind} radius {tokens[5]} um at point {ident}; NEURON needs a "
                                      "positive diameter: put the traced radius there (or a small "
                                      "positive value such as 0.1 um)"))
        elif not MIN_RADIUS_UM <= radius <= MAX_RADIUS_UM:
            problems.append((n_lines, f"radius {tokens[5]} um at point {ident} is outside "
                                      f"{MIN_RADIUS_UM:g}..{MAX_RADIUS_UM:g} um (1 nm to 1 cm), no "
                                      "neurite's radius: give radii in um (is the file in another "
                                      "unit?), or put the traced radius there"))
        far = [(label, token) for label, token, value in zip("xyz", tokens[2:5], coords[:3])
               if abs(value) > MAX_COORDINATE_UM]
        if far:
            problems.append((n_lines, f"{far[0][0]} {far[0][1]} um at point {ident} is more than "
                                      f"{MAX_COORDINATE_UM:g} um (10 m) from the origin, beyond any "
                                      "cell: give coordinates in um (is the file in another unit?)"))
        if ident < 0:
            problems.append((n_lines, f"id {ident} is negative; ids must be integers >= 0"))
        if parent < -1:
            problems.append((n_lines, f"parent {parent} is not valid: use -1 for the root or the id "
                                      "of an existing point"))
        if parent == ident:
            problems.append((n_lines, f"point {ident} is its own parent; give it the id of the "
                                      "point it grows from (or -1 for the root)"))
        if code not in type_map:
            problems.append((n_lines, f"unknown SWC type code {code} at point {ident} (known: "
                                      + ", ".join(f"{c} {n}" for c, n in type_map.items())
                                      + f"); map it, e.g. load(path, type_map={{{code}: 'dend'}})"))
        if ident in first_line_of_id:
            problems.append((n_lines, f"duplicate id {ident} (first defined at line "
                                      f"{first_line_of_id[ident]}); every point needs a unique id"))
            continue
        first_line_of_id[ident] = n_lines
        points.append(_SwcPoint(n_lines, ident, code, tuple(tokens[2:6]), parent))

    if not points and not problems:
        raise MorphologyError(path, [(max(n_lines, 1), "no points found: the file is empty or holds "
                                     f"only comments; an SWC file needs one line per point "
                                     f"({_SWC_FIELDS})")])

    roots = [p for p in points if p.parent == -1]
    if points and not roots:
        problems.append((points[0].line, "no root point (parent -1); the first point of the cell "
                                         "(usually the soma centre) needs parent -1"))
    for extra in roots[1:]:
        problems.append((extra.line, f"a second root (point {extra.id} has parent -1; the first "
                                     f"root is at line {roots[0].line}). NEURON builds one tree per "
                                     "cell: connect this point to its parent, or split the file into "
                                     "one file per tree"))
    for p in points:
        if p.parent >= 0 and p.parent != p.id and p.parent not in first_line_of_id:
            problems.append((p.line, f"parent {p.parent} of point {p.id} is not defined anywhere in "
                                     "the file; fix the parent id or add the missing point"))
    if not problems:
        reached = _tree_order(points)
        if len(reached) < len(points):
            seen = {p.id for p in reached}
            for p in points:
                if p.id not in seen:
                    problems.append((p.line, f"point {p.id} is not connected to the root (its "
                                             "parents form a loop); fix the parent ids"))
    if not problems and not any(type_map[p.type] == "soma" for p in points):
        problems.append((roots[0].line, "no soma point: no point has a type mapped to 'soma' (SWC "
                                        "type 1); add the soma or map its code, e.g. "
                                        "type_map={5: 'soma'}"))
    if not problems:
        problems += _long_sections(points, type_map)
    problems.sort(key=lambda item: item[0])
    if problems:
        raise MorphologyError(path, problems)
    return points


#: NEURON keeps a section's number of 3-D points in 16 bits (signed)
MAX_POINTS_PER_SECTION = 32767


def _long_sections(points: list[_SwcPoint], type_map: Mapping) -> list[tuple[int, str]]:
    """Unbranched runs of more 3-D points than NEURON can hold in one section
    (it silently collapses such a section or crashes in Import3d)."""
    children: dict[int, int] = {}
    for p in points:
        children[p.parent] = children.get(p.parent, 0) + 1
    by_id = {p.id: p for p in points}
    run, start = {}, {}
    out = []
    for p in _tree_order(points):
        parent = by_id.get(p.parent)
        continues = (parent is not None and children.get(parent.id, 0) == 1
                     and type_map[parent.type] == type_map[p.type]
                     and type_map[p.type] != "soma")
        # a new section starts with a copy of its parent point
        run[p.id] = run[parent.id] + 1 if continues else 2
        start[p.id] = start[parent.id] if continues else p.line
        if run[p.id] == MAX_POINTS_PER_SECTION + 1:
            out.append((start[p.id], f"the unbranched run of points starting here has more than "
                                     f"{MAX_POINTS_PER_SECTION} points, the most NEURON can keep "
                                     "in one section; resample it (fewer points) or split it"))
    return out


def _tree_order(points: list[_SwcPoint]) -> list[_SwcPoint]:
    """Points in an order Import3d accepts: every parent before its children.

    If sorting by id already puts parents first (the usual case, and what
    Import3d itself would do), that order is kept, so Import3d splits the
    sections exactly as it would for the original file.  Otherwise a
    depth-first walk from the root (children in id order).
    """
    by_id = sorted(points, key=lambda p: p.id)
    if all(p.parent < p.id for p in by_id):
        return by_id
    children: dict[int, list[_SwcPoint]] = {}
    for p in by_id:
        children.setdefault(p.parent, []).append(p)
    order, stack = [], list(reversed(children.get(-1, [])))
    while stack:
        p = stack.pop()
        order.append(p)
        stack.extend(reversed(children.get(p.id, [])))
    return order


def _normalised_swc(points: list[_SwcPoint]) -> tuple[str, list[int]]:
    """SWC text with ids 1..N (parents first) and the original line of each new line."""
    order = _tree_order(points)
    new_id = {p.id: i for i, p in enumerate(order, start=1)}
    lines, original_lines = [], []
    for p in order:
        parent = -1 if p.parent == -1 else new_id[p.parent]
        lines.append(f"{new_id[p.id]} {p.type} {' '.join(p.fields)} {parent}")
        original_lines.append(p.line)
    return "\n".join(lines) + "\n", original_lines


# --------------------------------------------------------------------------
# ASC: bracket check, then Import3d


def _check_asc_brackets(text: str, path: Path) -> None:
    """Raise MorphologyError for unbalanced parentheses or unclosed strings.

    Import3d_Neurolucida3 loops forever on a file that ends inside an open
    parenthesis (e.g. a truncated file), so this runs before it.
    """
    open_lines: list[int] = []
    content = False
    for n, raw in enumerate(text.splitlines(), start=1):
        in_string = False
        for ch in raw:
            if in_string:
                in_string = ch != '"'
                continue
            if ch == ";":
                break
            if ch == '"':
                in_string = True
            elif ch == "(":
                open_lines.append(n)
            elif ch == ")":
                if not open_lines:
                    raise MorphologyError(path, [(n, "')' without a matching '('; remove it or "
                                                     "restore the missing '('")])
                open_lines.pop()
            if not ch.isspace():
                content = True
        if in_string:
            raise MorphologyError(path, [(n, "string not closed on its line (missing '\"'); add the "
                                             "closing quote")])
    if not content:
        raise MorphologyError(path, [(1, "no data: the file is empty or holds only comments")])
    if open_lines:
        raise MorphologyError(path, [(open_lines[-1], f"'(' opened here is never closed "
                                                      f"({len(open_lines)} unclosed at the end of the "
                                                      "file); the file looks truncated: export it "
                                                      "again or add the missing ')'")])


# --------------------------------------------------------------------------
# NEURON and Import3d


def _neuron_h():
    """NEURON's ``h`` with Import3d loaded (its start-up chatter swallowed)."""
    from neuron import h

    with _captured():
        if not h.load_file("import3d.hoc"):
            raise RuntimeError("NEURON could not load import3d.hoc; the NEURON installation "
                               "looks incomplete (pip install --force-reinstall 'neuron>=9,<10')")
    return h


@contextlib.contextmanager
def _captured():
    """Capture what hoc prints (NEURON routes it through Python's sys.stdout/stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def _hoc_failure(path, output: str, exc: BaseException | None) -> MorphologyError:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    detail = "; ".join(lines[-6:]) or (str(exc) if exc else "no message")
    return MorphologyError(path, [(None, f"NEURON's Import3d failed: {detail}. Check the file, or "
                                         "convert it to SWC and load that")])


def _read_asc(h, path: Path):
    """Run Import3d_Neurolucida3 on ``path``; return the reader or raise MorphologyError."""
    reader = h.Import3d_Neurolucida3()
    exc = None
    with _captured() as (out, err):
        try:
            reader.input(str(path))
        except RuntimeError as error:  # hoc_execerror
            exc = error
    output = out.getvalue() + err.getvalue()
    match = re.search(r"parse error.*?^line (\d+): ?(.*)$", output, re.S | re.M)
    if match:
        raise MorphologyError(path, [(int(match.group(1)),
                                      f"Neurolucida parse error at {match.group(2).strip()!r}; "
                                      "fix the syntax there (Import3d_Neurolucida3)")])
    match = re.search(r"Lexical error.*?line (\d+)", output, re.S)
    if match:
        raise MorphologyError(path, [(int(match.group(1)), "Neurolucida lexical error (unclosed "
                                                           "string?); fix the line")])
    if exc is not None or reader.err and "problems" not in output:
        raise _hoc_failure(path, output, exc)
    if "problems" in output:
        notes = [ln.strip() for ln in output.split("problems", 1)[1].splitlines() if ln.strip()]
        warnings.warn(f"{path}: Import3d: " + " ".join(notes), stacklevel=3)
    return reader


def _asc_summary(reader, path: Path, type_map: Mapping) -> dict:
    """Point counts from an ASC reader; checks the type codes and the soma."""
    problems = []
    by_type = {t: 0 for t in SECTION_TYPES}
    soma_points = 0
    n_points = int(reader.x.size())
    for sec in reader.sections:
        code = int(sec.type)
        npts = int(sec.raw.ncol())
        line = int(reader.iline.x[int(sec.id)]) if int(sec.id) < reader.iline.size() else None
        if code not in type_map:
            problems.append((line, f"tree starting here has type code {code} (no (Axon), (Dendrite) "
                                   "or (Apical) marker); add the marker or map the code, e.g. "
                                   f"load(path, type_map={{{code}: 'dend'}})"))
            continue
        by_type[type_map[code]] += npts
        if int(sec.iscontour_):
            soma_points += npts
    if not any(int(sec.iscontour_) for sec in reader.sections):
        problems.append((None, "no soma: the file has no (CellBody) contour; add the soma outline"))
    if problems:
        raise MorphologyError(path, problems)
    return {"n_points": max(n_points, 1), "soma_points": soma_points, "points_by_type": by_type}


# --------------------------------------------------------------------------
# public API


def load(path, type_map=None) -> Morphology:
    """Check a morphology file and return its :class:`Morphology` record.

    ``path``: an ``.swc`` or ``.asc`` file.  ``type_map``: extra type code ->
    section type (``"soma"``, ``"axon"``, ``"dend"``, ``"apic"``) entries, merged
    over the defaults 1 soma, 2 axon, 3 dend, 4 apic.  SWC files are checked in
    pure Python (NEURON is not touched); ASC files are parsed by NEURON's
    Import3d.  Raises :class:`MorphologyError` naming the file, line and fix.
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise MorphologyError(None, [(None, f"a morphology is the path of an .swc or .asc file, "
                                            f"got {type(path).__name__} {path!r}")])
    path = Path(path).expanduser().resolve()
    suffix = path.suffix.lower()
    if not suffix and not path.exists():
        close = difflib.get_close_matches(path.name, BUNDLED, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MorphologyError(path, [(None, "no such file; give an .swc or .asc file, or the "
                                            "name of a cell shipped with ionhomeo (Cell(name), "
                                            f"bundled(name)): {', '.join(BUNDLED)}{hint}")])
    if suffix not in FORMATS:
        raise MorphologyError(path, [(None, f"unsupported file type {path.suffix!r}: ionhomeo reads "
                                            "SWC (.swc) and Neurolucida ASC (.asc); convert other "
                                            "formats (NeuroML2, .h5, .nml) to SWC first")])
    if path.is_dir():
        raise MorphologyError(path, [(None, f"a directory, not an {suffix[1:].upper()} file; "
                                            "give the morphology file inside it")])
    if not path.is_file():
        raise MorphologyError(path, [(None, "no such file; check the path")])
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        # text formats never hold a NUL byte; images, archives and HDF5 do
        raise MorphologyError(path, [(None, f"not an {suffix[1:].upper()} file: it holds binary "
                                            "data (an image, archive or HDF5 file renamed?); "
                                            "give the text morphology file")])
    full_map = _check_type_map(type_map, merge=True)
    fmt = FORMATS[suffix]
    text = _decode(data, path)
    if fmt == "swc":
        points = _parse_swc(text, path, full_map)
        by_type = {t: 0 for t in SECTION_TYPES}
        for p in points:
            by_type[full_map[p.type]] += 1
        summary = {"n_points": len(points), "soma_points": by_type["soma"],
                   "points_by_type": by_type}
    else:
        _check_asc_brackets(text, path)
        h = _neuron_h()
        summary = _asc_summary(_read_asc(h, path), path, full_map)
    return Morphology(path=path, sha256=hashlib.sha256(data).hexdigest(), format=fmt,
                      type_map=full_map, **summary)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        try:
            return data.decode("latin-1")  # Neurolucida files from Windows tools
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            raise MorphologyError(path, [(line, "not a text file")]) from None


def _import3d_name(code: int) -> str:
    """The owner attribute Import3d uses for a type code (its type2name)."""
    fixed = {1: "soma", 2: "axon", 3: "dend", 4: "apic"}
    if code in fixed:
        return fixed[code]
    return f"minus_{-code}" if code < 0 else f"dend_{code}"


def _check_owner(owner) -> None:
    if owner is None:
        raise TypeError("instantiate needs an owner object to hold the sections, e.g. "
                        "class Cell: pass; instantiate(morph, Cell())")
    from neuron import hoc

    if isinstance(owner, hoc.HocObject):
        raise TypeError("owner must be a Python object, not a hoc object")
    try:
        weakref.ref(owner)
        owner._ionhomeo_probe = None
        del owner._ionhomeo_probe
    except (TypeError, AttributeError) as error:
        raise TypeError(f"owner {type(owner).__name__} must accept new attributes and weak "
                        f"references (NEURON's Section(cell=owner) keeps a weak reference): "
                        f"use an instance of a plain class ({error})") from None
    for attr in ("all", *SECTION_TYPES):
        static = inspect.getattr_static(type(owner), attr, None)
        if hasattr(static, "__set__") or hasattr(static, "__delete__"):
            raise TypeError(f"owner class {type(owner).__name__} defines {attr!r} as a property or "
                            f"descriptor, but Import3d sets owner.{attr} to a list of sections: "
                            "rename it or pass a separate plain object as owner")
    taken = [a for a in ("all", *SECTION_TYPES) if getattr(owner, a, None)]
    taken += [a for a in vars(owner) if re.fullmatch(r"dend_\d+|minus_\d+", a)]
    if taken:
        raise MorphologyError(None, [(None, f"the owner already holds sections ({', '.join(taken)}); "
                                            "Import3d would replace them: use a new owner object "
                                            "per cell")])


def instantiate(morph: Morphology, owner) -> dict[str, list]:
    """Build the cell in NEURON with Import3d, inside the Python object ``owner``.

    Returns ``{"soma": [...], "axon": [...], "dend": [...], "apic": [...]}``
    (lists of sections, in Import3d's order; empty for absent types).  The
    owner also gets Import3d's attributes (``owner.all``, ``owner.soma`` ...).
    The sections live as long as the owner or the returned lists do.
    """
    if not isinstance(morph, Morphology):
        raise TypeError(f"instantiate needs a Morphology from morphology.load(), got {morph!r}")
    _check_owner(owner)
    path = morph.path
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MorphologyError(path, [(None, f"cannot read the file any more ({error}); load it again")])
    if hashlib.sha256(data).hexdigest() != morph.sha256:
        raise MorphologyError(path, [(None, "the file changed since morphology.load(); "
                                            "call load() again")])
    h = _neuron_h()
    text = _decode(data, path)
    before = set(vars(owner))
    try:
        if morph.format == "swc":
            points = _parse_swc(text, path, morph.type_map)
            codes = sorted({p.type for p in points})
            normalised, original_lines = _normalised_swc(points)
            with tempfile.TemporaryDirectory(prefix="ionhomeo-swc-") as tmp:
                tmp_file = Path(tmp) / "normalised.swc"
                tmp_file.write_text(normalised)
                reader = h.Import3d_SWC_read()
                _run_import3d(h, reader, owner, path, tmp_file, original_lines)
        else:
            _check_asc_brackets(text, path)
            reader = _read_asc(h, path)
            codes = sorted({int(sec.type) for sec in reader.sections})
            _run_import3d(h, reader, owner, path, None, None)
    except BaseException:
        for attr in set(vars(owner)) - before:  # drop half-built sections
            delattr(owner, attr)
        raise
    result = {t: [] for t in SECTION_TYPES}
    for code in codes:
        result[morph.type_map[code]].extend(getattr(owner, _import3d_name(code), []))
    bad = [f"{sec.name()} ({'n3d ' + str(int(sec.n3d())) if sec.n3d() < 0 else 'length 0'})"
           for secs in result.values() for sec in secs if sec.n3d() < 0 or sec.L < 1e-6]
    if bad:
        for attr in set(vars(owner)) - before:
            delattr(owner, attr)
        raise MorphologyError(path, [(None, f"section(s) of zero length or with more 3-D points "
                                            f"than NEURON keeps: {', '.join(bad[:5])}"
                                            f"{' and more' if len(bad) > 5 else ''}; remove "
                                            "repeated points or resample the file")])
    return result


def _run_import3d(h, reader, owner, path, swc_file, original_lines) -> None:
    exc = None
    with _captured() as (out, err):
        try:
            if swc_file is not None:
                reader.input(str(swc_file))
            h.Import3d_GUI(reader, 0).instantiate(owner)
        except RuntimeError as error:
            exc = error
    output = out.getvalue() + err.getvalue()
    if original_lines is not None:  # report lines of the user's file, not of the copy
        def _orig(match):
            k = int(match.group(1))
            return f"line {original_lines[k - 1]}" if 1 <= k <= len(original_lines) else match.group(0)
        output = re.sub(r"line (\d+)", _orig, output)
    if exc is not None or re.search(r"^\s*error\b", output, re.M | re.I):
        raise _hoc_failure(path, output, exc)
    removed = [ln.strip() for ln in output.splitlines() if "removed" in ln or "reattached" in ln]
    if removed:
        warnings.warn(f"{path}: Import3d: " + "; ".join(removed), stacklevel=3)


def lambda_f_um(sec, frequency_hz: float = 100.0) -> float:
    """AC length constant of ``sec`` at ``frequency_hz`` (um), as NEURON's d_lambda rule uses it.

    For a cylinder of diameter d (um), axial resistivity Ra (ohm cm) and
    specific capacitance cm (uF/cm2), at a frequency f high enough that the
    membrane current is mostly capacitive:

        lambda_f = 0.5 * sqrt(d / (pi f Ra cm))          (consistent units)
                 = 1e5 * sqrt(d / (4 pi f Ra cm))  um    (d in um, cm in uF/cm2)

    (the 1e5 collects 1e-4 cm/um for d, 1e-6 F/uF for cm and 1e4 um/cm for the
    result).  A tapered section (several 3-D points) is treated as NEURON's
    fixnseg does: its length in units of lambda_f is the sum over the 3-D
    pieces of (piece length / lambda_f at the piece's mean diameter), and the
    section's lambda_f is L divided by that (Hines & Carnevale, The NEURON
    Book, 2006, ch. 5, "The d_lambda rule").  ``cm`` is the section's largest
    segment value (the shorter lambda, hence the safer nseg).
    """
    if isinstance(frequency_hz, bool) or not isinstance(frequency_hz, (int, float)) \
            or not 0 < frequency_hz < math.inf:
        raise MorphologyError(None, [(None, f"frequency_hz must be a finite number > 0 Hz (100 Hz "
                                            f"is NEURON's d_lambda default), got {frequency_hz!r}")])
    ra = sec.Ra
    cm = max(seg.cm for seg in sec)
    if not (ra > 0 and cm > 0):
        raise MorphologyError(None, [(None, f"section {sec.name()}: Ra ({ra} ohm cm) and cm ({cm} "
                                            "uF/cm2) must be > 0 for the d_lambda rule")])
    scale = 1e5 / math.sqrt(4 * math.pi * frequency_hz * ra * cm)  # lambda_f = scale * sqrt(d)
    n3d = int(sec.n3d())
    if n3d < 2:
        return scale * math.sqrt(sec.diam)
    electrotonic = 0.0  # section length in units of lambda_f
    for i in range(1, n3d):
        piece = sec.arc3d(i) - sec.arc3d(i - 1)
        mean_d = 0.5 * (sec.diam3d(i) + sec.diam3d(i - 1))
        if piece > 0:
            if mean_d <= 0:
                raise MorphologyError(None, [(None, f"section {sec.name()}: 3-D point {i} has "
                                                    "diameter <= 0 um; give it a positive "
                                                    "diameter (pt3dchange)")])
            electrotonic += piece / (scale * math.sqrt(mean_d))
    if electrotonic == 0:
        return scale * math.sqrt(sec.diam)
    return sec.L / electrotonic


def discretize(sections, d_lambda: float = 0.1, frequency_hz: float = 100.0) -> int:
    """Set each section's nseg by the d_lambda rule; return the total nseg.

    nseg is the smallest odd number of segments no longer than ``d_lambda``
    times the AC length constant :func:`lambda_f_um` at ``frequency_hz``
    (default 0.1 lambda at 100 Hz, NEURON's CellBuilder default):

        nseg = int((L / (d_lambda * lambda_f) + 0.9) / 2) * 2 + 1

    (odd so that a node sits at the section's middle; the 0.9 tolerates
    L / (d_lambda lambda_f) up to 0.1 above an odd number before adding two
    segments; Hines & Carnevale, The NEURON Book, 2006, ch. 5).  ``sections``
    is an iterable of sections or the dict from :func:`instantiate`.  Call it
    after setting Ra and cm and before inserting position-dependent mechanism
    parameters (changing nseg re-samples them).
    """
    if isinstance(d_lambda, bool) or not isinstance(d_lambda, (int, float)) \
            or not 0 < d_lambda < math.inf:
        raise MorphologyError(None, [(None, f"d_lambda must be a finite number > 0 (fraction of "
                                            f"lambda_f; 0.1 is NEURON's default), got {d_lambda!r}")])
    if isinstance(sections, Mapping):
        sections = [sec for secs in sections.values() for sec in secs]
    sections = _as_sections(sections)
    wanted = []
    for sec in sections:  # all checked before any nseg changes
        per_lambda = sec.L / (d_lambda * lambda_f_um(sec, frequency_hz))
        nseg = int((per_lambda + 0.9) / 2) * 2 + 1 if math.isfinite(per_lambda) else math.inf
        if nseg > MAX_NSEG:
            raise MorphologyError(None, [(None, (
                f"section {sec.name()} (L {sec.L:.6g} um, diam {sec.diam:.6g} um) would need "
                f"{per_lambda:.3g} segments by the d_lambda rule (d_lambda {d_lambda:g}, "
                f"{frequency_hz:g} Hz), more than the {MAX_NSEG} NEURON allows in a section: use "
                "a larger d_lambda (0.1 is NEURON's default), or check the section's length "
                "and diameter"))])
        wanted.append(nseg)
    for sec, nseg in zip(sections, wanted):
        sec.nseg = nseg
    return sum(wanted)


def _as_sections(sections: Iterable) -> list:
    from neuron import nrn

    result = list(sections)
    for sec in result:
        if not isinstance(sec, nrn.Section):
            raise TypeError(f"discretize needs NEURON sections, got {sec!r}")
    return result


def bundled_dir() -> Path:
    """The folder of the bundled cells (``ionhomeo/morphologies`` in a wheel,
    ``<repo>/morphologies`` in a source checkout)."""
    package = Path(__file__).resolve().parent
    candidates = (package / "morphologies", package.parent / "morphologies")
    for candidate in candidates:
        if all((candidate / f"{name}.swc").is_file() for name in BUNDLED):
            return candidate
    raise FileNotFoundError("cannot find ionhomeo's bundled morphologies in "
                            + " or ".join(str(c) for c in candidates)
                            + "; the installation looks incomplete: reinstall ionhomeo")


def bundled(name: str) -> Path:
    """Path of a cell shipped with ionhomeo: one of :data:`BUNDLED`.

    >>> morph = load(bundled("pyramidal"))   # doctest: +SKIP
    """
    if name not in BUNDLED:
        close = difflib.get_close_matches(str(name), BUNDLED, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise MorphologyError(None, [(None, f"no bundled morphology {name!r}: choose one of "
                                            f"{BUNDLED}{hint}")])
    return bundled_dir() / f"{name}.swc"
