"""Protocol ``pump-ahp``: the slow Na/K-pump afterhyperpolarisation after a spike train
(Gulledge et al. 2013, J Neurosci 33:13025).

A charge-balanced train of pulses (one spike each) loads the cell with Na; the Na/K
pump, stimulated by it, hyperpolarises until Nai has recovered. Three runs from the
solved resting state (CVODE): control, the pump blocked from the end of the train
("ouabain"), and the block without a train. The cell is a thin process (a 1 um by
10 um cylinder, preset ``na-k-cl-spiking``); a recipe goes into that cylinder, a
morphology replaces it. Checks (the process: :func:`.pump_ahp_analysis.checks_for`):
duration = tau_Na = (diam/4) F / (3 dI_p/dNai) (model: nakpump's rate law) within 10 %;
tau_AHP = tau_Nai within 10 % and correlation >= 0.99 (physics: a quasi-static
membrane); ouabain leaves at most 10 % of the AHP (paper).

With ``whole_cell`` the same three runs on a reconstructed cell (the bundled pyramidal
cell, recipe mature unless given) after a somatic train of ``cell_spikes`` at
``cell_hz`` (:mod:`.pump_ahp_cell`): AHP amplitude, duration, pump share and the
soma's Na recovery against Gulledge et al. 2013 (paper checks that report what the
physics gives).

Derivations and discussion: docs/protocols/pump-ahp.md
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import kinetics
from ..experiment import Protocol, Report, Spec, param

SPIKE_THRESHOLD_MV = 0.0
#: recording intervals (ms): the soma at V_DT_MS, every segment at SEG_DT_MS
V_DT_MS, SEG_DT_MS = 10.0, 100.0


@dataclasses.dataclass(frozen=True)
class PumpAhpSpec(Spec):
    duration_s: float = param(125.0, "s", "simulated time of each run", 0.0)
    train_s: float = param(1.0, "s", "duration of the charge-balanced pulse train", 0.0)
    train_hz: float = param(20.0, "Hz", "pulse rate of the train", 0.0)
    diam_um: float = param(1.0, "um", "diameter of the protocol's cylinder (a thin process)", 0.0)
    length_um: float = param(10.0, "um", "length of the protocol's cylinder", 0.0)
    pulse_nA: float = param(None, "nA", "pulse amplitude (None: pulse_mA_cm2 x the cylinder's "
                            "area, or cell_pulse_nA in a reconstructed cell)", 0.0, optional=True)
    train_start_s: float = param(1.0, "s", "start of the train", 0.0, inclusive=True)
    pulse_ms: float = param(1.0, "ms", "duration of each pulse (one spike each)", 0.0)
    pulse_mA_cm2: float = param(0.08, "mA/cm2", "pulse density in the cylinder (80 mV on "
                                "1 uF/cm2 in 1 ms: far above threshold)", 0.0)
    cell_pulse_nA: float = param(4.0, "nA", "pulse amplitude at the soma of a morphology", 0.0)
    ahp_delay_s: float = param(2.0, "s", "the AHP is analysed from this long after the train "
                               "(the fast AHP and the Cl transient are over)", 0.0, inclusive=True)
    soma_diam_um: float = param(20.0, "um", "diameter and length of the soma of the "
                                "what-it-would-take estimate", 0.0)
    target_tau_s: float = param(20.0, "s", "AHP duration that estimate aims at", 0.0)
    whole_cell: bool = param(True, "", "also the whole-cell part (a reconstructed cell, a "
                             "somatic spike train), against Gulledge et al. 2013")
    cell_morphology: str = param("pyramidal", "", "its cell (bundled name or SWC/ASC path; "
                                 "recipe: the recipe given, else mature)")
    cell_spikes: int = param(50, "", "pulses of the whole-cell train", 0)
    cell_hz: float = param(50.0, "Hz", "their rate", 0.0, 200.0)
    cell_pulse_ms: float = param(2.0, "ms", "their duration", 0.0)
    cell_train_pulse_nA: float = param(6.0, "nA", "their amplitude (one spike each on the "
                                       "pyramidal cell with the mature preset)", 0.0)
    cell_duration_s: float = param(60.0, "s", "whole-cell runs: time after the train's start", 0.0)
    cell_delay_s: float = param(0.5, "s", "its AHP is measured from this long after the train "
                                "(the last spike's own AHP is over)", 0.0, inclusive=True)

    def __post_init__(self):
        from ..mechanisms import ParameterError

        super().__post_init__()
        if self.n_pulses < 1:
            raise ParameterError(f"train_s * train_hz = {self.train_s * self.train_hz:g}: the "
                                 "train has no pulse")
        if 1000.0 / self.train_hz < 5 * self.pulse_ms:
            raise ParameterError(f"train_hz = {self.train_hz:g} Hz is too fast for "
                                 f"{self.pulse_ms:g} ms pulses (at most {200 / self.pulse_ms:g} "
                                 "Hz)")
        if self.duration_s < self.t1_s + 10.0:
            raise ParameterError(f"duration_s = {self.duration_s:g} s is too short: the AHP is "
                                 f"analysed from {self.t1_s:g} s and needs at least "
                                 f"{self.t1_s + 10:g} s")

    n_pulses = property(lambda self: int(round(self.train_s * self.train_hz)))
    train_end_s = property(lambda self: self.train_start_s + self.n_pulses / self.train_hz)
    #: the start of the analysis (s)
    t1_s = property(lambda self: self.train_end_s + self.ahp_delay_s)


def simulate_train(session, cell, segments, pulses, balance, block_ms, duration_ms):
    """One run from rest with ``pulses`` (times in ms, duration ms, nA) and the
    steady ``balance`` (delay ms, duration ms, nA) at the soma centre: (soma traces
    at V_DT_MS, and 't_seg', 'nai_seg' and 'ipump_seg' (segments x times) at
    SEG_DT_MS; spike times in ms). With ``block_ms`` the pump is blocked (avail
    0) from then on."""
    from .. import simulate, solver
    from ..recording import Recorder

    h, soma = session.h, cell.soma_center
    times, pulse_ms, pulse_na = pulses
    stims = [h.IClamp(soma) for _ in range(len(times) + bool(times))]
    for stim, (delay, dur, amp) in zip(stims, [(t, pulse_ms, pulse_na) for t in times]
                                       + [balance]):
        stim.delay, stim.dur, stim.amp = delay, dur, amp
    nc = h.NetCon(soma._ref_v, None, sec=soma.sec)
    nc.threshold, spikes = SPIKE_THRESHOLD_MV, h.Vector()
    nc.record(spikes)
    fast, slow = Recorder(dt_ms=V_DT_MS), Recorder(dt_ms=SEG_DT_MS)
    names = [name for name in ("v", "nai", "ki", "cli", "cai") if hasattr(soma, name)]
    for name in names:
        fast.record(name, at=soma)
    for variable in ("nai", "ipump_nakpump"):
        for seg in segments:
            slow.record(variable, at=seg)
    avail = [seg.nakpump.avail for seg in segments]
    try:
        solver.use_cvode()
        cell.start()
        if block_ms is not None:
            simulate.run(block_ms, progress=session.progress)
            for seg in segments:
                seg.nakpump.avail = 0.0
            h.CVode().re_init()  # the pump stops: a discontinuity
        simulate.run(duration_ms, progress=session.progress)
    finally:
        for seg, a in zip(segments, avail):
            seg.nakpump.avail = a
        fast.stop()
        slow.stop()
    out = {"t": fast.t_ms(), **{name: fast.trace(name, soma)[1] for name in names},
           "t_seg": slow.t_ms()}
    for key, variable in (("nai_seg", "nai"), ("ipump_seg", "ipump_nakpump")):
        out[key] = np.array([slow.trace(variable, seg)[1] for seg in segments])
    return out, np.array(spikes.to_python())  # numpy < 2.4 cannot convert an empty Vector


class PumpAhp(Protocol):
    name = "pump-ahp"
    description = ("slow Na/K-pump afterhyperpolarisation after a spike train (Gulledge et al. "
                   "2013): duration vs the model's Nai recovery tau, tracking of Nai, block by "
                   "ouabain; and at the soma of a whole pyramidal cell")
    Spec = PumpAhpSpec
    preset = "na-k-cl-spiking"
    idealised = ("the duration, tau_AHP and correlation checks hold in one isopotential process "
                 "(the own 1 um cylinder), where tau_Na = (diam/4) F/(3 dIp/dNai) is the only "
                 "slow time scale; in a cell Na diffuses between segments of different tau_Na")

    def geometry(self, spec):
        from ..geometry import cylinder

        return cylinder(spec.length_um, spec.diam_um, name="pump_ahp_process")

    def measure(self, spec, session):
        import time

        from .. import response, thermo
        from . import pump_ahp_model as model
        from ..geometry import cylinder

        clock, h = time.perf_counter(), session.h
        cell = session.cell(spec)
        segments, soma = model.pump_segments(cell), cell.soma_center
        uniform = spec.morphology is None  # the protocol's own cylinder, or a recipe in it
        h.CVode().active(0)
        cell.initialize()
        cell.start()
        d = {"v_rest": float(soma.v), "cell": cell.to_dict(), "warnings": [],
             "rest": {n: float(getattr(soma, n)) for n in ("nai", "ki", "cli", "cai")
                      if hasattr(soma, n)},
             "nai_rest": np.array([s.nai for s in segments]),
             "ip_rest": np.array([s.ipump_nakpump for s in segments]),
             "area": np.array([s.area() for s in segments]),  # um2
             "diam": np.array([s.diam for s in segments])}
        ip_law, d["dip"] = np.array([kinetics.nakpump_at(s) for s in segments]).T
        if not np.allclose(ip_law, d["ip_rest"], rtol=1e-9, atol=1e-15):
            d["warnings"].append("the pump current of the rate law here differs from nakpump's "
                                 f"(largest difference {np.max(np.abs(ip_law - d['ip_rest'])):.3g}"
                                 " mA/cm2)")
        d["tau_seg"] = kinetics.nai_recovery_tau_s(d["diam"], d["dip"])
        d["g_seg"] = response.slope_conductance(cell, segments)  # mS/cm2
        d["soma_k"] = next((k for k, s in enumerate(segments)
                            if s.sec == soma.sec and abs(s.x - soma.x) < 1e-9), 0)
        d["s_qs"], d["dina_qs"] = response.quasi_steady(cell) if uniform else (math.nan, math.nan)
        cell.start()
        pulse = spec.pulse_nA if spec.pulse_nA is not None else (
            spec.pulse_mA_cm2 * soma.area() * 1e-2 if uniform else spec.cell_pulse_nA)
        period_ms = 1000.0 / spec.train_hz
        pulses_ms = list(spec.train_start_s * 1e3 + period_ms * np.arange(spec.n_pulses))
        train_ms = spec.n_pulses * period_ms
        balance = (spec.train_start_s * 1e3, train_ms,
                   -pulse * spec.pulse_ms * spec.n_pulses / train_ms)
        block = spec.train_end_s * 1e3
        d["runs"] = {cond: simulate_train(session, cell, segments, (p, spec.pulse_ms, pulse),
                                          balance, b, spec.duration_s * 1e3)
                     for cond, p, b in session.conditions(
                         (("control", pulses_ms, None), ("ouabain", pulses_ms, block),
                          ("ouabain_no_train", [], block)), lambda c: c[0].replace("_", " "))}
        d.update(pulse=pulse, period_ms=period_ms, pulses_ms=pulses_ms, balance=balance,
                 runtime_s=time.perf_counter() - clock)
        # Na charge that entered per area (C/cm2): volume-weighted load at the end of the train
        ctrl = d["runs"]["control"][0]
        ts = ctrl["t_seg"] / 1e3
        te = min(np.searchsorted(ts, spec.train_end_s), ts.size - 1)
        vol = d["area"] * d["diam"] / 4  # um3, the cylinder geometry of nadyn
        d["na_charge"] = float(np.sum(vol * (ctrl["nai_seg"][:, te] - d["nai_rest"])) * 1e-15
                               * 1e-3 * thermo.FARADAY / (d["area"].sum() * 1e-8))
        wide = session.cell(geometry=cylinder(spec.soma_diam_um, spec.soma_diam_um),
                            recipe=cell.recipe)  # same recipe, its own soma
        d["req"] = model.wide_soma_estimate(wide, d["na_charge"], spec.target_tau_s)
        if spec.whole_cell:  # CVODE integrates every section: the others go first
            from . import pump_ahp_cell

            session.drop(wide)
            session.drop(cell)
            d["whole_cell"] = pump_ahp_cell.measure(session, spec, simulate_train)
        return d

    def report(self, spec, d):
        from . import pump_ahp_analysis as analysis

        a = d["analysis"] = analysis.analyse(spec, d)
        req, k = d["req"], d["soma_k"]
        dflt, s_pna, s_all = req["default"], req.get("imax_pna", {}), req.get("imax_leaks", {})
        tiny, wide = abs(a["ahp"]) < 0.1, f"{spec.soma_diam_um:g} um soma"
        rows = [
            ("Vm", d["v_rest"], "mV", "resting potential at the soma (solved steady state)"),
            ("Nai", d["rest"]["nai"], "mM", "resting Nai at the soma"),
            ("I_pump", d["ip_rest"][k] * 1e3, "uA/cm2", "resting pump current at the soma"),
            ("dIpump_dNai", d["dip"][k] * 1e3, "uA/cm2/mM",
             "pump's Na sensitivity at rest, from nakpump's rate law"),
            ("G_m", d["g_seg"][k], "mS/cm2", "steady-state slope conductance at the soma"),
            ("tau_Na_pred", d["tau_seg"][k], "s",
             "predicted Nai recovery tau at the soma: (diam/4) F / (3 dIpump/dNai)"),
            ("tau_Na_all", a["tau_all"], "s", "the same with every Na flux on the slow manifold "
             "(V, Cl, Ca re-balanced; compartment only): (diam/4) F / (dINa/dNai)"),
            ("pulses", spec.n_pulses, "1", f"charge-balanced pulses, {spec.pulse_ms:g} ms, "
             f"{d['pulse']:.3g} nA, {spec.train_hz:g} Hz from {spec.train_start_s:g} s"),
            ("spikes", a["spikes"], "1", "spikes in the train (one per pulse expected)"),
            ("Nai_load", a["peak_excess"], "mM", "peak Na excess (pump-weighted over segments)"),
            ("AHP", a["ahp"], "mV", f"slow AHP: lowest V - rest from {spec.ahp_delay_s:g} s after "
             "the train" + (" (tiny: see AHP_20um_*)" if tiny else "")),
            ("t_AHP", a["t_ahp"], "s", "time of that minimum after the end of the train"),
            ("AHP_t1", a["ahp_t1"], "mV", f"V - rest {spec.ahp_delay_s:g} s after the train"),
            ("AHP_pred_pump", a["amp_pump"], "mV",
             "pump alone: -dIpump/dNai * Na excess / G_m at that time"),
            ("AHP_pred_all", a["amp_qs"], "mV", "quasi-steady, every mechanism (V, Cl, Ca "
             "re-balanced at Nai + x, Ki - x; compartment only)"),
            ("AHP_area", a["area_meas"], "mV s", "integral of V - rest from the end of the train"),
            ("AHP_area_pred", a["area_pred"], "mV s",
             "charge conservation, pump alone: -Q_Na / (3 G_m)"),
            ("duration_pred", a["d_pred"], "s", "predicted AHP duration: pump-current-weighted "
             "tau_Na"),
            ("duration", a["d_meas"], "s", "measured AHP duration: integral of dV from t1/dV(t1)"),
            ("tau_AHP", a["fit_v"]["tau_s"], "s", "exponential fit to V - rest from t1"),
            ("tau_Nai", a["fit_na"]["tau_s"], "s", "exponential fit to the Na excess from t1"),
            ("correlation", a["corr"], "1", "correlation of rest - V with the Na excess from t1"),
            ("AHP_ouabain", -a["hyper_oua"], "mV", "hyperpolarisation by the train with the pump "
             "blocked after it (vs the blocked cell without a train)"),
            ("depolarisation_ouabain", a["dep_oua"], "mV",
             "largest train-induced depolarisation, pump blocked"),
            ("ouabain_fraction", a["oua_fraction"], "1", "AHP_ouabain / AHP (control)"),
            ("tau_Na_20um", dflt["tau_Na_s"], "s", f"predicted tau_Na of a {wide} with the recipe"),
            ("AHP_20um", dflt["train_AHP_mV"], "mV",
             "pump-alone AHP of that soma after this train (same Na charge per area)"),
            ("factor_20um", req["factor"], "1",
             f"dIpump/dNai must grow by this for a {spec.target_tau_s:g} s AHP in that soma"),
        ]
        for label, s, what in (("imax_pna", s_pna, "imax and pna x factor_20um (pNa/pK x factor)"),
                               ("imax_leaks", s_all, "imax, pna, pk, pcl x factor_20um")):
            rows += [(f"Vm_20um_{label}", s.get("Vrest_mV", math.nan), "mV", f"that soma with "
                      f"{what}: resting V" + (" - none found" if "error" in s else "")),
                     (f"tau_Na_20um_{label}", s.get("tau_Na_s", math.nan), "s", "its tau_Na"),
                     (f"AHP_20um_{label}", s.get("train_AHP_mV", math.nan), "mV",
                      "its pump-alone AHP after this train (area fixed by -Q_Na/(3 G_m))")]
        rows += [("kmna_max_factor", req["kmna_max_factor"], "1",
                  "largest shortening of tau_Na by raising kmna alone: (Nai + kmna)/kmna"),
                 ("Nai_imax_only", req["Nai_for_imax_only_mM"], "mM",
                  "resting Nai needed to reach factor_20um by raising imax alone")]
        found, notes = analysis.checks_for(a), []
        meta = analysis.metadata(d, a, {"soma": V_DT_MS, "segments": SEG_DT_MS})
        if "whole_cell" in d:
            from . import pump_ahp_cell as whole

            w = d["whole_cell"]["analysis"] = whole.analyse(spec, d["whole_cell"])
            rows, found = rows + whole.rows(spec, d["whole_cell"], w), found + whole.found_checks(w)
            notes, meta["whole_cell"] = whole.notes(spec, w), whole.metadata(d["whole_cell"], w)
        return Report(rows, analysis.timecourse(d, a, int(round(SEG_DT_MS / V_DT_MS))),
                      checks=found, metadata=meta, warnings=analysis.warnings_for(
                          spec, d, a, found[0].passed) + notes)

    def figure(self, spec, data, report):
        from . import pump_ahp_analysis as analysis

        return analysis.figure(spec, data, data["analysis"], {r[0]: r[1] for r in report.rows})


PROTOCOL = PumpAhp()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
