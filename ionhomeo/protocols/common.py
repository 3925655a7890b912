"""Shared pieces of the protocols: the result object, tables, cells, files."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """What a protocol returns.

    summary: DataFrame with columns quantity, value, unit, description.
    timecourse: tidy DataFrame with columns t_s, variable, value, unit.
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


def write_outputs(out_dir, name, summary, metadata, figure=None, tables=None,
                  start_clock=None) -> tuple:
    """Write NAME.csv (first table), NAME_<key>.csv (others), NAME_summary.csv,
    NAME.png and NAME.json (last, with the list of files) atomically.

    Returns (files, figures).
    """
    from .. import results

    out = Path(out_dir)
    files, figures = [], []
    if figure is not None:
        figures.append(results.save_figure(figure, out / f"{name}.png"))
    for key, table in (tables or {}).items():
        stem = name if key == "" else f"{name}_{key}"
        files.append(results.write_csv(table, out / f"{stem}.csv"))
    files.append(results.write_csv(summary, out / f"{name}_summary.csv"))
    files.append(out / f"{name}.json")
    files += figures
    metadata["files"] = [p.name for p in files]
    if start_clock is not None:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    results.write_json(metadata, out / f"{name}.json")
    return tuple(files), tuple(figures)
