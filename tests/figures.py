"""What every protocol figure must do, checked on a run's output folder: its
axis labels carry the units of the table columns they plot, its labels use
symbols (µM, κ, R², τ), and it is in the house style (title naming the
protocol, lettered panels, units in parentheses).

A protocol's test calls :func:`check_figure` on the folder its run wrote;
tests/test_figures.py checks that every registered protocol's test does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ionhomeo import plotting, units

#: ASCII spellings a figure must not show as words: units (uM, um, uA, uS, um2)
#: and symbols (kS for kappa_S, R2, tau, kappa, gamma, E_GABA)
ASCII_WORDS = re.compile(r"(?<![\\\w$])(uM|um|uA|uS|uV|um2|cm2|kS|kB|R2|R\^2|tau|kappa|gamma|"
                         r"E_GABA|E_Cl|E_Na|E_K|E_NCX)(?![\w])")


def _words(text: str) -> list:
    return ASCII_WORDS.findall(text)


def _csv(out: Path, name: str, table: str) -> Path:
    return out / (f"{name}.csv" if table == "" else f"{name}_{table}.csv")


def column_unit(out: Path, name: str, record: dict) -> str:
    """The unit that the table column a figure axis records has in the CSV: the
    ``unit`` column of the rows ``where`` selects, else the column name's suffix."""
    path = _csv(out, name, record["table"])
    assert path.exists(), f"{name}: the figure names table {record['table']!r}: no {path.name}"
    df = pd.read_csv(path)
    column = record["column"]
    assert column in df.columns, f"{name}: {path.name} has no column {column!r}"
    rows = df
    for key, wanted in (record.get("where") or {}).items():
        assert key in df.columns, f"{name}: {path.name} has no column {key!r}"
        wanted = wanted if isinstance(wanted, list) else [wanted]
        rows = rows[rows[key].astype(str).isin([str(w) for w in wanted])]
    assert len(rows), f"{name}: no rows of {path.name} where {record.get('where')}"
    if "unit" in df.columns and column == "value":
        found = set(rows["unit"].astype(str))
        assert len(found) == 1, f"{name}: {path.name} {record.get('where')}: units {found}"
        return found.pop()
    unit = record["unit"]
    suffix = "_" + unit.replace("/", "_").replace(" ", "_")
    if unit == "1":  # a pure number: the column's name carries no unit
        assert not any(column.endswith("_" + u.replace("/", "_")) for u in units.UNITS
                       if u not in ("1", "%") and len(u) > 1), (name, column)
        return "1"
    return unit if column.endswith(suffix) else f"(not {unit}: column {column})"


def axis_records(meta: dict):
    """(panel, axis, record) of every labelled axis of the figure."""
    for k, panel in enumerate(meta["figure"]["panels"]):
        for axis in ("x", "y"):
            record = panel.get(axis)
            if record and record.get("label"):
                yield f"{panel['letter'] or panel['kind']}{k}", axis, record


def check_figure(out, name: str) -> dict:
    """Assert the figure of protocol ``name`` in folder ``out`` keeps the house
    rules; returns its description (from NAME.json)."""
    out = Path(out)
    meta = json.loads((out / f"{name}.json").read_text())
    assert (out / f"{name}.png").exists(), f"{name}: no figure"
    fig = meta["figure"]
    assert fig["file"] == f"{name}.png"
    # house style: made by plotting.figure (fonts, grid, layout), a title naming
    # the protocol, the panels lettered a, b, ...
    assert fig["house_style"], f"{name}: the figure was not made with ionhomeo.plotting.figure"
    assert fig["title"].startswith(f"{name}: "), fig["title"]
    letters = [p["letter"] for p in fig["panels"] if p["kind"] == "main"]
    if len(letters) > 1:
        assert letters == [chr(ord("a") + k) for k in range(len(letters))], letters
    linked = 0
    for panel, axis, record in axis_records(meta):
        # every label set through plotting.label/values: "quantity (unit)", recorded
        assert record["recorded"], (f"{name} panel {panel}: {axis} label {record['label']!r} "
                                    "was not set with ionhomeo.plotting.label")
        shown = plotting.pretty_unit(record["unit"])
        if shown and "deviation" not in record:
            assert record["label"].endswith(f"({shown})"), (name, panel, record["label"])
        if "deviation" in record:  # deviations from a mean stated in the table's unit
            assert f"({plotting.pretty_unit(record['deviation'])})" in record["label"]
            assert record["label"].rstrip().endswith(shown), (name, panel, record["label"])
        if record.get("table") is not None:
            linked += 1
            csv_unit = column_unit(out, name, record)
            assert units.normalise(csv_unit) == units.normalise(record["unit"]), (
                f"{name} panel {panel}: the {axis} axis shows {record['column']} "
                f"{record.get('where') or ''} in {record['unit']}, its table in {csv_unit}")
    assert linked, f"{name}: no axis of the figure is tied to a table column"
    # symbols, not ASCII spellings, in every title, label, legend and note
    bad = {t: _words(t) for t in fig["texts"] if _words(t)}
    assert not bad, f"{name}: ASCII spellings in the figure: {bad}"
    return fig
