"""Protocol ``extrusion-division``: how PMCA and NCX share Ca extrusion, and
when the exchanger reverses.

The site is one segment with the Ca system (cadyn, pmca, ncx, caleak) and
the Na/K system (so that Nai is defined and owned). By default
(``morphology=None``) it is the protocol's own compartment: a 20 um soma
(L = diam = 20 um) with :data:`MECHANISMS` at their mod-file defaults (the
buffer at the mature preset's somatic capacity, 40; HVA Ca channels so that
a depolarisation loads Ca), started at the ionhomeo default concentrations
(Nai 12 mM, Cai 100 nM) and -70 mV, the point at which the default PMCA,
NCX and Ca leak balance (the Na/K system is not at its own rest there, but
the potential is always imposed and Nai moves by less than 0.04 mM in
Part C). With a morphology it is the
centre of the soma of that cell (recipe: the mature preset unless given),
brought to its whole-cell resting state first (:meth:`Cell.initialize`).

Part A, extrusion division. The membrane potential is set to ``v_mV``
(-70 mV) and the free Ca to each of ``cai_uM`` (0.1-10 uM); the Ca currents
of the two extruders are read from the mechanisms themselves (``h.fcurrent``):
PMCA ``ipmca`` and NCX ``-2 incx`` (outward, i.e. extrusion, positive). Two
conditions: *acute* (the PMCA's slow Ca-calmodulin state as at rest: the
first seconds of a load) and *sustained* (the calmodulin state in equilibrium
with the clamped Ca, as after a minute: the PMCA's own INITIAL block computes
it, from a finitialize at that Ca). The NCX share is I_NCX / (I_PMCA +
I_NCX); the Ca at which the two extrude equally is found by root finding on
the mechanisms' currents.

Part B, NCX reversal potential (THE CHECK). At each Nai of ``nai_mM`` (8,
12, 20, 40 mM), with the other concentrations held at the site's resting
values (nothing is integrated: the concentrations are set, the currents
evaluated), the clamped potential at which the NCX Ca current changes sign
is found by bracketing root finding (scipy brentq, to 1e-12 mV) and compared
with 3 E_Na - 2 E_Ca (:func:`ionhomeo.thermo.ncx_reversal`). Criterion:
within 1 mV at every Nai. The exchange current of ncx.mod is zero exactly
there (see its COMMENT), and thermo uses NEURON's R and F, so the measured
difference is at the level of double-precision round-off (about 1e-13 mV).
The full I-V relation of the exchanger's Ca current is also tabulated.

Part C, NCX reversal during a depolarisation. The site is voltage-clamped
(SEClamp, series resistance 1 kOhm) at its resting potential, ramped in
``ramp_ms`` to ``depol_mV`` (0 mV), held there for ``depol_ms`` and ramped
back (the ramps resolve the moment of crossing; a step would cross E_NCX
within one time step). Fixed step dt 0.025 ms (Crank-Nicolson), the
concentrations evolving. E_NCX(t) is computed from the simulated Nai(t) and
Cai(t) (each recorded current paired with the state it was computed from:
NEURON evaluates a step's currents before it advances v and the
concentrations). The NCX Ca current changes sign whenever v crosses E_NCX:
on the way up (reverse mode at 0 mV), and on the way back, where the Ca
that entered (HVA channels, reverse NCX) has raised E_NCX. Reported: the
crossing times of v and E_NCX, the sign changes of the current, their
offsets, and the fraction of time points (with |v - E_NCX| > 1e-3 mV) at
which the current has the sign of E_NCX - v (expected: 1).

Outputs (``out_dir``): extrusion-division.csv (Part A, tidy),
extrusion-division_reversal.csv, extrusion-division_iv.csv,
extrusion-division_depolarisation.csv (time course every 1 ms),
extrusion-division_summary.csv, extrusion-division.json and
extrusion-division.png.

Everything created in NEURON is deleted before returning, and the
integration settings it changes are restored.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import solver
from .common import Result, finish, summary_dict, summary_table

NAME = "extrusion-division"
DESCRIPTION = ("PMCA versus NCX share of Ca extrusion over 0.1-10 uM Ca, the NCX reversal "
               "potential against 3 E_Na - 2 E_Ca at several Nai, and NCX reversal during a "
               "depolarisation")

#: mechanisms of the protocol's own compartment (all at mod-file defaults but
#: the buffer capacity, see MECHANISM_PARAMS)
MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2",
              "cadyn", "pmca", "ncx", "caleak", "cahva")
MECHANISM_PARAMS = {"cadyn": {"kappab": 40.0}}
#: what the site must have
#: besides a Ca owner (cadyn or cabuf)
REQUIRED = ("pmca", "ncx")
SOMA_L_UM = 20.0
SOMA_DIAM_UM = 20.0
MORPHOLOGY_SOURCE = ("single cylinder, L = diam = 20 um (a pyramidal soma, as in the spike-train "
                     "protocol); buffer capacity 40 as in the mature preset's soma")

#: Part A: clamped free Ca (uM), and the values reported in the summary
CAI_UM = tuple(float(x) for x in np.geomspace(0.1, 10.0, 41))
REPORT_CAI_UM = (0.1, 1.0, 10.0)
#: Part B: intracellular Na (mM)
NAI_MM = (8.0, 12.0, 20.0, 40.0)
#: Part B: bracket (mV) of the root finder, and the I-V grid
BRACKET_MV = (-250.0, 250.0)
IV_MV = tuple(float(v) for v in np.arange(-200.0, 100.0 + 0.5, 1.0))
#: THE CHECK: |E_NCX(simulated) - (3 E_Na - 2 E_Ca)| below this (mV)
TOLERANCE_MV = 1.0
#: Part C: integration and clamp
DT_MS = 0.025
RS_MOHM = 1e-3
CSV_DT_MS = 1.0
#: Part C: time points closer than this to v = E_NCX are not used for the
#: sign comparison (there the sign of a current of order 1e-9 uA/cm2 is
#: round-off; v moves 0.035 mV per step on the 50 ms ramps)
SIGN_BAND_MV = 1e-3


# ----------------------------------------------------------------------------
# settings that are restored


# ----------------------------------------------------------------------------
# arguments


def _positive_list(name, values, unit):
    try:
        out = [float(v) for v in values]
    except TypeError:
        raise _bad(f"{name} must be a sequence of numbers in {unit}, got {values!r}") from None
    if not out:
        raise _bad(f"{name} must not be empty")
    for v in out:
        if not math.isfinite(v) or v <= 0:
            raise _bad(f"{name}: every value must be finite and > 0 {unit}, got {v!r}")
    return out


def _bad(message):
    """The error for a bad argument: mechanisms.ParameterError (a ValueError),
    which the command line reports without a traceback."""
    from ..mechanisms import ParameterError

    return ParameterError(message)


def _number(name, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise _bad(f"{name} must be > 0, got {value!r}")
    return float(value)


# ----------------------------------------------------------------------------
# the site


def _own_compartment(h):
    from .. import mechanisms

    sec = h.Section(name="extrusion_soma")
    sec.L, sec.diam, sec.nseg = SOMA_L_UM, SOMA_DIAM_UM, 1
    for m in MECHANISMS:
        mechanisms.insert(sec, m, **MECHANISM_PARAMS.get(m, {}))
    return sec


def _check_site(seg, where):
    from ..recipe import RecipeError

    from .. import calcium

    missing = [m for m in REQUIRED if not seg.sec.has_membrane(m)]
    if calcium.owner(seg) is None:
        missing.insert(0, "Ca owner (cadyn or cabuf)")
    if missing:
        raise RecipeError(f"{where} has no {', '.join(missing)}: the extrusion-division protocol "
                         f"needs a Ca owner, {', '.join(REQUIRED)} there (add them to the recipe, "
                         f"e.g. recipe.add('soma', 'ncx'))")
    if not hasattr(seg, "nai"):
        raise RecipeError(f"{where} has no Na ion: NCX needs Nai (insert the Na/K system)")


# ----------------------------------------------------------------------------
# Part A: extrusion division at clamped Ca


def _extrusion(h, objs, cai_mM, v_mV, sustained, v_init):
    """Ca currents (mA/cm2, outward > 0) of PMCA, NCX (and caleak) at clamped cai and v."""
    if sustained:
        # the type-0 handler sets cai before the INITIAL blocks: the PMCA's
        # calmodulin state (and the buffers) start in equilibrium with it
        objs["init_cai"] = cai_mM
        h.finitialize(v_init)
        objs["init_cai"] = None
    seg = objs["seg"]
    seg.cai = cai_mM
    seg.v = v_mV
    h.fcurrent()
    leak = seg.caleak.i if seg.sec.has_membrane("caleak") else math.nan
    return {"I_PMCA": seg.pmca.ipmca, "I_NCX": -2.0 * seg.ncx.incx, "I_leak": leak,
            "cam": seg.pmca.cam}


def _part_a(h, objs, cai_uM, v_mV, v_init):
    """Tidy table of Part A, values at the reported Ca, and the equal-share Ca."""
    import pandas as pd
    from scipy import optimize

    rows, at, equal = [], {}, {}
    for mode in ("acute", "sustained"):
        sustained = mode == "sustained"
        h.finitialize(v_init)  # acute: the calmodulin state as at rest
        for c_uM in sorted(set(cai_uM) | set(REPORT_CAI_UM)):
            r = _extrusion(h, objs, c_uM * 1e-3, v_mV, sustained, v_init)
            total = r["I_PMCA"] + r["I_NCX"]
            values = {"I_PMCA": (r["I_PMCA"] * 1e3, "uA/cm2"), "I_NCX": (r["I_NCX"] * 1e3, "uA/cm2"),
                      "I_leak": (r["I_leak"] * 1e3, "uA/cm2"),
                      "share_NCX": (r["I_NCX"] / total if total else math.nan, "1"),
                      "share_PMCA": (r["I_PMCA"] / total if total else math.nan, "1"),
                      "cam": (r["cam"], "1")}
            if c_uM in REPORT_CAI_UM:
                at[(mode, c_uM)] = {k: v for k, (v, _) in values.items()}
            if c_uM in cai_uM:
                for name, (value, unit) in values.items():
                    rows.append((c_uM, mode, name, value, unit))

        # Ca at which NCX and PMCA extrude equally (root on log10 cai)
        def diff(logc, sustained=sustained):
            r = _extrusion(h, objs, 10.0 ** logc * 1e-3, v_mV, sustained, v_init)
            return r["I_NCX"] - r["I_PMCA"]

        h.finitialize(v_init)
        lo, hi = math.log10(min(cai_uM)), math.log10(max(cai_uM))
        f_lo, f_hi = diff(lo), diff(hi)
        if f_lo < 0 < f_hi:
            # brentq keeps a reference cycle to ``diff``; diff reaches NEURON
            # only through ``objs``, which the caller clears
            equal[mode] = 10.0 ** optimize.brentq(diff, lo, hi, xtol=1e-12)
        else:
            equal[mode] = math.nan
    table = pd.DataFrame(rows, columns=["cai_uM", "condition", "variable", "value", "unit"])
    return table, at, equal


# ----------------------------------------------------------------------------
# Part B: reversal potential at clamped concentrations


def _part_b(h, objs, nai_mM, cai_mM, celsius):
    """Simulated and thermodynamic E_NCX at each Nai; I-V table."""
    import pandas as pd
    from scipy import optimize

    from .. import thermo

    seg = objs["seg"]
    nao, cao = seg.nao, seg.cao
    state = {"nai": seg.nai, "cai": seg.cai, "v": seg.v}

    def ca_current(v, nai):
        s = objs["seg"]
        s.v = v
        s.nai = nai
        s.cai = cai_mM
        h.fcurrent()
        return -2.0 * s.ncx.incx  # mA/cm2, outward (extrusion) > 0

    rows, iv = [], []
    for nai in nai_mM:
        expected = float(thermo.ncx_reversal(nai, nao, cai_mM, cao, celsius=celsius))
        lo, hi = BRACKET_MV
        f_lo, f_hi = ca_current(lo, nai), ca_current(hi, nai)
        if f_lo > 0 > f_hi:
            # xtol 1e-12 mV; rtol at its floor (4 machine epsilons)
            e_sim = optimize.brentq(ca_current, lo, hi, args=(nai,), xtol=1e-12,
                                    rtol=4 * np.finfo(float).eps)
        else:
            e_sim = math.nan
        rows.append({"nai_mM": nai, "nao_mM": nao, "cai_mM": cai_mM, "cao_mM": cao,
                     "E_Na_mV": float(thermo.nernst(nai, nao, 1, celsius)),
                     "E_Ca_mV": float(thermo.nernst(cai_mM, cao, 2, celsius)),
                     "E_NCX_simulated_mV": e_sim, "E_NCX_thermo_mV": expected,
                     "error_mV": e_sim - expected})
        for v in IV_MV:
            iv.append((nai, v, ca_current(v, nai) * 1e3))
    seg.nai, seg.cai, seg.v = state["nai"], state["cai"], state["v"]
    h.fcurrent()
    return (pd.DataFrame(rows),
            pd.DataFrame(iv, columns=["nai_mM", "v_mV", "I_NCX_Ca_uA_cm2"]))


# ----------------------------------------------------------------------------
# Part C: a depolarisation


def _part_c(h, objs, hold_mV, depol_mV, ramp_ms, depol_ms, after_ms, v_init):
    from .. import solver

    seg = objs["seg"]
    clamp = h.SEClamp(seg)
    clamp.dur1, clamp.rs = 1e9, RS_MOHM
    t1 = 50.0  # ms at the holding potential before the ramp
    times = [0.0, t1, t1 + ramp_ms, t1 + ramp_ms + depol_ms, t1 + 2 * ramp_ms + depol_ms,
             t1 + 2 * ramp_ms + depol_ms + after_ms]
    command = [hold_mV, hold_mV, depol_mV, depol_mV, hold_mV, hold_mV]
    tvec, avec = h.Vector(times), h.Vector(command)
    avec.play(clamp._ref_amp1, tvec, 1)  # continuous: linear ramps
    refs = {"t": h._ref_t, "v": seg._ref_v, "cai": seg._ref_cai, "nai": seg._ref_nai,
            "incx": seg.ncx._ref_incx}
    vecs = {k: h.Vector().record(r) for k, r in refs.items()}
    try:
        solver.use_fixed_step(DT_MS, secondorder=2)
        h.finitialize(v_init)
        h.continuerun(times[-1])
        data = {k: np.array(v) for k, v in vecs.items()}
        n = min(a.size for a in data.values())
        data = {k: a[:n] for k, a in data.items()}
        nao, cao = seg.nao, seg.cao
    finally:
        avec.play_remove()
        for v in vecs.values():
            v.play_remove()
        del vecs, refs, clamp, avec, tvec
    data["nao"], data["cao"] = nao, cao
    data["schedule_ms"] = times
    data["command_mV"] = command
    return data


def _crossings(t, x):
    """Times (linear interpolation) and directions where x changes sign."""
    s = np.sign(x)
    k = np.flatnonzero((s[:-1] * s[1:]) < 0)
    tc = t[k] - x[k] * (t[k + 1] - t[k]) / (x[k + 1] - x[k])
    return tc, np.sign(x[k + 1])


def _analyse_c(data, celsius):
    from .. import thermo

    t, v = data["t"], data["v"]
    e = np.asarray(thermo.ncx_reversal(np.maximum(data["nai"], 1e-12), data["nao"],
                                       np.maximum(data["cai"], 1e-15), data["cao"],
                                       celsius=celsius))
    # NEURON evaluates the currents of a fixed step from the state at its
    # start, then advances v and the concentrations: the current recorded at
    # step k + 1 belongs to the state recorded at step k. Align them.
    i_ca = -2.0 * np.append(data["incx"][1:], np.nan) * 1e3  # uA/cm2, extrusion > 0
    t, v, e = t[:-1], v[:-1], e[:-1]
    i_ca = i_ca[:-1]
    drive = e - v  # > 0: forward mode (Ca out)
    t_i, dir_i = _crossings(t, i_ca)
    t_v, dir_v = _crossings(t, drive)
    pairs = []
    for ti, di in zip(t_i, dir_i):
        if t_v.size:
            k = int(np.argmin(np.abs(t_v - ti)))
            pairs.append({"t_current_ms": float(ti), "t_v_equals_E_ms": float(t_v[k]),
                          "offset_ms": float(ti - t_v[k]),
                          "to": "forward (Ca out)" if di > 0 else "reverse (Ca in)",
                          "v_mV": float(np.interp(ti, t, v)), "E_NCX_mV": float(np.interp(ti, t, e)),
                          "same_direction": bool(di == dir_v[k])})
    mask = np.abs(drive) > SIGN_BAND_MV
    agree = float(np.mean(np.sign(i_ca[mask]) == np.sign(drive[mask]))) if mask.any() else math.nan
    sched = data["schedule_ms"]
    in_depol = (t >= sched[2]) & (t <= sched[3])
    return {"t": t, "v": v, "cai": data["cai"][:-1], "nai": data["nai"][:-1], "E": e, "I": i_ca,
            "pairs": pairs, "agreement": agree,
            "n_v_crossings": int(t_v.size), "n_current_changes": int(t_i.size),
            "E_rest": float(e[0]), "I_rest": float(i_ca[0]),
            "E_end_depol": float(np.interp(sched[3], t, e)),
            "I_depol_min": float(i_ca[in_depol].min()) if in_depol.any() else math.nan,
            "cai_peak": float(data["cai"].max()), "nai_change": float(data["nai"][-1] - data["nai"][0])}


def _timecourse_c(analysis):
    import pandas as pd

    t = analysis["t"]
    step = max(1, int(round(CSV_DT_MS / DT_MS)))
    keep = np.arange(t.size) % step == 0
    keep[-1] = True
    frames = []
    for name, values, unit in (("v", analysis["v"], "mV"), ("E_NCX", analysis["E"], "mV"),
                               ("I_NCX_Ca", analysis["I"], "uA/cm2"),
                               ("cai", analysis["cai"] * 1e3, "uM"), ("nai", analysis["nai"], "mM")):
        frames.append(pd.DataFrame({"t_ms": np.round(t[keep], 6), "variable": name,
                                    "value": values[keep], "unit": unit}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------
# the protocol


def run(out_dir=None, morphology=None, recipe=None, v_mV: float = -70.0, cai_uM=CAI_UM,
        nai_mM=NAI_MM, depol_mV: float = 0.0, depol_ms: float = 2000.0, ramp_ms: float = 50.0,
        after_ms: float = 1000.0, defaults=None) -> Result:
    """Run the extrusion-division protocol (see the module docstring).

    Parameters
    ----------
    out_dir : directory for the outputs; None writes nothing.
    morphology : None (the protocol's own 20 um soma compartment), or a
        morphology (bundled name, file, Morphology) whose soma centre is used.
    recipe : the cell's recipe (with a morphology only; default "mature").
    v_mV : membrane potential of Part A (mV).
    cai_uM : free Ca values of Part A (uM).
    nai_mM : Nai values of Part B (mM).
    depol_mV, depol_ms, ramp_ms, after_ms : Part C: the depolarised level
        (mV), its duration, the ramp duration and the time after it (ms).
    defaults : :class:`ionhomeo.defaults.Defaults`; the package defaults if None.
    """
    start_clock = time.perf_counter()
    v_mV = _number("v_mV", v_mV)
    depol_mV = _number("depol_mV", depol_mV)
    depol_ms = _number("depol_ms", depol_ms, positive=True)
    ramp_ms = _number("ramp_ms", ramp_ms, positive=True)
    after_ms = _number("after_ms", after_ms, positive=True)
    cai_uM = _positive_list("cai_uM", cai_uM, "uM")
    nai_mM = _positive_list("nai_mM", nai_mM, "mM")
    if morphology is None and recipe is not None:
        raise _bad("a recipe needs a morphology: pass morphology= (e.g. 'ball_and_stick'), "
                         "or neither for the protocol's own compartment")

    from neuron import h

    from .. import build, defaults as _defaults, results
    from ..cell import Cell

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply(defaults)
    saved = solver.save()
    objs, cell, sec, handler = {}, None, None, None
    try:
        if morphology is None:
            sec = _own_compartment(h)
            objs["seg"] = sec(0.5)
            sec = None
            v_init = v_mV
            site = {"kind": "own compartment", "L_um": SOMA_L_UM, "diam_um": SOMA_DIAM_UM,
                    "nseg": 1, "mechanisms": list(MECHANISMS),
                    "parameters": MECHANISM_PARAMS, "source": MORPHOLOGY_SOURCE,
                    "start": "ionhomeo default concentrations at v_mV"}
        else:
            cell = Cell(morphology, recipe if recipe is not None else "mature")
            objs["seg"] = cell.soma_center
            _check_site(objs["seg"], f"the soma centre of {cell!r}")
            cell.initialize()
            v_init = float(objs["seg"].v)
            site = {"kind": "soma centre of a cell at its whole-cell resting state",
                    "segment": str(objs["seg"]), "cell": cell.to_dict()}
        _check_site(objs["seg"], "the site")
        seg = objs["seg"]
        h.finitialize(v_init)
        rest = {"v": float(seg.v), "nai": float(seg.nai), "cai": float(seg.cai),
                "nao": float(seg.nao), "cao": float(seg.cao), "celsius": float(h.celsius)}
        seg = None

        # a type-0 handler after every other one: sets the site's cai when asked
        objs["init_cai"] = None

        def set_cai():
            c = objs.get("init_cai")
            if c is not None:
                objs["seg"].cai = c

        handler = h.FInitializeHandler(0, set_cai)

        t_clock = time.perf_counter()
        table_a, at_a, equal_a = _part_a(h, objs, cai_uM, v_mV, v_init)
        table_b, iv = _part_b(h, objs, nai_mM, rest["cai"], d.celsius)
        handler = None
        h.finitialize(v_init)
        data_c = _part_c(h, objs, v_init, depol_mV, ramp_ms, depol_ms, after_ms, v_init)
        sim_clock = time.perf_counter() - t_clock
    finally:
        handler = None
        objs.clear()
        sec = None
        if cell is not None:
            cell.destroy()
            cell = None
        solver.restore(saved)

    analysis = _analyse_c(data_c, d.celsius)
    timecourse_c = _timecourse_c(analysis)

    errors = table_b["error_mV"].to_numpy()
    max_err = float(np.max(np.abs(errors))) if np.all(np.isfinite(errors)) else math.nan
    passed = bool(math.isfinite(max_err) and max_err < TOLERANCE_MV)
    nai_text = ", ".join(f"{x:g}" for x in nai_mM)

    rows = [
        ("v_A", v_mV, "mV", "Part A: clamped membrane potential"),
        ("Nai_A", rest["nai"], "mM", "Part A: intracellular Na at the site"),
    ]
    for c in REPORT_CAI_UM:
        for mode in ("sustained", "acute"):
            a = at_a[(mode, c)]
            rows += [
                (f"I_PMCA {c:g} uM {mode}", a["I_PMCA"], "uA/cm2",
                 f"PMCA Ca current (extrusion > 0), Cai {c:g} uM, calmodulin {mode}"),
                (f"I_NCX {c:g} uM {mode}", a["I_NCX"], "uA/cm2",
                 f"NCX Ca current -2 incx (extrusion > 0), Cai {c:g} uM"),
                (f"share_NCX {c:g} uM {mode}", a["share_NCX"], "1",
                 f"NCX share of extrusion I_NCX/(I_PMCA + I_NCX), Cai {c:g} uM, calmodulin {mode}"),
            ]
    for mode in ("sustained", "acute"):
        rows.append((f"Cai_equal_share {mode}", equal_a[mode], "uM",
                     f"Cai at which NCX and PMCA extrude equally (calmodulin {mode})"))
    rows.append(("Cai_B", rest["cai"] * 1e3, "uM", "Part B: Cai held while Nai and v are varied"))
    for r in table_b.itertuples():
        rows += [
            (f"E_NCX {r.nai_mM:g} mM simulated", r.E_NCX_simulated_mV, "mV",
             f"obtained: clamped v where the NCX Ca current changes sign, Nai {r.nai_mM:g} mM"),
            (f"E_NCX {r.nai_mM:g} mM expected", r.E_NCX_thermo_mV, "mV",
             f"expected: 3 E_Na - 2 E_Ca (thermo.ncx_reversal), Nai {r.nai_mM:g} mM"),
            (f"E_NCX {r.nai_mM:g} mM error", r.error_mV, "mV", "simulated - expected"),
        ]
    rows += [
        ("max_abs_error", max_err, "mV", f"largest |simulated - expected| over Nai = {nai_text} mM"),
        ("check", 1.0 if passed else 0.0, "1",
         f"max |E_NCX(simulated) - (3 E_Na - 2 E_Ca)| < {TOLERANCE_MV:g} mV at Nai = {nai_text} mM"),
        ("E_NCX_rest_C", analysis["E_rest"], "mV", "Part C: E_NCX at the holding potential, start"),
        ("I_NCX_rest_C", analysis["I_rest"], "uA/cm2", "Part C: NCX Ca current at the start"),
        ("I_NCX_depol_min", analysis["I_depol_min"], "uA/cm2",
         f"Part C: most negative NCX Ca current at {depol_mV:g} mV (< 0: reverse mode, Ca in)"),
        ("E_NCX_end_depol", analysis["E_end_depol"], "mV", "Part C: E_NCX at the end of the depolarisation"),
        ("Cai_peak_C", analysis["cai_peak"] * 1e3, "uM", "Part C: peak free Ca"),
        ("NCX_sign_changes", analysis["n_current_changes"], "1", "Part C: sign changes of the NCX Ca current"),
        ("v_E_crossings", analysis["n_v_crossings"], "1", "Part C: crossings of v and E_NCX"),
    ]
    for k, p in enumerate(analysis["pairs"], 1):
        rows += [
            (f"t_switch_{k}", p["t_current_ms"], "ms", f"Part C: NCX Ca current changes sign, to {p['to']}"),
            (f"v_switch_{k}", p["v_mV"], "mV", "Part C: v at that moment"),
            (f"E_switch_{k}", p["E_NCX_mV"], "mV", "Part C: E_NCX at that moment"),
            (f"offset_switch_{k}", p["offset_ms"], "ms",
             "Part C: sign change minus the nearest crossing of v and E_NCX"),
        ]
    rows.append(("sign_agreement", analysis["agreement"], "1",
                 f"Part C: fraction of time points (|v - E_NCX| > {SIGN_BAND_MV:g} mV) where the NCX Ca "
                 "current has the sign of E_NCX - v"))
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])

    warnings = []
    if not passed:
        warnings.append(f"check failed: max |E_NCX error| = {max_err!r} mV (tolerance {TOLERANCE_MV} mV)")
    for mode in ("sustained", "acute"):
        if math.isnan(equal_a[mode]):
            warnings.append(f"NCX and PMCA do not extrude equally anywhere in {min(cai_uM):g}-"
                            f"{max(cai_uM):g} uM ({mode})")
    low = at_a[("sustained", REPORT_CAI_UM[0])]
    if low["I_NCX"] < 0:
        warnings.append(f"at {REPORT_CAI_UM[0]:g} uM and {v_mV:g} mV the NCX runs in reverse (Ca in): "
                        f"E_NCX lies below {v_mV:g} mV at Nai {rest['nai']:.3g} mM")
    if analysis["n_current_changes"] == 0:
        warnings.append("Part C: the NCX Ca current never changed sign")
    if not analysis["agreement"] == 1.0:
        warnings.append(f"Part C: NCX sign agrees with E_NCX - v at a fraction {analysis['agreement']!r} "
                        "of the time points only")

    parameters = {"v_mV": v_mV, "cai_uM": cai_uM, "report_cai_uM": list(REPORT_CAI_UM),
                  "nai_mM": nai_mM, "bracket_mV": list(BRACKET_MV), "brentq_xtol_mV": 1e-12,
                  "depol_mV": depol_mV, "depol_ms": depol_ms, "ramp_ms": ramp_ms,
                  "after_ms": after_ms, "hold_mV": v_init, "schedule_ms": data_c["schedule_ms"],
                  "command_mV": data_c["command_mV"], "dt_ms": DT_MS, "secondorder": 2,
                  "rs_MOhm": RS_MOHM, "sign_band_mV": SIGN_BAND_MV}
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells={"site": site}, defaults=d.to_dict(),
        parameters=parameters, rest=rest,
        reversal=table_b.to_dict(orient="records"),
        extrusion_at={f"{mode} {c:g} uM": v for (mode, c), v in at_a.items()},
        equal_share_cai_uM=equal_a, depolarisation={"switches": analysis["pairs"],
                                                    "sign_agreement": analysis["agreement"]},
        summary=summary_dict(summary),
        check={"criterion": f"|E_NCX(simulated) - (3 E_Na - 2 E_Ca)| < {TOLERANCE_MV:g} mV at each Nai",
               "expected": {f"{n:g}": e for n, e in zip(table_b["nai_mM"], table_b["E_NCX_thermo_mV"])},
               "obtained": {f"{n:g}": e for n, e in zip(table_b["nai_mM"], table_b["E_NCX_simulated_mV"])},
               "tolerance": TOLERANCE_MV, "max_abs_error": max_err, "passed": passed},
        warnings=warnings, simulation_runtime_s=sim_clock,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, table_a,
                  figure=lambda: _figure(table_a, equal_a, table_b, iv, data_c, analysis, v_mV,
                                         rest, site),
                  tables={"": table_a, "reversal": table_b, "iv": iv,
                          "depolarisation": timecourse_c})


def _figure(table_a, equal_a, table_b, iv, data_c, analysis, v_mV, rest, site):
    from matplotlib.figure import Figure

    from .. import thermo

    fig = Figure(figsize=(12, 12), layout="constrained")
    ax = fig.subplots(3, 2)
    styles = {"sustained": "-", "acute": "--"}

    # A: currents and shares
    for mode, ls in styles.items():
        part = table_a[table_a["condition"] == mode]
        for var, colour in (("I_PMCA", "tab:blue"), ("I_NCX", "tab:red")):
            p = part[part["variable"] == var]
            ax[0, 0].plot(p["cai_uM"], p["value"], ls, color=colour,
                          label=f"{var[2:]} ({mode} calmodulin)")
        p = part[part["variable"] == "share_NCX"]
        ax[0, 1].plot(p["cai_uM"], p["value"], ls, color="tab:red", label=f"NCX share ({mode})")
        p = part[part["variable"] == "share_PMCA"]
        ax[0, 1].plot(p["cai_uM"], p["value"], ls, color="tab:blue", label=f"PMCA share ({mode})")
        if math.isfinite(equal_a[mode]):
            ax[0, 1].axvline(equal_a[mode], color="0.5", ls=ls, lw=0.8)
    ax[0, 0].set_xscale("log")
    ax[0, 0].set_xlabel("clamped free Ca (uM)")
    ax[0, 0].set_ylabel("Ca current (uA/cm$^2$, extrusion > 0)")
    ax[0, 0].set_title(f"A. Ca extrusion at {v_mV:g} mV, Na$_i$ {rest['nai']:.3g} mM", fontsize=10)
    ax[0, 0].legend(fontsize=8)
    ax[0, 1].set_xscale("log")
    ax[0, 1].axhline(0.5, color="k", lw=0.5)
    ax[0, 1].set_xlabel("clamped free Ca (uM)")
    ax[0, 1].set_ylabel("share of extrusion")
    eq = equal_a["sustained"]
    ax[0, 1].set_title("A. shares" + (f" (equal at {eq:.2f} uM, sustained)" if math.isfinite(eq) else ""),
                       fontsize=10)
    ax[0, 1].legend(fontsize=8)

    # B: I-V and reversal
    colours = ["tab:green", "tab:blue", "tab:orange", "tab:red", "tab:purple", "tab:brown"]
    for (nai, part), colour in zip(iv.groupby("nai_mM"), colours * 10):
        ax[1, 0].plot(part["v_mV"], part["I_NCX_Ca_uA_cm2"], color=colour, label=f"Na$_i$ {nai:g} mM")
        r = table_b[table_b["nai_mM"] == nai].iloc[0]
        ax[1, 0].plot([r["E_NCX_simulated_mV"]], [0.0], "o", color=colour, ms=5)
        ax[1, 0].axvline(r["E_NCX_thermo_mV"], color=colour, ls=":", lw=1)
    ax[1, 0].axhline(0, color="k", lw=0.5)
    ax[1, 0].set_yscale("symlog", linthresh=0.01)
    ax[1, 0].set_xlabel("clamped v (mV)")
    ax[1, 0].set_ylabel("NCX Ca current (uA/cm$^2$, extrusion > 0)")
    ax[1, 0].set_title(f"B. NCX I-V at Ca$_i$ {rest['cai'] * 1e3:.3g} uM (dots: measured zero; "
                       "dotted: 3E$_{Na}$-2E$_{Ca}$)", fontsize=9)
    ax[1, 0].legend(fontsize=8)
    nai_grid = np.geomspace(min(table_b["nai_mM"]) * 0.7, max(table_b["nai_mM"]) * 1.3, 100)
    ax[1, 1].plot(nai_grid, thermo.ncx_reversal(nai_grid, rest["nao"], rest["cai"], rest["cao"],
                                                celsius=rest["celsius"]),
                  color="k", lw=1, label="3 E$_{Na}$ - 2 E$_{Ca}$")
    ax[1, 1].plot(table_b["nai_mM"], table_b["E_NCX_simulated_mV"], "o", color="tab:red",
                  label="simulated (sign change of the NCX Ca current)")
    err = float(np.nanmax(np.abs(table_b["error_mV"])))
    ax[1, 1].set_xscale("log")
    ax[1, 1].set_xlabel("Na$_i$ (mM)")
    ax[1, 1].set_ylabel("E$_{NCX}$ (mV)")
    ax[1, 1].set_title(f"B. reversal potential: largest error {err:.1e} mV", fontsize=10)
    ax[1, 1].legend(fontsize=8)

    # C: depolarisation
    # every 0.5 ms: enough for the eye, and fast to draw
    every = max(1, int(round(0.5 / DT_MS)))
    t = analysis["t"][::every]
    ax[2, 0].plot(t, analysis["v"][::every], color="k", lw=1, label="v (clamped)")
    ax[2, 0].plot(t, analysis["E"][::every], color="tab:red", lw=1,
                  label="E$_{NCX}$ from Na$_i$(t), Ca$_i$(t)")
    ax[2, 1].plot(t, analysis["I"][::every], color="tab:red", lw=1, label="NCX Ca current")
    ax[2, 1].axhline(0, color="k", lw=0.5)
    for p in analysis["pairs"]:
        for a in (ax[2, 0], ax[2, 1]):
            a.axvline(p["t_current_ms"], color="0.5", ls=":", lw=1)
    ax[2, 0].set_xlabel("time (ms)")
    ax[2, 0].set_ylabel("mV")
    ax[2, 0].set_title("C. depolarisation: v and E$_{NCX}$ (dotted: NCX changes sign)", fontsize=10)
    ax[2, 0].legend(fontsize=8)
    ax[2, 1].set_xlabel("time (ms)")
    ax[2, 1].set_ylabel("NCX Ca current (uA/cm$^2$, extrusion > 0)")
    twin = ax[2, 1].twinx()
    twin.plot(t, analysis["cai"][::every] * 1e3, color="tab:green", lw=1)
    twin.set_ylabel("free Ca (uM)", color="tab:green")
    ax[2, 1].set_title(f"C. NCX reverses while v > E$_{{NCX}}$ (sign agreement "
                       f"{analysis['agreement']:.4g})", fontsize=10)
    ax[2, 1].legend(fontsize=8, loc="lower right")
    where = site.get("segment", site["kind"])
    fig.suptitle(f"{NAME}: {where}", fontsize=10)
    return fig

