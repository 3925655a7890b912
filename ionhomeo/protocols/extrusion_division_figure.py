"""The extrusion-division figure: Part A (PMCA and NCX currents and shares
against clamped Ca), Part B (the NCX I-V and its reversal against 3 E_Na -
2 E_Ca) and Part C (a depolarisation reversing the NCX)."""

from __future__ import annotations

import math

import numpy as np


def draw(name, spec, d):
    from .. import plotting

    segment = d["site"].get("segment")
    where = f"at {segment}" if segment else "in the protocol's own compartment"
    fig, ax = plotting.figure(name, f"Ca extrusion by PMCA and NCX, {where}", 3, 2,
                              size=(12, 12))
    _part_a(ax[0], d, spec.v_mV)
    _part_b(ax[1], d)
    _part_c(ax[2], d["c"], spec.dt_ms)
    return fig


def _part_a(ax, d, v_mV):
    from .. import plotting

    table, sym = d["table_a"], plotting.SYMBOLS
    for mode, ls in (("sustained", "-"), ("acute", "--")):
        for var, colour, k, label in (("I_PMCA", "tab:blue", 0, "PMCA"),
                                      ("I_NCX", "tab:red", 0, "NCX"),
                                      ("share_NCX", "tab:red", 1, "NCX share"),
                                      ("share_PMCA", "tab:blue", 1, "PMCA share")):
            p = table[(table["condition"] == mode) & (table["variable"] == var)]
            ax[k].plot(p["cai_uM"], p["value"], ls, color=colour, label=f"{label} ({mode})")
        if math.isfinite(d["equal"][mode]):
            ax[1].axvline(d["equal"][mode], color="0.5", ls=ls, lw=0.8)
    ax[1].axhline(0.5, color="k", lw=0.5)
    eq = d["equal"]["sustained"]
    for a in ax:
        plotting.plain_log(a, "x")
        plotting.label(a, "x", "clamped free Ca", "uM", table="", column="cai_uM")
        a.legend()
    plotting.label(ax[0], "y", "Ca current, extrusion > 0", "uA/cm2", table="", column="value",
                   where={"variable": ["I_PMCA", "I_NCX"]})
    ax[0].set_title(f"part A: Ca extrusion at {plotting.number(v_mV)} mV, {sym['Nai']} "
                    f"{d['rest']['nai']:.3g} mM")
    plotting.label(ax[1], "y", "share of the extrusion", "1", table="", column="value",
                   where={"variable": ["share_NCX", "share_PMCA"]})
    ax[1].set_title("part A: shares" + (f" (equal at {eq:.2f} \u00b5M, sustained)"
                                        if math.isfinite(eq) else ""))


def _part_b(ax, d):
    from .. import plotting, thermo

    table, rest, sym = d["reversal"], d["rest"], plotting.SYMBOLS
    colours = ["tab:green", "tab:blue", "tab:orange", "tab:red", "tab:purple", "tab:brown"]
    for (nai, part), colour in zip(d["iv"].groupby("nai_mM"), colours * 10):
        ax[0].plot(part["v_mV"], part["I_NCX_Ca_uA_cm2"], color=colour,
                   label=f"{sym['Nai']} {nai:g} mM")
        r = table[table["nai_mM"] == nai].iloc[0]
        ax[0].plot([r["E_NCX_simulated_mV"]], [0.0], "o", color=colour, ms=5)
        ax[0].axvline(r["E_NCX_thermo_mV"], color=colour, ls=":", lw=1)
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set_yscale("symlog", linthresh=0.01)
    plotting.label(ax[0], "x", "clamped V", "mV", table="iv", column="v_mV")
    plotting.label(ax[0], "y", "NCX Ca current, extrusion > 0", "uA/cm2", table="iv",
                   column="I_NCX_Ca_uA_cm2")
    ax[0].set_title(f"part B: NCX I-V at {sym['Cai']} {rest['cai'] * 1e3:.3g} \u00b5M (dots: "
                    f"zero; dotted: 3{sym['E_Na']} \u2212 2{sym['E_Ca']})")
    grid = np.geomspace(min(table["nai_mM"]) * 0.7, max(table["nai_mM"]) * 1.3, 100)
    ax[1].plot(grid, thermo.ncx_reversal(grid, rest["nao"], rest["cai"], rest["cao"],
                                         celsius=rest["celsius"]),
               color="k", lw=1, label=f"3{sym['E_Na']} \u2212 2{sym['E_Ca']}")
    ax[1].plot(table["nai_mM"], table["E_NCX_simulated_mV"], "o", color="tab:red",
               label="simulated (sign change of the NCX Ca current)")
    err = float(np.nanmax(np.abs(table["error_mV"])))
    plotting.plain_log(ax[1], "x", table["nai_mM"])
    plotting.label(ax[1], "x", sym["Nai"], "mM", table="reversal", column="nai_mM")
    plotting.label(ax[1], "y", sym["E_NCX"], "mV", table="reversal", column="E_NCX_simulated_mV")
    ax[1].set_title(f"part B: reversal potential; largest error {err:.1e} mV")
    for a in ax:
        a.legend()


def _part_c(ax, c, dt_ms):
    from .. import plotting

    sym = plotting.SYMBOLS
    every = max(1, int(round(0.5 / dt_ms)))  # every 0.5 ms: enough for the eye, fast to draw
    t = c["t"][::every]
    ax[0].plot(t, c["v"][::every], color="k", lw=1, label="V (clamped)")
    ax[0].plot(t, c["E"][::every], color="tab:red", lw=1,
               label=f"{sym['E_NCX']} from {sym['Nai']}(t), {sym['Cai']}(t)")
    ax[1].plot(t, c["I"][::every], color="tab:red", lw=1, label="NCX Ca current")
    ax[1].axhline(0, color="k", lw=0.5)
    for p in c["pairs"]:
        for a in ax:
            a.axvline(p["t_current_ms"], color="0.5", ls=":", lw=1)
    depol = "depolarisation"
    for a in ax:
        plotting.label(a, "x", "time", "ms", table=depol, column="t_ms")
    plotting.label(ax[0], "y", f"V, {sym['E_NCX']}", "mV", table=depol, column="value",
                   where={"variable": ["v", "E_NCX"]})
    ax[0].set_title(f"part C: a depolarisation: V and {sym['E_NCX']} (dotted: the NCX changes "
                    "sign)")
    ax[0].legend()
    twin = ax[1].twinx()
    twin.plot(t, c["cai"][::every] * 1e3, color="tab:green", lw=1)
    plotting.label(twin, "y", "free Ca", "uM", table=depol, column="value",
                   where={"variable": "cai"}, color="tab:green")
    plotting.label(ax[1], "y", "NCX Ca current, extrusion > 0", "uA/cm2", table=depol,
                   column="value", where={"variable": "I_NCX_Ca"})
    ax[1].set_title(f"part C: the NCX reverses while V > {sym['E_NCX']} (sign agreement "
                    f"{c['agreement']:.4g})")
    ax[1].legend(loc="lower right")
