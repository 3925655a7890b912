"""Analysis of the ``energy-failure`` protocol's runs
(:mod:`ionhomeo.protocols.energy_failure`): the events and their order, what
moved Vm across E_NCX, the summary rows, the tables and the figure.
Derivations: docs/protocols/energy-failure.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis import bracket_crossing

#: event thresholds: Nai (relative), Cai 1 uM, Vm, Vm above rest, ko above rest
NAI_RISE, CA_OVERLOAD_MM, DEPOL_MV, DEPOL_RISE_MV, KO_RISE_MM = 0.10, 1e-3, -40.0, 20.0, 1.0
#: the four events timed in each run (their order is reported, not asserted)
EVENTS = ("Nai_rise", "NCX_reversal", "Ca_overload", "depolarisation")
DGATP_DEFAULT_KJ = -55.0  # ATP free energy of the mod files (kJ/mol)
#: soma variables recorded at every integration step, and their units
STEP_UNITS = {"v": "mV", "nai": "mM", "ki": "mM", "cli": "mM", "cai": "mM", "ko": "mM",
              "incx_ncx": "mA/cm2", "ipmca_pmca": "mA/cm2"}
#: what moved Vm across E_NCX at a reversal: Vm, and E_NCX's change from Nai and from Cai
SHARES = ("Vm - rest (the depolarisation's share)", "change of 3 E_Na since rest (Nai's share)",
          "change of -2 E_Ca since rest (Cai's share)")


def tidy(runs, grid_ms=None):
    """Runs ({condition: arrays}) as a tidy table (condition, t_s, variable, value,
    unit), at every step or resampled (linear interpolation) onto ``grid_ms``."""
    import pandas as pd

    frames = [pd.DataFrame({
        "condition": cond, "variable": name, "unit": unit,
        "t_s": d["t"] / 1e3 if grid_ms is None else np.round(grid_ms / 1e3, 6),
        "value": d[name] if grid_ms is None else np.interp(grid_ms, d["t"], d[name])},
        columns=["condition", "t_s", "variable", "value", "unit"])
        for cond, d in runs.items() for name, unit in STEP_UNITS.items() if name in d]
    return pd.concat(frames, ignore_index=True) if frames else None


def events(data, rest, t0_ms, celsius):
    """The events after t0: {name: {t_s, and the state then}}, each interpolated between
    the two integration steps that bracket its first crossing."""
    from .. import thermo

    t, found = data["t"], {}
    levels = {"Nai_rise": ("nai", (1 + NAI_RISE) * rest["nai"]),
              "NCX_reversal": ("incx_ncx", 0.0), "Ca_overload": ("cai", CA_OVERLOAD_MM),
              "depolarisation": ("v", DEPOL_MV),
              "depolarisation_20mV": ("v", rest["v"] + DEPOL_RISE_MV)}
    if "ko" in data and rest.get("kext"):
        levels["K_accumulation"] = ("ko", rest["ko"] + KO_RISE_MM)
    for label, (name, level) in levels.items():
        hit = bracket_crossing(data[name], level, mask=t >= t0_ms)
        if hit is None:
            continue
        i, f = hit
        ev = found[label] = {"t_s": float(t[i] + f * (t[i + 1] - t[i])) / 1e3}
        ev.update({n: float(data[n][i] + f * (data[n][i + 1] - data[n][i]))
                   for n in STEP_UNITS if n in data})
        if label == "NCX_reversal":  # E_NCX at the two bracketing steps, interpolated as Vm
            e = thermo.ncx_reversal(data["nai"][i:i + 2], rest["nao"], data["cai"][i:i + 2],
                                    rest["cao"], celsius)
            back = np.flatnonzero((t[i + 1:] > t[i + 1]) & (data["incx_ncx"][i + 1:] < 0))
            ev.update({"E_NCX": float(e[0] + f * (e[1] - e[0])), "E_NCX_after": float(e[1]),
                       "v_after": float(data["v"][i + 1]), "step_ms": float(t[i + 1] - t[i]),
                       "forward_again_s": float(t[i + 1 + back[0]] / 1e3) if back.size
                       else math.nan})
    return found


def analyse(spec, data) -> dict:
    """Events of each run, their times after the failure and order, every NCX reversal
    with what moved Vm across E_NCX, the final state, the failure as text and the
    warnings."""
    from .. import thermo
    from .energy_failure_reversals import reversals

    rest, runs, t0_s = data["rest"], data["runs"], spec.t0_s
    ev = events(runs["energy_loss"], rest, t0_s * 1e3, rest["celsius"])
    oev = events(runs["ouabain"], rest, t0_s * 1e3, rest["celsius"]) if "ouabain" in runs else {}
    times = {k: (ev[k]["t_s"] - t0_s if k in ev else math.nan)
             for k in (*EVENTS, "depolarisation_20mV", "K_accumulation")}
    missing = [k for k in EVENTS if k not in ev]
    observed = sorted((k for k in EVENTS if k in ev), key=lambda k: times[k])
    ncx, oncx = ev.get("NCX_reversal"), oev.get("NCX_reversal")
    rtf = float(thermo.rt_over_f(rest["celsius"]))

    def shares(e):
        """(dVm, d(3 E_Na), d(-2 E_Ca)) since rest at a reversal (mV)."""
        if not e:
            return math.nan, math.nan, math.nan
        # 3 E_Na = 3 (RT/F) ln(nao/nai); -2 E_Ca = -(RT/F) ln(cao/cai)
        return (e["v"] - rest["v"], -3 * rtf * math.log(e["nai"] / rest["nai"]),
                rtf * math.log(e["cai"] / rest["cai"]))

    main = runs["energy_loss"]
    ko_rise = float(np.max(main["ko"]) - rest["ko"]) if "ko" in main else math.nan
    warnings = []
    if rest["incx"] >= 0:
        warnings.append("NCX runs in reverse already at rest: no forward-to-reverse transition")
    if ncx and math.isfinite(ncx["forward_again_s"]):
        warnings.append(f"NCX was in reverse mode only from {times['NCX_reversal']:.3g} to "
                        f"{ncx['forward_again_s'] - t0_s:.3g} s after the failure")
    if missing:
        warnings.append(f"event(s) not reached within {spec.duration_s - t0_s:g} s after the "
                        f"failure: {', '.join(missing)}")
    if rest["kext"] and "K_accumulation" not in ev:
        warnings.append(f"ko never rose by {KO_RISE_MM:g} mM (largest rise {ko_rise:.3g} mM): "
                        "kext's bath exchange and glial uptake clear it")
    failure = ("nakpump avail = 0; " + ("PMCA (and SERCA) stopped: imax (vmax) = 0"
                                       if spec.dgatp_kj is None else
                                       f"ATP free energy {spec.dgatp_kj:g} kJ/mol for the other "
                                       "pumps") + (f"; falling as exp(-t/{spec.onset_s:g} s)"
                                                   if spec.onset_s > 0 else ""))
    otimes = {k: oev[k]["t_s"] - t0_s if k in oev else math.nan for k in times}
    found = {c: reversals(d, rest, t0_s * 1e3, rest["celsius"]) for c, d in runs.items()}
    return {"events": ev, "oevents": oev, "times": times,
            "event_times": {"energy_loss": times, **({"ouabain": otimes} if oev or
                                                     "ouabain" in runs else {})},
            "reversals": found,
            "observed": observed, "ncx": ncx, "ko_rise": ko_rise, "warnings": warnings,
            "ncx_err": (ncx["v"] - ncx["E_NCX"]) if ncx else math.nan,
            "oncx_err": (oncx["v"] - oncx["E_NCX"]) if oncx else math.nan,
            "shares": shares(ncx), "oshares": shares(oncx), "failure": failure,
            "final": {k: float(x[-1]) for k, x in main.items()}}


def rows(spec, data, a) -> list:
    """The summary rows (quantity, value, unit, description) from :func:`analyse`'s ``a``."""
    rest, t, fin, dur = data["rest"], a["times"], a["final"], spec.duration_s
    ncx, nan, after = a["ncx"] or {}, math.nan, "after the failure"
    out = [
        ("Vm_rest", rest["v"], "mV", "resting potential (solved steady state)"),
        ("Nai_rest", rest["nai"], "mM", "resting Nai"),
        ("Cai_rest", rest["cai"] * 1e3, "uM", "resting Cai"),
        ("E_NCX_rest", rest["E_NCX"], "mV",
         "NCX reversal 3 E_Na - 2 E_Ca at rest (forward below)"),
        ("I_pump_rest", rest["ipump"] * 1e3, "uA/cm2", "resting Na/K pump current (outward)"),
        ("I_pmca_rest", rest["ipmca"] * 1e3, "uA/cm2", "resting PMCA Ca current (outward); its "
         "net membrane current is (1 - nh/2) times this"),
        ("pmca_nh", data["nh"], "1", "H+ taken up per Ca by the PMCA (0: electrogenic, "
         "pmca.mod's default; 2: electroneutral)"),
        ("onset", spec.onset_s, "s", "time constant of the pumps' decline (0: they stop at t0)"),
        ("dGATP", DGATP_DEFAULT_KJ if spec.dgatp_kj is None else spec.dgatp_kj, "kJ/mol",
         "ATP free energy after the failure" + (" (unchanged: the ATPases stop instead)"
                                                if spec.dgatp_kj is None else "")),
        ("t_Nai_rise", t["Nai_rise"], "s", f"{after} ({a['failure']}): Nai reaches "
         f"+{NAI_RISE:.0%}"),
        ("t_NCX_reversal", t["NCX_reversal"], "s",
         f"{after}: incx turns from forward (< 0, Ca out) to reverse (> 0)"),
        ("t_NCX_forward_again", (ncx["forward_again_s"] - spec.t0_s) if ncx else nan, "s",
         f"{after}: NCX back in forward mode (nan: stays reversed)"),
        ("t_Ca_overload", t["Ca_overload"], "s",
         f"{after}: Cai reaches {CA_OVERLOAD_MM * 1e3:g} uM"),
        ("t_depolarisation", t["depolarisation"], "s", f"{after}: Vm crosses {DEPOL_MV:g} mV"),
        ("t_depolarisation_20mV", t["depolarisation_20mV"], "s",
         f"{after}: Vm first {DEPOL_RISE_MV:g} mV above rest"),
        ("t_K_accumulation", t["K_accumulation"], "s",
         f"{after}: ko + {KO_RISE_MM:g} mM (kext)" if rest["kext"] else "no kext"),
        ("ko_rise_max", a["ko_rise"], "mM", "largest rise of ko (kext)"),
        ("Vm_at_NCX_reversal", ncx.get("v", nan), "mV",
         "Vm when incx changes sign (interpolated between integration steps)"),
        ("E_NCX_at_NCX_reversal", ncx.get("E_NCX", nan), "mV",
         "thermo.ncx_reversal from the simulated Nai, Nao, Cai, Cao then"),
        ("NCX_error", a["ncx_err"], "mV", "Vm - E_NCX at the reversal"),
        ("NCX_error_uninterpolated", (ncx["v_after"] - ncx["E_NCX_after"]) if ncx else nan,
         "mV", "the same at the first integration step after the sign change"),
        ("ouabain_NCX_error", a["oncx_err"], "mV",
         "pump block alone: Vm - E_NCX at its NCX reversal (interpolated)"),
        *[(f"ouabain_NCX_{k}", x, "mV", f"pump block alone, at its reversal: {d}")
          for k, x, d in zip(("dVm", "d3ENa", "d2ECa"), a["oshares"], SHARES)],
        *[(f"NCX_{k}", x, "mV", f"at the reversal: {d}")
          for k, x, d in zip(("dVm", "d3ENa", "d2ECa"), a["shares"], SHARES)],
        ("Nai_at_NCX_reversal", ncx.get("nai", nan), "mM", "Nai at the reversal"),
        ("Vm_final", fin["v"], "mV", f"Vm at {dur:g} s"),
        ("Nai_final", fin["nai"], "mM", f"Nai at {dur:g} s"),
        ("Ki_final", fin["ki"], "mM", f"Ki at {dur:g} s"),
        ("Cai_final", fin["cai"] * 1e3, "uM", f"Cai at {dur:g} s"),
        ("ko_final", fin.get("ko", nan), "mM", f"ko at {dur:g} s")]
    if "ouabain" in data["runs"]:
        oev, odata = a["oevents"], data["runs"]["ouabain"]
        out += [(f"ouabain_t_{k}", oev[k]["t_s"] - spec.t0_s if k in oev else nan, "s",
                 f"pump block alone (ATP supply intact): {k} after the block (nan: not reached)")
                for k in (*EVENTS, "K_accumulation")]
        out += [(f"ouabain_{q}_final", float(odata[k][-1]) * f, u,
                 f"pump block alone: {q} at the end")
                for q, k, f, u in (("Vm", "v", 1, "mV"), ("Nai", "nai", 1, "mM"),
                                   ("Cai", "cai", 1e3, "uM"))]
    for cond, label in (("energy_loss", "NCX_reversals"), ("ouabain", "ouabain_NCX_reversals")):
        if cond in a["reversals"]:
            out.append((label, len(a["reversals"][cond]), "1", f"sign changes of incx after the "
                        f"failure, either direction ({cond.replace('_', ' ')}; table "
                        "ncx_reversals: what moved Vm across E_NCX at each)"))
    errors = [abs(r["error_mV"]) for found in a["reversals"].values() for r in found]
    out.append(("NCX_error_max", max(errors) if errors else nan, "mV",
                "largest |Vm - E_NCX| at any NCX reversal of any run (interpolated)"))
    return out


def figure(spec, data, a):
    """Vm with 3 E_Na - 2 E_Ca, Nai, Cai and ko (or Ki) against the time after the
    failure (log scale), both runs, the events marked."""
    from .. import plotting, thermo

    rest, runs, t0_s, sym = data["rest"], data["runs"], spec.t0_s, plotting.SYMBOLS
    ncx, encx = a["ncx"] or {}, f"3{sym['E_Na']} \u2212 2{sym['E_Ca']}"
    fig, axes = plotting.figure(
        "", f"energy failure ({a['failure']}). The NCX reverses at {sym['Vm']} "
        f"{plotting.number(ncx.get('v', math.nan), 6)} mV, {encx} = "
        f"{plotting.number(ncx.get('E_NCX', math.nan), 6)} mV. Order obtained (not asserted): "
        f"{' < '.join(a['observed']).replace('_', ' ') or 'no event'}", 4, 1, size=(9.0, 10.5),
        sharex=True)
    last = "ko" if "ko" in runs["energy_loss"] else "ki"
    panels = (("v", 1, sym["Vm"], "mV", ""), ("nai", 1, sym["Nai"], "mM", ""),
              ("cai", 1e3, sym["Cai"], "uM", "summary"),
              (last, 1, sym[last.capitalize()], "mM", ""))
    for cond, full in runs.items():
        # 2000 points, log-spaced in the time after the failure (not one per step)
        span = full["t"][-1] / 1e3 - t0_s
        tm = np.geomspace(1e-3, span, 2000) if span > 1e-3 else np.array([span])
        d = {k: np.interp(tm + t0_s, full["t"] / 1e3, x) for k, x in full.items()}
        lab = {"energy_loss": "energy failure", "ouabain": "Na/K pump block alone"}[cond]
        for ax, (k, f, *_) in zip(axes, panels):
            ax.plot(tm, d[k] * f, color="k" if cond == "energy_loss" else "tab:blue", lw=1.0,
                    label=f"{sym['Vm']}, {lab}" if k == "v" else lab)
        if cond == "energy_loss":
            e = thermo.ncx_reversal(np.maximum(d["nai"], 1e-9), rest["nao"],
                                    np.maximum(d["cai"], 1e-12), rest["cao"], rest["celsius"])
            axes[0].plot(tm, e, color="tab:red", ls="--", lw=1.0, label=f"{encx}, energy failure")
    for ax, (k, _, symbol, unit, table) in zip(axes, panels):
        where = ({"quantity": ["Cai_final", "ouabain_Cai_final"]} if table
                 else {"variable": k})
        plotting.label(ax, "y", symbol if k != "v" else f"{symbol}, {encx}", unit, table=table,
                       column="value", where=where)
    axes[2].set_yscale("log")
    axes[0].axhline(DEPOL_MV, color="0.6", lw=0.6, ls=":")
    axes[2].axhline(CA_OVERLOAD_MM * 1e3, color="0.6", lw=0.6, ls=":")
    axes[3].set(xscale="log")
    axes[3].set_xlim(1e-3, None)
    plotting.label(axes[3], "x", "time after the failure, log scale", "s")
    for key, colour in zip((*EVENTS, "K_accumulation"),
                           ("tab:green", "tab:red", "tab:orange", "tab:purple", "tab:brown")):
        if math.isfinite(a["times"][key]) and a["times"][key] > 0:
            for ax in axes:
                ax.axvline(a["times"][key], color=colour, lw=0.8, alpha=0.7)
            axes[0].text(a["times"][key], 0.98, f" {key.replace('_', ' ')}", rotation=90,
                         va="top", fontsize=7, color=colour,
                         transform=axes[0].get_xaxis_transform())
    axes[0].legend(loc="upper left")
    axes[1].legend()
    return fig
