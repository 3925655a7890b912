"""The scorecard: measured neurons against the model, each by simulating the measurement.

Each *target* (``targets_*.toml`` in this folder) is one measured quantity of
real neurons: its value and the range of the measured population, the
species, temperature, preparation and method, and the primary source. Each
names the *experiment* that reproduces its measurement in the model (a
current step for an input resistance, a bath of ouabain for the pump, an
added-buffer series for a buffer capacity) and the output of that experiment
that corresponds to it. The model's value is what the simulated experiment
gives, never a formula of the parameters.

Experiments are functions registered with :func:`experiment`; each receives
a :class:`Model` (a morphology and a recipe, and the NEURON session) and
returns ``{output: value}``. Every experiment starts from the cell's
whole-cell steady state (:meth:`Model.cell`) and leaves nothing behind.

A target's ``role`` is ``fit`` (used by the calibration, see
:mod:`ionhomeo.calibration`, or to set a parameter directly) or ``validation`` (held out of the fit and
reported separately). A target passes when the simulated value lies in its
range ``[low, high]``; how each range was taken from the measurement (the
population's mean +/- 1 SD, a reported range, or a sign for a qualitative
finding) is written with the target.

>>> from ionhomeo.scorecard import targets
>>> len(targets("mature")) >= 20
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path
from typing import Callable

from .. import _interrupt

__all__ = ["Target", "Model", "targets", "experiment", "start", "EXPERIMENTS", "evaluate", "TARGETS_DIR"]

#: the measured quantities, one [[target]] table each, in the files
#: ``targets_<topic>.toml`` of this folder (read in name order)
TARGETS_DIR = Path(__file__).parent

_FIELDS = ("id", "quantity", "presets", "value", "low", "high", "unit", "species",
           "temperature", "preparation", "method", "source", "range_rule", "experiment",
           "output", "role")
_OPTIONAL = ("note",)
ROLES = ("fit", "validation")


class ScorecardError(ValueError):
    """A malformed target table, or an experiment that cannot give its output."""


@dataclasses.dataclass(frozen=True)
class Target:
    """One measured quantity (see the module docstring); ``low``/``high`` may be
    +-inf for a one-sided (qualitative) finding."""

    id: str
    quantity: str
    presets: tuple
    value: float
    low: float
    high: float
    unit: str
    species: str
    temperature: str
    preparation: str
    method: str
    source: str
    range_rule: str
    experiment: str
    output: str
    role: str
    note: str = ""

    def passes(self, obtained: float) -> bool:
        """Is ``obtained`` within [low, high] (a NaN never passes)?"""
        return math.isfinite(obtained) and self.low <= obtained <= self.high

    @property
    def range_text(self) -> str:
        if math.isinf(self.low):
            return f"<= {self.high:g}"
        if math.isinf(self.high):
            return f">= {self.low:g}"
        return f"{self.low:g} .. {self.high:g}"


def _read() -> list:
    out, seen = [], set()
    for path in sorted(TARGETS_DIR.glob("targets_*.toml")):
        out += _read_file(path, seen)
    return out


def _read_file(path: Path, seen: set) -> list:
    from ..recipe import tomllib

    data = tomllib.loads(path.read_text())
    out = []
    for i, d in enumerate(data.get("target", []), 1):
        missing = [k for k in _FIELDS if k not in d]
        extra = [k for k in d if k not in _FIELDS + _OPTIONAL]
        if missing or extra:
            raise ScorecardError(f"{path.name}: target {i} ({d.get('id', '?')}): "
                                 f"missing {missing}, unknown {extra}")
        d = dict(d, presets=tuple(d["presets"]))
        for k in ("value", "low", "high"):
            d[k] = float(d[k])
        t = Target(**d)
        if t.id in seen:
            raise ScorecardError(f"{path.name}: target id {t.id!r} appears twice")
        if t.role not in ROLES or not (t.low < t.high and (
                math.isnan(t.value) or t.low <= t.value <= t.high)):
            raise ScorecardError(f"{path.name}: target {t.id!r}: role must be one of {ROLES}, "
                                 f"low < high, and low <= value <= high (value NaN: qualitative)")
        seen.add(t.id)
        out.append(t)
    return out


def targets(preset: str | None = None, role: str | None = None) -> list:
    """The targets (of ``preset``, ``mature`` or ``immature``; of ``role``, ``fit``
    or ``validation``), in the order of the file."""
    return [t for t in _read() if (preset is None or preset in t.presets)
            and (role is None or t.role == role)]


#: experiment name -> function(model) -> {output: value}
EXPERIMENTS: dict[str, Callable] = {}


def experiment(name: str):
    """Register ``fn(model) -> {output: value}`` as the experiment ``name``."""
    def register(fn):
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = fn
        return fn
    return register


@dataclasses.dataclass
class Model:
    """What an experiment runs on: ``morphology`` (a bundled name or a path),
    ``recipe`` (a :class:`ionhomeo.recipe.Recipe`) and the NEURON ``session``
    (:class:`ionhomeo.experiment.Session`)."""

    morphology: object
    recipe: object
    session: object

    @contextlib.contextmanager
    def cell(self, recipe=None, **cell_options):
        """A fresh cell (of ``recipe``, default the model's) at its whole-cell
        steady state, destroyed on leaving."""
        from ..cell import Cell

        cell = Cell(self.morphology, recipe if recipe is not None else self.recipe,
                    **cell_options)
        self.session.cells.append(cell)
        recipes = getattr(self.session, "recipes", None)
        if recipes is not None and self.recipe not in recipes:
            # the run's provenance names the model's recipe (an experiment's own
            # variant of it, a drug or an indicator, is part of the measurement)
            recipes.append(self.recipe)
        try:
            cell.initialize()
            yield cell
        finally:
            self.session.drop(cell)


def start(cell) -> float:
    """Start a run in the cell's resting state under CVODE (ionhomeo's settings),
    after the experiment has placed its stimuli, plays and recordings (NEURON
    takes them up at finitialize); returns the start time (ms)."""
    from neuron import h

    from .. import solver

    solver.use_cvode()
    cell.start()
    return float(h.t)


def _import_experiments() -> None:
    from . import calcium, chloride, electrical, energy, sodium  # noqa: F401 - they register


def evaluate(model: Model, wanted, progress=None) -> tuple:
    """Run the experiments the ``wanted`` targets need, once each.

    Returns (values, info): ``{target id: obtained}`` and ``{experiment:
    {"outputs": {...}, "cpu_s": ..., "error": text or None}}``. An experiment
    that fails gives NaN for its targets and records its error; the others
    still run.
    """
    _import_experiments()
    needed = list(dict.fromkeys(t.experiment for t in wanted))
    unknown = [e for e in needed if e not in EXPERIMENTS]
    if unknown:
        raise ScorecardError(f"targets name unknown experiments {unknown}; known: "
                             f"{', '.join(sorted(EXPERIMENTS))}")
    info = {}
    for k, name in enumerate(needed, 1):
        if progress:
            progress(f"experiment {k}/{len(needed)}: {name}")
        start = time.process_time()
        try:
            outputs, error = dict(EXPERIMENTS[name](model)), None
        except Exception as err:  # noqa: BLE001 - recorded; the other experiments go on
            _interrupt.check()  # unless it came from a Ctrl-C that NEURON swallowed
            outputs, error = {}, f"{type(err).__name__}: {err}"
        info[name] = {"outputs": outputs, "cpu_s": time.process_time() - start, "error": error}
    values = {}
    for t in wanted:
        out = info[t.experiment]["outputs"]
        if info[t.experiment]["error"] is None and t.output not in out:
            raise ScorecardError(f"experiment {t.experiment!r} gives {sorted(out)}, "
                                 f"not {t.output!r} (target {t.id!r})")
        values[t.id] = float(out.get(t.output, math.nan))
    return values, info
