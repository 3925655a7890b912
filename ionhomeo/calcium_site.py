"""The model's own Ca numbers at one segment, for the protocols that test the
model against them (``ionhomeo.protocols.added_buffer``,
``ionhomeo.protocols.terminal_vs_soma``): the endogenous buffers and their
capacity, the linear extrusion rate and the voltage coupling at rest, read
from the mechanisms' own parameters and currents (no rate law written
twice). Derivations: docs/protocols/added-buffer.md and
docs/protocols/terminal-vs-soma.md.

The segment's Ca owner is cadyn or cabuf (:func:`ionhomeo.calcium.owner`);
NEURON must have been initialised at the state of interest.
"""

from __future__ import annotations

import math

from .steady import ionic_current

__all__ = ["endogenous_buffers", "endogenous_capacity", "extrusion_derivatives",
           "rest_numbers", "steady_conductance", "site_geometry", "site_numbers", "load_response"]

#: finite-difference steps (mM, mV) for the model's own rates: central
#: differences of smooth currents, exact to (step/scale)^2 ~ 1e-8
DC_MM, DV_MV = 1e-8, 1e-3


def endogenous_buffers(h, seg) -> list:
    """The Ca owner's endogenous buffers at ``seg`` as (name, total mM, K_D mM),
    dye excluded, those with a total > 0.

    Calbindin counts as its two site classes (2 cbtot each); parvalbumin with
    its apparent K_D raised by Mg competition, as cadyn's ``totals()`` does.
    ``btot`` is read after initialisation (``kappab`` may have set it).
    """
    from . import calcium

    c = calcium.owner(seg)
    out = [("generic", float(c.btot), float(c.kdb))]
    if c.name() != "cabuf":  # the lean owner has the generic buffer only
        out += [("calbindin high", 2 * float(c.cbtot), h.cbkoffh_cadyn / h.cbkonh_cadyn),
                ("calbindin medium", 2 * float(c.cbtot), h.cbkoffm_cadyn / h.cbkonm_cadyn),
                ("parvalbumin", float(c.pvtot), (h.pvkoffca_cadyn / h.pvkonca_cadyn)
                 * (1 + h.mgi_cadyn * h.pvkonmg_cadyn / h.pvkoffmg_cadyn))]
    return [b for b in out if b[1] > 0]


def endogenous_capacity(h, seg, ca) -> tuple:
    """(total capacity, {buffer: capacity}) of the endogenous buffers at free Ca ``ca`` (mM)."""
    from . import buffering

    parts = {name: float(buffering.capacity(total, kd, ca))
             for name, total, kd in endogenous_buffers(h, seg)}
    return sum(parts.values()), parts


def extrusion_derivatives(h, seg, ca, v) -> dict:
    """Partial derivatives of the segment's currents at (cai, v), states frozen.

    Returns dJ/dc (1/ms), dJ/dV (mM/ms/mV) and dI_m/dc (mA/cm2/mM), where J is
    the net Ca removal flux per volume (outward ica, scaled by the owner's
    afac as the owner does, plus the uptake into organelle pools: the owner
    adds their bookkeeping currents icaer and icamt, so SERCA uptake, net of
    the ER leak, removes Ca as extrusion does; the lumen's Ca is held, as
    every state is) and I_m the total ionic membrane current. NEURON is left
    with the perturbed values: initialise again afterwards.
    """
    from . import calcium, thermo

    pools = [name for name in ("icaer", "icamt") if _has(seg, name)]

    def at(c, vv):
        seg.cai, seg.v = c, vv
        h.fcurrent()
        # the owner's d(cai)/dt has -ica afac + icaer + icamt: as an outward ica
        return seg.ica - sum(getattr(seg, n) for n in pools) / af, ionic_current(seg)

    def flux(ica):
        return float(thermo.concentration_loss_rate(ica, seg.diam, 2, af))

    owner = calcium.owner(seg)
    af = owner.afac if owner is not None else 1.0
    (ip, mp), (im, mm) = at(ca + DC_MM, v), at(ca - DC_MM, v)
    (ivp, _), (ivm, _) = at(ca, v + DV_MV), at(ca, v - DV_MV)
    at(ca, v)
    return {"dJ_dc": flux((ip - im) / (2 * DC_MM)), "dJ_dV": flux((ivp - ivm) / (2 * DV_MV)),
            "dIm_dc": (mp - mm) / (2 * DC_MM)}


def _has(seg, name) -> bool:
    """Does the segment have the range variable ``name`` (an ion it uses)?"""
    try:
        getattr(seg, name)
    except (AttributeError, NameError):
        return False
    return True


def rest_numbers(h, seg, ca, v) -> dict:
    """The model's own numbers at ``seg`` at rest (NEURON initialised there),
    free Ca ``ca`` (mM) and potential ``v`` (mV): the endogenous capacity
    (``kappa_S``, by buffer in ``kappa_S_parts``), the owner's own ``kappa``,
    the buffers, and :func:`extrusion_derivatives` (which leaves NEURON
    perturbed: initialise again afterwards)."""
    from . import calcium

    kappa, parts = endogenous_capacity(h, seg, ca)
    out = {"v_rest_mV": v, "cai_rest_mM": ca, "kappa_S": kappa, "kappa_S_parts": parts,
           "kappa_owner_at_rest": float(calcium.owner(seg).kappa),
           "buffers": endogenous_buffers(h, seg)}
    der = extrusion_derivatives(h, seg, ca, v)
    return {**out, "dJ_dc_per_ms": der["dJ_dc"], "dJ_dV_mM_per_ms_mV": der["dJ_dV"],
            "dIm_dc_mA_cm2_mM": der["dIm_dc"]}


def steady_conductance(cell) -> float:
    """dI_m/dV at the soma centre at rest (mA/cm2/mV), the gates at equilibrium
    and the concentrations fixed, of a cell with a uniform resting state
    (``cell.initialize()`` of one segment); leaves NEURON at rest."""
    currents = []
    for dv in (DV_MV, -DV_MV):
        cell.start(dv)
        currents.append(ionic_current(cell.soma_center))
    cell.start()
    return (currents[0] - currents[1]) / (2 * DV_MV)


def site_geometry(seg) -> dict:
    """Volume (fL), diameter and area (um, um2), the surface-to-volume ratio
    with which the Ca owner turns current densities into flux (4 afac/diam,
    1/um), NEURON's area over the volume, and the fraction of a point
    current's ions (NEURON divides nA by the segment's area) that the owner
    receives (1 when afac is set)."""
    from . import calcium

    vol, diam = calcium.segment_volume_um3(seg), float(seg.diam)
    afac, area = float(calcium.owner(seg).afac), float(seg.area())
    return {"volume_fL": vol, "diam_um": diam, "area_um2": area,
            "S_over_V_per_um": 4.0 * afac / diam, "area_over_volume_per_um": area / vol,
            "received_fraction": math.pi * diam * seg.sec.L / seg.sec.nseg * afac / area}


def site_numbers(h, seg, ca, v) -> dict:
    """:func:`rest_numbers` and :func:`site_geometry` of ``seg``, with the linear
    extrusion rate per membrane area (a velocity, um/ms: J = g (S/V)/(2F), so
    g/(2F) = dJ/dc / (S/V)) and the residence time (1 + kappa_S)/(dJ/dc) (ms)."""
    m = {**rest_numbers(h, seg, ca, v), **site_geometry(seg)}
    m["extrusion_velocity_um_per_ms"] = m["dJ_dc_per_ms"] / m["S_over_V_per_um"]
    m["tau_expected_ms"] = (1 + m["kappa_S"]) / m["dJ_dc_per_ms"]
    return m


def load_response(n_ions, site) -> dict:
    """Free Ca (mM) once ``n_ions`` Ca ions have entered a segment at rest and
    equilibrated with its buffers; ``site``: :func:`rest_numbers` and
    :func:`site_geometry` of the segment. The load (mM), the exact answer of
    mass action (``exact_mM``), the same for the ions the owner receives
    (``received_mM``) and the linear estimate (``linear_mM``)."""
    from . import buffering

    c0, buffers = site["cai_rest_mM"], [(b[1], b[2]) for b in site["buffers"]]
    load = float(buffering.ions_to_mM(n_ions, site["volume_fL"]))
    return {"load_mM": load, "exact_mM": float(buffering.free_after_load(load, c0, buffers)),
            "received_mM": float(buffering.free_after_load(load * site["received_fraction"], c0,
                                                           buffers)),
            "linear_mM": float(buffering.linear_free_after_load(load, c0, site["kappa_S"]))}
