"""Scorecard experiment on the energy cost of rest: the ATP the cell's pumps
hydrolyse at its resting state, summed over every segment."""

from __future__ import annotations

from . import experiment

E_CHARGE_C = 1.602176634e-19
#: ATPase -> (its current variable, elementary charges its current carries per ATP)
ATPASES = {"nakpump": ("ipump", 1.0),   # 3 Na out, 2 K in: one net charge per cycle
           "pmca": ("ipmca", 2.0)}      # one Ca (two charges) per ATP


@experiment("energy-at-rest")
def energy_at_rest(model) -> dict:
    """ATP used by the Na/K pump and the PMCA at rest (ATP/s for the whole
    cell, and the Na/K pump's share), and the resting Na/K pump current
    (pA) and its density per capacitance (pA/pF)."""
    with model.cell() as cell:
        atp = {m: 0.0 for m in ATPASES}
        cap_pf = 0.0
        pump_pa = 0.0
        for seg in cell.segments("all"):
            area_cm2 = seg.area() * 1e-8
            cap_pf += seg.cm * area_cm2 * 1e6  # uF/cm2 * cm2 = uF
            for mech, (var, charges) in ATPASES.items():
                if hasattr(seg, mech):
                    i_a = getattr(getattr(seg, mech), var) * 1e-3 * area_cm2  # mA/cm2 -> A
                    atp[mech] += i_a / (charges * E_CHARGE_C)
                    if mech == "nakpump":
                        pump_pa += i_a * 1e12
    total = sum(atp.values())
    return {"atp_per_s": total, "nakpump_share": atp["nakpump"] / total if total else 0.0,
            "pump_pA": pump_pa, "pump_pA_per_pF": pump_pa / cap_pf}
