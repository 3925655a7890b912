"""The na-leak figure: the resting potential against the Na leak (simulated,
clamped, GHK), the rheobase, the f-I curves and the compensation by the K leak
or the pump."""

from __future__ import annotations

import math

import numpy as np


def draw(name, spec, d, report):
    from .. import plotting

    mult, full, clamped, comp = spec.multiples, d["full"], d["clamped"], d["comp"]
    fig, ((a, b), (c, e)) = plotting.figure(name, "the NALCN Na leak: rest, excitability and "
                                            "compensation", 2, 2, size=(11, 8))
    x = np.array(mult)
    for values, style, colour, size, label in (
            ([full[f]["v"] for f in mult], "o-", "k", None, "full model (Na, Cl re-equilibrated)"),
            ([clamped[f]["v"] for f in mult], "s-", "tab:blue", None,
             "concentrations clamped at the 1\u00d7 rest"),
            ([clamped[f]["ghk"] for f in mult], "x--", "tab:red", 9,
             "thermo.ghk_voltage (clamped)"),
            ([clamped[f]["ghk_pump_only"] for f in mult], ":", "tab:orange", None,
             "GHK, pump only (no window currents)")):
        a.plot(x, values, style, color=colour, ms=size, label=label)
    b.plot(x, [d["rheo"][f][0] for f in mult], "o-", color="tab:purple")
    b.set_ylim(bottom=0)
    fi = report.timecourse
    for f, colour in zip(mult, ["k", "tab:blue", "tab:red", "tab:green", "tab:orange"] * 4):
        part = fi[fi["na_leak_multiple"] == f]
        c.plot(part["I_nA"], part["rate_Hz"], "o-", color=colour, label=f"{f:g}\u00d7")
    table = report.tables["compensation"]
    for kind, colour, label in (("kleak", "tab:green", "K leak: pk \u00d7 factor"),
                                ("nakpump", "tab:brown", "pump: imax \u00d7 factor")):
        part = table[(table["scaled"] == kind) & np.isfinite(table["v_mV"])].sort_values("scale")
        e.plot(part["scale"], part["v_mV"], "o-", color=colour, label=label, ms=3)
    e.axhline(full[1.0]["v"], color="k", ls="--", lw=1, label="1\u00d7 rest")
    if math.isfinite(comp["k_scale"]):
        e.axvline(comp["k_scale"], color="tab:green", ls=":", lw=1)
    plotting.plain_log(e, "x")
    leak = "Na leak, multiple of the default pna"
    for ax in (a, b):
        plotting.label(ax, "x", leak, "1", table="rest", column="na_leak_multiple")
    plotting.label(a, "y", "resting potential", "mV", table="rest", column="value",
                   where={"variable": "v"})
    plotting.label(b, "y", f"rheobase, {spec.step_ms:g} ms step", "nA", table="rest",
                   column="value", where={"variable": "rheobase"})
    plotting.label(c, "x", "step current", "nA", table="", column="I_nA")
    plotting.label(c, "y", "firing rate", "Hz", table="", column="rate_Hz")
    plotting.label(e, "x", "scaling factor", "1", table="compensation", column="scale")
    plotting.label(e, "y", f"resting potential at {d['comp_mult']:g}\u00d7 Na leak", "mV",
                   table="compensation", column="v_mV")
    a.set_title("rest: simulated against GHK")
    b.set_title("excitability: rheobase")
    c.set_title("f-I curves")
    e.set_title("compensation: the 1\u00d7 rest restored?")
    for ax in (a, c, e):
        ax.legend(**({"title": "Na leak"} if ax is c else {}))
    return fig
