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
error of a smooth I-V curve over 10 mV steps is far smaller; the synapse
itself is GHK, so the I-V is slightly curved).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import finish, summary_dict, summary_table

NAME = "egaba"
DESCRIPTION = ("E_GABA of the mature and immature presets from a simulated voltage-clamp "
               "(perforated-patch) measurement, against the GHK prediction")

HOLD_MV = tuple(range(-100, -19, 10))
SETTLE_MS = 30.0       # the clamped soma settles within a few ms (Rs 1 MOhm)
AFTER_MS = 5.0         # the conductance peaks 1.5 ms after the event
WEIGHT_US = 0.002      # synaptic peak conductance (uS)
RS_MOHM = 1.0          # series resistance of the clamp


def _tpeak_ms(tau1, tau2):
    """Time of the conductance peak of a difference of exponentials (ms)."""
    return tau1 * tau2 / (tau2 - tau1) * np.log(tau2 / tau1)


def measure(h, cell, hold_mv=HOLD_MV, weight_us=WEIGHT_US):
    """I-V of a somatic GABA_A synapse under somatic voltage clamp; returns a dict.

    The cell must have been initialised (cell.initialize()); every holding
    potential starts from that resting state.
    """
    from .. import mechanisms, simulate, solver, thermo

    seg = cell.soma_center
    # bath pharmacology of such recordings: TTX and Cd2+ block spikes and Ca
    # entry in the unclamped parts of the cell (their Cl is untouched)
    blocked = _block(cell, BLOCK)
    syn = mechanisms.add_point(seg, "GabaA")
    stim = h.NetStim()
    stim.number, stim.start, stim.noise = 1, SETTLE_MS, 0
    nc = h.NetCon(stim, syn)
    nc.weight[0] = weight_us
    nc.delay = 0
    clamp = h.SEClamp(seg)
    clamp.dur1, clamp.rs = 1e9, RS_MOHM
    t = h.Vector().record(h._ref_t)
    i = h.Vector().record(clamp._ref_i)
    vm = h.Vector().record(seg._ref_v)
    t_peak = SETTLE_MS + float(_tpeak_ms(syn.tau1, syn.tau2))
    currents, cli, v_soma = [], [], []
    # the fixed step is set before each finitialize, which depends on it (with
    # Crank-Nicolson it starts the ionic currents differently), and put back
    # after: the first run in a process started under secondorder 0 and left 2,
    # so a second run differed from the first by 1e-7 (relative)
    saved = solver.save()
    solver.use_fixed_step(0.025, secondorder=2)
    try:
        for v in hold_mv:
            clamp.amp1 = float(v)
            sweeps = []
            # a sweep with the synaptic event and a control sweep without: their
            # difference is the synaptic current alone, free of the slow
            # voltage-dependent currents of the (imperfectly clamped) cell
            for weight in (weight_us, 0.0):
                nc.weight[0] = weight
                h.finitialize()
                simulate.run(SETTLE_MS + AFTER_MS, method="fixed", dt_ms=0.025)
                sweeps.append(float(np.interp(t_peak, np.asarray(t), np.asarray(i))))
                if weight:
                    cli.append(seg.cli)
                    # the soma's potential at the peak: the command minus the
                    # drop across the series resistance (steady currents of
                    # several nA at depolarised holds)
                    v_soma.append(float(np.interp(t_peak, np.asarray(t), np.asarray(vm))))
            # the clamp injects (positive: into the cell) what the membrane
            # loses: an outward synaptic current needs as much injected current
            currents.append(sweeps[0] - sweeps[1])
        c = {"cli": float(np.mean(cli)), "clo": seg.clo, "hco3i": seg.hco3i, "hco3o": seg.hco3o}
        ratio = syn.pratio
    finally:
        solver.restore(saved)
        nc = None
        clamp = None
        syn = None
        stim = None
        for (sec_seg, mech, param), value in blocked.items():
            setattr(getattr(sec_seg, mech), param, value)
        blocked = None
    currents = np.array(currents)  # nA, outward positive
    e_meas = _zero_crossing(np.array(v_soma), currents)
    e_command = _zero_crossing(np.array(hold_mv, float), currents)
    from neuron import h as _h

    e_ghk = float(thermo.egaba(c["cli"], c["clo"], c["hco3i"], c["hco3o"], p_ratio=ratio,
                               celsius=_h.celsius))
    return {"hold_mV": list(map(float, hold_mv)), "I_nA": currents.tolist(),
            "v_soma_mV": v_soma, "E_measured": e_meas, "E_command": e_command, "E_ghk": e_ghk,
            **c, "pratio": ratio}


#: mechanism -> parameter set to 0 during the measurement (TTX, Cd2+)
BLOCK = {"nav": "gbar", "cahva": "pbar"}


def _block(cell, block):
    """Set each blocked density to 0; returns {(segment, mech, param): old value}."""
    saved = {}
    for seg in cell.segments("all"):
        for mech, param in block.items():
            if hasattr(seg, mech):
                saved[(seg, mech, param)] = getattr(getattr(seg, mech), param)
                setattr(getattr(seg, mech), param, 0.0)
    return saved


def _zero_crossing(v, i):
    """The potential where I(V) changes sign (linear interpolation), or nan."""
    s = np.sign(i)
    idx = np.flatnonzero(s[:-1] * s[1:] < 0)
    if idx.size == 0:
        return float("nan")
    k = int(idx[0])
    return float(v[k] - i[k] * (v[k + 1] - v[k]) / (i[k + 1] - i[k]))


def run(out_dir=None, morphology="pyramidal", recipe=None, recipes=("mature", "immature")):
    """Measure E_GABA in each recipe (``recipe`` alone if given) and compare with GHK."""
    start_clock = time.perf_counter()
    from neuron import h

    from .. import build, defaults as _defaults, results
    from ..cell import Cell

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply()
    if recipe is not None:
        recipes = (recipe,)
    measurements, cells_meta, failures = {}, {}, []
    from ..steady import SteadyStateError

    for rec in recipes:
        cell = Cell(morphology, rec)
        try:
            cell.initialize()
            label = cell.recipe.name
            rest_mv = float(cell.soma_center.v)  # initialize left NEURON at rest
            measurements[label] = measure(h, cell)
            measurements[label]["rest_mV"] = rest_mv
            cells_meta[label] = cell.to_dict()
        except SteadyStateError as err:
            # keep the other recipes' measurements; say what failed
            failures.append(f"{rec}: {err}")
        finally:
            cell.destroy()
            cell = None
    if not measurements:
        raise SteadyStateError("; ".join(failures))
    rows, iv_rows = [], []
    for label, m in measurements.items():
        rows += [
            (f"E_GABA {label}", m["E_measured"], "mV", "measured: zero current of the somatic I-V"),
            (f"E_GABA_uncorrected {label}", m["E_command"], "mV",
             "zero current against the command potential (no Rs correction)"),
            (f"E_GABA_GHK {label}", m["E_ghk"], "mV", "GHK prediction from the simulated Cl/HCO3"),
            (f"error {label}", m["E_measured"] - m["E_ghk"], "mV", "check: measured - GHK (|.| < 1)"),
            (f"Cli {label}", m["cli"], "mM", "somatic Cl during the measurement"),
            (f"Vrest {label}", m["rest_mV"], "mV", "somatic resting potential"),
            (f"driving force {label}", m["E_measured"] - m["rest_mV"], "mV",
             "E_GABA - Vrest (> 0: depolarising GABA)"),
        ]
        for v, vs, i in zip(m["hold_mV"], m["v_soma_mV"], m["I_nA"]):
            iv_rows.append((label, v, vs, i))
    import pandas as pd

    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    iv = pd.DataFrame(iv_rows, columns=["recipe", "hold_mV", "v_soma_mV", "I_syn_nA"])
    warnings = list(failures)
    for label, m in measurements.items():
        if math.isnan(m["E_measured"]):
            warnings.append(f"{label}: the current does not change sign between {HOLD_MV[0]} "
                            f"and {HOLD_MV[-1]} mV: E_GABA lies outside the holding range")
        elif not abs(m["E_measured"] - m["E_ghk"]) < 1.0:
            warnings.append(f"{label}: |measured - GHK| = "
                            f"{abs(m['E_measured'] - m['E_ghk']):.2f} mV > 1 mV")
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells=cells_meta, defaults=d.to_dict(),
        parameters={"hold_mV": list(HOLD_MV), "settle_ms": SETTLE_MS, "weight_uS": WEIGHT_US,
                    "blocked": {m: f"{p} = 0 (TTX, Cd2+)" for m, p in BLOCK.items()},
                    "rs_MOhm": RS_MOHM, "dt_ms": 0.025, "secondorder": 2},
        measurements=measurements,
        summary=summary_dict(summary),
        warnings=warnings,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, iv,
                  figure=lambda: _figure(measurements))


def _figure(measurements):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    colours = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    for (label, m), colour in zip(measurements.items(), colours):
        ax.plot(m["v_soma_mV"], np.array(m["I_nA"]) * 1e3, "o-", color=colour,
                label=f"{label}: E_GABA {m['E_measured']:.1f} mV (GHK {m['E_ghk']:.1f})")
        ax.axvline(m["E_ghk"], color=colour, ls=":", lw=1)
        ax.axvline(m["rest_mV"], color=colour, ls="--", lw=0.8, alpha=0.6)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("somatic potential (mV, Rs-corrected)")
    ax.set_ylabel("GABA$_A$ current at the peak (pA, outward > 0)")
    ax.set_title("E_GABA by somatic voltage clamp (dotted: GHK; dashed: rest)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
