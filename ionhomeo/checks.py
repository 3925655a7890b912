"""Checks: what a protocol expects, what it obtained, and whether they agree.

A :class:`Check` names the quantity, the expected value with its source (the
physics, the model's own parameters, or a measurement in a paper), the value
obtained by simulation, the tolerance and why it is that, and whether it
passed. Protocols return them in the ``checks`` of an :class:`ionhomeo.experiment.Result`;
the command line prints them as PASS/FAIL and ``ionhomeo run all`` reads them.

>>> c = within("E_GABA", obtained=-71.98, expected=-72.0, tolerance=1.0, unit="mV",
...            source="physics: GHK voltage equation", why="interpolation over 10 mV steps")
>>> c.passed, c.line()
(True, 'PASS  E_GABA: -71.98 mV, expected -72 mV +/- 1 (physics: GHK voltage equation)')
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["Check", "within", "relative", "at_most", "at_least", "holds", "table"]

#: the kinds of expectation a check can have
SOURCES = ("physics", "model", "paper", "protocol")


@dataclasses.dataclass(frozen=True)
class Check:
    """One check of a protocol (use the constructors below).

    name: short identifier; obtained / expected: numbers (or text for a
    condition); tolerance: the allowed deviation (``None`` for a condition);
    relation: ``abs`` (``|obtained - expected| <= tolerance``), ``rel``
    (``|obtained / expected - 1| <= tolerance``), ``max`` (obtained <=
    expected), ``min`` (obtained >= expected) or ``holds`` (a condition);
    unit: of obtained and expected; source: where the expectation comes from
    (starts with physics, model, paper or protocol); why: why the tolerance
    is what it is; passed: the verdict. A NaN never passes.
    """

    name: str
    obtained: object
    expected: object
    tolerance: float | None
    relation: str
    unit: str
    source: str
    why: str
    passed: bool

    def __post_init__(self):
        if self.relation not in ("abs", "rel", "max", "min", "holds"):
            raise ValueError(f"check {self.name!r}: unknown relation {self.relation!r}")
        if not str(self.source).split(":")[0].strip() in SOURCES:
            raise ValueError(f"check {self.name!r}: source must start with one of {SOURCES} "
                             f"(e.g. 'physics: GHK'), got {self.source!r}")
        object.__setattr__(self, "passed", bool(self.passed))

    @property
    def criterion(self) -> str:
        """The expectation as text (``-72 mV +/- 1``, ``<= 0.1``, ...)."""
        unit = f" {self.unit}" if self.unit and self.unit != "1" else ""
        exp = _fmt(self.expected)
        if self.relation == "abs":
            return f"{exp}{unit} +/- {_fmt(self.tolerance)}"
        if self.relation == "rel":
            return f"{exp}{unit} +/- {_fmt(100 * self.tolerance)} %"
        return {"max": f"<= {exp}{unit}", "min": f">= {exp}{unit}", "holds": exp}[self.relation]

    def line(self) -> str:
        """``PASS  name: obtained, expected ... (source)``."""
        unit = f" {self.unit}" if self.unit and self.unit != "1" \
            and self.relation != "holds" else ""
        return (f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {_fmt(self.obtained)}{unit}, "
                f"expected {self.criterion} ({self.source})")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["criterion"] = self.criterion
        return out


def _fmt(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    return f"{x:.6g}"


def _number(x) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan


def within(name, obtained, expected, tolerance, unit, source, why) -> Check:
    """``|obtained - expected| <= tolerance``."""
    diff = abs(_number(obtained) - _number(expected))
    return Check(name, obtained, expected, float(tolerance), "abs", unit, source, why,
                 diff <= tolerance)


def relative(name, obtained, expected, tolerance, unit, source, why) -> Check:
    """``|obtained / expected - 1| <= tolerance`` (a fraction: 0.1 is 10 %); an
    expected value of 0 has no relative deviation and never passes (use
    :func:`within`)."""
    e = _number(expected)
    dev = abs(_number(obtained) / e - 1) if e else math.nan
    return Check(name, obtained, expected, float(tolerance), "rel", unit, source, why,
                 dev <= tolerance)


def at_most(name, obtained, limit, unit, source, why) -> Check:
    """obtained <= limit."""
    return Check(name, obtained, limit, None, "max", unit, source, why,
                 _number(obtained) <= _number(limit))


def at_least(name, obtained, limit, unit, source, why) -> Check:
    """obtained >= limit."""
    return Check(name, obtained, limit, None, "min", unit, source, why,
                 _number(obtained) >= _number(limit))


def holds(name, condition: bool, obtained: str, expected: str, source, why="") -> Check:
    """A condition (an order of events, a sign): obtained and expected as text."""
    return Check(name, obtained, expected, None, "holds", "", source, why, bool(condition))


def table(checks):
    """The checks as a DataFrame (one row each), for CSV output."""
    import pandas as pd

    # tolerance a number (NaN where the relation has none), so that the column
    # has one type in every format (Parquet keeps types)
    rows = [{**c.to_dict(), "obtained": _fmt(c.obtained), "expected": _fmt(c.expected),
             "tolerance": math.nan if c.tolerance is None else float(c.tolerance),
             "result": "PASS" if c.passed else "FAIL"} for c in checks]
    columns = ["name", "result", "obtained", "expected", "tolerance", "relation", "unit",
               "criterion", "source", "why"]
    return pd.DataFrame(rows, columns=columns)
