"""Stored protocol numbers: each protocol test compares its run's summary with
the table stored in tests/data/protocol_reference/<protocol>.csv, so that a
refactoring that changes a number is caught (1e-9 relative).

After a change that is meant to move numbers (a bug fix, new physics), rewrite
the tables and name the change in the commit:

    IONHOMEO_UPDATE_REFERENCE=1 pytest tests/test_protocol_*.py tests/test_cli_run.py
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).parent / "data" / "protocol_reference"
#: summary rows that measure the machine (wall times), not the model
VOLATILE = {"solve_time"}
#: relative agreement required; an absolute floor for values that are zero
#: (round-off of exact zeros, as residuals can be)
REL, ABS = 1e-9, 1e-15


def check(name: str, summary) -> None:
    """Compare ``summary`` (quantity, value, unit, ...) with the stored table."""
    table = summary.loc[~summary["quantity"].isin(VOLATILE), ["quantity", "value", "unit"]]
    table = table.reset_index(drop=True)
    path = REFERENCE_DIR / f"{name}.csv"
    if os.environ.get("IONHOMEO_UPDATE_REFERENCE") == "1":
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False, float_format="%.17g")
        return
    assert path.exists(), (f"no stored numbers for {name}: run with "
                           "IONHOMEO_UPDATE_REFERENCE=1 (see tests/reference.py)")
    stored = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert list(table["quantity"]) == list(stored["quantity"]), "the summary's rows changed"
    assert list(table["unit"]) == list(stored["unit"].astype(str)), "a unit changed"
    moved = [(q, float(a), float(b)) for q, a, b in zip(table["quantity"], table["value"],
                                                        stored["value"])
             if not (math.isnan(float(a)) and math.isnan(float(b)))
             and not math.isclose(float(a), float(b), rel_tol=REL, abs_tol=ABS)]
    assert not moved, f"{name}: numbers moved (quantity, now, stored): {moved}"
