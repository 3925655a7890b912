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
* ``figure(spec, data, report)`` (optional): a matplotlib Figure, drawn with
  :mod:`ionhomeo.plotting` (the house style; axes labelled with their units
  and the table columns they show).

The skeleton does the rest: it validates the options, opens the NEURON
session (mechanisms loaded, ionhomeo's defaults applied, the solver settings
saved and restored, every cell destroyed and every NEURON object dropped at
the end), writes the outputs as one set with their provenance (the spec, the
cells, the defaults, versions) and returns the
:class:`~ionhomeo.experiment.Result`.

The model policy is the same for every protocol: ``morphology`` given: the
protocol runs on that reconstruction with ``recipe`` (default the protocol's
``cell_recipe``, ``mature`` unless the protocol says otherwise);
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

__all__ = ["param", "Spec", "Session", "Protocol", "Report", "Result"]


def param(default, unit: str = "", doc: str = "", low=None, high=None, *,
          inclusive: bool = False, choices=None, optional: bool = False, min_items: int = 1):
    """A protocol option: its default, unit (``""`` for a pure number), meaning
    and range (numbers: ``> low`` (``>= low`` with ``inclusive``) and ``<=
    high``; sequences: each element, and at least ``min_items`` of them).
    ``optional``: None is allowed."""
    if isinstance(default, list):
        default = tuple(default)
    meta = {"unit": unit, "doc": doc, "low": low, "high": high, "inclusive": inclusive,
            "choices": tuple(choices) if choices else None,
            "optional": optional or default is None, "min_items": min_items}
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
        if len(value) < meta.get("min_items", 1):
            raise ParameterError(f"{name} needs at least {meta.get('min_items', 1)} value(s), "
                                 f"got {len(value)}")
        if default and isinstance(default[0], str):
            bad = [x for x in value if not isinstance(x, str)]
            if bad:
                raise ParameterError(f"{name} is a list of names, got {bad[0]!r}")
            return tuple(value)
        return tuple(_number(name, x, meta) for x in value)
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{name} must be a whole number, got {value!r}")
        _number(name, value, meta)
        return value
    if isinstance(default, float) or (default is None and (
            meta.get("unit") or meta.get("low") is not None or meta.get("high") is not None)):
        return _number(name, value, meta)
    if isinstance(default, str) and not isinstance(value, str):
        raise ParameterError(f"{name} must be text, got {value!r}")
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


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """What a protocol returns.

    :summary: DataFrame with columns quantity, value, unit, description.
    :timecourse: tidy DataFrame (time in a column named with its unit, e.g. t_s
        or t_ms; variable, value, unit), or the protocol's main table.
    :metadata: provenance, parameters, steady state, fit details, warnings.
    :figures: paths of the figures written (empty without an output directory).
    :files: every path written.
    """

    summary: object
    timecourse: object
    metadata: dict
    figures: tuple = ()
    files: tuple = ()
    checks: tuple = ()

    @property
    def passed(self):
        """True if every check passed, False if one failed, None without checks."""
        return all(c.passed for c in self.checks) if self.checks else None

    def check(self, name: str):
        """The :class:`ionhomeo.checks.Check` called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; have: {', '.join(c.name for c in self.checks)}")

    def value(self, quantity: str) -> float:
        """The summary value of ``quantity`` (e.g. ``"Vm"``)."""
        rows = self.summary.loc[self.summary["quantity"] == quantity, "value"]
        if rows.empty:
            raise KeyError(f"no summary quantity {quantity!r}; have: "
                           f"{', '.join(self.summary['quantity'])}")
        return float(rows.iloc[0])


def summary_table(rows):
    """DataFrame with columns quantity, value, unit, description from row tuples."""
    import pandas as pd

    return pd.DataFrame(rows, columns=["quantity", "value", "unit", "description"])


def recipe_record(recipe) -> dict:
    """{name, calibrated, method} of a recipe a protocol ran on, for the JSON and the
    printed header (method: the calibration's, or None)."""
    return {"name": recipe.name, "calibrated": bool(recipe.calibrated),
            "method": recipe.calibration.get("method") if recipe.calibrated else None}


def summary_dict(summary) -> dict:
    """{quantity: {"value", "unit"}} of a summary table, for the JSON provenance."""
    return {q: {"value": v, "unit": u}
            for q, v, u in zip(summary["quantity"], summary["value"], summary["unit"])}


def write_outputs(out_dir, name, summary, metadata, figure=None, tables=None,
                  start_clock=None, format: str = "csv") -> tuple:
    """Write NAME.csv (table with key ""), NAME_<key>.csv (others),
    NAME_summary.csv, NAME.png and NAME.json to ``out_dir`` as one set.

    ``format``: "csv", or "parquet" for every table (``.parquet`` files; needs
    pyarrow: an ImportError naming ``pip install pyarrow`` is raised before
    anything is written).

    The files appear together or not at all (:func:`ionhomeo.results.result_set`),
    and NAME.json lists every other file with its size and SHA-256 under
    ``files``. ``figure``: a matplotlib figure, or a callable returning one; if
    drawing or saving it fails, the data are still written, without the
    figure, and the failure is recorded in the JSON's ``warnings`` (and
    warned), so nothing computed is lost. The figure is drawn in the house
    style and finished by :func:`ionhomeo.plotting.finish` (panel letters, a
    title naming ``name``); what it shows (:func:`ionhomeo.plotting.describe`)
    is written to the JSON under ``figure``. Metadata that cannot be written as
    JSON raise before anything is written. Returns (files, figures): the
    paths in ``out_dir``.
    """
    import json
    import warnings as _warnings

    from . import results

    if format not in results.RUN_FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, results.RUN_FORMATS))}, "
                         f"got {format!r}")
    if format == "parquet":
        results._parquet_engine()  # ImportError naming the fix, before anything is written
    write_table = results.write_csv if format == "csv" else results.write_parquet
    out = results.check_output_dir(out_dir)
    stems = [name if key == "" else f"{name}_{key}" for key in (tables or {})]
    if start_clock is not None:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    metadata["files"] = []
    json.dumps(results.jsonable(metadata), allow_nan=False)  # raises before writing
    json_name = f"{name}.json"
    written, figures = [], []
    with results.result_set(out, json_name) as folder:
        for stem, table in zip(stems, (tables or {}).values()):
            written.append(write_table(table, folder / f"{stem}.{format}"))
        written.append(write_table(summary, folder / f"{name}_summary.{format}"))
        if figure is not None:
            try:
                from . import plotting

                with plotting.style():  # the house style, whoever drew the figure
                    fig = figure() if callable(figure) else figure
                if fig is not None:
                    plotting.finish(fig, name)
                    shows = {"file": f"{name}.png", **plotting.describe(fig)}
                    figures.append(results.save_figure(fig, folder / f"{name}.png"))
                    metadata["figure"] = shows
            except Exception as err:  # noqa: BLE001 - the data are kept, the failure said
                note = f"figure not written: {type(err).__name__}: {err}"
                metadata.setdefault("warnings", []).append(note)
                _warnings.warn(note, RuntimeWarning, stacklevel=2)
        metadata["files"] = [results.file_entry(path) for path in written + figures]
        results.write_json(metadata, folder / json_name)
    files = [out / p.name for p in written] + [out / json_name]
    figures = [out / p.name for p in figures]
    return tuple(files + figures), tuple(figures)


def finish(out_dir, name, summary, metadata, start_clock, timecourse, figure=None,
           tables=None, checks=(), format: str = "csv") -> "Result":
    """The end of every protocol: write the outputs to ``out_dir`` (if given)
    and return the Result.

    figure: a callable returning the figure, called only when writing (a
    figure is not drawn for a run without an output directory); tables: as
    in :func:`write_outputs`, or a callable returning them (built only when
    writing), by default ``{"": timecourse}``; format: of the tables, "csv" or
    "parquet" (:func:`write_outputs`). If the files cannot be
    written, the OutputError raised carries the Result as ``err.result``.
    """
    from .results import OutputError

    files = figures = ()
    if out_dir is not None:
        if tables is None:
            tables = {"": timecourse}
        elif callable(tables):
            tables = tables()
        try:
            files, figures = write_outputs(out_dir, name, summary, metadata, figure=figure,
                                           tables=tables, start_clock=start_clock,
                                           format=format)
        except OutputError as err:
            err.result = Result(summary=summary, timecourse=timecourse, metadata=metadata,
                                checks=tuple(checks))
            raise
    else:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    return Result(summary=summary, timecourse=timecourse, metadata=metadata, figures=figures,
                  files=files, checks=tuple(checks))


class Session:
    """NEURON for one protocol run (a context manager).

    Entering loads the mechanisms and stdrun.hoc, applies ionhomeo's defaults
    (``defaults``: None or a :class:`ionhomeo.defaults.Defaults`) and saves
    the solver settings and the temperature; leaving restores them (the
    temperature as it was before the defaults), destroys every cell made with
    :meth:`cell` and drops every object given to :meth:`keep`, whatever
    happened.
    """

    def __init__(self, protocol=None, defaults=None, progress=None):
        self.protocol, self._defaults_arg, self.progress = protocol, defaults, progress
        self.cells, self._kept, self.recipes = [], [], []
        self.h = self.defaults = self._saved = self._celsius = None

    def __enter__(self):
        from neuron import h

        from . import build, defaults as defaults_mod, solver

        build.load()
        h.load_file("stdrun.hoc")
        self.h = h
        self._celsius = h.celsius  # a recipe may set the temperature
        self.defaults = defaults_mod.apply(self._defaults_arg)
        self._saved = solver.save()
        return self

    def __exit__(self, *exc):
        from . import solver

        try:
            solver.restore(self._saved)
            self.h.celsius = self._celsius
        finally:
            self._kept.clear()
            for cell in self.cells:
                cell.destroy()
            self.cells.clear()
            gc.collect()
        return False

    def say(self, text: str) -> None:
        """A progress line on stderr, ``ionhomeo: <protocol>: text``
        (:mod:`ionhomeo.progress`: silent with ``progress=False`` or
        ``IONHOMEO_QUIET``)."""
        from . import progress

        name = getattr(self.protocol, "name", "")
        progress.message(f"{name}: {text}" if name else text)

    def conditions(self, items, label=str, first: int = 1, total: int | None = None):
        """Iterate over a protocol's conditions (recipes, drugs, loads ...),
        saying ``condition k/n: <label(item)>`` before each (k from ``first``,
        n = ``total`` or the number of items: a protocol whose conditions come
        in several loops numbers them through)."""
        items = list(items)
        total = len(items) + first - 1 if total is None else total
        for k, item in enumerate(items, first):
            self.say(f"condition {k}/{total}: {label(item)}")
            yield item

    def drop(self, cell) -> None:
        """Destroy ``cell`` now (CVODE integrates every section that exists, so a
        protocol that measures cells one after another drops each when done)."""
        cell.destroy()
        if cell in self.cells:
            self.cells.remove(cell)

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
            if recipe is None:
                recipe = getattr(self.protocol, "cell_recipe", None) or "mature"
            cell = Cell(morphology, recipe, **cell_options)
        elif geometry is not None:
            cell = Cell(geometry, recipe if recipe is not None else preset, **cell_options)
        else:
            raise ValueError("Session.cell needs a morphology or a geometry")
        self.cells.append(cell)
        if cell.recipe not in self.recipes:  # every recipe the protocol ran on, once
            self.recipes.append(cell.recipe)
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



class _instance_property:
    """A property of instances only: on the class itself it is None, so that
    ``inspect.signature(Protocol)`` (Sphinx's autodoc) describes the class
    as usual instead of meeting a property object."""

    def __init__(self, getter):
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, obj, cls=None):
        return None if obj is None else self.getter(obj)

class Protocol:
    """Base class of the protocols (module docstring); an instance is called
    like a function: ``protocol(out_dir=None, **options)`` returns a Result."""

    name: str = ""
    description: str = ""
    Spec: type = Spec
    #: the recipe of the protocol's own geometry (a preset name)
    preset: str | None = None
    #: the recipe a reconstruction gets when none is given
    cell_recipe: str = "mature"
    #: where the protocol's checks hold only in an idealised geometry: the reason
    #: (written to the output and the JSON); empty if they hold in any cell
    idealised: str = ""

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

    @_instance_property
    def __signature__(self):
        """The call signature of the protocol (its options, keyword-only)."""
        params = [inspect.Parameter("out_dir", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    default=None)]
        hints = typing.get_type_hints(self.Spec) if self.Spec.__annotations__ else {}
        for name, unit, default, _ in self.Spec.options():
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                            default=default, annotation=hints.get(name, object)))
        for extra in ("defaults", "progress"):
            params.append(inspect.Parameter(extra, inspect.Parameter.KEYWORD_ONLY, default=None))
        params.append(inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY, default="csv"))
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

    def __call__(self, out_dir=None, *, defaults=None, progress=None, format="csv",
                 **options):
        """Run the protocol. ``progress``: None (the default: the compile, slow
        steady states and each condition are said on stderr), True (also the
        simulations' progress line, which then advance in chunks), False
        (nothing), or a callable ``(t_ms, tstop_ms)`` for the simulations
        (see :mod:`ionhomeo.progress`). ``format``: of the tables written,
        "csv" (default) or "parquet" (needs pyarrow)."""
        from . import progress as progress_mod

        with progress_mod.scope(progress if isinstance(progress, bool) else None):
            return self._run(out_dir, defaults, progress, format, options)

    def _run(self, out_dir, defaults, progress, format, options):
        from . import results

        start_clock = time.perf_counter()
        spec = self.spec(**options)
        if format not in results.RUN_FORMATS:
            from .mechanisms import ParameterError

            raise ParameterError(f"format must be one of "
                                 f"{', '.join(map(repr, results.RUN_FORMATS))}, got {format!r}")
        if out_dir is not None:
            if format == "parquet":
                results._parquet_engine()  # ImportError naming the fix, before computing
            results.check_output_dir(out_dir)  # before computing
        if progress is False:
            progress = None  # the simulations: silent, as without progress
        with Session(self, defaults=defaults, progress=progress) as session:
            data = self.measure(spec, session)
            defaults_used = session.defaults.to_dict()
            recipes = [recipe_record(r) for r in session.recipes]
        report = self.report(spec, data)
        summary = summary_table([(q, float(v), u, d) for q, v, u, d in report.rows])
        warnings = list(report.warnings)
        warnings += [f"check failed: {c.line()[6:]}" for c in report.checks if not c.passed]
        metadata = results.provenance(
            protocol=self.name, description=self.description, spec=spec.to_dict(),
            defaults=defaults_used, recipes=recipes,
            calibrated=bool(recipes) and all(r["calibrated"] for r in recipes),
            idealised=self.idealised or None, **report.metadata, summary=summary_dict(summary),
            checks=[c.to_dict() for c in report.checks], warnings=warnings)
        tables = {"": report.timecourse} if report.timecourse is not None else {}
        tables.update(report.tables)
        if report.checks:
            from .checks import table

            tables["checks"] = table(report.checks)
        result = finish(out_dir, self.name, summary, metadata, start_clock, report.timecourse,
                        figure=lambda: self.figure(spec, data, report), tables=tables,
                        checks=tuple(report.checks), format=format)
        return result
