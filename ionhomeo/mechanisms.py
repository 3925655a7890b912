"""The catalogue of ionhomeo mechanisms, and validated insertion into sections.

The catalogue is read from the mod files themselves (``mod/*.mod``): each
mechanism's TITLE, kind (density or point process), the ions it reads and
writes, and every PARAMETER with its default, units and ``<low, high>`` range.
The mod files are therefore the single source of truth for parameter names,
units and limits, for hoc and Python users alike.

>>> from ionhomeo import mechanisms
>>> mechanisms.insert(soma, "kcc2", imax=0.05)          # doctest: +SKIP
>>> syn = mechanisms.add_point(soma(0.5), "GabaA", tau2=10)  # doctest: +SKIP

Values are given in the units declared in the mod file (listed by
:func:`describe` and ``ionhomeo list``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
from pathlib import Path


class UnknownMechanismError(LookupError):
    """A mechanism name that ionhomeo does not provide."""


class ParameterError(ValueError):
    """An unknown parameter, or a value that is not a number or out of range."""


class PlacementError(TypeError):
    """A mechanism placed on something that is not a (live) NEURON section or segment."""


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One PARAMETER of a mechanism, as declared in its mod file."""

    name: str
    default: float
    units: str
    low: float
    high: float
    scope: str  # "range" (per segment / per point process) or "global"
    doc: str

    def check(self, mechanism: str, value) -> float:
        """Return ``value`` as float, or raise ParameterError naming the problem."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(
                f"{mechanism}.{self.name} must be a number in {self.units}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"{mechanism}.{self.name} must be finite, got {value!r}")
        if not self.low <= value <= self.high:
            raise ParameterError(
                f"{mechanism}.{self.name} = {value:g} {self.units} is outside its allowed "
                f"range [{self.low:g}, {self.high:g}] {self.units} ({self.doc or 'see the mod file'})")
        return value


@dataclasses.dataclass(frozen=True)
class Variable:
    """An ASSIGNED or STATE variable of a mechanism (not an ion's or NEURON's own),
    as declared in its mod file: what can be recorded besides the parameters.

    ``kind`` is "state" or "assigned"; ``scope`` "range" (one value per segment
    or point process: ``seg.<mechanism>.<name>``, recordable as
    ``"<name>_<mechanism>"``), "global" (declared GLOBAL: one value shared by
    every instance, ``h.<name>_<mechanism>``) or "internal" (an ASSIGNED
    variable declared neither RANGE nor GLOBAL: in a THREADSAFE mechanism,
    as all of ionhomeo's are, NEURON keeps it per thread and shows it neither
    to hoc nor to Python); ``doc`` the comment after its declaration ("" without
    one).
    """

    name: str
    units: str
    kind: str
    scope: str
    doc: str


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """A mechanism of the catalogue.

    ``comment`` is the text of the mod file's COMMENT block (its equations,
    sources, sign conventions, reads and writes), as written there;
    ``variables`` its ASSIGNED and STATE variables (:class:`Variable`).
    """

    name: str
    kind: str  # "density" or "point"
    title: str
    parameters: dict
    reads: tuple
    writes: tuple
    ions: tuple
    file: str
    comment: str = ""
    variables: tuple = ()

    def parameter(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.parameters), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"{self.name} has no parameter {name!r}.{hint} Its parameters: "
                f"{', '.join(self.parameters) or '(none)'}") from None


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PARAM_LINE = re.compile(
    rf"^\s*(\w+)\s*=\s*({_NUMBER})\s*(?:\(([^)]*)\))?\s*"
    rf"(?:<\s*({_NUMBER})\s*,\s*({_NUMBER})\s*>)?\s*(?::\s*(.*))?$")


def _block(text: str, name: str) -> str:
    m = re.search(rf"^\s*{name}\s*\{{(.*?)^\s*\}}", text, re.M | re.S)
    return m.group(1) if m else ""


def _names(block: str, keyword: str) -> list[str]:
    out = []
    for m in re.finditer(rf"^\s*{keyword}\s+([^\n]+)", block, re.M):
        out += [n.strip() for n in m.group(1).split(",") if n.strip()]
    return out


_COMMENT = re.compile(r"^\s*COMMENT[ \t]*\n(.*?)^\s*ENDCOMMENT", re.M | re.S)
_VARIABLE_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:\(([^)]*)\))?[^:]*(?::\s*(.*))?$")


def _variables(text_nocomment: str, neuron: str, shared: set) -> tuple:
    """The ASSIGNED and STATE variables of a mod file (see :class:`Variable`)."""
    declared_range = set(_names(neuron, "RANGE")) | set(_names(neuron, "NONSPECIFIC_CURRENT"))
    declared_global = set(_names(neuron, "GLOBAL"))
    out = []
    for block, kind in (("ASSIGNED", "assigned"), ("STATE", "state")):
        for line in _block(text_nocomment, block).splitlines():
            m = _VARIABLE_LINE.match(line)
            if not m or m.group(1) in shared:
                continue
            name = m.group(1)
            scope = ("range" if kind == "state" or name in declared_range
                     else "global" if name in declared_global else "internal")
            out.append(Variable(name=name, units=(m.group(2) or "1").strip() or "1",
                                kind=kind, scope=scope, doc=(m.group(3) or "").strip()))
    return tuple(out)


def parse_mod(path: Path) -> Mechanism:
    """Read one mod file into a :class:`Mechanism`."""
    text = Path(path).read_text()
    comment = _COMMENT.search(text)
    text_nocomment = re.sub(r"^\s*COMMENT.*?^\s*ENDCOMMENT", "", text, flags=re.M | re.S)
    neuron = _block(text_nocomment, "NEURON")
    m = re.search(r"^\s*(SUFFIX|POINT_PROCESS)\s+(\w+)", neuron, re.M)
    if not m:
        raise ValueError(f"{path}: no SUFFIX or POINT_PROCESS in its NEURON block")
    kind = "density" if m.group(1) == "SUFFIX" else "point"
    name = m.group(2)
    title = re.search(r"^TITLE\s+(.*)$", text, re.M)
    globals_ = set(_names(neuron, "GLOBAL"))
    reads, writes, ions = [], [], []
    for u in re.finditer(r"^\s*USEION\s+(\w+)(.*)$", neuron, re.M):
        ions.append(u.group(1))
        r = re.search(r"READ\s+([\w\s,]+?)(?:WRITE|VALENCE|$)", u.group(2))
        w = re.search(r"WRITE\s+([\w\s,]+?)(?:READ|VALENCE|$)", u.group(2))
        reads += [x.strip() for x in r.group(1).split(",")] if r else []
        writes += [x.strip() for x in w.group(1).split(",")] if w else []
    params = {}
    for line in _block(text_nocomment, "PARAMETER").splitlines():
        pm = _PARAM_LINE.match(line)
        if not pm:
            continue
        pname, default, units, low, high, doc = pm.groups()
        params[pname] = Parameter(
            name=pname, default=float(default), units=(units or "1").strip(),
            low=float(low) if low is not None else -math.inf,
            high=float(high) if high is not None else math.inf,
            scope="global" if pname in globals_ else "range",
            doc=(doc or "").strip())
    shared = set(_NOT_MECHANISM_VARIABLES).union(*(_ion_names(ion) for ion in ions))
    return Mechanism(name=name, kind=kind, title=title.group(1).strip() if title else name,
                     parameters=params, reads=tuple(reads), writes=tuple(writes),
                     ions=tuple(ions), file=str(path),
                     comment=comment.group(1).rstrip() if comment else "",
                     variables=_variables(text_nocomment, neuron, shared))


@functools.lru_cache(maxsize=None)
def _catalog_of(directory: str) -> dict:
    mechs = [parse_mod(p) for p in sorted(Path(directory).glob("*.mod"))]
    return {m.name: m for m in mechs}


def catalog() -> dict:
    """{name: Mechanism} for every mechanism in ionhomeo's mod directory."""
    from .build import mod_dir

    return dict(_catalog_of(str(mod_dir())))


#: the parameters that give a mechanism a role the rest of ionhomeo acts on:
#: afac (NEURON's segment area, set by the defaults' handler at finitialize),
#: dgatp (the ATP free energy an energy failure lowers), dpsi (the
#: mitochondrial potential). A mod file is in a role by declaring the parameter.
TRAITS = ("afac", "dgatp", "dpsi")


def with_parameter(name: str, directory=None) -> tuple:
    """Names of the mechanisms (sorted) whose mod files declare PARAMETER
    ``name``, in ``directory`` (default: ionhomeo's mod directory). This is
    how the roles of :data:`TRAITS` are found: no list to edit when a mod
    file gains one."""
    if directory is None:
        from .build import mod_dir

        directory = mod_dir()
    return tuple(sorted(m.name for m in _catalog_of(str(directory)).values()
                        if name in m.parameters))


def get(name: str) -> Mechanism:
    """The catalogue entry for ``name``; a clear error for unknown names."""
    if not isinstance(name, str):
        raise UnknownMechanismError(
            f"a mechanism name must be a string such as 'kcc2', got {type(name).__name__} "
            f"{name!r}; `ionhomeo list` shows the mechanisms")
    cat = catalog()
    if name in cat:
        return cat[name]
    from .names import match, suggestion

    if match(name, cat) is not None:  # KCC2: NEURON's names are case-sensitive
        hint = f" Did you mean {match(name, cat)!r}? (mechanism names are case-sensitive)"
    else:
        hint = suggestion(name, cat, cutoff=0.5)
    raise UnknownMechanismError(
        f"unknown mechanism {name!r}.{hint} ionhomeo provides: {', '.join(sorted(cat))}")


def validate(name: str, params: dict) -> dict:
    """Check a mechanism name and parameter values; return them as floats."""
    mech = get(name)
    return {k: mech.parameter(k).check(name, v) for k, v in params.items()}


def _require_range(mech: Mechanism, params: dict):
    for k in params:
        if mech.parameter(k).scope == "global":
            raise ParameterError(
                f"{mech.name}.{k} is a GLOBAL parameter (one value for every instance); "
                f"set it with ionhomeo.mechanisms.set_globals({mech.name!r}, {k}=...)")


def _live_section(obj, where: str):
    """``obj`` if it is a NEURON section that still exists; PlacementError otherwise."""
    from neuron import nrn

    # type(), not isinstance(): isinstance raises ReferenceError for a deleted section
    if issubclass(type(obj), nrn.Segment):
        raise PlacementError(
            f"{where} needs a section, got the segment {obj}: pass the section "
            f"(e.g. soma, not soma(0.5)); NEURON inserts a density mechanism into every "
            f"segment of a section")
    if not issubclass(type(obj), nrn.Section):
        raise PlacementError(f"{where} needs a NEURON section such as h.Section(name='soma'), "
                             f"got {type(obj).__name__} {obj!r}")
    try:
        obj.name()
    except ReferenceError:
        raise PlacementError(f"{where}: the section was deleted (h.delete_section or "
                             "Cell.destroy); build it again") from None
    return obj


def _live_segment(obj, where: str):
    """``obj`` if it is a segment of a NEURON section that still exists."""
    from neuron import nrn

    if issubclass(type(obj), nrn.Section):
        try:
            name = obj.name()
        except ReferenceError:
            raise PlacementError(f"{where} needs a segment such as soma(0.5), got a deleted "
                                 "section") from None
        raise PlacementError(f"{where} needs a segment, a place on a section such as "
                             f"{name}(0.5), got the section {name} itself")
    if not issubclass(type(obj), nrn.Segment):
        raise PlacementError(f"{where} needs a segment such as soma(0.5), got "
                             f"{type(obj).__name__} {obj!r}")
    try:
        obj.sec.name()
    except ReferenceError:
        raise PlacementError(f"{where}: the segment's section was deleted (h.delete_section "
                             "or Cell.destroy); build it again") from None
    return obj


def insert(section, name: str, **params):
    """Insert density mechanism ``name`` into ``section`` and set range parameters.

    Raises UnknownMechanismError for an unknown name (or a point process name),
    ParameterError for an unknown parameter or a value out of its range,
    PlacementError if ``section`` is not a live NEURON section.
    """
    from . import build

    values = validate(name, params)
    _live_section(section, f"insert(..., {name!r})")
    mech = get(name)
    if mech.kind != "density":
        raise UnknownMechanismError(
            f"{name} is a point process; use ionhomeo.mechanisms.add_point(segment, {name!r})")
    _require_range(mech, values)
    build.load()
    section.insert(name)
    for seg in section:
        for k, v in values.items():
            setattr(seg, f"{k}_{name}", v)
    return section


def add_point(segment, name: str, **params):
    """Create point process ``name`` at ``segment`` with validated parameters.

    Raises PlacementError if ``segment`` is not a segment of a live section
    (NEURON itself crashes on ``h.GabaA(None)``).
    """
    from neuron import h

    from . import build

    values = validate(name, params)
    _live_segment(segment, f"add_point(..., {name!r})")
    mech = get(name)
    if mech.kind != "point":
        raise UnknownMechanismError(
            f"{name} is a density mechanism; use ionhomeo.mechanisms.insert(section, {name!r})")
    _require_range(mech, values)
    build.load()
    pp = getattr(h, name)(segment)
    for k, v in values.items():
        setattr(pp, k, v)
    return pp


def set_globals(name: str, **params):
    """Set GLOBAL parameters of a mechanism (shared by all its instances)."""
    from neuron import h

    from . import build

    values = validate(name, params)
    mech = get(name)
    for k in values:
        if mech.parameter(k).scope != "global":
            raise ParameterError(
                f"{name}.{k} is a range parameter (per segment); pass it to insert()")
    build.load()
    for k, v in values.items():
        setattr(h, f"{k}_{name}", v)


def describe(name: str | None = None) -> str:
    """A plain-text table of one mechanism's parameters, or of all mechanisms."""
    names = [name] if name else sorted(catalog(), key=str.lower)
    out = []
    for n in names:
        m = get(n)
        out.append(f"{m.name} ({m.kind}): {m.title}")
        if m.reads or m.writes:
            out.append(f"  reads {', '.join(m.reads) or '-'}; writes {', '.join(m.writes) or '-'}")
        for p in m.parameters.values():
            rng = f"[{p.low:g}, {p.high:g}]"
            out.append(f"  {p.name:<8} = {p.default:<10g} {p.units:<10} {rng:<16} "
                       f"{p.scope:<6} {p.doc}")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Units of recordable variables


class UnknownVariableError(LookupError):
    """A variable name whose units ionhomeo does not know."""


#: variables of NEURON itself (not of a mod file), with their units
_NEURON_VARIABLES = {
    "v": "mV",          # membrane potential
    "i_cap": "mA/cm2",  # capacitive current density
    "cm": "uF/cm2",     # specific membrane capacitance
    "diam": "um",       # segment diameter
}

#: NEURON's built-in density mechanisms pas and hh (units as in NEURON's
#: own hh.mod and passive.mod), so that cells mixing them can be recorded
_BUILTIN_MECHANISM_UNITS = {
    "pas": {"g": "S/cm2", "e": "mV", "i": "mA/cm2"},
    "hh": {"gnabar": "S/cm2", "gkbar": "S/cm2", "gl": "S/cm2", "el": "mV",
           "gna": "S/cm2", "gk": "S/cm2", "il": "mA/cm2",
           "m": "1", "h": "1", "n": "1",
           "minf": "1", "hinf": "1", "ninf": "1",
           "mtau": "ms", "htau": "ms", "ntau": "ms"},
}

#: units of the per-segment variables of every ion species
ION_VARIABLE_UNITS = {"i": "mM", "o": "mM", "current": "mA/cm2", "reversal": "mV"}

#: names a mod file declares but that are not its own range variables
#: (NEURON's own variables, shared by every mechanism)
_NOT_MECHANISM_VARIABLES = frozenset({"v", "celsius", "diam", "area", "t", "dt"})

_DECLARATION = re.compile(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:\(([^)]*)\))?")


def _declarations(block: str) -> dict:
    """{name: units} of the declarations in a PARAMETER, ASSIGNED or STATE block.

    Comments (``: ...``), values (``= 1.5``), ranges and tolerances (``<a, b>``)
    and ``FROM a TO b`` are removed first; a declaration is then a name with
    an optional array size and an optional ``(units)``; without units "1".
    """
    text = re.sub(r"[:?][^\n]*", "", block)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(rf"\bFROM\s+{_NUMBER}\s+TO\s+{_NUMBER}", " ", text)
    text = re.sub(rf"=\s*{_NUMBER}", " ", text)
    return {m.group(1): (m.group(2) or "1").strip() or "1" for m in _DECLARATION.finditer(text)}


def _ion_names(ion: str) -> set:
    """The per-segment variables NEURON keeps for ``ion``."""
    return {f"{ion}i", f"{ion}o", f"i{ion}", f"e{ion}"}


@functools.lru_cache(maxsize=None)
def _units_of(directory: str) -> tuple:
    """(ions, {"name_mech": units}) of every mod file in ``directory``."""
    ions = set()
    table = {}
    for path in sorted(Path(directory).glob("*.mod")):
        mech = parse_mod(path)
        text = Path(path).read_text()
        text = re.sub(r"^\s*COMMENT.*?^\s*ENDCOMMENT", "", text, flags=re.M | re.S)
        ions.update(mech.ions)
        shared = set(_NOT_MECHANISM_VARIABLES)
        for ion in mech.ions:
            shared |= _ion_names(ion)
        for block in ("PARAMETER", "ASSIGNED", "STATE"):
            for var, unit in _declarations(_block(text, block)).items():
                if var not in shared:
                    table[f"{var}_{mech.name}"] = unit
    return frozenset(ions), table


def _ion_variable(variable: str, ions) -> tuple | None:
    """(ion, kind) if ``variable`` is a concentration, current or reversal potential."""
    for ion in sorted(ions, key=len, reverse=True):  # "caeri" is caer's, not ca's
        if variable == f"{ion}i":
            return ion, "i"
        if variable == f"{ion}o":
            return ion, "o"
        if variable == f"i{ion}":
            return ion, "current"
        if variable == f"e{ion}":
            return ion, "reversal"
    return None


def known_ions() -> frozenset:
    """Ion species of ionhomeo's mechanisms and defaults, and NEURON's na, k, ca."""
    from .build import mod_dir
    from .defaults import VALENCES

    ions, _ = _units_of(str(mod_dir()))
    return frozenset(ions) | frozenset(VALENCES) | {"na", "k", "ca"}


def units(variable: str) -> str:
    """The units of a recordable per-segment variable, as NEURON stores it.

    Knows ``v`` (mV); every ion's concentrations ``<ion>i``/``<ion>o`` (mM),
    currents ``i<ion>`` (mA/cm2, also for ions written by point processes) and
    reversal potentials ``e<ion>`` (mV); every PARAMETER, ASSIGNED and STATE of
    every mod file as ``name_mechanism`` (e.g. ``ipump_nakpump`` -> "mA/cm2",
    ``cab_cadyn`` -> "mM") with the units declared there ("1" when none is
    declared); NEURON's ``i_cap``, ``cm``, ``diam`` and the variables of its
    built-in ``pas`` and ``hh``.

    Raises UnknownVariableError, with the closest known names, otherwise.
    """
    from .build import mod_dir

    if not isinstance(variable, str):
        raise UnknownVariableError(f"a variable name must be a string, got {variable!r}")
    if variable in _NEURON_VARIABLES:
        return _NEURON_VARIABLES[variable]
    ion = _ion_variable(variable, known_ions())
    if ion is not None:
        return ION_VARIABLE_UNITS[ion[1]]
    _, table = _units_of(str(mod_dir()))
    if variable in table:
        return table[variable]
    name, _, mech = variable.rpartition("_")
    if name and mech in _BUILTIN_MECHANISM_UNITS and name in _BUILTIN_MECHANISM_UNITS[mech]:
        return _BUILTIN_MECHANISM_UNITS[mech][name]
    if name and mech in catalog():
        own = sorted(k for k in table if k.endswith(f"_{mech}"))
        if name in _NEURON_VARIABLES or _ion_variable(name, known_ions()):
            hint = f" {name!r} is not per mechanism: use {name!r} itself."
        else:
            close = difflib.get_close_matches(variable, own, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownVariableError(
            f"{mech} has no variable {name!r} ({variable!r}).{hint} Its variables: {', '.join(own)}")
    candidates = list(_NEURON_VARIABLES) + list(table)
    close = difflib.get_close_matches(variable, candidates, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownVariableError(
        f"unknown variable {variable!r}.{hint} Variables are 'v', ion concentrations "
        f"('nai', 'cao'), ion currents ('ina'), reversal potentials ('ek') and mechanism "
        f"variables as 'name_mechanism' ('ipump_nakpump'); ions: {', '.join(sorted(known_ions()))}")
