"""Scorecard experiments on sodium and the Na/K pump: a bath of ouabain over
minutes, and a somatic spike train followed by the pump-driven recovery of
Na and the afterhyperpolarisation it carries."""

from __future__ import annotations

import math

import numpy as np

from . import experiment, start
from .electrical import traces

OUABAIN_S = 300.0       # minutes of pump block, as in bath applications
TRAIN_HZ = 50.0         # a somatic train of brief pulses
TRAIN_SPIKES = 50
PULSE_MS, PULSE_NA = 2.0, 5.0   # each pulse fires one spike (at 2 nA, 2 of 50 failed)
RECOVERY_S = 60.0       # the pump AHP lasts tens of seconds
BASELINE_MS = 500.0


def ttx(cell) -> None:
    """Tetrodotoxin: every fast Na channel blocked (gbar 0)."""
    from ..protocols.egaba import block

    block(cell, {"nav": "gbar"})


def _block_pump(cell) -> None:
    """Ouabain: every Na/K pump blocked (avail 0)."""
    from ..protocols.egaba import block

    block(cell, {"nakpump": "avail"})


@experiment("ouabain")
def ouabain(model) -> dict:
    """The Na/K pump blocked everywhere (avail = 0) from rest for 5 min, with
    TTX: the rate of the somatic Na rise over the first minute (mM/min, as
    imaged with SBFI) and the change of the somatic potential after 5 min.

    TTX (every nav blocked from the start, at rest, where they carry almost
    nothing): the depolarisation would otherwise make the cell fire for
    minutes, which costs hours of integration; the quantities are those of
    the resting membrane, without the Na of spikes."""
    from neuron import h

    from .. import simulate

    with model.cell() as cell:
        soma = cell.soma_center
        t, v, na = traces(h, [soma._ref_v, soma._ref_nai])
        t0 = start(cell)
        v0, na0 = soma.v, soma.nai
        ttx(cell)
        _block_pump(cell)
        h.cvode.re_init()  # a step change of parameters: CVODE starts again from here
        simulate.run(t0 + OUABAIN_S * 1e3)
        t_s = (np.asarray(t) - t0) * 1e-3
        na_1min = float(np.interp(60.0, t_s, np.asarray(na)))
        return {"dnai_dt_mM_per_min": na_1min - na0, "dvm_ouabain_mV": soma.v - v0,
                "nai_ouabain_mM": soma.nai}


def _count_spikes(t, v, t1) -> int:
    up = (v[1:] > 0.0) & (v[:-1] <= 0.0) & (t[1:] <= t1)
    return int(up.sum())


@experiment("spike-train")
def spike_train(model) -> dict:
    """50 spikes at 50 Hz evoked at the soma by 2 ms, 5 nA pulses, then 60 s of
    recovery: the number of spikes; the somatic Na rise and its recovery time
    constant (exponential fit from 2 s after the train, when the fast,
    diffusive redistribution is over) and its duration (until the rise is
    below 10 % of its peak); the afterhyperpolarisation's largest
    depth below the pre-train potential after the train (mV, from 1 s on:
    the slow, pump AHP, not the spike AHPs), and its duration, from the end
    of the train until it is shallower than 10 % of that depth. NaN for
    these when the train did not fire 50 spikes, when the cell fires after
    it, or when the run ends before the recovery (60 s)."""
    from neuron import h

    from .. import simulate
    from ..analysis import fit_decay

    with model.cell() as cell:
        soma = cell.soma_center
        t, v, na = traces(h, [soma._ref_v, soma._ref_nai])
        t0, v0, na0 = 0.0, soma.v, soma.nai  # initialize() left NEURON at t = 0 at rest
        onsets = [t0 + BASELINE_MS + k * 1e3 / TRAIN_HZ for k in range(TRAIN_SPIKES)]
        clamp = h.IClamp(soma)
        clamp.dur, clamp.amp, clamp.delay = 1e9, 0.0, 0.0
        # square pulses: each edge a repeated time (simulate.play)
        times = [t0] + [x for o in onsets for x in (o, o, o + PULSE_MS, o + PULSE_MS)]
        amps = [0.0] + [a for _ in onsets for a in (0.0, PULSE_NA, PULSE_NA, 0.0)]
        tv, av = simulate.play(clamp._ref_amp, times, amps)
        start(cell)
        t_end = onsets[-1] + 1e3 / TRAIN_HZ
        simulate.run(t_end + RECOVERY_S * 1e3)
        tt, vv, nn = np.asarray(t), np.asarray(v), np.asarray(na)
        del av, tv, clamp
    n_spikes = _count_spikes(tt, vv, t_end)
    out = {"spikes": float(n_spikes), "spikes_after": float(_count_spikes(tt, vv, math.inf)
                                                          - n_spikes),
           "dnai_train_mM": float(np.interp(t_end, tt, nn)) - na0}
    nan = {"nai_tau_s": math.nan, "na_duration_s": math.nan, "ahp_depth_mV": math.nan,
           "ahp_duration_s": math.nan}
    if n_spikes != TRAIN_SPIKES or out["spikes_after"]:
        # not the measured experiment: pulses that failed, or a cell that
        # fires on after the train (its AHP and Na are those of the firing)
        return {**out, **nan}
    after = tt >= t_end + 1e3
    depth = float(v0 - vv[after].min())
    still = after & (v0 - vv > 0.1 * depth)
    fit = fit_decay((tt - t_end) * 1e-3, nn - na0, 2.0, span=3.0)
    rise = nn - na0
    high = (tt >= t_end) & (rise > 0.1 * float(rise[tt >= t_end].max()))
    return {**out, "nai_tau_s": fit.fit.tau if fit.fit else math.nan,
            "na_duration_s": _duration_s(tt, high, t_end), "ahp_depth_mV": depth,
            "ahp_duration_s": _duration_s(tt, still, t_end)}


def _duration_s(t_ms, above, t_end) -> float:
    """Seconds from t_end to the last sample still ``above`` its criterion; NaN
    when the last sample of the run still is (not recovered within it)."""
    if not above.any():
        return 0.0
    if above[-1]:
        return math.nan
    return (float(t_ms[above].max()) - t_end) * 1e-3
