"""Calcium bookkeeping of a simulated cell: where its calcium is, in amol.

Amounts are in attomoles (1 amol = 1e-18 mol = 1 mM * 1 um3), summed over
segments, with the cylinder volumes that the mechanisms themselves use
(``cadyn`` or ``cabuf``, ``er``, ``mito``: volume of a segment = PI diam^2/4 * L/nseg;
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

#: the states holding bound Ca of each cytosolic Ca owner
BOUND_STATES_OF = {"cadyn": BOUND_STATES, "cabuf": ("cab",)}


#: the cytosolic Ca owners (mod files): the full cadyn and the lean cabuf
OWNERS = tuple(BOUND_STATES_OF)


def owner(seg):
    """The cytosolic Ca owner in ``seg`` (its cadyn or cabuf mechanism), or None."""
    for name in OWNERS:
        if seg.sec.has_membrane(name):
            return getattr(seg, name)
    return None


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
        for owner, bound in BOUND_STATES_OF.items():
            if seg.sec.has_membrane(owner):
                out["cytosol_free"] += seg.cai * vol
                out["cytosol_bound"] += sum(getattr(seg, f"{s}_{owner}") for s in bound) * vol
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


def _declaring(parameter: str) -> tuple:
    from . import mechanisms

    return mechanisms.with_parameter(parameter)


#: mechanisms with their own GLOBAL ATP free energy (kJ/mol): every mod file
#: declaring ``dgatp`` (nakpump, pmca, serca)
ATP_MECHANISMS = _declaring("dgatp")
#: mechanisms with their own RANGE mitochondrial membrane potential (mV): every
#: mod file declaring ``dpsi`` (mcu, nclx)
DPSI_MECHANISMS = _declaring("dpsi")


def set_atp_free_energy(dg_atp: float) -> None:
    """Set the free energy of ATP hydrolysis (kJ/mol, < 0) of every ATP-driven pump.

    ``nakpump``, ``serca`` and ``pmca`` each have a GLOBAL ``dgatp``; an
    energy failure must change all of them, or the pumps would run on
    different energy supplies. Default -55 kJ/mol; values are validated
    against the mod files' range [-100, 0].
    """
    from . import mechanisms

    for name in ATP_MECHANISMS:
        mechanisms.set_globals(name, dgatp=dg_atp)


def set_mitochondrial_potential(sections, dpsi: float) -> int:
    """Set the mitochondrial membrane potential (mV, matrix minus cytosol).

    Every segment of ``sections`` that has ``mcu`` or ``nclx`` gets ``dpsi``
    in both (they are RANGE variables, so a region can be depolarised alone).
    Returns the number of mechanism instances changed. Default -170 mV;
    validated against the mod files' range [-300, 100].
    """
    from . import mechanisms

    count = 0
    for name in DPSI_MECHANISMS:
        value = mechanisms.validate(name, {"dpsi": dpsi})["dpsi"]
        for seg in _segments(sections):
            if seg.sec.has_membrane(name):
                getattr(seg, name).dpsi = value
                count += 1
    return count
