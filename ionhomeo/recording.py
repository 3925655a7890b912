"""Recording variables of a cell, at single segments or averaged over regions.

>>> rec = Recorder(cell)                           # doctest: +SKIP
>>> rec.record("v", at=cell.soma_center)           # doctest: +SKIP
>>> rec.record("cai", region="apical")             # doctest: +SKIP
>>> cell.initialize()        # after the record calls  # doctest: +SKIP
>>> simulate.run(1000)                             # doctest: +SKIP
>>> df = rec.dataframe()                           # doctest: +SKIP

Variables are named as NEURON names them at a segment: ``"v"``; ion
concentrations (``"cai"``, ``"nao"``), ion currents (``"ina"``) and reversal
potentials (``"ek"``); mechanism range variables as ``"name_mechanism"``
(``"ipump_nakpump"``, ``"cab_cadyn"``). Their units come from the mod files
(:func:`ionhomeo.mechanisms.units`); values are kept in those units.

Everything is recorded by NEURON Vectors (``Vector.record``): no Python code
runs inside the integration loop. One time Vector, recorded with the same
settings as every variable, is the time base of all traces, so every trace
and every segment of a region average shares the same sample times:

* ``dt_ms=None`` (default): every integration step (fixed step: every dt;
  CVODE: every variable step, which also samples the end of each
  ``CVode.solve``);
* ``dt_ms=x``: every x ms (under CVODE the values at those times are
  CVODE's interpolants, accurate to its tolerance). NEURON schedules these
  samples by adding dt_ms repeatedly, so the one due exactly at the end of a
  run can fall a rounding error after it and is then taken only when the
  simulation continues: a run to 3000 ms sampled every 1 ms may end at
  2999 ms. Every-step recording always includes the end.

NEURON starts (and clears) recordings in ``h.finitialize()``: make every
``record`` call before initialising. A variable recorded afterwards stays
empty until the next initialisation, and :meth:`Recorder.dataframe` says so.

Region averages
---------------
``record(variable, region=...)`` resolves the region through
``cell.segments(region)`` when it is called, records each segment, and
averages them when the table is made, with weights fixed at that moment:

* by segment volume (``seg.volume()``, the cytosolic volume) for
  concentrations and per-volume quantities: variables whose units are
  ``mM`` or ``mM/...`` (ion concentrations ``<ion>i``/``<ion>o``, buffer and
  pool states, ``catot_cadyn``, ``j_erleak``). The average is then the
  concentration of the pooled region (total amount over total volume).
  Organelle pools (``caeri``, ``camti``) are weighted by the cytosolic volume
  too: exact if their volume fraction is the same in every segment;
* by membrane area (``seg.area()``) for everything else: ``v``, current
  densities, conductances, gating states. The average current density is the
  region's total current over its total area.

Variables whose units ionhomeo does not know (mechanisms compiled outside
ionhomeo) can be recorded at single segments (unit ``"unknown"``) but not
averaged, since the weighting would be a guess.
"""

from __future__ import annotations

import dataclasses
import difflib
import math

from . import mechanisms

__all__ = ["Recorder", "Recording", "RecordingError", "COLUMNS", "reference", "weighting_for"]

#: columns of :meth:`Recorder.dataframe`
COLUMNS = ("t_ms", "variable", "where", "value", "unit")


class RecordingError(ValueError):
    """A variable that cannot be recorded where asked, or a misuse of Recorder."""


@dataclasses.dataclass(frozen=True)
class Recording:
    """What one trace is.

    :variable: NEURON's name (``"cai"``, ``"ipump_nakpump"``).
    :where: the segment (``"soma(0.5)"``, NEURON's name of it) or the region
        expression as given.
    :unit: units of the values (from the mod files).
    :weighting: ``"segment"`` (a single segment), ``"volume"`` or ``"area"``
        (region averages, see the module documentation).
    :n_segments: segments averaged (1 for a single segment).
    """

    variable: str
    where: str
    unit: str
    weighting: str
    n_segments: int

    def __post_init__(self):
        if self.weighting not in ("segment", "volume", "area"):
            raise ValueError(f"Recording.weighting must be 'segment', 'volume' or 'area', "
                             f"got {self.weighting!r}")
        if not (isinstance(self.n_segments, int) and self.n_segments >= 1):
            raise ValueError(f"Recording.n_segments must be an integer >= 1, got {self.n_segments!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _is_segment(obj) -> bool:
    from neuron import nrn

    # type(), not isinstance(): isinstance raises ReferenceError for a deleted section
    return issubclass(type(obj), nrn.Segment)


def _what_is_there(seg) -> tuple:
    """({mechanism: [range variables]}, {ion: [variables]}) at ``seg``."""
    mechs, ions = {}, {}
    for mech in seg:
        names = [rv.name() for rv in mech if not rv.name().endswith("_dv_")]
        if mech.is_ion():
            ions[mech.name()[: -len("_ion")]] = names
        else:
            mechs[mech.name()] = names
    return mechs, ions


def _listing(mechs: dict, ions: dict) -> str:
    parts = ["v"]
    parts += [f"{ion}: {', '.join(names)}" for ion, names in sorted(ions.items())]
    parts += [f"{mech}: {', '.join(names) or '(no range variables)'}"
              for mech, names in sorted(mechs.items())]
    return "; ".join(parts)


def _not_there(seg, variable: str, mechs: dict, ions: dict) -> RecordingError:
    """The clearest error for a variable that does not exist at ``seg``."""
    here = f"at {seg}"
    ion = mechanisms._ion_variable(variable, mechanisms.known_ions() | set(ions))
    if ion is not None:
        return RecordingError(
            f"cannot record {variable!r} {here}: no mechanism there uses the ion "
            f"{ion[0]!r}. Ions there: {', '.join(sorted(ions)) or '(none)'}. "
            f"Insert a mechanism that uses {ion[0]} (e.g. its concentration owner), "
            f"or record where it is.")
    name, _, mech = variable.rpartition("_")
    if name and mech:
        cat = mechanisms.catalog()
        if mech in cat and cat[mech].kind == "point":
            return RecordingError(
                f"cannot record {variable!r} {here}: {mech} is a point process, not a "
                f"density mechanism; record from the object itself, e.g. "
                f"h.Vector().record(obj._ref_{name})")
        if mech in mechs:
            if mech in cat and name in cat[mech].parameters \
                    and cat[mech].parameters[name].scope == "global":
                return RecordingError(
                    f"cannot record {variable!r} {here}: {name} is a GLOBAL parameter of "
                    f"{mech}, one value for every segment (h.{variable}), not a range variable")
            close = difflib.get_close_matches(variable, mechs[mech], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            return RecordingError(
                f"cannot record {variable!r} {here}: {mech} has no range variable "
                f"{name!r}.{hint} Its range variables: {', '.join(mechs[mech]) or '(none)'}")
        if mech in cat or mech in mechanisms._BUILTIN_MECHANISM_UNITS:
            return RecordingError(
                f"cannot record {variable!r} {here}: mechanism {mech!r} is not inserted "
                f"there. Mechanisms there: {', '.join(sorted(mechs)) or '(none)'}")
    everything = ["v"] + [n for names in ions.values() for n in names] \
        + [n for names in mechs.values() for n in names]
    close = difflib.get_close_matches(variable, everything, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return RecordingError(
        f"unknown variable {variable!r} {here}.{hint} Recordable there: "
        f"{_listing(mechs, ions)}")


def reference(seg, variable: str):
    """NEURON's pointer to ``variable`` at segment ``seg``; RecordingError if absent.

    ``variable`` is ``"v"``, an ion variable (``"cai"``, ``"ina"``, ``"ek"``)
    or a mechanism range variable ``"name_mechanism"``. The error names what
    is missing and lists what can be recorded at that segment.
    """
    if not isinstance(variable, str) or not variable:
        raise RecordingError(f"the variable must be a non-empty string, got {variable!r}")
    mechs, ions = _what_is_there(seg)
    present = {"v"} | {n for names in ions.values() for n in names} \
        | {n for names in mechs.values() for n in names}
    if variable in present or variable in mechanisms._NEURON_VARIABLES:
        try:
            return getattr(seg, f"_ref_{variable}")
        except (AttributeError, LookupError, RuntimeError):
            pass
    raise _not_there(seg, variable, mechs, ions)


def _unit(variable: str):
    try:
        return mechanisms.units(variable)
    except mechanisms.UnknownVariableError:
        return None


def weighting_for(unit: str) -> str:
    """``"volume"`` for concentrations and per-volume rates (mM, mM/...), else ``"area"``."""
    return "volume" if unit == "mM" or unit.startswith("mM/") else "area"


class Recorder:
    """Records variables of ``cell`` with NEURON Vectors.

    :cell: anything with a ``segments(region)`` method returning a list of
        segments (an :class:`ionhomeo.cell.Cell`); may be None when only
        single segments are recorded (``at=``).
    :dt_ms: sampling interval (ms), or None for every integration step.

    Make the ``record`` calls before initialising (``h.finitialize`` or
    ``cell.initialize()``): NEURON starts recordings there.
    """

    def __init__(self, cell=None, *, dt_ms: float | None = None):
        from neuron import h

        from . import build

        if dt_ms is not None:
            if isinstance(dt_ms, bool) or not isinstance(dt_ms, (int, float)) \
                    or not math.isfinite(dt_ms) or dt_ms <= 0:
                raise RecordingError(f"dt_ms must be a number > 0 (ms) or None (every step), "
                                     f"got {dt_ms!r}")
            dt_ms = float(dt_ms)
            if not 1e-9 <= dt_ms <= 1e9:
                raise RecordingError(f"dt_ms = {dt_ms:g} ms is outside the sampling intervals "
                                     "NEURON records at (1e-9 to 1e9 ms)")
        if cell is not None and not callable(getattr(cell, "segments", None)):
            raise RecordingError(
                f"Recorder(cell) needs a cell with a segments(region) method (an "
                f"ionhomeo.cell.Cell), or None to record single segments with at=; got "
                f"{type(cell).__name__} {cell!r}")
        build.ensure_loaded()
        self.cell = cell
        self.dt_ms = dt_ms
        self._h = h
        # the time base: recorded with the first variable, in the context of
        # its section (NEURON places a record on the thread of a section; the
        # default section may be a deleted one)
        self._t = None
        # (Recording, [Vector, ...], [weight, ...]) in the order recorded
        self._traces = []
        self._index = {}

    def _record(self, vec, ref, sec):
        if self.dt_ms is None:
            vec.record(ref, sec=sec)
        else:
            vec.record(ref, self.dt_ms, sec=sec)

    def record(self, variable: str, at=None, region=None) -> Recording:
        """Record ``variable`` at segment ``at`` or averaged over ``region``.

        Give exactly one of ``at`` (a segment, e.g. ``soma(0.5)``) and
        ``region`` (a region expression for ``cell.segments``). Returns the
        :class:`Recording`; recording the same thing twice returns the first.
        Raises RecordingError if the variable does not exist at a segment
        (naming the segment and what can be recorded there) or the region is
        empty.
        """
        if (at is None) == (region is None):
            raise RecordingError(
                f"record({variable!r}, ...) needs exactly one of at=<segment> (e.g. soma(0.5)) "
                f"or region=<region expression> (e.g. 'apical')")
        if at is not None:
            if not _is_segment(at):
                kind = "a section" if type(at).__name__ == "Section" else type(at).__name__
                raise RecordingError(
                    f"at= must be a segment such as soma(0.5), got {kind} {at!r}")
            try:
                at.sec.name()
            except ReferenceError:
                raise RecordingError(
                    f"cannot record {variable!r} at {at}: its section was deleted "
                    "(h.delete_section or Cell.destroy); record at a segment of a section "
                    "that exists") from None
            segments, where = [at], str(at)
        else:
            if self.cell is None:
                raise RecordingError(
                    f"record({variable!r}, region={region!r}) needs a cell: Recorder(cell)")
            where = region if isinstance(region, str) else str(region)
            segments = list(self.cell.segments(region))
            if not segments:
                raise RecordingError(f"region {where!r} has no segments in this cell; "
                                     f"nothing to record {variable!r} from")
            for seg in segments:
                if not _is_segment(seg):
                    raise RecordingError(f"cell.segments({where!r}) returned {seg!r}, not a segment")
        key = (variable, where)
        if key in self._index:
            return self._traces[self._index[key]][0]

        refs = []
        for i, seg in enumerate(segments):
            try:
                refs.append(reference(seg, variable))
            except RecordingError as e:
                if region is None:
                    raise
                raise RecordingError(f"region {where!r} (segment {i + 1} of {len(segments)}): "
                                     f"{e}") from None
        unit = _unit(variable)
        if region is None:
            weighting, weights = "segment", [1.0]
        else:
            if unit is None:
                raise RecordingError(
                    f"cannot average {variable!r} over region {where!r}: its units are not "
                    f"known to ionhomeo (not from one of its mod files), so the weighting (by "
                    f"volume for concentrations, by area otherwise) is unknown; record single "
                    f"segments with at=")
            weighting = weighting_for(unit)
            weights = [seg.volume() if weighting == "volume" else seg.area() for seg in segments]
            if not sum(weights) > 0:
                raise RecordingError(f"region {where!r} has zero total {weighting}: "
                                     f"cannot average {variable!r}")
        if self._t is None:
            self._t = self._h.Vector()
            self._record(self._t, self._h._ref_t, segments[0].sec)
        vectors = []
        for seg, ref in zip(segments, refs):
            vec = self._h.Vector()
            self._record(vec, ref, seg.sec)
            vectors.append(vec)
        rec = Recording(variable=variable, where=where, unit=unit or "unknown",
                        weighting=weighting, n_segments=len(segments))
        self._index[key] = len(self._traces)
        self._traces.append((rec, vectors, [float(w) for w in weights]))
        return rec

    @property
    def recordings(self) -> tuple:
        """The :class:`Recording` of every trace, in the order recorded."""
        return tuple(rec for rec, _, _ in self._traces)

    def t_ms(self):
        """Sample times (ms) as a numpy array."""
        import numpy as np

        return np.array(self._t if self._t is not None else [], dtype=float)

    def _values(self, index: int, n: int):
        import numpy as np

        rec, vectors, weights = self._traces[index]
        total = None
        for vec, w in zip(vectors, weights):
            if len(vec) != n:
                if len(vec) == 0 and n > 0:
                    raise RecordingError(
                        f"{rec.variable!r} at {rec.where!r} has no samples: it was recorded "
                        f"after the simulation was initialised. NEURON starts recordings in "
                        f"h.finitialize(): call record() before initialising.")
                raise RecordingError(
                    f"{rec.variable!r} at {rec.where!r} has {len(vec)} samples but the time "
                    f"base has {n}: it was recorded after initialisation; call record() "
                    f"before h.finitialize()")
            x = np.array(vec, dtype=float)
            total = x * w if total is None else total + x * w
        return total / sum(weights)

    def trace(self, variable: str, where) -> tuple:
        """(t_ms, values) numpy arrays of one trace; ``where`` a label or a segment."""
        label = str(where)
        key = (variable, label)
        if key not in self._index:
            have = ", ".join(f"{r.variable} at {r.where}" for r in self.recordings) or "(nothing)"
            raise RecordingError(f"{variable!r} at {label!r} was not recorded; recorded: {have}")
        t = self.t_ms()
        return t, self._values(self._index[key], t.size)

    def dataframe(self):
        """Tidy table: columns t_ms, variable, where, value, unit; one row per sample.

        Rows are grouped by trace in the order recorded, in time order within
        a trace. Values are in the units of the ``unit`` column.
        """
        import pandas as pd

        t = self.t_ms()
        frames = []
        for i, (rec, _, _) in enumerate(self._traces):
            frames.append(pd.DataFrame({"t_ms": t, "variable": rec.variable, "where": rec.where,
                                        "value": self._values(i, t.size), "unit": rec.unit},
                                       columns=list(COLUMNS)))
        if not frames:
            return pd.DataFrame({"t_ms": pd.Series(dtype=float), "variable": pd.Series(dtype=object),
                                 "where": pd.Series(dtype=object), "value": pd.Series(dtype=float),
                                 "unit": pd.Series(dtype=object)})
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict:
        """What is recorded, for a run's metadata."""
        return {"dt_ms": self.dt_ms,
                "sampling": "every integration step" if self.dt_ms is None
                else f"every {self.dt_ms:g} ms",
                "recordings": [rec.to_dict() for rec in self.recordings]}

    def stop(self):
        """Stop recording (the samples so far are kept)."""
        if self._t is not None:
            self._t.play_remove()
        for _, vectors, _ in self._traces:
            for vec in vectors:
                vec.play_remove()

    def __repr__(self):
        return f"Recorder({len(self._traces)} traces, dt_ms={self.dt_ms!r})"
