"""Units of ionhomeo: one table for recipes, protocol options and the command line.

A value is written ``"number unit"`` (``"500 ms"``, ``"0.1 mM"``, ``"2 Hz"``,
``"0.5 A/m2"``); :func:`convert` turns it into a number in the unit wanted
when both are of the same kind, scaling exactly in decimal (``"0.1 mM"`` in
uM is 100, not 100.00000000000001). Spellings: ``u``, ``µ`` or ``μ`` for
micro; ``cm2``, ``cm^2``, ``cm²``; a negative power for a division (``s-1``,
``s⁻¹`` and ``s^-1`` are ``1/s``, ``A m-2`` is ``A/m2``); spaces inside a
unit are ignored (``ohm cm``); and a unit in another case where only one unit
has that spelling (``hz`` is ``Hz``; ``mm`` stays a length, ``MM`` is refused
as either ``mm`` or ``mM``).

Every factor is written out in the table below, to the kind's first unit
(for current density A/m2: 1 mA/cm2 = 1e-3 A / 1e-4 m2 = 10 A/m2, so 0.5
A/m2 = 0.05 mA/cm2).
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["UNITS", "UnitError", "normalise", "kind", "parse", "convert", "same_kind"]


class UnitError(ValueError):
    """A value or unit that cannot be read or converted (names both and the accepted units)."""


def _table() -> dict:
    units = {}

    def add(kind, **factors):
        for name, factor in factors.items():
            units[name] = (kind, Decimal(factor))

    def per(**factors):  # "1/x" and "/x" alike
        return {f"{one}{name}": f for name, f in factors.items() for one in ("1/", "/")}

    add("time", s="1", ms="1e-3", us="1e-6", min="60", h="3600")
    add("rate", Hz="1", kHz="1e3", per_s="1",
        **per(s="1", ms="1e3", us="1e6", min=str(Decimal(1) / 60), h=str(Decimal(1) / 3600)))
    add("length", m="1", mm="1e-3", um="1e-6", nm="1e-9")
    add("concentration", M="1", mM="1e-3", uM="1e-6", nM="1e-9", **{"mol/m3": "1e-3"})
    add("volume", m3="1", um3="1e-18", fL="1e-18", pL="1e-15", nL="1e-12", uL="1e-9")
    # a flux of concentration: 1 mM/ms = 1e-3 M / 1e-3 s = 1 M/s
    add("concentration rate", **{"M/s": "1", "mM/s": "1e-3", "mM/ms": "1", "uM/s": "1e-6",
                                 "uM/ms": "1e-3", "nM/s": "1e-9", "nM/ms": "1e-6"})
    # second-order rate constants: 1 /mM-ms = 1 / (1e-3 M * 1e-3 s) = 1e6 /M-s
    add("second-order rate", **per(**{"M-s": "1", "mM-s": "1e3", "mM-ms": "1e6", "uM-s": "1e6",
                                      "uM-ms": "1e9"}))
    # permeability (GHK): 1 cm/s = 1e-2 m/s
    add("permeability", **{"m/s": "1", "cm/s": "1e-2", "um/s": "1e-6", "nm/s": "1e-9"})
    # diffusion coefficient: 1 um2/ms = 1e-12 m2 / 1e-3 s = 1e-9 m2/s
    add("diffusivity", **{"m2/s": "1", "cm2/s": "1e-4", "um2/s": "1e-12", "um2/ms": "1e-9"})
    add("current", A="1", mA="1e-3", uA="1e-6", nA="1e-9", pA="1e-12")
    add("current density", **{"A/m2": "1", "mA/cm2": "10", "uA/cm2": "1e-2", "pA/um2": "1"})
    add("potential", V="1", mV="1e-3")
    add("conductance", S="1", mS="1e-3", uS="1e-6", nS="1e-9")
    add("conductance density", **{"S/m2": "1", "S/cm2": "1e4", "mS/cm2": "10",
                                  "uS/cm2": "1e-2", "pS/um2": "1"})
    add("resistance", ohm="1", kohm="1e3", Mohm="1e6", MOhm="1e6", Gohm="1e9")
    add("resistivity", ohmcm="1", **{"ohm*cm": "1", "kohmcm": "1e3", "ohmm": "100"})
    add("capacitance density", **{"F/m2": "1", "uF/cm2": "1e-2"})
    add("energy", **{"kJ/mol": "1", "kJ/mole": "1", "kj": "1", "J/mol": "1e-3",
                     "J/mole": "1e-3"})
    add("temperature", degC="1")
    add("number", **{"1": "1", "%": "1e-2"})
    return units


#: unit -> (kind, factor to the kind's reference unit), spellings as :func:`normalise` gives
UNITS = _table()

_VALUE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$")


#: superscripts as plain characters (cm², s⁻¹)
_SUPERSCRIPTS = str.maketrans({"\u00b2": "2", "\u00b3": "3", "\u00b9": "1", "\u207b": "-",
                               "\u2212": "-", "\u00b7": " "})
#: a factor with a negative power: s-1, m-2
_NEGATIVE_POWER = re.compile(r"^([A-Za-z]+)-([1-9])$")


def normalise(unit: str) -> str:
    """``unit`` in the table's spelling: micro as u, no ^, superscripts as
    digits, a negative power as a division (``A m-2``: ``A/m2``, ``s-1``:
    ``1/s``), no spaces; then, if the table does not know it, the one unit
    of the table spelled so in another case (``hz``: ``Hz``)."""
    text = (unit or "").replace("\u00b5", "u").replace("\u03bc", "u").translate(_SUPERSCRIPTS) \
        .replace("^", "")
    parts = text.split()
    if parts:
        power = _NEGATIVE_POWER.match(parts[-1])
        if power and "/" not in text:
            base, n = power.groups()
            text = f"{''.join(parts[:-1]) or '1'}/{base}{'' if n == '1' else n}"
    text = text.replace(" ", "")
    if text in UNITS:
        return text
    same = [u for u in UNITS if u.lower() == text.lower()]
    if len(same) != 1:
        return text
    # a letter whose case is its meaning (m milli, M mega; p pico, P peta;
    # s second, S siemens; ...) is never folded: MV is not mV
    if any(a != b and a.lower() in _CASE_MEANS for a, b in zip(text, same[0])):
        return text
    return same[0]


#: letters whose upper and lower case are different prefixes or units
_CASE_MEANS = frozenset("mpngktsa")


def kind(unit: str):
    """The kind of ``unit`` (``"time"``, ``"concentration"``, ...), or None if unknown."""
    entry = UNITS.get(normalise(unit))
    return entry[0] if entry else None


def same_kind(unit: str) -> list:
    """The units that convert to ``unit`` (itself alone if it is not in the table)."""
    k = kind(unit)
    return [u for u, (kk, _) in UNITS.items() if kk == k] if k else [normalise(unit)]


def parse(text: str):
    """``"number unit"`` as (number text, normalised unit or ``""``); UnitError if it is not one."""
    match = _VALUE.match(text) if isinstance(text, str) else None
    if match is None:
        raise UnitError(f"{text!r} is not a number, optionally followed by a unit")
    return match.group(1), normalise(match.group(2) or "")


def convert(number, unit: str, target: str) -> float:
    """``number`` (text or number) in ``unit`` as a float in ``target``.

    Exact decimal scaling; the same unit (as spelled after :func:`normalise`)
    returns the number unchanged. UnitError when the two are not of one kind.
    """
    unit, target = normalise(unit), normalise(target)
    value = Decimal(number) if isinstance(number, str) else Decimal(repr(float(number)))
    if unit == target:
        return float(value)
    if unit not in UNITS or target not in UNITS or UNITS[unit][0] != UNITS[target][0]:
        raise UnitError(f"unit {unit!r} does not convert to {target!r}; accepted: "
                        f"{', '.join(same_kind(target))}")
    return float(value * UNITS[unit][1] / UNITS[target][1])
