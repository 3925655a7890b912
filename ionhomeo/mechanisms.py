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
class Mechanism:
    """A mechanism of the catalogue."""

    name: str
    kind: str  # "density" or "point"
    title: str
    parameters: dict
    reads: tuple
    writes: tuple
    ions: tuple
    file: str

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


def parse_mod(path: Path) -> Mechanism:
    """Read one mod file into a :class:`Mechanism`."""
    text = Path(path).read_text()
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
    return Mechanism(name=name, kind=kind, title=title.group(1).strip() if title else name,
                     parameters=params, reads=tuple(reads), writes=tuple(writes),
                     ions=tuple(ions), file=str(path))


@functools.lru_cache(maxsize=None)
def _catalog_of(directory: str) -> dict:
    mechs = [parse_mod(p) for p in sorted(Path(directory).glob("*.mod"))]
    return {m.name: m for m in mechs}


def catalog() -> dict:
    """{name: Mechanism} for every mechanism in ionhomeo's mod directory."""
    from .build import mod_dir

    return dict(_catalog_of(str(mod_dir())))


def get(name: str) -> Mechanism:
    """The catalogue entry for ``name``; a clear error for unknown names."""
    cat = catalog()
    if name in cat:
        return cat[name]
    close = difflib.get_close_matches(name, list(cat), n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
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


def insert(section, name: str, **params):
    """Insert density mechanism ``name`` into ``section`` and set range parameters.

    Raises UnknownMechanismError for an unknown name (or a point process name),
    ParameterError for an unknown parameter or a value out of its range.
    """
    from . import build

    values = validate(name, params)
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
    """Create point process ``name`` at ``segment`` with validated parameters."""
    from neuron import h

    from . import build

    values = validate(name, params)
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
