"""Calcium bookkeeping of a simulated cell: where its calcium is, in amol.

Amounts are in attomoles (1 amol = 1e-18 mol = 1 mM * 1 um3), summed over
segments, with the cylinder volumes that the mechanisms themselves use
(``cadyn``, ``er``, ``mito``: volume of a segment = PI diam^2/4 * L/nseg;
the ER and matrix are the fractions ``fer`` and ``fmt`` of it).

>>> from ionhomeo import calcium
>>> calcium.content(cell_sections)          # doctest: +SKIP
{'cytosol_free': ..., 'cytosol_bound': ..., 'er': ..., 'mito': ..., 'total': ...}

``content(...)["total"] - entered(...)`` stays constant in a sealed cell:
the calcium conservation check (insert ``caentry`` to have ``entered``).
"""

from __future__ import annotations

import math

#: cadyn states holding bound Ca (one Ca per state unit)
BOUND_STATES = ("cab", "cacbh", "cacbm", "capv", "cadye")


def segment_volume_um3(seg) -> float:
    """Cytosolic volume of one segment (um3), the cylinder the mechanisms use."""
    sec = seg.sec
    return math.pi * seg.diam ** 2 / 4 * sec.L / sec.nseg


def _segments(sections):
    return [seg for sec in sections for seg in sec]


def content(sections) -> dict:
    """Calcium in ``sections`` (amol): cytosolic free and bound, ER, mitochondria, total.

    Compartments whose mechanism is not inserted count as zero. Values are
    computed from the STATEs (not from ``catot``, which is updated with the
    currents), so they are exact at the current time.
    """
    out = {"cytosol_free": 0.0, "cytosol_bound": 0.0, "er": 0.0, "mito": 0.0}
    for seg in _segments(sections):
        vol = segment_volume_um3(seg)
        if seg.sec.has_membrane("cadyn"):
            out["cytosol_free"] += seg.cai * vol
            out["cytosol_bound"] += sum(getattr(seg, f"{s}_cadyn") for s in BOUND_STATES) * vol
        if seg.sec.has_membrane("er"):
            out["er"] += seg.er.fer * (seg.caeri + seg.er.caber) * vol
        if seg.sec.has_membrane("mito"):
            out["mito"] += seg.mito.fmt * seg.camti / seg.mito.fm * vol
    out["total"] = sum(out.values())
    return out


def entered(sections) -> float:
    """Net Ca that entered across the plasma membrane since initialisation (amol).

    Needs ``caentry`` inserted in every section; raises otherwise.
    """
    total = 0.0
    for seg in _segments(sections):
        if not seg.sec.has_membrane("caentry"):
            raise ValueError(
                f"section {seg.sec.name()} has no caentry: insert it to integrate the "
                "plasma-membrane Ca current (ionhomeo.mechanisms.insert(sec, 'caentry'))")
        total += seg.caentry.entered * segment_volume_um3(seg)
    return total
