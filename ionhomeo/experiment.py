"""The skeleton every protocol is written on: a validated spec, a NEURON session,
and a protocol class that only declares what is particular to its experiment.

A protocol is a subclass of :class:`Protocol` with

* ``name`` and ``description``;
* ``Spec``: a frozen dataclass (subclass of :class:`Spec`) whose fields,
  declared with :func:`param`, are the protocol's options, with unit, range
  and meaning; every field can be set as ``protocol(name=value)`` and from
  the command line (``ionhomeo run NAME --set name=value``);
* ``geometry(spec)`` (optional): the protocol's own model, a
  :class:`ionhomeo.geometry.Geometry`, with ``preset`` the recipe it gets;
* ``measure(spec, session)``: build and simulate (cells from
  ``session.cell(spec)``, runs through :func:`ionhomeo.simulate.run`),
  returning the raw data;
* ``report(spec, data)``: a :class:`Report` (summary rows, tables, checks);
* ``figure(spec, data, report)`` (optional): a matplotlib Figure.

The skeleton does the rest: it validates the options, opens the NEURON
session (mechanisms loaded, ionhomeo's defaults applied, the solver settings
saved and restored, every cell destroyed and every NEURON object dropped at
the end), writes the outputs as one set with their provenance (the spec, the
cells, the defaults, versions) and returns the
:class:`~ionhomeo.protocols.common.Result`.

The model policy is the same for every protocol: ``morphology`` given: the
protocol runs on that reconstruction with ``recipe`` (default ``mature``);
``morphology`` None: on the protocol's own geometry with ``recipe`` (default
its ``preset``); a protocol without a geometry of its own names its default
morphology in its spec. Nothing given is ever ignored.

A complete protocol in under 100 lines is in the README (developer guide).
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import math
import time
import typing

__all__ = ["param", "Spec", "Session", "Protocol", "Report"]


def param(default, unit: str = "", doc: str = "", low=None, high=None, *,
          inclusive: bool = False, choices=None, optional: bool = False):
    """A protocol option: its default, unit (``""`` for a pure number), meaning
    and range (numbers: ``> low`` (``>= low`` with ``inclusive``) and ``<=
    high``; sequences: each element). ``optional``: None is allowed."""
    if isinstance(default, list):
        default = tuple(default)
    meta = {"unit": unit, "doc": doc, "low": low, "high": high, "inclusive": inclusive,
            "choices": tuple(choices) if choices else None,
            "optional": optional or default is None}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of the protocols' option sets: every field is validated on creation.

    ``morphology``: None (the protocol's own geometry), a bundled cell name
    or an SWC/ASC path; ``recipe``: None (the default for the model), a preset
    name, a TOML path or a :class:`ionhomeo.recipe.Recipe`.
    """

    morphology: object = param(None, doc="reconstruction (None: the protocol's own geometry)")
    recipe: object = param(None, doc="recipe or preset (None: the model's default)")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = _checked(field, getattr(self, field.name))
            object.__setattr__(self, field.name, value)

    @classmethod
    def options(cls) -> list:
        """[(name, unit, default, doc)] of every option."""
        return [(f.name, f.metadata.get("unit", ""), f.default, f.metadata.get("doc", ""))
                for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict:
        """The options as given (recipes and paths as text), for the provenance."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hasattr(value, "to_dict"):
                value = getattr(value, "name", str(value))
            elif not isinstance(value, (int, float, str, bool, tuple, type(None))):
                value = str(value)
            unit = field.metadata.get("unit", "")
            out[field.name] = {"value": value, "unit": unit} if unit else value
        return out


def _checked(field, value):
    """``value`` for option ``field``, converted (lists to tuples, ints to floats);
    ParameterError names the option, the value and the allowed range."""
    from .mechanisms import ParameterError

    meta, name = field.metadata, field.name
    if value is None:
        if meta.get("optional") or field.name in ("morphology", "recipe"):
            return None
        raise ParameterError(f"{name} must be given (None is not allowed)")
    default = field.default
    if meta.get("choices") is not None:
        if value not in meta["choices"]:
            raise ParameterError(f"{name} must be one of {', '.join(map(repr, meta['choices']))}, "
                                 f"got {value!r}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False, got {value!r}")
        return value
    if isinstance(default, tuple) or isinstance(value, (list, tuple)):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ParameterError(f"{name} must be a list, got {value!r}")
        if default and isinstance(default[0], str):
            return tuple(value)
        return tuple(_number(name, x, meta) for x in value)
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{name} must be a whole number, got {value!r}")
        _number(name, value, meta)
        return value
    if isinstance(default, float) or (default is None and meta.get("unit")):
        return _number(name, value, meta)
    return value


def _number(name, value, meta) -> float:
    from .mechanisms import ParameterError

    unit = f" {meta['unit']}" if meta.get("unit") else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number{unit and ' (' + unit.strip() + ')'}"
                             f", got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and not (value >= low if meta.get("inclusive") else value > low):
        raise ParameterError(f"{name} must be {'>=' if meta.get('inclusive') else '>'} "
                             f"{low:g}{unit}, got {value!r}")
    if high is not None and not value <= high:
        raise ParameterError(f"{name} must be <= {high:g}{unit}, got {value!r}")
    return float(value)


class Session:
    """NEURON for one protocol run (a context manager).

    Entering loads the mechanisms and stdrun.hoc, applies ionhomeo's defaults
    (``defaults``: None or a :class:`ionhomeo.defaults.Defaults`) and saves
    the solver settings; leaving restores them, destroys every cell made with
    :meth:`cell` and drops every object given to :meth:`keep`, whatever
    happened.
    """

    def __init__(self, protocol=None, defaults=None, progress=None):
        self.protocol, self._defaults_arg, self.progress = protocol, defaults, progress
        self.cells, self._kept = [], []
        self.h = self.defaults = self._saved = None

    def __enter__(self):
        from neuron import h

        from . import build, defaults as defaults_mod, solver

        build.load()
        h.load_file("stdrun.hoc")
        self.h = h
        self.defaults = defaults_mod.apply(self._defaults_arg)
        self._saved = solver.save()
        return self

    def __exit__(self, *exc):
        from . import solver

        try:
            solver.restore(self._saved)
        finally:
            self._kept.clear()
            for cell in self.cells:
                cell.destroy()
            self.cells.clear()
            gc.collect()
        return False

    def keep(self, obj):
        """Hold a NEURON object (stimulus, synapse, vector) until the session ends."""
        self._kept.append(obj)
        return obj

    def cell(self, spec=None, *, morphology=None, recipe=None, geometry=None, preset=None,
             **cell_options):
        """A :class:`ionhomeo.cell.Cell` by the protocols' model policy (module
        docstring), destroyed when the session ends.

        With ``spec``: its ``morphology`` and ``recipe``, the protocol's
        ``geometry(spec)`` and ``preset``; keywords override them.
        """
        from .cell import Cell

        if spec is not None:
            morphology = spec.morphology if morphology is None else morphology
            recipe = spec.recipe if recipe is None else recipe
            if geometry is None and self.protocol is not None and morphology is None:
                geometry = self.protocol.geometry(spec)
                preset = self.protocol.preset if preset is None else preset
        if morphology is not None:
            cell = Cell(morphology, recipe if recipe is not None else "mature", **cell_options)
        elif geometry is not None:
            cell = Cell(geometry, recipe if recipe is not None else preset, **cell_options)
        else:
            raise ValueError("Session.cell needs a morphology or a geometry")
        self.cells.append(cell)
        return cell



@dataclasses.dataclass
class Report:
    """What a protocol's ``report`` returns.

    rows: summary rows (quantity, value, unit, description); timecourse: the
    main table (a DataFrame); tables: other tables {key: DataFrame}, written
    as NAME_<key>.csv (the timecourse is NAME.csv); checks: :class:`Check`
    objects; metadata: anything else for the JSON (measurements, fit
    details, cells); warnings: notes for the user (failed checks are added).
    """

    rows: list
    timecourse: object = None
    tables: dict = dataclasses.field(default_factory=dict)
    checks: list = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)
    warnings: list = dataclasses.field(default_factory=list)


class Protocol:
    """Base class of the protocols (module docstring); an instance is called
    like a function: ``protocol(out_dir=None, **options)`` returns a Result."""

    name: str = ""
    description: str = ""
    Spec: type = Spec
    #: the recipe of the protocol's own geometry (a preset name)
    preset: str | None = None

    def geometry(self, spec):
        """The protocol's own model (None: it needs a morphology)."""
        return None

    def measure(self, spec, session):
        raise NotImplementedError

    def report(self, spec, data) -> Report:
        raise NotImplementedError

    def figure(self, spec, data, report):
        return None

    # -- the skeleton ----------------------------------------------------

    @property
    def run(self):
        """The protocol as a function (its signature lists the options)."""
        return self

    @property
    def __signature__(self):
        params = [inspect.Parameter("out_dir", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    default=None)]
        hints = typing.get_type_hints(self.Spec) if self.Spec.__annotations__ else {}
        for name, unit, default, _ in self.Spec.options():
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                            default=default, annotation=hints.get(name, object)))
        for extra in ("defaults", "progress"):
            params.append(inspect.Parameter(extra, inspect.Parameter.KEYWORD_ONLY, default=None))
        return inspect.Signature(params)

    def spec(self, **options):
        """The validated options (ParameterError for an unknown or bad one)."""
        from .mechanisms import ParameterError

        known = [f.name for f in dataclasses.fields(self.Spec)]
        unknown = [k for k in options if k not in known]
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"protocol {self.name} has no option {unknown[0]!r}.{hint} "
                                 f"Its options: {', '.join(known)}")
        return self.Spec(**options)

    def __call__(self, out_dir=None, *, defaults=None, progress=None, **options):
        from . import results
        from .protocols.common import finish, summary_dict, summary_table

        start_clock = time.perf_counter()
        spec = self.spec(**options)
        if out_dir is not None:
            results.check_output_dir(out_dir)  # before computing
        with Session(self, defaults=defaults, progress=progress) as session:
            data = self.measure(spec, session)
            defaults_used = session.defaults.to_dict()
        report = self.report(spec, data)
        summary = summary_table([(q, float(v), u, d) for q, v, u, d in report.rows])
        warnings = list(report.warnings)
        warnings += [f"check failed: {c.line()[6:]}" for c in report.checks if not c.passed]
        metadata = results.provenance(
            protocol=self.name, description=self.description, spec=spec.to_dict(),
            defaults=defaults_used, **report.metadata, summary=summary_dict(summary),
            checks=[c.to_dict() for c in report.checks], warnings=warnings)
        tables = {"": report.timecourse} if report.timecourse is not None else {}
        tables.update(report.tables)
        if report.checks:
            from .checks import table

            tables["checks"] = table(report.checks)
        result = finish(out_dir, self.name, summary, metadata, start_clock, report.timecourse,
                        figure=lambda: self.figure(spec, data, report), tables=tables,
                        checks=tuple(report.checks))
        return result
