"""The er-release figure: Part A (IP3-evoked release and refilling), Part B
(Ca-induced Ca release below and above its threshold) and Part C (SERCA against
MCU uptake, the simulated crossover against the Hill laws')."""

from __future__ import annotations

import math


def draw(name, spec, data):
    from .. import plotting

    fig, ax = plotting.figure(name, "ER Ca release and uptake (dotted in part C: the Hill laws "
                              "with the mechanisms' parameters)", 2, 3, size=(15, 9))
    _part_a(ax[0, :2], spec, data)
    _part_b(ax[0, 2], ax[1, 0], data["B"])
    _part_c(ax[1, 1:], data["C"])
    for x in ax.flat:
        x.legend(fontsize=7.5)
    return fig


def _part_a(ax, spec, data):
    from .. import plotting

    (trace, _), a, sym = data["A"], data["a"], plotting.SYMBOLS
    t = trace["t"] / 1e3
    for x in ax:
        x.axvspan(spec.ip3_start_s, spec.ip3_start_s + spec.ip3_s, color="tab:orange",
                  alpha=0.2, lw=0, label=sym["IP3"])
        plotting.label(x, "x", "time", "s", table="", column="t_s")
    ax[0].plot(t, trace["cai"] * 1e3, color="k", label="free cytosolic Ca")
    plotting.label(ax[0], "y", "free cytosolic Ca", "uM", table="", column="value",
                   where={"variable": "cai"})
    ax[0].set_title(f"part A: {sym['IP3']} releases {a['released'] * 100:.0f} % of the ER's Ca, "
                    f"refilled (90 %) in {a['t90'] / 1e3:.1f} s")
    twin = ax[0].twinx()
    twin.plot(t, trace["caeri"], color="tab:blue")
    plotting.label(twin, "y", "free ER Ca", "mM", table="", column="value",
                   where={"variable": "caeri"}, color="tab:blue")
    for key, colour, text in (("j_ip3r", "tab:orange", f"{sym['IP3']}R release"),
                              ("j_serca", "tab:blue", "SERCA uptake"),
                              ("j_erleak", "tab:gray", "ER leak")):
        ax[1].plot(t, trace[key] * 1e6, color=colour, label=text)
    plotting.label(ax[1], "y", "flux per cytosolic volume", "uM/s", table="", column="value",
                   where={"variable": ["j_ip3r", "j_serca", "j_erleak"]})
    ax[1].set_title("part A: the ER's fluxes")


def _part_b(ax_traces, ax_peaks, b):
    from .. import plotting

    for load, colour in ((b["largest_untriggered_uM"], "tab:green"),
                         (b["smallest_triggered_uM"], "tab:red")):
        for ryr, ls in (("on", "-"), ("blocked", "--")):
            if (load, ryr) in b["traces"]:
                d = b["traces"][(load, ryr)]
                ax_traces.plot(d["t"], d["cai"] * 1e3, ls, color=colour,
                               label=f"{load:g} \u00b5M load, RyR {ryr}")
    ax_traces.set_yscale("log")
    tc = "cicr_timecourse"
    plotting.label(ax_traces, "x", "time", "ms", table=tc, column="t_ms")
    plotting.label(ax_traces, "y", "free cytosolic Ca", "uM", table=tc, column="value",
                   where={"variable": "cai"})
    ax_traces.set_title("part B: Ca-induced Ca release below and above its threshold")
    for ryr, style in (("on", "o-"), ("blocked", "s--")):
        part = b["table"][b["table"]["ryr"] == ryr]
        ax_peaks.plot(part["load_uM"], part["Cai_peak_uM"], style, label=f"peak Ca, RyR {ryr}")
    if math.isfinite(b["threshold_uM"]):
        ax_peaks.axvline(b["threshold_uM"], color="0.4", ls=":",
                         label=f"threshold {b['threshold_uM']:.1f} \u00b5M")
    plotting.label(ax_peaks, "x", "total Ca load per cytosolic volume", "uM", table="cicr",
                   column="load_uM")
    plotting.label(ax_peaks, "y", "peak free Ca", "uM", table="cicr", column="Cai_peak_uM")
    ax_peaks.set_title("part B: all-or-none release (triangles: the ER's share released)")
    on = b["table"][b["table"]["ryr"] == "on"]
    twin = ax_peaks.twinx()
    twin.plot(on["load_uM"], on["ER_released"], "^:", color="tab:blue", alpha=0.6)
    twin.set_ylim(-0.02, 1.02)
    plotting.label(twin, "y", "share of the free ER Ca released, RyR on", "1", table="cicr",
                   column="ER_released")


def _part_c(ax, c_data):
    from .. import plotting
    from .er_release import HILL

    flux, cross = c_data
    for x, nh in zip(ax, HILL):
        part, c = flux[flux["nh"] == nh], cross[nh]
        for tr, colour in (("serca", "tab:blue"), ("mcu", "tab:purple")):
            p = part[part["transporter"] == tr]
            x.plot(p["cai_uM"], p["J_simulated_uM_s"], color=colour, lw=2,
                   label=f"{tr.upper()} (simulated)")
            x.plot(p["cai_uM"], p["J_hill_uM_s"], color="k", lw=0.8, ls=":")
        x.axvline(c["formula_mM"] * 1e3, color="0.4", ls="--", lw=1, label="formula")
        x.plot([c["simulated_mM"] * 1e3], [c["J_at_crossover_uM_s"]], "o", color="tab:red",
               label=f"simulated crossover {c['simulated_mM'] * 1e3:.4g} \u00b5M")
        law = "Michaelis-Menten (Hill 1)" if nh == 1.0 else f"Hill {nh:g}"
        x.set_yscale("log")
        plotting.plain_log(x, "x")
        plotting.label(x, "x", "clamped free Ca", "uM", table="crossover", column="cai_uM")
        plotting.label(x, "y", "uptake", "uM/s", table="crossover", column="J_simulated_uM_s")
        x.set_title(f"part C: SERCA against MCU, {law}: relative error {c['rel_error']:.1e}")
