"""The experiments of protocol ``er-release`` (:mod:`.er_release`): IP3 release
(A), Ca-induced Ca release (B), SERCA/MCU crossover (C), each at a site (a
dict): ``seg`` (recorded), ``soma`` (segments given IP3 or the load), ``ryr``,
``sections``, ``closed`` (own compartment: conservation tested) and ``v`` (the
start and, in B, clamp potential). Discussion: docs/protocols/er-release.md.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import _interrupt

LOADS_UM = (10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0)
THRESHOLD_RTOL = 0.01    # bisection of the threshold load to 1 %
RS_MOHM = 1e-3           # series resistance of Part B's clamp
EMPTY_POOL_MM = 1e-12    # Part C: free ER and matrix Ca (no back-flux)
BRACKET_MM = (1e-6, 1.0)
BRENTQ = {"xtol": 1e-15, "rtol": 1e-12}
HILL = (2.0, 1.0)
FLUX_CAI_UM = tuple(float(x) for x in np.geomspace(0.01, 100.0, 121))
PARAMETERS = {"hill": list(HILL), "empty_pool_mM": EMPTY_POOL_MM, "bracket_mM": list(BRACKET_MM),
              "brentq": BRENTQ, "rs_MOhm": RS_MOHM, "method": "cvode (ionhomeo tolerances)"}
#: the traces of Parts A and B: {name: the variable recorded}
TRACES = {"ip3": {"cai": "cai", "caeri": "caeri", "ip3": "ip3_ip3r", "j_ip3r": "j_ip3r",
                  "j_serca": "j_serca", "j_erleak": "j_erleak"},
          "cicr": {"cai": "cai", "caeri": "caeri", "po": "po_ryr"}}


def _recorded(site, part, run):
    """The part's traces at the site's segment (every step) during ``run()``; t in ms."""
    from ..recording import Recorder

    rec = Recorder()
    for var in TRACES[part].values():
        rec.record(var, at=site["seg"])
    try:
        run()
    finally:
        rec.stop()
    return {"t": rec.t_ms(), **{k: rec.trace(v, site["seg"])[1] for k, v in TRACES[part].items()}}


# -- Part A: IP3 ------------------------------------------------------------------


def ip3(h, site, spec):
    """The IP3 step at the soma's IP3 receptors; (traces, conservation of total Ca)."""
    from .. import calcium, simulate, solver

    t_on, t_off = spec.ip3_start_s * 1e3, (spec.ip3_start_s + spec.ip3_s) * 1e3
    ip3_mM = spec.ip3_uM * 1e-3
    plays = [simulate.play(s.ip3r._ref_ip3, (0.0, t_on, t_on, t_off, t_off),
                           (0.0, 0.0, ip3_mM, ip3_mM, 0.0))
             for s in site["soma"] if s.sec.has_membrane("ip3r")]
    total = []

    def run():
        solver.use_cvode(True)  # before finitialize: simulate.run goes on without a re_init
        h.finitialize(site["v"])
        if site["closed"]:
            total.append(calcium.content(site["sections"])["total"])
        simulate.run(spec.duration_s * 1e3)
        if site["closed"]:
            total.append(calcium.content(site["sections"])["total"])

    try:
        data = _recorded(site, "ip3", run)
    finally:
        for _, vec in plays:
            vec.play_remove()
    return data, (abs(total[1] - total[0]) / total[0] if site["closed"] else math.nan)


def analyse_ip3(data, t_on, t_off):
    """Release and refilling from Part A's traces (times in ms, from IP3 on or off)."""
    from ..analysis import first_time

    t, caer, cai = data["t"], data["caeri"], data["cai"]
    before, during = t < t_on, (t >= t_on) & (t <= t_off)
    k_min = int(np.argmin(np.where(during, caer, np.inf)))
    k_peak = int(np.argmax(np.where(during, cai, -np.inf)))
    base_er = float(caer[before][-1])
    deficit0 = base_er - float(np.interp(t_off, t, caer))
    deficit = base_er - caer
    t50, t90 = (first_time(t, (t >= t_off) & (deficit <= (1 - f) * deficit0)) - t_off
                for f in (0.5, 0.9))
    return {"ER_base": base_er, "Cai_base": float(cai[before][-1]), "ER_min": float(caer[k_min]),
            "t_ER_min": float(t[k_min] - t_on),
            "released": (base_er - float(caer[k_min])) / base_er,
            "Cai_peak": float(cai[k_peak]), "t_Cai_peak": float(t[k_peak] - t_on),
            "J_ip3r_peak": float(np.max(data["j_ip3r"][during])) if during.any() else math.nan,
            "J_serca_peak": float(np.max(data["j_serca"])), "deficit_at_off": deficit0,
            "t50": t50, "t90": t90, "ER_end": float(caer[-1]), "Cai_end": float(cai[-1]),
            "refilled_end": 1 - float(deficit[-1]) / deficit0 if deficit0 > 0 else math.nan}


# -- Part B: CICR -----------------------------------------------------------------


@contextlib.contextmanager
def _ryr(site, on):
    """The RyR as it is (on), or blocked (pmax 0, as by ryanodine or dantrolene)."""
    saved = [s.ryr.pmax for s in site["ryr"]]
    try:
        for s in site["ryr"] if not on else ():
            s.ryr.pmax = 0.0
        yield
    finally:
        for s, p in zip(site["ryr"], saved):
            s.ryr.pmax = p


def _rest(h, site):
    """Free Ca and ER Ca (mM) where the own compartment's ica and icaer vanish, and the
    largest residual (mA/cm2): scipy's root (hybr) on them after a finitialize from the
    candidate (:func:`cicr`'s handler starts there: buffers, RyR gate in equilibrium)."""
    from scipy import optimize

    def residual(x):
        site["init"] = (math.exp(x[0]), math.exp(x[1]))
        h.finitialize(site["v"])
        return [site["seg"].ica * 1e3, site["seg"].icaer * 1e3]  # uA/cm2

    site["init"] = None
    h.finitialize(site["v"])
    x0 = [math.log(site["seg"].cai), math.log(site["seg"].caeri)]
    # scipy keeps residual in a reference cycle: it reaches NEURON only
    # through ``site``, which the protocol clears
    sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-14})
    worst = float(np.max(np.abs(residual(sol.x)))) * 1e-3
    site["init"] = None
    return (math.exp(sol.x[0]), math.exp(sol.x[1])), worst


def _load(h, site, spec, load_uM, on):
    """One load, with the RyR on or blocked; (row, traces)."""
    from .. import calcium, simulate, solver, thermo

    injectors, cons = [], [math.nan]
    for s in site["soma"]:
        inj = h.CaInject(s)
        # load_uM (per cytosolic volume) * volume: mM um3 = amol = 1e-18 mol; charge
        # 2 F n (C), in pC (1e12) over load_ms: nA
        charge_pC = load_uM * 1e-3 * calcium.segment_volume_um3(s) * 1e-18 * 2 \
            * thermo.FARADAY * 1e12
        inj.delay, inj.dur, inj.amp = spec.load_start_ms, spec.load_ms, charge_pC / spec.load_ms
        injectors.append(inj)

    def run():
        solver.use_cvode(True)
        site["init"] = site["rest"][on][0] if site["rest"] else None  # None: the cell's rest
        h.finitialize(site["v"])
        site["init"] = None
        before = calcium.content(site["sections"])["total"] if site["closed"] else None
        simulate.run(spec.cicr_s * 1e3)
        if site["closed"]:
            entered = calcium.entered(site["sections"])
            change = calcium.content(site["sections"])["total"] - before
            cons[0] = abs(change - entered) / abs(entered)

    with _ryr(site, on):
        data = _recorded(site, "cicr", run)
    t, start = data["t"], spec.load_start_ms
    base_er, er_min = float(data["caeri"][t <= start][-1]), float(data["caeri"].min())
    k_peak = int(np.argmax(data["cai"]))
    return {"load_uM": float(load_uM), "ryr": "on" if on else "blocked",
            "Cai_base_uM": float(data["cai"][t <= start][-1]) * 1e3,
            "Cai_peak_uM": float(data["cai"][k_peak]) * 1e3,
            "t_peak_ms": float(t[k_peak] - start), "ER_base_mM": base_er, "ER_min_mM": er_min,
            "ER_released": (base_er - er_min) / base_er, "po_peak": float(data["po"].max()),
            "triggered": bool(er_min < spec.trigger_fraction * base_er),
            "conservation_rel": cons[0]}, data


def cicr(h, site, spec):
    """Each condition's rest (own compartment), the sweep of loads with the RyR on and
    blocked, and the threshold load by bisection; the site is clamped at ``site["v"]``."""
    import pandas as pd

    from ..analysis import bisect_threshold

    clamp = h.SEClamp(site["seg"])
    clamp.dur1, clamp.amp1, clamp.rs = 1e9, site["v"], RS_MOHM
    site["rest"], site["init"] = {}, None
    if site["closed"]:
        def set_rest():  # after ionhomeo's type-0 handler: cai, caeri from site["init"]
            if site.get("init") is not None:
                site["seg"].cai, site["seg"].caeri = site["init"]

        site["handler"] = h.FInitializeHandler(0, _interrupt.neuron_callback(set_rest))
        for on in (True, False):
            with _ryr(site, on):
                site["rest"][on] = _rest(h, site)
    rows, traces, bisection = [], {}, []
    for load in sorted({float(x) for x in spec.loads_uM}):
        for on in (True, False):
            row, traces[(load, "on" if on else "blocked")] = _load(h, site, spec, load, on)
            rows.append(row)
    on_rows = sorted((r for r in rows if r["ryr"] == "on"), key=lambda r: r["load_uM"])
    trig = [r["load_uM"] for r in on_rows if r["triggered"]]
    below = [r["load_uM"] for r in on_rows
             if not r["triggered"] and (not trig or r["load_uM"] < trig[0])]

    def triggers(load):
        bisection.append(_load(h, site, spec, load, True)[0])
        return bisection[-1]["triggered"]

    threshold = trigger_ca = math.nan
    bracket = (math.nan, math.nan)
    if trig and below:
        bracket = bisect_threshold(triggers, below[-1], trig[0], spec.threshold_rtol)
        threshold = math.sqrt(bracket[0] * bracket[1])
        trigger_ca = _load(h, site, spec, threshold, False)[0]["Cai_peak_uM"]
    clamp = None
    rest = {("RyR on" if on else "RyR blocked"): {"cai_mM": r[0][0], "caeri_mM": r[0][1],
                                                  "residual_mA_cm2": r[1]}
            for on, r in site["rest"].items()}
    return {"table": pd.DataFrame(rows), "traces": traces, "rest": rest,
            "threshold_uM": threshold, "trigger_Cai_uM": trigger_ca, "bracket_uM": bracket,
            "bisection": bisection, "smallest_triggered_uM": trig[0] if trig else math.nan,
            "largest_untriggered_uM": below[-1] if below else math.nan}


# -- Part C: SERCA versus MCU -------------------------------------------------------


def crossover(h, site, hold_mV):
    """For each Hill coefficient, the cai where the simulated SERCA and MCU uptake are
    equal (brentq on their j, clamped cai, empty pools); and the flux curves."""
    import pandas as pd
    from scipy import optimize

    from .. import kinetics, mechanisms, thermo

    def fluxes(c):
        site["seg"].cai = c
        h.fcurrent()
        return site["seg"].serca.j, site["seg"].mcu.j

    def diff(c):
        j_serca, j_mcu = fluxes(c)
        return j_mcu - j_serca

    old = {m: float(getattr(h, f"nh_{m}")) for m in ("serca", "mcu")}
    out, curves = {}, []
    try:
        for nh in HILL:
            mechanisms.set_globals("serca", nh=nh)
            mechanisms.set_globals("mcu", nh=nh)
            h.finitialize(hold_mV)
            seg = site["seg"]
            seg.caeri = seg.camti = EMPTY_POOL_MM  # nothing owns them here: they stay
            v_e, k_e, v_m, k_m = seg.serca.vmax, float(h.km_serca), seg.mcu.vmax, float(h.km_mcu)
            seg = None
            # brentq keeps diff in a reference cycle: it reaches NEURON only
            # through ``site``, which the protocol clears
            c_sim = optimize.brentq(diff, *BRACKET_MM, **BRENTQ)
            c_hill = float(thermo.hill_crossover(v_e, k_e, v_m, k_m, n=nh))
            worst = 0.0
            for c_uM in FLUX_CAI_UM:
                c = c_uM * 1e-3
                j_e, j_m = fluxes(c)
                hill_e = kinetics.hill_uptake(c, v_e, k_e, nh)
                hill_m = kinetics.hill_uptake(c, v_m, k_m, nh)
                worst = max(worst, abs(j_e / hill_e - 1), abs(j_m / hill_m - 1))
                curves += [(nh, c_uM, "serca", j_e * 1e6, hill_e * 1e6),
                           (nh, c_uM, "mcu", j_m * 1e6, hill_m * 1e6)]
            out[nh] = {"simulated_mM": c_sim, "formula_mM": c_hill,
                       "michaelis_menten_mM": (v_e * k_m - v_m * k_e) / (v_m - v_e)
                       if nh == 1.0 else math.nan,
                       "rel_error": abs(c_sim - c_hill) / c_hill,
                       "J_at_crossover_uM_s": fluxes(c_sim)[0] * 1e6,
                       "serca": {"vmax_mM_ms": v_e, "km_mM": k_e},
                       "mcu": {"vmax_mM_ms": v_m, "km_mM": k_m}, "max_rel_dev_from_hill": worst}
    finally:
        for m, v in old.items():
            setattr(h, f"nh_{m}", v)
    return pd.DataFrame(curves, columns=["nh", "cai_uM", "transporter", "J_simulated_uM_s",
                                         "J_hill_uM_s"]), out


def timecourses(data_a, traces_b):
    """Part A's traces and Part B's (each load and condition) as tidy tables."""
    import pandas as pd

    def tidy(data, names, **columns):
        return [pd.DataFrame({**columns, "variable": name, "value": data[name] * factor,
                              "unit": unit}) for name, factor, unit in names]

    # j: mM/ms per cytosolic volume -> uM/s (x 1e3 uM/mM x 1e3 ms/s)
    a = tidy(data_a, [("cai", 1e3, "uM"), ("caeri", 1.0, "mM"), ("ip3", 1e3, "uM"),
                      ("j_ip3r", 1e6, "uM/s"), ("j_serca", 1e6, "uM/s"),
                      ("j_erleak", 1e6, "uM/s")], t_s=data_a["t"] / 1e3)
    b = [f for (load, ryr), d in traces_b.items() for f in tidy(
        d, [("cai", 1e3, "uM"), ("caeri", 1.0, "mM")], load_uM=load, ryr=ryr, t_ms=d["t"])]
    return pd.concat(a, ignore_index=True), pd.concat(b, ignore_index=True)
