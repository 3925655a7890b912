"""Simple geometries for a :class:`ionhomeo.cell.Cell`: a cylinder, a soma with
a process, a bouton on an axon.

>>> from ionhomeo.geometry import cylinder
>>> from ionhomeo.cell import Cell
>>> cell = Cell(cylinder(20, 20), "mature")     # doctest: +SKIP

A :class:`Geometry` is a tree of cylinders, each with its section type
(``soma``, ``dend``, ``apic`` or ``axon``, so that recipes place mechanisms by
region exactly as on a reconstruction) and its number of segments. A cell
built from one is not discretised by the d_lambda rule: the pieces keep the
``nseg`` given (1 by default: an isopotential compartment, what the analytic
checks of the protocols assume).

Lengths and diameters are in um; a piece is attached by its 0 end to the
``parent_x`` end of its parent (1 by default).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["Geometry", "Piece", "GeometryError", "cylinder", "soma_with_process",
           "bouton_on_axon"]

#: section types a piece may have (those of SWC files)
KINDS = ("soma", "dend", "apic", "axon")


class GeometryError(ValueError):
    """A geometry that cannot be built (names the piece and the fix)."""


@dataclasses.dataclass(frozen=True)
class Piece:
    """One cylinder of a :class:`Geometry` (um)."""

    name: str
    kind: str
    length_um: float
    diam_um: float
    parent: str | None = None
    parent_x: float = 1.0
    nseg: int = 1

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            raise GeometryError(f"piece name {self.name!r} must be an identifier (letters, "
                                "digits, _), such as 'soma' or 'bouton'")
        if self.kind not in KINDS:
            raise GeometryError(f"piece {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        for label in ("length_um", "diam_um"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value < 1e7:
                raise GeometryError(f"piece {self.name!r}: {label} must be a number > 0 and "
                                    f"< 1e7 um, got {value!r}")
            object.__setattr__(self, label, float(value))
        if isinstance(self.nseg, bool) or not isinstance(self.nseg, int) \
                or not 1 <= self.nseg <= 32767:
            raise GeometryError(f"piece {self.name!r}: nseg must be a whole number from 1 to "
                                f"32767, got {self.nseg!r}")
        if not (isinstance(self.parent_x, (int, float)) and 0 <= self.parent_x <= 1):
            raise GeometryError(f"piece {self.name!r}: parent_x must be in [0, 1], "
                                f"got {self.parent_x!r}")


@dataclasses.dataclass(frozen=True)
class Geometry:
    """A tree of cylinders; the first piece is the root and must be a soma."""

    name: str
    pieces: tuple

    def __post_init__(self):
        pieces = tuple(self.pieces)
        object.__setattr__(self, "pieces", pieces)
        if not pieces:
            raise GeometryError(f"geometry {self.name!r} has no pieces")
        if pieces[0].kind != "soma" or pieces[0].parent is not None:
            raise GeometryError(f"geometry {self.name!r}: the first piece must be the soma, "
                                "with no parent")
        seen = set()
        for piece in pieces:
            if piece.name in seen:
                raise GeometryError(f"geometry {self.name!r}: two pieces named {piece.name!r}")
            if piece is not pieces[0] and piece.parent not in seen:
                raise GeometryError(f"geometry {self.name!r}: piece {piece.name!r} needs a "
                                    f"parent listed before it, got {piece.parent!r}")
            seen.add(piece.name)

    @property
    def nseg(self) -> int:
        return sum(p.nseg for p in self.pieces)

    def area_um2(self) -> float:
        """Lateral membrane area of the cylinders (um2), the ends not counted, as NEURON."""
        return sum(math.pi * p.diam_um * p.length_um for p in self.pieces)

    def to_dict(self) -> dict:
        """A JSON-able record (the provenance of a cell built from it)."""
        return {"geometry": self.name,
                "pieces": [dataclasses.asdict(p) for p in self.pieces]}


def cylinder(length_um: float, diam_um: float, *, kind: str = "soma", nseg: int = 1,
             name: str = "cylinder") -> Geometry:
    """One cylinder (a soma by default, so that soma rules of a recipe place its mechanisms)."""
    if kind != "soma":
        raise GeometryError("a one-piece geometry is a soma (recipes and the steady state "
                            "start from the soma); give kind='soma'")
    return Geometry(name, (Piece("soma", "soma", length_um, diam_um, nseg=nseg),))


def soma_with_process(soma_um: float, length_um: float, diam_um: float, *,
                      kind: str = "dend", nseg: int = 1, name: str = "soma_with_process") -> Geometry:
    """A soma (a cylinder as long as wide) with one process of ``kind``."""
    return Geometry(name, (Piece("soma", "soma", soma_um, soma_um),
                           Piece("process", kind, length_um, diam_um, parent="soma", nseg=nseg)))


def bouton_on_axon(soma_um: float, axon_length_um: float, axon_diam_um: float,
                   bouton_um: float, *, axon_nseg: int = 1,
                   name: str = "bouton_on_axon") -> Geometry:
    """A soma, an axon and a bouton (a cylinder as long as wide) at its end.

    The bouton is an axonal leaf of one segment, so the regions ``bouton`` and
    ``terminal`` select it (the last segment of every axonal leaf).
    """
    return Geometry(name, (Piece("soma", "soma", soma_um, soma_um),
                           Piece("axon", "axon", axon_length_um, axon_diam_um, parent="soma",
                                 nseg=axon_nseg),
                           Piece("bouton", "axon", bouton_um, bouton_um, parent="axon")))


def instantiate(geometry: Geometry, owner) -> dict:
    """Build the pieces in NEURON, named ``<owner>.<piece>``; returns sections by type."""
    from neuron import h

    if not isinstance(geometry, Geometry):
        raise TypeError(f"instantiate needs a Geometry, got {geometry!r}")
    by_name, by_type = {}, {kind: [] for kind in KINDS}
    for piece in geometry.pieces:
        sec = h.Section(name=piece.name, cell=owner)
        sec.L, sec.diam, sec.nseg = piece.length_um, piece.diam_um, piece.nseg
        if piece.parent is not None:
            sec.connect(by_name[piece.parent](piece.parent_x), 0)
        by_name[piece.name] = sec
        by_type[piece.kind].append(sec)
    owner.pieces = by_name
    return by_type
