"""Protocol ``egaba``: E_GABA of a mature and an immature cell, measured as in
a gramicidin perforated-patch experiment.

For each recipe (the mature and immature presets by default) the cell is
brought to its whole-cell resting state, a GABA_A synapse (GHK Cl and HCO3
currents) is placed at the soma centre, and the soma is voltage-clamped
(SEClamp, series resistance 1 MOhm) at a series of holding potentials. At
each, the synapse is activated once after the clamp has settled, and the
synaptic current is the clamp current at the conductance peak minus that of
a control sweep without the synaptic event (which removes the slow
voltage-dependent currents of the unclamped dendrites and axon; TTX and
Cd2+ block spikes and Ca entry, as in such recordings). E_GABA is where the current-voltage relation
crosses zero (linear interpolation between the two somatic potentials that
bracket it; the potentials are the measured somatic ones, corrected for the
drop across the series resistance, as an experimenter corrects for Rs; the
uncorrected value from the command potentials is reported too). Gramicidin pores do not pass Cl, so the measurement leaves the
cell's Cl alone: here nothing is dialysed either.

Check: the measured E_GABA equals the GHK voltage equation for the simulated
concentrations at the soma, (RT/F) ln((cli + r hco3i)/(clo + r hco3o)) with
r = P_HCO3/P_Cl (ionhomeo.thermo.egaba), within 1 mV (the interpolation
error of a smooth I-V curve over 10 mV steps, with the imperfect clamp of a
cell that is not isopotential, is 0.13 mV at most on the bundled pyramidal
cell; the synapse itself is GHK, so the I-V is slightly curved).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..analysis import zero_crossing
from ..experiment import Protocol, Report, Spec, param

#: -100 to 0 mV in 10 mV steps: wide enough for an immature cell with KCC2
#: blocked (E_GABA near -17 mV in the immature preset)
HOLD_MV = tuple(range(-100, 1, 10))
SETTLE_MS = 30.0       # the clamped soma settles within a few ms (Rs 1 MOhm)
AFTER_MS = 5.0         # the conductance peaks 1.5 ms after the event
WEIGHT_US = 0.002      # synaptic peak conductance (uS)
RS_MOHM = 1.0          # series resistance of the clamp
DT_MS = 0.025
#: mechanism -> parameter set to 0 during the measurement (TTX, Cd2+)
BLOCK = {"nav": "gbar", "cahva": "pbar"}


@dataclasses.dataclass(frozen=True)
class EgabaSpec(Spec):
    morphology: object = param("pyramidal", doc="the cell (a bundled name or a file)")
    recipe: object = param(None, doc="measure this recipe only, instead of `recipes`")
    recipes: tuple = param(("mature", "immature"), doc="the recipes measured, one cell each")
    hold_mV: tuple = param(HOLD_MV, "mV", "somatic holding potentials", -200.0, 100.0,
                           min_items=2)
    weight_uS: float = param(WEIGHT_US, "uS", "peak synaptic conductance", 0.0, 1.0)


def _tpeak_ms(tau1, tau2):
    """Time of the conductance peak of a difference of exponentials (ms)."""
    return tau1 * tau2 / (tau2 - tau1) * np.log(tau2 / tau1)


def measure(h, cell, hold_mv=HOLD_MV, weight_us=WEIGHT_US):
    """I-V of a somatic GABA_A synapse under somatic voltage clamp; returns a dict.

    The cell must have been initialised (cell.initialize()); every holding
    potential starts from that resting state.
    """
    from .. import locsets, solver, thermo

    seg = cell.soma_center
    # bath pharmacology of such recordings: TTX and Cd2+ block spikes and Ca
    # entry in the unclamped parts of the cell (their Cl is untouched)
    blocked = block(cell, BLOCK)
    [syn] = locsets.place(cell, [locsets.soma_center(cell)], "GabaA")
    stim = h.NetStim()
    stim.number, stim.start, stim.noise = 1, SETTLE_MS, 0
    nc = h.NetCon(stim, syn)
    nc.delay = 0
    clamp = h.SEClamp(seg)
    clamp.dur1, clamp.rs = 1e9, RS_MOHM
    vectors = [h.Vector().record(ref) for ref in (h._ref_t, clamp._ref_i, seg._ref_v)]
    t_peak = SETTLE_MS + float(_tpeak_ms(syn.tau1, syn.tau2))
    # the fixed step is set before each finitialize, which depends on it (with
    # Crank-Nicolson it starts the ionic currents differently), and put back
    # after: a second run in a process otherwise differed from the first by 1e-7
    saved = solver.save()
    solver.use_fixed_step(DT_MS, secondorder=2)
    try:
        sweeps = [_sweep(h, clamp, nc, v, weight_us, vectors, t_peak, seg) for v in hold_mv]
        ratio = syn.pratio
    finally:
        solver.restore(saved)
        nc = clamp = syn = stim = None
        for (sec_seg, mech, name), value in blocked.items():
            setattr(getattr(sec_seg, mech), name, value)
    currents = np.array([s[0] for s in sweeps])  # nA, outward positive
    v_soma = [s[1] for s in sweeps]
    c = {"cli": float(np.mean([s[2] for s in sweeps])), "clo": seg.clo, "hco3i": seg.hco3i,
         "hco3o": seg.hco3o}
    e_ghk = float(thermo.egaba(c["cli"], c["clo"], c["hco3i"], c["hco3o"], p_ratio=ratio,
                               celsius=h.celsius))
    return {"hold_mV": list(map(float, hold_mv)), "I_nA": currents.tolist(),
            "v_soma_mV": v_soma, "E_measured": zero_crossing(np.array(v_soma), currents),
            "E_command": zero_crossing(np.array(hold_mv, float), currents), "E_ghk": e_ghk,
            **c, "pratio": ratio}


def _sweep(h, clamp, nc, v, weight_us, vectors, t_peak, seg):
    """One holding potential: (synaptic current, somatic V at the peak, cli)."""
    from .. import simulate

    clamp.amp1 = float(v)
    t, i, vm = vectors
    peaks = []
    # a sweep with the synaptic event and a control sweep without: their
    # difference is the synaptic current alone, free of the slow
    # voltage-dependent currents of the (imperfectly clamped) cell
    for weight in (weight_us, 0.0):
        nc.weight[0] = weight
        h.finitialize()
        simulate.run(SETTLE_MS + AFTER_MS, method="fixed", dt_ms=DT_MS)
        peaks.append(float(np.interp(t_peak, np.asarray(t), np.asarray(i))))
        if weight:
            cli = seg.cli
            # the soma's potential at the peak: the command minus the drop
            # across the series resistance (several nA at depolarised holds)
            v_soma = float(np.interp(t_peak, np.asarray(t), np.asarray(vm)))
    # the clamp injects (positive: into the cell) what the membrane loses
    return peaks[0] - peaks[1], v_soma, cli


def block(cell, blocked):
    """Set each blocked density to 0; returns {(segment, mech, param): old value}."""
    saved = {}
    for seg in cell.segments("all"):
        for mech, name in blocked.items():
            if hasattr(seg, mech):
                saved[(seg, mech, name)] = getattr(getattr(seg, mech), name)
                setattr(getattr(seg, mech), name, 0.0)
    return saved


class Egaba(Protocol):
    name = "egaba"
    description = ("E_GABA of the mature and immature presets from a simulated voltage-clamp "
                   "(perforated-patch) measurement, against the GHK prediction")
    Spec = EgabaSpec

    def measure(self, spec, session):
        from ..steady import SteadyStateError

        out = {"measurements": {}, "cells": {}, "failures": []}
        recipes = (spec.recipe,) if spec.recipe is not None else spec.recipes
        for rec in session.conditions(recipes, lambda r: f"recipe {getattr(r, 'name', r)}"):
            cell = session.cell(morphology=spec.morphology, recipe=rec)
            try:  # one cell at a time: CVODE and the sweeps integrate every cell alive
                cell.initialize()
                label = cell.recipe.name
                rest_mv = float(cell.soma_center.v)  # initialize left NEURON at rest
                m = measure(session.h, cell, spec.hold_mV, spec.weight_uS)
                out["measurements"][label] = {**m, "rest_mV": rest_mv}
                out["cells"][label] = cell.to_dict()
            except SteadyStateError as err:  # keep the other recipes; say what failed
                out["failures"].append(f"{rec}: {err}")
            finally:
                session.drop(cell)
        if not out["measurements"]:
            raise SteadyStateError("; ".join(out["failures"]))
        return out

    def report(self, spec, data):
        import pandas as pd

        rows, iv_rows, found = [], [], []
        for label, m in data["measurements"].items():
            rows += [
                (f"E_GABA {label}", m["E_measured"], "mV",
                 "measured: zero current of the somatic I-V"),
                (f"E_GABA_uncorrected {label}", m["E_command"], "mV",
                 "zero current against the command potential (no Rs correction)"),
                (f"E_GABA_GHK {label}", m["E_ghk"], "mV",
                 "GHK prediction from the simulated Cl/HCO3"),
                (f"error {label}", m["E_measured"] - m["E_ghk"], "mV", "measured - GHK"),
                (f"Cli {label}", m["cli"], "mM", "somatic Cl during the measurement"),
                (f"Vrest {label}", m["rest_mV"], "mV", "somatic resting potential"),
                (f"driving force {label}", m["E_measured"] - m["rest_mV"], "mV",
                 "E_GABA - Vrest (> 0: depolarising GABA)"),
            ]
            iv_rows += [(label, v, vs, i) for v, vs, i in zip(m["hold_mV"], m["v_soma_mV"],
                                                              m["I_nA"])]
            found.append(checks.within(
                f"E_GABA {label}", m["E_measured"], m["E_ghk"], 1.0, "mV",
                "physics: GHK voltage equation for the simulated Cl and HCO3 (thermo.egaba)",
                "linear interpolation of a slightly curved GHK I-V over 10 mV steps and the "
                "clamp of a cell that is not isopotential: 0.13 mV at most on the bundled "
                "pyramidal cell; nan if E_GABA lies outside the holding range"))
        iv = pd.DataFrame(iv_rows, columns=["recipe", "hold_mV", "v_soma_mV", "I_syn_nA"])
        return Report(rows, iv, checks=found, warnings=list(data["failures"]),
                      metadata={"cells": data["cells"], "measurements": data["measurements"],
                                "parameters": {"settle_ms": SETTLE_MS, "rs_MOhm": RS_MOHM,
                                               "dt_ms": DT_MS, "secondorder": 2,
                                               "blocked": {m: f"{p} = 0 (TTX, Cd2+)"
                                                           for m, p in BLOCK.items()}}})

    def figure(self, spec, data, report):
        from .. import plotting

        egaba = plotting.SYMBOLS["E_GABA"]
        fig, ax = plotting.figure(self.name, f"{egaba} by somatic voltage clamp (dotted: GHK "
                                  f"prediction; dashed: rest)", size=(7.5, 5.0))
        colours = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
        for (label, m), colour in zip(data["measurements"].items(), colours):
            ax.plot(m["v_soma_mV"], m["I_nA"], "o-", color=colour,
                    label=f"{label}: {egaba} {m['E_measured']:.1f} mV (GHK {m['E_ghk']:.1f} mV)")
            ax.axvline(m["E_ghk"], color=colour, ls=":", lw=1)
            ax.axvline(m["rest_mV"], color=colour, ls="--", lw=0.8, alpha=0.6)
        ax.axhline(0, color="k", lw=0.8)
        plotting.label(ax, "x", "somatic potential, Rs-corrected", "mV", table="",
                       column="v_soma_mV")
        plotting.label(ax, "y", f"{plotting.SYMBOLS['GABA_A']} current at the peak, outward > 0",
                       "nA", table="", column="I_syn_nA")
        ax.legend()
        return fig


PROTOCOL = Egaba()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
