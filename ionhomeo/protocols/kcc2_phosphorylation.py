"""Protocol ``kcc2-phosphorylation``: WNK-SPAK phosphorylation of KCC2 raises
Cli, shifts E_GABA and changes the response to a fixed mixed input.

KCC2's inactive fraction p follows dp/dt = kwnk (1 - p) - kpp p. A cell at
rest gets a fixed input at the soma (a current and GABA_A events); from rest
again kwnk is raised for ``duration_s`` (both rates ``rate_speedup`` times
faster), and the same input follows. Checks: Nernst E_Cl at Clo 130 mM,
37 C against -87 and -58 mV (physics); the synapse's egaba is thermo.egaba
of the simulated Cli (model); p(t) follows its rate equation, Cli and E_GABA
rise, the input fires the cell faster (physics).

Derivations and discussion: docs/protocols/kcc2-phosphorylation.md
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks, solver
from ..analysis import count_between
from ..experiment import Protocol, Report, Spec, param

NAME = "kcc2-phosphorylation"
DESCRIPTION = ("WNK-SPAK phosphorylation of KCC2: Cli rises, E_GABA shifts, and the firing to "
               "a fixed excitatory/inhibitory input changes")

#: the E_Cl check: Clo 130 mM, 37 C, Cli 5 and 15 mM against -87 and -58 mV (rounded to 1 mV)
CHECK_CLO_MM, CHECK_CELSIUS, CHECK_CLI_MM = 130.0, 37.0, (5.0, 15.0)
CHECK_EXPECTED_MV, CHECK_TOL_MV = (-87.0, -58.0), 1.0
EGABA_TOL_MV = 1e-6  # the synapse's egaba against thermo.egaba (same formula, same constants)
P_TOL = 1e-3  # simulated p(t) against the solution of kcc2's rate equation (docs/protocols)
ATOL = 1e-7  # CVODE's (mV; concentrations scaled): spike counts near threshold need it
SPIKE_THRESHOLD_MV = 0.0
#: sampling of the CSV time course (ms): inside the input windows, and in the slow phase
CSV_DT_WINDOW_MS, CSV_DT_SLOW_MS = 0.5, 1000.0
_GE = {"inclusive": True}  # a range from 0 included


@dataclasses.dataclass(frozen=True)
class Kcc2PhosphorylationSpec(Spec):
    morphology: object = param("ball_and_stick", doc="the cell (a bundled name or a file)")
    recipe: object = param("mature", doc="recipe or preset (kcc2 and cldyn at the soma)")
    duration_s: float = param(300.0, "s", "simulated rest after the kinase is raised", 0.0)
    kwnk_per_s: float = param(0.015, "1/s", "raised kinase rate (physiological)", 0.0, **_GE)
    rate_speedup: float = param(10.0, "", "factor on both kinase and phosphatase rates", 0.0)
    window_s: float = param(2.0, "s", "duration of each input window", 0.0)
    drive_nA: float = param(0.1, "nA", "constant somatic current in the windows", 0.0, **_GE)
    gaba_hz: float = param(40.0, "Hz", "GABA_A event rate in the windows", 0.0)
    gaba_weight_uS: float = param(0.005, "uS", "GABA_A peak conductance", 0.0, **_GE)
    lead_ms: float = param(50.0, "ms", "rest before the first window (a baseline)", 0.0, **_GE)
    tail_ms: float = param(50.0, "ms", "simulated after each window", 0.0, **_GE)

    def __post_init__(self):
        from ..mechanisms import ParameterError

        super().__post_init__()
        if self.kwnk_per_s * self.rate_speedup > 1e3:
            raise ParameterError(f"kwnk_per_s * rate_speedup = "
                                 f"{self.kwnk_per_s * self.rate_speedup:g} /s exceeds the range "
                                 "of kcc2's kwnk (0..1000 /s)")
        if 1000.0 / self.gaba_hz > self.window_s * 1e3:
            raise ParameterError(f"gaba_hz = {self.gaba_hz:g} Hz gives no synaptic event in a "
                                 f"{self.window_s:g} s window")


def judge(e_cl, egaba_error, p_error, cli, egaba, rates) -> list:
    """The checks: E_Cl (mV) at CHECK_CLI_MM, the largest |synapse egaba - thermo.egaba|
    (mV) and |p - its solution|, (before, after) Cli (mM), E_GABA (mV), firing (Hz)."""
    less_kcc2 = "physics: KCC2 holds Cli below its passive level; less of it lets Cl rise"
    return [checks.within(f"E_Cl({c:g} mM)", e, x, CHECK_TOL_MV, "mV", "physics: Nernst potential "
                          "at Clo 130 mM, 37 C (reference)", "the reference is rounded to 1 mV")
            for c, e, x in zip(CHECK_CLI_MM, e_cl, CHECK_EXPECTED_MV)] + [
        checks.at_most("egaba error", egaba_error, EGABA_TOL_MV, "mV",
                       "model: GabaA.mod's egaba is thermo.egaba's GHK formula, same constants",
                       "the same formula: they differ by round-off (about 1e-12 mV)"),
        checks.at_most("p error", p_error, P_TOL, "1", "physics: the solution of kcc2's rate "
                       "equation, p_inf + (p0 - p_inf) exp(-(kwnk + kpp) t)",
                       "CVODE's error on p does not grow (linear, contracting equation); a rate "
                       "10 % off moves p(t) by up to 0.035"),
        checks.holds("Cli rises", cli[1] > cli[0], f"{cli[0]:.4g} -> {cli[1]:.4g} mM",
                     "Cli end > Cli rest", less_kcc2),
        checks.holds("E_GABA rises", egaba[1] > egaba[0], f"{egaba[0]:.4g} -> {egaba[1]:.4g} mV",
                     "E_GABA end > E_GABA rest", less_kcc2),
        checks.holds("firing rises", rates[1] > rates[0], f"{rates[0]:g} -> {rates[1]:g} Hz",
                     "rate after > rate before", "physics: the same GABA_A conductance with a "
                     "higher reversal potential inhibits less below E_GABA's old value")]


def _phase(spec, session, cell, inputs, t_in, rates=None):
    """From rest (with ``rates`` = (segments, rest rates, raised rates): KCC2's kinase
    raised at t = 0 and rest until ``t_in``), then the input window at ``t_in``."""
    from .. import simulate, thermo
    from ..recording import Recorder

    h, seg, (syn, stim, drive, spikes) = session.h, cell.soma_center, inputs
    stim.start = drive.delay = t_in
    rec = Recorder(cell)  # at the soma, every integration step
    for name in ("v", "cli", "p_kcc2"):
        rec.record(name, at=seg)
    segs, rest_rates, raised = rates or ((), (), ())
    for x, (kwnk, kpp) in zip(segs, rest_rates):  # the INITIAL block sets p from these
        x.kwnk_kcc2, x.kpp_kcc2 = kwnk, kpp
    cell.start()
    out = {}
    if rates is not None:
        for x, (kwnk, kpp) in zip(segs, raised):
            x.kwnk_kcc2, x.kpp_kcc2 = kwnk, kpp
        if h.CVode().active():
            h.CVode().re_init()  # the rates changed after finitialize
        out["p0"] = seg.p_kcc2
        simulate.run(t_in, method="cvode", atol=ATOL, progress=session.progress)
    h.fcurrent()  # assigned variables (egaba) consistent with the current states
    # the synapse's own egaba, and thermo.egaba of the simulated concentrations
    out.update(state={name: getattr(seg, name) for name in ("v", "cli", "p_kcc2", "ki", "nai")},
               egaba=(float(syn.egaba), float(thermo.egaba(seg.cli, seg.clo, seg.hco3i, seg.hco3o,
                                                           p_ratio=syn.pratio, celsius=h.celsius))))
    if rates is not None:
        h.CVode().re_init()
    simulate.run(t_in + spec.window_s * 1e3 + spec.tail_ms, method="cvode", atol=ATOL)
    out.update(spikes=count_between(spikes.to_python(), t_in, t_in + spec.window_s * 1e3),
               cli_after_window=seg.cli, trace={"t": rec.t_ms(), **{
                   k: rec.trace(name, seg)[1] for k, name in (("v", "v"), ("cli", "cli"),
                                                              ("p", "p_kcc2"))}})
    rec.stop()
    return out


class Kcc2Phosphorylation(Protocol):
    name, description = NAME, DESCRIPTION
    Spec = Kcc2PhosphorylationSpec

    def measure(self, spec, session):
        from .. import mechanisms, thermo
        from ..steady import SteadyStateError

        cell = session.cell(spec)
        segs, seg = [x for x in cell.segments("all") if hasattr(x, "kcc2")], cell.soma_center
        if not hasattr(seg, "kcc2") or not hasattr(seg, "cldyn"):
            raise SteadyStateError(
                f"recipe {cell.recipe.name!r} puts no kcc2 and cldyn (Cl owner) in the soma: "
                "this protocol phosphorylates somatic KCC2 and follows the somatic Cl")
        rates0 = [(x.kwnk_kcc2, x.kpp_kcc2) for x in segs]
        state = cell.initialize()
        raised = [(spec.kwnk_per_s * spec.rate_speedup, kp * spec.rate_speedup)
                  for _, kp in rates0]
        out = {"kwnk0": seg.kwnk_kcc2, "kpp0": seg.kpp_kcc2}
        # the mixed input at the soma, idle outside the windows
        h, keep = session.h, session.keep
        syn, stim, drive = (keep(mechanisms.add_point(seg, "GabaA")), keep(h.NetStim()),
                            keep(h.IClamp(seg)))
        stim.noise, stim.interval = 0, 1000.0 / spec.gaba_hz
        stim.number = int(math.floor(spec.window_s * spec.gaba_hz + 1e-9))
        nc = keep(h.NetCon(stim, syn))
        nc.weight[0], nc.delay = spec.gaba_weight_uS, 0.0
        drive.amp, drive.dur = spec.drive_nA, spec.window_s * 1e3
        detector, spikes = keep(h.NetCon(seg._ref_v, None, sec=seg.sec)), keep(h.Vector())
        detector.threshold = SPIKE_THRESHOLD_MV
        detector.record(spikes)
        inputs = (syn, stim, drive, spikes)
        out["before"] = _phase(spec, session, cell, inputs, spec.lead_ms)
        out["after"] = _phase(spec, session, cell, inputs, spec.duration_s * 1e3,
                              (segs, rates0, raised))
        clo, hco3, pratio, celsius = seg.clo, (seg.hco3i, seg.hco3o), syn.pratio, float(h.celsius)
        out.update(clo=clo, celsius=celsius, cell=cell.to_dict(), egaba_of=lambda c: float(
                       thermo.egaba(c, clo, *hco3, p_ratio=pratio, celsius=celsius)),
                   steady_state={k: getattr(state, k, None) for k in
                                 ("residual_v", "residual_rel", "iterations", "residual")})
        out["cell"]["n_kcc2_segments"] = len(segs)
        return out

    def report(self, spec, data):
        from .. import thermo

        b, a = data["before"], data["after"]
        rest, phos, after, kpp0 = b["state"], a["state"], a["trace"], data["kpp0"]
        t_in = spec.duration_s * 1e3
        e_check = [float(thermo.nernst(c, CHECK_CLO_MM, -1, CHECK_CELSIUS)) for c in CHECK_CLI_MM]
        p_inf = spec.kwnk_per_s / (spec.kwnk_per_s + kpp0)
        k_tot = (spec.kwnk_per_s * spec.rate_speedup + kpp0 * spec.rate_speedup) * 1e-3  # /ms
        slow = after["t"] <= t_in
        p_error = float(np.max(np.abs(after["p"][slow] - (
            p_inf + (a["p0"] - p_inf) * np.exp(-k_tot * after["t"][slow])))))
        egaba_err = max(abs(b["egaba"][0] - b["egaba"][1]), abs(a["egaba"][0] - a["egaba"][1]))
        rates = (b["spikes"] / spec.window_s, a["spikes"] / spec.window_s)
        (e0, _), (e1, _) = b["egaba"], a["egaba"]
        ecl = [float(thermo.nernst(c, data["clo"], -1, data["celsius"]))
               for c in (rest["cli"], phos["cli"])]
        rows = [
            ("E_Cl(5 mM) expected", CHECK_EXPECTED_MV[0], "mV", "reference: Clo 130 mM, 37 C"),
            ("E_Cl(5 mM)", e_check[0], "mV", "thermo.nernst(5, 130, -1, 37)"),
            ("E_Cl(15 mM) expected", CHECK_EXPECTED_MV[1], "mV", "reference: Clo 130 mM, 37 C"),
            ("E_Cl(15 mM)", e_check[1], "mV", "thermo.nernst(15, 130, -1, 37)"),
            ("p rest", rest["p_kcc2"], "1", "phosphorylated (inactive) KCC2 fraction at rest"),
            ("p end", phos["p_kcc2"], "1", f"after {spec.duration_s:g} s with the raised kinase"),
            ("p end expected", p_inf + (a["p0"] - p_inf) * math.exp(-k_tot * t_in), "1",
             "solution of kcc2's rate equation"),
            ("p error", p_error, "1", "max |p(t) - its solution| over the rest phase's steps"),
            ("p_inf", p_inf, "1", "kwnk / (kwnk + kpp): the phosphorylated fraction approached"),
            ("kwnk", spec.kwnk_per_s, "1/s", "raised WNK-SPAK kinase rate (physiological)"),
            ("kpp", kpp0, "1/s", "phosphatase rate (recipe / mod-file value)"),
            ("rate_speedup", spec.rate_speedup, "1", "both rates multiplied by this"),
            ("Cli rest", rest["cli"], "mM", "somatic Cl at rest (whole-cell steady state)"),
            ("Cli end", phos["cli"], "mM", "somatic Cl after the phosphorylation"),
            ("E_Cl rest", ecl[0], "mV", "at the soma"),
            ("E_Cl end", ecl[1], "mV", "at the soma"),
            ("E_GABA rest", e0, "mV", "the synapse's egaba at rest"),
            ("E_GABA end", e1, "mV", "the synapse's egaba after phosphorylation"),
            ("E_GABA shift", e1 - e0, "mV", "end - rest"),
            ("Vm rest", rest["v"], "mV", "somatic resting potential"),
            ("Vm end", phos["v"], "mV", "somatic potential after phosphorylation (no input)"),
            ("E_GABA - Vm rest", e0 - rest["v"], "mV", "GABA_A driving force at rest"),
            ("E_GABA - Vm end", e1 - phos["v"], "mV", "after phosphorylation"),
            ("egaba error", egaba_err, "mV", "max |synapse egaba - thermo.egaba(Cli)|"),
            ("rate before", rates[0], "Hz", f"firing to {spec.drive_nA:g} nA + GABA_A "
             f"{spec.gaba_weight_uS:g} uS at {spec.gaba_hz:g} Hz, {spec.window_s:g} s, from rest"),
            ("rate after", rates[1], "Hz", "the same input after phosphorylation"),
            ("spikes before", b["spikes"], "1", "spikes (soma crossing 0 mV) in the window"),
            ("spikes after", a["spikes"], "1", "spikes in the window after phosphorylation"),
            ("Cli after window before", b["cli_after_window"], "mM", "end of the 'before' window"),
            ("Cli after window after", a["cli_after_window"], "mM", "end of the 'after' window")]
        warnings = [] if spec.rate_speedup == 1.0 else [
            f"kinase and phosphatase rates sped up {spec.rate_speedup:g}x (same p_inf): the "
            "phosphorylation time course is compressed, Cl transport is not"]
        return Report(
            rows, _timecourse(spec, b["trace"], after, data["egaba_of"]),
            checks=judge(e_check, egaba_err, p_error, (rest["cli"], phos["cli"]), (e0, e1), rates),
            warnings=warnings, metadata={
                "cells": {"cell": data["cell"]}, "steady_state": data["steady_state"],
                "egaba_pairs_mV": {"rest": list(b["egaba"]), "end": list(a["egaba"])},
                "parameters": {"kwnk_simulated_per_s": spec.kwnk_per_s * spec.rate_speedup,
                               "kpp_simulated_per_s": kpp0 * spec.rate_speedup,
                               "kwnk_recipe_per_s": data["kwnk0"], "site": "soma centre",
                               "spike_threshold_mV": SPIKE_THRESHOLD_MV, "method": "cvode",
                               "cvode": {"atol": ATOL, "rtol": 0.0,
                                         "atolscale": dict(solver.ATOL_SCALE)}}})

    def figure(self, spec, data, report):
        from .kcc2_phosphorylation_figure import draw

        return draw(self.name, spec, data, {q: v for q, v, _, _ in report.rows})


def _timecourse(spec, before, after, eg):
    """Tidy table: phase, t_s, variable, value, unit at the soma."""
    import pandas as pd

    t_in, units = spec.duration_s * 1e3, {"v": "mV", "cli": "mM", "p": "1", "E_GABA": "mV"}
    grid_b = np.arange(0.0, before["t"][-1] + 1e-9, CSV_DT_WINDOW_MS)
    grid_a = np.concatenate([np.arange(0.0, t_in, CSV_DT_SLOW_MS),
                             np.arange(t_in, after["t"][-1] + 1e-9, CSV_DT_WINDOW_MS)])
    frames = []
    for phase, data, grid in (("before", before, grid_b), ("phosphorylation", after, grid_a)):
        r = {k: np.interp(grid, data["t"], a) for k, a in data.items() if k != "t"}
        r["E_GABA"] = np.array([eg(c) for c in r["cli"]])
        frames += [pd.DataFrame({"phase": phase, "t_s": np.round(grid * 1e-3, 7), "variable": var,
                                 "value": r[var], "unit": unit}) for var, unit in units.items()]
    return pd.concat(frames, ignore_index=True)


PROTOCOL = Kcc2Phosphorylation()
run = PROTOCOL
