"""Protocol ``egaba-development``: the developmental Cl switch, and its drugs.

E_GABA is measured as in a gramicidin perforated-patch experiment (somatic
voltage-clamp steps, one GABA_A activation at each, reversal by linear
interpolation of the synaptic I-V; see :mod:`ionhomeo.protocols.egaba` for
the measurement, its control sweeps and series-resistance correction) in
the mature (KCC2-dominated) and immature (NKCC1-dominated) presets, each
under control conditions and after a long application of

* bumetanide: NKCC1 blocked (nkcc1 imax = 0 everywhere), and
* VU0463271: KCC2 blocked (kcc2 imax = 0 everywhere).

After a long application the cell sits at a new steady state, which is
what is solved here (Cl relaxes over minutes; a time course would only add
waiting). Expected directions, from the transporters' thermodynamics:
blocking NKCC1 removes Cl uptake, so Cli falls and E_GABA moves down
(towards or below rest); blocking KCC2 removes Cl extrusion, so Cli rises
and E_GABA moves up. With one transporter left unopposed, the other's
block can only move E_GABA towards the passive distribution (E_Cl = Vm).

Check (issue 5, item 1): every measured E_GABA equals the GHK prediction
from the simulated concentrations, (RT/F) ln((cli + r hco3i)/(clo + r
hco3o)), within 1 mV; and each drug shifts E_GABA in its direction.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import finish, summary_dict, summary_table

NAME = "egaba-development"
DESCRIPTION = ("E_GABA by perforated-patch voltage clamp in mature and immature presets, with "
               "bumetanide (NKCC1 block) and VU0463271 (KCC2 block), against GHK")

#: condition -> (mechanism, parameter) set to 0 everywhere
DRUGS = {"control": None, "bumetanide": ("nkcc1", "imax"), "VU0463271": ("kcc2", "imax")}
#: the direction each drug moves E_GABA (+1 up, -1 down)
EXPECTED_SHIFT = {"bumetanide": -1, "VU0463271": +1}
TOLERANCE_MV = 1.0


def _recipe_with(recipe, drug):
    from .. import recipe as recipe_mod

    base = recipe_mod.resolve(recipe)
    if drug is None:
        return base
    mech, param = DRUGS[drug]
    if mech not in base.mechanisms():
        return None  # nothing to block
    return base.add("all", mech, note=f"{drug}: {mech} blocked", **{param: 0})


def run(out_dir=None, morphology="pyramidal", recipe=None, recipes=("mature", "immature")):
    """Measure E_GABA for each recipe under control, bumetanide and VU0463271."""
    start_clock = time.perf_counter()
    from neuron import h

    from .. import build, defaults as _defaults, results
    from ..cell import Cell
    from ..steady import SteadyStateError
    from . import egaba

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply()
    if recipe is not None:
        recipes = (recipe,)
    measurements, cells_meta, failures = {}, {}, []
    for rec in recipes:
        for drug in DRUGS:
            modified = _recipe_with(rec, None if drug == "control" else drug)
            if modified is None:
                failures.append(f"{rec}: no {DRUGS[drug][0]} to block with {drug}")
                continue
            label = (str(rec) if not hasattr(rec, "name") else rec.name, drug)
            cell = Cell(morphology, modified)
            try:
                cell.initialize()
                rest_mv = float(cell.soma_center.v)
                m = egaba.measure(h, cell)
                m["rest_mV"] = rest_mv
                measurements[label] = m
                cells_meta[f"{label[0]} {drug}"] = cell.to_dict()
            except SteadyStateError as err:
                failures.append(f"{label[0]} {drug}: {err}")
            finally:
                cell.destroy()
                cell = None
    if not measurements:
        raise SteadyStateError("; ".join(failures))

    rows, iv_rows = [], []
    errors, shifts_ok = [], []
    for (rec, drug), m in measurements.items():
        err = m["E_measured"] - m["E_ghk"]
        errors.append(abs(err) if math.isfinite(err) else math.inf)
        rows += [
            (f"E_GABA {rec} {drug}", m["E_measured"], "mV", "measured (somatic I-V zero crossing)"),
            (f"E_GABA_GHK {rec} {drug}", m["E_ghk"], "mV", "GHK from the simulated Cl and HCO3"),
            (f"Cli {rec} {drug}", m["cli"], "mM", "somatic Cl at the new steady state"),
            (f"Vrest {rec} {drug}", m["rest_mV"], "mV", "somatic resting potential"),
        ]
        for v, vs, i in zip(m["hold_mV"], m["v_soma_mV"], m["I_nA"]):
            iv_rows.append((rec, drug, v, vs, i))
        if drug != "control" and (rec, "control") in measurements:
            shift = m["E_measured"] - measurements[(rec, "control")]["E_measured"]
            right = np.sign(shift) == EXPECTED_SHIFT[drug] and abs(shift) > 0.1
            shifts_ok.append(bool(right))
            rows.append((f"shift {rec} {drug}", shift, "mV",
                         f"E_GABA change vs control (expected {'up' if EXPECTED_SHIFT[drug] > 0 else 'down'})"))
    worst = max(errors)
    passed = bool(worst < TOLERANCE_MV and all(shifts_ok))
    rows += [
        ("worst |measured - GHK|", worst, "mV", f"largest error over all conditions (< {TOLERANCE_MV:g})"),
        ("check", 1.0 if passed else 0.0, "1",
         f"every |E_GABA measured - GHK| < {TOLERANCE_MV:g} mV and every drug shifts E_GABA "
         "in its direction (bumetanide down, VU0463271 up)"),
    ]
    import pandas as pd

    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    iv = pd.DataFrame(iv_rows, columns=["recipe", "condition", "hold_mV", "v_soma_mV", "I_syn_nA"])
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells=cells_meta, defaults=d.to_dict(),
        parameters={"drugs": {k: (f"{v[0]}.{v[1]} = 0 everywhere" if v else "none")
                              for k, v in DRUGS.items()},
                    "hold_mV": list(egaba.HOLD_MV), "weight_uS": egaba.WEIGHT_US,
                    "rs_MOhm": egaba.RS_MOHM},
        measurements={f"{r} {c}": m for (r, c), m in measurements.items()},
        check={"expected": "GHK prediction and drug directions", "obtained_worst_mV": worst,
               "tolerance_mV": TOLERANCE_MV, "passed": passed},
        summary=summary_dict(summary),
        warnings=failures,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, iv,
                  figure=lambda: _figure(measurements))


def _figure(measurements):
    from matplotlib.figure import Figure

    recipes = list(dict.fromkeys(r for r, _ in measurements))
    fig = Figure(figsize=(5.5 * len(recipes), 4.8))
    axes = np.atleast_1d(fig.subplots(1, len(recipes)))
    styles = {"control": ("k", "o-"), "bumetanide": ("tab:blue", "s--"),
              "VU0463271": ("tab:red", "^--")}
    for ax, rec in zip(axes, recipes):
        for drug, (colour, style) in styles.items():
            m = measurements.get((rec, drug))
            if m is None:
                continue
            ax.plot(m["v_soma_mV"], np.array(m["I_nA"]) * 1e3, style, color=colour, ms=4,
                    label=f"{drug}: {m['E_measured']:.1f} mV (GHK {m['E_ghk']:.1f}, "
                          f"Cl$_i$ {m['cli']:.1f} mM)")
            ax.axvline(m["E_measured"], color=colour, lw=0.8, ls=":")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"{rec}", fontsize=10)
        ax.set_xlabel("somatic potential (mV, Rs-corrected)")
        ax.set_ylabel("GABA$_A$ current at the peak (pA)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("Perforated-patch E_GABA: developmental switch and drugs", fontsize=10)
    fig.tight_layout()
    return fig
