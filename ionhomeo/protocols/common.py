"""Shared pieces of the protocols: the result object, tables, cells, files."""

from __future__ import annotations

import dataclasses
import math
import time
import types


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """What a protocol returns.

    summary: DataFrame with columns quantity, value, unit, description.
    timecourse: tidy DataFrame (time in a column named with its unit, e.g. t_s
        or t_ms; variable, value, unit), or the protocol's main table.
    metadata: provenance, parameters, steady state, fit details, warnings.
    figures: paths of the figures written (empty without an output directory).
    files: every path written.
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


def summary_dict(summary) -> dict:
    """{quantity: {"value", "unit"}} of a summary table, for the JSON provenance."""
    return {q: {"value": v, "unit": u}
            for q, v, u in zip(summary["quantity"], summary["value"], summary["unit"])}


def write_outputs(out_dir, name, summary, metadata, figure=None, tables=None,
                  start_clock=None) -> tuple:
    """Write NAME.csv (table with key ""), NAME_<key>.csv (others),
    NAME_summary.csv, NAME.png and NAME.json to ``out_dir`` as one set.

    The files appear together or not at all (:func:`ionhomeo.results.result_set`),
    and NAME.json lists every other file with its size and SHA-256 under
    ``files``. ``figure``: a matplotlib figure, or a callable returning one; if
    drawing or saving it fails, the data are still written, without the
    figure, and the failure is recorded in the JSON's ``warnings`` (and
    warned), so nothing computed is lost. Metadata that cannot be written as
    JSON raise before anything is written. Returns (files, figures): the
    paths in ``out_dir``.
    """
    import json
    import warnings as _warnings

    from .. import results

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
            written.append(results.write_csv(table, folder / f"{stem}.csv"))
        written.append(results.write_csv(summary, folder / f"{name}_summary.csv"))
        if figure is not None:
            try:
                fig = figure() if callable(figure) else figure
                if fig is not None:
                    figures.append(results.save_figure(fig, folder / f"{name}.png"))
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
           tables=None, checks=()) -> "Result":
    """The end of every protocol: write the outputs to ``out_dir`` (if given)
    and return the Result.

    figure: a callable returning the figure, called only when writing (a
    figure is not drawn for a run without an output directory); tables: as
    in :func:`write_outputs`, or a callable returning them (built only when
    writing), by default ``{"": timecourse}``. If the files cannot be
    written, the OutputError raised carries the Result as ``err.result``.
    """
    from ..results import OutputError

    files = figures = ()
    if out_dir is not None:
        if tables is None:
            tables = {"": timecourse}
        elif callable(tables):
            tables = tables()
        try:
            files, figures = write_outputs(out_dir, name, summary, metadata, figure=figure,
                                           tables=tables, start_clock=start_clock)
        except OutputError as err:
            err.result = Result(summary=summary, timecourse=timecourse, metadata=metadata,
                                checks=tuple(checks))
            raise
    else:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    return Result(summary=summary, timecourse=timecourse, metadata=metadata, figures=figures,
                  files=files, checks=tuple(checks))


def check_number(name, value, low=None, high=None) -> float:
    """``value`` as float; ParameterError unless finite, > low and <= high (when given)."""
    from ..mechanisms import ParameterError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if low is not None and not value > low:
        raise ParameterError(f"{name} must be > {low:g}, got {value!r}")
    if high is not None and not value <= high:
        raise ParameterError(f"{name} must be <= {high:g}, got {value!r}")
    return float(value)


def compartment(h, name, length_um, diam_um, mechanisms, rec=None):
    """One cylinder (nseg 1) with ``mechanisms`` at their mod-file defaults, or,
    with a recipe ``rec``, the mechanisms the recipe places in the soma.

    Returns (section, what was applied, for the provenance).
    """
    from .. import mechanisms as mech_mod

    sec = h.Section(name=name)
    sec.L, sec.diam, sec.nseg = float(length_um), float(diam_um), 1
    if rec is None:
        for mech in mechanisms:
            mech_mod.insert(sec, mech)
        return sec, {"mechanisms": list(mechanisms), "parameters": "mod-file defaults"}
    shell = types.SimpleNamespace(sections_by_type={"soma": [sec]}, all=[sec],
                                  soma_center=sec(0.5))
    return sec, rec.apply(shell)
