"""The whole-cell part of the ``pump-ahp`` protocol (:mod:`ionhomeo.protocols.pump_ahp`):
a reconstructed cell (the bundled pyramidal cell by default) driven by a somatic
spike train, the AHP at the soma against Gulledge et al. 2013 (J Neurosci
33:13025). Derivations and discussion: docs/protocols/pump-ahp.md.

Three runs from the cell's resting state (CVODE): control; the Na/K pump blocked
from the end of the train ("ouabain"); the same block without a train (the
baseline of the blocked cell). The pump's share of the AHP is 1 - (the train's
hyperpolarisation with the pump blocked, against that baseline) / (the control
AHP): what the train leaves without the pump's response to the Na it brought in.
"""

from __future__ import annotations

import math

import numpy as np

from .. import checks
from ..analysis import trapezoid

#: the AHP has recovered when V - baseline is back within this fraction of its peak
RECOVERED = 0.10
#: Gulledge et al. 2013 (abstract): "long-lasting (~20 s) afterhyperpolarizations";
#: the spread is not given there, so "~20 s" is taken as 10-30 s (50 %)
PAPER_DURATION_S, DURATION_TOL = 20.0, 0.5
#: ouabain blocks the AHP (same paper): at least 90 % of it is the pump's; 10 % allows
#: a small pump-independent part, as in the 1 um process's check
MIN_PUMP_SHARE = 0.9
#: the AHP time course "was similar to the decay of activity-induced increases in
#: intracellular sodium" (same paper, qualitative): time constants within 50 %
SIMILAR_TOL = 0.5
PAPER = "paper: Gulledge et al. 2013, J Neurosci 33:13025"


def measure(session, spec, simulate_train):
    """Build the cell, solve its rest, run the three trains; the raw data."""
    import time

    from .pump_ahp_model import pump_segments

    clock = time.process_time()
    recipe = spec.recipe if spec.recipe is not None else "mature"
    cell = session.cell(morphology=spec.cell_morphology, recipe=recipe)
    session.h.CVode().active(0)
    cell.initialize()
    cell.start()
    soma, segments = cell.soma_center, pump_segments(cell)
    d = {"cell": cell.to_dict(), "v_rest": float(soma.v), "nai_rest": float(soma.nai),
         "recipe": cell.recipe.name}
    period = 1000.0 / spec.cell_hz
    start = spec.train_start_s * 1e3
    times = list(start + period * np.arange(spec.cell_spikes))
    train_ms = spec.cell_spikes * period
    amp = spec.cell_train_pulse_nA
    balance = (start, train_ms, -amp * spec.cell_pulse_ms * spec.cell_spikes / train_ms)
    end, duration = start + train_ms, (spec.train_start_s + spec.cell_duration_s) * 1e3
    pulses = (times, spec.cell_pulse_ms, spec.cell_train_pulse_nA)
    d["runs"] = {cond: simulate_train(session, cell, segments, p, balance, b, duration)
                 for cond, p, b in session.conditions(
                     (("control", pulses, None), ("ouabain", pulses, end),
                      ("ouabain_no_train", ([], 0.0, 0.0), end)),
                     lambda c: f"whole cell, {c[0].replace('_', ' ')}")}
    d.update(train_end_s=end / 1e3, cpu_s=time.process_time() - clock,
             balance_nA=balance[2])
    session.drop(cell)
    return d


def fit_to_rest(t, y) -> dict:
    """y = a exp(-t/tau) (no baseline: V and Nai return to the cell's rest, which a
    run shorter than tau cannot locate); {a, tau_s}, nan if the fit fails."""
    from ..analysis import fit_exp, loglinear_guess

    out = {"a": math.nan, "tau_s": math.nan}
    if t.size < 10 or not np.all(np.isfinite(y)) or y[0] == 0:
        return out
    sign = 1.0 if y[0] > 0 else -1.0
    slope, _ = loglinear_guess(t, sign * y, above=0.05)
    tau0 = -1.0 / slope if slope < 0 else max(t[-1], 1.0)
    try:
        f = fit_exp(t, sign * y, (sign * y[0], tau0), lower=(0, 1e-3), upper=(np.inf, np.inf))
    except (RuntimeError, ValueError):
        return out
    return {"a": sign * f.a, "tau_s": f.tau}


def analyse(spec, d):
    """AHP amplitude, duration, pump share, time constants of the AHP and of the
    soma's Na excess (docs/protocols/pump-ahp.md, "The whole cell")."""
    ctrl, spikes = d["runs"]["control"]
    t = ctrl["t"] / 1e3
    before = (t >= spec.train_start_s - 0.1) & (t < spec.train_start_s)
    base = float(np.mean(ctrl["v"][before])) if before.any() else d["v_rest"]
    dv, t1 = ctrl["v"] - base, d["train_end_s"] + spec.cell_delay_s
    win = t >= t1
    a = {"t": t, "dv": dv, "baseline": base, "t1": t1,
         "spikes": int(np.sum((spikes >= spec.train_start_s * 1e3)
                              & (spikes < d["train_end_s"] * 1e3 + 50)))}
    k = int(np.argmin(dv[win]))
    a["ahp"], a["t_peak"] = float(dv[win][k]), float(t[win][k] - d["train_end_s"])
    back = np.flatnonzero(dv[win][k:] > RECOVERED * a["ahp"])
    a["duration"] = (float(t[win][k + back[0]] - d["train_end_s"]) if back.size and a["ahp"] < 0
                     else math.nan)
    a["excess"] = ctrl["nai"] - d["nai_rest"]
    a["fit_v"] = fit_to_rest(t[win] - t1, dv[win])
    a["fit_na"] = fit_to_rest(t[win] - t1, a["excess"][win])
    oua, free = d["runs"]["ouabain"][0], d["runs"]["ouabain_no_train"][0]
    n = min(oua["v"].size, free["v"].size, t.size)
    a["dv_oua"] = oua["v"][:n] - free["v"][:n]
    a["ahp_oua"] = float(min(0.0, a["dv_oua"][win[:n]].min()))
    a["pump_share"] = 1 - a["ahp_oua"] / a["ahp"] if a["ahp"] < 0 else math.nan
    area, area_oua = trapezoid(dv[win], t[win]), trapezoid(a["dv_oua"][win[:n]], t[:n][win[:n]])
    a["pump_share_area"] = 1 - area_oua / area if area < 0 else math.nan
    return a


def rows(spec, d, a) -> list:
    """The summary rows of the whole-cell part (quantity, value, unit, description)."""
    where = f"{spec.cell_morphology} cell ({d['recipe']}), soma"
    return [
        ("cell_Vm", d["v_rest"], "mV", f"{where}: resting potential"),
        ("cell_spikes", a["spikes"], "1", f"spikes in the train ({spec.cell_spikes} pulses of "
         f"{spec.cell_pulse_ms:g} ms, {spec.cell_train_pulse_nA:g} nA at {spec.cell_hz:g} Hz)"),
        ("cell_AHP", a["ahp"], "mV", f"lowest V - pre-train baseline from {spec.cell_delay_s:g} "
         "s after the train"),
        ("cell_t_AHP", a["t_peak"], "s", "time of that minimum after the end of the train"),
        ("cell_AHP_duration", a["duration"], "s", f"end of the train until V - baseline is back "
         f"within {RECOVERED:.0%} of the peak (nan: not within the run)"),
        ("cell_tau_AHP", a["fit_v"]["tau_s"], "s", "exponential fit to V - baseline from "
         f"{spec.cell_delay_s:g} s after the train"),
        ("cell_tau_Nai", a["fit_na"]["tau_s"], "s", "exponential fit to the soma's Na excess "
         "over the same window"),
        ("cell_Nai_load", float(np.max(a["excess"])), "mM", "peak Na excess at the soma"),
        ("cell_AHP_ouabain", a["ahp_oua"], "mV", "the train's lowest V with the pump blocked "
         "from its end, against the blocked cell without a train"),
        ("cell_pump_share", a["pump_share"], "1", "the pump's share of the AHP: 1 - "
         "cell_AHP_ouabain / cell_AHP"),
        ("cell_pump_share_area", a["pump_share_area"], "1", "the same for the AHP's area (the "
         "integral of V - baseline over the window)"),
    ]


def found_checks(a) -> list:
    """The whole-cell checks against the paper (they report what the physics gives)."""
    return [
        checks.relative("cell AHP duration", a["duration"], PAPER_DURATION_S, DURATION_TOL,
                        "s", f"{PAPER}: AHPs lasting about 20 s after trains of action "
                        "potentials in L5 and CA1 pyramidal neurons",
                        "the abstract gives ~20 s without its spread (pooled over cells, two "
                        "areas and two temperatures): 10-30 s"),
        checks.at_least("cell AHP pump share", a["pump_share"], MIN_PUMP_SHARE, "1",
                        f"{PAPER}: the AHP is blocked by ouabain",
                        "10 % allows a small pump-independent part"),
        checks.relative("cell tau_AHP", a["fit_v"]["tau_s"], a["fit_na"]["tau_s"], SIMILAR_TOL,
                        "s", f"{PAPER}: the AHP time course was similar to the decay of the "
                        "activity-induced Na increase (tau_Nai at the soma)",
                        "'similar' is qualitative: within 50 %"),
    ]


def draw(ax, spec, d, a):
    """V - baseline at the soma: control and the train's effect with the pump blocked."""
    from .. import plotting

    t, n = a["t"], a["dv_oua"].size
    after = t >= d["train_end_s"] + 0.05
    ax.plot(t[after], a["dv"][after], color="k", lw=1.0, label="control: V \u2212 baseline")
    ax.plot(t[:n][after[:n]], a["dv_oua"][after[:n]], color="tab:green", lw=1.0,
            label="pump blocked after the train: V \u2212 V(blocked, no train)")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.axhline(RECOVERED * a["ahp"], color="0.6", lw=0.6, ls=":")
    plotting.label(ax, "x", "time", "s")
    plotting.label(ax, "y", "V \u2212 baseline", "mV")
    ax.set_title(f"the {spec.cell_morphology} cell ({d['recipe']}), soma: {a['spikes']} spikes "
                 f"at {spec.cell_hz:g} Hz; AHP {plotting.number(a['ahp'], 3)} mV, duration "
                 f"{a['duration']:.1f} s, pump share {a['pump_share']:.2f}")
    ax.legend()


def notes(spec, a) -> list:
    """Notes for the user on the whole-cell part."""
    out = []
    if a["spikes"] != spec.cell_spikes:
        out.append(f"whole cell: {a['spikes']} spikes for {spec.cell_spikes} pulses (change "
                   "cell_train_pulse_nA)")
    if not math.isfinite(a["duration"]):
        out.append(f"whole cell: the AHP has not recovered to {RECOVERED:.0%} of its peak within "
                   f"{spec.cell_duration_s:g} s (cell_duration_s)")
    return out


def metadata(d, a) -> dict:
    """The JSON record of the whole-cell part."""
    return {"cell": d["cell"], "recipe": d["recipe"], "cpu_s": d["cpu_s"],
            "baseline_mV": a["baseline"], "charge_balance_nA": d["balance_nA"],
            "fits": {"AHP": a["fit_v"], "Na_excess": a["fit_na"]},
            "spike_times_s": (d["runs"]["control"][1] / 1e3).tolist()}
