"""Protocol ``spike-train``: the resting state of a soma, and its recovery
from a spike train.

The protocol's own 20 um soma (preset ``na-k-cl-spiking``), or any morphology
and recipe, is solved at rest (K held); from that state CVODE simulates quiet
rest, a train of current pulses and the recovery: spikes, Na rise, pump
after-hyperpolarisation and Na recovery time constant (exponential fit).

Checks: a true resting state (physics: residual current within the steady
state solver's tolerance, no drift of Vm at rest) and one spike per pulse
(protocol: each pulse is far above threshold and ends before the spike).

Derivations and discussion: docs/protocols/spike-train.md
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks, solver
from ..analysis import count_between, fit_exp, loglinear_guess
from ..experiment import Protocol, Report, Spec, param
from ..geometry import cylinder
from ..recipe import RecipeError

NAME = "spike-train"
DESCRIPTION = ("resting steady state of a 20 um soma, then a spike train and the "
               "Na/K-pump-driven recovery")

MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak",
              "kcc2", "nav", "kdr")  # of the preset na-k-cl-spiking, at their mod-file defaults
SOMA_L_UM = SOMA_DIAM_UM = 20.0
MORPHOLOGY_SOURCE = ("single cylinder, L = diam = 20 um: typical pyramidal soma "
                     "diameter about 20 um (Spruston 2008, Nat Rev Neurosci 9:206)")
SPIKE_THRESHOLD_MV = 0.0
RECORD_DT_MS = 1.0   # recording interval for the analysis and the figure
CSV_DT_MS = 10.0     # interval of the CSV time course outside the train
AHP_DELAY_S = 0.1    # the fast after-hyperpolarisation of the last spike is over by then
MIN_RECOVERY_S = 2.0  # shortest recovery window after the train
#: tolerances of steady.solve (net ion current, mA/cm2) and solve_cell (dV/dt, mV/ms)
RESIDUAL_TOL, RESIDUAL_V_TOL = 1e-13, 1e-7
#: variable -> (NEURON name, unit, factor from NEURON units)
_RECORDED = {"v": ("v", "mV", 1.0), "nai": ("nai", "mM", 1.0), "ki": ("ki", "mM", 1.0),
             "cli": ("cli", "mM", 1.0), "ipump": ("ipump_nakpump", "uA/cm2", 1e3)}


@dataclasses.dataclass(frozen=True)
class SpikeTrainSpec(Spec):
    duration_s: float = param(60.0, "s", "simulated time", 0.0)
    train_s: float = param(1.0, "s", "duration of the pulse train", 0.0)
    train_hz: float = param(20.0, "Hz", "pulse rate", 0.0)
    train_start_s: float = param(5.0, "s", "start of the train (quiet rest before)", 0.0)
    pulse_nA: float = param(1.0, "nA", "pulse amplitude (1 nA, 1 ms: +80 mV on 1257 um2)", 0.0)
    pulse_ms: float = param(1.0, "ms", "pulse duration", 0.0)
    soma_L_um: float = param(SOMA_L_UM, "um", "length of the protocol's soma", 0.0)
    soma_diam_um: float = param(SOMA_DIAM_UM, "um", "diameter of the protocol's soma", 0.0)

    def __post_init__(self):
        from ..mechanisms import ParameterError

        super().__post_init__()
        if int(round(self.train_s * self.train_hz)) < 1:
            raise ParameterError(f"train_s * train_hz = {self.train_s * self.train_hz:g}: no pulse")
        if 1000.0 / self.train_hz < 5 * self.pulse_ms:
            raise ParameterError(f"train_hz = {self.train_hz:g} Hz is too fast for pulses of "
                                 f"{self.pulse_ms:g} ms (<= {200 / self.pulse_ms:g} Hz)")
        end = self.train_start_s + self.train_s
        if self.duration_s < end + MIN_RECOVERY_S:
            raise ParameterError(f"duration {self.duration_s:g} s is too short: the train ends "
                                 f"at {end:g} s and the recovery needs {MIN_RECOVERY_S:g} s "
                                 f"after it (duration >= {end + MIN_RECOVERY_S:g} s)")


def _fit_recovery(t_s, nai, t0_s, rest):
    """Fit Nai(t) = c + a exp(-(t - t0)/tau) for t >= t0, baseline c free (the pulses'
    charge leaves as K: the cell need not return to rest); if that fails, c = rest."""
    x, y = t_s[t_s >= t0_s] - t0_s, nai[t_s >= t0_s] - rest  # mM from rest: well scaled
    out = {"t0_s": float(t0_s), "window_s": float(x[-1]) if x.size else 0.0,
           "model": "Nai = c + a exp(-(t - t0)/tau)"}
    if x.size < 10 or not y[0] > 0:
        return {**out, "tau_s": math.nan, "tau_se_s": math.nan, "a_mM": math.nan,
                "c_mM": math.nan, "method": "none (no Na rise to fit)"}
    slope, _ = loglinear_guess(x, y, above=0.05)  # baseline at rest
    tau0 = -1.0 / slope if slope < 0 else 10.0 * max(out["window_s"], 1.0)
    try:
        fit = fit_exp(x, y, (y[0], tau0, 0.0), baseline=True, lower=(0.0, 1e-3, -np.inf),
                      upper=(np.inf, np.inf, np.inf))
        if not (np.all(np.isfinite([fit.a, fit.tau, fit.c, fit.se_a, fit.se_tau, fit.se_c]))
                and fit.se_tau < fit.tau):
            raise RuntimeError("free-baseline fit is not determined")
        c0, method = fit.c, "least squares, baseline free"
    except (RuntimeError, ValueError):
        fit = fit_exp(x, y, (y[0], tau0), lower=(0.0, 1e-3), upper=(np.inf, np.inf))
        c0, method = 0.0, "least squares, baseline fixed at the resting Nai"
    return {**out, "tau_s": fit.tau, "tau_se_s": fit.se_tau, "a_mM": fit.a,
            "c_mM": float(rest + c0), "method": method}


def _rest(h, cell, d):
    """The resting state at the soma: V, concentrations, pump, reversal potentials."""
    from .. import mechanisms, steady, thermo

    h.CVode().active(0)  # the resting state is solved under fixed-step initialisation
    state, seg = cell.initialize(), cell.soma_center
    if isinstance(state, steady.SteadyState):
        c = state.concentrations
        v, na, k, cl, residual, tol, solved = (state.v, c["na"], c["k"], c["cl"],
                                               state.residual, RESIDUAL_TOL, state.to_dict())
    else:  # a whole cell: the soma's values; the residual as a current, cm dV/dt
        v, na, k, cl, solved = seg.v, seg.nai, seg.ki, seg.cli, state.summary()
        residual, tol = state.residual_v * seg.cm * 1e-3, RESIDUAL_V_TOL * seg.cm * 1e-3
    e = [float(thermo.nernst(ci, co, z, d.celsius))
         for ci, co, z in ((na, seg.nao, 1), (k, seg.ko, 1), (cl, seg.clo, -1))]
    e.append(float(thermo.egaba(cl, seg.clo, d.hco3i, d.hco3o, celsius=d.celsius)))
    params = {name: {p.name: float(getattr(h if p.scope == "global" else seg, f"{p.name}_{name}"))
                     for p in mechanisms.get(name).parameters.values()}
              for name in cell.recipe.mechanisms() if hasattr(seg, name)}
    return {"rest": {"v": v, "nai": na, "ki": k, "cli": cl, "ipump": seg.ipump_nakpump * 1e3},
            "ipump_mA_cm2": seg.ipump_nakpump, "residual": (residual, tol), "E": e,
            "steady_state": solved, "area_cm2": seg.area() * 1e-8, "hco3": (d.hco3i, d.hco3o),
            "cell": cell.to_dict(), "mechanisms": params}


def _simulate(session, cell, spec, pulse_ms):
    """Quiet rest, train and recovery from the resting state: (traces, spike times in ms)."""
    from .. import simulate
    from ..recording import Recorder

    h, seg = session.h, cell.soma_center
    for t_ms in pulse_ms:
        stim = session.keep(h.IClamp(seg))
        stim.delay, stim.dur, stim.amp = t_ms, spec.pulse_ms, spec.pulse_nA
    netcon, spikes = session.keep(h.NetCon(seg._ref_v, None, sec=seg.sec)), h.Vector()
    netcon.threshold = SPIKE_THRESHOLD_MV
    netcon.record(session.keep(spikes))
    rec = Recorder(cell, dt_ms=RECORD_DT_MS)
    for name, _, _ in _RECORDED.values():
        rec.record(name, at=seg)
    # ionhomeo's concentration tolerances: 1e-5 mM for Nai; one spike moves it by 4e-3 mM
    solver.use_cvode()
    cell.start()
    simulate.run(spec.duration_s * 1e3, method="cvode", progress=session.progress, recorder=rec)
    data = {"t": rec.t_ms(), **{key: rec.trace(name, seg)[1]
                                for key, (name, _, _) in _RECORDED.items()}}
    if data["t"][-1] < h.t - 1e-9:  # Dt recording stops one interval short of the end
        final = {"t": h.t, **{key: getattr(seg, name) for key, (name, _, _) in _RECORDED.items()}}
        data = {key: np.append(a, final[key]) for key, a in data.items()}
    rec.stop()
    return data, np.array(spikes.to_python())


class SpikeTrain(Protocol):
    name, description, preset = NAME, DESCRIPTION, "na-k-cl-spiking"
    Spec = SpikeTrainSpec

    def geometry(self, spec):
        return cylinder(spec.soma_L_um, spec.soma_diam_um, name="spike_train_soma")

    def measure(self, spec, session):
        cell = session.cell(spec)
        missing = [m for m in ("nadyn", "kdyn", "cldyn", "nakpump")
                   if not hasattr(cell.soma_center, m)]
        if missing:
            raise RecipeError(f"recipe {cell.recipe.name!r} puts no {', '.join(missing)} in the "
                              "soma: spike-train follows the soma's Na, K, Cl and pump current")
        out = _rest(session.h, cell, session.defaults)
        n_pulses = int(round(spec.train_s * spec.train_hz))
        out["pulse_ms"] = spec.train_start_s * 1e3 + 1000.0 / spec.train_hz * np.arange(n_pulses)
        out["data"], out["spike_ms"] = _simulate(session, cell, spec, out["pulse_ms"])
        out["parameters"] = {
            "pulses": n_pulses, "source": MORPHOLOGY_SOURCE, "ahp_delay_s": AHP_DELAY_S,
            "spike_threshold_mV": SPIKE_THRESHOLD_MV, "record_dt_ms": RECORD_DT_MS,
            "csv_dt_ms": CSV_DT_MS, "cvode": {"atol": session.h.CVode().atol(),
                                              "atolscale": dict(solver.ATOL_SCALE)}}
        return out

    def report(self, spec, data):
        c, (e_na, e_k, e_cl, e_gaba), d = data["rest"], data["E"], data["data"]
        t_s, spike_s = d["t"] * 1e-3, data["spike_ms"] * 1e-3
        train = (spec.train_start_s, spec.train_start_s + spec.train_s)
        n_spikes = count_between(spike_s, train[0], train[1] + AHP_DELAY_S)
        # one spike per pulse: a spike within one period after each pulse
        period_s = (1000.0 / spec.train_hz) / 1e3
        per_pulse = [count_between(spike_s, p / 1e3, p / 1e3 + period_s) for p in data["pulse_ms"]]
        drift = float(np.max(np.abs(d["v"][t_s < train[0]] - c["v"])))
        nai_peak = float(np.max(d["nai"][t_s >= train[0]]))
        post = t_s >= train[1] + AHP_DELAY_S
        i_min = int(np.argmin(d["v"][post]))
        fit = _fit_recovery(t_s, d["nai"], train[1] + AHP_DELAY_S, c["nai"])
        rise = nai_peak - c["nai"]
        recovered = (nai_peak - float(d["nai"][-1])) / rise if nai_peak > c["nai"] else math.nan
        hco3 = "/".join(f"{x:g}" for x in data["hco3"])
        (residual, tol), n_pulses = data["residual"], len(per_pulse)
        rows = [("Vm", c["v"], "mV", "resting membrane potential (solved steady state)"),
                ("Nai", c["nai"], "mM", "intracellular Na at rest"),
                ("Ki", c["ki"], "mM", "intracellular K at rest (held at its default)"),
                ("Cli", c["cli"], "mM", "intracellular Cl at rest"),
                ("E_Na", e_na, "mV", "Na reversal potential"),
                ("E_K", e_k, "mV", "K reversal potential"),
                ("E_Cl", e_cl, "mV", "Cl reversal potential"),
                ("E_GABA", e_gaba, "mV", f"GABA_A reversal (Cl, HCO3 {hco3} mM, P_HCO3/P_Cl 0.2)"),
                ("I_pump", c["ipump"], "uA/cm2", "Na/K pump current density at rest (outward)"),
                ("I_pump_total", data["ipump_mA_cm2"] * data["area_cm2"] * 1e9, "pA", "at rest"),
                ("max_residual", residual, "mA/cm2", "largest net ionic current at rest"),
                ("rest_drift", drift, "mV", "largest |Vm - rest| during the quiet rest"),
                ("pulses", n_pulses, "1", f"current pulses ({spec.pulse_nA:g} nA, "
                 f"{spec.pulse_ms:g} ms) at {spec.train_hz:g} Hz from {train[0]:g} s"),
                ("spikes", n_spikes, "1", "spikes in the train"),
                ("Nai_rise", rise, "mM", "peak Nai rise above rest"),
                ("pump_AHP", float(d["v"][post][i_min] - c["v"]), "mV",
                 f"lowest Vm from {AHP_DELAY_S:g} s after the train, minus rest"),
                ("t_AHP", float(t_s[post][i_min] - train[1]), "s", "its time after the train"),
                ("tau_Nai", fit["tau_s"], "s", "Nai recovery time constant (exponential fit)"),
                ("Nai_recovered", recovered, "1", "fraction of the Na rise removed by the end")]
        found = [checks.at_most("max_residual", residual, tol, "mA/cm2",
                                "physics: at a steady state no net current flows",
                                "the steady-state solver's own tolerance"),
                 checks.at_most("rest_drift", drift, 1e-3, "mV",
                                "physics: a cell started at its steady state stays there",
                                "ten times CVODE's absolute tolerance on Vm (1e-4 mV)"),
                 checks.holds("one spike per pulse", per_pulse == [1] * n_pulses
                              and n_spikes == n_pulses, f"spikes per pulse {per_pulse}",
                              "1 for every pulse", "protocol: 1 nA for 1 ms is +80 mV on the "
                              "soma, far above threshold, and ends before the spike repolarises")]
        warnings = [f"{spike_s.size - n_spikes} spike(s) outside the train"] * (
            spike_s.size != n_spikes)
        if math.isfinite(fit["tau_s"]) and fit["tau_s"] > fit["window_s"]:
            warnings.append(f"tau_Nai = {fit['tau_s']:.0f} s is longer than the "
                            f"{fit['window_s']:.0f} s fit window: an extrapolation of a single-"
                            "exponential recovery (run longer with --duration)")
        meta = {key: data[key] for key in ("mechanisms", "steady_state", "parameters")}
        meta.update(cells={"soma": data["cell"]}, recovery_fit=fit, spike_times_s=spike_s.tolist())
        return Report(rows, _timecourse(t_s, d, (train[0] - 0.1, train[1] + 0.5)), checks=found,
                      warnings=warnings, metadata=meta)

    def figure(self, spec, data, report):
        from .spike_train_figure import draw

        return draw(NAME, spec, data, report)


def _timecourse(t_s, data, train_window_s):
    """Tidy time course: RECORD_DT_MS inside the train window, CSV_DT_MS elsewhere."""
    import pandas as pd

    keep = (np.arange(t_s.size) % max(1, int(round(CSV_DT_MS / RECORD_DT_MS))) == 0)
    keep[-1] = True
    keep |= (t_s >= train_window_s[0]) & (t_s <= train_window_s[1])
    return pd.concat([pd.DataFrame({"t_s": np.round(t_s[keep], 6), "variable": name,
                                    "value": data[name][keep] * factor, "unit": unit})
                      for name, (_, unit, factor) in _RECORDED.items()], ignore_index=True)


PROTOCOL = SpikeTrain()
run = PROTOCOL
