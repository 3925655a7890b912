"""Protocol ``er-release``: Ca release from the ER by IP3 and by Ca itself
(CICR through ryanodine receptors), SERCA refilling, and the concentration
at which mitochondrial uptake (MCU) overtakes SERCA.

Part A, IP3-evoked release and refilling. A closed compartment, 2 um in
diameter and 10 um long (a thin dendrite, where the ER's Ca visibly moves
the cytosolic Ca), with cadyn (default buffer, capacity about 98), the ER
pool (er: 10 % of the volume, 0.5 mM free, calreticulin-like buffer), SERCA,
the ER leak and the IP3 receptor, all at their mod-file defaults (they start
at the ER's resting balance). IP3 is stepped to ``ip3_uM`` (10 uM,
saturating: d1 = 0.13 uM) from ``ip3_start_s`` for ``ip3_s`` by
``Vector.play`` into ``ip3_ip3r``; CVODE with ionhomeo's concentration
tolerances to ``duration_s``. Reported: release (ER minimum, fraction
released, cytosolic peak), the release and SERCA fluxes, and the refilling
after IP3 is removed (times to 50 % and 90 % recovery of the ER deficit).
The compartment is closed, so cytosolic plus ER Ca is conserved (reported).

Part B, Ca-induced Ca release. The same geometry with the plasma-membrane
Ca system (pmca, ncx, caleak, which balance at 100 nM and -70 mV; Na held at
12 mM: nothing owns it), the ER pool with SERCA and the leak, the ryanodine
receptor at its mod-file defaults (ka 1 uM, Hill 4, inactivation ki 10 uM,
100 ms) and caentry (to account for the Ca that crossed the membrane), held
at -70 mV by a voltage clamp (so that the charge of the load does not move
v). Each condition starts at its own resting state: the free Ca and free
ER Ca at which the plasma-membrane Ca current and the ER pool current
vanish at -70 mV (root finding on the mechanisms' currents; buffers and the
RyR gate start in equilibrium). The RyR's resting leak (Po about 1e-4 at
100 nM) lowers the resting ER Ca from 0.500 to about 0.488 mM; without
this the compartment would drift before the load. A Ca load (CaInject,
mod/CaInject.mod: a rectangular inward Ca current
of ``load_ms``) brings a total of ``load_uM`` (per cytosolic volume) in at
100 ms. Each load runs with the RyR and with the RyR blocked (pmax = 0, as
with ryanodine or dantrolene). Release is all-or-none: it is "triggered"
when the free ER Ca falls below half its resting value within ``cicr_s``.
The threshold load is bracketed by the sweep and refined by bisection (to
1 %); the peak free Ca the threshold load gives with the RyR blocked is
the trigger Ca. Near the threshold the release starts late, so a load that
would trigger after ``cicr_s`` counts as untriggered. Conservation (Ca
content change minus the Ca that entered through the membrane, from
caentry) is reported; under CVODE's default ionhomeo tolerances it holds to
about 1e-5 of the load.

Part C, the SERCA/MCU crossover. A compartment with serca and mcu only,
no Ca owner (cai is set, not integrated) and both pools empty (free ER and
matrix Ca 1e-12 mM, so neither pump is slowed by its back-flux). At each
clamped cai the two uptake rates are read from the mechanisms (``j`` of
serca and mcu, h.fcurrent); the crossover is the cai where they are equal
(scipy brentq, xtol 1e-15 mM, rtol 1e-12). Expected: the crossover of the
two Hill laws with the mechanisms' own vmax and km,
:func:`ionhomeo.thermo.hill_crossover`, for Hill 2 (the defaults) and for
Hill 1 (both nh set to 1), where it is the Michaelis-Menten formula
Ca_eq = (V_E K_M - V_M K_E)/(V_M - V_E) (also computed as written).
THE CHECK: relative difference below 1e-6 for both. Why that tolerance:
with pools at 1e-12 mM, SERCA's thermodynamic factor tanh(-dG/2RT) is 1 to
double precision (dG/RT about -63), MCU's factor 1 - camti exp(-w)/cai
differs from 1 by about 1e-15 near the crossover and its drive factor is
exactly 1 at dpsi = dpsiref, so the simulated fluxes equal the Hill laws to
round-off and the root is found to 1e-12: the expected difference is of
order 1e-12; 1e-6 would still hold with pools up to about 1e-6 mM.

``morphology``: None (default) uses the compartments above. With a
morphology (and a recipe, default "mature"), Parts A and B run at the
centre of the soma of that cell, with er, serca, erleak and ip3r (A) or ryr
(B) added to the soma by the recipe (``Recipe.add``; mechanisms the recipe
already places there keep its parameters), the cell at its whole-cell
resting state (:meth:`Cell.initialize`) and, in B, the soma clamped at its
resting potential; IP3 and the load are applied at every soma segment with
the load per cytosolic volume of that segment (the RyR-blocked runs start
from the cell's resting state with the RyR, so the ER drifts up slightly
before the load). Part C compares kinetics at
clamped Ca and always uses its own compartment. In a cell, Ca is not
conserved locally (diffusion, plasma-membrane fluxes), so the conservation
rows are NaN.

Outputs (``out_dir``): er-release.csv (Part A time course, tidy),
er-release_cicr.csv (one row per load and condition),
er-release_cicr_timecourse.csv, er-release_crossover.csv (flux curves),
er-release_summary.csv, er-release.json and er-release.png. Everything
created in NEURON is deleted before returning; the GLOBALs (nh of serca
and mcu) and the integration settings it changes are restored.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import solver
from .common import Result, finish, summary_dict, summary_table

NAME = "er-release"
DESCRIPTION = ("IP3-evoked and Ca-induced (RyR) release from the ER, SERCA refilling, and the "
               "SERCA-versus-MCU uptake crossover against the Hill/Michaelis-Menten formula")

#: own compartments: a thin dendrite (um)
DEND_L_UM = 10.0
DEND_DIAM_UM = 2.0
#: Part C compartment (its size does not enter fluxes per volume)
UPTAKE_L_UM = 10.0
UPTAKE_DIAM_UM = 10.0
MECHANISMS_IP3 = ("cadyn", "er", "serca", "erleak", "ip3r")
MECHANISMS_CICR = ("cadyn", "pmca", "ncx", "caleak", "er", "serca", "erleak", "ryr", "caentry")
MECHANISMS_UPTAKE = ("serca", "mcu")
HOLD_MV = -70.0  # own compartments: the potential at which the default Ca system balances
RS_MOHM = 1e-3

#: Part B
LOADS_UM = (10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0)
LOAD_START_MS = 100.0
TRIGGER_FRACTION = 0.5   # triggered: free ER Ca below this fraction of rest
THRESHOLD_RTOL = 0.01    # bisection of the threshold load to 1 %

#: Part C
EMPTY_POOL_MM = 1e-12
BRACKET_MM = (1e-6, 1.0)
HILL = (2.0, 1.0)
TOLERANCE_REL = 1e-6
FLUX_CAI_UM = tuple(float(x) for x in np.geomspace(0.01, 100.0, 121))


# ----------------------------------------------------------------------------
# settings that are restored


def _bad(message):
    """The error for a bad argument: mechanisms.ParameterError (a ValueError),
    which the command line reports without a traceback."""
    from ..mechanisms import ParameterError

    return ParameterError(message)


def _number(name, value, positive=False, nonnegative=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise _bad(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise _bad(f"{name} must be >= 0, got {value!r}")
    return float(value)


# ----------------------------------------------------------------------------
# sites


def _compartment(h, name, mechs, L, diam):
    from .. import mechanisms

    sec = h.Section(name=name)
    sec.L, sec.diam, sec.nseg = L, diam, 1
    for m in mechs:
        mechanisms.insert(sec, m)
    return sec


def _cell(morphology, recipe, extra):
    """A Cell with ``extra`` mechanisms added to the soma, at rest."""
    from .. import recipe as recipe_mod
    from ..cell import Cell

    rec = recipe_mod.resolve(recipe, default="mature")
    for m in extra:
        rec = rec.add("soma", m, note=f"added by the {NAME} protocol")
    cell = Cell(morphology, rec)
    try:
        cell.initialize()
    except BaseException:
        cell.destroy()
        raise
    return cell


def _soma_segments(cell, mech):
    return [s for s in cell.segments("soma") if s.sec.has_membrane(mech)]


# ----------------------------------------------------------------------------
# Part A: IP3


def _part_a(h, objs, ip3_mM, t_on, t_off, tstop, v_init, closed):
    from .. import calcium, solver

    seg = objs["seg"]
    tvec = h.Vector([0.0, t_on, t_on, t_off, t_off, 1e12])
    plays = []
    for s in objs["ip3_segments"]:
        vec = h.Vector([0.0, 0.0, ip3_mM, ip3_mM, 0.0, 0.0])
        vec.play(s.ip3r._ref_ip3, tvec, 1)
        plays.append(vec)
    refs = {"t": h._ref_t, "cai": seg._ref_cai, "caeri": seg._ref_caeri, "ip3": seg.ip3r._ref_ip3,
            "j_ip3r": seg.ip3r._ref_j, "j_serca": seg.serca._ref_j, "j_erleak": seg.erleak._ref_j}
    vecs = {k: h.Vector().record(r) for k, r in refs.items()}
    try:
        solver.use_cvode(True)
        h.finitialize(v_init)
        before = calcium.content(objs["sections"]) if closed else None
        h.CVode().solve(tstop)
        after = calcium.content(objs["sections"]) if closed else None
        data = {k: np.array(v) for k, v in vecs.items()}
    finally:
        for v in plays:
            v.play_remove()
        for v in vecs.values():
            v.play_remove()
        del plays, vecs, refs, seg
    n = min(a.size for a in data.values())
    data = {k: a[:n] for k, a in data.items()}
    cons = (abs(after["total"] - before["total"]) / before["total"]) if closed else math.nan
    return data, cons


def _analyse_a(data, t_on, t_off):
    t = data["t"]
    caer, cai = data["caeri"], data["cai"]
    before = t < t_on
    base_er = float(caer[before][-1])
    base_ca = float(cai[before][-1])
    during = (t >= t_on) & (t <= t_off)
    k_min = int(np.argmin(np.where(during, caer, np.inf)))
    k_peak = int(np.argmax(np.where(during, cai, -np.inf)))
    after = t >= t_off
    deficit0 = base_er - float(np.interp(t_off, t, caer))
    deficit = base_er - caer

    def recovered(fraction):
        m = after & (deficit <= (1 - fraction) * deficit0)
        return float(t[m][0] - t_off) if m.any() else math.nan

    return {
        "ER_base": base_er, "Cai_base": base_ca,
        "ER_min": float(caer[k_min]), "t_ER_min": float(t[k_min] - t_on),
        "released": (base_er - float(caer[k_min])) / base_er,
        "Cai_peak": float(cai[k_peak]), "t_Cai_peak": float(t[k_peak] - t_on),
        "J_ip3r_peak": float(np.max(data["j_ip3r"][during])) if during.any() else math.nan,
        "J_serca_peak": float(np.max(data["j_serca"])),
        "deficit_at_off": deficit0,
        "t50": recovered(0.5), "t90": recovered(0.9),
        "ER_end": float(caer[-1]), "Cai_end": float(cai[-1]),
        "refilled_end": 1 - float(deficit[-1]) / deficit0 if deficit0 > 0 else math.nan,
    }


def _timecourse_a(data):
    import pandas as pd

    frames = []
    for name, factor, unit in (("cai", 1e3, "uM"), ("caeri", 1.0, "mM"), ("ip3", 1e3, "uM"),
                               ("j_ip3r", 1e6, "uM/s"), ("j_serca", 1e6, "uM/s"),
                               ("j_erleak", 1e6, "uM/s")):
        # j: mM/ms per cytosolic volume -> uM/s (x 1e3 uM/mM x 1e3 ms/s)
        frames.append(pd.DataFrame({"t_s": data["t"] / 1e3, "variable": name,
                                    "value": data[name] * factor, "unit": unit}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------
# Part B: CICR


def _solve_rest(h, objs, v_init):
    """Free Ca and ER Ca at which the own compartment's Ca fluxes balance at v_init.

    Newton-type root (scipy root, hybr) of the plasma-membrane Ca current and
    the ER pool current, each evaluated by NEURON after a finitialize that
    starts from the candidate concentrations (the type-0 handler of
    :func:`run` writes ``objs["init"]``), so that buffers and the RyR gate
    start in equilibrium with them. Returns (cai, caeri) in mM and the
    largest residual current (mA/cm2).
    """
    from scipy import optimize

    def residual(x):
        objs["init"] = (math.exp(x[0]), math.exp(x[1]))
        h.finitialize(v_init)
        s = objs["seg"]
        return [s.ica * 1e3, s.icaer * 1e3]  # uA/cm2

    objs["init"] = None
    h.finitialize(v_init)
    x0 = [math.log(objs["seg"].cai), math.log(objs["seg"].caeri)]
    # scipy wraps residual in a self-referencing closure; residual reaches
    # NEURON only through ``objs``, which the caller clears
    sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-14})
    worst = float(np.max(np.abs(residual(sol.x)))) * 1e-3
    rest = (math.exp(sol.x[0]), math.exp(sol.x[1]))
    objs["init"] = None
    return rest, worst


def _cicr_run(h, objs, load_uM, ryr_on, load_ms, tstop, v_init, closed):
    """One load, with the RyR on or blocked; returns traces and numbers."""
    from .. import calcium, solver, thermo

    seg = objs["seg"]
    injectors = []
    for s in objs["load_segments"]:
        inj = h.CaInject(s)
        vol_um3 = calcium.segment_volume_um3(s)
        # load_uM (per cytosolic volume) * volume: mM * um3 = amol = 1e-18 mol;
        # charge 2 F n (C), in pC (1e12) over load_ms: nA
        charge_pC = load_uM * 1e-3 * vol_um3 * 1e-18 * 2 * thermo.FARADAY * 1e12
        inj.delay, inj.dur, inj.amp = LOAD_START_MS, load_ms, charge_pC / load_ms
        injectors.append(inj)
    pmax = {}
    for k, s in enumerate(objs["ryr_segments"]):
        pmax[k] = s.ryr.pmax
        if not ryr_on:
            s.ryr.pmax = 0.0
    refs = {"t": h._ref_t, "cai": seg._ref_cai, "caeri": seg._ref_caeri, "po": seg.ryr._ref_po}
    vecs = {k: h.Vector().record(r) for k, r in refs.items()}
    try:
        solver.use_cvode(True)
        # own compartment: start at the rest of this condition (None: the
        # cell's own resting state)
        objs["init"] = objs["rest"][ryr_on] if objs.get("rest") else None
        h.finitialize(v_init)
        objs["init"] = None
        before = calcium.content(objs["sections"])["total"] if closed else None
        h.CVode().solve(tstop)
        if closed:
            entered = calcium.entered(objs["sections"])
            change = calcium.content(objs["sections"])["total"] - before
            cons = abs(change - entered) / abs(entered)
        else:
            cons = math.nan
        data = {k: np.array(v) for k, v in vecs.items()}
    finally:
        for k, s in enumerate(objs["ryr_segments"]):
            s.ryr.pmax = pmax[k]
        for v in vecs.values():
            v.play_remove()
        del vecs, refs, injectors, seg
    n = min(a.size for a in data.values())
    data = {k: a[:n] for k, a in data.items()}
    t = data["t"]
    before_load = t <= LOAD_START_MS
    base_er = float(data["caeri"][before_load][-1])
    k_peak = int(np.argmax(data["cai"]))
    er_min = float(data["caeri"].min())
    return {"load_uM": float(load_uM), "ryr": "on" if ryr_on else "blocked",
            "Cai_base_uM": float(data["cai"][before_load][-1]) * 1e3,
            "Cai_peak_uM": float(data["cai"][k_peak]) * 1e3,
            "t_peak_ms": float(t[k_peak] - LOAD_START_MS),
            "ER_base_mM": base_er, "ER_min_mM": er_min,
            "ER_released": (base_er - er_min) / base_er,
            "po_peak": float(data["po"].max()),
            "triggered": bool(er_min < TRIGGER_FRACTION * base_er),
            "conservation_rel": cons}, data


def _part_b(h, objs, loads_uM, load_ms, tstop, v_init, closed):
    import pandas as pd

    rest = {}
    if closed:
        # own compartment: the resting state with the RyR on and with it blocked
        for on in (True, False):
            pmax = [s.ryr.pmax for s in objs["ryr_segments"]]
            try:
                if not on:
                    for s in objs["ryr_segments"]:
                        s.ryr.pmax = 0.0
                rest[on] = _solve_rest(h, objs, v_init)
            finally:
                for s, p in zip(objs["ryr_segments"], pmax):
                    s.ryr.pmax = p
        objs["rest"] = {on: r[0] for on, r in rest.items()}
    rows, traces = [], {}
    for load in loads_uM:
        for on in (True, False):
            r, data = _cicr_run(h, objs, load, on, load_ms, tstop, v_init, closed)
            rows.append(r)
            traces[(load, r["ryr"])] = data
    # the threshold: bisection (geometric) between the largest untriggered and
    # the smallest triggered load of the sweep
    on_rows = sorted((r for r in rows if r["ryr"] == "on"), key=lambda r: r["load_uM"])
    trig = [r["load_uM"] for r in on_rows if r["triggered"]]
    below = [r["load_uM"] for r in on_rows if not r["triggered"] and (not trig or r["load_uM"] < trig[0])]
    bisection = []
    if trig and below:
        lo, hi = below[-1], trig[0]
        while hi / lo - 1 > THRESHOLD_RTOL:
            mid = math.sqrt(lo * hi)
            r, _ = _cicr_run(h, objs, mid, True, load_ms, tstop, v_init, closed)
            bisection.append(r)
            if r["triggered"]:
                hi = mid
            else:
                lo = mid
        threshold = math.sqrt(lo * hi)
        r_off, _ = _cicr_run(h, objs, threshold, False, load_ms, tstop, v_init, closed)
        trigger_ca = r_off["Cai_peak_uM"]
        bracket = (lo, hi)
    else:
        threshold, trigger_ca, bracket = math.nan, math.nan, (math.nan, math.nan)
    table = pd.DataFrame(rows)
    return table, traces, {"rest": {("RyR on" if on else "RyR blocked"):
                                    {"cai_mM": r[0][0], "caeri_mM": r[0][1], "residual_mA_cm2": r[1]}
                                    for on, r in rest.items()},
                           "threshold_uM": threshold, "trigger_Cai_uM": trigger_ca,
                           "bracket_uM": bracket, "bisection": bisection,
                           "smallest_triggered_uM": trig[0] if trig else math.nan,
                           "largest_untriggered_uM": below[-1] if below else math.nan}


def _timecourse_b(traces):
    import pandas as pd

    frames = []
    for (load, ryr), data in traces.items():
        for name, factor, unit in (("cai", 1e3, "uM"), ("caeri", 1.0, "mM")):
            frames.append(pd.DataFrame({"load_uM": load, "ryr": ryr, "t_ms": data["t"],
                                        "variable": name, "value": data[name] * factor,
                                        "unit": unit}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------
# Part C: SERCA versus MCU


def _part_c(h, objs):
    """Crossover by root finding on the simulated fluxes, for each Hill coefficient."""
    import pandas as pd
    from scipy import optimize

    from .. import mechanisms, thermo

    def fluxes(c):
        s = objs["seg"]
        s.cai = c
        h.fcurrent()
        return s.serca.j, s.mcu.j

    def diff(c):
        j_serca, j_mcu = fluxes(c)
        return j_mcu - j_serca

    old = {m: float(getattr(h, f"nh_{m}")) for m in ("serca", "mcu")}
    out, curves = {}, []
    try:
        for nh in HILL:
            mechanisms.set_globals("serca", nh=nh)
            mechanisms.set_globals("mcu", nh=nh)
            h.finitialize(HOLD_MV)
            seg = objs["seg"]
            # empty pools: nothing owns caer or camt here, so the values stay
            seg.caeri = EMPTY_POOL_MM
            seg.camti = EMPTY_POOL_MM
            v_e, k_e = seg.serca.vmax, float(h.km_serca)
            v_m, k_m = seg.mcu.vmax, float(h.km_mcu)
            seg = None
            # brentq keeps a reference cycle to ``diff``; diff reaches NEURON
            # only through ``objs``, which the caller clears
            c_sim = optimize.brentq(diff, *BRACKET_MM, xtol=1e-15, rtol=1e-12)
            c_hill = float(thermo.hill_crossover(v_e, k_e, v_m, k_m, n=nh))
            mm = (v_e * k_m - v_m * k_e) / (v_m - v_e) if nh == 1.0 else math.nan
            worst = 0.0
            for c_uM in FLUX_CAI_UM:
                c = c_uM * 1e-3
                j_e, j_m = fluxes(c)
                hill_e = v_e * c ** nh / (c ** nh + k_e ** nh)
                hill_m = v_m * c ** nh / (c ** nh + k_m ** nh)
                worst = max(worst, abs(j_e / hill_e - 1), abs(j_m / hill_m - 1))
                curves += [(nh, c_uM, "serca", j_e * 1e6, hill_e * 1e6),
                           (nh, c_uM, "mcu", j_m * 1e6, hill_m * 1e6)]
            j_at = fluxes(c_sim)
            out[nh] = {"simulated_mM": c_sim, "formula_mM": c_hill, "michaelis_menten_mM": mm,
                       "rel_error": abs(c_sim - c_hill) / c_hill,
                       "J_at_crossover_uM_s": j_at[0] * 1e6,
                       "serca": {"vmax_mM_ms": v_e, "km_mM": k_e},
                       "mcu": {"vmax_mM_ms": v_m, "km_mM": k_m},
                       "max_rel_dev_from_hill": worst}
    finally:
        for m, v in old.items():
            setattr(h, f"nh_{m}", v)
    table = pd.DataFrame(curves, columns=["nh", "cai_uM", "transporter", "J_simulated_uM_s",
                                          "J_hill_uM_s"])
    return table, out


# ----------------------------------------------------------------------------
# the protocol


def run(out_dir=None, morphology=None, recipe=None, ip3_uM: float = 10.0,
        ip3_start_s: float = 2.0, ip3_s: float = 5.0, duration_s: float = 20.0,
        loads_uM=LOADS_UM, load_ms: float = 10.0, cicr_s: float = 5.0,
        defaults=None) -> Result:
    """Run the er-release protocol (see the module docstring).

    Parameters
    ----------
    out_dir : directory for the outputs; None writes nothing.
    morphology : None (the protocol's own compartments), or a morphology
        (bundled name, file, Morphology) whose soma is used for Parts A and B.
    recipe : the cell's recipe (with a morphology only; default "mature").
    ip3_uM, ip3_start_s, ip3_s, duration_s : Part A: IP3 step (uM), its onset
        and duration (s), and the simulated time (s).
    loads_uM, load_ms, cicr_s : Part B: total Ca loads (uM per cytosolic
        volume), the duration of each load (ms) and of each run (s).
    defaults : :class:`ionhomeo.defaults.Defaults`; the package defaults if None.
    """
    start_clock = time.perf_counter()
    ip3_uM = _number("ip3_uM", ip3_uM, positive=True)
    ip3_start_s = _number("ip3_start_s", ip3_start_s, positive=True)
    ip3_s = _number("ip3_s", ip3_s, positive=True)
    duration_s = _number("duration_s", duration_s, positive=True)
    load_ms = _number("load_ms", load_ms, positive=True)
    cicr_s = _number("cicr_s", cicr_s, positive=True)
    if duration_s <= ip3_start_s + ip3_s:
        raise _bad(f"duration_s = {duration_s:g} s must exceed ip3_start_s + ip3_s = "
                         f"{ip3_start_s + ip3_s:g} s (the refilling is measured after IP3 ends)")
    if cicr_s * 1e3 <= LOAD_START_MS + load_ms:
        raise _bad(f"cicr_s = {cicr_s:g} s must exceed the end of the load "
                         f"({(LOAD_START_MS + load_ms) / 1e3:g} s)")
    try:
        loads = sorted({float(x) for x in loads_uM})
    except TypeError:
        raise _bad(f"loads_uM must be a sequence of numbers (uM), got {loads_uM!r}") from None
    if not loads or any(not math.isfinite(x) or x <= 0 for x in loads):
        raise _bad(f"loads_uM must be finite values > 0 uM, got {loads_uM!r}")
    if morphology is None and recipe is not None:
        raise _bad("a recipe needs a morphology: pass morphology= (e.g. 'ball_and_stick'), "
                         "or neither for the protocol's own compartments")

    from neuron import h

    from .. import build, defaults as _defaults, results

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply(defaults)
    saved = solver.save()
    t_on, t_off = ip3_start_s * 1e3, (ip3_start_s + ip3_s) * 1e3
    objs, cell, sec, clamp, handler = {}, None, None, None, None
    sites = {}
    t_clock = time.perf_counter()
    try:
        # ---- Part A
        if morphology is None:
            sec = _compartment(h, "er_release_ip3", MECHANISMS_IP3, DEND_L_UM, DEND_DIAM_UM)
            objs.update(seg=sec(0.5), sections=[sec], ip3_segments=[sec(0.5)])
            sec = None
            v_init, closed = HOLD_MV, True
            sites["A"] = {"kind": "own compartment", "L_um": DEND_L_UM, "diam_um": DEND_DIAM_UM,
                          "mechanisms": list(MECHANISMS_IP3), "closed": True}
        else:
            cell = _cell(morphology, recipe, ("er", "serca", "erleak", "ip3r"))
            objs.update(seg=cell.soma_center, sections=cell.all,
                        ip3_segments=_soma_segments(cell, "ip3r"))
            v_init, closed = float(cell.soma_center.v), False
            sites["A"] = {"kind": "soma centre of a cell at rest", "segment": str(cell.soma_center),
                          "cell": cell.to_dict(), "closed": False}
        data_a, cons_a = _part_a(h, objs, ip3_uM * 1e-3, t_on, t_off, duration_s * 1e3, v_init, closed)
        objs.clear()
        if cell is not None:
            cell.destroy()
            cell = None

        # ---- Part B
        if morphology is None:
            sec = _compartment(h, "er_release_cicr", MECHANISMS_CICR, DEND_L_UM, DEND_DIAM_UM)
            objs.update(seg=sec(0.5), sections=[sec], load_segments=[sec(0.5)],
                        ryr_segments=[sec(0.5)])
            sec = None
            v_init, closed = HOLD_MV, True
            sites["B"] = {"kind": "own compartment", "L_um": DEND_L_UM, "diam_um": DEND_DIAM_UM,
                          "mechanisms": list(MECHANISMS_CICR), "hold_mV": HOLD_MV,
                          "Na": "12 mM, held (no Na owner)", "closed": True}
        else:
            cell = _cell(morphology, recipe, ("er", "serca", "erleak", "ryr"))
            objs.update(seg=cell.soma_center, sections=cell.all,
                        load_segments=cell.segments("soma"),
                        ryr_segments=_soma_segments(cell, "ryr"))
            v_init, closed = float(cell.soma_center.v), False
            sites["B"] = {"kind": "soma centre of a cell at rest, soma clamped at rest",
                          "segment": str(cell.soma_center), "hold_mV": v_init,
                          "cell": cell.to_dict(), "closed": False}
        clamp = h.SEClamp(objs["seg"])
        clamp.dur1, clamp.amp1, clamp.rs = 1e9, v_init, RS_MOHM
        if closed:
            # a type-0 handler after ionhomeo's: starts cai and caeri of the own
            # compartment where objs["init"] says (before the INITIAL blocks)
            objs["init"] = None

            def set_rest():
                start = objs.get("init")
                if start is not None:
                    objs["seg"].cai, objs["seg"].caeri = start

            handler = h.FInitializeHandler(0, set_rest)
        table_b, traces_b, thr = _part_b(h, objs, loads, load_ms, cicr_s * 1e3, v_init, closed)
        handler = None
        clamp = None
        objs.clear()
        if cell is not None:
            cell.destroy()
            cell = None

        # ---- Part C
        sec = _compartment(h, "er_release_uptake", MECHANISMS_UPTAKE, UPTAKE_L_UM, UPTAKE_DIAM_UM)
        objs["seg"] = sec(0.5)
        sec = None
        sites["C"] = {"kind": "own compartment (clamped cai, empty pools)", "L_um": UPTAKE_L_UM,
                      "diam_um": UPTAKE_DIAM_UM, "mechanisms": list(MECHANISMS_UPTAKE),
                      "pool_mM": EMPTY_POOL_MM}
        flux_table, cross = _part_c(h, objs)
        sim_clock = time.perf_counter() - t_clock
    finally:
        handler = None
        clamp = None
        objs.clear()
        sec = None
        if cell is not None:
            cell.destroy()
            cell = None
        solver.restore(saved)

    a = _analyse_a(data_a, t_on, t_off)
    timecourse = _timecourse_a(data_a)
    b_on = table_b[table_b["ryr"] == "on"].set_index("load_uM")
    b_off = table_b[table_b["ryr"] == "blocked"].set_index("load_uM")
    example = thr["smallest_triggered_uM"]
    cons_b = float(table_b["conservation_rel"].max()) if closed else math.nan

    errors = [cross[nh]["rel_error"] for nh in HILL]
    max_err = max(errors)
    passed = bool(math.isfinite(max_err) and max_err < TOLERANCE_REL)

    rows = [
        ("IP3", ip3_uM, "uM", f"Part A: IP3 step from {ip3_start_s:g} s for {ip3_s:g} s"),
        ("ER_base", a["ER_base"], "mM", "Part A: free ER Ca before IP3"),
        ("Cai_base", a["Cai_base"] * 1e3, "uM", "Part A: free cytosolic Ca before IP3"),
        ("ER_min", a["ER_min"], "mM", "Part A: lowest free ER Ca during IP3"),
        ("ER_released", a["released"], "1", "Part A: fraction of free ER Ca released"),
        ("Cai_peak_A", a["Cai_peak"] * 1e3, "uM", "Part A: peak free cytosolic Ca during IP3"),
        ("t_Cai_peak_A", a["t_Cai_peak"] / 1e3, "s", "Part A: time of that peak after IP3 onset"),
        ("J_IP3R_peak", a["J_ip3r_peak"] * 1e6, "uM/s", "Part A: peak IP3R release (per cytosolic volume)"),
        ("J_SERCA_peak", a["J_serca_peak"] * 1e6, "uM/s", "Part A: peak SERCA uptake"),
        ("ER_deficit_at_IP3_end", a["deficit_at_off"], "mM", "Part A: ER Ca missing when IP3 is removed"),
        ("t50_refill", a["t50"] / 1e3, "s", "Part A: SERCA refills half of that deficit in"),
        ("t90_refill", a["t90"] / 1e3, "s", "Part A: and 90 % of it in"),
        ("ER_refilled_end", a["refilled_end"], "1", f"Part A: fraction of the deficit refilled at {duration_s:g} s"),
        ("Cai_end_A", a["Cai_end"] * 1e3, "uM", "Part A: free cytosolic Ca at the end"),
        ("conservation_A", cons_a, "1", "Part A: |change of total Ca| / total Ca (closed compartment)"),
        *[(f"Cai_rest_B {k}", v["cai_mM"] * 1e3, "uM",
           f"Part B: resting free Ca of the compartment ({k}; ER and plasma-membrane fluxes balanced)")
          for k, v in thr["rest"].items()],
        *[(f"ER_rest_B {k}", v["caeri_mM"], "mM", f"Part B: resting free ER Ca ({k})")
          for k, v in thr["rest"].items()],
        ("CICR_threshold", thr["threshold_uM"], "uM",
         f"Part B: smallest total Ca load ({load_ms:g} ms) that triggers RyR release "
         f"(ER free Ca < {TRIGGER_FRACTION:g} of rest within {cicr_s:g} s), to {THRESHOLD_RTOL:.0%}"),
        ("Cai_trigger", thr["trigger_Cai_uM"], "uM",
         "Part B: peak free Ca that the threshold load gives with the RyR blocked"),
    ]
    if math.isfinite(example):
        on, off = b_on.loc[example], b_off.loc[example]
        rows += [
            ("load_example", example, "uM", "Part B: smallest load of the sweep that triggers CICR"),
            ("Cai_peak_RyR", on["Cai_peak_uM"], "uM", "Part B: peak free Ca at that load, RyR on"),
            ("Cai_peak_blocked", off["Cai_peak_uM"], "uM", "Part B: the same with the RyR blocked"),
            ("CICR_amplification", on["Cai_peak_uM"] / off["Cai_peak_uM"], "1",
             "Part B: peak ratio RyR on / blocked"),
            ("t_peak_RyR", on["t_peak_ms"], "ms", "Part B: time of the peak after the load starts, RyR on"),
            ("ER_released_RyR", on["ER_released"], "1", "Part B: fraction of free ER Ca released, RyR on"),
        ]
    rows.append(("conservation_B", cons_b, "1",
                 "Part B: largest |change of total Ca - Ca that entered| / entered over all runs"))
    for nh in HILL:
        c = cross[nh]
        label = "Michaelis-Menten (Hill 1)" if nh == 1.0 else f"Hill {nh:g}"
        rows += [
            (f"crossover Hill {nh:g} simulated", c["simulated_mM"] * 1e3, "uM",
             f"obtained: cai where the simulated MCU and SERCA uptake are equal, {label}"),
            (f"crossover Hill {nh:g} formula", c["formula_mM"] * 1e3, "uM",
             f"expected: thermo.hill_crossover with the mechanisms' vmax, km, n = {nh:g}"),
            (f"crossover Hill {nh:g} rel_error", c["rel_error"], "1", "|simulated - formula| / formula"),
            (f"J at crossover Hill {nh:g}", c["J_at_crossover_uM_s"], "uM/s",
             "uptake of each transporter at the crossover"),
            (f"flux deviation Hill {nh:g}", c["max_rel_dev_from_hill"], "1",
             "largest relative deviation of the simulated fluxes from the Hill laws, 0.01-100 uM"),
        ]
        if nh == 1.0:
            rows.append(("crossover Michaelis-Menten formula", c["michaelis_menten_mM"] * 1e3, "uM",
                         "(V_E K_M - V_M K_E)/(V_M - V_E), the reference table's formula"))
    rows += [
        ("max_rel_error", max_err, "1", "largest relative crossover error over Hill 2 and Hill 1"),
        ("check", 1.0 if passed else 0.0, "1",
         f"|crossover(simulated) - crossover(formula)| / crossover(formula) < {TOLERANCE_REL:g} "
         "for Hill 2 and Hill 1 (Michaelis-Menten)"),
    ]
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])

    warnings = []
    if not passed:
        warnings.append(f"check failed: largest relative crossover error {max_err!r}")
    if not a["released"] > 0.1:
        warnings.append(f"Part A: IP3 released only {a['released']:.1%} of the free ER Ca")
    if not a["t90"] == a["t90"]:
        warnings.append(f"Part A: the ER did not refill 90 % of its deficit within {duration_s:g} s")
    if math.isnan(thr["threshold_uM"]):
        warnings.append(f"Part B: no CICR threshold within the loads {loads} uM "
                        f"(triggered: {list(b_on.index[b_on['triggered']])})")
    for k, v in thr["rest"].items():
        if not v["residual_mA_cm2"] < 1e-12:
            warnings.append(f"Part B: resting state ({k}) not found: residual {v['residual_mA_cm2']:.3g} mA/cm2")
    if b_off["triggered"].any():
        warnings.append("Part B: the ER emptied with the RyR blocked")

    parameters = {"ip3_uM": ip3_uM, "ip3_start_s": ip3_start_s, "ip3_s": ip3_s,
                  "duration_s": duration_s, "loads_uM": loads, "load_ms": load_ms,
                  "load_start_ms": LOAD_START_MS, "cicr_s": cicr_s,
                  "trigger_fraction": TRIGGER_FRACTION, "threshold_rtol": THRESHOLD_RTOL,
                  "hill": list(HILL), "empty_pool_mM": EMPTY_POOL_MM, "bracket_mM": list(BRACKET_MM),
                  "brentq": {"xtol_mM": 1e-15, "rtol": 1e-12}, "method": "cvode (ionhomeo tolerances)",
                  "rs_MOhm": RS_MOHM}
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells=sites, defaults=d.to_dict(),
        parameters=parameters, ip3_release=a,
        cicr={k: v for k, v in thr.items() if k != "bisection"},
        cicr_bisection=thr["bisection"],
        crossover={f"Hill {nh:g}": c for nh, c in cross.items()},
        summary=summary_dict(summary),
        check={"criterion": f"relative crossover error < {TOLERANCE_REL:g} for Hill 2 and 1",
               "expected": {f"Hill {nh:g}": cross[nh]["formula_mM"] for nh in HILL},
               "obtained": {f"Hill {nh:g}": cross[nh]["simulated_mM"] for nh in HILL},
               "unit": "mM", "tolerance": TOLERANCE_REL, "max_rel_error": max_err, "passed": passed},
        warnings=warnings, simulation_runtime_s=sim_clock,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, timecourse,
                  figure=lambda: _figure(data_a, a, t_on, t_off, table_b, traces_b, thr,
                                         flux_table, cross),
                  tables=lambda: {"": timecourse, "cicr": table_b,
                                  "cicr_timecourse": _timecourse_b(traces_b),
                                  "crossover": flux_table})


def _figure(data_a, a, t_on, t_off, table_b, traces_b, thr, flux_table, cross):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 9), layout="constrained")
    ax = fig.subplots(2, 3)

    # A
    t = data_a["t"] / 1e3
    for x in (ax[0, 0], ax[0, 1]):
        x.axvspan(t_on / 1e3, t_off / 1e3, color="tab:orange", alpha=0.2, lw=0, label="IP3")
    ax[0, 0].plot(t, data_a["cai"] * 1e3, color="k", label="free cytosolic Ca")
    ax[0, 0].set_xlabel("time (s)")
    ax[0, 0].set_ylabel("free cytosolic Ca (uM)")
    twin = ax[0, 0].twinx()
    twin.plot(t, data_a["caeri"], color="tab:blue")
    twin.set_ylabel("free ER Ca (mM)", color="tab:blue")
    ax[0, 0].set_title(f"A. IP3: {a['released']:.0%} of the ER Ca released, refilled "
                       f"(90 %) in {a['t90'] / 1e3:.1f} s", fontsize=10)
    ax[0, 0].legend(fontsize=8, loc="upper right")
    for name, colour, label in (("j_ip3r", "tab:orange", "IP3R release"),
                                ("j_serca", "tab:blue", "SERCA uptake"),
                                ("j_erleak", "tab:gray", "ER leak")):
        ax[0, 1].plot(t, data_a[name] * 1e6, color=colour, label=label)
    ax[0, 1].set_xlabel("time (s)")
    ax[0, 1].set_ylabel("flux per cytosolic volume (uM/s)")
    ax[0, 1].set_title("A. ER fluxes", fontsize=10)
    ax[0, 1].legend(fontsize=8)

    # B
    lo, hi = thr["largest_untriggered_uM"], thr["smallest_triggered_uM"]
    for load, colour in ((lo, "tab:green"), (hi, "tab:red")):
        for ryr, ls in (("on", "-"), ("blocked", "--")):
            data = traces_b.get((load, ryr))
            if data is None:
                continue
            ax[0, 2].plot(data["t"] / 1e3, data["cai"] * 1e3, ls, color=colour,
                          label=f"{load:g} uM load, RyR {ryr}")
    ax[0, 2].set_yscale("log")
    ax[0, 2].set_xlabel("time (s)")
    ax[0, 2].set_ylabel("free cytosolic Ca (uM)")
    ax[0, 2].set_title("B. Ca-induced Ca release: below and above threshold", fontsize=10)
    ax[0, 2].legend(fontsize=8)
    for ryr, style in (("on", "o-"), ("blocked", "s--")):
        part = table_b[table_b["ryr"] == ryr]
        ax[1, 0].plot(part["load_uM"], part["Cai_peak_uM"], style, label=f"peak Ca, RyR {ryr}")
    if math.isfinite(thr["threshold_uM"]):
        ax[1, 0].axvline(thr["threshold_uM"], color="0.4", ls=":",
                         label=f"threshold {thr['threshold_uM']:.1f} uM")
    twin_b = ax[1, 0].twinx()
    part = table_b[table_b["ryr"] == "on"]
    twin_b.plot(part["load_uM"], part["ER_released"], "^:", color="tab:blue", alpha=0.6)
    twin_b.set_ylabel("fraction of free ER Ca released, RyR on (triangles)", color="tab:blue")
    twin_b.set_ylim(-0.02, 1.02)
    ax[1, 0].set_xlabel("total Ca load (uM per cytosolic volume)")
    ax[1, 0].set_ylabel("peak free Ca (uM)")
    ax[1, 0].set_title("B. all-or-none release", fontsize=10)
    ax[1, 0].legend(fontsize=8)

    # C
    for x, nh in zip((ax[1, 1], ax[1, 2]), (2.0, 1.0)):
        part = flux_table[flux_table["nh"] == nh]
        for tr, colour in (("serca", "tab:blue"), ("mcu", "tab:purple")):
            p = part[part["transporter"] == tr]
            x.plot(p["cai_uM"], p["J_simulated_uM_s"], color=colour, lw=2, label=f"{tr.upper()} (simulated)")
            x.plot(p["cai_uM"], p["J_hill_uM_s"], color="k", lw=0.8, ls=":")
        c = cross[nh]
        x.axvline(c["formula_mM"] * 1e3, color="0.4", ls="--", lw=1, label="formula")
        x.plot([c["simulated_mM"] * 1e3], [c["J_at_crossover_uM_s"]], "o", color="tab:red",
               label=f"simulated crossover {c['simulated_mM'] * 1e3:.4g} uM")
        x.set_xscale("log")
        x.set_yscale("log")
        x.set_xlabel("clamped free Ca (uM)")
        x.set_ylabel("uptake (uM/s)")
        name = "Michaelis-Menten (Hill 1)" if nh == 1.0 else f"Hill {nh:g}"
        x.set_title(f"C. SERCA vs MCU, {name}: error {c['rel_error']:.1e}", fontsize=10)
        x.legend(fontsize=8)
    fig.suptitle(f"{NAME} (dotted in C: Hill laws with the mechanisms' parameters)", fontsize=10)
    return fig
