"""Recipes: which mechanisms go where in a cell, with which parameters.

A recipe is an ordered list of rules, each "in this region, insert this
mechanism with these parameters", plus the GLOBAL parameters of mechanisms
and optionally the temperature. It is checked against the mechanism
catalogue (:mod:`ionhomeo.mechanisms`, read from the mod files) when it is
created, so a typo fails at once with a message that names the rule, and
round-trips through TOML so every result can record what produced it.

TOML layout::

    name = "example"
    description = "KCC2 everywhere, stronger Ca buffering in boutons"
    sources = ["Payne 1997, Am J Physiol 273:C1516"]
    celsius = 37.0                      # optional (degC)

    [globals.cadyn]                     # optional: GLOBAL parameters
    D = 0.22

    [[passive]]                         # optional: cable properties
    region = "all"
    Ra = 150.0                          # axial resistivity, ohm cm
    cm = 1.0                            # specific capacitance, uF/cm2

    [[rules]]
    region = "all"
    mechanism = "kcc2"
    params = { imax = "50 uA/cm2" }     # optional; numbers or "value unit"
    note = "why this value"             # optional

    [[rules]]
    region = "bouton"
    mechanism = "cadyn"
    optional = true                     # cells without an axon have no boutons
    params = { kappab = 250.0 }

Values are numbers in the units of the mod file (``ionhomeo list`` shows
them) or strings ``"value unit"`` in a unit that converts to them: mM, uM,
nM; mA/cm2, uA/cm2; S/cm2, mS/cm2, uS/cm2; ms, s; /ms, /s; um. A value is
kept as written (``recipe.to_toml()`` writes it back the same way);
``rule.values`` gives it in the mod file's units.

Regions are the expressions of :mod:`ionhomeo.regions` ("soma",
"apical & distance > 100", "bouton", ...).

A rule (or passive rule) whose region selects no segment of the cell it is
applied to is an error (:class:`ionhomeo.regions.EmptyRegionError`, naming
the recipe, the rule, the cell and what it lacks: "... has no apical
dendrites"), raised before anything is placed, unless the rule says
``optional = true``: a rule for boutons or dendrites in a recipe meant also
for cells without them (a soma alone, a cell without an axon). An optional
rule that selects nothing does nothing.

Parameters as functions of position: a RANGE parameter's value may be a
table instead of a number, giving it as a function of a position ``d`` (um)
evaluated at each selected segment's centre::

    [[rules]]
    region = "all"
    mechanism = "kcc2"
    [rules.params]
    imax = { function = "linear", of = "distance", at0 = "0.01 mA/cm2", slope = "0.0001 mA/cm2 per um" }

``of`` (default ``"distance"``) is what ``d`` is:

* ``distance``: path distance from the soma centre to the segment centre
  (NEURON's ``h.distance``, :attr:`ionhomeo.regions.Sites.distance_um`);
* ``trunk_distance``: path distance from the soma centre to the point where
  the segment's path leaves the apical trunk, and on the trunk its own
  distance (``Sites.trunk_distance_um``; apical dendrites only, so an
  oblique takes the value of the trunk point it branches from).

``function`` and its fields (each required unless it has a default):

* ``linear`` (at0, slope): ``at0 + slope * d``;
* ``exponential`` (at0, length_um, direction): ``at0 * exp(-d / length_um)``
  with ``direction = "falling"`` (the default), ``at0 * exp(d / length_um)``
  with ``direction = "rising"``;
* ``sigmoid`` (low, high, midpoint_um, width_um, direction), ``low < high``:
  ``low + (high - low) / (1 + exp(-(d - midpoint_um) / width_um))`` with
  ``direction = "rising"`` (the default: low near the soma, high far from
  it); with ``direction = "falling"`` the exponent's sign is + (high near the
  soma, low far from it). 10 % to 90 % of the change takes 2 ln 9 = 4.39
  ``width_um``;
* ``step`` (before, after, at_um): ``before`` where ``d < at_um``, ``after``
  where ``d >= at_um`` (half-open, as the region ``distance >= at_um``).

Units of the fields: ``at0``, ``low``, ``high``, ``before`` and ``after`` are
values of the parameter, written as its plain values are (a number in the
mod file's unit, or "value unit"); ``slope`` is in the parameter's unit per
um (a number, or "value unit per um", also per mm or nm); ``length_um`` and
``width_um`` are lengths (> 0), ``midpoint_um`` and ``at_um`` positions (>=
0), numbers of um or "value unit" with a length unit.

A function is checked when the recipe is built (function, fields, units,
lengths) and, when applied, at every selected segment: a value outside the
parameter's allowed range, or a segment without the position (``of =
"trunk_distance"`` outside the apical dendrites), is an error naming the
segment and its distance. The TOML writer gives a rule with a function its
params as a ``[rules.params]`` sub-table, one parameter a line, with every
field written out (``of`` and ``direction`` included); the apply summary and
:meth:`ionhomeo.cell.Cell.to_dict` record each function (its TOML form) with
the smallest and largest value it set. GLOBAL parameters and the passive
``Ra`` and ``cm`` take numbers only.

Passive (cable) properties, ``[[passive]]``, in order, later ones
overriding: ``cm`` (uF/cm2, or "0.01 F/m2") is set in the selected
segments; ``Ra`` (ohm cm) belongs to a whole section in NEURON, so it is set
in the sections whose middle segment (the one at x = 0.5) the region
selects. Where no passive rule applies NEURON's defaults hold (Ra 35.4 ohm
cm, cm 1 uF/cm2). :class:`ionhomeo.cell.Cell` applies them before the
d_lambda rule (which depends on both) and again, segment by segment, after it.

Applying (``recipe.apply(cell)``), rule by rule in order:

* the mechanism is inserted into every section that contains at least one
  selected segment (NEURON inserts mechanisms per section);
* the rule's parameters are set in the selected segments only (a function
  of position evaluated at each, and checked at all of them before the rule
  inserts anything);
* so later rules override earlier ones wherever they overlap.

Partially selected sections: when a rule inserts a mechanism into a section
of which it selects only some segments, the other segments of that section
carry the mechanism with its mod-file defaults (a warning says so). To
restrict a mechanism to part of a section, place it on the whole section
first with zero density and then raise the density where wanted::

    [[rules]]
    region = "apical"
    mechanism = "nav"
    params = { gbar = 0.0 }

    [[rules]]
    region = "apical & distance < 300"
    mechanism = "nav"
    params = { gbar = 0.01 }

Apply a recipe after the cell is discretised: changing ``nseg`` afterwards
makes NEURON interpolate the values onto the new segments. GLOBAL
parameters and ``celsius`` are process-wide: they apply to every cell.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import warnings
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as the tomli package
    import tomli as tomllib

from . import mechanisms, regions, units

__all__ = ["RecipeError", "PartialSectionWarning", "Rule", "PassiveRule", "Recipe", "Profile",
           "FUNCTIONS", "POSITIONS", "load",
           "save", "UNIT_FACTORS", "PASSIVE", "to_mod_units"]


class RecipeError(ValueError):
    """A recipe that is not valid: the message names the rule or field and the fix."""


class PartialSectionWarning(UserWarning):
    """A rule inserted a mechanism into sections it selects only partly."""


#: units a value may be written in: family -> {unit: factor to the family's first unit}
#: kind -> {unit: factor}, the units a recipe value may be written in (from
#: :data:`ionhomeo.units.UNITS`, the one table of the package)
UNIT_FACTORS = {}
for _unit, (_kind, _factor) in units.UNITS.items():
    UNIT_FACTORS.setdefault(_kind, {})[_unit] = float(_factor)

_VALUE = units._VALUE
_normalise_unit = units.normalise


def to_mod_units(value, param: "mechanisms.Parameter", where: str = "") -> float:
    """``value`` (a number in ``param.units``, or ``"value unit"``) in ``param.units``.

    Raises RecipeError for a string that is not "number unit" or a unit that
    does not convert to the declared one. The range is not checked here.
    """
    label = where or param.name
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecipeError(f"{label}: expected a number in {param.units} or a string "
                          f"'value unit', got {type(value).__name__} {value!r}")
    if not isinstance(value, str):
        return float(value)
    m = _VALUE.match(value)
    if not m:
        raise RecipeError(f"{label} = {value!r}: write a number in {param.units}, or a string "
                          f"'value unit' such as '5 {param.units}'")
    unit = m.group(2)
    if unit is None:
        raise RecipeError(f"{label} = {value!r}: a string needs a unit; write the number "
                          f"without quotes to use the mod file's unit ({param.units})")
    unit = _normalise_unit(unit)
    try:
        return units.convert(m.group(1), unit, param.units)
    except units.UnitError:
        raise RecipeError(f"{label} = {value!r}: unit {unit!r} does not convert to {param.units}, "
                          f"the unit of {param.name} in its mod file. Accepted: "
                          f"{', '.join(units.same_kind(param.units))}") from None


def _canonical_value(value):
    """The value as stored: a float, or 'number unit' with the number in shortest form."""
    if isinstance(value, str):
        m = _VALUE.match(value)
        return f"{regions._number_text(float(m.group(1)))} {_normalise_unit(m.group(2))}"
    return float(value)


# ----------------------------------------------------------------------------
# parameters as functions of position
# ----------------------------------------------------------------------------

#: what a function of position is a function of: name -> (attribute of
#: :class:`ionhomeo.regions.Sites`, meaning); all in um
POSITIONS = {
    "distance": ("distance_um", "path distance (um) along the cell from the soma centre to the "
                 "segment centre, NEURON's h.distance"),
    "trunk_distance": ("trunk_distance_um", "path distance (um) from the soma centre to the "
                       "point where the segment's path leaves the apical trunk (on the trunk, "
                       "its own distance); defined on apical dendrites only"),
}

#: function -> (formula in the position d (um), its fields in canonical order)
FUNCTIONS = {
    "linear": ("at0 + slope * d", ("at0", "slope")),
    "exponential": ("at0 * exp(-d / length_um) (direction = \"falling\", the default), "
                    "at0 * exp(d / length_um) (direction = \"rising\")",
                    ("at0", "length_um", "direction")),
    "sigmoid": ("low + (high - low) / (1 + exp(-(d - midpoint_um) / width_um)) (direction = "
                "\"rising\", the default: low near the soma, high far from it); with direction "
                "= \"falling\" the exponent's sign is + (high near the soma, low far from it)",
                ("low", "high", "midpoint_um", "width_um", "direction")),
    "step": ("before where d < at_um, after where d >= at_um", ("before", "after", "at_um")),
}

#: field -> (kind, meaning). Kinds: "value" in the parameter's unit (a number,
#: or "value unit"); "slope" in the parameter's unit per um (a number, or
#: "value unit per um", per mm, ...); "length" (> 0) and "position" (>= 0) in
#: um (a number, or "value unit" with a length unit); "direction" a word
_FIELDS = {
    "at0": ("value", "the value at d = 0"),
    "slope": ("slope", "the change per um of d"),
    "length_um": ("length", "the length constant (um, > 0)"),
    "low": ("value", "the lower plateau"),
    "high": ("value", "the upper plateau"),
    "midpoint_um": ("position", "where the value is halfway between low and high (um, >= 0)"),
    "width_um": ("length", "the width of the transition (um, > 0): 10 % to 90 % of it "
                 "takes 4.4 width_um"),
    "before": ("value", "the value where d < at_um"),
    "after": ("value", "the value where d >= at_um"),
    "at_um": ("position", "where the value changes (um, >= 0)"),
    "direction": ("direction", "\"rising\" or \"falling\" with distance"),
}

#: the direction a function has unless its table says otherwise
_DEFAULT_DIRECTION = {"exponential": "falling", "sigmoid": "rising"}

_SLOPE = re.compile(r"^\s*(.*?)\s+per\s+(\S+)\s*$")


def _functions_text() -> str:
    return "; ".join(f"{name} ({', '.join(fields)})" for name, (_, fields) in FUNCTIONS.items())


@dataclasses.dataclass(frozen=True)
class Profile:
    """A parameter's value as a function of position, written in a rule's params
    as an inline table (see the module docstring)::

        imax = { function = "linear", of = "distance", at0 = "0.01 mA/cm2",
                 slope = "0.0001 mA/cm2 per um" }

    ``function`` is one of :data:`FUNCTIONS`, ``of`` one of :data:`POSITIONS`;
    ``written``: the fields as written (canonical: numbers as floats,
    strings "number unit" in shortest form, ``direction`` filled in);
    ``values``: the same as floats (values in ``unit``, the parameter's unit
    in its mod file; slopes in ``unit`` per um; lengths and positions in um).
    Build it with :meth:`parse`; :meth:`evaluate` gives the values at
    positions ``d`` (um), :meth:`at` at the segments of a
    :class:`ionhomeo.regions.Sites`.
    """

    function: str
    of: str
    written: types.MappingProxyType
    unit: str = dataclasses.field(default="", compare=False)
    values: types.MappingProxyType = dataclasses.field(default_factory=dict, compare=False,
                                                       repr=False)

    def __hash__(self):
        return hash((self.function, self.of, tuple(self.written.items())))

    @classmethod
    def parse(cls, spec, param: "mechanisms.Parameter", label: str) -> "Profile":
        """The function ``spec`` (a table, or a Profile to check again) for ``param``;
        RecipeError naming ``label``, the field and the fix otherwise."""
        if isinstance(spec, Profile):
            spec = spec.to_dict()
        spec = dict(spec)
        example = (f"e.g. {param.name} = {{ function = \"linear\", of = \"distance\", "
                   f"at0 = 1.0, slope = 0.01 }}")
        function = spec.pop("function", None)
        if function is None:
            raise RecipeError(f"{label}: a table value is a function of position and needs "
                              f"'function', one of: {_functions_text()} ({example})")
        if not isinstance(function, str) or function not in FUNCTIONS:
            close = difflib.get_close_matches(str(function), list(FUNCTIONS), n=1) or [
                f for f in FUNCTIONS if str(function) and f.startswith(str(function).lower())]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RecipeError(f"{label}: unknown function {function!r}.{hint} Functions "
                              f"(fields): {_functions_text()}")
        label = f"{label} ({function})"
        of = spec.pop("of", "distance")
        if not isinstance(of, str) or of not in POSITIONS:
            close = difflib.get_close_matches(str(of), list(POSITIONS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RecipeError(f"{label}: of = {of!r} is not a position.{hint} Write of = "
                              f"{' or '.join(repr(k) for k in POSITIONS)}")
        allowed = FUNCTIONS[function][1]
        for key in spec:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), list(allowed), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                owners = [f for f, (_, fields) in FUNCTIONS.items() if key in fields]
                elsewhere = f" ({key!r} is a field of {', '.join(owners)})" if owners else ""
                raise RecipeError(f"{label}: unknown field {key!r}{elsewhere}.{hint} Fields "
                                  f"of {function}: function, of, {', '.join(allowed)}")
        if function in _DEFAULT_DIRECTION:
            spec.setdefault("direction", _DEFAULT_DIRECTION[function])
        written, values = {}, {}
        for key in allowed:
            kind, meaning = _FIELDS[key]
            if key not in spec:
                raise RecipeError(f"{label}: field {key!r} is missing: {meaning} "
                                  f"({_field_example(key, kind, param)})")
            written[key], values[key] = _profile_field(spec[key], key, kind, param, label)
        if function == "sigmoid" and not values["low"] < values["high"]:
            raise RecipeError(f"{label}: low = {written['low']!r} must be below high = "
                              f"{written['high']!r}; for a sigmoid that falls with distance "
                              "keep low < high and set direction = \"falling\"")
        return cls(function, of, _frozen({"function": function, "of": of, **written}),
                   param.units, _frozen(values))

    def evaluate(self, d) -> np.ndarray:
        """The values (in :attr:`unit`) at positions ``d`` (um, array or number)."""
        d = np.asarray(d, dtype=float)
        v = self.values
        with np.errstate(over="ignore"):  # an overflowing exp gives inf, refused when applied
            if self.function == "linear":
                return v["at0"] + v["slope"] * d
            if self.function == "exponential":
                sign = -1.0 if v["direction"] == "falling" else 1.0
                return v["at0"] * np.exp(sign * d / v["length_um"])
            if self.function == "sigmoid":
                sign = -1.0 if v["direction"] == "rising" else 1.0
                return v["low"] + (v["high"] - v["low"]) / (
                    1.0 + np.exp(sign * (d - v["midpoint_um"]) / v["width_um"]))
            return np.where(d < v["at_um"], v["before"], v["after"])

    def positions(self, where) -> np.ndarray:
        """The position (um) of every segment of ``where`` (a regions.Sites), NaN where
        it is undefined."""
        attribute = POSITIONS[self.of][0]
        try:
            return np.asarray(getattr(where, attribute), dtype=float)
        except AttributeError:
            raise RecipeError(f"of = {self.of!r} needs the cell's {attribute} "
                              "(ionhomeo.regions.Sites), which this version of ionhomeo does "
                              "not compute; use of = \"distance\"") from None
        except regions.RegionError as e:
            raise RecipeError(f"of = {self.of!r}: {e}") from None

    def at(self, where) -> np.ndarray:
        """The values at every segment of ``where`` (NaN where the position is undefined)."""
        return self.evaluate(self.positions(where))

    def to_dict(self) -> dict:
        """The table as written (``function``, ``of``, then the fields)."""
        return dict(self.written)

    def to_toml(self) -> str:
        """The TOML inline table, e.g. ``{ function = "step", of = "distance", ... }``."""
        return _toml_value(self.to_dict())

    __str__ = to_toml


def _field_example(key: str, kind: str, param) -> str:
    unit = param.units
    return {"value": f"e.g. {key} = 1.0, in {unit}, or {key} = \"1 {unit}\"",
            "slope": f"e.g. {key} = 0.01, in {unit} per um, or {key} = \"0.01 {unit} per um\"",
            "length": f"e.g. {key} = 100.0, in um",
            "position": f"e.g. {key} = 100.0, in um",
            "direction": f"{key} = \"rising\" or \"falling\""}[kind]


def _profile_field(value, key: str, kind: str, param, label: str):
    """(as written, as a float) of one field of a function of position."""
    where = f"{label}: {key}"
    if kind == "direction":
        if value not in ("rising", "falling"):
            raise RecipeError(f"{where} = {value!r}: write \"rising\" or \"falling\" (with "
                              "distance from the soma)")
        return value, value
    if kind == "slope":
        written, number = _slope(value, param, where)
    elif kind == "value":
        number, written = to_mod_units(value, param, where), _canonical_value(value)
    else:
        number, written = _length(value, key, kind, param, where), _canonical_value(value)
    if not math.isfinite(number):
        raise RecipeError(f"{where} = {value!r}: must be a finite number")
    if kind == "length" and not number > 0:
        raise RecipeError(f"{where} = {value!r}: a length must be > 0 um "
                          f"({_field_example(key, kind, param)})")
    if kind == "position" and not number >= 0:
        raise RecipeError(f"{where} = {value!r}: a position along the cell is >= 0 um "
                          f"({_field_example(key, kind, param)})")
    return written, number


def _length(value, key: str, kind: str, param, where: str) -> float:
    """A length or position field in um (a number of um, or "value unit")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecipeError(f"{where}: expected a number of um, got {type(value).__name__} "
                          f"{value!r} ({_field_example(key, kind, param)})")
    if not isinstance(value, str):
        return float(value)
    m = _VALUE.match(value)
    unit = _normalise_unit(m.group(2)) if m else None
    if not m or units.kind(unit or "") != "length":
        raise RecipeError(f"{where} = {value!r}: write a number of um, or a string "
                          f"'value unit' with a length unit ({', '.join(units.same_kind('um'))})")
    return units.convert(m.group(1), unit, "um")


def _slope(value, param, where: str):
    """A slope as (written, float in the parameter's unit per um)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecipeError(f"{where}: expected a number in {param.units} per um or a string "
                          f"'value {param.units} per um', got {type(value).__name__} {value!r}")
    if not isinstance(value, str):
        return float(value), float(value)
    m = _SLOPE.match(value)
    if not m:
        raise RecipeError(f"{where} = {value!r}: write the change per length as "
                          f"'value unit per um', e.g. '0.01 {param.units} per um', or a "
                          f"number in {param.units} per um")
    amount, length_unit = m.group(1), _normalise_unit(m.group(2))
    if units.kind(length_unit) != "length":
        raise RecipeError(f"{where} = {value!r}: 'per {m.group(2)}' is not per length; write "
                          f"per {', per '.join(units.same_kind('um'))}")
    number_only = _VALUE.match(amount)
    if number_only and number_only.group(2) is None:  # "0.5 per um": the parameter's unit
        number, written_amount = float(number_only.group(1)), regions._number_text(
            float(number_only.group(1)))
    else:
        number = to_mod_units(amount, param, where)
        written_amount = _canonical_value(amount)
    per_um = units.convert("1", length_unit, "um")  # um in one length_unit
    return f"{written_amount} per {length_unit}", number / per_um


def _check_params(mechanism: str, params, scope: str, label: str) -> tuple[dict, dict, dict]:
    """Validate {param: value}; return (as written, constants in mod units,
    {param: Profile} for the functions of position)."""
    if not isinstance(params, dict) and not isinstance(params, types.MappingProxyType):
        raise RecipeError(f"{label}: params must be a table {{name = value}}, got {params!r}")
    mech = mechanisms.get(mechanism)
    written, values, functions = {}, {}, {}
    for name, value in params.items():
        if not isinstance(name, str):
            raise RecipeError(f"{label}: parameter names must be strings, got "
                              f"{type(name).__name__} {name!r}. Parameters of {mechanism}: "
                              f"{', '.join(mech.parameters) or '(none)'}")
        try:
            p = mech.parameter(name)
        except mechanisms.ParameterError as e:
            raise RecipeError(f"{label}: {e}") from None
        if p.scope != scope:
            if p.scope == "global":
                raise RecipeError(
                    f"{label}: {mechanism}.{name} is a GLOBAL parameter (one value shared by "
                    f"every segment of every cell), so it cannot be set per region; set it "
                    f"under [globals.{mechanism}] instead")
            raise RecipeError(
                f"{label}: {mechanism}.{name} is a RANGE parameter (per segment); set it in "
                f"a rule's params, not under [globals.{mechanism}]")
        if isinstance(value, (dict, types.MappingProxyType, Profile)):
            if scope == "global":
                raise RecipeError(
                    f"{label}: {mechanism}.{name} is a GLOBAL parameter (one value for every "
                    "segment of every cell), so it cannot vary with position; give a number")
            profile = Profile.parse(value, p, f"{label}: {mechanism}.{name}")
            functions[name] = written[name] = profile
            continue
        converted = to_mod_units(value, p, f"{label}: {mechanism}.{name}")
        try:
            values[name] = p.check(mechanism, converted)
        except mechanisms.ParameterError as e:
            given = f" (given as {value!r})" if isinstance(value, str) else ""
            raise RecipeError(f"{label}: {e}{given}") from None
        written[name] = _canonical_value(value)
    return written, values, functions


def _region(value, label: str) -> regions.Region:
    """``value`` as a Region; RecipeError naming ``label`` otherwise."""
    try:
        return regions.as_region(value)
    except regions.RegionError as e:
        raise RecipeError(f"{label}: bad region: {e}") from None


def _frozen(d: dict) -> types.MappingProxyType:
    return types.MappingProxyType(dict(d))


@dataclasses.dataclass(frozen=True)
class Rule:
    """Insert ``mechanism`` in ``region`` and set ``params`` there.

    ``region``: a :class:`ionhomeo.regions.Region` or its string form.
    ``params``: {name: value}, values numbers in the mod file's units,
    "value unit" strings (kept as written) or functions of position (tables,
    kept as :class:`Profile`). ``values``: the constant ones in the mod
    file's units, as floats; ``functions``: {name: Profile} of the others.
    ``note``: free text (why these values).
    ``optional``: the rule may select nothing on a cell (a cell without the
    region); otherwise that is an error when the recipe is applied.
    """

    region: regions.Region
    mechanism: str
    params: types.MappingProxyType = dataclasses.field(default_factory=dict)
    note: str = ""
    optional: bool = False
    values: types.MappingProxyType = dataclasses.field(init=False, repr=False, compare=False)
    functions: types.MappingProxyType = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        label = f"{self.mechanism!r} in region {str(self.region)!r}"
        object.__setattr__(self, "region", _region(self.region, f"rule for {self.mechanism!r}"))
        if not isinstance(self.mechanism, str):
            raise RecipeError(f"{label}: mechanism must be a name (string)")
        try:
            mech = mechanisms.get(self.mechanism)
        except mechanisms.UnknownMechanismError as e:
            raise RecipeError(f"{label}: {e}") from None
        if mech.kind != "density":
            raise RecipeError(
                f"{label}: {self.mechanism} is a point process (one object at one place, such "
                f"as a synapse); a recipe places density mechanisms only. Create it with "
                f"ionhomeo.mechanisms.add_point(segment, {self.mechanism!r})")
        written, values, functions = _check_params(self.mechanism, self.params, "range", label)
        if not isinstance(self.note, str):
            raise RecipeError(f"{label}: note must be a string")
        _check_optional(self.optional, label)
        object.__setattr__(self, "params", _frozen(written))
        object.__setattr__(self, "values", _frozen(values))
        object.__setattr__(self, "functions", _frozen(functions))

    def __hash__(self):
        return hash((self.region, self.mechanism, tuple(self.params.items()), self.note,
                     self.optional))

    def to_dict(self) -> dict:
        out = {"region": str(self.region), "mechanism": self.mechanism}
        if self.optional:
            out["optional"] = True
        if self.params:
            out["params"] = {k: v.to_dict() if isinstance(v, Profile) else v
                             for k, v in self.params.items()}
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, d, label: str = "rule") -> "Rule":
        if not isinstance(d, dict):
            raise RecipeError(f"{label}: a rule must be a table with region, mechanism and "
                              f"params; got {d!r}")
        _check_keys(d, ("region", "mechanism", "optional", "params", "note"),
                    ("region", "mechanism"), label)
        try:
            return cls(region=d["region"], mechanism=d["mechanism"],
                       params=d.get("params", {}), note=d.get("note", ""),
                       optional=d.get("optional", False))
        except RecipeError as e:
            raise RecipeError(f"{label}: {e}") from None


#: the cable properties a [[passive]] rule sets, with NEURON's defaults and
#: the ranges accepted (wide: myelin ~0.01-0.05 uF/cm2, spine-corrected
#: dendrites up to ~2-3; measured Ra 70-300 ohm cm, e.g. Stuart & Spruston
#: 1998, J Neurosci 18:3501; Golding et al. 2005, J Physiol 568:69)
PASSIVE = {
    "Ra": mechanisms.Parameter("Ra", 35.4, "ohm cm", 1.0, 1e5, "section",
                               "axial resistivity, one value per section"),
    "cm": mechanisms.Parameter("cm", 1.0, "uF/cm2", 1e-3, 100.0, "range",
                               "specific membrane capacitance, per segment"),
}


@dataclasses.dataclass(frozen=True)
class PassiveRule:
    """Set the cable properties ``Ra`` (ohm cm) and/or ``cm`` (uF/cm2) in ``region``.

    Values are numbers in those units or "value unit" strings (kept as
    written); ``values`` gives them as floats in NEURON's units. ``Ra`` is
    set per section (sections whose middle segment is selected), ``cm`` per
    segment. ``note``: free text (the source of the values). ``optional``: as
    for :class:`Rule`.
    """

    region: regions.Region
    Ra: object = None
    cm: object = None
    note: str = ""
    optional: bool = False
    values: types.MappingProxyType = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        label = f"passive rule in region {str(self.region)!r}"
        object.__setattr__(self, "region", _region(self.region, "passive rule"))
        given = {k: getattr(self, k) for k in PASSIVE if getattr(self, k) is not None}
        if not given:
            raise RecipeError(f"{label}: give Ra (ohm cm) and/or cm (uF/cm2)")
        values = {}
        for name, value in given.items():
            p = PASSIVE[name]
            if isinstance(value, (dict, types.MappingProxyType, Profile)):
                raise RecipeError(f"{label}: {name} takes a number ({p.units}), not a function "
                                  "of position; for a value that changes with distance give "
                                  "several passive rules, e.g. regions 'distance < 200' and "
                                  "'distance >= 200'")
            converted = to_mod_units(value, p, f"{label}: {name}")
            try:
                values[name] = p.check("passive", converted)
            except mechanisms.ParameterError as e:
                raise RecipeError(f"{label}: {e}") from None
            object.__setattr__(self, name, _canonical_value(value))
        if not isinstance(self.note, str):
            raise RecipeError(f"{label}: note must be a string")
        _check_optional(self.optional, label)
        object.__setattr__(self, "values", _frozen(values))

    def __hash__(self):
        return hash((self.region, self.Ra, self.cm, self.note, self.optional))

    def to_dict(self) -> dict:
        out = {"region": str(self.region)}
        if self.optional:
            out["optional"] = True
        out.update({k: getattr(self, k) for k in PASSIVE if getattr(self, k) is not None})
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, d, label: str = "passive rule") -> "PassiveRule":
        if not isinstance(d, dict):
            raise RecipeError(f"{label}: a passive rule must be a table with region and Ra "
                              f"and/or cm; got {d!r}")
        _check_keys(d, ("region", "optional", *PASSIVE, "note"), ("region",), label)
        try:
            return cls(region=d["region"], Ra=d.get("Ra"), cm=d.get("cm"),
                       note=d.get("note", ""), optional=d.get("optional", False))
        except RecipeError as e:
            raise RecipeError(f"{label}: {e}") from None


def _check_optional(value, label: str) -> None:
    if not isinstance(value, bool):
        raise RecipeError(f"{label}: optional must be true or false (may the region select "
                          f"nothing on a cell?), got {value!r}")


def _check_keys(d: dict, allowed, required, label: str):
    for key in d:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise RecipeError(f"{label}: unknown key {key!r}.{hint} Allowed: {', '.join(allowed)}")
    for key in required:
        if key not in d:
            raise RecipeError(f"{label}: {key!r} is missing")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Where the mechanisms of a cell go: an ordered list of :class:`Rule`.

    ``name`` (str), ``description`` (str), ``sources`` (citations, tuple of
    str), ``rules`` (tuple of Rule, or dicts with region, mechanism, params,
    note), ``celsius`` (degC, optional: the temperature the recipe was made
    for; :meth:`apply` sets it), ``globals`` ({mechanism: {param: value}},
    GLOBAL parameters), ``passive`` (tuple of PassiveRule, or dicts with
    region, Ra, cm, note: the cable properties) and ``calibration`` (a table
    recording how the recipe's parameters were fitted to measurements:
    method, command, seed, the targets fitted and those held out; empty for
    a recipe that was not calibrated, see :attr:`calibrated`). Validated when
    created.
    """

    name: str
    description: str = ""
    sources: tuple = ()
    rules: tuple = ()
    celsius: float | None = None
    globals: types.MappingProxyType = dataclasses.field(default_factory=dict)
    passive: tuple = ()
    calibration: types.MappingProxyType = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise RecipeError(f"recipe name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.description, str):
            raise RecipeError(f"recipe {self.name!r}: description must be a string")
        if not isinstance(self.sources, (list, tuple)) or not all(
                isinstance(s, str) and s.strip() for s in self.sources):
            raise RecipeError(f"recipe {self.name!r}: sources must be a list of citation "
                              f"strings, got {self.sources!r}")
        object.__setattr__(self, "sources", tuple(self.sources))
        if self.celsius is not None:
            c = self.celsius
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) \
                    or not 0.0 <= c <= 50.0:
                raise RecipeError(f"recipe {self.name!r}: celsius = {c!r} must be a temperature "
                                  "in degC between 0 and 50 (not kelvin)")
            object.__setattr__(self, "celsius", float(c))
        if not isinstance(self.rules, (list, tuple)) or not self.rules:
            raise RecipeError(f"recipe {self.name!r}: rules must be a non-empty list of rules "
                              "(each: region, mechanism, params)")
        rules = []
        for i, r in enumerate(self.rules, 1):
            if isinstance(r, Rule):
                rules.append(r)
            else:
                rules.append(Rule.from_dict(r, f"recipe {self.name!r}, rule {i}"))
        object.__setattr__(self, "rules", tuple(rules))
        if not isinstance(self.globals, (dict, types.MappingProxyType)):
            raise RecipeError(f"recipe {self.name!r}: globals must be a table "
                              "{mechanism: {param: value}}")
        def plain(v):
            return isinstance(v, (str, int, float)) and not isinstance(v, bool)

        if not isinstance(self.calibration, (dict, types.MappingProxyType)) or not all(
                isinstance(k, str) and (plain(v) or isinstance(v, (list, tuple))
                                        and all(plain(x) for x in v))
                for k, v in self.calibration.items()):
            raise RecipeError(f"recipe {self.name!r}: calibration must be a table of "
                              "key = text, number or list (method, command, seed, targets)")
        object.__setattr__(self, "calibration", _frozen(
            {k: tuple(v) if isinstance(v, list) else v for k, v in self.calibration.items()}))
        written = {}
        for mech, params in self.globals.items():
            label = f"recipe {self.name!r}, [globals.{mech}]"
            try:
                mechanisms.get(mech)
            except mechanisms.UnknownMechanismError as e:
                raise RecipeError(f"{label}: {e}") from None
            written[mech] = _frozen(_check_params(mech, params, "global", label)[0])
        object.__setattr__(self, "globals", _frozen(written))
        if not isinstance(self.passive, (list, tuple)):
            raise RecipeError(f"recipe {self.name!r}: passive must be a list of passive rules "
                              "(each: region, Ra and/or cm)")
        object.__setattr__(self, "passive", tuple(
            r if isinstance(r, PassiveRule)
            else PassiveRule.from_dict(r, f"recipe {self.name!r}, passive rule {i}")
            for i, r in enumerate(self.passive, 1)))

    def __hash__(self):
        return hash((self.name, self.description, self.sources, self.rules, self.celsius,
                     tuple((m, tuple(p.items())) for m, p in self.globals.items()),
                     self.passive, tuple(self.calibration.items())))

    @property
    def calibrated(self) -> bool:
        """Were this recipe's parameters fitted to measurements (it has a calibration table)?"""
        return bool(self.calibration)

    # -- derived ------------------------------------------------------------

    def global_values(self) -> dict:
        """{mechanism: {param: float in the mod file's units}} of the GLOBAL parameters."""
        cat = mechanisms.catalog()
        return {m: {k: to_mod_units(v, cat[m].parameters[k]) for k, v in ps.items()}
                for m, ps in self.globals.items()}

    def mechanisms(self) -> list:
        """The mechanisms the rules place, in order of first appearance."""
        return list(dict.fromkeys(r.mechanism for r in self.rules))

    def replace(self, **changes) -> "Recipe":
        """A modified, validated copy (``recipe.replace(name="mine")``).

        A copy whose model differs (rules, globals, passive rules or
        temperature changed) is no longer the one that was calibrated: it
        loses the ``calibration`` table unless ``calibration`` is given too.
        """
        fields = [f.name for f in dataclasses.fields(self) if f.init]
        if "calibration" not in changes and any(
                k in changes and changes[k] != getattr(self, k)
                for k in ("rules", "globals", "passive", "celsius")):
            changes["calibration"] = {}
        for key in changes:
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise RecipeError(f"recipe {self.name!r}: replace() got {key!r}, which is not a "
                                  f"field of a recipe.{hint} Fields: {', '.join(fields)}")
        return dataclasses.replace(self, **changes)

    def add(self, region, mechanism: str, note: str = "", optional: bool = False,
            **params) -> "Recipe":
        """A copy with one more rule at the end (it overrides earlier ones)."""
        return self.replace(rules=self.rules + (Rule(region, mechanism, params, note,
                                                     optional),))

    def swap_mechanism(self, old: str, new: str) -> "Recipe":
        """A copy with mechanism ``old`` replaced by ``new`` in every rule and
        in the globals, parameters kept (validated: ``new`` must have them).

        For example ``recipe.swap_mechanism("cabuf", "cadyn")``: the full Ca
        owner, with the lean one's parameters, gives the same cell and accepts
        calbindin, parvalbumin or a dye (mod/cabuf.mod).
        """
        if old not in self.mechanisms() and old not in self.globals:
            return self
        label = f"recipe {self.name!r}: swapping {old} for {new}"
        try:
            mechanisms.get(new)
        except mechanisms.UnknownMechanismError as e:
            raise RecipeError(f"{label}: {e}") from None
        rules = tuple(dataclasses.replace(r, mechanism=new, params=dict(r.params))
                      if r.mechanism == old else r for r in self.rules)
        globals_ = {(new if m == old else m): dict(ps) for m, ps in self.globals.items()}
        return self.replace(rules=rules, globals=globals_)

    # -- dict and TOML --------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain dict (JSON- and TOML-able) that :meth:`from_dict` turns back into this recipe."""
        out = {"name": self.name, "description": self.description, "sources": list(self.sources)}
        if self.celsius is not None:
            out["celsius"] = self.celsius
        if self.globals:
            out["globals"] = {m: dict(ps) for m, ps in self.globals.items()}
        if self.passive:
            out["passive"] = [r.to_dict() for r in self.passive]
        if self.calibration:
            out["calibration"] = {k: list(v) if isinstance(v, tuple) else v
                                  for k, v in self.calibration.items()}
        out["rules"] = [r.to_dict() for r in self.rules]
        return out

    @classmethod
    def from_dict(cls, d: dict, source: str = "recipe", rule_lines=None) -> "Recipe":
        """The recipe described by ``d`` (keys as written by :meth:`to_dict`)."""
        if not isinstance(d, dict):
            raise RecipeError(f"{source}: a recipe must be a table, got {type(d).__name__}")
        _check_keys(d, ("name", "description", "sources", "celsius", "globals", "passive",
                        "calibration", "rules"), ("name", "rules"), source)
        rules = d["rules"]
        if not isinstance(rules, list):
            raise RecipeError(f"{source}: 'rules' must be an array of tables: start each rule "
                              "with its own [[rules]] header")
        parsed = []
        for i, r in enumerate(rules, 1):
            line = f" (line {rule_lines[i - 1]})" if rule_lines and len(rule_lines) == len(rules) else ""
            parsed.append(Rule.from_dict(r, f"{source}: rule {i}{line}"))
        globals_ = d.get("globals", {})
        if not isinstance(globals_, dict) or not all(isinstance(v, dict) for v in globals_.values()):
            raise RecipeError(f"{source}: globals must be tables [globals.<mechanism>] of "
                              "parameter = value")
        sources = d.get("sources", [])
        if not isinstance(sources, list):
            raise RecipeError(f"{source}: sources must be a list of strings, got {sources!r}")
        passive = d.get("passive", [])
        if not isinstance(passive, list):
            raise RecipeError(f"{source}: 'passive' must be an array of tables: start each "
                              "passive rule with its own [[passive]] header")
        try:
            return cls(name=d["name"], description=d.get("description", ""), sources=tuple(sources),
                       rules=tuple(parsed), celsius=d.get("celsius"), globals=globals_,
                       passive=tuple(passive), calibration=d.get("calibration", {}))
        except RecipeError as e:
            raise RecipeError(f"{source}: {e}") from None

    def to_toml(self) -> str:
        """The recipe as TOML text; :meth:`from_toml` reads it back unchanged."""
        d = self.to_dict()
        lines = [f"name = {_toml_value(d['name'])}",
                 f"description = {_toml_value(d['description'])}"]
        if d["sources"]:
            lines.append("sources = [")
            lines += [f"    {_toml_value(s)}," for s in d["sources"]]
            lines.append("]")
        else:
            lines.append("sources = []")
        if "celsius" in d:
            lines.append(f"celsius = {_toml_value(d['celsius'])}")
        for mech, params in d.get("globals", {}).items():
            lines += ["", f"[globals.{_toml_key(mech)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in params.items()]
        if "calibration" in d:
            lines += ["", "[calibration]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["calibration"].items()]
        for rule in d.get("passive", []):
            lines += ["", "[[passive]]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in rule.items()]
        for rule in d["rules"]:
            lines += ["", "[[rules]]"]
            params = rule.get("params", {})
            # a rule with a function of position gets its params as a sub-table,
            # one parameter a line (an inline table must fit on one line)
            table = any(isinstance(v, dict) for v in params.values())
            for key in ("region", "mechanism", "optional", "params", "note"):
                if key in rule and not (key == "params" and table):
                    lines.append(f"{key} = {_toml_value(rule[key])}")
            if table:
                lines.append("[rules.params]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in params.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: str = "recipe") -> "Recipe":
        """Read a recipe from TOML text; ``source`` (e.g. the file name) prefixes errors."""
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise RecipeError(f"{source}: malformed TOML: {e}") from None
        lines = [n for n, line in enumerate(text.splitlines(), 1)
                 if re.match(r"^\s*\[\[\s*rules\s*\]\]", line)]
        return cls.from_dict(d, source=source, rule_lines=lines)

    def save(self, path) -> Path:
        """Write :meth:`to_toml` to ``path`` atomically."""
        return save(self, path)

    # -- applying -------------------------------------------------------------

    def check_regions(self, cell) -> None:
        """:class:`ionhomeo.regions.EmptyRegionError` for the first rule (passive
        rules first) that selects no segment of ``cell`` and is not optional."""
        _check_cell(cell, self.name)
        where = regions.sites(cell)
        self._masks(where, self.passive, "passive rule")
        self._masks(where, self.rules, "rule")

    def apply_passive(self, cell, check: bool = True) -> list:
        """Set the passive rules' Ra and cm in ``cell`` (see the module doc).

        Returns one dict per passive rule: ``rule`` (1-based), ``region``,
        ``values``, ``sections`` given Ra and ``segments`` given cm.
        :class:`ionhomeo.regions.EmptyRegionError`, before anything is set,
        if a rule that is not optional selects no segment (unless not
        ``check``: :class:`ionhomeo.cell.Cell` sets them on a discretisation
        still settling, and checks the final one).
        """
        if not self.passive:
            return []
        _check_cell(cell, self.name)
        where = regions.sites(cell)
        masks = self._masks(where, self.passive, "passive rule", check)
        summary = []
        for i, (rule, mask) in enumerate(zip(self.passive, masks), 1):
            n_sec = n_seg = 0
            for sec, selected in where.by_section(mask):
                if "Ra" in rule.values and selected[len(selected) // 2]:
                    sec.Ra = rule.values["Ra"]
                    n_sec += 1
                if "cm" in rule.values:
                    for seg, keep in zip(sec, selected):
                        if keep:
                            seg.cm = rule.values["cm"]
                            n_seg += 1
            summary.append({"rule": i, "region": str(rule.region), "values": dict(rule.values),
                            "sections": n_sec, "segments": n_seg, "optional": rule.optional})
        return summary

    def _masks(self, where, rules, kind: str, check: bool = True) -> list:
        """Each rule's selection on the cell of ``where``; EmptyRegionError (with
        ``check``) for the first rule that selects nothing and is not optional."""
        masks = []
        for i, rule in enumerate(rules, 1):
            mask = rule.region.mask(where)
            if check and not rule.optional and not mask.any():
                what = f" ({rule.mechanism})" if isinstance(rule, Rule) else ""
                raise regions.EmptyRegionError(
                    f"recipe {self.name!r}, {kind} {i}{what}: {where.empty_message(rule.region)}")
            masks.append(mask)
        return masks

    def apply(self, cell, passive: bool = True) -> list:
        """Insert the mechanisms into ``cell`` and set their parameters (see the module doc).

        ``cell`` needs ``sections_by_type``, ``all`` and (for distance
        predicates) ``soma_center``. Sets ``h.celsius`` if the recipe has a
        temperature and the GLOBAL parameters, and first (with ``passive``)
        the passive rules' Ra and cm (:meth:`apply_passive`; Cell applies
        them itself, around the d_lambda rule). A GLOBAL is one value for every
        cell of the process: those an earlier recipe set and this one does not
        go back to their mod-file defaults (a preset's PMCA ``nh`` of 2 is not
        inherited by the next model), and a recipe whose GLOBAL differs from
        that of another live :class:`ionhomeo.cell.Cell` with the mechanism is a
        :class:`RecipeError` (one of the two cells would run with the other's
        value). A GLOBAL set by hand (``h.nh_pmca = ...``) is left alone by a recipe that does
        not set it. Returns one dict per rule:
        ``rule`` (1-based), ``region``, ``mechanism``, ``values`` (the
        constant parameters, mod units), ``functions`` ({parameter:
        {``function``: its TOML inline table, ``unit``, ``min``, ``max``:
        the values set, None if no segment is selected}}), ``sections`` and
        ``segments`` selected, ``area_um2`` (their membrane area),
        ``partial_sections`` (sections the rule inserted the mechanism into
        but selects only partly) and ``optional``. A rule that selects no
        segment and is not optional is an
        :class:`ionhomeo.regions.EmptyRegionError` naming the cell and what
        it lacks, raised before anything is inserted; so is a function of
        position out of its parameter's range.
        """
        from neuron import h

        from . import build

        build.load()
        _check_cell(cell, self.name)
        where = regions.sites(cell)
        masks = self._masks(where, self.rules, "rule")
        # functions of position, evaluated (and checked) before anything is inserted
        varying_all = [{name: self._evaluate(i, rule, name, where, mask)
                        for name in rule.functions}
                       for i, (rule, mask) in enumerate(zip(self.rules, masks), 1)]
        _set_globals(self, cell)  # refused before anything is changed
        if passive:
            self.apply_passive(cell)
        if self.celsius is not None:
            h.celsius = self.celsius
        cat = mechanisms.catalog()
        summary = []
        for i, (rule, mask, varying) in enumerate(zip(self.rules, masks, varying_all), 1):
            n_sec = n_seg = partial = 0
            area = 0.0
            # mechanisms that write a concentration this one writes (NEURON allows
            # one; currents, i..., and reversal potentials, e..., add up or are set)
            rivals = [m for m, mech in cat.items() if m != rule.mechanism
                      and _concentrations(mech.writes) & _concentrations(cat[rule.mechanism].writes)]
            for sec, selected in where.by_section(mask):
                if not selected.any():
                    continue
                n_sec += 1
                if not sec.has_membrane(rule.mechanism):
                    there = [m for m in rivals if sec.has_membrane(m)]
                    if there:
                        both = sorted(_concentrations(cat[there[0]].writes)
                                      & _concentrations(cat[rule.mechanism].writes))
                        raise RecipeError(
                            f"recipe {self.name!r}, rule {i}: {rule.mechanism} would go into "
                            f"{sec.name()}, which already has {there[0]}; both write "
                            f"{', '.join(both)}, and a concentration can have one owner. Place "
                            f"one of them per region (region {str(rule.region)!r} overlaps "
                            f"where {there[0]} is).")
                    sec.insert(rule.mechanism)
                    if not selected.all():
                        partial += 1
                for seg, keep in zip(sec, selected):
                    if not keep:
                        continue
                    area += seg.area()
                    for k, v in rule.values.items():
                        setattr(seg, f"{k}_{rule.mechanism}", v)
                    for k, v in varying.items():
                        setattr(seg, f"{k}_{rule.mechanism}", float(v[n_seg]))
                    n_seg += 1
            if partial and any(p.scope == "range"
                               for p in mechanisms.get(rule.mechanism).parameters.values()):
                warnings.warn(
                    f"recipe {self.name!r}, rule {i}: {rule.mechanism} was inserted into "
                    f"{partial} section(s) of which region {str(rule.region)!r} selects only "
                    f"some segments; the other segments have {rule.mechanism}'s mod-file "
                    f"defaults. Place {rule.mechanism} on the whole sections first (e.g. with "
                    "zero density) if that is not intended.", PartialSectionWarning, stacklevel=2)
            functions = {name: {"function": rule.functions[name].to_toml(),
                                "unit": rule.functions[name].unit,
                                "min": float(v.min()) if v.size else None,
                                "max": float(v.max()) if v.size else None}
                         for name, v in varying.items()}
            summary.append({"rule": i, "region": str(rule.region), "mechanism": rule.mechanism,
                            "values": dict(rule.values), "functions": functions,
                            "sections": n_sec, "segments": n_seg,
                            "area_um2": area, "partial_sections": partial,
                            "optional": rule.optional})
        return summary

    def _evaluate(self, i: int, rule: Rule, name: str, where, mask) -> np.ndarray:
        """The values of ``rule``'s function ``name`` at the selected segments (in
        cell order); RecipeError naming the segment where it is undefined or out of range."""
        profile = rule.functions[name]
        label = (f"recipe {self.name!r}, rule {i} ({rule.mechanism} in region "
                 f"{str(rule.region)!r}): {rule.mechanism}.{name} = {profile.to_toml()}")
        try:
            d = profile.positions(where)[mask]
        except RecipeError as e:
            raise RecipeError(f"{label}: {e}") from None
        chosen = [seg for seg, keep in zip(where.segments, mask) if keep]
        undefined = np.flatnonzero(np.isnan(d))
        if undefined.size:
            raise RecipeError(
                f"{label}: segment {_segment_name(chosen[undefined[0]])} has no {profile.of} "
                f"({POSITIONS[profile.of][1]}); {undefined.size} of the {d.size} selected "
                f"segments have none. Narrow the region to where it is defined (e.g. "
                f"'({rule.region}) & apical') or use of = \"distance\"")
        values = profile.evaluate(d)
        p = mechanisms.get(rule.mechanism).parameters[name]
        bad = np.flatnonzero(~(np.isfinite(values) & (values >= p.low) & (values <= p.high)))
        if bad.size:
            k = bad[0]
            doc = p.doc or "see the mod file"
            raise RecipeError(
                f"{label} gives {values[k]:g} {p.units} at segment {_segment_name(chosen[k])} "
                f"({profile.of} {d[k]:g} um), outside the allowed range [{p.low:g}, "
                f"{p.high:g}] {p.units} of {rule.mechanism}.{name} ({doc}); {bad.size} of "
                f"the {d.size} selected segments are outside, at "
                f"{profile.of} {d[bad].min():g}-{d[bad].max():g} um. Change the function's "
                f"fields, or narrow the region to where its values are allowed")
        return values


def _check_cell(cell, name: str) -> None:
    """RecipeError (or the cell's own CellError) for a cell the recipe cannot go into."""
    alive = getattr(cell, "_alive", None)
    if callable(alive):
        alive()  # a destroyed ionhomeo Cell says so itself
    if not hasattr(cell, "all") or not hasattr(cell, "sections_by_type"):
        raise RecipeError(f"recipe {name!r} can be applied to a cell (an ionhomeo.cell.Cell, or "
                          "an object with sections_by_type, all and soma_center), not to "
                          f"{type(cell).__name__} {cell!r}")
    if not list(cell.all):
        raise RecipeError(f"recipe {name!r}: the cell has no sections (deleted?), so the "
                          "recipe would place nothing; apply it to a cell that exists")


def _segment_name(seg) -> str:
    """``section(x)``, the segment as a user finds it in NEURON."""
    return f"{seg.sec.name()}({seg.x:.4g})"


def _concentrations(names) -> set:
    """The concentrations among the ion variables a mechanism writes."""
    return {n for n in names if not n.startswith(("i", "e"))}


# ----------------------------------------------------------------------------
# a small TOML writer for the values recipes contain
# ----------------------------------------------------------------------------

#: {(mechanism, parameter): value} of the GLOBALs the last recipe applied set
_GLOBALS_SET: dict = {}


def _given(recipe) -> dict:
    """{(mechanism, parameter): value} of the GLOBALs ``recipe`` sets (mod units)."""
    return {(m, k): v for m, ps in recipe.global_values().items() for k, v in ps.items()}


def restore_global_defaults() -> None:
    """Put every GLOBAL a recipe set back to its mod-file default and forget
    them (what :meth:`Recipe.apply` does for those the next recipe leaves out)."""
    for key in list(_GLOBALS_SET):
        _restore_default(key)


def _default(key) -> float:
    """The mod-file default of GLOBAL ``key`` = (mechanism, parameter)."""
    return float(mechanisms.catalog()[key[0]].parameters[key[1]].default)


def _restore_default(key) -> None:
    mechanisms.set_globals(key[0], **{key[1]: _default(key)})
    _GLOBALS_SET.pop(key, None)


def _set_globals(recipe, cell) -> None:
    """Set ``recipe``'s GLOBAL parameters, restore the mod-file defaults of
    those an earlier recipe set and this one does not (:meth:`Recipe.apply`),
    refusing a value that differs from another live cell's recipe."""
    from neuron import h

    from . import cell as cell_mod

    mine, placed = _given(recipe), set(recipe.mechanisms())
    # the other cells' recipes (a cell given another recipe keeps its own until then)
    others = [(other, other.recipe) for other in list(cell_mod._LIVE.values())
              if isinstance(getattr(other, "recipe", None), Recipe)
              and not getattr(other, "_destroyed", False)
              and not (other is cell and other.recipe is recipe)]
    for other, rec in others:
        theirs, theirs_given = set(rec.mechanisms()), _given(rec)
        keys = {k for k in set(theirs_given) | set(mine)
                if k[0] in theirs and (k[0] in placed or k in mine)}
        for key in sorted(keys):
            a, b = mine.get(key, _default(key)), theirs_given.get(key, _default(key))
            if not math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0):
                raise RecipeError(
                    f"recipe {recipe.name!r} sets {key[0]}.{key[1]} = {a:g}, but the live cell "
                    f"{other.name!r} (recipe {rec.name!r}) has {key[0]} with {key[1]} = {b:g}: a "
                    f"GLOBAL parameter is one value for every cell of the process, so one of "
                    f"them would run with the other's. Give both recipes the same value under "
                    f"[globals.{key[0]}], or destroy {other.name!r} first (cell.destroy()).")
    live = {m for _, rec in others for m in rec.mechanisms()}  # their GLOBALs stay
    for key in [k for k in _GLOBALS_SET if k not in mine]:
        if float(getattr(h, f"{key[1]}_{key[0]}")) != _GLOBALS_SET[key]:
            del _GLOBALS_SET[key]  # changed by hand since: the user's, left alone
        elif key[0] not in live:  # (while a live cell relies on it, it stays, tracked)
            _restore_default(key)
    for (mech, name), value in mine.items():
        mechanisms.set_globals(mech, **{name: value})
        _GLOBALS_SET[(mech, name)] = value


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        v = float(v)
        if not math.isfinite(v):
            raise RecipeError(f"cannot write {v!r} to TOML")
        return repr(v)  # always has '.' or an exponent: a TOML float
    if isinstance(v, (dict, types.MappingProxyType)):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise RecipeError(f"cannot write {type(v).__name__} {v!r} to TOML")


# ----------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------

def load(path) -> Recipe:
    """Read a recipe from a TOML file; errors name the file (and the rule's line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"recipe file {path} does not exist") from None
    except IsADirectoryError:
        raise RecipeError(f"recipe {path} is a directory, not a TOML file") from None
    except UnicodeDecodeError as err:
        raise RecipeError(f"recipe file {path} is not a text (UTF-8) TOML file: byte "
                          f"{err.start} cannot be read; give a recipe written as TOML") from None
    except PermissionError:
        raise RecipeError(f"recipe file {path} cannot be read (permission denied)") from None
    return Recipe.from_toml(text, source=str(path))


#: the folder of the bundled presets: whole-cell presets (``*.toml``) and, in
#: ``models/``, the mechanism sets of the protocols' own geometries
PRESET_DIR = Path(__file__).with_name("presets")


def preset_names(models: bool = True) -> tuple:
    """Names of the bundled presets (the TOML files of :data:`PRESET_DIR`; with
    ``models``, also those of its ``models/`` folder)."""
    paths = list(PRESET_DIR.glob("*.toml"))
    if models:
        paths += PRESET_DIR.joinpath("models").glob("*.toml")
    return tuple(sorted(p.stem for p in paths))


def _presets_text() -> str:
    cells = preset_names(models=False)
    models = sorted(set(preset_names()) - set(cells))
    return (f"Presets: {', '.join(cells)}"
            + (f" (protocol models: {', '.join(models)})" if models else ""))


def preset_path(name: str) -> Path:
    """The TOML file of preset ``name`` (RecipeError with the closest name if unknown)."""
    names = preset_names()
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RecipeError(f"unknown preset {name!r}.{hint} {_presets_text()}")
    top = PRESET_DIR / f"{name}.toml"
    return top if top.exists() else PRESET_DIR / "models" / f"{name}.toml"


def preset(name: str) -> Recipe:
    """The recipe of the bundled preset ``name``."""
    return load(preset_path(name))


def resolve(spec, default=None):
    """A Recipe from a Recipe, a preset name or a TOML file path.

    ``spec`` None gives the preset ``default`` (or None without one). A name
    that is both a preset and an existing file is read as the file.
    """
    names = preset_names()
    if spec is None:
        return None if default is None else preset(default)
    if isinstance(spec, Recipe):
        return spec
    if not isinstance(spec, (str, Path)):
        raise RecipeError(f"a recipe is a Recipe, a preset name or a TOML file path; got "
                          f"{type(spec).__name__} {spec!r}. {_presets_text()}")
    if str(spec) in names and not Path(str(spec)).exists():
        return preset(str(spec))
    path = Path(spec)
    if not path.exists() and not path.suffix and len(path.parts) == 1:
        # a bare word: a preset in another case (MATURE), or a mistyped one, not a file
        from .names import match, suggestion

        found = match(str(spec), names)
        if found is not None:
            return preset(found)
        hint = suggestion(str(spec), names)
        raise RecipeError(f"recipe {str(spec)!r} is neither a preset nor an existing file.{hint} "
                          f"{_presets_text()}; or give the path of a recipe TOML file")
    return load(spec)


def save(recipe: Recipe, path) -> Path:
    """Write ``recipe`` as TOML to ``path`` atomically (see :mod:`ionhomeo.results`)."""
    from .results import write_text

    if not isinstance(recipe, Recipe):
        raise RecipeError(f"save() writes a Recipe, got {type(recipe).__name__} {recipe!r}")
    path = Path(path)
    if path.is_dir():
        raise RecipeError(f"cannot save recipe {recipe.name!r} to {path}: it is a directory; "
                          f"give a file name, e.g. {path / (recipe.name + '.toml')}")
    return write_text(recipe.to_toml(), path)
