"""Scorecard experiments on chloride: E_GABA measured as with gramicidin
perforated patch, and the bumetanide experiment of immature neurons (NKCC1
blocked, then washed out)."""

from __future__ import annotations

import math

import numpy as np

from . import experiment, start
from .electrical import traces
from .sodium import ttx

BLOCK_S = 1200.0     # 20 min of bumetanide: three of the measured 381 s time constants
WASHOUT_S = 1200.0   # and as long again after washout


@experiment("gramicidin")
def gramicidin(model) -> dict:
    """E_GABA at the soma by voltage clamp of a somatic GABA_A synapse (the
    ``egaba`` protocol's measurement: TTX and Cd2+ in the bath, the
    synaptic current's reversal, Cl left undisturbed as with gramicidin)."""
    from neuron import h

    from ..protocols import egaba

    with model.cell() as cell:
        cli = cell.soma_center.cli
        m = egaba.measure(h, cell)
    return {"egaba_mV": m["E_measured"], "cli_mM": cli}


def _relaxation_tau_s(t_s, y, t_from):
    """Time constant (s) of y(t) relaxing from t_from: y = c + a exp(-t/tau)
    with the asymptote c fitted too (the run need not reach it: taking the
    last value for it biased tau low, 1000 s read as 519 s in 20 min)."""
    from ..analysis import fit_exp

    t_s, y = np.asarray(t_s, float), np.asarray(y, float)
    keep = t_s >= t_from
    x, yy = t_s[keep] - t_from, y[keep]
    if x.size < 4:
        return math.nan
    try:
        fit = fit_exp(x, yy, (yy[0] - yy[-1], 0.3 * x[-1], yy[-1]), baseline=True,
                      lower=(-np.inf, 1e-3, -np.inf), upper=(np.inf, 1e6, np.inf))
    except (RuntimeError, ValueError):
        return math.nan
    return fit.tau


@experiment("bumetanide")
def bumetanide(model) -> dict:
    """NKCC1 blocked everywhere (imax = 0) for 20 min, then restored for 20
    min: the somatic Cl at rest, the time constant of its fall towards the
    passive distribution, and that of its re-accumulation after washout
    (exponential fits on the Cl time course at the soma). With TTX (every
    nav blocked from the start): a cell that fires during the hour costs
    hours of integration; the quantities are those of the resting membrane."""
    from neuron import h

    from .. import simulate

    with model.cell() as cell:
        soma = cell.soma_center
        pumps = [s.nkcc1 for s in cell.segments("all") if hasattr(s, "nkcc1")]
        saved = [p.imax for p in pumps]
        t, cl = traces(h, [soma._ref_cli])
        t0 = start(cell)
        cl0 = soma.cli
        ttx(cell)
        for p in pumps:
            p.imax = 0.0
        h.cvode.re_init()  # a step change of a parameter: CVODE starts again from here
        simulate.run(t0 + BLOCK_S * 1e3)
        cl_blocked = soma.cli
        for p, value in zip(pumps, saved):
            p.imax = value
        h.cvode.re_init()
        simulate.run(t0 + (BLOCK_S + WASHOUT_S) * 1e3)
        t_s, c = (np.asarray(t) - t0) * 1e-3, np.asarray(cl)
    block = t_s <= BLOCK_S
    wash = t_s >= BLOCK_S
    return {"cli_rest_mM": cl0, "cli_bumetanide_mM": cl_blocked,
            "tau_block_s": _relaxation_tau_s(t_s[block], c[block], 0.0),
            "tau_washout_s": _relaxation_tau_s(t_s[wash] - BLOCK_S, c[wash], 0.0)}
