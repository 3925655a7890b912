"""The model's own predictions for the ``pump-ahp`` protocol that are particular
to it: which segments pump, and what a wide soma would need for a pump AHP of
tens of seconds. Derivations: docs/protocols/pump-ahp.md.
"""

from __future__ import annotations

import math

from .. import kinetics
from ..response import slope_conductance

#: the parameter sets scaled together in :func:`wide_soma_estimate`
SCALINGS = {
    "imax_pna": (("nakpump", "imax"), ("naleak", "pna")),
    "imax_leaks": (("nakpump", "imax"), ("naleak", "pna"), ("kleak", "pk"), ("clleak", "pcl")),
}


def pump_segments(cell) -> list:
    """The segments with nakpump and nadyn (ParameterError if there are none)."""
    segments = [s for s in cell.segments("all")
                if s.sec.has_membrane("nakpump") and s.sec.has_membrane("nadyn")]
    if not segments:
        from ..mechanisms import ParameterError

        raise ParameterError(f"recipe {cell.recipe.name!r} places no nakpump with nadyn in the "
                             "cell: the pump AHP needs the Na/K pump and a Na concentration owner")
    return segments


def wide_soma_estimate(cell, na_charge, target_tau_s=20.0):
    """What a soma would need for a pump AHP lasting ``target_tau_s`` (s)
    (docs/protocols/pump-ahp.md); ``cell``: that soma, one segment.

    ``default``: its rest, tau_Na and pump-alone AHP after a train that
    brings the same Na charge per area (``na_charge``, C/cm2); ``factor``:
    by how much dI_p/dNai would have to grow; then the resting state, tau_Na
    and AHP with each set of SCALINGS multiplied by that factor ("error" if
    there is no resting state), the largest shortening of tau_Na by kmna
    alone, and the Nai that imax alone would need.
    """
    from neuron import h

    from .. import steady, thermo

    seg = pump_segments(cell)[0]
    diam = seg.diam
    # the same Na charge per area: a charge density (C/cm2 = 1e3 mC/cm2) converts like a current
    dna = (float(thermo.concentration_loss_rate(na_charge * 1e3, diam, 1))
           if math.isfinite(na_charge) else math.nan)

    def measure():
        state = cell.initialize()
        cell.start()
        ip, dip = kinetics.nakpump_at(seg)
        g = slope_conductance(cell, [seg])[0]
        per_mm = -dip / (g * 1e-3)
        return {"Vrest_mV": state.v, "Nai_mM": state.concentrations["na"],
                "Ipump_uA_cm2": ip * 1e3, "dIp_dNai": dip, "G_mS_cm2": float(g),
                "tau_Na_s": float(kinetics.nai_recovery_tau_s(diam, dip)),
                "AHP_per_mM_pump_mV": per_mm, "train_dNai_mM": dna, "train_AHP_mV": per_mm * dna}

    out = {"default": measure()}
    n, f = out["default"]["Nai_mM"], out["default"]["tau_Na_s"] / target_tau_s
    k = float(h.kmna_nakpump)
    # imax alone, at the same Na influx: I_p' ~ 3 I_p kmna/(Nai (Nai + kmna)) grows by f
    # when Nai (Nai + kmna) falls by f
    out.update(factor=f, kmna_max_factor=(n + k) / k,
               Nai_for_imax_only_mM=float((-k + math.sqrt(k * k + 4 * n * (n + k) / f)) / 2))
    for label, params in SCALINGS.items():
        saved = {(m, p): getattr(getattr(seg, m), p) for m, p in params if seg.sec.has_membrane(m)}
        for (m, p), value in saved.items():
            setattr(getattr(seg, m), p, value * f)
        try:
            out[label] = measure()
        except (steady.SteadyStateError, ArithmeticError, ValueError) as err:
            out[label] = {"error": f"no resting state: {err}"}
        finally:
            for (m, p), value in saved.items():
                setattr(getattr(seg, m), p, value)
    return out
