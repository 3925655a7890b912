"""Shared pieces of the protocols: the result object, tables, cells, files."""

from __future__ import annotations

import dataclasses
import math
import time
import types
from pathlib import Path


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
    NAME_summary.csv, NAME.json and NAME.png, each atomically.

    Returns (files, figures).
    Order: the metadata are converted to JSON first (a failure there writes
    nothing), then the tables, then the JSON (which lists them), and the
    figure last, so a failing figure leaves the data complete.
    """
    import json

    from .. import results

    out = Path(out_dir)
    stems = [name if key == "" else f"{name}_{key}" for key in (tables or {})]
    planned = [f"{stem}.csv" for stem in stems] + [f"{name}_summary.csv", f"{name}.json"]
    if figure is not None:
        planned.append(f"{name}.png")
    metadata["files"] = planned
    if start_clock is not None:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    json.dumps(results.jsonable(metadata), allow_nan=False)  # raises before writing
    files, figures = [], []
    for stem, table in zip(stems, (tables or {}).values()):
        files.append(results.write_csv(table, out / f"{stem}.csv"))
    files.append(results.write_csv(summary, out / f"{name}_summary.csv"))
    files.append(results.write_json(metadata, out / f"{name}.json"))
    if figure is not None:
        figures.append(results.save_figure(figure, out / f"{name}.png"))
    return tuple(files + figures), tuple(figures)


def finish(out_dir, name, summary, metadata, start_clock, timecourse, figure=None,
           tables=None) -> "Result":
    """The end of every protocol: write the outputs to ``out_dir`` (if given)
    and return the Result.

    figure: a callable returning the figure, called only when writing (a
    figure is not drawn for a run without an output directory); tables: as
    in :func:`write_outputs`, or a callable returning them (built only when
    writing), by default ``{"": timecourse}``.
    """
    files = figures = ()
    if out_dir is not None:
        if tables is None:
            tables = {"": timecourse}
        elif callable(tables):
            tables = tables()
        files, figures = write_outputs(
            out_dir, name, summary, metadata, figure=None if figure is None else figure(),
            tables=tables, start_clock=start_clock)
    else:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    return Result(summary=summary, timecourse=timecourse, metadata=metadata, figures=figures,
                  files=files)


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
