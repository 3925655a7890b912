"""The terminal-vs-soma figure: the Ca entry against its expectation, and the
decays with the fits whose ratio the check compares with the formula."""

from __future__ import annotations

import numpy as np


def draw(name, data, meta):
    """The figure; ``meta``: the report's metadata (model, sites, tau_ratio)."""
    from .. import plotting

    sym = plotting.SYMBOLS
    fig, (ax1, ax2) = plotting.figure(name, "the same Ca entry into an axon terminal and a soma",
                                      1, 2, size=(11, 4.8))
    t, r = data["t"], meta["tau_ratio"]
    for region, colour, scale, unit in (("terminal", "tab:purple", 1e3, "\u00b5M"),
                                        ("soma", "k", 1e6, "nM")):
        m, o, f = meta["model"][region], meta["sites"][region], meta["sites"][region]["fit"]
        y, c0 = data["traces"][region] - m["cai_rest_mM"], m["cai_rest_mM"]
        ax1.plot(t[t < 100], y[t < 100] / (o["expected_mM"] - c0), color=colour,
                 label=f"{region}: {m['volume_fL']:.4g} fL, {sym['kappa']} {m['kappa_S']:.0f}; "
                       f"peak {o['peak_mM'] * scale:.4g} {unit}")
        ax2.semilogy(t[y > 0], y[y > 0] / c0, color=colour, lw=1, label=f"{region}: "
                     f"{sym['tau']} {f['tau_ms']:.0f} ms (expected {m['tau_expected_ms']:.0f} ms)")
        tt = np.linspace(f["t_start_ms"], f["t_end_ms"], 50)  # nan without a fit
        ax2.semilogy(tt, f["a"] * np.exp(-(tt - tt[0]) / f["tau_ms"]) / c0, color="tab:orange",
                     ls=":", lw=2)
    ax1.axhline(1.0, color="tab:red", ls="--", lw=0.8)
    ax2.set_ylim(1e-4, None)
    for ax in (ax1, ax2):
        plotting.label(ax, "x", "time", "ms", table="", column="t_ms")
        ax.legend()
    plotting.label(ax1, "y", "rise of free Ca above rest / the expected rise", "1")
    ax1.set_title("the Ca entry (dashed: expected)")
    plotting.label(ax2, "y", "(free Ca \u2212 rest) / rest", "1")
    ax2.set_title(f"decays (dotted: exponential fits): {sym['tau']}$_t$/{sym['tau']}$_s$ "
                  f"{r['obtained']:.4f}, formula {r['expected']:.4f}")
    return fig
