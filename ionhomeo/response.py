"""Linear response of a resting cell: how its membrane current and potential
answer small changes of V or of a concentration, computed from NEURON's own
currents (no formula of the mechanisms is repeated here).

Every function works on an :class:`ionhomeo.cell.Cell` that has been
initialised (``cell.initialize()``) and leaves NEURON in its resting state.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["slope_conductance", "quasi_steady"]


def slope_conductance(cell, segments, dv=1e-3):
    """Steady-state slope conductance of each segment (mS/cm2): the resting state
    with V shifted by +-dv everywhere (gates at their steady state)."""
    from . import steady

    def shifted(d):
        if isinstance(cell.state, steady.SteadyState):
            cell.start(d)
        else:  # Cell.start shifts uniform states only
            dataclasses.replace(cell.state, v=cell.state.v + d).finitialize()
        return np.array([steady.ionic_current(s) for s in segments])

    plus, minus = shifted(dv), shifted(-dv)
    cell.start()
    return (plus - minus) / (2 * dv) * 1e3


def quasi_steady(cell, dna=0.05):
    """The slow manifold of a one-segment cell, linearised: (dV/dNai in mV/mM,
    d ina/dNai in mA/cm2/mM) at Nai + d and Ki - d (the charge the spikes moved),
    with V and the other dynamic concentrations (Cl, Ca) re-balanced: unknowns
    V and their logs, residuals the net membrane current and those ions'
    currents, all NEURON's own. ina there is the net Na flux that relaxes Nai
    (every Na mechanism, and the AHP's own feedback on the Na leak and channels)."""
    from scipy import optimize

    from . import steady

    state, sec = cell.state, cell.all[0]
    others = [ion for ion in state.concentrations if ion not in ("na", "k")]

    def solve(d):
        base = dict(state.concentrations)
        base["na"] += d
        base["k"] -= d

        def residual(x):
            conc = {**base, **{ion: math.exp(lc) for ion, lc in zip(others, x[1:])}}
            steady.SteadyState(v=float(x[0]), concentrations=conc, fixed=(),
                               residual=math.nan).finitialize([sec])
            s = sec(0.5)
            return 1e3 * np.array([steady.ionic_current(s)]
                                  + [getattr(s, f"i{ion}") for ion in others])

        x0 = np.array([state.v] + [math.log(state.concentrations[ion]) for ion in others])
        sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-13})
        residual(sol.x)
        return float(sol.x[0]), float(sec(0.5).ina), bool(sol.success)

    try:
        (vp, nap, okp), (vm, nam, okm) = solve(dna), solve(-dna)
    finally:
        cell.start()
    if not (okp and okm):
        return math.nan, math.nan
    return (vp - vm) / (2 * dna), (nap - nam) / (2 * dna)
