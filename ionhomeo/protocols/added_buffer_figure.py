"""The added-buffer figure: the AP-evoked transients with their fits, and the
decay time constant against the indicator's capacity (Neher & Augustine 1992)."""

from __future__ import annotations

import numpy as np


def draw(name, spec, data, meta):
    """The transients with their fits, and tau against kappa_B with the line and the model."""
    from matplotlib import colormaps

    from .. import plotting

    fits, line, m, sym = meta["fits"], meta["line"], meta["model"], plotting.SYMBOLS
    ks, kb, g = (sym[k] for k in ("kappa_S", "kappa_B", "gamma"))
    fig, (ax1, ax2) = plotting.figure(name, "AP-evoked Ca transients with an added "
                                      "buffer (the indicator)", 1, 2, size=(11, 4.8))
    for k, ((dye, run), f) in enumerate(zip(data["runs"], fits)):
        tt = np.linspace(f["t_start_ms"], f["t_end_ms"], 100)  # nan without a fit
        ax1.plot(run["t"] - spec.stim_ms, (run["cai"] - m["cai_rest_mM"]) * 1e6, lw=1,
                 color=colormaps["viridis"](k / max(1, len(fits) - 1)), label=f"{dye:g} \u00b5M")
        ax1.plot(tt - spec.stim_ms, 1e6 * f["a"] * np.exp(-(tt - tt[0]) / f["tau_ms"]), "k:", lw=1)
    x = np.linspace(-(1 + max(m["kappa_S"], np.nan_to_num(line["kappa_s"]))) * 1.1,
                    max(f["kappa_B"] for f in fits) * 1.05, 100)
    ax2.plot([f["kappa_B"] for f in fits], [f["tau_ms"] for f in fits], "ko",
             label=f"fitted {sym['tau']}")
    ax2.plot(x, (1 + line["kappa_s"] + x) / line["gamma"], color="tab:red", label=f"straight line"
             f" (R\u00b2 {line['r_squared']:.6f}): {ks} {line['kappa_s']:.1f}, {g} "
             f"{line['gamma'] * 1e3:.1f} s$^{{-1}}$")
    ax2.plot(x, (1 + m["kappa_S"] + x) / m["gamma_cc_per_ms"], "--", label=f"model: {ks} "
             f"{m['kappa_S']:.1f}, {g} {m['gamma_cc_per_ms'] * 1e3:.1f} s$^{{-1}}$")
    plotting.label(ax1, "x", "time after the pulse", "ms")
    plotting.label(ax1, "y", f"free {sym['Cai']} above its resting {m['cai_rest_mM'] * 1e6:.1f} nM",
                   "nM", table="", column="value", where={"variable": "cai"})
    ax1.set_title("the transients (dotted: exponential fits)")
    plotting.label(ax2, "x", f"indicator capacity {kb}", "1", table="fits", column="kappa_B")
    plotting.label(ax2, "y", f"decay {sym['tau']}", "ms", table="fits", column="tau_ms")
    ax2.set_title(f"{sym['tau']} = (1 + {ks} + {kb})/{g} (Neher & Augustine 1992)")
    ax1.legend(title="indicator")
    ax2.legend()
    return fig
