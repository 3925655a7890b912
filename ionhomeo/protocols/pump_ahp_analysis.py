"""Analysis of the ``pump-ahp`` protocol's runs (:mod:`ionhomeo.protocols.pump_ahp`):
the AHP measured against the model's predictions, the time course table and
the figure. Derivations: docs/protocols/pump-ahp.md.
"""

from __future__ import annotations

import math

import numpy as np

from .. import checks, kinetics
from ..analysis import fit_exp, loglinear_guess, trapezoid

#: tolerances of the 1 um process's checks (ionhomeo.protocols.pump_ahp)
DURATION_TOL, TAU_TOL, MIN_CORRELATION, OUABAIN_FRACTION = 0.10, 0.10, 0.99, 0.10


def fit_decay(t, y):
    """y = c + a exp(-t/tau) from t = 0 (first guess log-linear over y > 5 % of
    y[0]); {a, tau_s, c}, nan if it fails."""
    out = {"a": math.nan, "tau_s": math.nan, "c": math.nan}
    if t.size < 10 or not np.all(np.isfinite(y)) or y[0] == 0:
        return out
    sign = 1.0 if y[0] > 0 else -1.0
    z = sign * y
    slope, _ = loglinear_guess(t, z, above=0.05)
    tau0 = -1.0 / slope if slope < 0 else max(t[-1], 1.0)
    try:
        f = fit_exp(t, z, (z[0], tau0, 0.0), baseline=True, lower=(0, 1e-3, -np.inf),
                    upper=(np.inf, np.inf, np.inf))
    except (RuntimeError, ValueError):
        return out
    return {"a": sign * f.a, "tau_s": f.tau, "c": sign * f.c}


def analyse(spec, d):
    """The AHP measured and predicted (docs/protocols/pump-ahp.md) from the data of
    the protocol's measure(): a dict of arrays and numbers."""
    ctrl, spike_ms = d["runs"]["control"]
    t, t1 = ctrl["t"] / 1e3, spec.t1_s
    a = {"t": t, "spikes_s": spike_ms / 1e3, "ts": ctrl["t_seg"] / 1e3}
    a["spikes"] = int(np.sum((a["spikes_s"] >= spec.train_start_s)
                             & (a["spikes_s"] < spec.train_end_s + 0.05)))
    a["per_pulse"] = [int(np.sum((spike_ms >= p) & (spike_ms < p + d["period_ms"])))
                      for p in d["pulses_ms"]]
    dv = a["dv"] = ctrl["v"] - d["v_rest"]
    win = t >= t1
    tw, dvw = t[win] - t1, dv[win]
    # Na excess: pump-weighted over segments (one compartment: Nai - Nai_rest)
    dna_seg = ctrl["nai_seg"] - d["nai_rest"][:, None]
    weights = d["area"] * d["dip"]
    excess = a["excess"] = np.interp(t, a["ts"], (weights[:, None] * dna_seg).sum(axis=0)
                                     / weights.sum())
    exw = excess[win]
    w_t1 = d["area"] * d["dip"] * np.array([np.interp(t1, a["ts"], row) for row in dna_seg])
    a["d_pred"] = (float(np.sum(w_t1 * d["tau_seg"]) / np.sum(w_t1)) if np.sum(w_t1) > 0
                   else math.nan)
    a["fit_v"], a["fit_na"] = fit_decay(tw, dvw), fit_decay(tw, exw)
    # duration: integral of dV from t1 (the tail beyond the run from the fit) / dV(t1)
    fit, area = a["fit_v"], trapezoid(dvw, tw)
    tail = (fit["a"] * math.exp(-tw[-1] / fit["tau_s"]) * fit["tau_s"]
            if math.isfinite(fit["tau_s"]) else 0.0)
    a["d_meas"] = (area + tail) / dvw[0]
    a["tail_share"] = tail / (area + tail) if area + tail else math.nan
    # the AHP is a hyperpolarisation: correlate -(V - rest) with the Na excess
    a["corr"] = float(np.corrcoef(-dvw, exw)[0, 1]) if dvw.size > 2 else math.nan
    a["ahp"], a["ahp_t1"] = float(dvw.min()), float(dvw[0])
    a["t_ahp"] = float(tw[int(np.argmin(dvw))] + spec.ahp_delay_s)
    a["peak_excess"] = float(excess[t >= spec.train_start_s].max())
    # ouabain: the train's effect with the pump blocked, against the blocked baseline
    oua, base = d["runs"]["ouabain"][0], d["runs"]["ouabain_no_train"][0]
    n = min(oua["v"].size, base["v"].size, t.size)
    diff = oua["v"][:n] - base["v"][:n]
    a["hyper_oua"], a["dep_oua"] = max(0.0, -float(diff[win[:n]].min())), float(diff[win[:n]].max())
    hyper_ctrl = max(0.0, -a["ahp"])
    a["oua_fraction"] = a["hyper_oua"] / hyper_ctrl if hyper_ctrl > 0 else math.nan
    # amplitude: pump alone and quasi-steady (every mechanism); area invariant
    g_total = float(np.sum(d["g_seg"] * d["area"]))  # mS/cm2 * um2
    a["g_mean"] = g_total / d["area"].sum()
    a["s_pump"] = -float(np.sum(d["area"] * d["dip"]) / (g_total * 1e-3))  # mV per mM excess
    a["amp_pump"] = a["s_pump"] * float(exw[0])
    a["amp_qs"] = d["s_qs"] * float(exw[0]) if math.isfinite(d["s_qs"]) else math.nan
    # tau_Na with every Na flux: d ina/dNai replaces 3 dI_p/dNai
    a["tau_all"] = (float(kinetics.nai_recovery_tau_s(d["diam"][d["soma_k"]], d["dina_qs"] / 3))
                    if math.isfinite(d["dina_qs"]) and d["dina_qs"] > 0 else math.nan)
    a["area_pred"] = -d["na_charge"] / (3 * a["g_mean"] * 1e-3) * 1e3  # V s -> mV s
    early = (t >= spec.train_end_s) & (t < t1)
    a["area_meas"] = a["d_meas"] * a["ahp_t1"] + trapezoid(dv[early], t[early])
    return a


def warnings_for(spec, d, a, duration_passed):
    """Notes for the user on a run (``duration_passed``: the duration check's verdict)."""
    out = list(d["warnings"])
    if any(n != 1 for n in a["per_pulse"]):
        out.append(f"expected one spike per pulse; got {a['per_pulse']} (change pulse_nA)")
    if not 10.0 <= a["d_meas"] < 100.0:
        out.append(f"the AHP lasts {a['d_meas']:.3g} s, not tens of seconds: tau_Na scales with "
                   "the diameter (about 25 s per um with the defaults)")
    if abs(a["ahp"]) < 0.1:
        out.append(f"the AHP is tiny ({a['ahp']:.3g} mV): see AHP_20um_* for what it would take")
    if a["tail_share"] > 0.1:
        out.append(f"{100 * a['tail_share']:.0f} % of the AHP area is extrapolated beyond the "
                   "run; run longer (duration_s)")
    if spec.morphology is not None and not duration_passed:
        out.append("duration check failed in a multi-compartment cell: Na diffuses between "
                   "segments of different tau_Na, which the prediction ignores, and Ca "
                   "mechanisms add a pump-independent, Na-dependent component")
    return out


def metadata(d, a, record_dt_ms):
    """The JSON record of a run: cell, stimulus, rest, predictions, fits, spikes."""
    return {"cells": {"cell": d["cell"]}, "simulation_runtime_s": d["runtime_s"],
            "stimulus": {"pulse_nA": d["pulse"], "charge_balance_nA": d["balance"][2],
                         "ouabain": "nakpump avail = 0 in every segment from the end of the train",
                         "record_dt_ms": record_dt_ms},
            "rest": {"v_mV": d["v_rest"], **{f"{k}_mM": v for k, v in d["rest"].items()}},
            "predictions": {"tau_Na_s_per_segment_range": [float(d["tau_seg"].min()),
                                                           float(d["tau_seg"].max())],
                            "duration_pred_s": a["d_pred"], "AHP_per_mM_pump_mV": a["s_pump"],
                            "AHP_per_mM_quasi_steady_mV": d["s_qs"],
                            "dINa_dNai_quasi_steady": d["dina_qs"], "tau_Na_all_s": a["tau_all"],
                            "G_m_mean_mS_cm2": a["g_mean"], "Na_charge_C_per_cm2": d["na_charge"],
                            "soma_20um": d["req"]},
            "fits": {"AHP": a["fit_v"], "Na_excess": a["fit_na"], "tail_share": a["tail_share"]},
            "spike_times_s": a["spikes_s"].tolist()}


def timecourse(d, a, step):
    """Tidy table (condition, t_s, variable, value, unit): the soma's traces
    every ``step`` samples, its pump current and the Na excess."""
    import pandas as pd

    frames = []
    units = {"v": "mV", "nai": "mM", "ki": "mM", "cli": "mM", "cai": "mM"}
    for cond, (run, _) in d["runs"].items():
        tt = np.round(run["t"][::step] / 1e3, 6)
        frames += [pd.DataFrame({"condition": cond, "t_s": tt, "variable": name,
                                 "value": run[name][::step], "unit": unit})
                   for name, unit in units.items() if name in run]
        frames.append(pd.DataFrame({"condition": cond, "t_s": np.round(run["t_seg"] / 1e3, 6),
                                    "variable": "ipump_soma",
                                    "value": run["ipump_seg"][d["soma_k"]] * 1e3,
                                    "unit": "uA/cm2"}))
    frames.append(pd.DataFrame({"condition": "control", "t_s": np.round(a["t"][::step], 6),
                                "variable": "na_excess", "value": a["excess"][::step],
                                "unit": "mM"}))
    return pd.concat(frames, ignore_index=True)


def figure(spec, d, a, values):
    """V - rest against the predictions, the Na excess, and the pump block;
    ``values``: the summary {quantity: value}."""
    from .. import plotting

    sym, num = plotting.SYMBOLS, plotting.number
    whole = d.get("whole_cell")
    tau = sym["tau"]
    fig, axes = plotting.figure(
        "", f"the pump AHP {num(values['AHP'], 3)} mV, duration {values['duration']:.1f} s "
        f"(predicted {a['d_pred']:.1f} s from {tau}$_\\mathrm{{Na}}$); {tau}$_\\mathrm{{AHP}}$ "
        f"{values['tau_AHP']:.1f} s, {tau}$_\\mathrm{{Nai}}$ {values['tau_Nai']:.1f} s; with the "
        f"pump blocked {num(round(values['AHP_ouabain'], 3) + 0.0, 3)} mV. A {spec.soma_diam_um:g} \u00b5m soma: "
        f"{tau}$_\\mathrm{{Na}}$ {values['tau_Na_20um']:.0f} s, AHP "
        f"{num(values['AHP_20um'], 3)} mV", 4 if whole else 3, 1,
        size=(9.0, 12.5 if whole else 9.5))
    ax_v, ax_n, ax_o = axes[:3]
    ax_n.sharex(ax_v)
    ax_o.sharex(ax_v)
    if whole:
        from .pump_ahp_cell import draw

        draw(axes[3], spec, whole, whole["analysis"])
    t, dv, excess, t1 = a["t"], a["dv"], a["excess"], spec.t1_s
    after, tt = t >= spec.train_end_s + 0.2, t[t >= t1]
    control = {"condition": "control"}
    ax_v.plot(t[after], dv[after], color="k", lw=1.0, label="control: V \u2212 rest")
    ax_v.plot(t[after], a["s_pump"] * excess[after], color="tab:blue", ls="--", lw=1.0,
              label="pump alone: $-(dI_p/d\\mathrm{Na_i})\\,\\Delta \\mathrm{Na}/G_m$")
    if math.isfinite(d["s_qs"]):
        ax_v.plot(t[after], d["s_qs"] * excess[after], color="tab:green", ls="--", lw=1.0,
                  label="every mechanism, quasi-steady: "
                        "$(dV/d\\mathrm{Na_i})\\,\\Delta \\mathrm{Na}$")
    ax_n.plot(t, excess, color="k", lw=1.0, label="Na excess")
    for ax, fit in ((ax_v, a["fit_v"]), (ax_n, a["fit_na"])):
        if math.isfinite(fit["tau_s"]):
            ax.plot(tt, fit["c"] + fit["a"] * np.exp(-(tt - t1) / fit["tau_s"]), color="tab:red",
                    ls=":", lw=1.5, label=f"exponential fit, {tau} = {fit['tau_s']:.1f} s")
        ax.axvspan(spec.train_start_s, spec.train_end_s, color="tab:orange", alpha=0.25, lw=0,
                   label="spike train" if ax is ax_v else None)
    ax_v.axhline(0, color="0.5", lw=0.6)
    plotting.label(ax_v, "y", "V \u2212 rest", "mV", table="", column="value",
                   where={**control, "variable": "v"})
    ax_v.legend(loc="lower right")
    plotting.label(ax_n, "y", f"Na excess, {sym['Nai']} \u2212 rest", "mM", table="",
                   column="value", where={**control, "variable": "na_excess"})
    ax_n.legend()
    oua, base = d["runs"]["ouabain"][0], d["runs"]["ouabain_no_train"][0]
    n = min(oua["v"].size, base["v"].size, t.size)
    ax_o.plot(t[after], dv[after], color="k", lw=1.0, label="control: V \u2212 rest")
    ax_o.plot(t[:n][after[:n]], (oua["v"][:n] - base["v"][:n])[after[:n]], color="tab:green",
              lw=1.0, label="pump blocked after the train: V \u2212 V(blocked, no train)")
    ax_o.plot(t[:n][after[:n]], (base["v"][:n] - d["v_rest"])[after[:n]], color="tab:green",
              ls=":", lw=1.0, label="blocked, no train: V \u2212 rest")
    ax_o.axhline(0, color="0.5", lw=0.6)
    ax_o.set_xlim(t[0], t[-1])
    plotting.label(ax_o, "y", "V \u2212 rest, V \u2212 V(blocked)", "mV", table="",
                   column="value", where={"variable": "v"})
    ax_o.set_title("the pump blocked (ouabain) after the train")
    for ax in axes[:3]:
        plotting.label(ax, "x", "time", "s", table="", column="t_s")
    ax_o.legend()
    return fig


def checks_for(a):
    """The 1 um process's checks (module docstring of pump_ahp)."""
    quasi = "physics: a quasi-static membrane, dV = -(dI_p/dNai) Na excess / G_m"
    return [
        checks.relative("duration", a["d_meas"], a["d_pred"], DURATION_TOL, "s", "model: Nai "
                        "recovery tau_Na = (diam/4) F / (3 dI_p/dNai), nakpump's rate law",
                        "the other Na fluxes (+5 % with the defaults, tau_Na_all) and the "
                        "nonlinearity of a 14 % Na load (about 2 %)"),
        checks.relative("tau_AHP", a["fit_v"]["tau_s"], a["fit_na"]["tau_s"], TAU_TOL, "s",
                        f"{quasi}: the AHP decays with the Na excess (tau_Nai)",
                        "the lost K and the Cl (and Ca) transients respond to Nai too"),
        checks.at_least("correlation", a["corr"], MIN_CORRELATION, "1",
                        f"{quasi}: -dV proportional to the Na excess",
                        "linear response within the nonlinearity of the Na load"),
        checks.at_most("ouabain_fraction", a["oua_fraction"], OUABAIN_FRACTION, "1",
                       "paper: Gulledge et al. 2013, J Neurosci 33:13025: ouabain abolishes the "
                       "slow AHP", "none is expected without the pump (measured with the "
                       "defaults: none); 10 % allows a small pump-independent part"),
    ]
