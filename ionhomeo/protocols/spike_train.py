"""Resting state of a soma, and its recovery from a spike train.

The cell is one cylindrical compartment, L = diam = 20 um: the size of a
pyramidal-cell body (somata of hippocampal and neocortical pyramidal neurons
are about 20 um across; Spruston 2008, Nat Rev Neurosci 9:206). It carries
the Na/K/Cl system with every parameter at its default: concentration owners
(nadyn, kdyn, cldyn), the Na/K pump, the three GHK leaks, KCC2, and the
spike channels nav and kdr.

The protocol

1. solves the resting steady state (:func:`ionhomeo.steady.solve`, K held at
   its default) and reports Vm, the concentrations, the reversal potentials
   (E_GABA from Cl and the default HCO3), the pump current and the largest
   residual current as a check;
2. simulates from exactly that state with CVODE: quiet rest until 5 s, then
   a train of brief current pulses (``train_hz`` for ``train_s``; each pulse
   gives one spike, which is counted and checked), then recovery until
   ``duration_s``;
3. reports the spikes, the peak Na rise, the pump after-hyperpolarisation
   (the lowest Vm after the train minus rest) and the time constant of the
   Na recovery (an exponential fitted to Nai after the train).

Everything it creates in NEURON is deleted before it returns, and the CVODE
settings it changes are restored.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import solver
from .common import Result, summary_dict, summary_table as _summary_table, write_outputs

NAME = "spike-train"
DESCRIPTION = ("resting steady state of a 20 um soma, then a spike train and the "
               "Na/K-pump-driven recovery")

#: mechanisms of the cell, all with their default parameters
MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak",
              "kcc2", "nav", "kdr")
SOMA_L_UM = 20.0
SOMA_DIAM_UM = 20.0
MORPHOLOGY_SOURCE = ("single cylinder, L = diam = 20 um: typical pyramidal soma "
                     "diameter about 20 um (Spruston 2008, Nat Rev Neurosci 9:206)")

TRAIN_START_S = 5.0
#: 1 nA for 1 ms puts 1 pC on the 1257 um2 membrane (1 uF/cm2): +80 mV, far
#: above threshold (about 20 mV above rest); the pulse ends before the spike
#: repolarises, so each pulse gives exactly one spike
PULSE_NA = 1.0
PULSE_MS = 1.0
SPIKE_THRESHOLD_MV = 0.0
#: recording interval (ms) used for the analysis and the figure
RECORD_DT_MS = 1.0
#: interval (ms) of the CSV time course outside the train (inside: RECORD_DT_MS)
CSV_DT_MS = 10.0
#: the fast after-hyperpolarisation of the last spike is over by then (s)
AHP_DELAY_S = 0.1
#: shortest recovery window after the train (s)
MIN_RECOVERY_S = 2.0

#: variable -> (unit, factor from NEURON units)
_RECORDED = {
    "v": ("mV", 1.0),
    "nai": ("mM", 1.0),
    "ki": ("mM", 1.0),
    "cli": ("mM", 1.0),
    "ipump": ("uA/cm2", 1e3),
}


def _check_args(duration_s, train_s, train_hz):
    """Number of pulses; mechanisms.ParameterError (a ValueError) for bad arguments."""
    from ..mechanisms import ParameterError

    for name, value in (("duration_s", duration_s), ("train_s", train_s), ("train_hz", train_hz)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParameterError(f"{name} must be a finite number, got {value!r}")
        if value <= 0:
            raise ParameterError(f"{name} must be > 0, got {value!r}")
    n_pulses = int(round(train_s * train_hz))
    if n_pulses < 1:
        raise ParameterError(f"train_s * train_hz = {train_s * train_hz:g}: the train has no pulse")
    if 1000.0 / train_hz < 5 * PULSE_MS:
        raise ParameterError(f"train_hz = {train_hz:g} Hz is too fast: pulses of {PULSE_MS:g} ms "
                             f"need at least {5 * PULSE_MS:g} ms between them (<= {200 / PULSE_MS:g} Hz)")
    shortest = TRAIN_START_S + train_s + MIN_RECOVERY_S
    if duration_s < shortest:
        raise ParameterError(
            f"duration {duration_s:g} s is too short: the train runs from {TRAIN_START_S:g} s "
            f"to {TRAIN_START_S + train_s:g} s and the recovery needs at least "
            f"{MIN_RECOVERY_S:g} s after it (duration >= {shortest:g} s)")
    return n_pulses


def _fit_recovery(t_s, nai, t0_s, rest):
    """Fit Nai(t) = c + a exp(-(t - t0)/tau) for t >= t0; baseline c free.

    The baseline is left free because the cell need not return exactly to the
    solved steady state (the pulses inject charge that no ion carried in, and
    it leaves as K). If that fit fails, c is fixed at the resting Nai.
    """
    from scipy import optimize

    m = t_s >= t0_s
    x = t_s[m] - t0_s
    y = nai[m] - rest  # deviation from rest, mM: well scaled for the fit
    out = {"t0_s": float(t0_s), "window_s": float(x[-1]) if x.size else 0.0,
           "model": "Nai = c + a exp(-(t - t0)/tau)"}
    if x.size < 10 or not y[0] > 0:
        return {**out, "tau_s": math.nan, "tau_se_s": math.nan, "a_mM": math.nan,
                "c_mM": math.nan, "method": "none (no Na rise to fit)"}
    # first guess: log-linear slope with the baseline at rest
    pos = y > 0.05 * y[0]
    slope = np.polyfit(x[pos], np.log(y[pos]), 1)[0] if pos.sum() > 2 else 0.0
    tau0 = -1.0 / slope if slope < 0 else 10.0 * max(out["window_s"], 1.0)
    try:
        p, cov = optimize.curve_fit(
            lambda t, a, tau, c: c + a * np.exp(-t / tau), x, y, p0=[y[0], tau0, 0.0],
            bounds=([0.0, 1e-3, -np.inf], [np.inf, np.inf, np.inf]), maxfev=20000)
        se = np.sqrt(np.diag(cov))
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(se)) and se[1] < p[1]):
            raise RuntimeError("free-baseline fit is not determined")
        return {**out, "tau_s": float(p[1]), "tau_se_s": float(se[1]), "a_mM": float(p[0]),
                "c_mM": float(rest + p[2]), "method": "least squares, baseline free"}
    except (RuntimeError, ValueError):
        p, cov = optimize.curve_fit(lambda t, a, tau: a * np.exp(-t / tau), x, y,
                                    p0=[y[0], tau0], bounds=([0.0, 1e-3], [np.inf, np.inf]),
                                    maxfev=20000)
        return {**out, "tau_s": float(p[1]), "tau_se_s": float(np.sqrt(cov[1, 1])),
                "a_mM": float(p[0]), "c_mM": float(rest),
                "method": "least squares, baseline fixed at the resting Nai"}


def _simulate(h, state, sections, seg, duration_s, pulse_times_ms):
    """Run from ``state``; returns (arrays in NEURON units, spike times in ms)."""
    stims = []
    for t_ms in pulse_times_ms:
        stim = h.IClamp(seg)
        stim.delay, stim.dur, stim.amp = t_ms, PULSE_MS, PULSE_NA
        stims.append(stim)
    netcon = h.NetCon(seg._ref_v, None, sec=seg.sec)
    netcon.threshold = SPIKE_THRESHOLD_MV
    spikes = h.Vector()
    netcon.record(spikes)
    refs = {"t": h._ref_t, "v": seg._ref_v, "nai": seg._ref_nai, "ki": seg._ref_ki,
            "cli": seg._ref_cli, "ipump": seg._ref_ipump_nakpump}
    vectors = {}
    for name, ref in refs.items():
        vectors[name] = h.Vector()
        vectors[name].record(ref, RECORD_DT_MS)
    try:
        # concentration tolerances from ionhomeo.solver: 1e-5 mM for Nai, while
        # one spike moves it by about 4e-3 mM
        solver.use_cvode()
        state.finitialize(sections)
        h.continuerun(duration_s * 1e3)
        data = {name: np.array(vec) for name, vec in vectors.items()}
        n = min(a.size for a in data.values())
        data = {name: a[:n] for name, a in data.items()}
        if data["t"][-1] < h.t - 1e-9:  # Dt recording stops one interval short of the end
            final = {"t": h.t, "v": seg.v, "nai": seg.nai, "ki": seg.ki, "cli": seg.cli,
                     "ipump": seg.ipump_nakpump}
            data = {name: np.append(a, final[name]) for name, a in data.items()}
        spike_ms = np.array(spikes.to_python())  # numpy < 2.4 cannot convert an empty Vector
    finally:
        for vec in vectors.values():
            vec.play_remove()
        del vectors, refs, netcon, spikes, stims
    return data, spike_ms


def _timecourse(t_s, data, train_window_s):
    """Tidy time course: RECORD_DT_MS inside the train window, CSV_DT_MS elsewhere."""
    import pandas as pd

    step = max(1, int(round(CSV_DT_MS / RECORD_DT_MS)))
    keep = (np.arange(t_s.size) % step == 0)
    keep[-1] = True
    keep |= (t_s >= train_window_s[0]) & (t_s <= train_window_s[1])
    frames = []
    for name, (unit, factor) in _RECORDED.items():
        frames.append(pd.DataFrame({"t_s": np.round(t_s[keep], 6), "variable": name,
                                    "value": data[name][keep] * factor, "unit": unit}))
    return pd.concat(frames, ignore_index=True)


def _figure(t_s, data, state, summary, fit, train, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 11.0), layout="constrained")
    axes = fig.subplots(5, 1, sharex=True)
    rest = {"v": state.v, "nai": state.concentrations["na"], "ki": state.concentrations["k"],
            "cli": state.concentrations["cl"], "ipump": summary["I_pump"]}
    labels = {"v": "V (mV)", "nai": "Na$_i$ (mM)", "cli": "Cl$_i$ (mM)", "ki": "K$_i$ (mM)",
              "ipump": "pump current\n(uA/cm$^2$, outward)"}
    outside = (t_s < train[0]) | (t_s > train[1] + AHP_DELAY_S)
    for ax, name in zip(axes, ("v", "nai", "cli", "ki", "ipump")):
        unit, factor = _RECORDED[name]
        y = data[name] * factor
        ax.plot(t_s, y, color="k", lw=0.8)
        ax.axhline(rest[name], color="tab:blue", ls="--", lw=1.0, label="solved steady state")
        ax.axvspan(train[0], train[1], color="tab:orange", alpha=0.2, lw=0, label="spike train")
        ax.set_ylabel(labels[name])
        if name in ("v", "ipump"):
            # spikes would hide the slow changes: scale to the trace outside the train
            lo, hi = float(y[outside].min()), float(y[outside].max())
            lo, hi = min(lo, rest[name]), max(hi, rest[name])
            pad = 0.15 * (hi - lo) or 0.01 * abs(rest[name]) or 1e-3
            ax.set_ylim(lo - pad, hi + pad)
            ax.text(0.01, 0.04, "values during the train clipped", transform=ax.transAxes,
                    fontsize=8, color="0.4")
        ax.ticklabel_format(axis="y", useOffset=False)
    # the train at full scale
    inset = axes[0].inset_axes([0.62, 0.42, 0.36, 0.52])
    m = (t_s >= train[0] - 0.05) & (t_s <= min(train[1], train[0] + 0.3))
    inset.plot(t_s[m], data["v"][m], color="k", lw=0.7)
    inset.set_title("train start, full scale", fontsize=8)
    inset.tick_params(labelsize=7)
    inset.set_ylabel("mV", fontsize=7)
    if math.isfinite(fit["tau_s"]):
        tt = t_s[t_s >= fit["t0_s"]]
        axes[1].plot(tt, fit["c_mM"] + fit["a_mM"] * np.exp(-(tt - fit["t0_s"]) / fit["tau_s"]),
                     color="tab:red", ls=":", lw=1.5,
                     label=f"exponential fit, tau = {fit['tau_s']:.0f} s")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].legend(loc="center right", fontsize=8)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(t_s[0], t_s[-1])
    fig.suptitle(title, fontsize=10)
    return fig


def _mechanism_parameters(h, seg):
    from .. import mechanisms

    out = {}
    for name in MECHANISMS:
        mech = mechanisms.get(name)
        out[name] = {p.name: float(getattr(h if p.scope == "global" else seg, f"{p.name}_{name}"))
                     for p in mech.parameters.values()}
    return out


def run(out_dir=None, duration_s: float = 60.0, train_s: float = 1.0, train_hz: float = 20.0,
        defaults=None) -> Result:
    """Run the spike-train protocol; write results to ``out_dir`` if given.

    Parameters
    ----------
    out_dir : directory for spike-train.csv (time course),
        spike-train_summary.csv, spike-train.json and spike-train.png; None writes nothing.
    duration_s : simulated time (s); the train starts at 5 s.
    train_s, train_hz : duration (s) and rate (Hz) of the pulse train.
    defaults : :class:`ionhomeo.defaults.Defaults` (concentrations,
        temperature); the package defaults if None.
    """
    start_clock = time.perf_counter()
    n_pulses = _check_args(duration_s, train_s, train_hz)

    from neuron import h

    from .. import build, mechanisms, results, steady, thermo
    from .. import defaults as _defaults

    duration_s, train_s, train_hz = float(duration_s), float(train_s), float(train_hz)
    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply(defaults)
    cvode = h.CVode()
    saved_active = cvode.active()
    saved_scales = {var: cvode.atolscale(var) for var in solver.ATOL_SCALE}
    soma = h.Section(name="ionhomeo_spike_train_soma")
    try:
        soma.L, soma.diam, soma.nseg = SOMA_L_UM, SOMA_DIAM_UM, 1
        for name in MECHANISMS:
            mechanisms.insert(soma, name)
        seg = soma(0.5)
        area_cm2 = seg.area() * 1e-8

        # 1. steady state
        cvode.active(0)
        state = steady.solve([soma])
        state.finitialize([soma])
        c = state.concentrations
        nao, ko, clo = seg.nao, seg.ko, seg.clo
        ipump_rest = seg.ipump_nakpump  # mA/cm2
        mech_params = _mechanism_parameters(h, seg)
        e_na = float(thermo.nernst(c["na"], nao, 1, d.celsius))
        e_k = float(thermo.nernst(c["k"], ko, 1, d.celsius))
        e_cl = float(thermo.nernst(c["cl"], clo, -1, d.celsius))
        e_gaba = float(thermo.egaba(c["cl"], clo, d.hco3i, d.hco3o, celsius=d.celsius))

        # 2. quiet rest, train, recovery
        period_ms = 1000.0 / train_hz
        pulse_ms = TRAIN_START_S * 1e3 + period_ms * np.arange(n_pulses)
        train = (TRAIN_START_S, TRAIN_START_S + train_s)
        data, spike_ms = _simulate(h, state, [soma], seg, duration_s, pulse_ms)
    finally:
        cvode.active(saved_active)
        for var, scale in saved_scales.items():
            cvode.atolscale(var, scale)
        seg = None
        soma = None  # our last reference: NEURON deletes the section here
    sim_clock = time.perf_counter() - start_clock

    # 3. analysis
    t_s = data["t"] * 1e-3
    spike_s = spike_ms * 1e-3
    in_train = (spike_s >= train[0]) & (spike_s < train[1] + AHP_DELAY_S)
    # one spike per pulse: a spike within one period after each pulse
    per_pulse = np.array([np.sum((spike_s >= p / 1e3) & (spike_s < p / 1e3 + period_ms / 1e3))
                          for p in pulse_ms])
    rest_nai = c["na"]
    quiet = t_s < train[0]
    drift = float(np.max(np.abs(data["v"][quiet] - state.v)))
    after = t_s >= train[0]
    nai_peak = float(np.max(data["nai"][after]))
    post = t_s >= train[1] + AHP_DELAY_S
    i_min = int(np.argmin(data["v"][post]))
    ahp = float(data["v"][post][i_min] - state.v)
    t_ahp = float(t_s[post][i_min] - train[1])
    fit = _fit_recovery(t_s, data["nai"], train[1] + AHP_DELAY_S, rest_nai)
    nai_end = float(data["nai"][-1])
    recovered = ((nai_peak - nai_end) / (nai_peak - rest_nai)) if nai_peak > rest_nai else math.nan

    rows = [
        ("Vm", state.v, "mV", "resting membrane potential (solved steady state)"),
        ("Nai", c["na"], "mM", "intracellular Na at rest"),
        ("Ki", c["k"], "mM", "intracellular K at rest (held at its default)"),
        ("Cli", c["cl"], "mM", "intracellular Cl at rest"),
        ("E_Na", e_na, "mV", "Na reversal potential"),
        ("E_K", e_k, "mV", "K reversal potential"),
        ("E_Cl", e_cl, "mV", "Cl reversal potential"),
        ("E_GABA", e_gaba, "mV", f"GABA_A reversal (Cl and HCO3 {d.hco3i:g}/{d.hco3o:g} mM, "
                                 "P_HCO3/P_Cl 0.2)"),
        ("I_pump", ipump_rest * 1e3, "uA/cm2", "Na/K pump current density at rest (outward)"),
        ("I_pump_total", ipump_rest * area_cm2 * 1e9, "pA", "Na/K pump current of the soma at rest"),
        ("max_residual", state.residual, "mA/cm2", "check: largest net ionic current at rest"),
        ("rest_drift", drift, "mV", "check: largest |Vm - rest| during the quiet rest"),
        ("pulses", n_pulses, "1", f"current pulses ({PULSE_NA:g} nA, {PULSE_MS:g} ms) at "
                                  f"{train_hz:g} Hz from {train[0]:g} s"),
        ("spikes", int(in_train.sum()), "1", "spikes in the train"),
        ("Nai_rise", nai_peak - rest_nai, "mM", "peak Nai rise above rest"),
        ("pump_AHP", ahp, "mV", f"lowest Vm from {AHP_DELAY_S:g} s after the train, minus rest"),
        ("t_AHP", t_ahp, "s", "time of that minimum after the end of the train"),
        ("tau_Nai", fit["tau_s"], "s", "Nai recovery time constant (exponential fit)"),
        ("Nai_recovered", recovered, "1", "fraction of the Na rise removed by the end"),
    ]
    summary = _summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    values = dict(zip(summary["quantity"], summary["value"]))

    warnings = []
    if not np.all(per_pulse == 1) or int(in_train.sum()) != n_pulses:
        warnings.append(f"expected one spike per pulse; spikes per pulse: {per_pulse.tolist()}")
    if spike_s.size != in_train.sum():
        warnings.append(f"{spike_s.size - int(in_train.sum())} spike(s) outside the train")
    if math.isfinite(fit["tau_s"]) and fit["tau_s"] > fit["window_s"]:
        warnings.append(
            f"tau_Nai = {fit['tau_s']:.0f} s is longer than the {fit['window_s']:.0f} s fit window: "
            "an extrapolation of a single-exponential recovery (run longer with --duration)")

    title = (f"Rest: Vm {state.v:.2f} mV, Na$_i$ {c['na']:.2f} mM, Cl$_i$ {c['cl']:.2f} mM, "
             f"E$_{{GABA}}$ {e_gaba:.1f} mV\n"
             f"{int(in_train.sum())} spikes ({train_hz:g} Hz, {train_s:g} s): "
             f"Na$_i$ rise {values['Nai_rise']:.3f} mM, pump AHP {ahp:.3f} mV, "
             f"$\\tau_{{Na}}$ {fit['tau_s']:.0f} s")
    timecourse = _timecourse(t_s, data, (train[0] - 0.1, train[1] + 0.5))
    parameters = {
        "duration_s": duration_s, "train_start_s": TRAIN_START_S, "train_s": train_s,
        "train_hz": train_hz, "pulse_nA": PULSE_NA, "pulse_ms": PULSE_MS,
        "spike_threshold_mV": SPIKE_THRESHOLD_MV, "record_dt_ms": RECORD_DT_MS,
        "csv_dt_ms": CSV_DT_MS, "cvode": {"atol": float(h.CVode().atol()),
                                          "atolscale": dict(solver.ATOL_SCALE)},
        "ahp_delay_s": AHP_DELAY_S,
    }
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, parameters=parameters, defaults=d.to_dict(),
        morphology={"L_um": SOMA_L_UM, "diam_um": SOMA_DIAM_UM, "nseg": 1,
                    "source": MORPHOLOGY_SOURCE},
        mechanisms=mech_params, steady_state=state.to_dict(),
        summary=summary_dict(summary),
        recovery_fit=fit, spike_times_s=spike_s.tolist(), warnings=warnings,
        simulation_runtime_s=sim_clock,
    )

    files, figures = (), ()
    if out_dir is not None:
        files, figures = write_outputs(
            out_dir, NAME, summary, metadata,
            figure=lambda: _figure(t_s, data, state, values, fit, train, title),
            tables={"": timecourse}, start_clock=start_clock)
    else:
        metadata["runtime_s"] = time.perf_counter() - start_clock
    return Result(summary=summary, timecourse=timecourse, metadata=metadata,
                  figures=tuple(figures), files=tuple(files))
