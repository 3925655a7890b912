"""The three measurements of the ``extrusion-division`` protocol
(:mod:`ionhomeo.protocols.extrusion_division`) at one segment ``site.seg``:
Part A (PMCA and NCX Ca currents at clamped v and Ca), Part B (the NCX
reversal potential at clamped concentrations) and Part C (a clamped ramp,
and the NCX current against E_NCX(t)). Derivations and discussion:
docs/protocols/extrusion-division.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis import sign_changes

#: Part A: the Ca values (uM) reported in the summary (always evaluated)
REPORT_CAI_UM = (0.1, 1.0, 10.0)
#: Part B: bracket (mV) of the root finder, and the I-V grid
BRACKET_MV = (-250.0, 250.0)
IV_MV = tuple(float(v) for v in np.arange(-200.0, 100.0 + 0.5, 1.0))
#: what the site needs besides a Ca owner (cadyn or cabuf)
REQUIRED = ("pmca", "ncx")
#: Part C: time points closer than this to v = E_NCX are not used for the sign
#: comparison (there the sign of a current of order 1e-9 uA/cm2 is round-off)
SIGN_BAND_MV = 1e-3


def check_site(seg, where):
    """RecipeError unless ``seg`` has a Ca owner, PMCA, NCX and Nai."""
    from .. import calcium
    from ..recipe import RecipeError

    missing = [m for m in REQUIRED if not seg.sec.has_membrane(m)]
    if calcium.owner(seg) is None:
        missing.insert(0, "Ca owner (cadyn or cabuf)")
    if missing:
        raise RecipeError(f"{where} has no {', '.join(missing)}: the extrusion-division protocol "
                          f"needs a Ca owner, {', '.join(REQUIRED)} there (add them to the recipe, "
                          f"e.g. recipe.add('soma', 'ncx'))")
    if not hasattr(seg, "nai"):
        raise RecipeError(f"{where} has no Na ion: NCX needs Nai (insert the Na/K system)")


def _extrusion(h, site, cai_mM, v_mV, sustained, v_init):
    """Ca currents (mA/cm2, outward > 0) of PMCA, NCX (and caleak) at clamped cai and v."""
    if sustained:
        # the type-0 handler of the caller sets cai before the INITIAL blocks:
        # the PMCA's calmodulin state (and the buffers) start in equilibrium with it
        site.init_cai = cai_mM
        h.finitialize(v_init)
        site.init_cai = None
    seg = site.seg
    seg.cai = cai_mM
    seg.v = v_mV
    h.fcurrent()
    leak = seg.caleak.i if seg.sec.has_membrane("caleak") else math.nan
    return {"I_PMCA": seg.pmca.ipmca, "I_NCX": -2.0 * seg.ncx.incx, "I_leak": leak,
            "cam": seg.pmca.cam}


def part_a(h, site, cai_uM, v_mV, v_init):
    """Tidy table of Part A, {(mode, cai): values} at the reported Ca, and the
    equal-share Ca {mode: uM} (nan where NCX - PMCA does not go from < 0 to > 0)."""
    import pandas as pd
    from scipy import optimize

    rows, at, equal = [], {}, {}
    for mode in ("acute", "sustained"):
        sustained = mode == "sustained"
        h.finitialize(v_init)  # acute: the calmodulin state as at rest
        for c_uM in sorted(set(cai_uM) | set(REPORT_CAI_UM)):
            r = _extrusion(h, site, c_uM * 1e-3, v_mV, sustained, v_init)
            total = r["I_PMCA"] + r["I_NCX"]
            values = {"I_PMCA": (r["I_PMCA"] * 1e3, "uA/cm2"),
                      "I_NCX": (r["I_NCX"] * 1e3, "uA/cm2"),
                      "I_leak": (r["I_leak"] * 1e3, "uA/cm2"),
                      "share_NCX": (r["I_NCX"] / total if total else math.nan, "1"),
                      "share_PMCA": (r["I_PMCA"] / total if total else math.nan, "1"),
                      "cam": (r["cam"], "1")}
            if c_uM in REPORT_CAI_UM:
                at[(mode, c_uM)] = {k: v for k, (v, _) in values.items()}
            if c_uM in cai_uM:
                rows += [(c_uM, mode, name, value, unit) for name, (value, unit) in values.items()]

        def diff(logc, sustained=sustained):  # NCX - PMCA; the root on log10 cai
            r = _extrusion(h, site, 10.0 ** logc * 1e-3, v_mV, sustained, v_init)
            return r["I_NCX"] - r["I_PMCA"]

        h.finitialize(v_init)
        lo, hi = math.log10(min(cai_uM)), math.log10(max(cai_uM))
        f_lo, f_hi = diff(lo), diff(hi)
        if f_lo < 0 < f_hi:
            equal[mode] = 10.0 ** optimize.brentq(diff, lo, hi, xtol=1e-12)
        else:
            equal[mode] = math.nan
    table = pd.DataFrame(rows, columns=["cai_uM", "condition", "variable", "value", "unit"])
    return table, at, equal


def part_b(h, site, nai_mM, cai_mM, celsius):
    """Simulated and thermodynamic E_NCX at each Nai (a table), and the I-V table."""
    import pandas as pd
    from scipy import optimize

    from .. import thermo

    seg = site.seg
    nao, cao = seg.nao, seg.cao
    state = (seg.nai, seg.cai, seg.v)

    def ca_current(v, nai):
        s = site.seg
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
        iv += [(nai, v, ca_current(v, nai) * 1e3) for v in IV_MV]
    seg.nai, seg.cai, seg.v = state
    h.fcurrent()
    return pd.DataFrame(rows), pd.DataFrame(iv, columns=["nai_mM", "v_mV", "I_NCX_Ca_uA_cm2"])


def part_c(h, seg, spec, v_init, progress=None):
    """The clamped ramp to ``spec.depol_mV`` and back (series resistance
    ``spec.rs_MOhm``, fixed step ``spec.dt_ms``, Crank-Nicolson): v, cai, nai
    and incx at every step, with the schedule."""
    from .. import recording, simulate, solver

    clamp = h.SEClamp(seg)
    clamp.dur1, clamp.rs = 1e9, spec.rs_MOhm
    t1, ramp, depol = spec.pre_ms, spec.ramp_ms, spec.depol_ms
    times = [0.0, t1, t1 + ramp, t1 + ramp + depol, t1 + 2 * ramp + depol,
             t1 + 2 * ramp + depol + spec.after_ms]
    command = [v_init, v_init, spec.depol_mV, spec.depol_mV, v_init, v_init]
    played = simulate.play(clamp._ref_amp1, times, command)  # linear ramps
    rec = recording.Recorder()
    names = {"v": "v", "cai": "cai", "nai": "nai", "incx": "incx_ncx"}
    for variable in names.values():
        rec.record(variable, at=seg)
    solver.use_fixed_step(spec.dt_ms, secondorder=2)
    h.finitialize(v_init)
    simulate.run(times[-1], method="fixed", dt_ms=spec.dt_ms, progress=progress)
    data = {key: rec.trace(variable, seg)[1] for key, variable in names.items()}
    data["t"] = rec.t_ms()
    rec.stop()
    played[1].play_remove()
    return {**data, "nao": seg.nao, "cao": seg.cao, "schedule_ms": times, "command_mV": command}


def analyse_c(data, celsius):
    """E_NCX(t), the NCX Ca current paired with its state, their sign changes
    and the sign agreement."""
    from .. import thermo

    t, v = data["t"], data["v"]
    e = np.asarray(thermo.ncx_reversal(np.maximum(data["nai"], 1e-12), data["nao"],
                                       np.maximum(data["cai"], 1e-15), data["cao"],
                                       celsius=celsius))
    # NEURON evaluates the currents of a fixed step from the state at its
    # start, then advances v and the concentrations: the current recorded at
    # step k + 1 belongs to the state recorded at step k. Align them.
    i_ca = -2.0 * np.append(data["incx"][1:], np.nan) * 1e3  # uA/cm2, extrusion > 0
    t, v, e, i_ca = t[:-1], v[:-1], e[:-1], i_ca[:-1]
    drive = e - v  # > 0: forward mode (Ca out)
    t_i, dir_i = sign_changes(t, i_ca)
    t_v, dir_v = sign_changes(t, drive)
    pairs = []
    for ti, di in zip(t_i, dir_i):
        if t_v.size:
            k = int(np.argmin(np.abs(t_v - ti)))
            pairs.append({"t_current_ms": float(ti), "t_v_equals_E_ms": float(t_v[k]),
                          "offset_ms": float(ti - t_v[k]),
                          "to": "forward (Ca out)" if di > 0 else "reverse (Ca in)",
                          "v_mV": float(np.interp(ti, t, v)),
                          "E_NCX_mV": float(np.interp(ti, t, e)),
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
            "cai_peak": float(data["cai"].max()),
            "nai_change": float(data["nai"][-1] - data["nai"][0])}


def timecourse_c(c, dt_ms, every_ms=1.0):
    """Part C's time course as a tidy table, every ``every_ms`` (and the last point)."""
    import pandas as pd

    keep = np.arange(c["t"].size) % max(1, int(round(every_ms / dt_ms))) == 0
    keep[-1] = True
    series = (("v", c["v"], "mV"), ("E_NCX", c["E"], "mV"), ("I_NCX_Ca", c["I"], "uA/cm2"),
              ("cai", c["cai"] * 1e3, "uM"), ("nai", c["nai"], "mM"))
    return pd.concat([pd.DataFrame({"t_ms": np.round(c["t"][keep], 6), "variable": name,
                                    "value": values[keep], "unit": unit})
                      for name, values, unit in series], ignore_index=True)
