"""Scorecard experiments on the membrane potential: the resting state, a small
current step (input resistance, time constant) and the rheobase, each at the
soma as a whole-cell recording measures them."""

from __future__ import annotations

import math

import numpy as np

from . import experiment

STEP_PA = -20.0        # small hyperpolarising step: linear response, no channels recruited
STEP_MS = 600.0        # long enough for the slowest charging component (tau ~10-30 ms)
BASELINE_MS = 50.0
RHEO_STEP_MS = 500.0   # current steps of the rheobase (long steps, as in slice work)
RHEO_HI_PA = 1000.0    # the largest step tried (measured rheobases are 0.1-0.3 nA)
RHEO_RTOL = 0.02       # bisection to 2 % (measured SEs are about 10 %)
THRESHOLD_DVDT = 20.0  # mV/ms: spike threshold where dV/dt rises through this on the upstroke
SPIKE_MV = 0.0         # a spike crosses 0 mV


def traces(h, refs):
    """Vectors recording h.t and each reference (every CVODE step)."""
    return [h.Vector().record(h._ref_t)] + [h.Vector().record(r) for r in refs]


def step_response(h, cell, amp_pa, delay_ms, dur_ms, after_ms, stop_at_spike=False):
    """From the resting state, inject ``amp_pa`` at the soma for ``dur_ms`` from
    ``delay_ms`` on; returns (t (ms), v (mV)) up to ``after_ms`` after the
    step, or (``stop_at_spike``) up to 50 ms after the first spike's peak."""
    from .. import simulate
    from . import start

    stim = h.IClamp(cell.soma_center)
    stim.delay, stim.dur, stim.amp = delay_ms, dur_ms, amp_pa * 1e-3
    t, v = traces(h, [cell.soma_center._ref_v])
    t0 = start(cell)
    tstop = t0 + delay_ms + dur_ms + after_ms
    for end in np.arange(t0 + 50.0, tstop + 50.0, 50.0) if stop_at_spike else [tstop]:
        simulate.run(float(min(end, tstop)))
        if stop_at_spike and v.max() > SPIKE_MV + 20.0:  # the answer is known
            break
    return np.asarray(t) - t0, np.asarray(v)


def rest_values(cell) -> dict:
    """Resting potential and concentrations at the soma and in the apical dendrite."""
    soma = cell.soma_center
    apical = cell.segments("apical", optional=True)
    out = {"vm_mV": soma.v, "nai_soma_mM": soma.nai, "cli_soma_mM": soma.cli,
           "ki_soma_mM": soma.ki}
    if apical:
        vol = np.array([s.volume() for s in apical])
        out["nai_apical_mM"] = float(np.average([s.nai for s in apical], weights=vol))
    return out


@experiment("passive")
def passive(model) -> dict:
    """The resting state, then a -20 pA step at the soma: input resistance
    (steady deflection / current) and the membrane time constant (the slowest
    exponential of the charging curve, fitted from 1/e of the deflection on,
    where the faster, equalising components have died out)."""
    from neuron import h

    from ..analysis import fit_decay

    with model.cell() as cell:
        out = rest_values(cell)
        t, v = step_response(h, cell, STEP_PA, BASELINE_MS, STEP_MS, 0.0)
    base = float(np.interp(BASELINE_MS, t, v))
    end = BASELINE_MS + STEP_MS
    late = (t > end - 50.0) & (t <= end)
    v_ss = float(np.mean(v[late]))
    out["rin_MOhm"] = (v_ss - base) / (STEP_PA * 1e-3)  # mV / nA = MOhm
    on = (t >= BASELINE_MS) & (t <= end)
    dev = np.abs(v[on] - v_ss)
    tt = t[on]
    start = tt[np.argmax(dev <= dev[0] / math.e)]
    fit = fit_decay(tt, dev, start, span=3.0)
    out["tau_m_ms"] = fit.fit.tau if fit.fit else math.nan
    return out


def _spikes(h, cell, amp_pa):
    """(t, v) at the soma for a RHEO_STEP_MS step of ``amp_pa`` from rest."""
    return step_response(h, cell, amp_pa, 10.0, RHEO_STEP_MS, 20.0, stop_at_spike=True)


def _fires(t, v) -> bool:
    return bool(np.any(v > SPIKE_MV))


@experiment("rheobase")
def rheobase(model) -> dict:
    """The smallest somatic current step (500 ms) that fires a spike, by
    bisection to 2 %, and the spike threshold of that first spike
    (:func:`spike_threshold`)."""
    from neuron import h

    with model.cell() as cell:
        lo, hi = 0.0, RHEO_HI_PA
        if not _fires(*_spikes(h, cell, hi)):
            return {"rheobase_pA": math.nan, "threshold_mV": math.nan}
        while hi - lo > RHEO_RTOL * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if _fires(*_spikes(h, cell, mid)) else (mid, hi)
        t, v = _spikes(h, cell, hi)
    return {"rheobase_pA": hi, "threshold_mV": spike_threshold(t, v)}


def spike_threshold(t, v) -> float:
    """V where dV/dt rises through THRESHOLD_DVDT on the way up to the first
    spike (the start of the run of samples above it that reaches the first
    sample above SPIKE_MV). Not the first sample above it: a large step
    charges the soma's own capacitance at more than 20 mV/ms for a few
    microseconds at its onset (290 pA into the bundled cell's soma: 20.5
    mV/ms), far from any spike. NaN if nothing crosses SPIKE_MV, if it is
    crossed slower than THRESHOLD_DVDT (no spike upstroke), or if the run
    starts at the first sample (no crossing recorded)."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    keep = np.concatenate(([True], np.diff(t) > 0))  # CVODE repeats t at a discontinuity
    t, v = t[keep], v[keep]
    above = v > SPIKE_MV
    if not above.any() or t.size < 2:
        return math.nan
    dvdt = np.gradient(v, t)
    k = int(np.argmax(above))
    if not dvdt[k] > THRESHOLD_DVDT:
        return math.nan
    while k > 0 and dvdt[k - 1] > THRESHOLD_DVDT:
        k -= 1
    if k == 0:
        return math.nan
    # the sample before the crossing and the one at it: interpolate to 20 mV/ms
    return float(np.interp(THRESHOLD_DVDT, dvdt[k - 1:k + 1], v[k - 1:k + 1]))
